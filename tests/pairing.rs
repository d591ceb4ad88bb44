//! Pairing scenarios: each test runs a desk script through `simulate` and compares the whole
//! transcript, so a reader sees the scans and what the pairer made of them side by side.
//!
//! Values used: serials C02XG1ABJGH5 (also printed as SC02XG1ABJGH5) and R58M315CL4T; IMEIs
//! 354178036859789 and 354178036859797 share TAC 35417803 (one dual-SIM phone), while
//! 490154203237518, 490154203237526 and 352099001761481 belong to other models.

use scanstation::pair::*;

/// Compares the transcript with `expected`, whose lines may be indented for readability.
#[track_caller]
fn check_with(cfg: PairConfig, script: &str, expected: &str) {
    let want: String = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let got = simulate(cfg, script);
    assert_eq!(got, want, "script:\n{script}\ntranscript:\n{got}");
}

#[track_caller]
fn check(script: &str, expected: &str) {
    check_with(PairConfig::default(), script, expected);
}

#[test]
fn complete_unit_closes_at_once() {
    check(
        "
        t=0 scan C02XG1ABJGH5
        t=1500 scan 354178036859789
        t=3000 scan 354178036859797
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1500 scan#2 -> unit 1 added
        t=3000 unit 1 closed complete [serial=C02XG1ABJGH5 imei1=354178036859789 imei2=354178036859797]
        t=3000 scan#3 -> unit 1 added
        ",
    );
}

#[test]
fn scan_order_does_not_matter_and_s_prefix_is_stripped() {
    check(
        "
        t=0 scan 354178036859797
        t=1000 scan SC02XG1ABJGH5
        t=2000 scan 354178036859789
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 scan#2 -> unit 1 added
        t=2000 unit 1 closed complete [serial=C02XG1ABJGH5 imei1=354178036859797 imei2=354178036859789]
        t=2000 scan#3 -> unit 1 added
        ",
    );
}

#[test]
fn imeis_of_two_models_are_flagged() {
    check(
        "
        t=0 scan C02XG1ABJGH5
        t=1000 scan 354178036859789
        t=2000 scan 490154203237518
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 scan#2 -> unit 1 added
        t=2000 unit 1 closed complete [serial=C02XG1ABJGH5 imei1=354178036859789 imei2=490154203237518] flags: tac_mismatch: the IMEIs have different TACs 35417803 and 49015420: two devices may be mixed in one unit
        t=2000 scan#3 -> unit 1 added
        ",
    );
}

#[test]
fn a_second_serial_starts_the_next_unit() {
    check(
        "
        t=0 scan C02XG1ABJGH5
        t=1000 scan 354178036859789
        # The operator moved on to the next phone before the second IMEI.
        t=2000 scan R58M315CL4T
        t=3000 scan 490154203237518
        t=4000 scan 490154203237526
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 scan#2 -> unit 1 added
        t=2000 unit 1 closed overflow [serial=C02XG1ABJGH5 imei1=354178036859789] flags: incomplete: missing imei x1
        t=2000 unit 2 opened
        t=2000 scan#3 -> unit 2 added
        t=3000 scan#4 -> unit 2 added
        t=4000 unit 2 closed complete [serial=R58M315CL4T imei1=490154203237518 imei2=490154203237526]
        t=4000 scan#5 -> unit 2 added
        ",
    );
}

#[test]
fn a_third_imei_starts_the_next_unit() {
    check(
        "
        t=0 scan 354178036859789
        t=1000 scan 354178036859797
        t=2000 scan 490154203237518
        t=3000 scan R58M315CL4T
        t=4000 scan 490154203237526
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 scan#2 -> unit 1 added
        t=2000 unit 1 closed overflow [imei1=354178036859789 imei2=354178036859797] flags: incomplete: missing serial x1
        t=2000 unit 2 opened
        t=2000 scan#3 -> unit 2 added
        t=3000 scan#4 -> unit 2 added
        t=4000 unit 2 closed complete [serial=R58M315CL4T imei1=490154203237518 imei2=490154203237526]
        t=4000 scan#5 -> unit 2 added
        ",
    );
}

