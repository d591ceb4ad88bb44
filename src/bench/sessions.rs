//! `scanstation bench sessions`: generated camera sessions played through the real station,
//! scored per appearance as a desk would score them (see [`crate::synth::session`]).
//!
//! The station runs as a child process (`run --json --source replay:DIR@FPS,paced`), so the figures
//! hold for whatever binary this is, the current label tracker or a future one. Its stdout is
//! read on a thread that stamps each line with the wall clock on receipt; the last `unit` event
//! of each unit id is its final state, and the first one gives the latency.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::clock;
use crate::synth::Rng;
use crate::synth::session::{
    self, RecordedUnit, SessionKind, SessionScore, SessionTruth, TRUTH_NAME,
};

/// The options of `bench sessions`.
#[derive(Debug, Clone)]
pub(crate) struct SessionsArgs {
    pub out: PathBuf,
    pub count: usize,
    pub seed: u64,
    pub fps: f64,
    pub json: bool,
    pub reuse: bool,
    pub budget_ms: Option<u64>,
    /// The station's `[decode] frame_ms` and `focus` (default: the station's own).
    pub frame_ms: Option<u64>,
    pub focus: Option<bool>,
    pub generate_only: bool,
}

/// One session's run of the station.
struct SessionRun {
    name: String,
    truth: SessionTruth,
    score: SessionScore,
    /// Receipt minus `closed_at` of each unit's first event, in ms.
    latencies: Vec<f64>,
    run_secs: f64,
    exit: String,
}

/// The seed of session `index` of a set seeded with `seed`.
fn session_seed(seed: u64, index: usize) -> u64 {
    Rng::derive(seed, index as u64).next_u64()
}

fn session_dir(out: &Path, index: usize, kind: SessionKind) -> PathBuf {
    out.join(format!("session-{index:03}-{}", kind.as_str()))
}

/// Generates session `index`, or keeps the one on disk when `reuse` is set and it matches.
fn prepare(args: &SessionsArgs, index: usize) -> Result<(PathBuf, SessionTruth, bool)> {
    let kind = SessionKind::for_index(index);
    let seed = session_seed(args.seed, index);
    let dir = session_dir(&args.out, index, kind);
    if args.reuse && dir.join(TRUTH_NAME).exists() {
        let truth = session::read_truth(&dir)?;
        let frames_present =
            (0..truth.frames).all(|i| dir.join(format!("frame-{i:05}.png")).exists());
        if truth.kind == kind && truth.seed == seed && truth.fps == args.fps && frames_present {
            return Ok((dir, truth, true));
        }
    }
    let truth = session::generate_session(&dir, kind, seed, args.fps)
        .with_context(|| format!("generating {}", dir.display()))?;
    Ok((dir, truth, false))
}

