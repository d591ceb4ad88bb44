//! Benchmarks that live in the repo: `scanstation bench ...`.
//!
//! They print figures to quote in notes; they assert nothing, because the machine is shared
//! and noisy. Compare ratios measured in one run.

use std::hint::black_box;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::ident::{self, checksum, device, tac::MemoryTacs};

pub(crate) mod http;
pub(crate) mod lists;
pub(crate) mod sessions;
pub(crate) mod stream;
pub(crate) mod sync;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Classify a deterministic mix of identifier strings on one core and report strings per second.
    Ident {
        /// How many strings to classify.
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
    },
    /// Drive the real binary (`run --json`) over stdin: scan-to-acknowledgement latency with one
    /// scan in flight, then sustained throughput with all scans sent at once.
    Latency {
        /// How many scans per phase.
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// The database to use (default: a fresh file in the temp directory, removed afterwards).
        #[arg(long, value_name = "PATH")]
        db: Option<std::path::PathBuf>,
    },
    /// Import a generated recall list of N entries, time `match_unit` against it (10k lookups) and
    /// the event-loop cost of closing recall-mode units (write, match, progress).
    Lists {
        /// How many list entries to generate and import.
        #[arg(long, default_value_t = 1_000_000)]
        entries: usize,
        /// The database (default: a fresh file in the temp directory, removed afterwards).
        #[arg(long, value_name = "PATH")]
        db: Option<std::path::PathBuf>,
    },
    /// The HTTP API on a store of N units: `GET /api/find/{value}` requests per second under
    /// K keep-alive clients against `serve`, and a station's scan acknowledgement latency with no
    /// page, with the page open (event stream delay included), and with the page open under API
    /// load.
    Http {
        /// How many units the store holds (a serial and two IMEIs each).
        #[arg(long, default_value_t = 1_000_000)]
        units: usize,
        /// The store to use, kept afterwards and reused when it already holds the units (default:
        /// a fresh file in the temp directory, removed afterwards).
        #[arg(long, value_name = "PATH")]
        db: Option<std::path::PathBuf>,
        /// Client threads, each with one keep-alive connection.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// How long to load `/api/find` against the store (after a 0.5 s warm-up).
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Scans per acknowledgement phase, sent one at a time.
        #[arg(long, default_value_t = 2000)]
        scans: usize,
        /// The seed of the values the clients ask for.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print one JSON document instead of the summary lines.
        #[arg(long)]
        json: bool,
    },
    /// The push to a central PostgreSQL: rows/s for the whole ledger of a store of N scans,
    /// and the scan acknowledgement latency at the desk with and without a background push
    /// running (a throwaway cluster unless --url).
    Sync(sync::SyncArgs),
    /// Generate a set of label frames with ground truth (manifest.jsonl in the corpus schema).
    GenLabels {
        /// The folder to write into.
        #[arg(long, value_name = "DIR")]
        out: std::path::PathBuf,
        /// How many frames.
        #[arg(long, default_value_t = 300)]
        count: usize,
        /// The generator's seed; the same seed gives the same frames.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The share of frames (0 to 1) printed light on dark; the other frames stay those of
        /// the default set.
        #[arg(long, default_value_t = 0.0, value_parser = share)]
        inverted: f64,
    },
    /// Generate camera sessions (boxes carried in, held and carried out; any angle; two boxes;
    /// repeats after short and long gaps; an invalid IMEI), run the real station on each through
    /// the replay source, and score its units as a desk would, with latency and frames/s.
    Sessions {
        /// The folder for the sessions (one subfolder each) and the station's runs (`run/`).
        #[arg(long, value_name = "DIR")]
        out: std::path::PathBuf,
        /// How many sessions; the kinds come in turn, so 7 or more cover all of them.
        #[arg(long, default_value_t = 14)]
        count: usize,
        /// The generator's seed; the same seed gives the same sessions.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The virtual frame rate of the sessions and of the replay.
        #[arg(long, default_value_t = 30.0)]
        fps: f64,
        /// Print one JSON document instead of the tables.
        #[arg(long)]
        json: bool,
        /// Keep a session already in DIR when its truth.json has the same kind, seed and frame
        /// rate, instead of generating it again.
        #[arg(long)]
        reuse: bool,
        /// The station's `[decode] budget_ms` (default: the station's own default).
        #[arg(long, value_name = "MS")]
        budget_ms: Option<u64>,
        /// The station's `[decode] frame_ms`, the soft budget of one frame (default: none).
        #[arg(long, value_name = "MS")]
        frame_ms: Option<u64>,
        /// The station's `[decode] focus` (default: the station's own default).
        #[arg(long, value_name = "BOOL")]
        focus: Option<bool>,
        /// Generate (or reuse) the sessions, but do not run the station.
        #[arg(long)]
        generate_only: bool,
    },
    /// Decode the frames of generated camera sessions in order three ways (the whole frame; a
    /// per-frame budget; the budget with the focus on where the last frames read symbols) and
    /// report time per frame and the label values each way reads.
    Stream {
        /// The folder of sessions (`bench sessions --out DIR --generate-only`).
        #[arg(long, value_name = "DIR")]
        sessions: std::path::PathBuf,
        /// The per-frame soft budget of the second and third ways, in ms (default: none, the
        /// decoder's own deadline).
        #[arg(long, value_name = "MS")]
        frame_ms: Option<u64>,
        /// How many frames the third way leaves out a place that read nothing in two frames in
        /// a row, before trying it again (the station's own is 1).
        #[arg(long, default_value_t = 1)]
        rest: u32,
        /// Decode only the first N frames (over all sessions).
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// Decode every image of a manifest (corpus schema) and report recall, false positives on
    /// negative images, and median/p95 decode time per frame (decode only, image already grey).
    Decode {
        /// The manifest.jsonl; image paths are relative to its folder.
        #[arg(long, value_name = "PATH")]
        manifest: std::path::PathBuf,
        /// Comma-separated formats to decode (default: the label formats).
        #[arg(long, value_name = "LIST")]
        formats: Option<String>,
        /// Decode only the first N images.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Write per-image results (file, found, expected, ms) as JSON lines.
        #[arg(long, value_name = "FILE")]
        json_out: Option<std::path::PathBuf>,
        /// Pipeline overrides for experiments, `key=value,...`.
        #[arg(long, hide = true)]
        tune: Option<String>,
    },
    /// Group the ground-truth symbols of generated frames into labels with
    /// `decode::label_regions` and with the old gap rule, and report split and joined symbol
    /// pairs, fallback regions and time per frame.
    Regions {
        /// How many frames (`synth::set_frame(seed, i)` for i in 0..N).
        #[arg(long, default_value_t = 300)]
        count: usize,
        /// The generator's seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Also print each frame that has a split or joined pair.
        #[arg(long)]
        verbose: bool,
        /// Parameter overrides for experiments, `key=value,...` (keys: downscale, threshold,
        /// cut, share, per_symbol, contrast, fill).
        #[arg(long, hide = true)]
        tune: Option<String>,
    },
}