#[test]
fn repeats_never_start_a_unit() {
    check(
        "
        t=0 scan C02XG1ABJGH5
        t=1000 scan 354178036859789
        # The same IMEI twice in a row.
        t=1200 scan 354178036859789
        # A value already in the unit, scanned again later.
        t=2000 scan SC02XG1ABJGH5
        t=3000 scan 354178036859797
        # The trigger double-fires right after the unit completed.
        t=3100 scan 354178036859797
        # Outside the repeat window the same label is a new unit (and conflicts() will say so).
        t=20000 scan 354178036859797
        t=21000 shutdown
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 scan#2 -> unit 1 added
        t=1200 scan#3 -> unit 1 repeat of scan#2
        t=2000 scan#4 -> unit 1 repeat of scan#1
        t=3000 unit 1 closed complete [serial=C02XG1ABJGH5 imei1=354178036859789 imei2=354178036859797]
        t=3000 scan#5 -> unit 1 added
        t=3100 scan#6 -> unit 1 repeat of scan#5
        t=20000 unit 2 opened
        t=20000 scan#7 -> unit 2 added
        t=21000 unit 2 closed shutdown [imei1=354178036859797] flags: incomplete: missing serial x1, imei x1
        ",
    );
}

#[test]
fn idle_unit_closes_on_tick_or_before_a_late_scan() {
    check(
        "
        t=0 scan C02XG1ABJGH5
        t=1000 scan 354178036859789
        t=10999 tick
        t=11000 tick
        t=12000 scan 354178036859797
        # No tick came, but the unit expired at 22000: the late scan starts unit 3.
        t=30000 scan R58M315CL4T
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 scan#2 -> unit 1 added
        t=11000 unit 1 closed idle [serial=C02XG1ABJGH5 imei1=354178036859789] flags: incomplete: missing imei x1
        t=12000 unit 2 opened
        t=12000 scan#3 -> unit 2 added
        t=30000 unit 2 closed idle [imei1=354178036859797] flags: incomplete: missing serial x1, imei x1
        t=30000 unit 3 opened
        t=30000 scan#4 -> unit 3 added
        ",
    );
}

#[test]
fn idle_timeout_is_configurable() {
    let cfg = PairConfig {
        idle_timeout_ms: 2_000,
        ..PairConfig::default()
    };
    check_with(
        cfg,
        "
        t=0 scan C02XG1ABJGH5
        t=2000 tick
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=2000 unit 1 closed idle [serial=C02XG1ABJGH5] flags: incomplete: missing imei x2
        ",
    );
}

#[test]
fn next_closes_and_mode_is_passed_through() {
    check(
        "
        t=0 scan SCANSTATION:MODE:RETURNS
        t=500 scan SCANSTATION:NEXT
        t=1000 scan C02XG1ABJGH5
        t=2000 scan 354178036859789
        t=2500 scan SCANSTATION:MODE:AUDIT
        t=3000 scan SCANSTATION:NEXT
        # After NEXT the same label is meant: a new unit, not a repeat.
        t=4000 scan 354178036859789
        ",
        "
        t=0 scan#1 -> mode returns
        t=500 scan#2 -> next
        t=1000 unit 1 opened
        t=1000 scan#3 -> unit 1 added
        t=2000 scan#4 -> unit 1 added
        t=2500 scan#5 -> mode audit
        t=3000 unit 1 closed next [serial=C02XG1ABJGH5 imei1=354178036859789] flags: incomplete: missing imei x1
        t=3000 scan#6 -> unit 1 next
        t=4000 unit 2 opened
        t=4000 scan#7 -> unit 2 added
        ",
    );
}

#[test]
fn cancel_drops_the_unit() {
    check(
        "
        t=0 scan C02XG1ABJGH5
        t=1000 scan 354178036859789
        t=2000 scan SCANSTATION:CANCEL
        t=2500 scan SCANSTATION:CANCEL
        # Rescanning after CANCEL builds the unit again from scratch.
        t=3000 scan 354178036859789
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 scan#2 -> unit 1 added
        t=2000 unit 1 cancelled
        t=2000 scan#3 -> unit 1 cancel
        t=2500 scan#4 -> cancel
        t=3000 unit 2 opened
        t=3000 scan#5 -> unit 2 added
        ",
    );
}

