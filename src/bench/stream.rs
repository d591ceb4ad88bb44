//! `scanstation bench stream`: what decoding with the stream's focus saves on camera sessions.
//!
//! Each generated session (`bench sessions --generate-only`) is decoded frame by frame, in
//! order, three ways on the same frames: the whole frame with the decoder's own deadline (the
//! reference), a per-frame soft budget (`frame_ms`) taking located regions in the locator's
//! order, and the same budget with the focus first (`decode::Focus`). The three run one after
//! the other on each frame, in a rotating order, so the load on a shared machine falls on all
//! of them alike.
//!
//! A frame is scored by the unit values it yields: for each label in view (the session's
//! truth), each value printed on it (serial, IMEIs, EID, ICCID, GTIN, part number) that some
//! symbol read in the frame contains. That is what the label tracker builds units from.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::decode::{DecodeConfig, Decoder, Focus, FocusParams, FramePlan, Symbol};
use crate::synth::session::{self, SessionTruth, TRUTH_NAME};

/// The options of `bench stream`.
#[derive(Debug, Clone)]
pub(crate) struct StreamArgs {
    pub sessions: PathBuf,
    pub frame_ms: Option<u64>,
    /// `FocusParams::rest_frames` of the third way.
    pub rest: u32,
    pub limit: Option<usize>,
}

#[derive(Debug, Default)]
struct Tally {
    ms: Vec<f64>,
    focus_ms: Vec<f64>,
    values: usize,
    symbols: usize,
    cut: usize,
    other_jobs: usize,
    other_done: usize,
    rested: usize,
}

const WAYS: [&str; 3] = ["whole frame", "budget", "budget + focus"];

/// The session folders under `dir`, in name order.
fn session_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(TRUTH_NAME).is_file())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        anyhow::bail!(
            "no sessions under {} (make them with `scanstation bench sessions --out {} --generate-only`)",
            dir.display(),
            dir.display()
        );
    }
    Ok(dirs)
}

/// How many printed values of the labels in view some symbol of the frame contains.
fn values_read(truth: &SessionTruth, frame: usize, symbols: &[Symbol]) -> usize {
    let Some(present) = truth.present.get(frame) else {
        return 0;
    };
    present
        .iter()
        .filter_map(|&l| truth.labels.get(l))
        .flat_map(|l| l.expected.iter().chain(&l.other))
        .filter(|v| symbols.iter().any(|s| s.text.contains(v.as_str())))
        .count()
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i.min(v.len() - 1)]
}

pub(crate) fn run(args: &StreamArgs) -> Result<()> {
    let decoder = Decoder::new(DecodeConfig::default());
    let mut tallies: [Tally; 3] = Default::default();
    let mut frames = 0usize;
    for dir in session_dirs(&args.sessions)? {
        let truth = session::read_truth(&dir)?;
        // Each way keeps its own memory of the frames before.
        let params = FocusParams {
            rest_frames: args.rest,
            ..FocusParams::default()
        };
        let mut focus = [Focus::default(), Focus::default(), Focus::new(params)];
        let soft_ms = args.frame_ms.map(|ms| ms as f64);
        for i in 0..truth.frames {
            if args.limit.is_some_and(|n| frames >= n) {
                break;
            }
            let path = dir.join(format!("frame-{i:05}.png"));
            let frame = crate::decode::load_luma(&path)?;
            let at_ms = truth.frame_ms(i);
            for k in 0..3 {
                let way = (k + frames) % 3;
                let plan = match way {
                    0 => FramePlan::default(),
                    1 => FramePlan {
                        soft_ms,
                        ..FramePlan::default()
                    },
                    _ => focus[way].plan(at_ms, frame.width(), frame.height(), soft_ms),
                };
                let start = Instant::now();
                let decoded = decoder
                    .decode_plan(&frame, &plan)
                    .with_context(|| format!("decoding {}", path.display()))?;
                let ms = start.elapsed().as_secs_f64() * 1000.0;
                focus[way].observe_decoded(at_ms, &decoded);
                let t = &mut tallies[way];
                t.ms.push(ms);
                t.values += values_read(&truth, i, &decoded.symbols);
                t.symbols += decoded.symbols.len();
                t.cut += usize::from(decoded.cut);
                t.other_jobs += decoded.other_jobs;
                t.other_done += decoded.other_done;
                t.rested += decoded.rested;
                if let Some(f) = decoded.focus_ms {
                    t.focus_ms.push(f);
                }
            }
            frames += 1;
        }
    }
    println!(
        "{frames} session frames, frame budget {}, failed places rest {} frames (bench stream --sessions {})",
        args.frame_ms
            .map_or("none".to_owned(), |ms| format!("{ms} ms")),
        args.rest,
        args.sessions.display()
    );
    println!(
        "{:<16} {:>9} {:>9} {:>12} {:>8} {:>10} {:>16} {:>14} {:>8}",
        "way",
        "median ms",
        "p95 ms",
        "values read",
        "symbols",
        "cut frames",
        "others decoded",
        "focus done ms",
        "rested"
    );
    let reference = tallies[0].values.max(1) as f64;
    for (name, t) in WAYS.iter().zip(tallies.iter_mut()) {
        let focus = percentile(&mut t.focus_ms, 0.5);
        println!(
            "{:<16} {:>9.1} {:>9.1} {:>6} {:>4.0} % {:>8} {:>10} {:>7}/{:<8} {:>14} {:>8}",
            name,
            percentile(&mut t.ms, 0.5),
            percentile(&mut t.ms, 0.95),
            t.values,
            100.0 * t.values as f64 / reference,
            t.symbols,
            t.cut,
            t.other_done,
            t.other_jobs,
            if focus.is_nan() {
                "-".to_owned()
            } else {
                format!("{focus:.1}")
            },
            t.rested,
        );
    }
    Ok(())
}