fn str_field(e: &Value, key: &str) -> Option<String> {
    e.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn str_list(e: &Value, key: &str) -> Vec<String> {
    e.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A unit event as a [`RecordedUnit`], with times relative to `origin_ms` (frame 0).
fn recorded_unit(e: &Value, origin_ms: i64) -> Option<RecordedUnit> {
    let id = e.get("id").and_then(Value::as_i64)?;
    let mut values: Vec<String> = ["serial", "eid", "gtin", "iccid", "part", "meid", "esn"]
        .iter()
        .filter_map(|k| str_field(e, k))
        .collect();
    values.extend(str_list(e, "imeis"));
    let opened = str_field(e, "opened_at").and_then(|t| clock::parse_rfc3339(&t).ok());
    let closed = str_field(e, "closed_at").and_then(|t| clock::parse_rfc3339(&t).ok());
    Some(RecordedUnit {
        id,
        values,
        // Both fields are optional: stations that do not report them yet read as empty/false.
        invalid_imeis: str_list(e, "invalid_imeis"),
        opened_ms: opened.map_or(0, |t| t - origin_ms),
        closed_ms: closed.map(|t| t - origin_ms),
        amended: e.get("amended").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// Runs the station on one session folder and scores what it reports.
fn run_station(
    exe: &Path,
    args: &SessionsArgs,
    dir: &Path,
    truth: SessionTruth,
    config: &Path,
) -> Result<SessionRun> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let run_dir = args.out.join("run");
    std::fs::create_dir_all(&run_dir)?;
    let db = run_dir.join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
    let stderr = std::fs::File::create(run_dir.join(format!("{name}.stderr")))?;
    // The replay source stamps frame i at its own start plus i/fps. It starts a few ms after the
    // spawn; that offset is far below the forget_ms slack the scorer allows.
    let origin_ms = clock::now_ms();
    let start = Instant::now();
    let mut child = Command::new(exe)
        .args(["run", "--json", "--db"])
        .arg(&db)
        .arg("--config")
        .arg(config)
        .arg("--source")
        // Paced, so that latency and frames/s are measured as a camera would deliver the frames.
        .arg(format!("replay:{}@{},paced", dir.display(), args.fps))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .spawn()
        .context("starting the station")?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout from the station"))?;
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(l) => lines.push((clock::now_ms(), l)),
                Err(_) => break,
            }
        }
        lines
    });
    let status = child.wait()?;
    let run_secs = start.elapsed().as_secs_f64();
    let lines = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the stdout reader panicked"))?;
    let mut events = std::fs::File::create(run_dir.join(format!("{name}.events.jsonl")))?;
    let mut finals: BTreeMap<i64, RecordedUnit> = BTreeMap::new();
    let mut latencies = Vec::new();
    for (received_ms, line) in &lines {
        writeln!(events, "{line}")?;
        let Ok(e) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if e.get("event").and_then(Value::as_str) != Some("unit") {
            continue;
        }
        let Some(unit) = recorded_unit(&e, origin_ms) else {
            continue;
        };
        if !finals.contains_key(&unit.id)
            && let Some(closed) =
                str_field(&e, "closed_at").and_then(|t| clock::parse_rfc3339(&t).ok())
        {
            latencies.push((received_ms - closed) as f64);
        }
        // A later event for the same id replaces the earlier state: the last one is final.
        finals.insert(unit.id, unit);
    }
    let units: Vec<RecordedUnit> = finals.into_values().collect();
    let score = session::score(&truth, &units);
    Ok(SessionRun {
        name,
        truth,
        score,
        latencies,
        run_secs,
        exit: status.to_string(),
    })
}

fn score_json(s: &SessionScore) -> Value {
    serde_json::to_value(s).unwrap_or(Value::Null)
}

fn row(label: &str, sessions: usize, frames: usize, s: &SessionScore) -> String {
    format!(
        "{label:<14} {sessions:>4} {frames:>6} {:>4} {:>5} {:>5} {:>5} {:>4} {:>5} {:>6} {:>5} {:>5} {:>5}",
        s.expected,
        s.complete,
        s.partial,
        s.missed,
        s.duplicates,
        s.wrong_pairs,
        format!("{}/{}", s.invalid_unflagged, s.invalid_expected),
        s.units,
        s.unattributed,
        s.amended,
    )
}

const HEADER: &str =
    "kind           sess frames  exp  cmpl  part  miss  dup wrong inv-un units unatt amend";

