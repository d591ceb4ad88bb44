//! Whole-station transcripts: every desk behaviour the daemon had only binary tests for,
//! as scripts through the pure core (see `simulate` for the script language). A change in
//! behaviour shows as a changed line here; review it as a user of the desk would.

use super::simulate::simulate;

fn check(script: &str, expected: &str) {
    // The scripts below start on the line after `r#"`, so line numbers count from there.
    let got = simulate(script.strip_prefix('\n').unwrap_or(script));
    assert_eq!(got, expected, "transcript:\n{got}");
}

#[test]
fn handheld_units_close_on_completion_idle_next_and_cancel_with_undo_and_junk() {
    check(
        r#"
# A complete unit, an idle partial one, NEXT, CANCEL, UNDO, junk and a repeat.
t=0 scan SC02XG1ABJGH5
t=500 scan 354178036859789
t=900 scan 354178036859797
t=1500 scan 354178036859797
t=2000 scan R58M315CL4T
t=2100 scan hello world
t=2200 scan 354178036859782
t=40000 tick
t=41000 scan F17XK0AAJC6F
t=41500 scan SCANSTATION:NEXT
t=42000 scan 490154203237518
t=42500 scan SCANSTATION:UNDO
t=42600 scan SCANSTATION:UNDO
t=43000 scan 490154203237518
t=43500 scan SCANSTATION:CANCEL
t=44000 finish
"#,
        r#"t=0 scan 1 serial "C02XG1ABJGH5" added -> unit 1
t=500 scan 2 imei "354178036859789" added -> unit 1
t=900 scan 3 imei "354178036859797" added -> unit 1
t=900 unit 1 ok complete [intake] serial C02XG1ABJGH5; imei 354178036859789, 354178036859797 | proceed: new unit
t=1500 scan 4 imei "354178036859797" repeat -> unit 1
t=2000 scan 5 serial "R58M315CL4T" added -> unit 2
t=2100 scan 6 unknown "hello world" rejected (not an identifier: ' ' at position 6 is not used in serial or part numbers)
t=2200 scan 7 imei "354178036859782" flagged -> unit 2 (invalid IMEI check digit: misprinted or counterfeit label)
t=40000 unit 2 flagged idle [intake] serial R58M315CL4T | quarantine: scan 7: imei 354178036859782: invalid IMEI check digit: misprinted or counterfeit label | flag invalid_scan: scan 7: imei 354178036859782: invalid IMEI check digit: misprinted or counterfeit label | flag incomplete: missing imei x2 | invalid imei 354178036859782
t=41000 scan 8 serial "F17XK0AAJC6F" added -> unit 3
t=41500 scan 9 control "SCANSTATION:NEXT" control -> unit 3
t=41500 unit 3 flagged next [intake] serial F17XK0AAJC6F | proceed: new unit | flag incomplete: missing imei x2
t=42000 scan 10 imei "490154203237518" added -> unit 4
t=42500 scan 11 control "SCANSTATION:UNDO" control -> unit 4
t=42600 scan 12 control "SCANSTATION:UNDO" nothing_to_undo -> unit 4
t=43000 scan 13 imei "490154203237518" added -> unit 4
t=43500 scan 14 control "SCANSTATION:CANCEL" control -> unit 4
t=43500 unit 4 cancelled cancel [intake] | cancelled by SCANSTATION:CANCEL
"#,
    );
}

