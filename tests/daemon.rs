//! `scanstation run` end to end: the real binary on stdin, a real SQLite file on disk.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use scanstation::store::Store;

use crate::util::{bin, run_with_stdin, stderr, stdout};

fn db_in(dir: &tempfile::TempDir) -> String {
    dir.path().join("station.db").to_string_lossy().into_owned()
}

fn events(out: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn open(db: &str) -> Store {
    Store::open_read_only(Path::new(db))
        .expect("open store")
        .expect("database exists")
}

#[test]
fn stdin_scans_become_units_in_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_in(&dir);
    let script = b"SC02XG1ABJGH5\r\n354178036859789\n354178036859789\n354178036859797\n\
R58M315CL4T\n35-417803-685978-2\n\xff\xfe junk\n<script>\n352099001761481\nSCANSTATION:NEXT\n\
]C1010950600013435221SER42\n";
    let out = run_with_stdin(&["run", "--json", "--db", &db], script);
    assert!(out.status.success(), "{}", stderr(&out));
    let events = events(&out);
    let scans: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "scan").collect();
    let units: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "unit").collect();
    assert_eq!(
        scans.len(),
        11,
        "every line is acknowledged once: {events:#?}"
    );
    for e in &scans {
        for key in [
            "id", "source", "raw", "kind", "value", "valid", "reason", "unit",
        ] {
            assert!(e.get(key).is_some(), "{key} missing in {e}");
        }
    }
    // Unit 1: serial + IMEI, a repeat, then the second IMEI completes it.
    assert_eq!(scans[2]["outcome"], "repeat");
    assert_eq!(units[0]["serial"], "C02XG1ABJGH5");
    assert_eq!(
        units[0]["imeis"],
        serde_json::json!(["354178036859789", "354178036859797"])
    );
    assert_eq!(units[0]["close_reason"], "complete");
    // Unit 2: a Samsung serial, a misprinted IMEI (flagged), a valid IMEI, closed by NEXT.
    let bad = scans
        .iter()
        .find(|e| e["raw"] == "35-417803-685978-2")
        .expect("bad imei scan");
    assert_eq!(bad["valid"], false);
    assert_eq!(
        bad["reason"],
        "invalid IMEI check digit: misprinted or counterfeit label"
    );
    assert_eq!(units[1]["serial"], "R58M315CL4T");
    assert_eq!(units[1]["status"], "flagged");
    assert!(
        units[1]["flags"]
            .to_string()
            .contains("invalid IMEI check digit")
    );
    assert_eq!(units[1]["close_reason"], "next");
    // Junk is rejected with a reason and joins no unit.
    let junk: Vec<_> = scans
        .iter()
        .filter(|e| e["outcome"] == "rejected")
        .collect();
    assert_eq!(junk.len(), 2);
    assert!(
        junk.iter()
            .all(|e| e["unit"].is_null() && e["reason"].is_string())
    );
    assert_eq!(junk[0]["reason_code"], "not_utf8");
    // The GS1 scan opens unit 3, which the end of input closes.
    assert_eq!(units[2]["gtin"], "09506000134352");
    assert_eq!(units[2]["serial"], "SER42");
    assert_eq!(units[2]["close_reason"], "shutdown");

    let store = open(&db);
    assert_eq!(store.count("scans").expect("count"), 11);
    assert_eq!(store.count("units").expect("count"), 3);
    let raw = store.scan(7).expect("scan").expect("scan 7");
    assert_eq!(raw.raw, b"\xff\xfe junk", "raw bytes are kept exactly");
    let first = store.scan(1).expect("scan").expect("scan 1");
    assert_eq!(first.raw, b"SC02XG1ABJGH5");
    let unit = store.unit(1).expect("unit").expect("unit 1");
    assert_eq!(unit.status, "ok");
    assert_eq!(
        unit.values(scanstation::ident::IdKind::Imei),
        ["354178036859789", "354178036859797"]
    );
    assert_eq!(store.integrity_check().expect("check"), "ok");
}

