//! What the binary says when something is wrong: each cause once, clap's refusals of bad flag
//! values, times that do not exist, a database from a newer scanstation, and colour that follows
//! NO_COLOR and CLICOLOR_FORCE.

use std::path::Path;

use crate::util::{bin, run_with_stdin, stderr};

/// The one `scanstation: error: ...` line of a failed run.
fn error_line(out: &std::process::Output) -> String {
    let text = stderr(out);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("scanstation: error: "))
        .collect();
    assert_eq!(lines.len(), 1, "one error line expected in {text:?}");
    lines[0].to_owned()
}

/// A database path whose folder cannot be created: one of its components is a regular file.
fn db_under_a_file(dir: &tempfile::TempDir) -> String {
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, b"x").expect("write file");
    file.join("sub")
        .join("station.db")
        .to_string_lossy()
        .into_owned()
}

/// Issue 10: messages embedded their cause and chained it too, and `main` hid the repeat by
/// substring matching. Now the message says what and where, the OS error is only chained, and
/// the chain is printed once.
#[test]
fn a_store_error_prints_its_os_cause_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = db_under_a_file(&dir);
    let folder = Path::new(&db)
        .parent()
        .expect("parent")
        .display()
        .to_string();
    let cause = std::io::Error::from_raw_os_error(libc::ENOTDIR).to_string();
    let create = format!("cannot create the database directory {folder}");
    // The station locks the database file before it opens the store, so it fails there.
    let lock = format!("cannot open the database file {db} to lock it");
    for (args, what) in [
        (
            vec!["tac", "set", "--db", &db, "35675904", "Oppo", "N1"],
            &create,
        ),
        (vec!["list", "rm", "--db", &db, "x"], &create),
        (vec!["run", "--db", &db], &lock),
    ] {
        let out = run_with_stdin(&args, b"");
        assert!(!out.status.success(), "{args:?} must fail");
        assert_eq!(
            error_line(&out),
            format!("scanstation: error: {what}: {cause}"),
            "{args:?}"
        );
        assert_eq!(
            stderr(&out).matches(&cause).count(),
            1,
            "{args:?}: the cause appears once in {:?}",
            stderr(&out)
        );
    }
}

/// SQLite's own error chains its bare error code behind its message; the store ends the chain
/// at the message, so neither is printed twice.
#[test]
fn a_sqlite_cause_prints_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A folder where the database file should be: SQLite cannot open it.
    let db = dir.path().join("station.db");
    std::fs::create_dir(&db).expect("mkdir");
    let out = run_with_stdin(
        &[
            "tac",
            "set",
            "--db",
            &db.to_string_lossy(),
            "35675904",
            "A",
            "B",
        ],
        b"",
    );
    assert!(!out.status.success());
    let line = error_line(&out);
    let prefix = format!(
        "scanstation: error: cannot open the database {}: ",
        db.display()
    );
    assert!(line.starts_with(&prefix), "{line}");
    // SQLite's message (rusqlite adds the file name to it), once, and not its error code
    // again behind it.
    assert_eq!(
        &line[prefix.len()..],
        format!("unable to open database file: {}", db.display()),
        "{line}"
    );
    assert_eq!(stderr(&out).matches("unable to open").count(), 1, "{line}");
}

#[test]
fn a_database_from_a_newer_scanstation_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("future.db");
    {
        let conn = rusqlite::Connection::open(&db).expect("create");
        conn.pragma_update(None, "user_version", 99)
            .expect("version");
    }
    let known = scanstation::store::Store::open(&dir.path().join("now.db"))
        .expect("current")
        .schema_version()
        .expect("version");
    let want = format!(
        "scanstation: error: database {} is newer (schema 99) than this scanstation understands (schema {known})",
        db.display()
    );
    let path = db.to_string_lossy().into_owned();
    for args in [
        vec!["run", "--db", &path],
        vec!["tac", "set", "--db", &path, "35675904", "A", "B"],
        vec!["list", "ls", "--db", &path],
        vec!["export", "--db", &path],
    ] {
        let out = run_with_stdin(&args, b"");
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(error_line(&out), want, "{args:?}");
    }
    // Refused, not touched: the newer schema is still there for the newer scanstation.
    let conn = rusqlite::Connection::open(&db).expect("reopen");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("read version");
    assert_eq!(version, 99);
}