#[test]
fn intake_repeats_duplicates_and_conflicts() {
    check(
        r#"
# Values scanned again soon after are repeats; the same box later is a duplicate; the same
# IMEI under another serial is a conflict.
t=0 scan SC02XG1ABJGH5
t=100 scan 354178036859789
t=200 scan 354178036859797
t=5000 scan SC02XG1ABJGH5
t=5100 scan 354178036859789
t=30000 scan SC02XG1ABJGH5
t=30100 scan 354178036859789
t=30200 scan 354178036859797
t=60000 scan R58M315CL4T
t=60100 scan 354178036859789
t=60200 scan 352099001761481
t=90000 finish
"#,
        r#"t=0 scan 1 serial "C02XG1ABJGH5" added -> unit 1
t=100 scan 2 imei "354178036859789" added -> unit 1
t=200 scan 3 imei "354178036859797" added -> unit 1
t=200 unit 1 ok complete [intake] serial C02XG1ABJGH5; imei 354178036859789, 354178036859797 | proceed: new unit
t=5000 scan 4 serial "C02XG1ABJGH5" repeat -> unit 1
t=5100 scan 5 imei "354178036859789" repeat -> unit 1
t=30000 scan 6 serial "C02XG1ABJGH5" added -> unit 2
t=30100 scan 7 imei "354178036859789" added -> unit 2
t=30200 scan 8 imei "354178036859797" added -> unit 2
t=30200 unit 2 flagged complete [intake] serial C02XG1ABJGH5; imei 354178036859789, 354178036859797 | duplicate: already registered as unit 1 (serial C02XG1ABJGH5) | flag duplicate: already registered as unit 1 (serial C02XG1ABJGH5)
t=60000 scan 9 serial "R58M315CL4T" added -> unit 3
t=60100 scan 10 imei "354178036859789" added -> unit 3
t=60200 scan 11 imei "352099001761481" added -> unit 3
t=60200 unit 3 flagged complete [intake] serial R58M315CL4T; imei 354178036859789, 352099001761481 | conflict: IMEI 35417803685978 is already paired with serial C02XG1ABJGH5 on unit 1, not R58M315CL4T | flag tac_mismatch: the IMEIs have different TACs 35417803 and 35209900: two devices may be mixed in one unit | flag conflict: IMEI 35417803685978 is already paired with serial C02XG1ABJGH5 on unit 1, not R58M315CL4T | flag conflict: IMEI 35417803685978 is already paired with IMEI 35417803685979 on unit 1, not 35209900176148 | flag conflict: IMEI 35417803685978 is already paired with serial C02XG1ABJGH5 on unit 2, not R58M315CL4T | flag conflict: IMEI 35417803685978 is already paired with IMEI 35417803685979 on unit 2, not 35209900176148
"#,
    );
}

#[test]
fn returns_match_intake_or_shipped_and_catch_swaps() {
    check(
        r#"
list shipped shipped-nov serial,R58M315CL4T,,order 1001
list shipped shipped-nov imei,490154203237518,,order 1001
list shipped shipped-nov imei,490154203237526,,order 1001
# Unit A comes in at intake; at returns it matches its intake record, B its shipped-list
# line; A's serial with other IMEIs is a swapped device; an unknown unit is not found.
t=0 scan SC02XG1ABJGH5
t=100 scan 354178036859789
t=200 scan 354178036859797
t=1000 scan SCANSTATION:MODE:RETURNS
t=30000 scan SC02XG1ABJGH5
t=30100 scan 354178036859789
t=30200 scan 354178036859797
t=31000 scan R58M315CL4T
t=31100 scan 490154203237518
t=31200 scan 490154203237526
t=60000 scan SC02XG1ABJGH5
t=60100 scan 352099001761481
t=60200 scan 356868000041418
t=90000 scan F17XK0AAJC6F
t=90100 scan 861234567890127
t=90200 scan SCANSTATION:NEXT
t=99000 finish
"#,
        r#"t=0 scan 1 serial "C02XG1ABJGH5" added -> unit 1
t=100 scan 2 imei "354178036859789" added -> unit 1
t=200 scan 3 imei "354178036859797" added -> unit 1
t=200 unit 1 ok complete [intake] serial C02XG1ABJGH5; imei 354178036859789, 354178036859797 | proceed: new unit
t=1000 scan 4 control "SCANSTATION:MODE:RETURNS" control
t=30000 scan 5 serial "C02XG1ABJGH5" added -> unit 2
t=30100 scan 6 imei "354178036859789" added -> unit 2
t=30200 scan 7 imei "354178036859797" added -> unit 2
t=30200 unit 2 ok complete [returns] serial C02XG1ABJGH5; imei 354178036859789, 354178036859797 | proceed: matches the shipped record: already registered as unit 1 (serial C02XG1ABJGH5)
t=31000 scan 8 serial "R58M315CL4T" added -> unit 3
t=31100 scan 9 imei "490154203237518" added -> unit 3
t=31200 scan 10 imei "490154203237526" added -> unit 3
t=31200 unit 3 ok complete [returns] serial R58M315CL4T; imei 490154203237518, 490154203237526 | proceed: shipped shipped-nov v1: order 1001 (serial R58M315CL4T)
t=60000 scan 11 serial "C02XG1ABJGH5" added -> unit 4
t=60100 scan 12 imei "352099001761481" added -> unit 4
t=60200 scan 13 imei "356868000041418" added -> unit 4
t=60200 unit 4 flagged complete [returns] serial C02XG1ABJGH5; imei 352099001761481, 356868000041418 | mismatch: swapped device? serial C02XG1ABJGH5 is already paired with IMEI 35417803685978 on unit 1, not 35209900176148 | flag tac_mismatch: the IMEIs have different TACs 35209900 and 35686800: two devices may be mixed in one unit | flag conflict: serial C02XG1ABJGH5 is already paired with IMEI 35417803685978 on unit 1, not 35209900176148 | flag conflict: serial C02XG1ABJGH5 is already paired with IMEI 35417803685978 on unit 2, not 35209900176148
t=90000 scan 14 serial "F17XK0AAJC6F" added -> unit 5
t=90100 scan 15 imei "861234567890127" added -> unit 5
t=90200 scan 16 control "SCANSTATION:NEXT" control -> unit 5
t=90200 unit 5 flagged next [returns] serial F17XK0AAJC6F; imei 861234567890127 | not-found: no intake record and no shipped-list entry for this unit | flag incomplete: missing imei x1
"#,
    );
}

