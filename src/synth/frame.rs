//! Camera-like frames: labels warped onto a cluttered background, then degraded.
//!
//! The order of the steps follows the light path: scene (background, labels), lighting and
//! contrast, glare, lens blur, motion blur, sensor noise, quantisation, JPEG. Labels are drawn
//! from a source raster at twice the frame resolution and sampled bicubically at 2x2 points per
//! frame pixel, so each frame pixel is close to the area average a sensor pixel integrates.

use image::GrayImage;
use serde::{Deserialize, Serialize};

use super::font;
use super::layout::{self, LabelKind, Layout};
use super::raster::{Canvas, Homography, gaussian_blur, motion_blur};
use super::rng::Rng;
use super::unit::{UnitData, random_unit};
use super::{PlacedSymbol, SynthError};

/// How hard a frame is to decode, as written in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    Easy,
    Medium,
    Hard,
}

impl Difficulty {
    pub fn as_str(self) -> &'static str {
        match self {
            Difficulty::Easy => "easy",
            Difficulty::Medium => "medium",
            Difficulty::Hard => "hard",
        }
    }
}

/// A straight-line camera or hand movement during the exposure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionBlur {
    /// Length of the smear in pixels.
    pub length: f32,
    pub angle_deg: f32,
}

/// One label to place in a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelSpec {
    pub kind: LabelKind,
    /// The unit whose identifiers are printed; `None` draws a random unit from the frame's generator.
    pub unit: Option<UnitData>,
    /// Seed of the layout's own generator (bar heights, symbol sizes, variant), so one unit can
    /// be shown with the identical label in many frames.
    pub layout_seed: u64,
    /// Wanted narrowest-module size in frame pixels; reduced when the label would not fit.
    pub module_px: f32,
    /// Rotation of the label in degrees, clockwise on screen; any angle.
    pub rotation_deg: f32,
    /// Corner jitter as a fraction of the label diagonal (0 = none, 0.05 = mild perspective).
    pub perspective: f32,
    /// Centre as a fraction of the label's region (`(0.5, 0.5)` = middle), or `None` for a random
    /// position. The label is moved inwards when needed so it stays entirely in the frame.
    pub center: Option<(f32, f32)>,
    /// Light print on a dark label (paper and ink swapped), as on some SIM trays and dark
    /// retail boxes.
    pub inverted: bool,
}

/// Everything that decides how a frame looks, apart from the random draws of `render_frame`.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameSpec {
    pub width: u32,
    pub height: u32,
    /// Zero, one or two labels; two labels get one half of the frame each.
    pub labels: Vec<LabelSpec>,
    /// Seed of the background, so a scene can keep its desk while labels move.
    pub background_seed: u64,
    /// How many clutter objects the background has.
    pub clutter: usize,
    /// Gaussian lens blur sigma in pixels.
    pub blur_sigma: f32,
    pub motion_blur: Option<MotionBlur>,
    /// Strength of a soft specular highlight (0 = none, 1 = saturating).
    pub glare: f32,
    /// Standard deviation of the sensor read noise in grey levels.
    pub noise_sigma: f32,
    /// Contrast factor around mid-grey (1 = as printed, 0.4 = washed out).
    pub contrast: f32,
    /// JPEG quality of a compression round trip, if any.
    pub jpeg_quality: Option<u8>,
}

/// A label as it ended up in the frame.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedLabel {
    pub kind: LabelKind,
    /// The module size actually used (the spec's, or smaller when the label had to fit).
    pub module_px: f32,
    pub rotation_deg: f32,
    pub perspective: f32,
    /// The label's outline in frame pixels, in the same corner order as [`PlacedSymbol::corners`].
    pub corners: [(f32, f32); 4],
}

/// A rendered frame and its ground truth.
#[derive(Debug, Clone)]
pub struct GeneratedFrame {
    /// The frame as a decoder sees it (after the JPEG round trip, when there is one).
    pub image: GrayImage,
    pub symbols: Vec<PlacedSymbol>,
    /// The unit shown by each label, in label order.
    pub units: Vec<UnitData>,
    pub labels: Vec<PlacedLabel>,
    pub jpeg_quality: Option<u8>,
    /// The JPEG file whose decoding is `image`, when the frame was compressed.
    pub jpeg: Option<Vec<u8>>,
    /// The spec the frame was rendered from.
    pub spec: FrameSpec,
}

impl GeneratedFrame {
    /// Grades the frame from what was actually rendered (module sizes after fitting included).
    pub fn difficulty(&self) -> Difficulty {
        let s = &self.spec;
        let module = self
            .labels
            .iter()
            .map(|l| l.module_px)
            .fold(f32::INFINITY, f32::min);
        let perspective = self
            .labels
            .iter()
            .map(|l| l.perspective)
            .fold(0.0, f32::max);
        let motion = s.motion_blur.map_or(0.0, |m| m.length);
        let jpeg = s.jpeg_quality.unwrap_or(100);
        if module < 1.35
            || s.blur_sigma > 1.1
            || motion > 3.0
            || jpeg < 55
            || s.contrast < 0.45
            || s.noise_sigma > 7.0
            || s.glare > 0.8
        {
            Difficulty::Hard
        } else if module >= 2.0
            && s.blur_sigma <= 0.7
            && motion == 0.0
            && jpeg >= 80
            && s.contrast >= 0.75
            && s.noise_sigma <= 3.5
            && s.glare == 0.0
            && perspective <= 0.03
        {
            Difficulty::Easy
        } else {
            Difficulty::Medium
        }
    }

