//! `scanstation bench decode`: recall, false positives and time per frame over a manifest.
//!
//! The manifest is the corpus schema (`shared/corpus/README.md`): one JSON object per line with
//! `file` (relative to the manifest's folder) and `expected` (`format`, `text`, optional
//! `bytes_hex`). Only the decode is timed; images are loaded and converted to grey first.
//!
//! **Matching rule.** An expected symbol is found when a reported symbol of the same format has
//! the same text. Texts also match after normalising both sides: a leading AIM identifier
//! (`]C1`, `]d2`, `]Q3`, ...) is removed, GS (0x1D) separators are removed, and the parentheses
//! of bracketed GS1 element strings (`(01)...(21)...`) are removed. Where the manifest gives
//! `bytes_hex`, reported raw bytes equal to those bytes also match. An EAN-13 whose text is `0`
//! followed by a UPC-A's 12 digits matches that UPC-A (one symbol, two names). Each reported
//! symbol matches at most one expected symbol. A false positive is any symbol reported on an
//! image whose `expected` list is empty (a negative image); symbols beyond the expected ones on
//! other images are counted separately as "extra", since the public corpus lists only one
//! expected symbol per image even where a second genuine barcode is present.
//! `benches/zxing_compare.py` applies the same rule to zxing-cpp.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::{DecodeConfig, Decoder, Format, Symbol, Tuning, load_luma, parse_formats};

/// Options of `scanstation bench decode`.
#[derive(Debug, Clone)]
pub struct BenchDecodeArgs {
    pub manifest: PathBuf,
    pub formats: Option<String>,
    pub limit: Option<usize>,
    pub json_out: Option<PathBuf>,
    /// Pipeline overrides, `key=value,...` (see [`apply_tuning`]).
    pub tune: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    file: String,
    #[serde(default)]
    expected: Vec<Expected>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct Expected {
    format: String,
    text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bytes_hex: Option<String>,
}

#[derive(Debug, Serialize)]
struct FoundOut {
    format: String,
    text: String,
    aim: String,
}

#[derive(Debug, Serialize)]
struct ImageOut<'a> {
    file: &'a str,
    found: Vec<FoundOut>,
    expected: &'a [Expected],
    matched: usize,
    ms: f64,
}