pub(crate) fn run(command: BenchCommand) -> Result<std::process::ExitCode> {
    match command {
        BenchCommand::Ident { count } => bench_ident(count),
        BenchCommand::Latency { count, db } => bench_latency(count, db)?,
        BenchCommand::Lists { entries, db } => {
            let (db, temporary) = match db {
                Some(db) => (db, false),
                None => (
                    std::env::temp_dir()
                        .join(format!("scanstation-lists-{}.db", std::process::id())),
                    true,
                ),
            };
            let result = lists::run(entries, &db);
            if temporary {
                for suffix in ["", "-wal", "-shm"] {
                    let mut name = db.as_os_str().to_owned();
                    name.push(suffix);
                    let _ = std::fs::remove_file(name);
                }
            }
            result?;
        }
        BenchCommand::Http {
            units,
            db,
            clients,
            seconds,
            scans,
            seed,
            json,
        } => http::run(&http::HttpArgs {
            units,
            db,
            clients,
            seconds,
            scans,
            seed,
            json,
        })?,
        BenchCommand::Sync(args) => sync::run(&args)?,
        BenchCommand::GenLabels {
            out,
            count,
            seed,
            inverted,
        } => {
            let options = crate::synth::SetOptions { inverted };
            let summary = crate::synth::generate_set_with(&out, count, seed, &options)?;
            println!("{summary:?}");
            println!(
                "wrote {count} frames and manifest.jsonl to {}",
                out.display()
            );
        }
        BenchCommand::Sessions {
            out,
            count,
            seed,
            fps,
            json,
            reuse,
            budget_ms,
            frame_ms,
            focus,
            generate_only,
        } => sessions::run(&sessions::SessionsArgs {
            out,
            count,
            seed,
            fps,
            json,
            reuse,
            budget_ms,
            frame_ms,
            focus,
            generate_only,
        })?,
        BenchCommand::Stream {
            sessions,
            frame_ms,
            rest,
            limit,
        } => stream::run(&stream::StreamArgs {
            sessions,
            frame_ms,
            rest,
            limit,
        })?,
        BenchCommand::Decode {
            manifest,
            formats,
            limit,
            json_out,
            tune,
        } => bench_decode(manifest, formats, limit, json_out, tune)?,
        BenchCommand::Regions {
            count,
            seed,
            verbose,
            tune,
        } => bench_regions(count, seed, verbose, tune.as_deref())?,
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn bench_decode(
    manifest: std::path::PathBuf,
    formats: Option<String>,
    limit: Option<usize>,
    json_out: Option<std::path::PathBuf>,
    tune: Option<String>,
) -> Result<()> {
    crate::decode::bench::run(&crate::decode::bench::BenchDecodeArgs {
        manifest,
        formats,
        limit,
        json_out,
        tune,
    })
}

/// Pair counts of one grouping against the ground truth.
#[derive(Debug, Default)]
struct PairCounts {
    same: u64,
    split: u64,
    different: u64,
    joined: u64,
}

impl PairCounts {
    /// Counts the symbol pairs that `groups` puts apart although they share a label, and those
    /// it puts together although their labels differ.
    fn add(&mut self, labels: &[usize], groups: &[Vec<usize>]) -> (u64, u64) {
        let mut group_of = vec![usize::MAX; labels.len()];
        for (g, members) in groups.iter().enumerate() {
            for &m in members {
                if let Some(slot) = group_of.get_mut(m) {
                    *slot = g;
                }
            }
        }
        let (mut split, mut joined) = (0, 0);
        for a in 0..labels.len() {
            for b in a + 1..labels.len() {
                let together = group_of[a] == group_of[b];
                if labels[a] == labels[b] {
                    self.same += 1;
                    split += u64::from(!together);
                } else {
                    self.different += 1;
                    joined += u64::from(together);
                }
            }
        }
        self.split += split;
        self.joined += joined;
        (split, joined)
    }

    fn print(&self, name: &str) {
        println!(
            "{name}: same-label pairs split {} of {} ({:.2} %), different-label pairs joined {} of {}",
            self.split,
            self.same,
            100.0 * self.split as f64 / self.same.max(1) as f64,
            self.joined,
            self.different
        );
    }
}

/// `scanstation bench regions`: label grouping on generated frames with ground-truth corners.
fn bench_regions(count: usize, seed: u64, verbose: bool, tune: Option<&str>) -> Result<()> {
    use crate::decode::{Format, RegionMethod, RegionParams, Symbol, region};
    let mut params = RegionParams::default();
    for pair in tune.unwrap_or("").split(',').filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .with_context(|| format!("--tune {pair:?}: expected key=value"))?;
        let v: f32 = value
            .parse()
            .with_context(|| format!("--tune {pair:?}: not a number"))?;
        match key {
            "downscale" => params.downscale = v as u32,
            "threshold" => params.threshold_ratio = v,
            "cut" => params.cut_ratio = v,
            "share" => params.max_region_share = v,
            "per_symbol" => params.max_area_per_symbol = v,
            "contrast" => params.min_contrast = v,
            "fill" => params.min_fill = v,
            other => anyhow::bail!("--tune: unknown key {other:?}"),
        }
    }
    println!("{params:?}");
    let (mut sheet, mut fallback) = (PairCounts::default(), PairCounts::default());
    let (mut regions_total, mut fallback_regions, mut symbols_total) = (0usize, 0usize, 0usize);
    let mut ms = Vec::with_capacity(count);
    for i in 0..count {
        let frame = crate::synth::set_frame(seed, i)?;
        let symbols: Vec<Symbol> = frame
            .symbols
            .iter()
            .map(|s| Symbol {
                format: Format::parse(s.format).unwrap_or(Format::Code128),
                text: s.text.clone(),
                raw: s.text.as_bytes().to_vec(),
                aim: String::new(),
                corners: s.corners,
            })
            .collect();
        let labels: Vec<usize> = frame.symbols.iter().map(|s| s.label).collect();
        let start = Instant::now();
        let regions = black_box(region::label_regions(&frame.image, &symbols, &params));
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
        symbols_total += symbols.len();
        regions_total += regions.len();
        fallback_regions += regions
            .iter()
            .filter(|r| r.method == RegionMethod::Fallback)
            .count();
        let groups: Vec<Vec<usize>> = regions.iter().map(|r| r.symbols.clone()).collect();
        let (split, joined) = sheet.add(&labels, &groups);
        let quads: Vec<[(f32, f32); 4]> = symbols.iter().map(|s| s.corners).collect();
        fallback.add(
            &labels,
            &region::gap_groups(&quads, params.fallback_join_factor),
        );
        if verbose && (split > 0 || joined > 0) {
            let methods: Vec<String> = regions
                .iter()
                .map(|r| format!("{:?}{:?}", r.method, r.symbols))
                .collect();
            println!(
                "frame {i} ({}x{}, {:?}): split {split}, joined {joined}, truth {labels:?}, regions {}",
                frame.image.width(),
                frame.image.height(),
                frame.difficulty(),
                methods.join(" ")
            );
        }
    }
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| {
        ms.get(((ms.len().saturating_sub(1)) as f64 * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!("{count} frames (seed {seed}), {symbols_total} symbols, {regions_total} regions");
    sheet.print("label_regions");
    fallback.print(&format!("gap rule at {}", params.fallback_join_factor));
    println!("fallback regions: {fallback_regions} of {regions_total}");
    println!(
        "label_regions time per frame: median {:.2} ms, p95 {:.2} ms",
        at(0.5),
        at(0.95)
    );
    Ok(())
}

/// A small deterministic generator so every run classifies the same strings.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + (self.next() % 10) as u8))
            .collect()
    }
}

/// The mixed workload: the kinds a device desk sees, valid and invalid, plus junk.
pub(crate) fn mixed_strings(count: usize) -> Vec<String> {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let s = match i % 12 {
            0 | 1 => {
                let payload = format!("35{}", rng.digits(12));
                let cd = device::imei_check_digit(&payload).unwrap_or('0');
                format!("{payload}{cd}")
            }
            2 => format!("35{}", rng.digits(13)),
            3 => {
                let payload = format!("8944{}", rng.digits(14));
                let cd = checksum::luhn_check_digit(payload.as_bytes(), 10).unwrap_or(0);
                format!("{payload}{cd}")
            }
            4 => {
                let payload = format!("8904903{}", rng.digits(23));
                let cd = device::eid_check_digits(&payload).unwrap_or_default();
                format!("{payload}{cd}")
            }
            5 => {
                let payload = rng.digits(12);
                let cd = checksum::gtin_check_digit(payload.as_bytes()).unwrap_or(0);
                format!("{payload}{cd}")
            }
            6 => "SC02XG1ABJGH5".to_owned(),
            7 => "R58M315CL4T".to_owned(),
            8 => "]C10109506000134352\u{1d}21ABC123".to_owned(),
            9 => "AF0123450ABCDEC".to_owned(),
            10 => "'; DROP TABLE units; --".to_owned(),
            _ => format!(
                "[)>\u{1e}06\u{1d}S{}\u{1d}1PMQ3D2LL/A\u{1e}\u{04}",
                rng.digits(10)
            ),
        };
        out.push(s);
    }
    out
}

fn bench_ident(count: usize) {
    let inputs = mixed_strings(count);
    let tacs = MemoryTacs::default();
    // One warm-up pass keeps page faults and lazy initialisation out of the measured pass.
    for s in inputs.iter().take(10_000) {
        black_box(ident::classify(s, None, &tacs));
    }
    let start = Instant::now();
    let mut valid = 0usize;
    for s in &inputs {
        if black_box(ident::classify(s, None, &tacs)).valid() {
            valid += 1;
        }
    }
    let elapsed = start.elapsed();
    let per_sec = count as f64 / elapsed.as_secs_f64();
    println!(
        "bench ident: {count} strings in {:.3} s on one core: {:.0} strings/s ({:.0} ns/string), {valid} valid",
        elapsed.as_secs_f64(),
        per_sec,
        elapsed.as_nanos() as f64 / count as f64
    );
}

/// The scans of the latency benchmark: units of a serial and two IMEIs of one TAC.
pub(crate) fn unit_scans(count: usize, offset: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let n = i + offset;
            let unit = n / 3;
            match n % 3 {
                0 => format!("BENCH{unit:07}"),
                slot => {
                    let payload = format!("35209900{:06}", (unit * 2 + slot) % 1_000_000);
                    let cd = device::imei_check_digit(&payload).unwrap_or('0');
                    format!("{payload}{cd}")
                }
            }
        })
        .collect()
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn bench_latency(count: usize, db: Option<std::path::PathBuf>) -> Result<()> {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};

    let (db, temporary) = match db {
        Some(db) => (db, false),
        None => (
            std::env::temp_dir().join(format!("scanstation-bench-{}.db", std::process::id())),
            true,
        ),
    };
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["run", "--json", "--db"])
        .arg(&db)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?;
    let mut stdout = BufReader::new(
        child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?,
    );
    let mut line = String::new();
    let mut read_scan_ack = |stdout: &mut BufReader<std::process::ChildStdout>| -> Result<()> {
        loop {
            line.clear();
            if stdout.read_line(&mut line)? == 0 {
                anyhow::bail!("the station closed its output early");
            }
            if line.contains("\"event\":\"scan\"") {
                return Ok(());
            }
        }
    };

    // Phase 1: one scan in flight, as at a desk. Latency = write to acknowledgement line.
    let scans = unit_scans(count, 0);
    let mut latencies = Vec::with_capacity(count);
    for scan in &scans {
        let start = Instant::now();
        stdin.write_all(scan.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()?;
        read_scan_ack(&mut stdout)?;
        latencies.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);

    // Phase 2: a burst of every scan at once; group commit shares each fsync among many scans.
    let burst = unit_scans(count, count);
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut text = String::new();
        for scan in &burst {
            text.push_str(scan);
            text.push('\n');
        }
        stdin.write_all(text.as_bytes())?;
        stdin.flush()?;
        drop(stdin);
        Ok(())
    });
    let start = Instant::now();
    for _ in 0..count {
        read_scan_ack(&mut stdout)?;
    }
    let burst_secs = start.elapsed().as_secs_f64();
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer thread panicked"))??;
    let status = child.wait()?;
    if temporary {
        for suffix in ["", "-wal", "-shm", ".lock"] {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    }
    println!(
        "bench latency: {count} scans one at a time through `run --json`: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (synchronous=FULL)",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "bench latency: {count} scans in one burst: {:.0} scans/s sustained ({:.2} s); station exit {status}",
        count as f64 / burst_secs,
        burst_secs
    );
    Ok(())
}

/// A share between 0 and 1, for clap.
fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        Ok(v) => Err(format!("{v} is not a share between 0 and 1")),
        Err(e) => Err(format!("{text:?} is not a number: {e}")),
    }
}
