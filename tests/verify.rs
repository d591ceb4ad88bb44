//! `scanstation verify` on stores written by the real station: a clean store verifies, and a
//! row changed by hand afterwards (with the append-only triggers dropped, as someone with an
//! SQLite shell would) is named, with exit status 1, in text and in JSON.

use rusqlite::Connection;
use serde_json::Value;

use crate::util::{bin, run_with_stdin, stderr, stdout};

/// Two complete units and a rejected scan, written by `run` from stdin.
fn station_db(dir: &std::path::Path) -> String {
    let db = dir.join("desk.db").display().to_string();
    let out = run_with_stdin(
        &["run", "--json", "--db", &db],
        b"C02XG1ABJGH5\n354178036859789\n354178036859797\n\x07junk\nR58M315CL4T\n490154203237518\n490154203237526\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    db
}

fn verify_json(db: &str) -> (bool, Value) {
    let out = bin()
        .args(["verify", "--json", "--db", db])
        .output()
        .expect("run verify");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", stdout(&out), stderr(&out)));
    (out.status.success(), report)
}

fn edit(db: &str, sql: &str) {
    let conn = Connection::open(db).expect("open");
    conn.execute_batch(&format!(
        "DROP TRIGGER IF EXISTS scans_no_update; DROP TRIGGER IF EXISTS scans_no_delete;
         PRAGMA foreign_keys = OFF; {sql}"
    ))
    .expect("edit");
}

#[test]
fn verify_passes_a_station_store_and_names_the_first_row_changed_by_hand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = station_db(dir.path());
    let (ok, report) = verify_json(&db);
    assert!(ok, "{report}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["first_bad"], Value::Null);
    // A genesis row, 7 scans, and each unit's changes (one per batch it was touched in).
    assert!(report["rows"].as_i64() > Some(8), "{report}");
    let text = bin()
        .args(["verify", "--db", &db])
        .output()
        .expect("verify");
    assert!(text.status.success());
    assert!(
        stdout(&text).contains(": ok, ") && stdout(&text).contains("head "),
        "{}",
        stdout(&text)
    );

    for (name, sql, table, id, reason) in [
        (
            "update",
            "UPDATE scans SET value = '354178036859797' WHERE id = 2",
            "scans",
            2,
            "edited",
        ),
        (
            "delete",
            "DELETE FROM scans WHERE id = 4",
            "scans",
            4,
            "deleted",
        ),
        (
            "insert",
            "INSERT INTO scans (id, at_ms, source, raw, kind, value, valid, outcome)
             VALUES (99, 1, 'stdin', CAST('X' AS BLOB), 'serial', 'X', 1, 'added')",
            "scans",
            99,
            "inserted",
        ),
        (
            "unit",
            "UPDATE units SET decision_reason = 'looked fine to me' WHERE id = 2",
            "units",
            2,
            "edited",
        ),
    ] {
        let copy = dir.path().join(format!("{name}.db")).display().to_string();
        std::fs::copy(&db, &copy).expect("copy");
        edit(&copy, sql);
        let (ok, report) = verify_json(&copy);
        assert!(!ok, "{name}: verify exits 1 on a bad chain: {report}");
        assert_eq!(report["ok"], false, "{name}");
        let bad = &report["first_bad"];
        assert_eq!(bad["table"], table, "{name}: {report}");
        assert_eq!(bad["id"], id, "{name}: {report}");
        assert!(
            bad["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with(reason)),
            "{name}: {report}"
        );
    }
}

#[test]
fn verify_escapes_stored_values_and_says_when_there_is_no_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = station_db(dir.path());
    // A value with a terminal escape, written into a unit's identifiers by hand: the reason
    // quotes it, and the terminal must not get the raw escape byte.
    edit(
        &db,
        "UPDATE unit_identifiers SET value = 'EVIL\u{1b}[2J' WHERE unit_id = 1 AND kind = 'serial'",
    );
    let out = bin()
        .args(["verify", "--db", &db])
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("FAILED at units row 1"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "raw escape reached the terminal: {text:?}"
    );

    let missing = dir.path().join("none.db").display().to_string();
    let out = bin()
        .args(["verify", "--db", &missing])
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("none.db"), "{}", stderr(&out));
}