#[test]
fn conflicts_are_flagged_never_merged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_in(&dir);
    let first = run_with_stdin(
        &["run", "--json", "--db", &db],
        b"SC02XG1ABJGH5\n354178036859789\n354178036859797\n",
    );
    assert!(first.status.success(), "{}", stderr(&first));
    // The same IMEI arrives with another serial: a conflict naming unit 1.
    let second = run_with_stdin(
        &["run", "--json", "--db", &db],
        b"R58M315CL4T\n354178036859789\n352099001761481\n",
    );
    let units: Vec<serde_json::Value> = events(&second)
        .into_iter()
        .filter(|e| e["event"] == "unit")
        .collect();
    assert_eq!(units.len(), 1);
    assert_eq!(units[0]["status"], "flagged");
    let flags = units[0]["flags"].to_string();
    assert!(
        flags.contains("conflict") && flags.contains("unit 1"),
        "{flags}"
    );
    let store = open(&db);
    assert_eq!(
        store
            .unit(1)
            .expect("unit")
            .expect("unit 1")
            .values(scanstation::ident::IdKind::Serial),
        ["C02XG1ABJGH5"]
    );
    assert_eq!(
        store
            .unit(2)
            .expect("unit")
            .expect("unit 2")
            .values(scanstation::ident::IdKind::Serial),
        ["R58M315CL4T"]
    );
}

#[test]
fn human_lines_are_green_or_red_with_reasons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_in(&dir);
    let out = run_with_stdin(&["run", "--db", &db], b"354178036859782\nhello world\n");
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("FLAGGED scan 1 imei 354178036859782: invalid IMEI check digit"),
        "{text}"
    );
    assert!(text.contains("REJECTED scan 2"), "{text}");
    // A misprinted IMEI holds the unit: quarantine, with the reason.
    assert!(text.contains("UNIT QUARANTINE 1"), "{text}");
    assert!(
        text.contains("quarantine: scan 1: imei 354178036859782: invalid IMEI check digit"),
        "{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn sigterm_closes_the_pending_unit_and_exits_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_in(&dir);
    let mut child = spawn_json(&db, &[]);
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"SC02XG1ABJGH5\n354178036859789\n")
        .expect("write");
    stdin.flush().expect("flush");
    let lines = read_lines(&mut child);
    wait_for(&lines, 2, Duration::from_secs(20));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let code = child.wait().expect("wait");
    assert!(code.success(), "SIGTERM is a clean stop: {code:?}");
    drop(stdin);
    let store = open(&db);
    let unit = store.unit(1).expect("unit").expect("unit 1");
    assert_eq!(unit.close_reason.map(|v| v.as_str()), Some("shutdown"));
    assert_eq!(
        unit.values(scanstation::ident::IdKind::Imei),
        ["354178036859789"]
    );
}

#[test]
fn bad_config_and_bad_database_places_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("station.toml");
    std::fs::write(
        &config,
        "[station]\njson = true\n[pairing]\nidle_timeout = 5\n",
    )
    .expect("write");
    let out = bin()
        .args(["run", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("station.toml:4: pairing.idle_timeout: unknown field"),
        "{err}"
    );

    // A database directory that cannot be created.
    let out = run_with_stdin(&["run", "--db", "/proc/scanstation/x.db"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/proc/scanstation"),
        "{}",
        stderr(&out)
    );

    // A database file that is not a database.
    let bogus = dir.path().join("bogus.db");
    std::fs::write(
        &bogus,
        b"this is not sqlite, just text that is long enough to look like a header",
    )
    .expect("write");
    let out = run_with_stdin(&["run", "--db", &bogus.to_string_lossy()], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("bogus.db"), "{}", stderr(&out));

    // A second station on the same database is refused while the first runs.
    let db = db_in(&dir);
    let mut first = spawn_json(&db, &[]);
    let lines = read_lines(&mut first);
    first
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"R58M315CL4T\n")
        .expect("write");
    wait_for(&lines, 1, Duration::from_secs(20));
    let second = run_with_stdin(&["run", "--db", &db], b"");
    assert_eq!(second.status.code(), Some(1));
    assert!(
        stderr(&second).contains("in use by another scanstation"),
        "{}",
        stderr(&second)
    );
    drop(first.stdin.take());
    assert!(first.wait().expect("wait").success());
}

