//! Issue 9, defects 4 and 5, through the real binary.
//!
//! Defect 4 (terminal escape injection): a crafted recall list put ESC and BEL bytes into the
//! operator's terminal, erased the red line and printed a fake `ok` line. Every byte from
//! outside (scans, list names and reasons, TAC brands and models, file names) must be escaped
//! on every human line and error.
//!
//! Defect 5 (CSV formula injection): `export --format csv` wrote cells starting with `=`, `+`,
//! `-`, `@`, TAB or CR as they were, and spreadsheets run such cells as formulas.

use std::path::PathBuf;
use std::process::Output;

use crate::util::{bin, run_with_stdin, stderr, stdout};

/// Printed raw, this reason moves the cursor up, erases the red line, returns to its start,
/// prints a fake acknowledgement, rings the bell, sets the window title, reverses what follows
/// and sends a C1 CSI.
const EVIL_REASON: &str = "battery\x1b[1A\x1b[2K\rok      scan 1 serial FAKE\x07\x1b]0;pwned\x07 \u{202e}kcab\u{2066}x\u{2069} \u{9b}31mred";
/// The same in the form the station must print.
const EVIL_REASON_SHOWN: &str = "battery\\x1b[1A\\x1b[2K\\x0dok      scan 1 serial FAKE\\x07\\x1b]0;pwned\\x07 \\u{202e}kcab\\u{2066}x\\u{2069} \\u{9b}31mred";
const EVIL_NAME: &str = "recall\x1b[2J\u{202e}2026";
const EVIL_NAME_SHOWN: &str = "recall\\x1b[2J\\u{202e}2026";

/// A unit whose second IMEI's TAC (49015420) is on the recall list.
const UNIT_B: &str = "R58M315CL4T\n490154203237518\n490154203237526\n";

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

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write file");
        path
    }

    /// Runs the binary with `args` (the database is added after the subcommand words).
    fn cmd(&self, words: &[&str], args: &[&str]) -> Output {
        bin()
            .args(words)
            .args(["--db", &self.db])
            .args(args)
            .output()
            .expect("run scanstation")
    }

    fn import(&self, kind: &str, name: &str, csv: &str) -> Output {
        let file = self.file(&format!("list-{}.csv", name.len()), csv);
        let out = bin()
            .args(["list", "import", "--db", &self.db, "--kind", kind])
            .arg(format!("--name={name}"))
            .arg(&file)
            .output()
            .expect("import");
        assert!(out.status.success(), "{}", stderr(&out));
        out
    }
}

/// The raw control bytes that must never reach a terminal.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

/// Stdout and stderr carry no raw control byte, and stdout or stderr shows each of `shown`.
#[track_caller]
fn assert_escaped(what: &str, out: &Output, shown: &[&str]) {
    let (o, e) = (stdout(out), stderr(out));
    assert_eq!(
        raw_controls(&o),
        Vec::<char>::new(),
        "{what}: raw control bytes on stdout: {o:?}"
    );
    assert_eq!(
        raw_controls(&e),
        Vec::<char>::new(),
        "{what}: raw control bytes on stderr: {e:?}"
    );
    for s in shown {
        assert!(
            o.contains(s) || e.contains(s),
            "{what}: {s:?} not shown\nstdout: {o}\nstderr: {e}"
        );
    }
}

#[test]
fn terminal_escape_injection_recall_list_cannot_forge_station_lines() {
    let desk = Desk::new();
    let import = desk.import(
        "recall",
        EVIL_NAME,
        &format!("match,value,value_to,reason\ntac,49015420,,\"{EVIL_REASON}\"\n"),
    );
    assert_escaped("list import", &import, &[EVIL_NAME_SHOWN]);

    // The station on stdin, human lines: a unit hits the list, and a scan carries ESC itself.
    let run = run_with_stdin(
        &["run", "--db", &desk.db, "--mode", "recall"],
        format!("{UNIT_B}ZZ\x1b[2KZZ\nYY\u{202e}YY\nSCANSTATION:NEXT\n").as_bytes(),
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert_escaped(
        "run",
        &run,
        &[
            EVIL_REASON_SHOWN,
            EVIL_NAME_SHOWN,
            "ZZ\\x1b[2KZZ",
            "YY\\u{202e}YY",
        ],
    );
    let text = stdout(&run);
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("ok      scan 1 serial FAKE")),
        "{text}"
    );
    assert!(text.contains("RECALL-HIT"), "{text}");

    let show = desk.cmd(&["list", "show"], &[EVIL_NAME]);
    assert!(show.status.success(), "{}", stderr(&show));
    assert_escaped("list show", &show, &[EVIL_NAME_SHOWN, EVIL_REASON_SHOWN]);

    let ls = desk.cmd(&["list", "ls"], &[]);
    assert!(ls.status.success(), "{}", stderr(&ls));
    assert_escaped("list ls", &ls, &[EVIL_NAME_SHOWN]);

    // `find` prints the scan history; the rejected scan is found by its value.
    let find = desk.cmd(&["find"], &["ZZ\x1b[2KZZ"]);
    assert!(find.status.success(), "{}", stderr(&find));
    assert_escaped("find", &find, &["ZZ\\x1b[2KZZ"]);
    let find = desk.cmd(&["find"], &["490154203237518"]);
    assert!(find.status.success(), "{}", stderr(&find));
    assert_escaped("find unit", &find, &[]);

    // The JSON events keep the exact bytes (serde_json escapes them inside strings).
    let json = desk.cmd(&["export"], &["--what", "units", "--format", "ndjson"]);
    let unit: serde_json::Value =
        serde_json::from_str(stdout(&json).lines().next().unwrap_or("")).expect("json");
    assert_eq!(unit["list"], EVIL_NAME);
    assert!(
        unit["reason"]
            .as_str()
            .is_some_and(|r| r.contains(EVIL_REASON)),
        "{unit}"
    );
}

