//! Every desk mode end to end through the real binary on stdin, with real list imports: a
//! scripted sequence of scans plus list contents gives the expected decisions.

use std::path::Path;

use crate::util::{bin, run_with_stdin, stderr, stdout};

struct Desk {
    dir: tempfile::TempDir,
    db: String,
}

impl Desk {
    fn new() -> Desk {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("desk.db").to_string_lossy().into_owned();
        Desk { dir, db }
    }

    fn import(&self, kind: &str, name: &str, csv: &str) {
        let file = self.dir.path().join(format!("{name}.csv"));
        std::fs::write(&file, csv).expect("write list");
        let out = bin()
            .args([
                "list", "import", "--db", &self.db, "--kind", kind, "--name", name,
            ])
            .arg(&file)
            .output()
            .expect("import");
        assert!(out.status.success(), "{}", stderr(&out));
    }

    /// Runs the station on `script` in `mode` and returns (unit events, all events).
    fn run(&self, mode: &str, script: &str) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
        let out = run_with_stdin(
            &["run", "--json", "--db", &self.db, "--mode", mode],
            script.as_bytes(),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let events: Vec<serde_json::Value> = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        let units = events
            .iter()
            .filter(|e| e["event"] == "unit")
            .cloned()
            .collect();
        (units, events)
    }
}

/// The decisions of the units, in order.
fn decisions(units: &[serde_json::Value]) -> Vec<String> {
    units
        .iter()
        .map(|u| u["decision"].as_str().unwrap_or("-").to_owned())
        .collect()
}

const UNIT_A: &str = "SC02XG1ABJGH5\n354178036859789\n354178036859797\n";
const UNIT_B: &str = "R58M315CL4T\n490154203237518\n490154203237526\n";

#[test]
fn intake_proceeds_flags_duplicates_and_conflicts() {
    let desk = Desk::new();
    let (units, _) = desk.run("intake", UNIT_A);
    assert_eq!(decisions(&units), ["proceed"]);
    assert_eq!(units[0]["status"], "ok");
    assert_eq!(units[0]["mode"], "intake");
    // The same box again is a duplicate; the same IMEI under another serial a conflict.
    let (units, _) = desk.run(
        "intake",
        &format!("{UNIT_A}SCANSTATION:NEXT\nR58M315CL4T\n354178036859789\n352099001761481\n"),
    );
    assert_eq!(decisions(&units), ["duplicate", "conflict"]);
    assert!(
        units[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("unit 1"))
    );
    assert!(
        units[1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("on unit 1")),
        "{}",
        units[1]
    );
}

#[test]
fn returns_match_intake_or_shipped_and_catch_swaps() {
    let desk = Desk::new();
    desk.run("intake", UNIT_A);
    desk.import(
        "shipped",
        "shipped-nov",
        "match,value,value_to,reason\nserial,R58M315CL4T,,order 1001\nimei,490154203237518,,order 1001\nimei,490154203237526,,order 1001\n",
    );
    let script = format!(
        "{UNIT_A}{UNIT_B}\
         SC02XG1ABJGH5\n352099001761481\n356868000041418\n\
         F17XK0AAJC6F\n861234567890127\nSCANSTATION:NEXT\n"
    );
    let (units, _) = desk.run("returns", &script);
    assert_eq!(
        decisions(&units),
        ["proceed", "proceed", "mismatch", "not-found"],
        "{units:#?}"
    );
    assert_eq!(units[1]["list"], "shipped-nov");
    assert_eq!(units[1]["list_version"], 1);
    assert!(
        units[2]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("swapped"))
    );
    assert_eq!(units[2]["status"], "flagged");
}