    /// Manifest tags: `synth`, the layouts, `rotNN` per label, degradations, `two-labels`,
    /// `negative` and the frame size.
    pub fn tags(&self) -> Vec<String> {
        let s = &self.spec;
        let mut tags = vec!["synth".to_owned()];
        let mut push = |t: String| {
            if !tags.contains(&t) {
                tags.push(t);
            }
        };
        for l in &self.labels {
            push(l.kind.tag().to_owned());
        }
        for l in &self.labels {
            push(format!(
                "rot{}",
                (l.rotation_deg.round() as i64).rem_euclid(360)
            ));
        }
        if s.labels.iter().any(|l| l.inverted) {
            push("inverted".to_owned());
        }
        if self.labels.iter().any(|l| l.module_px < 1.3) {
            push("tiny-modules".to_owned());
        }
        if self.labels.iter().any(|l| l.perspective >= 0.03) {
            push("perspective".to_owned());
        }
        if s.blur_sigma >= 0.8 {
            push("blur".to_owned());
        }
        if s.motion_blur.is_some() {
            push("motion-blur".to_owned());
        }
        if s.glare > 0.0 {
            push("glare".to_owned());
        }
        if s.noise_sigma >= 5.0 {
            push("noise".to_owned());
        }
        if s.contrast < 0.6 {
            push("low-contrast".to_owned());
        }
        if s.jpeg_quality.is_some() {
            push("jpeg".to_owned());
        }
        match self.labels.len() {
            0 => push("negative".to_owned()),
            1 => {}
            _ => push("two-labels".to_owned()),
        }
        push(format!("{}x{}", s.width, s.height));
        tags
    }
}

/// The main problems a hard frame can have.
#[derive(Debug, Clone, Copy)]
enum Problem {
    TinyModules,
    Blur,
    Motion,
    Jpeg,
    Contrast,
    Noise,
    Glare,
}

impl Problem {
    const COUNT: usize = 7;
}

const FRAME_SIZES: &[(u32, u32)] = &[(640, 480), (800, 600), (1280, 720), (1920, 1080)];

