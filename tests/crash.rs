//! Power-cut safety: SIGKILL the daemon at random moments while scans stream in, then check that
//! every acknowledged scan is in the database and that the database is intact.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use scanstation::ident::device::imei_check_digit;
use scanstation::store::Store;

use crate::daemon::{read_lines, spawn_json};

/// Rounds of kill-and-check; each round starts the daemon again on the same file.
const ROUNDS: usize = 20;

fn imei(n: u64) -> String {
    let payload = format!("35{:012}", n);
    format!("{payload}{}", imei_check_digit(&payload).unwrap_or('0'))
}

#[test]
fn every_acknowledged_scan_survives_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("crash.db").to_string_lossy().into_owned();
    // A fixed-seed generator picks the kill moments, so a failure can be replayed.
    let mut seed: u64 = 0x5EED_1234_ABCD_0001;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut acked: Vec<(i64, String)> = Vec::new();
    let mut counter = 0u64;
    for round in 0..ROUNDS {
        let mut child = spawn_json(&db, &[]);
        let lines = read_lines(&mut child);
        let mut stdin = child.stdin.take().expect("stdin");
        let kill_after = Duration::from_millis(20 + next() % 300);
        let start = Instant::now();
        // Stream scans until the kill moment; a write error means the child is already gone.
        while start.elapsed() < kill_after {
            counter += 1;
            let line = match counter % 3 {
                0 => format!(
                    "S{}\n",
                    format!("C02X{:08}", counter)
                        .get(..12)
                        .unwrap_or("C02X00000000")
                ),
                _ => format!("{}\n", imei(counter)),
            };
            if stdin.write_all(line.as_bytes()).is_err() {
                break;
            }
            if next() % 4 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        drop(stdin);
        // Every complete line printed before the kill is an acknowledgement.
        for line in lines.try_iter() {
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if event["event"] == "scan" {
                let id = event["id"].as_i64().expect("id");
                let raw = event["raw"].as_str().expect("raw").to_owned();
                acked.push((id, raw));
            }
        }
        // A kill while the first start was still creating the schema leaves it part way (each
        // migration commits on its own); the read-only open refuses such a file, and the next
        // start migrates the rest, as the read-write open here does. The station acknowledges
        // no scan before its store is open, so none can be missing then.
        let store = match Store::open_read_only(Path::new(&db)) {
            Err(scanstation::store::StoreError::TooOld { .. }) => {
                drop(Store::open(Path::new(&db)).expect("migrate the rest"));
                Store::open_read_only(Path::new(&db)).expect("open")
            }
            other => other.expect("open"),
        }
        .expect("exists");
        assert_eq!(
            store.integrity_check().expect("integrity"),
            "ok",
            "round {round}"
        );
        for (id, raw) in &acked {
            let scan = store.scan(*id).expect("query").unwrap_or_else(|| {
                panic!("round {round}: acknowledged scan {id} ({raw}) is missing")
            });
            assert_eq!(String::from_utf8_lossy(&scan.raw), raw.as_str());
        }
    }
    assert!(
        acked.len() > ROUNDS,
        "the test acknowledged too few scans ({}) to mean anything",
        acked.len()
    );
    // A restart closes units the kills left open, flagged so an operator checks them again.
    let out = crate::util::run_with_stdin(&["run", "--db", &db], b"");
    assert!(out.status.success());
    let store = Store::open_read_only(Path::new(&db))
        .expect("open")
        .expect("exists");
    let open: Vec<_> = store
        .units_since(i64::MIN)
        .expect("units")
        .into_iter()
        .filter(|u| u.status == "open")
        .collect();
    assert!(open.is_empty(), "{open:?}");
}