#[test]
fn recall_sweep_flags_hits_and_shows_progress() {
    let desk = Desk::new();
    desk.import(
        "recall",
        "battery-2026",
        "match,value,value_to,reason\ntac,49015420,,battery may swell\nserial,C02XG1ABJGH5,,display\nserial,NOTSEENYET1,,display\n",
    );
    let (units, events) = desk.run(
        "recall",
        &format!("{UNIT_A}{UNIT_B}SCANSTATION:MODE:INTAKE\n"),
    );
    assert_eq!(decisions(&units), ["recall-hit", "recall-hit"]);
    assert!(
        units[1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("battery may swell"))
    );
    assert_eq!(units[0]["list"], "battery-2026");
    let progress: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"] == "progress").collect();
    assert!(!progress.is_empty());
    let last = progress[progress.len() - 1];
    assert_eq!(
        (last["found"].as_i64(), last["expected"].as_i64()),
        (Some(1), Some(2)),
        "{last}"
    );
    // A scan of a recalled value is red at once, before its unit closes.
    let recalled = events
        .iter()
        .find(|e| e["event"] == "scan" && e["value"] == "490154203237518")
        .expect("scan");
    assert_eq!(recalled["decision"], "recall-hit");
}

#[test]
fn audit_compares_an_expected_list_with_what_was_seen() {
    let desk = Desk::new();
    desk.import(
        "expected",
        "shelf-4",
        "match,value,value_to,reason\nserial,C02XG1ABJGH5,,\nserial,MISSING00001,,\n",
    );
    let (units, _) = desk.run("audit", &format!("{UNIT_A}{UNIT_B}"));
    assert_eq!(decisions(&units), ["proceed", "not-found"]);
    let out = bin()
        .args(["audit", "report", "--json", "--db", &desk.db])
        .output()
        .expect("report");
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    let shelf = &report[0];
    assert_eq!(shelf["list"], "shelf-4");
    assert_eq!(shelf["found"].as_array().map(Vec::len), Some(1));
    assert_eq!(shelf["missing"][0]["value"], "MISSING00001");
    assert_eq!(shelf["unexpected"].as_array().map(Vec::len), Some(1));
    let human = bin()
        .args(["audit", "report", "--db", &desk.db])
        .output()
        .expect("report");
    assert!(
        stdout(&human).contains("1 of 2 found, 1 missing, 1 unexpected"),
        "{}",
        stdout(&human)
    );
}

#[test]
fn a_blocklisted_imei_is_quarantined_in_every_mode() {
    let desk = Desk::new();
    desk.import(
        "blocklist",
        "stolen",
        "match,value,value_to,reason\nimei,354178036859789,,reported stolen\n",
    );
    for mode in ["intake", "returns", "recall", "audit"] {
        let (units, events) = desk.run(mode, UNIT_A);
        assert_eq!(decisions(&units), ["quarantine"], "{mode}");
        assert!(
            units[0]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("reported stolen"))
        );
        let scan = events
            .iter()
            .find(|e| e["value"] == "354178036859789")
            .expect("scan");
        assert_eq!(scan["decision"], "quarantine", "{mode}");
        assert_eq!(scan["mode"], mode);
    }
}

#[test]
fn control_barcodes_switch_the_mode_and_lists_report_errors_by_line() {
    let desk = Desk::new();
    let (units, _) = desk.run("intake", &format!("SCANSTATION:MODE:AUDIT\n{UNIT_A}"));
    assert_eq!(units[0]["mode"], "audit");
    let bad = desk.dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "match,value,value_to,reason\nimei,354178036859782,,typo\nweird,1,,\n",
    )
    .expect("write");
    let out = bin()
        .args([
            "list",
            "import",
            "--db",
            &desk.db,
            "--kind",
            "blocklist",
            "--name",
            "b",
        ])
        .arg(&bad)
        .output()
        .expect("import");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("bad.csv:2") && err.contains("bad.csv:3"),
        "{err}"
    );
    let ls = bin()
        .args(["list", "ls", "--db", &desk.db])
        .output()
        .expect("ls");
    assert!(!stdout(&ls).contains(" b "), "a bad file changes nothing");
    assert!(Path::new(&desk.db).exists());
}