impl FrameSpec {
    /// A random spec of the given difficulty. The grade of the rendered frame
    /// ([`GeneratedFrame::difficulty`]) usually, but not always, matches it.
    ///
    /// Hard frames have one or two main problems on top of medium conditions, as real hard
    /// frames do; every degradation at full strength at once would defeat any decoder and so
    /// measure nothing.
    pub fn random(difficulty: Difficulty, labels: usize, rng: &mut Rng) -> FrameSpec {
        let size_roll = rng.unit();
        let (width, height) = match size_roll {
            r if r < 0.15 && labels < 2 => FRAME_SIZES[0],
            r if r < 0.25 && labels < 2 => FRAME_SIZES[1],
            r if r < 0.6 => FRAME_SIZES[2],
            _ => FRAME_SIZES[3],
        };
        let mut problem = [false; Problem::COUNT];
        if difficulty == Difficulty::Hard {
            for _ in 0..if rng.chance(0.7) { 1 } else { 2 } {
                if let Some(p) = problem.get_mut(rng.below(Problem::COUNT)) {
                    *p = true;
                }
            }
        }
        let has = |p: Problem| problem.get(p as usize).copied().unwrap_or(false);
        let mut specs = Vec::with_capacity(labels);
        for _ in 0..labels {
            let kind = match rng.unit() {
                r if r < 0.5 => LabelKind::PhoneBox,
                r if r < 0.8 => LabelKind::BackLabel,
                _ => LabelKind::SimTray,
            };
            let (lo, hi) = match difficulty {
                Difficulty::Easy => (2.0, 3.2),
                Difficulty::Medium => (1.4, 2.4),
                Difficulty::Hard if has(Problem::TinyModules) => (1.0, 1.35),
                Difficulty::Hard => (1.35, 2.2),
            };
            let mut module_px = rng.range(lo, hi);
            if difficulty == Difficulty::Easy && rng.chance(0.1) {
                module_px = rng.range(3.2, 4.0);
            }
            if kind == LabelKind::SimTray {
                // SIM trays are tiny: the camera is close, but their etched modules stay small.
                module_px = module_px.min(rng.range(1.2, 2.6)).max(lo);
            }
            let rotation_deg = if difficulty == Difficulty::Easy && rng.chance(0.4) {
                let quarter = [0.0, 0.0, 0.0, 90.0, 180.0, 270.0];
                rng.pick(&quarter).copied().unwrap_or(0.0) + rng.range(-3.0, 3.0)
            } else {
                rng.range(0.0, 360.0)
            };
            let perspective = match difficulty {
                Difficulty::Easy => rng.range(0.0, 0.025),
                Difficulty::Medium => rng.range(0.0, 0.05),
                Difficulty::Hard => rng.range(0.01, 0.07),
            };
            specs.push(LabelSpec {
                kind,
                unit: None,
                layout_seed: rng.next_u64(),
                module_px,
                rotation_deg,
                perspective,
                center: None,
                inverted: false,
            });
        }
        let (mut blur_sigma, noise_sigma, contrast) = match difficulty {
            Difficulty::Easy => (
                rng.range(0.3, 0.65),
                rng.range(0.8, 3.0),
                rng.range(0.8, 1.0),
            ),
            Difficulty::Medium => (
                rng.range(0.45, 0.95),
                rng.range(2.0, 6.0),
                rng.range(0.55, 1.0),
            ),
            Difficulty::Hard => (
                if has(Problem::Blur) {
                    rng.range(1.12, 1.45)
                } else {
                    rng.range(0.45, 0.8)
                },
                if has(Problem::Noise) {
                    rng.range(7.5, 12.0)
                } else {
                    rng.range(2.0, 5.0)
                },
                if has(Problem::Contrast) {
                    rng.range(0.3, 0.44)
                } else {
                    rng.range(0.6, 1.0)
                },
            ),
        };
        if has(Problem::TinyModules) {
            // A camera that resolves 1-px modules at all is in focus.
            blur_sigma = blur_sigma.min(0.75);
        }
        let motion_blur = match difficulty {
            Difficulty::Easy => None,
            Difficulty::Medium => rng.chance(0.2).then(|| MotionBlur {
                length: rng.range(1.5, 3.0),
                angle_deg: rng.range(0.0, 180.0),
            }),
            Difficulty::Hard => has(Problem::Motion).then(|| MotionBlur {
                length: rng.range(3.2, 4.8),
                angle_deg: rng.range(0.0, 180.0),
            }),
        };
        let glare = match difficulty {
            Difficulty::Easy => 0.0,
            Difficulty::Medium if rng.chance(0.3) => rng.range(0.2, 0.6),
            Difficulty::Hard if has(Problem::Glare) => rng.range(0.85, 1.0),
            Difficulty::Hard if rng.chance(0.2) => rng.range(0.2, 0.5),
            _ => 0.0,
        };
        let jpeg_quality = match difficulty {
            Difficulty::Easy => rng.chance(0.2).then(|| 80 + rng.below(11) as u8),
            Difficulty::Medium => rng.chance(0.4).then(|| 55 + rng.below(36) as u8),
            Difficulty::Hard if has(Problem::Jpeg) => Some(40 + rng.below(15) as u8),
            Difficulty::Hard => rng.chance(0.3).then(|| 60 + rng.below(31) as u8),
        };
        FrameSpec {
            width,
            height,
            labels: specs,
            background_seed: rng.next_u64(),
            clutter: 4 + rng.below(12),
            blur_sigma,
            motion_blur,
            glare,
            noise_sigma,
            contrast,
            jpeg_quality,
        }
    }

    fn validate(&self) -> Result<(), SynthError> {
        if !(64..=8192).contains(&self.width) || !(64..=8192).contains(&self.height) {
            return Err(SynthError::Spec(format!(
                "frame size {}x{} is outside 64..=8192",
                self.width, self.height
            )));
        }
        if self.labels.len() > 2 {
            return Err(SynthError::Spec(format!(
                "{} labels; at most 2",
                self.labels.len()
            )));
        }
        for l in &self.labels {
            if !(l.module_px.is_finite() && l.module_px >= 0.3 && l.module_px <= 16.0) {
                return Err(SynthError::Spec(format!(
                    "module size {} is outside 0.3..=16",
                    l.module_px
                )));
            }
            if !(l.rotation_deg.is_finite() && (0.0..0.3).contains(&l.perspective)) {
                return Err(SynthError::Spec(
                    "rotation must be finite and perspective in 0..0.3".to_owned(),
                ));
            }
        }
        if !(self.blur_sigma.is_finite()
            && (0.0..=10.0).contains(&self.blur_sigma)
            && (0.0..=60.0).contains(&self.noise_sigma)
            && (0.05..=1.5).contains(&self.contrast)
            && (0.0..=2.0).contains(&self.glare))
        {
            return Err(SynthError::Spec(
                "blur, noise, contrast or glare out of range".to_owned(),
            ));
        }
        if let Some(q) = self.jpeg_quality
            && !(1..=100).contains(&q)
        {
            return Err(SynthError::Spec(format!(
                "JPEG quality {q} is outside 1..=100"
            )));
        }
        Ok(())
    }
}

/// The smallest module size a label is shrunk to; below it a label would be unreadable noise.
const MIN_FIT_MODULE: f32 = 0.6;
/// Label source rasters are drawn at this many times the frame resolution.
const OVERSAMPLE: f32 = 2.0;
/// The largest label source raster, in pixels, to bound memory for huge module sizes.
const MAX_SOURCE_PIXELS: f32 = 16.0e6;

