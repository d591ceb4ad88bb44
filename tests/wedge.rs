//! The keyboard wedge without a device: recorded key events through the real binary, and a
//! clear error when the device is missing.

use scanstation::source::keymap::{format_events, type_text};

use crate::util::{bin, run_with_stdin, stderr, stdout};

#[test]
fn recorded_events_play_back_as_scans() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("desk1.events");
    let mut events = type_text(b"SC02XG1ABJGH5", 0);
    events.extend(type_text(b"354178036859789", 100));
    // A GS1 Data Matrix typed with Ctrl+] for each FNC1, as wedge scanners send it.
    events.extend(type_text(b"]d20109506000134352\x1d21SER42", 200));
    std::fs::write(&file, format_events(&events)).expect("write events");
    let out = bin()
        .args(["wedge", "play", "--json"])
        .arg(&file)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["value"], "C02XG1ABJGH5");
    assert_eq!(lines[1]["kind"], "imei");
    assert_eq!(lines[2]["kind"], "gs1");
    assert_eq!(lines[2]["value"], "(01)09506000134352(21)SER42");

    std::fs::write(
        &file,
        "# scanstation wedge events v1\n0 KEY_A down\n1 KEY_NOPE up\n",
    )
    .expect("write");
    let bad = bin()
        .args(["wedge", "play"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("desk1.events:line 3: unknown key"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn a_missing_wedge_device_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("s.db");
    let out = run_with_stdin(
        &[
            "run",
            "--db",
            &db.to_string_lossy(),
            "--source",
            "hid:/dev/input/by-id/no-such-scanner-event-kbd",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out)
            .contains("cannot open input device /dev/input/by-id/no-such-scanner-event-kbd"),
        "{}",
        stderr(&out)
    );
}
