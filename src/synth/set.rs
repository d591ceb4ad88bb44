//! Frame sets on disk: the benchmark/fixture set with its manifest, and camera replay scenes.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SynthError;
use super::frame::{Difficulty, FrameSpec, GeneratedFrame, LabelSpec, render_frame};
use super::layout::LabelKind;
use super::rng::Rng;
use super::unit::{UnitData, random_unit};

/// The manifest's file name, beside the frames.
pub const MANIFEST_NAME: &str = "manifest.jsonl";
/// The `source.generator` value of every manifest line.
pub const GENERATOR: &str = "scanstation synth";

/// What [`generate_set`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SetSummary {
    pub manifest: PathBuf,
    pub frames: usize,
    /// Frames without any label.
    pub negatives: usize,
    pub symbols: usize,
    pub easy: usize,
    pub medium: usize,
    pub hard: usize,
    /// Frames written as JPEG (after the compression round trip).
    pub jpeg: usize,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The spec of frame `index` of a set; about 8 % of frames are negatives, about 20 % carry two labels.
fn set_spec(rng: &mut Rng) -> FrameSpec {
    let labels = match rng.unit() {
        r if r < 0.08 => 0,
        r if r < 0.30 => 2,
        _ => 1,
    };
    let difficulty = match rng.unit() {
        r if r < 0.3 => Difficulty::Easy,
        r if r < 0.7 => Difficulty::Medium,
        _ => Difficulty::Hard,
    };
    FrameSpec::random(difficulty, labels, rng)
}

/// Renders frame `index` of the set seeded with `seed`. Each frame has its own generator, so a
/// frame can be regenerated alone; a spec whose label cannot fit is redrawn a few times.
pub fn set_frame(seed: u64, index: usize) -> Result<GeneratedFrame, SynthError> {
    set_frame_with(seed, index, &SetOptions::default())
}

/// What a set holds beyond the default mix.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SetOptions {
    /// The share of frames (0 to 1) whose labels are printed light on dark. The choice is drawn
    /// from a generator of its own, so every other frame is the one the default set holds.
    pub inverted: f64,
}

/// Frame `index` of the set seeded with `seed`, with `options`.
pub fn set_frame_with(
    seed: u64,
    index: usize,
    options: &SetOptions,
) -> Result<GeneratedFrame, SynthError> {
    let mut rng = Rng::derive(seed, index as u64);
    let inverted = options.inverted > 0.0
        && Rng::derive(seed ^ 0x1_4E5E_47ED, index as u64).unit() < options.inverted as f32;
    let mut last = None;
    for _ in 0..8 {
        let mut spec = set_spec(&mut rng);
        for label in &mut spec.labels {
            label.inverted = inverted;
        }
        match render_frame(&spec, &mut rng) {
            Ok(frame) => return Ok(frame),
            Err(e @ SynthError::Spec(_)) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| SynthError::Spec("no frame spec fitted".to_owned())))
}

/// The file name of frame `index`: PNG, or JPEG when the frame went through JPEG compression.
pub fn frame_file_name(index: usize, frame: &GeneratedFrame) -> String {
    let ext = if frame.jpeg.is_some() { "jpg" } else { "png" };
    format!("frame-{index:05}.{ext}")
}