#[test]
fn recall_sweep_hits_scans_at_once_and_counts_progress() {
    check(
        r#"
mode recall
list recall battery-2026 tac,49015420,,battery may swell
list recall battery-2026 serial,C02XG1ABJGH5,,display
list recall battery-2026 serial,NOTSEENYET1,,display
# Both units are hits (a serial, a TAC); a recalled scan is red at once; progress after each.
t=0 scan SC02XG1ABJGH5
t=100 scan 354178036859789
t=200 scan 354178036859797
t=1000 scan R58M315CL4T
t=1100 scan 490154203237518
t=1200 scan 490154203237526
t=1300 scan SCANSTATION:MODE:INTAKE
t=2000 scan F17XK0AAJC6F
t=2100 scan 861234567890127
t=9000 finish
"#,
        r#"t=0 scan 1 serial "C02XG1ABJGH5" added -> unit 1 | recall-hit: recall battery-2026 v1: display (serial C02XG1ABJGH5)
t=100 scan 2 imei "354178036859789" added -> unit 1
t=200 scan 3 imei "354178036859797" added -> unit 1
t=200 unit 1 flagged complete [recall] serial C02XG1ABJGH5; imei 354178036859789, 354178036859797 | recall-hit: recall battery-2026 v1: display (serial C02XG1ABJGH5)
t=200 progress battery-2026: 1/2
t=1000 scan 4 serial "R58M315CL4T" added -> unit 2
t=1100 scan 5 imei "490154203237518" added -> unit 2 | recall-hit: recall battery-2026 v1: battery may swell (tac 49015420)
t=1200 scan 6 imei "490154203237526" added -> unit 2 | recall-hit: recall battery-2026 v1: battery may swell (tac 49015420)
t=1200 unit 2 flagged complete [recall] serial R58M315CL4T; imei 490154203237518, 490154203237526 | recall-hit: recall battery-2026 v1: battery may swell (tac 49015420)
t=1200 progress battery-2026: 1/2
t=1300 scan 7 control "SCANSTATION:MODE:INTAKE" control
t=2000 scan 8 serial "F17XK0AAJC6F" added -> unit 3
t=2100 scan 9 imei "861234567890127" added -> unit 3
t=9000 unit 3 flagged shutdown [intake] serial F17XK0AAJC6F; imei 861234567890127 | proceed: new unit | flag incomplete: missing imei x1
"#,
    );
}

