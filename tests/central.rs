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

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write list");
    path.display().to_string()
}

fn local_text(db: &Path, sql: &str) -> Option<String> {
    Connection::open(db)
        .expect("open")
        .query_row(sql, [], |r| r.get(0))
        .ok()
}

/// A recall list published once at the centre reaches both desks with its versions (a delta
/// replayed as a delta), decides at the desk, counts found units at every desk, and goes away
/// when it is removed; a bad file, a kind change and a desk's own list of the name are refused
/// with clear messages.
#[test]
fn lists_published_centrally_reach_every_desk_and_recall_progress_counts_all_desks() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.create_db("central");
    let url = cluster.url("central");
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let (r1, r2, r3) = (
        imei("35417800000101"),
        imei("35417800000102"),
        imei("35417800000103"),
    );

    // A bad line is named with its file and line, and nothing is published.
    let bad = write(
        dir.path(),
        "bad.csv",
        "match,value,value_to,reason\nimei,123,,short\n",
    );
    let (code, _, err) = central(&[
        "list", "import", "--url", &url, "--kind", "recall", "--name", "sweep", &bad,
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("bad.csv:2"), "{err}");

    let full = write(
        dir.path(),
        "recall.csv",
        &format!(
            "match,value,value_to,reason\nimei,{r1},,battery\nimei,{r2},,battery\nserial,RCLSERIAL03,,battery\n"
        ),
    );
    let (code, text, err) = central(&[
        "list", "import", "--url", &url, "--kind", "recall", "--name", "sweep", &full,
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        text.contains("is now version 1") && text.contains("3 active"),
        "{text}"
    );

    // Each desk records a unit of the list, and takes the list with its push.
    station_then_sync(&a, &format!("S0001\n{r1}\n"), &url, "desk1");
    station_then_sync(&b, &format!("S0002\n{r2}\n"), &url, "desk2");
    for db in [&a, &b] {
        assert_eq!(
            local(
                db,
                "SELECT version FROM lists WHERE name = 'sweep' AND kind = 'recall'"
            ),
            1
        );
        assert_eq!(
            local(db, "SELECT active FROM lists WHERE name = 'sweep'"),
            3
        );
        assert_eq!(
            local(db, "SELECT recall_found FROM lists WHERE name = 'sweep'"),
            1
        );
    }
    let (_, report) = json(&["report", "--url", &url, "--json"]);
    let recall = &report["report"]["recall"][0];
    assert_eq!(
        (&recall["list"], &recall["found"], &recall["total"]),
        (&Value::from("sweep"), &Value::from(2), &Value::from(3)),
        "{report}"
    );
    assert_eq!(
        recall["by_station"],
        serde_json::json!([["desk1", 1], ["desk2", 1]])
    );

    // A delta: r3 added, the serial removed. desk1 replays it as a delta.
    let delta = write(
        dir.path(),
        "delta.csv",
        &format!(
            "match,value,value_to,reason,op\nimei,{r3},,swollen,add\nserial,RCLSERIAL03,,,remove\n"
        ),
    );
    let (code, text, err) = central(&[
        "list", "import", "--url", &url, "--kind", "recall", "--name", "sweep", &delta,
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        text.contains("version 2") && text.contains("1 added, 1 removed, 3 active"),
        "{text}"
    );
    station_then_sync(&a, "", &url, "desk1");
    assert_eq!(
        local(&a, "SELECT version FROM lists WHERE name = 'sweep'"),
        2
    );
    assert_eq!(
        local_text(&a, "SELECT mode FROM list_imports ORDER BY id DESC LIMIT 1").as_deref(),
        Some("delta")
    );
    assert_eq!(
        local(
            &a,
            "SELECT central_version FROM central_lists_pulled WHERE name = 'sweep'"
        ),
        2
    );
    // The desk decides with it, offline from the centre: the new IMEI is a recall hit.
    let path = a.display().to_string();
    let out = run_with_stdin(
        &["run", "--json", "--mode", "recall", "--db", &path],
        format!("S0003\n{r3}\n").as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let unit: Value = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .rfind(|e| e["event"] == "unit")
        .expect("a unit event");
    assert_eq!(unit["decision"], "recall-hit", "{unit}");
    station_then_sync(&a, "", &url, "desk1");
    let (_, report) = json(&["report", "--url", &url, "--json"]);
    assert_eq!(report["report"]["recall"][0]["found"], 3, "{report}");
    let (_, text, _) = central(&["report", "--url", &url]);
    assert!(
        text.contains("recall sweep (version 2): 3 of 3 found at all desks (desk1 2, desk2 1)"),
        "{text}"
    );
    // desk2 has not pushed since: the centre sees it one version behind.
    let (_, lists) = json(&["list", "ls", "--url", &url, "--json"]);
    let stations = &lists["lists"][0]["stations"];
    assert_eq!(stations[0]["station"], "desk1");
    assert_eq!(stations[0]["version"], 2);
    assert_eq!(stations[1]["version"], 1, "{lists}");
    let (_, text, _) = central(&["list", "ls", "--url", &url]);
    assert!(
        text.contains("desk2") && text.contains("(behind)"),
        "{text}"
    );

    // A central list cannot change kind.
    let (code, _, err) = central(&[
        "list",
        "import",
        "--url",
        &url,
        "--kind",
        "blocklist",
        "--name",
        "sweep",
        &full,
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("'sweep' is a recall list"), "{err}");

    // A desk's own list of the same name and another kind is left alone, and says why.
    let block = write(
        dir.path(),
        "block.csv",
        &format!("match,value,value_to,reason\nimei,{r1},,stolen\n"),
    );
    let b_path = b.display().to_string();
    let out = bin()
        .args([
            "list",
            "import",
            "--db",
            &b_path,
            "--kind",
            "blocklist",
            "--name",
            "stock",
            &block,
        ])
        .output()
        .expect("list import");
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, _, err) = central(&[
        "list", "import", "--url", &url, "--kind", "recall", "--name", "stock", &full,
    ]);
    assert_eq!(code, Some(0), "{err}");
    station_then_sync(&b, "", &url, "desk2");
    assert_eq!(
        local_text(&b, "SELECT kind FROM lists WHERE name = 'stock'").as_deref(),
        Some("blocklist")
    );
    let out = bin()
        .args(["sync", "status", "--db", &b_path])
        .output()
        .expect("status");
    let text = stdout(&out);
    assert!(
        text.contains("central list stock: none yet; newer version not taken: a local list stock exists with kind blocklist"),
        "{text}"
    );
    assert_eq!(
        local(&b, "SELECT version FROM lists WHERE name = 'sweep'"),
        2
    );

    // Removed at the centre, removed at the desk; the desk's own list stays.
    let (code, text, err) = central(&["list", "rm", "--url", &url, "sweep"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(text.contains("removed as version 3"), "{text}");
    station_then_sync(&b, "", &url, "desk2");
    assert_eq!(
        local(&b, "SELECT count(*) FROM lists WHERE name = 'sweep'"),
        0
    );
    assert_eq!(
        local(&b, "SELECT count(*) FROM lists WHERE name = 'stock'"),
        1
    );
    let (code, _, err) = central(&["list", "rm", "--url", &url, "sweep"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no central list named"), "{err}");
    let (_, report) = json(&["report", "--url", &url, "--json"]);
    assert_eq!(
        report["report"]["recall"].as_array().map(Vec::len),
        Some(1),
        "only stock: {report}"
    );
}
