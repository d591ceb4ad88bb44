//! The serial source against real pseudo-terminals: the test writes on the master side as a
//! scanner would, and the source reads the slave through a stable symlink, as it reads a udev
//! link such as `/dev/barcode_scanner` in production.
//!
//! Unplugging is simulated by closing the master (reads on the slave then fail with a hangup),
//! and replugging by a new pty pair behind the same symlink.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::Duration;

use scanstation::source::serial::{SerialConfig, SerialSource};
use scanstation::source::{FrameProblem, FramingConfig, RawScan, Source, SourceEvent, Terminator};

/// Long enough for a loaded 2-core CI machine; a passing run never waits this long.
const WAIT: Duration = Duration::from_secs(20);

use crate::util::pty;

/// Points `link` at `target` atomically, as udev does when a device comes back.
fn point(link: &Path, target: &Path) {
    let tmp = link.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).expect("create the temporary symlink");
    std::fs::rename(&tmp, link).expect("rename the symlink into place");
}

fn start(link: &Path, framing: FramingConfig) -> Receiver<SourceEvent> {
    let (tx, rx) = sync_channel(64);
    let mut cfg = SerialConfig::new(link);
    cfg.framing = framing;
    cfg.backoff_min_ms = 20;
    cfg.backoff_max_ms = 200;
    let source = Box::new(SerialSource::new(cfg));
    assert_eq!(source.name(), format!("serial:{}", link.display()));
    std::thread::spawn(move || source.run(tx));
    rx
}

fn next(rx: &Receiver<SourceEvent>, waiting_for: &str) -> SourceEvent {
    rx.recv_timeout(WAIT)
        .unwrap_or_else(|e| panic!("no event within {WAIT:?} while waiting for {waiting_for}: {e}"))
}

fn expect_up(rx: &Receiver<SourceEvent>, link: &Path) {
    match next(rx, "Up") {
        SourceEvent::Up { source } => assert_eq!(source, format!("serial:{}", link.display())),
        other => panic!("expected Up, got {other:?}"),
    }
}

fn expect_down(rx: &Receiver<SourceEvent>) -> String {
    match next(rx, "Down") {
        SourceEvent::Down { error, .. } => error,
        other => panic!("expected Down, got {other:?}"),
    }
}

fn expect_scan(rx: &Receiver<SourceEvent>, what: &str) -> RawScan {
    match next(rx, what) {
        SourceEvent::Scan(scan) => scan,
        other => panic!("expected the scan {what}, got {other:?}"),
    }
}

fn write(master: &mut nix::pty::PtyMaster, bytes: &[u8]) {
    master.write_all(bytes).expect("write on the pty master");
    master.flush().ok();
}