/// One line of `manifest.jsonl`, in the schema (and key order) of the shared corpus manifest.
///
/// Beyond that schema, each expected symbol also has `corners` (frame pixels, the order of
/// [`PlacedSymbol::corners`](super::PlacedSymbol::corners)) and `label` (an index into
/// `devices`), and `source` has the frame `index`; readers of the corpus schema ignore them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestLine {
    pub file: String,
    pub width: u32,
    pub height: u32,
    pub tags: Vec<String>,
    pub difficulty: String,
    pub expected: Vec<ManifestSymbol>,
    pub devices: Vec<UnitData>,
    pub source: ManifestSource,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestSymbol {
    pub format: String,
    pub text: String,
    pub corners: Vec<[f64; 2]>,
    pub label: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestSource {
    pub generator: String,
    pub seed: u64,
    pub index: usize,
}

impl ManifestLine {
    /// The line describing `frame`, stored as `file`, frame `index` of the set seeded with `seed`.
    pub fn new(file: &str, frame: &GeneratedFrame, seed: u64, index: usize) -> ManifestLine {
        ManifestLine {
            file: file.to_owned(),
            width: frame.image.width(),
            height: frame.image.height(),
            tags: frame.tags(),
            difficulty: frame.difficulty().as_str().to_owned(),
            expected: frame
                .symbols
                .iter()
                .map(|s| ManifestSymbol {
                    format: s.format.to_owned(),
                    text: s.text.clone(),
                    corners: s
                        .corners
                        .iter()
                        .map(|&(x, y)| [round2(x), round2(y)])
                        .collect(),
                    label: s.label,
                })
                .collect(),
            devices: frame.units.clone(),
            source: ManifestSource {
                generator: GENERATOR.to_owned(),
                seed,
                index,
            },
        }
    }
}

fn round2(v: f32) -> f64 {
    (f64::from(v) * 100.0).round() / 100.0
}

/// Per-frame results gathered by the workers, in frame order after sorting.
struct Written {
    index: usize,
    line: String,
    symbols: usize,
    negative: bool,
    difficulty: Difficulty,
    jpeg: bool,
}

fn write_frame(
    out_dir: &Path,
    seed: u64,
    index: usize,
    options: &SetOptions,
) -> Result<Written, SynthError> {
    let frame = set_frame_with(seed, index, options)?;
    let name = frame_file_name(index, &frame);
    let path = out_dir.join(&name);
    match &frame.jpeg {
        Some(bytes) => fs::write(&path, bytes).map_err(io_err(&path))?,
        None => frame
            .image
            .save_with_format(&path, image::ImageFormat::Png)?,
    }
    let line = serde_json::to_string(&ManifestLine::new(&name, &frame, seed, index))?;
    Ok(Written {
        index,
        line,
        symbols: frame.symbols.len(),
        negative: frame.labels.is_empty(),
        difficulty: frame.difficulty(),
        jpeg: frame.jpeg.is_some(),
    })
}

/// Writes `count` frames (`frame-00000.png`, or `.jpg` for JPEG-compressed frames) and
/// `manifest.jsonl` into `out_dir`, which is created when missing.
///
/// Frames are rendered on all cores; the output does not depend on the number of cores.
pub fn generate_set(out_dir: &Path, count: usize, seed: u64) -> Result<SetSummary, SynthError> {
    generate_set_with(out_dir, count, seed, &SetOptions::default())
}

/// [`generate_set`] with `options`.
pub fn generate_set_with(
    out_dir: &Path,
    count: usize,
    seed: u64,
    options: &SetOptions,
) -> Result<SetSummary, SynthError> {
    fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, count.max(1));
    let results: Vec<Result<Vec<Written>, SynthError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|k| {
                s.spawn(move || {
                    (k..count)
                        .step_by(workers)
                        .map(|i| write_frame(out_dir, seed, i, options))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| SynthError::Worker).and_then(|r| r))
            .collect()
    });
    let mut written = Vec::with_capacity(count);
    for r in results {
        written.extend(r?);
    }
    written.sort_by_key(|w| w.index);
    let manifest = out_dir.join(MANIFEST_NAME);
    let mut text = String::new();
    let mut summary = SetSummary {
        manifest: manifest.clone(),
        frames: written.len(),
        ..SetSummary::default()
    };
    for w in &written {
        text.push_str(&w.line);
        text.push('\n');
        summary.symbols += w.symbols;
        summary.negatives += usize::from(w.negative);
        summary.jpeg += usize::from(w.jpeg);
        match w.difficulty {
            Difficulty::Easy => summary.easy += 1,
            Difficulty::Medium => summary.medium += 1,
            Difficulty::Hard => summary.hard += 1,
        }
    }
    let mut file = fs::File::create(&manifest).map_err(io_err(&manifest))?;
    file.write_all(text.as_bytes()).map_err(io_err(&manifest))?;
    Ok(summary)
}

/// One step of a replay scene: `frames` frames showing unit/label `label`, or only the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SceneStep {
    pub label: Option<usize>,
    pub frames: usize,
}

/// The frames of a scene in order, and the units its labels show (`units[i]` for label `i`).
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub frames: Vec<PathBuf>,
    pub units: Vec<UnitData>,
}

/// The frame size of scenes: a common camera mode in which easy labels read reliably.
pub const SCENE_SIZE: (u32, u32) = (1280, 720);