/// Renders one frame. `rng` supplies the draws the spec leaves open: units (where the spec has
/// none), label positions and perspective, glare position and sensor noise.
pub fn render_frame(spec: &FrameSpec, rng: &mut Rng) -> Result<GeneratedFrame, SynthError> {
    render(spec, None, rng)
}

/// Renders one frame with each label centred on a given point in frame pixels (`centers[i]` for
/// `spec.labels[i]`), for camera sessions where boxes move through the view.
///
/// Unlike [`render_frame`], a label keeps its module size and may stand partly outside the
/// frame, as a box does while it is carried in or out; the labels' `center` fields and the
/// half-frame regions are ignored. Symbol and label corners may then lie outside the frame.
pub fn render_frame_at(
    spec: &FrameSpec,
    centers: &[(f32, f32)],
    rng: &mut Rng,
) -> Result<GeneratedFrame, SynthError> {
    if centers.len() != spec.labels.len()
        || centers
            .iter()
            .any(|c| !(c.0.is_finite() && c.1.is_finite()))
    {
        return Err(SynthError::Spec(format!(
            "{} finite label centres needed, {} given",
            spec.labels.len(),
            centers.len()
        )));
    }
    render(spec, Some(centers), rng)
}

fn render(
    spec: &FrameSpec,
    centers: Option<&[(f32, f32)]>,
    rng: &mut Rng,
) -> Result<GeneratedFrame, SynthError> {
    spec.validate()?;
    let (w, h) = (spec.width as usize, spec.height as usize);
    let mut canvas = background(w, h, spec.clutter, &mut Rng::new(spec.background_seed));
    let regions = regions(w as f32, h as f32, spec.labels.len());
    let mut units = Vec::new();
    let mut labels = Vec::new();
    let mut symbols = Vec::new();
    for (index, (ls, region)) in spec.labels.iter().zip(&regions).enumerate() {
        let unit = match &ls.unit {
            Some(u) => u.clone(),
            None => random_unit(rng),
        };
        let mut lay = layout::layout(ls.kind, &unit, &mut Rng::new(ls.layout_seed))?;
        if ls.inverted {
            std::mem::swap(&mut lay.paper, &mut lay.ink);
        }
        let (h_units, module_px) = match centers.and_then(|c| c.get(index)) {
            Some(&center) => pose_at(&lay, ls, center, rng)?,
            None => pose(&lay, ls, *region, rng)?,
        };
        warp_label(&mut canvas, &lay, &h_units, module_px);
        let to_frame = |(x, y): (f32, f32)| {
            let (fx, fy) = h_units.apply(f64::from(x), f64::from(y));
            (fx as f32, fy as f32)
        };
        for s in &lay.symbols {
            symbols.push(PlacedSymbol {
                format: s.format,
                text: s.text.clone(),
                corners: s.quad.map(to_frame),
                label: index,
            });
        }
        labels.push(PlacedLabel {
            kind: ls.kind,
            module_px,
            rotation_deg: ls.rotation_deg,
            perspective: ls.perspective,
            corners: [
                (0.0, 0.0),
                (lay.width, 0.0),
                (lay.width, lay.height),
                (0.0, lay.height),
            ]
            .map(to_frame),
        });
        units.push(unit);
    }
    degrade(&mut canvas, spec, &labels, rng);
    let mut image = canvas.to_gray();
    let mut jpeg = None;
    if let Some(q) = spec.jpeg_quality {
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, q).encode_image(&image)?;
        image = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)?.to_luma8();
        jpeg = Some(bytes);
    }
    Ok(GeneratedFrame {
        image,
        symbols,
        units,
        labels,
        jpeg_quality: spec.jpeg_quality,
        jpeg,
        spec: spec.clone(),
    })
}

/// The part of the frame each label may use: the whole frame, or halves along the long side.
fn regions(w: f32, h: f32, n: usize) -> Vec<[f32; 4]> {
    match n {
        0 => Vec::new(),
        1 => vec![[0.0, 0.0, w, h]],
        _ if w >= h => vec![[0.0, 0.0, w / 2.0, h], [w / 2.0, 0.0, w, h]],
        _ => vec![[0.0, 0.0, w, h / 2.0], [0.0, h / 2.0, w, h]],
    }
}

/// Four corners of a quadrilateral.
type Corners = [(f32, f32); 4];

/// The label's corners in label units, and the same corners centred and moved by the
/// perspective jitter (each corner independently, which also covers keystone and slight skew).
fn jittered_corners(lay: &Layout, ls: &LabelSpec, rng: &mut Rng) -> (Corners, Corners) {
    let (lw, lh) = (lay.width, lay.height);
    let diag = (lw * lw + lh * lh).sqrt();
    let base = [(0.0, 0.0), (lw, 0.0), (lw, lh), (0.0, lh)];
    let jitter = base.map(|(x, y)| {
        (
            x - lw / 2.0 + ls.perspective * diag * rng.range(-1.0, 1.0),
            y - lh / 2.0 + ls.perspective * diag * rng.range(-1.0, 1.0),
        )
    });
    (base, jitter)
}