#[test]
fn export_and_find_read_what_the_station_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_in(&dir);
    let out = run_with_stdin(
        &["run", "--db", &db],
        b"SC02XG1ABJGH5\n354178036859789\n354178036859797\nnot a label\n",
    );
    assert!(out.status.success());
    let csv = bin()
        .args(["export", "--db", &db])
        .output()
        .expect("export");
    let text = stdout(&csv);
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("id,status,serial,imei1,imei2"))
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("1,ok,C02XG1ABJGH5,354178036859789,354178036859797"))
    );
    let nd = bin()
        .args([
            "export",
            "--db",
            &db,
            "--what",
            "scans",
            "--format",
            "ndjson",
            "--since",
            "2000-01-01",
        ])
        .output()
        .expect("export");
    let scans: Vec<serde_json::Value> = stdout(&nd)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(scans.len(), 4);
    assert_eq!(scans[3]["outcome"], "rejected");
    let json = bin()
        .args(["export", "--db", &db, "--format", "json"])
        .output()
        .expect("export");
    let units: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("json array");
    assert_eq!(units[0]["event"], "unit");
    let future = bin()
        .args([
            "export",
            "--db",
            &db,
            "--since",
            "2999-01-01",
            "--format",
            "ndjson",
        ])
        .output()
        .expect("export");
    assert!(stdout(&future).is_empty());
    let bad = bin()
        .args(["export", "--db", &db, "--since", "last tuesday"])
        .output()
        .expect("export");
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("--since"));

    // find: an IMEI with or without its check digit, and a serial with its S prefix.
    for query in [
        "354178036859789",
        "35417803685978",
        "SC02XG1ABJGH5",
        "C02XG1ABJGH5",
    ] {
        let found = bin()
            .args(["find", "--json", "--db", &db, query])
            .output()
            .expect("find");
        assert!(found.status.success(), "{query}: {}", stderr(&found));
        let v: serde_json::Value = serde_json::from_str(stdout(&found).trim()).expect("json");
        assert_eq!(v["units"][0]["id"], 1, "{query}");
        assert_eq!(v["units"][0]["scans"].as_array().map(Vec::len), Some(3));
    }
    let human = bin()
        .args(["find", "--db", &db, "35417803685978"])
        .output()
        .expect("find");
    assert!(stdout(&human).contains("unit 1 [ok]"));
    let junk = bin()
        .args(["find", "--db", &db, "not a label"])
        .output()
        .expect("find");
    assert!(
        stdout(&junk).contains("not in any unit"),
        "{}",
        stdout(&junk)
    );
    let none = bin()
        .args(["find", "--db", &db, "R58M315CL4T"])
        .output()
        .expect("find");
    assert_eq!(none.status.code(), Some(1));
    let missing = bin()
        .args([
            "find",
            "--db",
            &dir.path().join("nope.db").to_string_lossy(),
            "x",
        ])
        .output()
        .expect("find");
    assert!(stderr(&missing).contains("no database at"));
}

/// Starts `run --json` with piped stdio.
pub fn spawn_json(db: &str, extra: &[&str]) -> Child {
    bin()
        .args(["run", "--json", "--db", db])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn")
}

/// Reads the child's stdout lines on a thread, as they arrive.
pub fn read_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits until `n` lines arrived, failing after `timeout`.
pub fn wait_for(lines: &mpsc::Receiver<String>, n: usize, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    while got.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => got.push(line),
            Err(_) => panic!(
                "only {} of {n} lines within {timeout:?}: {got:?}",
                got.len()
            ),
        }
    }
    got
}

#[test]
fn red_lines_run_the_configured_command_and_logs_can_be_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_in(&dir);
    let marker = dir.path().join("alarm.txt");
    let config = dir.path().join("station.toml");
    std::fs::write(
        &config,
        format!(
            "[feedback]\non_reject = \"echo \\\"$SCANSTATION_REASON\\\" >> {}\"\n[pairing]\nprofile = \"serial+imei\"\n",
            marker.display()
        ),
    )
    .expect("write config");
    let out = run_with_stdin(
        &[
            "run",
            "--config",
            &config.to_string_lossy(),
            "--db",
            &db,
            "--log-format",
            "json",
        ],
        b"SC02XG1ABJGH5\n354178036859789\nnot a label\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // The profile from the config closes the unit after a serial and one IMEI.
    assert!(
        stdout(&out).contains("UNIT OK 1 (complete)"),
        "{}",
        stdout(&out)
    );
    for line in stderr(&out).lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
        assert!(v.get("level").is_some());
    }
    // The command runs without being waited for; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !marker.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(&marker).expect("the on_reject command ran");
    assert!(text.contains("REJECTED scan 3"), "{text}");
}