#[test]
fn terminal_escape_injection_in_an_audit_report() {
    let desk = Desk::new();
    desk.import(
        "expected",
        EVIL_NAME,
        &format!("match,value,value_to,reason\nserial,NOTSEEN1,,\"{EVIL_REASON}\"\n"),
    );
    let report = desk.cmd(&["audit", "report"], &[]);
    assert!(report.status.success(), "{}", stderr(&report));
    assert_escaped(
        "audit report",
        &report,
        &[EVIL_NAME_SHOWN, EVIL_REASON_SHOWN, "MISSING"],
    );
}

#[test]
fn terminal_escape_injection_from_a_tac_file() {
    let desk = Desk::new();
    // The file name itself carries ESC; a skipped row quotes its bad TAC.
    let tacs = desk.file(
        "tacdb\x1b[31m.csv",
        "tac,name,name,contributor,comment,gsmarena,gsmarena,aka\n\
         49015420,\"Evil\x1b[2K\rBrand\",\"Model\u{202e}X\x07\",me,,,,\n\
         \"4901\x1b[8m\",Hidden,Row,me,,,,\n",
    );
    let import = desk.cmd(&["tac", "import"], &[&tacs.to_string_lossy()]);
    assert!(import.status.success(), "{}", stderr(&import));
    assert_escaped(
        "tac import",
        &import,
        &["tacdb\\x1b[31m.csv", "imported 1 TACs"],
    );

    let check = desk.cmd(&["check"], &["490154203237518"]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert_escaped(
        "check",
        &check,
        &["Evil\\x1b[2K\\x0dBrand Model\\u{202e}X\\x07"],
    );

    let set = desk.cmd(&["tac", "set"], &["35675904", "Local\x1b[5m", "M\u{202e}"]);
    assert!(set.status.success(), "{}", stderr(&set));
    assert_escaped("tac set", &set, &["Local\\x1b[5m M\\u{202e}"]);

    // The station's unit line names the TAC's model in a consistency finding, if it makes one;
    // whatever it prints must be escaped.
    let run = run_with_stdin(&["run", "--db", &desk.db], UNIT_B.as_bytes());
    assert!(run.status.success(), "{}", stderr(&run));
    assert_escaped("run with an evil TAC", &run, &[]);
}

#[test]
fn terminal_escape_injection_in_errors_naming_files() {
    let desk = Desk::new();
    let missing: PathBuf = desk.dir.path().join("gone\x1b[2J\u{202e}.csv");
    let import = desk.cmd(
        &["list", "import"],
        &[
            "--kind",
            "recall",
            "--name",
            "x",
            &missing.to_string_lossy(),
        ],
    );
    assert!(!import.status.success());
    assert_escaped("list import error", &import, &["gone\\x1b[2J\\u{202e}.csv"]);

    // A list file with a bad line names the file and quotes the line.
    let bad = desk.file(
        "bad\x07list.csv",
        "match,value,value_to,reason\nnonsense\x1b[2K,X,,r\n",
    );
    let import = desk.cmd(
        &["list", "import"],
        &["--kind", "recall", "--name", "x", &bad.to_string_lossy()],
    );
    assert!(!import.status.success());
    assert_escaped("list import bad line", &import, &["bad\\x07list.csv"]);

    let decode = bin()
        .args(["decode"])
        .arg(desk.dir.path().join("img\x1b]0;t\x07.png"))
        .output()
        .expect("decode");
    assert!(!decode.status.success());
    assert_escaped("decode error", &decode, &["img\\x1b]0;t\\x07.png"]);

    let config = desk.file("bad\x1b[1m.toml", "[pairing]\nprofile = \"x\x1b[2K\"\n");
    let run = run_with_stdin(
        &[
            "run",
            "--db",
            &desk.db,
            "--config",
            &config.to_string_lossy(),
        ],
        b"",
    );
    assert!(!run.status.success());
    assert_escaped("config error", &run, &["bad\\x1b[1m.toml"]);

    // The station's log lines name the database and the sources.
    let db = desk.dir.path().join("db\x1b[31m\u{202e}.db");
    let run = run_with_stdin(&["run", "--db", &db.to_string_lossy()], b"");
    assert!(run.status.success(), "{}", stderr(&run));
    assert_escaped("log lines", &run, &["db\\x1b[31m\\u{202e}.db"]);
}

/// The lists of the CSV test: each name starts with a character a spreadsheet runs.
const FORMULA_NAMES: [&str; 7] = [
    "=HYPERLINK(\"http://x.invalid\",\"click\")",
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\tTAB list",
    "\rCR list",
    "'quoted list",
];
const IMEIS: [&str; 7] = [
    "490154203237518",
    "490154203237526",
    "354178036859789",
    "354178036859797",
    "352099001761481",
    "356868000041418",
    "861234567890127",
];
/// Scans whose values start with a formula character; the station stores them rejected.
const FORMULA_SCANS: [&str; 5] = ["=1+2", "+1234", "-5", "@A1", "'x"];

/// Undoes the export's rule: a cell that starts with `'` is the value with one `'` added.
fn unneutralise(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

fn formula_desk() -> Desk {
    let desk = Desk::new();
    for (name, imei) in FORMULA_NAMES.iter().zip(IMEIS) {
        desk.import(
            "recall",
            name,
            &format!("match,value,value_to,reason\nimei,{imei},,=cmd|' /C calc'!A0\n"),
        );
    }
    let mut script: String = IMEIS.iter().map(|i| format!("{i}\n")).collect();
    for s in FORMULA_SCANS {
        script.push_str(s);
        script.push('\n');
    }
    let run = run_with_stdin(
        &[
            "run",
            "--json",
            "--db",
            &desk.db,
            "--mode",
            "recall",
            "--profile",
            "imei",
        ],
        script.as_bytes(),
    );
    assert!(run.status.success(), "{}", stderr(&run));
    desk
}

/// (header, rows) of a CSV export read back with the csv crate.
fn export_csv(desk: &Desk, what: &str) -> Vec<std::collections::HashMap<String, String>> {
    let out = desk.cmd(&["export"], &["--what", what, "--format", "csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut reader = csv::Reader::from_reader(&out.stdout[..]);
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

fn export_json(desk: &Desk, what: &str) -> Vec<serde_json::Value> {
    let out = desk.cmd(&["export"], &["--what", what, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    value.as_array().cloned().unwrap_or_default()
}

/// The exact rule: a cell is neutralised when its value starts with `=`, `+`, `-`, `@`, TAB, CR
/// or `'`, and then it is the value with one `'` in front.
#[track_caller]
fn assert_cell(cell: &str, raw: &str) {
    let dangerous = raw.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']);
    if dangerous {
        assert_eq!(cell, format!("'{raw}"), "cell of {raw:?} not neutralised");
    } else {
        assert_eq!(cell, raw);
    }
    assert_eq!(
        unneutralise(cell),
        raw,
        "the rule does not give back {raw:?}"
    );
}

#[test]
fn csv_formula_injection_units_export_neutralises_and_round_trips() {
    let desk = formula_desk();
    let rows = export_csv(&desk, "units");
    let json = export_json(&desk, "units");
    assert_eq!(rows.len(), FORMULA_NAMES.len());
    assert_eq!(json.len(), rows.len());
    let mut lists = Vec::new();
    for (row, unit) in rows.iter().zip(&json) {
        for (column, key) in [
            ("list", "list"),
            ("reason", "reason"),
            ("decision", "decision"),
            ("status", "status"),
            ("mode", "mode"),
            ("close_reason", "close_reason"),
        ] {
            let raw = unit[key].as_str().unwrap_or("");
            assert_cell(&row[column], raw);
        }
        assert!(row["list"].starts_with('\''), "{row:?}");
        lists.push(unit["list"].as_str().unwrap_or("").to_owned());
    }
    // JSON keeps the names exactly, tab and carriage return included.
    lists.sort();
    let mut want: Vec<String> = FORMULA_NAMES.iter().map(|n| (*n).to_owned()).collect();
    want.sort();
    assert_eq!(lists, want);
}

#[test]
fn csv_formula_injection_scans_export_neutralises_and_round_trips() {
    let desk = formula_desk();
    let rows = export_csv(&desk, "scans");
    let json = export_json(&desk, "scans");
    assert_eq!(json.len(), rows.len());
    let mut seen = Vec::new();
    for (row, scan) in rows.iter().zip(&json) {
        for key in [
            "raw",
            "value",
            "reason",
            "decision_reason",
            "source",
            "outcome",
        ] {
            assert_cell(&row[key], scan[key].as_str().unwrap_or(""));
        }
        seen.push(scan["value"].as_str().unwrap_or("").to_owned());
    }
    // JSON keeps each scan's value exactly.
    for s in FORMULA_SCANS {
        assert!(seen.iter().any(|v| v == s), "{s:?} not exported: {seen:?}");
    }
    let neutralised = rows
        .iter()
        .filter(|r| FORMULA_SCANS.contains(&unneutralise(&r["value"])))
        .count();
    assert_eq!(neutralised, FORMULA_SCANS.len());
}