#[test]
fn audit_proceeds_on_expected_units_and_flags_unexpected_ones() {
    check(
        r#"
mode audit
list expected shelf-4 serial,C02XG1ABJGH5,,
list expected shelf-4 serial,MISSING00001,,
t=0 scan SC02XG1ABJGH5
t=100 scan 354178036859789
t=200 scan 354178036859797
t=1000 scan R58M315CL4T
t=1100 scan 490154203237518
t=1200 scan 490154203237526
t=9000 finish
"#,
        r#"t=0 scan 1 serial "C02XG1ABJGH5" added -> unit 1
t=100 scan 2 imei "354178036859789" added -> unit 1
t=200 scan 3 imei "354178036859797" added -> unit 1
t=200 unit 1 ok complete [audit] serial C02XG1ABJGH5; imei 354178036859789, 354178036859797 | proceed: expected on shelf-4 v1
t=1000 scan 4 serial "R58M315CL4T" added -> unit 2
t=1100 scan 5 imei "490154203237518" added -> unit 2
t=1200 scan 6 imei "490154203237526" added -> unit 2
t=1200 unit 2 flagged complete [audit] serial R58M315CL4T; imei 490154203237518, 490154203237526 | not-found: not on any expected list: unexpected unit
"#,
    );
}

#[test]
fn blocklisted_imei_is_red_at_once_in_every_mode() {
    check(
        r#"
list blocklist stolen imei,354178036859789,,reported stolen
# A blocklisted IMEI is red as a scan and quarantines its unit, in every mode.
t=0 scan SC02XG1ABJGH5
t=100 scan 354178036859789
t=200 scan 354178036859797
t=1000 scan SCANSTATION:MODE:RETURNS
t=1100 scan SC02XG1ABJGH5
t=1200 scan 354178036859789
t=1300 scan 354178036859797
t=2000 scan SCANSTATION:MODE:RECALL
t=2100 scan SC02XG1ABJGH5
t=2200 scan 354178036859789
t=2300 scan 354178036859797
t=3000 scan SCANSTATION:MODE:AUDIT
t=3100 scan SC02XG1ABJGH5
t=3200 scan 354178036859789
t=3300 scan 354178036859797
t=9000 finish
"#,
        r#"t=0 scan 1 serial "C02XG1ABJGH5" added -> unit 1
t=100 scan 2 imei "354178036859789" added -> unit 1 | quarantine: blocklist stolen v1: reported stolen (imei 35417803685978)
t=200 scan 3 imei "354178036859797" added -> unit 1
t=200 unit 1 flagged complete [intake] serial C02XG1ABJGH5; imei 354178036859789, 354178036859797 | quarantine: blocklist stolen v1: reported stolen (imei 35417803685978)
t=1000 scan 4 control "SCANSTATION:MODE:RETURNS" control
t=1100 scan 5 serial "C02XG1ABJGH5" repeat -> unit 1
t=1200 scan 6 imei "354178036859789" repeat -> unit 1 | quarantine: blocklist stolen v1: reported stolen (imei 35417803685978)
t=1300 scan 7 imei "354178036859797" repeat -> unit 1
t=2000 scan 8 control "SCANSTATION:MODE:RECALL" control
t=2100 scan 9 serial "C02XG1ABJGH5" repeat -> unit 1
t=2200 scan 10 imei "354178036859789" repeat -> unit 1 | quarantine: blocklist stolen v1: reported stolen (imei 35417803685978)
t=2300 scan 11 imei "354178036859797" repeat -> unit 1
t=3000 scan 12 control "SCANSTATION:MODE:AUDIT" control
t=3100 scan 13 serial "C02XG1ABJGH5" repeat -> unit 1
t=3200 scan 14 imei "354178036859789" repeat -> unit 1 | quarantine: blocklist stolen v1: reported stolen (imei 35417803685978)
t=3300 scan 15 imei "354178036859797" repeat -> unit 1
"#,
    );
}

