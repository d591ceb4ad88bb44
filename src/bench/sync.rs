//! `scanstation bench sync`: the push to a central PostgreSQL.
//!
//! Two parts, on one store of N scans (units of a serial and two IMEIs, written like
//! `bench http`'s store) and a PostgreSQL of its own (a throwaway cluster, `tests/pg.rs`) or the
//! server `--url` names (the benchmark creates two databases there and drops them after):
//!
//! 1. throughput: the whole ledger pushed by `sync::Pusher`, as `sync --to` does, in rows/s;
//! 2. the acknowledgement latency at the desk: the real binary (`run --json`) on the same store,
//!    one scan in flight at a time, in blocks that alternate between a station without sync and
//!    one whose `[sync] url` points at a second, empty database, so its background push has the
//!    whole backlog to send while the scans are acknowledged (ABBA order, like `bench http`, so
//!    a noisy neighbour hits both alike). The rows the server received during the sync blocks
//!    are counted, to show the push really ran.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;

use crate::store::Store;
use crate::sync::{Pusher, Target};

use super::http::Spread;
use super::unit_scans;

use crate::sync::pg;

/// Latency blocks per phase.
const ACK_BLOCKS: usize = 10;

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Scans in the store's backlog (units of a serial and two IMEIs, so a third as many units).
    #[arg(long, default_value_t = 1_000_000)]
    scans: usize,
    /// Scans acknowledged in each latency phase (with and without sync), one at a time. Each
    /// phase's blocks must last several seconds, or the background push, which gives way to
    /// a busy desk for up to 2 s, is measured only while it waits.
    #[arg(long, default_value_t = 20_000)]
    ack_scans: usize,
    /// A pause after each acknowledgement, as an operator takes between labels (0: scans
    /// back to back, the hardest case for the push, which then only sends small batches).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    think_ms: u64,
    /// A PostgreSQL server to use instead of a throwaway cluster; its user must be allowed to
    /// create databases.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// The store, kept afterwards and reused when it holds enough units (default: a fresh file
    /// in the temp directory, removed afterwards).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Ledger rows per PostgreSQL transaction.
    #[arg(long, default_value_t = crate::sync::BATCH_ROWS)]
    batch_rows: usize,
    /// Print one JSON document instead of the summary lines.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    scans: usize,
    store_build_s: f64,
    ledger_rows: i64,
    push: PushFigures,
    ack: AckFigures,
}

#[derive(Debug, Serialize)]
struct PushFigures {
    rows: i64,
    seconds: f64,
    rows_per_s: f64,
    batch_rows: usize,
}

#[derive(Debug, Serialize)]
struct AckFigures {
    blocks_per_phase: usize,
    /// The pause after each acknowledgement.
    think_ms: u64,
    no_sync: Spread,
    sync_running: Spread,
    p99_sync_minus_no_sync_ms: f64,
    /// Ledger rows the server received while the sync blocks ran.
    rows_pushed_during_sync_blocks: i64,
    /// Whether the backlog was still being pushed when the last sync block ended.
    backlog_left_at_end: bool,
}

pub(crate) fn run(args: &SyncArgs) -> Result<()> {
    let (db, temporary) = match &args.db {
        Some(db) => (db.clone(), false),
        None => (
            std::env::temp_dir().join(format!("scanstation-bench-sync-{}.db", std::process::id())),
            true,
        ),
    };
    let result = run_on(args, &db);
    if temporary {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "bench sync: store of {} scans ({} ledger rows) built in {:.1} s",
            report.scans, report.ledger_rows, report.store_build_s
        );
        println!(
            "bench sync: push of {} ledger rows in {:.1} s: {:.0} rows/s ({} rows per transaction)",
            report.push.rows, report.push.seconds, report.push.rows_per_s, report.push.batch_rows
        );
        let a = &report.ack;
        println!(
            "bench sync: ack latency, {} scans per phase in {} alternating blocks, {} ms between scans: no sync p50 {:.2} ms p99 {:.2} ms max {:.2} ms; sync pushing p50 {:.2} ms p99 {:.2} ms max {:.2} ms; p99 difference {:+.2} ms ({} rows pushed during the sync blocks, backlog left at the end: {})",
            a.no_sync.count,
            a.blocks_per_phase,
            a.think_ms,
            a.no_sync.p50_ms,
            a.no_sync.p99_ms,
            a.no_sync.max_ms,
            a.sync_running.p50_ms,
            a.sync_running.p99_ms,
            a.sync_running.max_ms,
            a.p99_sync_minus_no_sync_ms,
            a.rows_pushed_during_sync_blocks,
            a.backlog_left_at_end
        );
    }
    Ok(())
}

/// The server: a throwaway cluster (kept alive by the returned value) or `--url`.
fn server(args: &SyncArgs) -> Result<(Option<pg::Cluster>, String)> {
    match &args.url {
        Some(url) => Ok((None, url.clone())),
        None => {
            let cluster = pg::Cluster::create()
                .map_err(|e| anyhow!("cannot start a PostgreSQL cluster: {e}"))?
                .ok_or_else(|| {
                    anyhow!(
                        "PostgreSQL's initdb and pg_ctl not found (apt-get install postgresql, or set SCANSTATION_PG_BIN); or pass --url"
                    )
                })?;
            let url = cluster.url("postgres");
            Ok((Some(cluster), url))
        }
    }
}

/// `url` with its database replaced by `db` (the query string kept).
fn with_database(url: &str, db: &str) -> Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| anyhow!("not a postgres:// URL"))?;
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

/// The server's head for `station`, 0 before its first row.
fn head(client: &mut postgres::Client, station: &str) -> i64 {
    client
        .query_opt("SELECT head_seq FROM stations WHERE name = $1", &[&station])
        .ok()
        .flatten()
        .map_or(0, |r| r.get(0))
}