/// Chooses where the label goes: the homography from label units to frame pixels and the
/// module size used (shrunk when the label would not fit its region).
fn pose(
    lay: &Layout,
    ls: &LabelSpec,
    region: [f32; 4],
    rng: &mut Rng,
) -> Result<(Homography, f32), SynthError> {
    let margin = 4.0;
    let avail_w = region[2] - region[0] - 2.0 * margin;
    let avail_h = region[3] - region[1] - 2.0 * margin;
    let (base, jitter) = jittered_corners(lay, ls, rng);
    let (sin, cos) = ls.rotation_deg.to_radians().sin_cos();
    let rotated = jitter.map(|(x, y)| (x * cos - y * sin, x * sin + y * cos));
    let min_x = rotated.iter().map(|p| p.0).fold(f32::INFINITY, f32::min);
    let max_x = rotated
        .iter()
        .map(|p| p.0)
        .fold(f32::NEG_INFINITY, f32::max);
    let min_y = rotated.iter().map(|p| p.1).fold(f32::INFINITY, f32::min);
    let max_y = rotated
        .iter()
        .map(|p| p.1)
        .fold(f32::NEG_INFINITY, f32::max);
    let (bw, bh) = (max_x - min_x, max_y - min_y);
    let module = ls.module_px.min(avail_w / bw).min(avail_h / bh);
    if module.is_nan() || module < MIN_FIT_MODULE {
        return Err(SynthError::Spec(format!(
            "a {} label needs {:.0}x{:.0} units at this angle; at {MIN_FIT_MODULE} px per module it does not fit {avail_w:.0}x{avail_h:.0}",
            ls.kind.tag(),
            bw,
            bh
        )));
    }
    let slack_x = avail_w - bw * module;
    let slack_y = avail_h - bh * module;
    let (fx, fy) = ls.center.map_or_else(
        || (rng.unit(), rng.unit()),
        |(cx, cy)| {
            // A requested centre is turned into the matching position of the bounding box.
            let want_x = cx * (region[2] - region[0]) - margin - bw * module / 2.0;
            let want_y = cy * (region[3] - region[1]) - margin - bh * module / 2.0;
            (
                if slack_x > 0.0 {
                    (want_x / slack_x).clamp(0.0, 1.0)
                } else {
                    0.5
                },
                if slack_y > 0.0 {
                    (want_y / slack_y).clamp(0.0, 1.0)
                } else {
                    0.5
                },
            )
        },
    );
    let left = region[0] + margin + fx * slack_x.max(0.0);
    let top = region[1] + margin + fy * slack_y.max(0.0);
    let dst = rotated.map(|(x, y)| {
        (
            f64::from(left + (x - min_x) * module),
            f64::from(top + (y - min_y) * module),
        )
    });
    let src = base.map(|(x, y)| (f64::from(x), f64::from(y)));
    let hom = Homography::from_points(&src, &dst)
        .ok_or_else(|| SynthError::Spec("degenerate label placement".to_owned()))?;
    Ok((hom, module))
}

/// Places the label centred on `center` (frame pixels) at its wanted module size, with the same
/// perspective jitter and rotation as [`pose`], without keeping it inside the frame.
fn pose_at(
    lay: &Layout,
    ls: &LabelSpec,
    center: (f32, f32),
    rng: &mut Rng,
) -> Result<(Homography, f32), SynthError> {
    let (base, jitter) = jittered_corners(lay, ls, rng);
    let (sin, cos) = ls.rotation_deg.to_radians().sin_cos();
    let module = ls.module_px;
    let dst = jitter.map(|(x, y)| {
        (
            f64::from(center.0 + (x * cos - y * sin) * module),
            f64::from(center.1 + (x * sin + y * cos) * module),
        )
    });
    let src = base.map(|(x, y)| (f64::from(x), f64::from(y)));
    let hom = Homography::from_points(&src, &dst)
        .ok_or_else(|| SynthError::Spec("degenerate label placement".to_owned()))?;
    Ok((hom, module))
}