pub(crate) fn run(args: &SessionsArgs) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let gen_start = Instant::now();
    let mut sessions = Vec::with_capacity(args.count);
    let mut reused = 0usize;
    for index in 0..args.count {
        let (dir, truth, kept) = prepare(args, index)?;
        reused += usize::from(kept);
        sessions.push((dir, truth));
    }
    let generate_secs = gen_start.elapsed().as_secs_f64();
    let total_frames: usize = sessions.iter().map(|(_, t)| t.frames).sum();
    if !args.json {
        println!(
            "bench sessions: {} sessions, {total_frames} frames at {} fps ({:.1} s of video) in {}: generated {} in {generate_secs:.1} s, reused {reused}",
            sessions.len(),
            args.fps,
            total_frames as f64 / args.fps,
            args.out.display(),
            sessions.len() - reused,
        );
    }
    if args.generate_only {
        return Ok(());
    }
    let config = args.out.join("station.toml");
    let mut toml =
        String::from("# written by `scanstation bench sessions`; defaults unless set below\n");
    toml.push_str("[decode]\n");
    if let Some(ms) = args.budget_ms {
        toml.push_str(&format!("budget_ms = {ms}\n"));
    }
    if let Some(ms) = args.frame_ms {
        toml.push_str(&format!("frame_ms = {ms}\n"));
    }
    if let Some(focus) = args.focus {
        toml.push_str(&format!("focus = {focus}\n"));
    }
    std::fs::write(&config, toml)?;
    let exe = std::env::current_exe()?;
    let run_start = Instant::now();
    let mut runs = Vec::with_capacity(sessions.len());
    for (dir, truth) in sessions {
        let r = run_station(&exe, args, &dir, truth, &config)?;
        if !args.json {
            let s = &r.score;
            println!(
                "  {:<28} {:>4} frames {:>5.1} s {:>5.1} fps | exp {} cmpl {} part {} miss {} dup {} wrong {} inv-un {}/{} units {} unatt {} | {}",
                r.name,
                r.truth.frames,
                r.run_secs,
                r.truth.frames as f64 / r.run_secs,
                s.expected,
                s.complete,
                s.partial,
                s.missed,
                s.duplicates,
                s.wrong_pairs,
                s.invalid_unflagged,
                s.invalid_expected,
                s.units,
                s.unattributed,
                r.exit,
            );
        }
        runs.push(r);
    }
    let run_secs = run_start.elapsed().as_secs_f64();
    let mut by_kind: BTreeMap<SessionKind, (usize, usize, SessionScore)> = BTreeMap::new();
    let mut total = SessionScore::default();
    let mut latencies = Vec::new();
    for r in &runs {
        let e = by_kind.entry(r.truth.kind).or_default();
        e.0 += 1;
        e.1 += r.truth.frames;
        e.2 += r.score;
        total += r.score;
        latencies.extend(&r.latencies);
    }
    latencies.sort_by(f64::total_cmp);
    let p50 = super::percentile(&latencies, 0.50);
    let p99 = super::percentile(&latencies, 0.99);
    let station_secs: f64 = runs.iter().map(|r| r.run_secs).sum();
    let fps_achieved = total_frames as f64 / station_secs;
    if args.json {
        let doc = json!({
            "sessions": runs.iter().map(|r| json!({
                "name": r.name,
                "kind": r.truth.kind.as_str(),
                "frames": r.truth.frames,
                "run_secs": r.run_secs,
                "exit": r.exit,
                "score": score_json(&r.score),
            })).collect::<Vec<_>>(),
            "by_kind": by_kind.iter().map(|(k, (n, f, s))| json!({
                "kind": k.as_str(), "sessions": n, "frames": f, "score": score_json(s),
            })).collect::<Vec<_>>(),
            "total": score_json(&total),
            "latency_ms": {"units": latencies.len(), "p50": p50, "p99": p99},
            "frames": total_frames,
            "fps_target": args.fps,
            "fps_achieved": fps_achieved,
            "generate_secs": generate_secs,
            "run_secs": run_secs,
            "budget_ms": args.budget_ms,
            "frame_ms": args.frame_ms,
            "focus": args.focus,
        });
        println!("{doc}");
        return Ok(());
    }
    println!();
    println!("{HEADER}");
    for (kind, (n, frames, s)) in &by_kind {
        println!("{}", row(kind.as_str(), *n, *frames, s));
    }
    println!("{}", row("total", runs.len(), total_frames, &total));
    println!();
    println!(
        "latency (first event of a unit, receipt minus closed_at): p50 {p50:.0} ms, p99 {p99:.0} ms over {} units",
        latencies.len()
    );
    println!(
        "frames/s achieved: {fps_achieved:.1} (target {}; the replay never drops a frame and paces to the target)",
        args.fps
    );
    println!(
        "time: generation {generate_secs:.1} s, station runs {run_secs:.1} s; decode budget {}, frame budget {}, focus {}",
        args.budget_ms
            .map_or("default".to_owned(), |ms| format!("{ms} ms")),
        args.frame_ms
            .map_or("default".to_owned(), |ms| format!("{ms} ms")),
        args.focus.map_or("default".to_owned(), |f| f.to_string()),
    );
    Ok(())
}
