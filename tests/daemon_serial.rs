//! `scanstation run --source serial:LINK` against real pseudo-terminals behind a stable symlink:
//! scans before and after an unplug and replug all land in SQLite.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use scanstation::store::Store;

use crate::daemon::{read_lines, wait_for};
use crate::util::{bin, pty};

const WAIT: Duration = Duration::from_secs(30);

/// Points `link` at `target` atomically, as udev does when a device comes back.
fn point(link: &Path, target: &Path) {
    let tmp = link.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).expect("symlink");
    std::fs::rename(&tmp, link).expect("rename symlink");
}

/// Waits for a log line on stderr containing `needle`.
fn wait_log(logs: &mpsc::Receiver<String>, needle: &str) {
    loop {
        match logs.recv_timeout(WAIT) {
            Ok(line) if line.contains(needle) => return,
            Ok(_) => {}
            Err(e) => panic!("no log line with {needle:?} within {WAIT:?}: {e}"),
        }
    }
}

#[test]
fn serial_scans_survive_an_unplug_and_replug() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("serial.db");
    let link = dir.path().join("scanner");
    let (mut master, slave) = pty();
    point(&link, &slave);
    let mut child = bin()
        .args(["run", "--json", "--db"])
        .arg(&db)
        .arg("--source")
        .arg(format!("serial:{}@115200", link.display()))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let lines = read_lines(&mut child);
    let stderr = child.stderr.take().expect("stderr");
    let (log_tx, logs) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if log_tx.send(line).is_err() {
                break;
            }
        }
    });
    wait_log(&logs, "scanner ready");
    // A scanner set up for a CR suffix and AIM identifiers, one scan split over two writes.
    master
        .write_all(b"]C0SC02XG1ABJGH5\r3541780")
        .expect("write");
    master.flush().ok();
    master.write_all(b"36859789\r").expect("write");
    master.flush().ok();
    let before = wait_for(&lines, 2, WAIT);

    drop(master);
    wait_log(&logs, "scanner went away");
    let (mut master, slave) = pty();
    point(&link, &slave);
    wait_log(&logs, "scanner ready");
    master.write_all(b"354178036859797\r").expect("write");
    master.flush().ok();
    // The third scan completes the unit: a scan event and a unit event.
    let after = wait_for(&lines, 2, WAIT);

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    assert!(child.wait().expect("wait").success());

    let events: Vec<serde_json::Value> = before
        .iter()
        .chain(after.iter())
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(events[0]["value"], "C02XG1ABJGH5");
    assert_eq!(events[0]["symbology"], "]C0");
    assert_eq!(events[0]["source"], format!("serial:{}", link.display()));
    assert_eq!(events[3]["event"], "unit", "{events:#?}");
    assert_eq!(events[3]["status"], "ok", "{events:#?}");

    let store = Store::open_read_only(&db).expect("open").expect("exists");
    assert_eq!(store.count("scans").expect("count"), 3);
    let unit = store.unit(1).expect("unit").expect("unit 1");
    assert_eq!(
        unit.values(scanstation::ident::IdKind::Serial),
        ["C02XG1ABJGH5"]
    );
    assert_eq!(
        unit.values(scanstation::ident::IdKind::Imei),
        ["354178036859789", "354178036859797"]
    );
    assert_eq!(
        store.scan(1).expect("scan").expect("scan 1").raw,
        b"]C0SC02XG1ABJGH5"
    );
}