#[cfg(feature = "camera")]
#[test]
fn camera_source_without_a_camera_names_what_was_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run_with_stdin(&["run", "--db", &db_in(&dir), "--source", "camera:0"], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("cannot open camera 0"), "{err}");
    assert!(
        err.contains("cameras found")
            || err.contains("no cameras were found")
            || err.contains("could not be listed"),
        "{err}"
    );
}

/// Defect 7 (issue 9): the serial read again right after the second IMEI completed its unit
/// opened a phantom second unit, flagged as a duplicate of the first. It is a repeat: stored
/// as a scan of the closed unit, and no unit is opened.
#[test]
fn defect7_rescan_after_close_is_a_repeat_not_a_unit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_in(&dir);
    let out = run_with_stdin(
        &["run", "--json", "--db", &db],
        b"C02XG1ABJGH5\n354178036859789\n354178036859797\nC02XG1ABJGH5\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let events = events(&out);
    let units: Vec<_> = events.iter().filter(|e| e["event"] == "unit").collect();
    assert_eq!(units.len(), 1, "{events:#?}");
    assert_eq!(units[0]["status"], "ok");
    let store = open(&db);
    assert_eq!(store.count("units").expect("count"), 1);
    assert_eq!(store.count("scans").expect("count"), 4);
    let rescan = store.scan(4).expect("scan").expect("scan 4");
    assert_eq!(rescan.outcome, "repeat");
    assert_eq!(rescan.unit, Some(1));
    let unit = store.unit(1).expect("unit").expect("unit 1");
    assert_eq!(unit.status, "ok");
    assert!(unit.flags.is_empty(), "{:?}", unit.flags);
}

/// Defect 12 (issue 9): when the list lookup failed, the unit proceeded as if no list held it.
/// Here the lookup really fails: a second connection renames the list entries table while the
/// station runs, so the station's read connection can no longer read the blocklist. The
/// blocklisted unit scanned next is stored, with its scans, and held with the reason.
#[test]
fn defect12_failed_list_lookup_holds_the_unit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_in(&dir);
    {
        let mut store = Store::open(Path::new(&db)).expect("create store");
        let list = dir.path().join("stolen.csv");
        std::fs::write(&list, "match,value,reason\nserial,R58M315CL4T,stolen\n").expect("list");
        let (_, errors) = scanstation::store::import_file(
            &mut store,
            scanstation::lists::ListKind::Blocklist,
            "stolen",
            &list,
            false,
            0,
        )
        .expect("import");
        assert!(errors.is_empty(), "{errors:?}");
    }
    let mut child = spawn_json(&db, &[]);
    let lines = read_lines(&mut child);
    let mut stdin = child.stdin.take().expect("stdin");
    // The lists work at first: a unit no list holds proceeds.
    stdin
        .write_all(b"C02XG1ABJGH5\n354178036859789\n354178036859797\n")
        .expect("write");
    stdin.flush().expect("flush");
    let first = wait_for(&lines, 4, Duration::from_secs(30));
    assert!(
        first.iter().any(|l| l.contains("\"decision\":\"proceed\"")),
        "{first:?}"
    );

    let conn = rusqlite::Connection::open(&db).expect("second connection");
    conn.busy_timeout(Duration::from_secs(30))
        .expect("busy timeout");
    conn.execute_batch("ALTER TABLE list_entries RENAME TO list_entries_unreadable")
        .expect("rename");

    stdin
        .write_all(b"R58M315CL4T\n490154203237518\n490154203237526\n")
        .expect("write");
    stdin.flush().expect("flush");
    let _ = wait_for(&lines, 4, Duration::from_secs(30));
    drop(stdin);
    let status = child.wait().expect("wait");
    assert!(status.success());

    let store = open(&db);
    assert_eq!(store.count("units").expect("count"), 2);
    let unit = store.unit(2).expect("unit").expect("unit 2");
    assert_eq!(
        unit.values(scanstation::ident::IdKind::Serial),
        ["R58M315CL4T"]
    );
    assert_eq!(unit.status, "flagged");
    assert_eq!(unit.decision.map(|v| v.as_str()), Some("quarantine"));
    assert_eq!(unit.decision_reason.as_deref(), Some("list lookup failed"));
    let scan = store.scan(4).expect("scan").expect("scan 4");
    assert_eq!(scan.value, "R58M315CL4T");
    assert_eq!(scan.decision.map(|v| v.as_str()), Some("quarantine"));
    assert_eq!(scan.decision_reason.as_deref(), Some("list lookup failed"));
}