/// Strips an AIM prefix, GS separators and GS1 HRI parentheses.
pub fn normalise(text: &str) -> String {
    let b = text.as_bytes();
    let body = if b.len() >= 3
        && b[0] == b']'
        && b[1].is_ascii_alphabetic()
        && b[2].is_ascii_alphanumeric()
    {
        &text[3..]
    } else {
        text
    };
    let hri = body.starts_with('(');
    body.chars()
        .filter(|&c| c != '\u{1d}' && !(hri && (c == '(' || c == ')')))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a reported symbol is the expected one, by the rule in the module documentation.
fn matches(e: &Expected, s: &Symbol) -> bool {
    let Some(ef) = Format::parse(&e.format) else {
        return false;
    };
    if let Some(h) = &e.bytes_hex
        && s.format == ef
        && hex(&s.raw).eq_ignore_ascii_case(h)
    {
        return true;
    }
    let same_text = |a: &str, b: &str| a == b || normalise(a) == normalise(b);
    if s.format == ef {
        return same_text(&e.text, &s.text);
    }
    match (ef, s.format) {
        (Format::UpcA, Format::Ean13) => s.text.strip_prefix('0') == Some(e.text.as_str()),
        (Format::Ean13, Format::UpcA) => e.text.strip_prefix('0') == Some(s.text.as_str()),
        _ => false,
    }
}

/// Applies `key=value` overrides to the tuning, for A/B runs of `bench decode --tune`. The keys
/// are in the match below; `texcess`, `tsnr` and `trows` set how bands that look like text are
/// read (`texcess=9,tsnr=0` reads every band in full).
pub fn apply_tuning(t: &mut Tuning, spec: &str) -> Result<()> {
    for kv in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("tuning {kv:?} is not key=value"))?;
        let f: f64 = v
            .parse()
            .with_context(|| format!("tuning {k}: {v:?} is not a number"))?;
        match k {
            "strips" => t.strips = f != 0.0,
            "whole" => t.whole_frame = f != 0.0,
            "fallback" => t.whole_frame_fallback = f != 0.0,
            "wfmax" => t.whole_frame_max_pixels = f as u64,
            "msmall" => t.matrix_on_small = f != 0.0,
            "maxm" => t.locate.max_matrix_candidates = f as usize,
            "mcoh" => t.locate.max_matrix_coherence = f as f32,
            "coh" => t.locate.min_coherence = f as f32,
            "energy" => t.locate.min_energy = f as f32,
            "alt" => t.locate.max_alternation = f as f32,
            "maxc" => t.locate.max_candidates = f as usize,
            "up" => t.strip.upscale = f as f32,
            "sharp" => t.strip.sharpen = f as f32,
            "rows" => t.strip.rows_per_band = f as usize,
            "more" => t.strip.more_per_band = f != 0.0,
            "blur" => t.strip.profile = f != 0.0,
            "split" => t.strip.side_by_side = f != 0.0,
            "follow" => t.strip.follow_bars = f != 0.0,
            "texcess" => t.strip.text_excess = f as f32,
            "tsnr" => t.strip.text_snr = f as f32,
            "trows" => t.strip.text_rows = f as usize,
            "pminh" => t.strip.profile_min_height = f as f32,
            "soft" => t.soft_deadline_share = f as f32,
            "th" => t.whole_frame_try_harder = f != 0.0,
            "half" => t.locate.downscale_min_side = f as u32,
            "single" => t.single_symbol_max_pixels = f as u64,
            "mcrops" => t.matrix_crops = f as usize,
            "mcoher" => t.matrix_max_coherence = f as f32,
            _ => bail!("unknown tuning key {k:?}"),
        }
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Runs the benchmark and prints its figures.
pub fn run(args: &BenchDecodeArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.manifest)
        .with_context(|| format!("reading manifest {}", args.manifest.display()))?;
    let base = args
        .manifest
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut cfg = DecodeConfig::default();
    if let Some(list) = &args.formats {
        cfg.formats = parse_formats(list)?;
    }
    // A benchmark measures the decoder, not the time box: a frame that is merely slow must still
    // count its symbols.
    cfg.budget_ms = 60_000;
    let mut tuning = Tuning::default();
    if let Some(spec) = &args.tune {
        apply_tuning(&mut tuning, spec)?;
    }
    let decoder = Decoder::with_tuning(cfg.clone(), tuning);

    let mut entries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: Entry = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: bad manifest line", args.manifest.display(), n + 1))?;
        entries.push(e);
        if args.limit.is_some_and(|l| entries.len() >= l) {
            break;
        }
    }

    let mut times = Vec::new();
    let mut times_1080 = Vec::new();
    let (mut expected_total, mut matched_total, mut extra) = (0usize, 0usize, 0usize);
    let (mut negatives, mut negatives_with_fp, mut fp_symbols) = (0usize, 0usize, 0usize);
    let mut per_format: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut load_errors = 0usize;
    let mut outputs = Vec::new();
    let mut warmed = false;
    for e in &entries {
        // Expected symbols of formats outside the configured set are not asked for.
        let wanted: Vec<Expected> = e
            .expected
            .iter()
            .filter(|x| Format::parse(&x.format).is_some_and(|f| cfg.formats.contains(&f)))
            .cloned()
            .collect();
        if !e.expected.is_empty() && wanted.is_empty() {
            continue;
        }
        let path = base.join(&e.file);
        let img = match load_luma(&path) {
            Ok(img) => img,
            Err(err) => {
                load_errors += 1;
                eprintln!("bench decode: {}: {}", path.display(), err.reason());
                continue;
            }
        };
        if !warmed {
            // One untimed decode keeps lazy initialisation out of the first frame's time.
            let _ = decoder.decode(&img);
            warmed = true;
        }
        let start = Instant::now();
        let found = decoder.decode(&img).unwrap_or_default();
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        times.push(ms);
        if img.height() >= 1080 {
            times_1080.push(ms);
        }
        let mut used = vec![false; found.len()];
        let mut matched = 0;
        for x in &wanted {
            let entry = per_format.entry(x.format.clone()).or_default();
            entry.1 += 1;
            if let Some(i) = (0..found.len()).find(|&i| !used[i] && matches(x, &found[i])) {
                used[i] = true;
                matched += 1;
                entry.0 += 1;
            }
        }
        expected_total += wanted.len();
        matched_total += matched;
        if e.expected.is_empty() {
            negatives += 1;
            if !found.is_empty() {
                negatives_with_fp += 1;
                fp_symbols += found.len();
            }
        } else {
            extra += used.iter().filter(|u| !**u).count();
        }
        if args.json_out.is_some() {
            outputs.push(ImageOut {
                file: &e.file,
                found: found
                    .iter()
                    .map(|s| FoundOut {
                        format: s.format.name().to_owned(),
                        text: s.text.clone(),
                        aim: s.aim.clone(),
                    })
                    .collect(),
                expected: &e.expected,
                matched,
                ms,
            });
        }
    }
    times.sort_by(f64::total_cmp);
    times_1080.sort_by(f64::total_cmp);
    let pct = |a: usize, b: usize| {
        if b == 0 {
            0.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    println!(
        "bench decode (rxing): {} images, {} expected symbols, {} negative images{}",
        times.len(),
        expected_total,
        negatives,
        if load_errors > 0 {
            format!(", {load_errors} unreadable")
        } else {
            String::new()
        }
    );
    println!(
        "  recall {:.1} % ({matched_total}/{expected_total}); false positives: {fp_symbols} symbols on {negatives_with_fp}/{negatives} negative images; {extra} extra symbols on positive images",
        pct(matched_total, expected_total)
    );
    println!(
        "  time per frame: median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times.last().copied().unwrap_or(f64::NAN)
    );
    if !times_1080.is_empty() {
        println!(
            "  1080p frames ({}): median {:.2} ms, p95 {:.2} ms",
            times_1080.len(),
            percentile(&times_1080, 0.5),
            percentile(&times_1080, 0.95)
        );
    }
    for (format, (m, n)) in &per_format {
        println!("  {format:<11} {:5.1} % ({m}/{n})", pct(*m, *n));
    }
    if let Some(out) = &args.json_out {
        let mut f = std::io::BufWriter::new(
            std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?,
        );
        for o in &outputs {
            serde_json::to_writer(&mut f, o)?;
            f.write_all(b"\n")?;
        }
        f.flush()?;
    }
    Ok(())
}