#[test]
fn undo_then_rescan() {
    check(
        "
        t=0 scan C02XG1ABJGH5
        # The wrong phone's IMEI.
        t=1000 scan 490154203237518
        t=2000 scan SCANSTATION:UNDO
        # Scanned again by mistake right after UNDO: added again, not a repeat.
        t=2500 scan 490154203237518
        t=3000 scan SCANSTATION:UNDO
        t=4000 scan 354178036859789
        t=5000 scan 354178036859797
        t=6000 scan SCANSTATION:UNDO
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 scan#2 -> unit 1 added
        t=2000 unit 1 undone scan#2
        t=2000 scan#3 -> unit 1 undo
        t=2500 scan#4 -> unit 1 added
        t=3000 unit 1 undone scan#4
        t=3000 scan#5 -> unit 1 undo
        t=4000 scan#6 -> unit 1 added
        t=5000 unit 1 closed complete [serial=C02XG1ABJGH5 imei1=354178036859789 imei2=354178036859797]
        t=5000 scan#7 -> unit 1 added
        t=6000 scan#8 -> nothing to undo
        ",
    );
}

#[test]
fn undo_down_to_an_empty_unit() {
    check(
        "
        t=0 scan 354178036859789
        t=1000 scan 354178036859797
        t=2000 scan SCANSTATION:UNDO
        t=3000 scan SCANSTATION:UNDO
        t=4000 scan SCANSTATION:UNDO
        t=5000 shutdown
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 scan#2 -> unit 1 added
        t=2000 unit 1 undone scan#2
        t=2000 scan#3 -> unit 1 undo
        t=3000 unit 1 undone scan#1
        t=3000 scan#4 -> unit 1 undo
        t=4000 scan#5 -> unit 1 nothing to undo
        t=5000 unit 1 closed shutdown [] flags: incomplete: missing serial x1, imei x2
        ",
    );
}

#[test]
fn invalid_imei_flags_the_open_unit() {
    check(
        "
        t=0 scan C02XG1ABJGH5
        t=1000 scan 354178036859782
        t=2000 shutdown
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 scan#2 -> unit 1 flagged
        t=2000 unit 1 closed shutdown [serial=C02XG1ABJGH5] invalid: imei=354178036859782 flags: invalid_scan: scan 2: imei 354178036859782: invalid IMEI check digit: misprinted or counterfeit label; incomplete: missing imei x2
        ",
    );
}

#[test]
fn invalid_imei_opens_a_unit_when_none_is_open() {
    check(
        "
        t=0 scan 354178036859782
        t=1000 scan C02XG1ABJGH5
        t=2000 scan 354178036859789
        t=3000 scan 354178036859797
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 flagged
        t=1000 scan#2 -> unit 1 added
        t=2000 scan#3 -> unit 1 added
        t=3000 unit 1 closed complete [serial=C02XG1ABJGH5 imei1=354178036859789 imei2=354178036859797] invalid: imei=354178036859782 flags: invalid_scan: scan 1: imei 354178036859782: invalid IMEI check digit: misprinted or counterfeit label
        t=3000 scan#4 -> unit 1 added
        ",
    );
}

#[test]
fn junk_does_not_touch_the_unit() {
    check(
        "
        t=0 scan C02XG1ABJGH5
        t=1000 scan hello world!
        t=9000 scan SCANSTATION:SELFDESTRUCT
        t=9500 scan
        # Junk did not refresh the timer, so the unit is idle 10 s after its last real scan.
        t=10000 tick
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 scan#2 -> rejected
        t=9000 scan#3 -> rejected
        t=9500 scan#4 -> rejected
        t=10000 unit 1 closed idle [serial=C02XG1ABJGH5] flags: incomplete: missing imei x2
        ",
    );
}

#[test]
fn conflicts_with_stored_units() {
    check(
        "
        existing unit=100 serial=C02XG1ABJGH5 imei=35417803685978 imei=35417803685979
        existing unit=101 serial=R58M315CL4T imei=49015420323751
        # This phone's IMEIs are stored with another serial, and its serial with another IMEI.
        t=0 scan R58M315CL4T
        t=1000 scan 354178036859789
        t=2000 scan 354178036859797
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 scan#2 -> unit 1 added
        t=2000 unit 1 closed complete [serial=R58M315CL4T imei1=354178036859789 imei2=354178036859797] flags: conflict: IMEI 35417803685978 is already paired with serial C02XG1ABJGH5 on unit 100, not R58M315CL4T; conflict: serial R58M315CL4T is already paired with IMEI 49015420323751 on unit 101, not 35417803685978
        t=2000 scan#3 -> unit 1 added
        ",
    );
}