/// Draws the label into the frame through `to_frame` (label units to frame pixels).
fn warp_label(canvas: &mut Canvas, lay: &Layout, to_frame: &Homography, module_px: f32) {
    let Some(to_label) = to_frame.inverse() else {
        return;
    };
    let mut scale = module_px * OVERSAMPLE;
    let area = lay.width * lay.height * scale * scale;
    if area > MAX_SOURCE_PIXELS {
        scale *= (MAX_SOURCE_PIXELS / area).sqrt();
    }
    let source = layout::shade(lay, scale);
    let corners = [
        (0.0, 0.0),
        (lay.width, 0.0),
        (lay.width, lay.height),
        (0.0, lay.height),
    ]
    .map(|(x, y)| to_frame.apply(f64::from(x), f64::from(y)));
    let x0 = corners
        .iter()
        .map(|p| p.0)
        .fold(f64::INFINITY, f64::min)
        .floor()
        .max(0.0) as usize;
    let y0 = corners
        .iter()
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .floor()
        .max(0.0) as usize;
    let x1 = (corners
        .iter()
        .map(|p| p.0)
        .fold(f64::NEG_INFINITY, f64::max)
        .ceil() as usize
        + 1)
    .min(canvas.width);
    let y1 = (corners
        .iter()
        .map(|p| p.1)
        .fold(f64::NEG_INFINITY, f64::max)
        .ceil() as usize
        + 1)
    .min(canvas.height);
    const SUB: [f64; 2] = [0.25, 0.75];
    let (lw, lh) = (f64::from(lay.width), f64::from(lay.height));
    for y in y0..y1 {
        for x in x0..x1 {
            let mut sum = 0.0;
            let mut inside = 0u32;
            for sy in SUB {
                for sx in SUB {
                    let (u, v) = to_label.apply(x as f64 + sx, y as f64 + sy);
                    if (0.0..=lw).contains(&u) && (0.0..=lh).contains(&v) {
                        sum += source.bicubic(u as f32 * scale, v as f32 * scale);
                        inside += 1;
                    }
                }
            }
            if inside > 0 {
                let idx = y * canvas.width + x;
                if let Some(p) = canvas.px.get_mut(idx) {
                    let alpha = inside as f32 / 4.0;
                    *p = *p * (1.0 - alpha) + sum / 4.0;
                }
            }
        }
    }
}

/// Fills the part of a rotated rectangle (local coordinates around `(cx, cy)`) with `value`.
#[allow(clippy::too_many_arguments)]
fn fill_rotated(
    c: &mut Canvas,
    cx: f32,
    cy: f32,
    angle: f32,
    r: [f32; 4],
    value: f32,
    alpha: f32,
    stripes: f32,
) {
    let (sin, cos) = angle.sin_cos();
    let pts = [(r[0], r[1]), (r[2], r[1]), (r[2], r[3]), (r[0], r[3])]
        .map(|(x, y)| (cx + x * cos - y * sin, cy + x * sin + y * cos));
    let x0 = pts
        .iter()
        .map(|p| p.0)
        .fold(f32::INFINITY, f32::min)
        .floor()
        .max(0.0) as usize;
    let y0 = pts
        .iter()
        .map(|p| p.1)
        .fold(f32::INFINITY, f32::min)
        .floor()
        .max(0.0) as usize;
    let x1 = (pts
        .iter()
        .map(|p| p.0)
        .fold(f32::NEG_INFINITY, f32::max)
        .ceil()
        .max(0.0) as usize)
        .min(c.width);
    let y1 = (pts
        .iter()
        .map(|p| p.1)
        .fold(f32::NEG_INFINITY, f32::max)
        .ceil()
        .max(0.0) as usize)
        .min(c.height);
    for y in y0..y1 {
        for x in x0..x1 {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let (u, v) = (dx * cos + dy * sin, -dx * sin + dy * cos);
            if u < r[0] || u >= r[2] || v < r[1] || v >= r[3] {
                continue;
            }
            if stripes > 0.0 && ((u - r[0]) / stripes).floor() as i64 % 2 == 1 {
                continue;
            }
            if let Some(p) = c.px.get_mut(y * c.width + x) {
                *p = *p * (1.0 - alpha) + value * alpha;
            }
        }
    }
}

const CLUTTER_TEXT: &[&str] = &[
    "RETURN",
    "GRADE A",
    "BATCH 42",
    "TESTED OK",
    "QTY 1",
    "SCREEN CRACK",
    "NO POWER",
    "TRAY 7",
];