fn run_on(args: &SyncArgs, db: &Path) -> Result<Report> {
    let units = args.scans.div_ceil(3).max(1);
    let built = super::http::build_store(db, units)?;
    let (_cluster, admin_url) = server(args)?;
    let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)
        .context("connecting to PostgreSQL to create the benchmark's databases")?;
    let names = [
        format!("scanstation_bench_{}_push", std::process::id()),
        format!("scanstation_bench_{}_ack", std::process::id()),
    ];
    for name in &names {
        // Two statements, since DROP and CREATE DATABASE cannot share a transaction.
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))?;
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
    }
    let result = measure(args, db, &admin_url, &names, built.seconds);
    for name in &names {
        if let Err(err) =
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        {
            eprintln!("bench sync: cannot drop database {name}: {err}");
        }
    }
    result
}

fn measure(
    args: &SyncArgs,
    db: &Path,
    admin_url: &str,
    names: &[String; 2],
    build_s: f64,
) -> Result<Report> {
    let units = args.scans.div_ceil(3).max(1);
    let mut store = Store::open(db)?;
    let (ledger_rows, _) = store.ledger_head()?;
    let uid = store.station_uid()?;

    // 1. Throughput: everything, as `sync --to` pushes it.
    let push_url = with_database(admin_url, &names[0])?;
    let mut pusher = Pusher::new(
        Target::parse(&push_url)?,
        "bench-push",
        &uid,
        args.batch_rows,
    );
    eprintln!("bench sync: pushing {ledger_rows} ledger rows");
    let report = pusher.push(&mut store, &|| false)?;
    let push = PushFigures {
        rows: report.rows,
        seconds: report.elapsed.as_secs_f64(),
        rows_per_s: report.rows as f64 / report.elapsed.as_secs_f64().max(1e-9),
        batch_rows: args.batch_rows,
    };
    drop(pusher);
    drop(store);

    // 2. Acknowledgement latency with and without a background push running.
    let ack_url = with_database(admin_url, &names[1])?;
    let dir = std::env::temp_dir().join(format!("scanstation-bench-sync-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let plain = dir.join("plain.toml");
    let syncing = dir.join("sync.toml");
    std::fs::write(&plain, "[station]\nname = \"bench-ack\"\n")?;
    // toml::Value writes the URL as a TOML string, escaped as TOML needs.
    std::fs::write(
        &syncing,
        format!(
            "[station]\nname = \"bench-ack\"\n[sync]\nurl = {}\nbatch_rows = {}\n",
            toml::Value::String(ack_url.clone()),
            args.batch_rows
        ),
    )?;
    let mut watch = postgres::Client::connect(&ack_url, postgres::NoTls)
        .context("connecting to the latency phase's database")?;
    let block = (args.ack_scans / ACK_BLOCKS / 3).max(1) * 3;
    let (mut without, mut with) = (Vec::new(), Vec::new());
    let mut pushed_during = 0;
    let mut sent = 0;
    let mut left_at_end = false;
    for round in 0..ACK_BLOCKS {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for sync_on in order {
            let scans = unit_scans(block, sent);
            sent += block;
            if sync_on {
                let before = head(&mut watch, "bench-ack");
                with.extend(station(&syncing, db, &scans, args.think_ms)?);
                let after = head(&mut watch, "bench-ack");
                pushed_during += after - before;
                let local = Store::open_read_only(db)?
                    .map(|s| s.ledger_head().map(|h| h.0))
                    .transpose()?
                    .unwrap_or(0);
                left_at_end = after < local;
            } else {
                without.extend(station(&plain, db, &scans, args.think_ms)?);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (no_sync, sync_running) = (Spread::of(without), Spread::of(with));
    Ok(Report {
        scans: units * 3,
        store_build_s: build_s,
        ledger_rows,
        push,
        ack: AckFigures {
            blocks_per_phase: ACK_BLOCKS,
            think_ms: args.think_ms,
            p99_sync_minus_no_sync_ms: sync_running.p99_ms - no_sync.p99_ms,
            no_sync,
            sync_running,
            rows_pushed_during_sync_blocks: pushed_during,
            backlog_left_at_end: left_at_end,
        },
    })
}

/// Runs the station with `config` on `db`, sends `scans` one at a time and returns each one's
/// latency from the write to its acknowledgement line, in milliseconds.
fn station(config: &Path, db: &Path, scans: &[String], think_ms: u64) -> Result<Vec<f64>> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["run", "--json", "--config"])
        .arg(config)
        .arg("--db")
        .arg(db)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the station")?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| anyhow!("the station has no stdin"))?;
    let mut stdout = BufReader::new(
        child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("the station has no stdout"))?,
    );
    let mut line = String::new();
    let mut ack = |stdout: &mut BufReader<ChildStdout>| -> Result<()> {
        loop {
            line.clear();
            if stdout.read_line(&mut line)? == 0 {
                bail!("the station closed its output early");
            }
            if line.contains("\"event\":\"scan\"") {
                return Ok(());
            }
        }
    };
    let mut ms = Vec::with_capacity(scans.len());
    for scan in scans {
        let start = Instant::now();
        stdin.write_all(scan.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()?;
        ack(&mut stdout)?;
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
        if think_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(think_ms));
        }
    }
    drop(stdin);
    let status = child.wait()?;
    if !status.success() {
        bail!("the station exited with {status}");
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres", "b").expect("url"),
            "postgres://u:p@h:5432/b"
        );
        assert_eq!(
            with_database("postgres://u@h?sslmode=disable", "b").expect("url"),
            "postgres://u@h/b?sslmode=disable"
        );
    }
}