#[test]
fn duplicate_of_a_stored_unit() {
    check(
        "
        existing unit=100 serial=C02XG1ABJGH5 imei=35417803685978 imei=35417803685979
        t=0 scan SC02XG1ABJGH5
        t=1000 scan 354178036859797
        t=2000 shutdown
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 scan#2 -> unit 1 added
        t=2000 unit 1 closed shutdown [serial=C02XG1ABJGH5 imei1=354178036859797] flags: incomplete: missing imei x1; duplicate: already registered as unit 100 (serial C02XG1ABJGH5)
        ",
    );
}

#[test]
fn gs1_gtin_and_serial_pair_together() {
    check(
        "
        existing unit=100 serial=R58M315CL4T gtin=09506000134352
        t=0 scan (01)09506000134352(21)C02XG1ABJGH5
        # A lot and expiry only: nothing to pair, but it belongs to the unit.
        t=500 scan (10)ABC123(17)261231
        t=1000 scan 354178036859789
        t=2000 scan 354178036859797
        # The same GTIN with another serial: both values move to the next unit together.
        t=3000 scan 010950600013435210L1<GS>21R58M315CL4T
        t=4000 scan 010950600013435210L1<GS>21R58M315CL4T
        t=30000 tick
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=500 scan#2 -> unit 1 no identifiers
        t=1000 scan#3 -> unit 1 added
        t=2000 unit 1 closed complete [serial=C02XG1ABJGH5 imei1=354178036859789 imei2=354178036859797 gtin=09506000134352]
        t=2000 scan#4 -> unit 1 added
        t=3000 unit 2 opened
        t=3000 scan#5 -> unit 2 added
        t=4000 scan#6 -> unit 2 repeat of scan#5
        t=30000 unit 2 closed idle [serial=R58M315CL4T gtin=09506000134352] flags: incomplete: missing imei x2; duplicate: already registered as unit 100 (serial R58M315CL4T)
        ",
    );
}

#[test]
fn gs1_scan_overflows_as_a_whole() {
    check(
        "
        t=0 scan (01)09506000134352(21)C02XG1ABJGH5
        t=1000 scan 354178036859789
        t=2000 scan (01)09506000134352(21)R58M315CL4T
        t=3000 scan (10)ABC123
        t=3000 shutdown
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 scan#2 -> unit 1 added
        t=2000 unit 1 closed overflow [serial=C02XG1ABJGH5 imei1=354178036859789 gtin=09506000134352] flags: incomplete: missing imei x1
        t=2000 unit 2 opened
        t=2000 scan#3 -> unit 2 added
        t=3000 scan#4 -> unit 2 no identifiers
        t=3000 unit 2 closed shutdown [serial=R58M315CL4T gtin=09506000134352] flags: incomplete: missing imei x2
        ",
    );
}

#[test]
fn shutdown_closes_the_pending_unit() {
    check(
        "
        t=0 scan (10)ABC123
        t=1000 scan C02XG1ABJGH5
        t=2000 scan 354178036859789
        t=3000 shutdown
        t=4000 shutdown
        ",
        "
        t=0 scan#1 -> no identifiers
        t=1000 unit 1 opened
        t=1000 scan#2 -> unit 1 added
        t=2000 scan#3 -> unit 1 added
        t=3000 unit 1 closed shutdown [serial=C02XG1ABJGH5 imei1=354178036859789] flags: incomplete: missing imei x1
        ",
    );
}

#[test]
fn custom_profile_completes_on_its_own_kinds() {
    let cfg = PairConfig {
        profile: Profile::parse("serial+eid").expect("valid profile"),
        ..PairConfig::default()
    };
    check_with(
        cfg,
        "
        t=0 scan 89049032123451234512345678901235
        t=1000 scan R58M315CL4T
        ",
        "
        t=0 unit 1 opened
        t=0 scan#1 -> unit 1 added
        t=1000 unit 1 closed complete [serial=R58M315CL4T eid=89049032123451234512345678901235]
        t=1000 scan#2 -> unit 1 added
        ",
    );
}
