//! `scanstation check`, `tac import` and `run` end to end through the real binary.

use crate::util::{self, bin, run_with_stdin, stderr, stdout};

#[test]
fn run_classifies_each_stdin_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    let db = db.to_str().expect("utf-8 path");
    let out = run_with_stdin(
        &["run", "--json", "--db", db],
        b"354178036859789\n\xff\xfe\nSC02XG1ABJGH5\r\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter(|e| e["event"] == "scan")
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["kind"], "imei");
    assert_eq!(lines[1]["valid"], false);
    assert_eq!(lines[2]["value"], "C02XG1ABJGH5");
}

#[test]
fn check_json_prints_one_object_per_argument_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    let args = [
        "490154203237518",
        "35-417803-685978-2",
        "]C1010950600013435221ABC123",
        "(01)09506000134352(17)201231(10)LOT7",
        "<GS>010950600013435210LOT\\x1d21XYZ",
        "[)><RS>06<GS>SC02XG1ABJGH5<GS>1PMQ3D2LL/A<RS><EOT>",
        "'; DROP TABLE units; --",
        "SGH327SZYD",
    ];
    let mut cmd = bin();
    cmd.args(["check", "--json", "--db"]).arg(&db).args(args);
    let out = cmd.output().expect("run");
    assert_eq!(out.status.code(), Some(1), "invalid input gives exit 1");
    let text = stdout(&out);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), args.len());
    for (line, arg) in lines.iter().zip(args) {
        assert_eq!(
            line["input"].as_str().map(|s| !s.is_empty()),
            Some(true),
            "{arg}"
        );
        for key in ["kind", "valid", "value", "details"] {
            assert!(line.get(key).is_some(), "{key} missing for {arg}");
        }
    }
    assert_eq!(lines[0]["kind"], "imei");
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(lines[0]["details"]["tac"], "49015420");
    assert_eq!(lines[1]["valid"], false);
    assert_eq!(
        lines[1]["reason"],
        "invalid IMEI check digit: misprinted or counterfeit label"
    );
    assert_eq!(lines[2]["kind"], "gs1");
    assert_eq!(lines[2]["valid"], true);
    assert_eq!(lines[2]["details"]["elements"][0]["ai"], "01");
    assert_eq!(lines[3]["kind"], "gs1");
    assert_eq!(lines[3]["value"], "(01)09506000134352(17)201231(10)LOT7");
    assert_eq!(lines[4]["kind"], "gs1", "{}", lines[4]);
    assert_eq!(lines[4]["valid"], true, "{}", lines[4]);
    assert_eq!(lines[5]["kind"], "di");
    assert_eq!(lines[5]["valid"], true, "{}", lines[5]);
    assert_eq!(lines[5]["details"]["data_identifiers"][0]["di"], "S");
    assert_eq!(lines[6]["kind"], "unknown");
    assert!(
        lines[6]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("position 1"))
    );
    assert_eq!(lines[7]["value"], "SGH327SZYD");
    assert!(!db.exists(), "check never creates a database");
}

#[test]
fn check_table_is_human_readable() {
    let out = bin()
        .args([
            "check",
            "--db",
            "/nonexistent/dir/s.db",
            "354178036859789",
            "SC02XG1ABJGH5",
        ])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("INPUT") && h.contains("WHY"))
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.contains("imei") && l.contains("valid"))
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.contains("C02XG1ABJGH5") && l.contains("prefix S removed"))
    );
}

#[test]
fn check_needs_arguments() {
    let out = bin().arg("check").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("TEXT"));
}

#[test]
fn tac_import_then_check_names_brand_and_model() {
    let Some(tacdb) = util::shared_file("data/tacdb.csv") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("nested/dir/s.db");
    let out = bin()
        .args(["tac", "import", "--db"])
        .arg(&db)
        .arg(&tacdb)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("imported 24391 TACs, skipped 784 rows"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains(":3"),
        "skipped rows are named by line: {}",
        stderr(&out)
    );
    let out = bin()
        .args(["check", "--json", "--db"])
        .arg(&db)
        .arg("011948001234560")
        .output()
        .expect("run");
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    assert_eq!(line["details"]["brand"], "Apple", "{line}");
    assert_eq!(line["details"]["model"], "iPhone 3GS");
}

#[test]
fn tac_import_of_a_wrong_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bogus = dir.path().join("bogus.csv");
    std::fs::write(&bogus, "hello,world\n").expect("write");
    let out = bin()
        .args(["tac", "import", "--db"])
        .arg(dir.path().join("s.db"))
        .arg(&bogus)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no rows with an 8-digit TAC"),
        "{}",
        stderr(&out)
    );
    let missing = bin()
        .args(["tac", "import", "--db"])
        .arg(dir.path().join("s.db"))
        .arg(dir.path().join("missing.csv"))
        .output()
        .expect("run");
    assert!(stderr(&missing).contains("missing.csv"));
}

#[test]
fn check_shows_the_add_on_of_an_ean13_with_add_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    let mut cmd = bin();
    cmd.args(["check", "--json", "--db"])
        .arg(&db)
        .arg("]E3978073520044951299");
    let out = cmd.output().expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    assert_eq!(line["kind"], "gtin", "{line}");
    assert_eq!(line["value"], "9780735200449", "{line}");
    assert_eq!(line["details"]["add_on"], "51299", "{line}");
    let mut human = bin();
    human
        .args(["check", "--db"])
        .arg(&db)
        .arg("]E3978073520044951299");
    let out = human.output().expect("run");
    assert!(stdout(&out).contains("add-on 51299"), "{}", stdout(&out));
}