#[test]
fn camera_label_records_once_amends_and_reappears_as_a_new_unit() {
    check(
        r#"
# A box carried in reads one symbol a frame; the label is recorded once complete; a value
# read later amends it; a lone GTIN is a loose scan; the box seen again after it was
# forgotten is a new appearance (a duplicate at intake).
t=0 frame @100,100[SC02XG1ABJGH5]
t=100 frame @110,100[SC02XG1ABJGH5 354178036859789]
t=200 frame @120,100[SC02XG1ABJGH5 354178036859789 354178036859797]
t=300 frame @120,100[SC02XG1ABJGH5 354178036859789 354178036859797]
t=400 frame @120,100[SC02XG1ABJGH5 354178036859789 354178036859797 89049032123451234512345678901235] @900,500[0887276752815]
t=3000 frame @900,500[0887276752815]
t=20000 frame @900,500[0887276752815]
t=40000 frame @100,100[SC02XG1ABJGH5 354178036859789 354178036859797]
t=41000 finish
"#,
        r#"t=200 scan 1 serial "C02XG1ABJGH5" added -> unit 1
t=200 scan 2 imei "354178036859789" added -> unit 1
t=200 scan 3 imei "354178036859797" added -> unit 1
t=200 unit 1 ok label [intake] serial C02XG1ABJGH5; imei 354178036859789, 354178036859797 | proceed: new unit
t=400 scan 4 eid "89049032123451234512345678901235" added -> unit 1
t=400 unit 1 ok label amended x1 [intake] serial C02XG1ABJGH5; imei 354178036859789, 354178036859797; eid 89049032123451234512345678901235 | proceed: new unit
t=3000 scan 5 gtin "0887276752815" no_identifiers
t=20000 scan 6 gtin "0887276752815" no_identifiers
t=40000 scan 7 serial "C02XG1ABJGH5" added -> unit 2
t=40000 scan 8 imei "354178036859789" added -> unit 2
t=40000 scan 9 imei "354178036859797" added -> unit 2
t=40000 unit 2 flagged label [intake] serial C02XG1ABJGH5; imei 354178036859789, 354178036859797 | duplicate: already registered as unit 1 (serial C02XG1ABJGH5) | flag duplicate: already registered as unit 1 (serial C02XG1ABJGH5)
t=40000 scan 10 gtin "0887276752815" no_identifiers
"#,
    );
}

#[test]
fn units_closed_in_one_step_see_each_other() {
    check(
        r#"
# At the end of a run a label still in view and the open handheld unit close in one step;
# the handheld unit is compared with the label's unit as if it were already stored.
t=0 scan R58M315CL4T
t=100 scan 354178036859789
t=200 frame [SC02XG1ABJGH5 354178036859789]
t=300 finish
"#,
        r#"t=0 scan 1 serial "R58M315CL4T" added -> unit 1
t=100 scan 2 imei "354178036859789" added -> unit 1
t=300 scan 3 serial "C02XG1ABJGH5" added -> unit 2
t=300 scan 4 imei "354178036859789" added -> unit 2
t=300 unit 2 ok label [intake] serial C02XG1ABJGH5; imei 354178036859789 | proceed: new unit
t=300 unit 1 flagged shutdown [intake] serial R58M315CL4T; imei 354178036859789 | conflict: IMEI 35417803685978 is already paired with serial C02XG1ABJGH5 on unit 2, not R58M315CL4T | flag incomplete: missing imei x1 | flag conflict: IMEI 35417803685978 is already paired with serial C02XG1ABJGH5 on unit 2, not R58M315CL4T
"#,
    );
}