#[test]
fn scans_survive_unplug_and_replug() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("scanner");
    let (mut master, slave) = pty();
    point(&link, &slave);
    let rx = start(&link, FramingConfig::default());
    expect_up(&rx, &link);

    let mut scans = Vec::new();

    // One scan in two writes, ended by CR.
    write(&mut master, b"35693803");
    write(&mut master, b"5647210\r");
    let scan = expect_scan(&rx, "the split IMEI");
    assert_eq!(scan.bytes, b"356938035647210");
    assert_eq!(scan.problem, None);
    assert_eq!(scan.source, format!("serial:{}", link.display()));
    assert!(scan.at_ms > 1_600_000_000_000, "at_ms is wall-clock time");
    scans.push(scan.bytes);

    // A GS1 scan with an AIM id and a GS separator, ended by CRLF: exactly one scan.
    let gs1 = b"]C10109501101020917\x1d10ABC123";
    write(&mut master, &[&gs1[..], b"\r\n"].concat());
    let scan = expect_scan(&rx, "the GS1 scan");
    assert_eq!(scan.bytes, gs1);
    assert_eq!(scan.problem, None);
    scans.push(scan.bytes);

    // Not UTF-8: the raw bytes arrive with the problem marked.
    write(&mut master, b"AB\xffCD\r\n");
    let scan = expect_scan(&rx, "the non-UTF-8 line");
    assert_eq!(scan.bytes, b"AB\xffCD");
    assert_eq!(
        scan.problem,
        Some(FrameProblem::NotUtf8 { at: 2, byte: 0xff })
    );
    scans.push(scan.bytes);

    // A complete scan and the start of the next one in one write, so that once the first has
    // arrived the source holds the second: the kernel discards unread input at hangup, but not
    // what the source already read.
    write(&mut master, b"BEFORE\rPART");
    let scan = expect_scan(&rx, "the last scan before the unplug");
    assert_eq!(scan.bytes, b"BEFORE");
    scans.push(scan.bytes);

    // Unplug.
    drop(master);
    let scan = expect_scan(&rx, "the partial scan flushed at the unplug");
    assert_eq!(scan.bytes, b"PART");
    assert_eq!(scan.problem, Some(FrameProblem::Truncated));
    scans.push(scan.bytes);
    let error = expect_down(&rx);
    assert!(error.starts_with("read from "), "{error}");
    assert!(error.contains(&link.display().to_string()), "{error}");

    // Replug: a new device behind the same name.
    let (mut master, slave) = pty();
    point(&link, &slave);
    expect_up(&rx, &link);
    write(&mut master, b"AFTER\r");
    let scan = expect_scan(&rx, "the first scan after the replug");
    assert_eq!(scan.problem, None);
    scans.push(scan.bytes);

    let expected: Vec<&[u8]> = vec![
        b"356938035647210",
        gs1,
        b"AB\xffCD",
        b"BEFORE",
        b"PART",
        b"AFTER",
    ];
    assert_eq!(scans, expected);

    // Dropping the receiver first lets the source thread end at its next send.
    drop(rx);
    drop(master);
}

#[test]
fn down_is_reported_once_until_the_device_appears() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("scanner");
    let rx = start(&link, FramingConfig::default());

    let error = expect_down(&rx);
    assert!(error.starts_with("cannot open "), "{error}");

    // The source retries every 20-200 ms, so this window spans several failed attempts, none of
    // which may report again.
    match rx.recv_timeout(Duration::from_millis(800)) {
        Err(RecvTimeoutError::Timeout) => {}
        other => panic!("expected no event while the device stays absent, got {other:?}"),
    }

    let (mut master, slave) = pty();
    point(&link, &slave);
    expect_up(&rx, &link);
    write(&mut master, b"HELLO\n");
    assert_eq!(expect_scan(&rx, "HELLO").bytes, b"HELLO");

    drop(rx);
    drop(master);
}

#[test]
fn a_vanished_path_counts_as_an_unplug() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("scanner");
    let (mut master, slave) = pty();
    point(&link, &slave);
    let rx = start(&link, FramingConfig::default());
    expect_up(&rx, &link);

    // The device node stays usable, but its name is gone: udev removed the link.
    std::fs::remove_file(&link).expect("remove the link");
    let error = expect_down(&rx);
    assert!(error.contains("vanished"), "{error}");

    // The same device comes back under the same name and is reopened.
    point(&link, &slave);
    expect_up(&rx, &link);
    write(&mut master, b"BACK\r");
    assert_eq!(expect_scan(&rx, "BACK").bytes, b"BACK");

    drop(rx);
    drop(master);
}

#[test]
fn without_terminator_silence_ends_a_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("scanner");
    let (mut master, slave) = pty();
    point(&link, &slave);
    let framing = FramingConfig {
        terminator: Terminator::None,
        inter_char_timeout_ms: 50,
        ..FramingConfig::default()
    };
    let rx = start(&link, framing);
    expect_up(&rx, &link);

    write(&mut master, b"NO-SUFFIX-1");
    let scan = expect_scan(&rx, "the unterminated scan");
    assert_eq!(scan.bytes, b"NO-SUFFIX-1");
    assert_eq!(scan.problem, None);

    // Terminator bytes are data in this mode.
    write(&mut master, b"X\r\n");
    assert_eq!(expect_scan(&rx, "the second scan").bytes, b"X\r\n");

    drop(rx);
    drop(master);
}