#[test]
fn a_list_of_another_kind_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("station.db").to_string_lossy().into_owned();
    let file = dir.path().join("list.csv");
    std::fs::write(&file, "match,value\nserial,X1\n").expect("write list");
    let file = file.to_string_lossy().into_owned();
    let import = |kind: &str| {
        run_with_stdin(
            &[
                "list", "import", "--db", &db, "--kind", kind, "--name", "stock", &file,
            ],
            b"",
        )
    };
    // The kind's letter case is free, as it always was.
    let first = import("Recall");
    assert!(first.status.success(), "{}", stderr(&first));
    let second = import("blocklist");
    assert!(!second.status.success());
    let line = error_line(&second);
    assert!(
        line.starts_with("scanstation: error: list \"stock\" in ")
            && line.ends_with(
                " is a recall list and cannot take a blocklist import; remove it first to reuse the name"
            ),
        "{line}"
    );
}

/// Enumerated flags are clap value enums: `--help` lists the values, and a bad value is refused
/// by clap (exit status 2) before anything runs.
#[test]
fn enumerated_flags_list_and_check_their_values() {
    let help = bin().args(["run", "-h"]).output().expect("run -h");
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    for values in [
        "[possible values: text, json]",
        "[possible values: intake, returns, recall, audit]",
        "[possible values: cr, lf, crlf, any, none]",
    ] {
        assert!(help.contains(values), "{values} missing from:\n{help}");
    }
    let help = bin()
        .args(["list", "import", "--help"])
        .output()
        .expect("list import --help");
    assert!(
        String::from_utf8_lossy(&help.stdout)
            .contains("[possible values: recall, blocklist, expected, shipped]")
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("station.db").to_string_lossy().into_owned();
    for (args, flag, value) in [
        (
            vec!["run", "--log-format", "xml"],
            "--log-format <FORMAT>",
            "xml",
        ),
        (
            vec!["run", "--log-format", "JSON"],
            "--log-format <FORMAT>",
            "JSON",
        ),
        (vec!["run", "--mode", "lunch"], "--mode <MODE>", "lunch"),
        (
            vec!["run", "--terminator", "semicolon"],
            "--terminator <T>",
            "semicolon",
        ),
        (
            vec!["list", "import", "--kind", "wish", "--name", "x", "f.csv"],
            "--kind <KIND>",
            "wish",
        ),
        (
            vec!["export", "--format", "xml"],
            "--format <FORMAT>",
            "xml",
        ),
        (vec!["export", "--what", "boxes"], "--what <WHAT>", "boxes"),
    ] {
        let mut args = args;
        args.extend(["--db", &db]);
        let out = run_with_stdin(&args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let text = stderr(&out);
        assert!(
            text.contains(&format!("invalid value '{value}' for '{flag}'")),
            "{args:?}: {text}"
        );
        assert!(text.contains("[possible values: "), "{args:?}: {text}");
    }
    assert!(!Path::new(&db).exists(), "nothing ran");

    // The spellings that worked before still work, in any letter case where they did.
    let out = run_with_stdin(
        &[
            "run",
            "--json",
            "--db",
            &db,
            "--mode",
            "Recall",
            "--terminator",
            "CRLF",
            "--log-format",
            "json",
        ],
        b"SCANSTATION:NEXT\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_date_that_does_not_exist_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("station.db").to_string_lossy().into_owned();
    for (since, reason) in [
        ("2025-02-31", "February 2025 has no day 31 (it has 28)"),
        ("2025-13-01", "there is no month 13 (01 to 12)"),
        ("2025-11-25T24:00:01Z", "there is no hour 24 (00 to 23)"),
    ] {
        for command in ["export", "audit"] {
            let mut args = vec![command];
            if command == "audit" {
                args.push("report");
            }
            args.extend(["--db", &db, "--since", since]);
            let out = run_with_stdin(&args, b"");
            assert!(!out.status.success(), "{args:?}");
            assert_eq!(
                error_line(&out),
                format!(
                    "scanstation: error: --since: \"{since}\" is not a valid time: {reason} (expected a date such as 2026-11-25 or a UTC time such as 2026-11-25T08:00:00Z)"
                ),
                "{args:?}"
            );
        }
    }
}

#[cfg(unix)]
mod colour {
    use std::io::Read;
    use std::process::Stdio;

    use crate::util::{bin, pty, stderr};

    /// Runs the station with a pseudo-terminal as stdout, one valid scan on stdin, and returns
    /// what the terminal received.
    fn run_on_a_terminal(env: &[(&str, &str)], config: Option<&str>) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("station.db");
        let (mut master, slave) = pty();
        let terminal = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&slave)
            .expect("open pty slave");
        let mut cmd = bin();
        cmd.args(["run", "--db"]).arg(&db);
        if let Some(text) = config {
            let path = dir.path().join("config.toml");
            std::fs::write(&path, text).expect("write config");
            cmd.arg("--config").arg(path);
        }
        // A colour terminal, with no colour preference inherited from whoever runs the tests.
        // `CI` counts too: anstream colours a terminal whose TERM is dumb when `CI` is set, and
        // CI runners set it.
        cmd.env("TERM", "xterm-256color");
        for name in COLOUR_ENV {
            cmd.env_remove(name);
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::from(terminal))
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Drop the command too: it holds the parent's copy of the slave until it is dropped,
        // and the master reads to its end only once no process holds the slave open.
        drop(cmd);
        let reader = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            // Linux ends a pty master with EIO once every slave descriptor is closed.
            while let Ok(n) = master.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
            }
            seen
        });
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(b"354178036859789\n").expect("write scan");
        }
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", stderr(&out));
        let seen = reader.join().expect("reader");
        assert!(
            String::from_utf8_lossy(&seen).contains("ok      scan 1 imei 354178036859789"),
            "{:?}",
            String::from_utf8_lossy(&seen)
        );
        seen
    }

    /// Every variable anstream reads to decide on colour, besides TERM.
    const COLOUR_ENV: [&str; 4] = ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "CI"];

    fn coloured(seen: &[u8]) -> bool {
        String::from_utf8_lossy(seen).contains("\x1b[32m")
    }

    fn any_escape(seen: &[u8]) -> bool {
        seen.contains(&0x1b)
    }

    #[test]
    fn auto_colours_a_terminal_unless_no_color_is_set() {
        assert!(
            coloured(&run_on_a_terminal(&[], None)),
            "auto on a terminal"
        );
        assert!(!any_escape(&run_on_a_terminal(&[("NO_COLOR", "1")], None)));
        // Any non-empty value counts (no-color.org); an empty one does not.
        assert!(!any_escape(&run_on_a_terminal(&[("NO_COLOR", "0")], None)));
        assert!(coloured(&run_on_a_terminal(&[("NO_COLOR", "")], None)));
        assert!(!any_escape(&run_on_a_terminal(&[("TERM", "dumb")], None)));
    }

    #[test]
    fn the_config_wins_over_the_environment() {
        let always = "[feedback]\ncolor = \"always\"\n";
        let never = "[feedback]\ncolor = \"never\"\n";
        assert!(coloured(&run_on_a_terminal(
            &[("NO_COLOR", "1")],
            Some(always)
        )));
        assert!(!any_escape(&run_on_a_terminal(
            &[("CLICOLOR_FORCE", "1")],
            Some(never)
        )));
        assert!(!any_escape(&run_on_a_terminal(&[], Some(never))));
    }

    #[test]
    fn clicolor_force_colours_a_pipe() {
        let run = |env: &[(&str, &str)]| {
            let dir = tempfile::tempdir().expect("tempdir");
            let db = dir.path().join("station.db").to_string_lossy().into_owned();
            let mut cmd = bin();
            cmd.args(["run", "--db", &db]);
            for name in COLOUR_ENV {
                cmd.env_remove(name);
            }
            cmd.envs(env.iter().copied());
            let mut child = cmd
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn");
            {
                use std::io::Write;
                let mut stdin = child.stdin.take().expect("stdin");
                stdin.write_all(b"354178036859789\n").expect("write scan");
            }
            let out = child.wait_with_output().expect("wait");
            assert!(out.status.success(), "{}", stderr(&out));
            out.stdout
        };
        assert!(!any_escape(&run(&[])), "a pipe is not coloured");
        assert!(coloured(&run(&[("CLICOLOR_FORCE", "1")])));
        // NO_COLOR comes first, as anstream orders them.
        assert!(!any_escape(&run(&[
            ("CLICOLOR_FORCE", "1"),
            ("NO_COLOR", "1")
        ])));
    }
}
