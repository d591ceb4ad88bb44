//! The decoder on the public corpus (`../shared/corpus`, or `$SCANSTATION_CORPUS`): a recall
//! floor and no false positives on the negative images.
//!
//! `cargo test` builds this binary in the dev profile, slower than release, so the test decodes
//! a deterministic subset to stay well under a minute on two cores (about 35 s unoptimised): every
//! negative image and every fourth positive one. `scanstation bench decode` measures the whole
//! manifest.

use std::path::PathBuf;

use scanstation::decode::{DecodeConfig, Decoder, Format, Symbol, load_luma};

/// Every `STRIDE`th positive image is decoded.
const STRIDE: usize = 4;
/// Measured on this subset: 85.7 % (191/223) with the blurred-strip reader (85.2 %, 190/223,
/// before it), and 85.2 % (190/223) once it follows tilted labels (the whole corpus went from
/// 753 to 757 of 889 with that change). The floor (188/223) leaves room for the one symbol that comes and goes between
/// identical runs and for small changes in tuning; it was 80 % until issue 13.
const RECALL_FLOOR: f64 = 0.84;

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SCANSTATION_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::util::shared_dir().join("corpus"));
    let manifest = dir.join("manifest.jsonl");
    if manifest.is_file() {
        Some(dir)
    } else {
        crate::util::missing_shared(&manifest, "set SCANSTATION_CORPUS to the corpus folder");
        None
    }
}

#[derive(serde::Deserialize)]
struct Entry {
    file: String,
    #[serde(default)]
    expected: Vec<Expected>,
}

#[derive(serde::Deserialize)]
struct Expected {
    format: String,
    text: String,
}

/// The benchmark's matching rule (src/decode/bench.rs), without the raw-bytes case.
fn matches(e: &Expected, s: &Symbol) -> bool {
    let norm = |t: &str| scanstation::decode::bench::normalise(t);
    match Format::parse(&e.format) {
        Some(f) if f == s.format => e.text == s.text || norm(&e.text) == norm(&s.text),
        Some(Format::UpcA) if s.format == Format::Ean13 => {
            s.text.strip_prefix('0') == Some(e.text.as_str())
        }
        _ => false,
    }
}

#[test]
fn corpus_recall_floor_and_no_false_positives() {
    let Some(dir) = corpus_dir() else {
        return;
    };
    let text = std::fs::read_to_string(dir.join("manifest.jsonl")).expect("read manifest");
    let decoder = Decoder::new(DecodeConfig {
        // Debug builds are slow; the time box must not cut a frame short here.
        budget_ms: 60_000,
        ..DecodeConfig::default()
    });
    let (mut expected, mut found, mut positives) = (0usize, 0usize, 0usize);
    let (mut negatives, mut negatives_with_fp) = (0usize, 0usize);
    let mut misses = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let entry: Entry = serde_json::from_str(line).expect("manifest line");
        if !entry.expected.is_empty() {
            positives += 1;
            if positives % STRIDE != 1 {
                continue;
            }
        }
        let img = load_luma(&dir.join(&entry.file)).expect("corpus image loads");
        let symbols = decoder.decode(&img).expect("decode");
        if entry.expected.is_empty() {
            negatives += 1;
            if !symbols.is_empty() {
                negatives_with_fp += 1;
                eprintln!("false positive on {}: {symbols:?}", entry.file);
            }
            continue;
        }
        for e in &entry.expected {
            expected += 1;
            if symbols.iter().any(|s| matches(e, s)) {
                found += 1;
            } else {
                misses.push(entry.file.clone());
            }
        }
    }
    let recall = found as f64 / expected.max(1) as f64;
    eprintln!(
        "corpus subset: recall {:.1} % ({found}/{expected}), {negatives_with_fp}/{negatives} negative images with a symbol",
        recall * 100.0
    );
    assert!(expected > 100, "the subset has {expected} expected symbols");
    assert!(
        recall >= RECALL_FLOOR,
        "recall {:.1} % is below the floor {:.1} %; missed: {misses:?}",
        recall * 100.0,
        RECALL_FLOOR * 100.0
    );
    assert!(
        negatives_with_fp <= 1,
        "{negatives_with_fp} negative images had a symbol"
    );
}