#[test]
fn invalid_imei_inconsistent_label_and_failed_lookups_hold_the_unit() {
    check(
        r#"
tac 35417803 Apple|iPhone 8
tac 49015420 Samsung|Galaxy S7
# An invalid IMEI flags its unit; IMEIs of two brands are quarantined; lists that cannot be
# read hold the unit.
t=0 scan SC02XG1ABJGH5
t=100 scan 354178036859780
t=200 scan 354178036859797
t=300 scan SCANSTATION:NEXT
t=1000 scan R58M315CL4T
t=1100 scan 354178036859789
t=1200 scan 490154203237518
t=2000 scan SCANSTATION:NEXT
lookups fail
t=3000 scan F17XK0AAJC6F
t=3100 scan 861234567890127
t=3200 scan SCANSTATION:NEXT
t=4000 finish
"#,
        r#"t=0 scan 1 serial "C02XG1ABJGH5" added -> unit 1
t=100 scan 2 imei "354178036859780" flagged -> unit 1 (invalid IMEI check digit: misprinted or counterfeit label)
t=200 scan 3 imei "354178036859797" added -> unit 1
t=300 scan 4 control "SCANSTATION:NEXT" control -> unit 1
t=300 unit 1 flagged next [intake] serial C02XG1ABJGH5; imei 354178036859797 | quarantine: scan 2: imei 354178036859780: invalid IMEI check digit: misprinted or counterfeit label | flag invalid_scan: scan 2: imei 354178036859780: invalid IMEI check digit: misprinted or counterfeit label | flag incomplete: missing imei x1 | invalid imei 354178036859780
t=1000 scan 5 serial "R58M315CL4T" added -> unit 2
t=1100 scan 6 imei "354178036859789" added -> unit 2
t=1200 scan 7 imei "490154203237518" added -> unit 2
t=1200 unit 2 flagged complete [intake] serial R58M315CL4T; imei 354178036859789, 490154203237518 | quarantine: IMEIs of different brands: IMEI 35417803685978 (TAC 35417803: Apple iPhone 8) and IMEI 49015420323751 (TAC 49015420: Samsung Galaxy S7) | flag tac_mismatch: the IMEIs have different TACs 35417803 and 49015420: two devices may be mixed in one unit | flag imei_brand_mismatch: IMEIs of different brands: IMEI 35417803685978 (TAC 35417803: Apple iPhone 8) and IMEI 49015420323751 (TAC 49015420: Samsung Galaxy S7) | flag serial_brand_mismatch: serial R58M315CL4T is a Samsung-format serial but IMEI 35417803685978 (TAC 35417803: Apple iPhone 8) is Apple
t=2000 scan 8 control "SCANSTATION:NEXT" control
t=3000 note: list lookup failed; holding the unit (quarantine): database the simulated store: list tables unreadable (`lookups fail`)
t=3000 scan 9 serial "F17XK0AAJC6F" added -> unit 3 | quarantine: list lookup failed
t=3100 note: list lookup failed; holding the unit (quarantine): database the simulated store: list tables unreadable (`lookups fail`)
t=3100 scan 10 imei "861234567890127" added -> unit 3 | quarantine: list lookup failed
t=3200 note: list lookup failed; holding the unit (quarantine): database the simulated store: list tables unreadable (`lookups fail`)
t=3200 scan 11 control "SCANSTATION:NEXT" control -> unit 3
t=3200 unit 3 flagged next [intake] serial F17XK0AAJC6F; imei 861234567890127 | quarantine: list lookup failed | flag incomplete: missing imei x1
"#,
    );
}

#[test]
fn bad_script_lines_are_reported_by_number() {
    check(
        r#"
mode sideways
t=x scan 1
t=0 jump
list recall
list nope name serial,A,,
list recall r serial
tac 123 Foo
t=0 frame [unclosed
t=0 frame @1[A]
t=0 scan
t=10 finish
mode intake
"#,
        r#"line 1: error: unknown mode "sideways"
line 2: error: expected `t=<ms> scan|frame|still|tick|finish`, `mode`, `tac`, `list` or `lookups fail`
line 3: error: unknown command "jump"
line 4: error: expected `list <kind> <name> <match>,<value>,<value_to>,<reason>`
line 5: error: unknown list kind "nope"
line 6: error: bad list entry: expected 4 columns as in the header, found 1
line 7: error: `tac` comes before the first timed command
line 8: error: unclosed `[` in "[unclosed"
line 9: error: expected `@x,y[` in "@1[A]"
t=0 scan 1 unknown "" rejected (empty scan)
line 12: error: `mode` comes before the first timed command
"#,
    );
}
