//! `scanstation central conflicts | find | report` against a real PostgreSQL that two real
//! stations pushed to: the cross-desk conflict no single desk can see, a value found at every
//! desk with its history, and per-desk counts that match the stores.

use std::path::Path;

use rusqlite::Connection;
use serde_json::Value;

use crate::pg::Cluster;
use crate::sync::imei;
use crate::util::{bin, run_with_stdin, stderr, stdout};

fn station_then_sync(db: &Path, input: &str, url: &str, name: &str) {
    let path = db.display().to_string();
    let out = run_with_stdin(&["run", "--json", "--db", &path], input.as_bytes());
    assert!(out.status.success(), "run: {}", stderr(&out));
    let out = bin()
        .args(["sync", "--db", &path, "--to", url, "--name", name])
        .output()
        .expect("sync");
    assert!(
        out.status.success(),
        "sync: {}{}",
        stdout(&out),
        stderr(&out)
    );
}

fn central(args: &[&str]) -> (Option<i32>, String, String) {
    let out = bin().arg("central").args(args).output().expect("central");
    (out.status.code(), stdout(&out), stderr(&out))
}

fn json(args: &[&str]) -> (Option<i32>, Value) {
    let (code, out, err) = central(args);
    let value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    (code, value)
}

fn local(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .expect("open")
        .query_row(sql, [], |r| r.get(0))
        .expect("count")
}

#[test]
fn central_commands_show_the_cross_desk_conflict_a_value_everywhere_and_each_desk() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.create_db("central");
    let url = cluster.url("central");
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let shared = imei("35417800000001");
    let same = imei("35417800000002");
    // Desk 1: the IMEI with serial C02..01, and a second device. Desk 2: the same IMEI with
    // another serial (a conflict), and the second device again with its own serial (the same
    // device seen twice, which is not a conflict), and a rejected scan.
    station_then_sync(
        &a,
        &format!("C02XG1AB0001\n{shared}\nC02XG1AB0002\n{same}\n"),
        &url,
        "desk1",
    );
    station_then_sync(
        &b,
        &format!("R58M315CL4T\n{shared}\nC02XG1AB0002\n{same}\n\u{7}junk\n"),
        &url,
        "desk2",
    );

    let (code, conflicts) = json(&["conflicts", "--url", &url, "--json"]);
    assert_eq!(
        code,
        Some(1),
        "conflicts exit 1 when there are some: {conflicts}"
    );
    let list = conflicts["conflicts"].as_array().expect("list");
    assert_eq!(list.len(), 1, "only the IMEI with two serials: {conflicts}");
    assert_eq!(list[0]["kind"], "imei");
    assert_eq!(list[0]["key"], &shared[..14]);
    let units = list[0]["units"].as_array().expect("units");
    let seen: Vec<(&str, &str)> = units
        .iter()
        .map(|u| {
            (
                u["station"].as_str().unwrap_or(""),
                u["others"][0].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(seen, [("desk1", "C02XG1AB0001"), ("desk2", "R58M315CL4T")]);
    assert!(!conflicts.to_string().contains(crate::pg::PASSWORD));
    let (code, text, _) = central(&["conflicts", "--url", &url]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains(&format!("imei {} is on 2 units at 2 desks", &shared[..14])),
        "{text}"
    );

    // The value at every desk, found by its IMEI without the check digit too.
    for query in [shared.as_str(), &shared[..14]] {
        let (code, found) = json(&["find", "--url", &url, "--json", query]);
        assert_eq!(code, Some(0));
        let units = found["units"].as_array().expect("units");
        assert_eq!(units.len(), 2, "{found}");
        for u in units {
            assert!(!u["history"].as_array().expect("history").is_empty(), "{u}");
            assert_eq!(u["scans"].as_array().expect("scans").len(), 2, "{u}");
        }
    }
    let (_, nothing, _) = central(&["find", "--url", &url, "NOSUCHVALUE"]);
    assert!(nothing.contains("nothing found"), "{nothing}");

    // Per desk, the same counts as each store; the totals add up.
    let (code, report) = json(&["report", "--url", &url, "--json"]);
    assert_eq!(code, Some(0));
    let report = &report["report"];
    for (i, (db, name)) in [(&a, "desk1"), (&b, "desk2")].into_iter().enumerate() {
        let s = &report["stations"][i];
        assert_eq!(s["station"], name);
        assert_eq!(s["scans"], local(db, "SELECT count(*) FROM scans"), "{s}");
        assert_eq!(
            s["units"],
            local(db, "SELECT count(*) FROM units WHERE status <> 'open'"),
            "{s}"
        );
        assert_eq!(s["ledger_rows"], local(db, "SELECT max(seq) FROM ledger"));
    }
    assert_eq!(report["stations"][1]["rejected_scans"], 1);
    assert_eq!(
        report["totals"]["scans"],
        local(&a, "SELECT count(*) FROM scans") + local(&b, "SELECT count(*) FROM scans")
    );
    assert_eq!(report["cross_desk_conflicts"], 1);
    let (_, text, _) = central(&["report", "--url", &url]);
    assert!(
        text.contains("desk1") && text.contains("cross-desk conflicts: 1"),
        "{text}"
    );

    // The next desk that records either side is told: desk 1 pulls the conflicts with its next
    // push, and a new unit holding the IMEI is held for a person, with the desks named.
    station_then_sync(&a, "", &url, "desk1");
    let path = a.display().to_string();
    let out = run_with_stdin(
        &["run", "--json", "--db", &path],
        format!("C02XG1AB0099\n{shared}\n").as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let unit: Value = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|e| e["event"] == "unit")
        .expect("a unit event");
    assert_eq!(unit["decision"], "quarantine", "{unit}");
    let flags = unit["flags"].to_string();
    assert!(
        flags.contains("cross_desk_conflict")
            && flags.contains(&format!(
                "imei {} is in a cross-desk conflict",
                &shared[..14]
            ))
            && flags.contains("desk2 unit 1 (serial R58M315CL4T)"),
        "{unit}"
    );
    // A unit with nothing in a conflict is not flagged.
    let out = run_with_stdin(
        &["run", "--json", "--db", &path],
        format!("C02XG1AB0077\n{}\n", imei("35417800000077")).as_bytes(),
    );
    assert!(
        !stdout(&out).contains("cross_desk_conflict"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn central_commands_on_a_bad_server_say_what_is_wrong() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.create_db("empty");
    // No station has pushed: no central schema yet.
    let (code, _, err) = central(&["report", "--url", &cluster.url("empty")]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("central schema 0") && err.contains("sync --to"),
        "{err}"
    );
    // A wrong password: named, never echoed.
    let wrong = cluster
        .url("empty")
        .replace(crate::pg::PASSWORD, "nope-not-it");
    let (code, _, err) = central(&["conflicts", "--url", &wrong]);
    assert_eq!(code, Some(1));
    assert!(err.contains("refused the password"), "{err}");
    assert!(!err.contains("nope-not-it"), "{err}");
    // No URL at all.
    let config = tempfile::NamedTempFile::new().expect("config");
    let (code, _, err) = central(&[
        "find",
        "--config",
        &config.path().display().to_string(),
        "X",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no central server"), "{err}");
}
