//! `scanstation sync` against a real PostgreSQL (a throwaway cluster per test, `tests/pg.rs`):
//! stores written by the real station from stdin, pushed by the real binary, and the central
//! tables read back with psql and the postgres client.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::Value;

use crate::pg::Cluster;
use crate::util::{bin, run_with_stdin, stderr, stdout};

/// A valid IMEI from a 14-digit body (Luhn check digit appended); `tests/central.rs` uses it
/// too.
pub(crate) fn imei(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// Runs the station on `db` with `input` on stdin (and `config`, if any); it must succeed.
fn station(db: &Path, input: &str, config: Option<&Path>) -> Output {
    let db = db.display().to_string();
    let mut args = vec!["run", "--json", "--db", &db];
    let config = config.map(|c| c.display().to_string());
    if let Some(config) = &config {
        args.extend(["--config", config.as_str()]);
    }
    let out = run_with_stdin(&args, input.as_bytes());
    assert!(out.status.success(), "run failed: {}", stderr(&out));
    out
}

/// `scanstation sync --db DB --to URL --name NAME`.
fn sync(db: &Path, url: &str, name: &str) -> Output {
    bin()
        .args(["sync", "--db"])
        .arg(db)
        .args(["--to", url, "--name", name])
        .output()
        .expect("run sync")
}

fn sync_ok(db: &Path, url: &str, name: &str) -> String {
    let out = sync(db, url, name);
    assert!(
        out.status.success(),
        "sync failed: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

fn sync_err(db: &Path, url: &str, name: &str) -> String {
    let out = sync(db, url, name);
    assert_eq!(
        out.status.code(),
        Some(1),
        "sync should fail: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stderr(&out)
}

fn status_json(db: &Path) -> Value {
    let out = bin()
        .args(["sync", "status", "--json", "--db"])
        .arg(db)
        .output()
        .expect("sync status");
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("status JSON")
}

fn local_count(db: &Path, sql: &str) -> i64 {
    Connection::open(db)
        .expect("open store")
        .query_row(sql, [], |r| r.get(0))
        .expect("count")
}

fn central_count(cluster: &Cluster, db: &str, sql: &str) -> i64 {
    cluster.psql(db, sql).parse().expect("a count")
}

/// `n` units of a serial and an IMEI each, numbered from `from`.
fn units(from: u32, n: u32) -> String {
    (from..from + n)
        .map(|i| format!("C02XG1AB{i:04}\n{}\n", imei(&format!("3541780{i:07}"))))
        .collect()
}

#[test]
fn two_stations_push_interleaved_units_and_the_central_view_holds_each_once() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.create_db("central");
    let url = cluster.url("central");
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.db"), dir.path().join("b.db"));
    // The two desks take turns, and each pushes between its own turns, so the central copy
    // receives the stations' rows interleaved.
    station(&a, &units(1, 3), None);
    station(&b, &units(100, 2), None);
    assert!(sync_ok(&a, &url, "desk1").contains("pushed "));
    station(&a, &units(4, 2), None);
    sync_ok(&b, &url, "desk2");
    // Desk 2 sees an IMEI that desk 1 recorded on another unit, with another serial.
    let shared = imei("35417800000001");
    station(&b, &format!("R58M315CL4T\n{shared}\n"), None);
    sync_ok(&a, &url, "desk1");
    sync_ok(&b, &url, "desk2");
    // Pushing again sends nothing and changes nothing.
    let again = sync_ok(&a, &url, "desk1");
    assert!(again.contains("already holds every row"), "{again}");

    for (db, name) in [(&a, "desk1"), (&b, "desk2")] {
        for (local, central) in [
            ("SELECT count(*) FROM ledger", "ledger"),
            ("SELECT count(*) FROM scans", "central_scans"),
            ("SELECT count(*) FROM units", "central_units"),
            (
                "SELECT count(*) FROM unit_identifiers",
                "central_identifiers",
            ),
        ] {
            assert_eq!(
                central_count(
                    &cluster,
                    "central",
                    &format!("SELECT count(*) FROM {central} WHERE station = '{name}'")
                ),
                local_count(db, local),
                "{name}: {central}"
            );
        }
        let head = local_count(db, "SELECT max(seq) FROM ledger");
        let status = status_json(db);
        let server = &status["servers"][0];
        assert_eq!(status["ledger_rows"], head);
        assert_eq!(server["pushed_seq"], head, "{status}");
        assert_eq!(server["backlog"], 0);
        assert_eq!(server["last_error"], Value::Null);
        assert_eq!(server["station"], name);
        assert!(
            !status.to_string().contains(crate::pg::PASSWORD),
            "{status}"
        );
    }
    // Every unit exactly once, in its final state.
    assert_eq!(
        central_count(
            &cluster,
            "central",
            "SELECT count(*) FROM (SELECT station, id FROM central_units GROUP BY station, id HAVING count(*) > 1) d"
        ),
        0
    );
    assert_eq!(
        central_count(&cluster, "central", "SELECT count(*) FROM central_units"),
        local_count(&a, "SELECT count(*) FROM units")
            + local_count(&b, "SELECT count(*) FROM units")
    );
    // The cross-desk conflict is visible centrally: one IMEI on units of two stations.
    let key = &shared[..14];
    assert_eq!(
        cluster.psql(
            "central",
            &format!(
                "SELECT string_agg(DISTINCT station, ',' ORDER BY station) FROM central_identifiers WHERE kind = 'imei' AND key = '{key}'"
            )
        ),
        "desk1,desk2"
    );
    // The server's copy of each chain checks out by its own hash function.
    assert_eq!(
        cluster.psql(
            "central",
            "SELECT string_agg(name || ':' || head_seq, ',' ORDER BY name) FROM stations"
        ),
        format!(
            "desk1:{},desk2:{}",
            local_count(&a, "SELECT max(seq) FROM ledger"),
            local_count(&b, "SELECT max(seq) FROM ledger")
        )
    );
}

/// A store with a backlog of `n` rejected scans (each one ledger row), quickly written.
fn backlog_store(dir: &Path, n: usize) -> PathBuf {
    let db = dir.join("big.db");
    let input: String = (0..n).map(|i| format!("junk-{i}\n")).collect();
    station(&db, &input, None);
    db
}

fn central_head(client: &mut postgres::Client) -> i64 {
    client
        .query_opt("SELECT head_seq FROM stations WHERE name = 'big'", &[])
        .ok()
        .flatten()
        .map_or(0, |r| r.get(0))
}

/// Starts `sync` on `db` with small batches and waits until the server holds part of the
/// backlog; returns the child, still pushing.
fn start_push(cluster: &Cluster, db: &Path, config: &Path) -> std::process::Child {
    let mut client = postgres::Client::connect(&cluster.url("central"), postgres::NoTls)
        .expect("watch connection");
    let before = central_head(&mut client);
    let child = bin()
        .args(["sync", "--name", "big", "--config"])
        .arg(config)
        .arg("--db")
        .arg(db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sync");
    let deadline = Instant::now() + Duration::from_secs(60);
    while central_head(&mut client) <= before {
        assert!(Instant::now() < deadline, "the push never started");
        std::thread::sleep(Duration::from_millis(2));
    }
    child
}

#[test]
fn a_push_cut_by_a_killed_station_or_server_resumes_without_loss_or_duplicate() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.create_db("central");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = backlog_store(dir.path(), 6000);
    let total = local_count(&db, "SELECT max(seq) FROM ledger");
    let config = dir.path().join("sync.toml");
    std::fs::write(
        &config,
        format!(
            "[sync]\nurl = \"{}\"\nbatch_rows = 20\n",
            cluster.url("central")
        ),
    )
    .expect("config");

    // The station is killed in the middle of a push.
    let mut child = start_push(&cluster, &db, &config);
    child.kill().expect("kill sync");
    let _ = child.wait();
    let head = central_count(&cluster, "central", "SELECT head_seq FROM stations");
    assert!(head > 0 && head < total, "killed at {head} of {total}");

    // PostgreSQL stops (a crash: every backend killed) in the middle of the next push.
    let child = start_push(&cluster, &db, &config);
    cluster.stop_immediate();
    let out = child.wait_with_output().expect("sync output");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("PostgreSQL at {}", cluster.server("central")))
            || err.contains(&format!(
                "cannot reach PostgreSQL at {}",
                cluster.server("central")
            )),
        "{err}"
    );
    assert!(!err.contains(crate::pg::PASSWORD), "{err}");

    // While it is down, a push says so and `sync status` shows it.
    let down = sync_err(&db, &cluster.url("central"), "big");
    assert!(
        down.contains(&format!(
            "cannot reach PostgreSQL at {} (connection refused)",
            cluster.server("central")
        )),
        "{down}"
    );
    let status = status_json(&db);
    assert!(
        status["servers"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot reach PostgreSQL")),
        "{status}"
    );
    assert!(status["servers"][0]["backlog"].as_i64() > Some(0));

    // It comes back: the rest goes out, nothing twice.
    cluster.start_server();
    let out = bin()
        .args(["sync", "--name", "big", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(&db)
        .output()
        .expect("sync");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        cluster.psql(
            "central",
            "SELECT count(*) || ' ' || count(DISTINCT seq) || ' ' || min(seq) || ' ' || max(seq) FROM ledger"
        ),
        format!("{total} {total} 1 {total}")
    );
    assert_eq!(
        central_count(&cluster, "central", "SELECT count(*) FROM central_scans"),
        local_count(&db, "SELECT count(*) FROM scans")
    );
    let status = status_json(&db);
    assert_eq!(status["servers"][0]["backlog"], 0, "{status}");
    assert_eq!(status["servers"][0]["last_error"], Value::Null);
}

#[test]
fn sync_refuses_bad_servers_names_and_rows_with_clear_errors() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.create_db("central");
    let url = cluster.url("central");
    let server = cluster.server("central");
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.db");
    station(&a, &units(1, 2), None);

    // A wrong password: named, and the password is not.
    let wrong = url.replace(crate::pg::PASSWORD, "not-the-password");
    let err = sync_err(&a, &wrong, "desk1");
    assert!(
        err.contains(&format!(
            "PostgreSQL at {server} refused the password for user postgres"
        )),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");

    sync_ok(&a, &url, "desk1");

    // Another store under a name that is taken.
    let b = dir.path().join("b.db");
    station(&b, &units(50, 1), None);
    let err = sync_err(&b, &url, "desk1");
    assert!(
        err.contains("station name 'desk1' is already used by another store (uid ")
            && err.contains("give this station its own [station] name"),
        "{err}"
    );
    // The same store under a second name.
    let err = sync_err(&a, &url, "desk9");
    assert!(
        err.contains("this store already pushes as station 'desk1'"),
        "{err}"
    );

    // A local row edited by hand after it was chained: the rows before it go, it does not.
    station(&a, &units(10, 3), None);
    let pushed = central_count(
        &cluster,
        "central",
        "SELECT head_seq FROM stations WHERE name = 'desk1'",
    );
    let bad_scan = local_count(&a, "SELECT max(id) FROM scans") - 1;
    let bad_seq = local_count(
        &a,
        &format!("SELECT seq FROM ledger WHERE kind = 'scan' AND ref_id = {bad_scan}"),
    );
    Connection::open(&a)
        .expect("open")
        .execute_batch(&format!(
            "DROP TRIGGER scans_no_update; UPDATE scans SET value = 'C02XG1ABEDIT' WHERE id = {bad_scan};"
        ))
        .expect("edit");
    let err = sync_err(&a, &url, "desk1");
    assert!(
        err.contains(&format!(
            "row {bad_seq} of this store's ledger does not match its hash"
        )),
        "{err}"
    );
    let head = central_count(
        &cluster,
        "central",
        "SELECT head_seq FROM stations WHERE name = 'desk1'",
    );
    assert_eq!(head, bad_seq - 1, "pushed before: {pushed}");
    let status = status_json(&a);
    assert!(
        status["servers"][0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("does not match its hash")),
        "{status}"
    );

    // The server checks on its own: a gap and a broken hash are refused whatever the client.
    let gap = cluster.try_psql(
        "central",
        &format!(
            "INSERT INTO ledger (station, seq, kind, ref_id, event, body, hash) VALUES ('desk1', {}, 'scan', 1, 'scan', '{{}}', '\\x00')",
            head + 2
        ),
    );
    let gap_err = String::from_utf8_lossy(&gap.stderr);
    assert!(
        gap_err.contains(&format!(
            "gap: station desk1 sent row {} but the central chain ends at {head}",
            head + 2
        )),
        "{gap_err}"
    );
    let broken = cluster.try_psql(
        "central",
        &format!(
            "INSERT INTO ledger (station, seq, kind, ref_id, event, body, hash) VALUES ('desk1', {}, 'scan', 1, 'scan', '{{}}', '\\x00')",
            head + 1
        ),
    );
    let broken_err = String::from_utf8_lossy(&broken.stderr);
    assert!(
        broken_err.contains(&format!("broken hash at station desk1 row {}", head + 1)),
        "{broken_err}"
    );
    let edit = cluster.try_psql("central", "UPDATE ledger SET body = 'x' WHERE seq = 1");
    assert!(
        String::from_utf8_lossy(&edit.stderr).contains("the central ledger is append-only"),
        "{edit:?}"
    );

    // A server whose central schema is newer than this binary knows.
    cluster.create_db("newer");
    sync_ok(&b, &cluster.url("newer"), "desk2");
    cluster.psql("newer", "UPDATE central_schema SET version = 99");
    let err = sync_err(&b, &cluster.url("newer"), "desk2");
    assert!(
        err.contains(&format!(
            "PostgreSQL at {}: central schema 99 is newer than this scanstation's ",
            cluster.server("newer")
        )),
        "{err}"
    );

    // A database that belongs to something else.
    cluster.create_db("other");
    cluster.psql("other", "CREATE TABLE ledger (id int)");
    let err = sync_err(&b, &cluster.url("other"), "desk2");
    assert!(
        err.contains(&format!(
            "PostgreSQL at {} is not a scanstation central database: it has a table ledger but no central_schema version",
            cluster.server("other")
        )),
        "{err}"
    );
    // No such database.
    let err = sync_err(&b, &cluster.url("nothere"), "desk2");
    assert!(err.contains("has no such database"), "{err}");
}

#[test]
fn run_pushes_in_the_background_and_keeps_working_while_the_server_is_away() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    cluster.create_db("central");
    let dir = tempfile::tempdir().expect("tempdir");

    // A live server: what the station committed is on the server when it exits.
    let live = dir.path().join("live.toml");
    std::fs::write(
        &live,
        format!(
            "[station]\nname = \"desk-live\"\n[sync]\nurl = \"{}\"\n",
            cluster.url("central")
        ),
    )
    .expect("config");
    let db = dir.path().join("live.db");
    station(&db, &units(1, 20), Some(&live));
    let head = local_count(&db, "SELECT max(seq) FROM ledger");
    assert_eq!(
        central_count(
            &cluster,
            "central",
            "SELECT count(*) FROM ledger WHERE station = 'desk-live'"
        ),
        head
    );

    // A server that is not there: every scan is still acknowledged, the failure is logged
    // once and shown by `sync status`.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let dead = dir.path().join("dead.toml");
    std::fs::write(
        &dead,
        format!(
            "[station]\nname = \"desk-dead\"\n[sync]\nurl = \"postgres://scan:hunter2@127.0.0.1:{port}/central\"\n"
        ),
    )
    .expect("config");
    let db = dir.path().join("dead.db");
    let out = station(&db, &units(1, 5), Some(&dead));
    let acks = stdout(&out)
        .lines()
        .filter(|l| l.contains("\"event\":\"scan\""))
        .count();
    assert_eq!(acks, 10, "{}", stdout(&out));
    let log = stderr(&out);
    assert_eq!(
        log.matches(&format!(
            "cannot reach PostgreSQL at 127.0.0.1:{port}/central"
        ))
        .count(),
        1,
        "{log}"
    );
    assert!(!log.contains("hunter2"), "{log}");
    let status = status_json(&db);
    assert_eq!(
        status["servers"][0]["url"],
        format!("postgres://scan@127.0.0.1:{port}/central")
    );
    assert!(status["servers"][0]["last_error"].is_string(), "{status}");
    assert!(!status.to_string().contains("hunter2"));
    // The same store, once the server is reachable, catches up.
    sync_ok(&db, &cluster.url("central"), "desk-dead");
    let text = bin()
        .args(["sync", "status", "--db"])
        .arg(&db)
        .output()
        .expect("status");
    let text = stdout(&text);
    assert!(text.contains("backlog 0"), "{text}");
}

/// A central server whose certificate a private CA signed: reached with libpq's
/// `sslrootcert=PATH`, refused without it, and a CA file that cannot be used is named.
#[test]
fn a_server_behind_a_private_ca_is_reached_with_sslrootcert() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let Some(ca) = cluster.enable_tls() else {
        return;
    };
    cluster.create_db("central");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("desk.db");
    station(&db, &units(1, 2), None);
    let base = cluster.url("central");

    // Without the CA the server's certificate is not trusted, and the push says so.
    let err = sync_err(&db, &format!("{base}?sslmode=require"), "desk1");
    assert!(
        err.contains(&cluster.server("central")) && err.to_lowercase().contains("certificate"),
        "{err}"
    );
    assert!(!err.contains(crate::pg::PASSWORD), "{err}");

    // With it (percent-encoded, as a URL may carry it), over TLS: `sslmode=require` fails
    // rather than fall back to a plain connection.
    let encoded = ca.display().to_string().replace('/', "%2F");
    let out = sync_ok(
        &db,
        &format!("{base}?sslmode=require&sslrootcert={encoded}"),
        "desk1",
    );
    assert!(out.contains("desk1"), "{out}");
    assert_eq!(
        central_count(&cluster, "central", "SELECT count(*) FROM central_units"),
        2
    );

    // A CA file that is missing or not PEM is named, and nothing is pushed.
    let nope = dir.path().join("nope.pem");
    let err = sync_err(
        &db,
        &format!("{base}?sslrootcert={}", nope.display()),
        "desk1",
    );
    assert!(
        err.contains("the sslrootcert file") && err.contains("nope.pem"),
        "{err}"
    );
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").expect("write");
    let err = sync_err(
        &db,
        &format!("{base}?sslrootcert={}", junk.display()),
        "desk1",
    );
    assert!(err.contains("holds no PEM certificate"), "{err}");
}