/// Writes a camera replay scene into `out_dir` as `scene-00000.png`, `scene-00001.png`, ...
///
/// The camera and desk stay still; a shown label drifts and turns a little from frame to frame
/// with the same unit and the same printed layout. Frames are easy on purpose (modules of 2 px
/// or more, near-upright labels, light blur, no glare or JPEG): scenes test the grouping of
/// reads into units, not decoding.
pub fn scene(out_dir: &Path, seed: u64, script: &[SceneStep]) -> Result<Scene, SynthError> {
    fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
    let count = script
        .iter()
        .filter_map(|s| s.label)
        .max()
        .map_or(0, |m| m + 1);
    let units: Vec<UnitData> = (0..count)
        .map(|i| random_unit(&mut Rng::derive(seed ^ 0x5CE7E, i as u64)))
        .collect();
    let mut rng = Rng::new(seed);
    let background_seed = rng.next_u64();
    let mut frames = Vec::new();
    for step in script {
        // Each appearance starts from a fresh pose, as when the operator puts the next box down.
        let mut pose = (
            rng.range(0.4, 0.6),
            rng.range(0.4, 0.6),
            rng.range(-2.0, 2.0),
        );
        for _ in 0..step.frames {
            let labels = match step.label.and_then(|i| units.get(i).map(|u| (i, u))) {
                Some((i, unit)) => {
                    let mut layout_rng = Rng::derive(seed ^ 0x1A_B0E1, i as u64);
                    let kind = if layout_rng.chance(0.6) {
                        LabelKind::PhoneBox
                    } else {
                        LabelKind::BackLabel
                    };
                    pose.0 = (pose.0 + rng.normal() * 0.002).clamp(0.3, 0.7);
                    pose.1 = (pose.1 + rng.normal() * 0.003).clamp(0.3, 0.7);
                    pose.2 = (pose.2 + rng.normal() * 0.3).clamp(-3.0, 3.0);
                    vec![LabelSpec {
                        kind,
                        unit: Some(unit.clone()),
                        layout_seed: layout_rng.next_u64(),
                        module_px: 2.2 + layout_rng.range(0.0, 0.5),
                        rotation_deg: pose.2,
                        perspective: 0.005,
                        center: Some((pose.0, pose.1)),
                        inverted: false,
                    }]
                }
                None => Vec::new(),
            };
            let spec = FrameSpec {
                width: SCENE_SIZE.0,
                height: SCENE_SIZE.1,
                labels,
                background_seed,
                clutter: 6,
                blur_sigma: 0.45,
                motion_blur: None,
                glare: 0.0,
                noise_sigma: 1.5,
                contrast: 1.0,
                jpeg_quality: None,
            };
            let frame = render_frame(&spec, &mut rng)?;
            let path = out_dir.join(format!("scene-{:05}.png", frames.len()));
            frame
                .image
                .save_with_format(&path, image::ImageFormat::Png)?;
            frames.push(path);
        }
    }
    Ok(Scene { frames, units })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_regenerate_alone() {
        let a = set_frame(77, 3).expect("set_frame");
        let b = set_frame(77, 3).expect("set_frame");
        assert_eq!(a.image, b.image);
        assert_eq!(a.symbols, b.symbols);
        let line = ManifestLine::new("x.png", &a, 77, 3);
        assert_eq!(line.source.generator, GENERATOR);
        let text = serde_json::to_string(&line).expect("to_string");
        assert!(text.starts_with("{\"file\":\"x.png\",\"width\":"), "{text}");
    }
}
#[cfg(test)]
mod mix_tests {
    use super::*;

    #[test]
    fn about_eight_percent_negatives_and_a_spread_of_difficulty() {
        let mut rng = Rng::new(99);
        let specs: Vec<FrameSpec> = (0..4000).map(|_| set_spec(&mut rng)).collect();
        let share = |n: usize| n as f32 / specs.len() as f32;
        let negatives = share(specs.iter().filter(|s| s.labels.is_empty()).count());
        let two = share(specs.iter().filter(|s| s.labels.len() == 2).count());
        assert!((0.065..0.095).contains(&negatives), "{negatives}");
        assert!((0.18..0.26).contains(&two), "{two}");
        let kinds = |k: LabelKind| {
            specs
                .iter()
                .flat_map(|s| &s.labels)
                .filter(|l| l.kind == k)
                .count()
        };
        assert!(LabelKind::ALL.into_iter().all(|k| kinds(k) > 400));
        assert!(
            specs
                .iter()
                .any(|s| s.jpeg_quality.is_some_and(|q| q <= 45))
        );
        assert!(
            specs
                .iter()
                .any(|s| s.jpeg_quality.is_some_and(|q| q >= 88))
        );
    }
}