/// A desk: a lit gradient with blotches, then boxes, papers, cables, printed text, vents and
/// stickers that give a decoder's locator edges and textures that are not barcodes.
fn background(w: usize, h: usize, clutter: usize, rng: &mut Rng) -> Canvas {
    let base = rng.range(70.0, 190.0);
    let (gx, gy) = (rng.range(-40.0, 40.0), rng.range(-40.0, 40.0));
    const GRID: usize = 6;
    let blotch: Vec<f32> = (0..GRID * GRID).map(|_| rng.normal() * 10.0).collect();
    let mut c = Canvas::new(w, h, 0.0);
    // Grid cell and fraction of every column, computed once rather than per pixel.
    let cell = |f: f32| {
        let g = f * (GRID - 1) as f32;
        let i = (g as usize).min(GRID - 2);
        (i, g - i as f32)
    };
    let columns: Vec<(usize, f32)> = (0..w).map(|x| cell(x as f32 / w as f32)).collect();
    let b = |i: usize, j: usize| blotch.get(j * GRID + i).copied().unwrap_or(0.0);
    for (y, row) in c.px.chunks_exact_mut(w).enumerate() {
        let fy = y as f32 / h as f32;
        let (j, ty) = cell(fy);
        let row_base = base + gy * (fy - 0.5);
        for (x, (p, &(i, tx))) in row.iter_mut().zip(&columns).enumerate() {
            let n = (b(i, j) * (1.0 - tx) + b(i + 1, j) * tx) * (1.0 - ty)
                + (b(i, j + 1) * (1.0 - tx) + b(i + 1, j + 1) * tx) * ty;
            *p = row_base + gx * (x as f32 / w as f32 - 0.5) + n;
        }
    }
    let (wf, hf) = (w as f32, h as f32);
    for _ in 0..clutter {
        let (cx, cy) = (rng.range(0.0, wf), rng.range(0.0, hf));
        let angle = rng.range(0.0, std::f32::consts::TAU);
        let value = rng.range(10.0, 245.0);
        match rng.below(6) {
            0 | 1 => {
                // A box, a sheet of paper or a phone face down.
                let (hw, hh) = (rng.range(0.05, 0.3) * wf, rng.range(0.05, 0.3) * hf);
                fill_rotated(&mut c, cx, cy, angle, [-hw, -hh, hw, hh], value, 1.0, 0.0);
                if rng.chance(0.5) {
                    let inset = rng.range(2.0, 8.0);
                    let v2 = rng.range(10.0, 245.0);
                    fill_rotated(
                        &mut c,
                        cx,
                        cy,
                        angle,
                        [-hw + inset, -hh + inset, hw - inset, hh - inset],
                        v2,
                        1.0,
                        0.0,
                    );
                }
            }
            2 => {
                // A cable or a table edge.
                let len = rng.range(0.3, 1.2) * wf;
                let thick = rng.range(1.5, 12.0);
                fill_rotated(
                    &mut c,
                    cx,
                    cy,
                    angle,
                    [-len / 2.0, -thick / 2.0, len / 2.0, thick / 2.0],
                    value,
                    1.0,
                    0.0,
                );
            }
            3 => {
                // Handwritten-note or printed text, the most barcode-like clutter for a locator.
                let px = rng.range(1.2, 3.5);
                let lines = 1 + rng.below(5);
                let ink = if value > 128.0 {
                    rng.range(10.0, 60.0)
                } else {
                    rng.range(190.0, 250.0)
                };
                for line in 0..lines {
                    let mut text = String::new();
                    for _ in 0..1 + rng.below(3) {
                        text.push_str(rng.pick(CLUTTER_TEXT).copied().unwrap_or("OK"));
                        text.push(' ');
                    }
                    let y = line as f32 * (font::HEIGHT + 2.0) * px;
                    for r in font::text_rects(&text, 0.0, y, px) {
                        fill_rotated(&mut c, cx, cy, angle, r, ink, 1.0, 0.0);
                    }
                }
            }
            4 => {
                // A vent or speaker grille: regular stripes, which must not read as a barcode.
                let (hw, hh) = (rng.range(10.0, 80.0), rng.range(5.0, 40.0));
                let period = rng.range(1.5, 6.0);
                fill_rotated(
                    &mut c,
                    cx,
                    cy,
                    angle,
                    [-hw, -hh, hw, hh],
                    value,
                    0.9,
                    period,
                );
            }
            _ => {
                // A round sticker or a coin.
                let r = rng.range(6.0, 50.0);
                let (x0, x1) = (
                    (cx - r).max(0.0) as usize,
                    ((cx + r).ceil() as usize).min(w),
                );
                let (y0, y1) = (
                    (cy - r).max(0.0) as usize,
                    ((cy + r).ceil() as usize).min(h),
                );
                for y in y0..y1 {
                    for x in x0..x1 {
                        let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
                        if dx * dx + dy * dy <= r * r
                            && let Some(p) = c.px.get_mut(y * w + x)
                        {
                            *p = value;
                        }
                    }
                }
            }
        }
    }
    c
}

/// Lighting, contrast, glare, blur and sensor noise, in the order light meets them.
fn degrade(c: &mut Canvas, spec: &FrameSpec, labels: &[PlacedLabel], rng: &mut Rng) {
    let (w, h) = (c.width, c.height);
    let (wf, hf) = (w as f32, h as f32);
    // Uneven light: a tilt across the frame and vignetting towards the corners.
    let gain = rng.range(0.85, 1.1);
    let (tx, ty) = (rng.range(-0.2, 0.2), rng.range(-0.2, 0.2));
    let vignette = rng.range(0.0, 0.35);
    let mid = 128.0 + rng.range(-30.0, 30.0);
    for y in 0..h {
        let fy = y as f32 / hf - 0.5;
        for x in 0..w {
            let fx = x as f32 / wf - 0.5;
            let light =
                gain * (1.0 + tx * fx + ty * fy) * (1.0 - vignette * (fx * fx + fy * fy) * 2.0);
            if let Some(p) = c.px.get_mut(y * w + x) {
                *p = (mid + (*p - mid) * spec.contrast) * light;
            }
        }
    }
    if spec.glare > 0.0 {
        // The highlight lands on or near a label, where it hurts; on an empty frame, anywhere.
        let (gx, gy) = match rng.pick(labels) {
            Some(l) => {
                let cx = l.corners.iter().map(|p| p.0).sum::<f32>() / 4.0;
                let cy = l.corners.iter().map(|p| p.1).sum::<f32>() / 4.0;
                (cx + rng.normal() * wf * 0.08, cy + rng.normal() * hf * 0.08)
            }
            None => (rng.range(0.0, wf), rng.range(0.0, hf)),
        };
        let radius = rng.range(0.04, 0.12) * (wf * wf + hf * hf).sqrt();
        let amp = spec.glare * rng.range(150.0, 260.0);
        let reach = radius * 3.0;
        let (x0, x1) = (
            (gx - reach).max(0.0) as usize,
            ((gx + reach).max(0.0) as usize).min(w),
        );
        let (y0, y1) = (
            (gy - reach).max(0.0) as usize,
            ((gy + reach).max(0.0) as usize).min(h),
        );
        for y in y0..y1 {
            for x in x0..x1 {
                let (dx, dy) = (x as f32 - gx, y as f32 - gy);
                if let Some(p) = c.px.get_mut(y * w + x) {
                    *p += amp * (-(dx * dx + dy * dy) / (2.0 * radius * radius)).exp();
                }
            }
        }
        // Sensor pixels saturate before the optics blur the highlight's edge.
        c.px.iter_mut().for_each(|p| *p = p.min(255.0));
    }
    gaussian_blur(c, spec.blur_sigma);
    if let Some(m) = spec.motion_blur {
        motion_blur(c, m.length, m.angle_deg);
    }
    // Read noise plus shot noise that grows with brightness.
    let shot = rng.range(0.0, 0.04);
    for p in &mut c.px {
        let sigma = (spec.noise_sigma * spec.noise_sigma + shot * p.max(0.0)).sqrt();
        *p += sigma * rng.fast_normal();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_label(kind: LabelKind, module_px: f32, rotation_deg: f32) -> FrameSpec {
        FrameSpec {
            width: 1280,
            height: 720,
            labels: vec![LabelSpec {
                kind,
                unit: None,
                layout_seed: 5,
                module_px,
                rotation_deg,
                perspective: 0.02,
                center: None,
                inverted: false,
            }],
            background_seed: 9,
            clutter: 8,
            blur_sigma: 0.5,
            motion_blur: None,
            glare: 0.0,
            noise_sigma: 2.0,
            contrast: 1.0,
            jpeg_quality: None,
        }
    }

    #[test]
    fn corners_follow_the_label_and_stay_inside() {
        for (i, kind) in LabelKind::ALL.into_iter().enumerate() {
            let spec = one_label(kind, 2.0, 33.0 + i as f32 * 100.0);
            let f = render_frame(&spec, &mut Rng::new(1)).expect("render_frame");
            assert_eq!(f.image.dimensions(), (1280, 720));
            assert_eq!(f.labels.len(), 1);
            assert!(!f.symbols.is_empty());
            for s in &f.symbols {
                for &(x, y) in &s.corners {
                    assert!((0.0..=1280.0).contains(&x) && (0.0..=720.0).contains(&y));
                }
                // The first edge of the outline runs at the label's rotation (up to perspective).
                let (dx, dy) = (
                    s.corners[1].0 - s.corners[0].0,
                    s.corners[1].1 - s.corners[0].1,
                );
                let angle = dy.atan2(dx).to_degrees();
                let diff = (angle - f.labels[0].rotation_deg).rem_euclid(360.0);
                assert!(
                    !(8.0..=352.0).contains(&diff),
                    "{angle} vs {}",
                    f.labels[0].rotation_deg
                );
            }
        }
    }

    #[test]
    fn oversized_labels_shrink_to_fit() {
        let mut spec = one_label(LabelKind::PhoneBox, 4.0, 45.0);
        spec.width = 640;
        spec.height = 480;
        let f = render_frame(&spec, &mut Rng::new(2)).expect("render_frame");
        assert!(f.labels[0].module_px < 2.0, "{:?}", f.labels[0]);
        assert_ne!(f.difficulty(), Difficulty::Easy);
    }

    #[test]
    fn jpeg_round_trip_keeps_bytes() {
        let mut spec = one_label(LabelKind::SimTray, 2.0, 0.0);
        spec.jpeg_quality = Some(60);
        let f = render_frame(&spec, &mut Rng::new(3)).expect("render_frame");
        let bytes = f.jpeg.as_ref().expect("jpeg bytes");
        let again = image::load_from_memory(bytes)
            .expect("load_from_memory")
            .to_luma8();
        assert_eq!(again, f.image);
        assert!(f.tags().contains(&"jpeg".to_owned()));
    }

    #[test]
    fn bad_specs_are_errors() {
        let mut spec = one_label(LabelKind::SimTray, 2.0, 0.0);
        spec.width = 10;
        assert!(matches!(
            render_frame(&spec, &mut Rng::new(0)),
            Err(SynthError::Spec(_))
        ));
        let mut spec = one_label(LabelKind::SimTray, f32::NAN, 0.0);
        assert!(render_frame(&spec, &mut Rng::new(0)).is_err());
        spec.labels[0].module_px = 2.0;
        spec.contrast = 0.0;
        assert!(render_frame(&spec, &mut Rng::new(0)).is_err());
    }
}
