//! Camera sessions: generated frame sequences in which boxes are carried in front of the camera,
//! with the ground truth a desk is judged by, and a scorer for the units a station recorded.
//!
//! A session is a folder of frames (`frame-00000.png`, ...) played at a virtual frame rate, and
//! `truth.json`. The truth lists **appearances**: contiguous presences of one label in view. A
//! label that leaves and comes back within `forget_ms` continues its appearance (the station
//! must not record it twice); one that was away for `forget_ms` or longer is a new appearance
//! (the station must record it again). Presence is geometric: a label is present in a frame
//! when any part of it is in the frame, readable or not.
//!
//! Output is a pure function of the kind and seed; frames are rendered on all cores, and the
//! output does not depend on their number.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SynthError;
use super::frame::{FrameSpec, LabelSpec, MotionBlur, render_frame_at};
use super::layout::{self, LabelKind};
use super::rng::Rng;
use super::unit::{UnitData, random_unit, unit_with_invalid_imei};
use crate::ident::checksum::luhn_valid;

/// The truth file's name inside a session folder.
pub const TRUTH_NAME: &str = "truth.json";
/// The frame size of sessions: a common camera mode in which held labels read reliably.
pub const SESSION_SIZE: (u32, u32) = (1280, 720);
/// The station's default `[labels] forget_ms`, which the truth's appearance merging follows.
pub const FORGET_MS: i64 = 2000;

/// What happens in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionKind {
    /// One box carried in (fast, blurred, partly in view, growing), held near-still, carried out.
    CarryInOut,
    /// The same, with the label held at any angle (never near-upright).
    AnyAngle,
    /// Two boxes carried in one after the other and held side by side.
    SideBySide,
    /// One box held while a second one is brought in close beside it, lingers and leaves.
    PassBy,
    /// One box shown, taken away for less than `forget_ms`, shown again: one appearance.
    ShortGap,
    /// One box shown, taken away for `forget_ms` or longer, shown again: two appearances.
    LongGap,
    /// One box whose label prints an IMEI with a wrong check digit.
    InvalidImei,
}

impl SessionKind {
    pub const ALL: [SessionKind; 7] = [
        SessionKind::CarryInOut,
        SessionKind::AnyAngle,
        SessionKind::SideBySide,
        SessionKind::PassBy,
        SessionKind::ShortGap,
        SessionKind::LongGap,
        SessionKind::InvalidImei,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::CarryInOut => "carry-in-out",
            SessionKind::AnyAngle => "any-angle",
            SessionKind::SideBySide => "side-by-side",
            SessionKind::PassBy => "pass-by",
            SessionKind::ShortGap => "short-gap",
            SessionKind::LongGap => "long-gap",
            SessionKind::InvalidImei => "invalid-imei",
        }
    }

    /// The kind of session `index` of a set: the kinds in turn, so any 7 consecutive sessions
    /// cover them all.
    pub fn for_index(index: usize) -> SessionKind {
        SessionKind::ALL[index % SessionKind::ALL.len()]
    }
}

/// One label of a session: the unit it shows and what it prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthLabel {
    pub label: usize,
    pub kind: LabelKind,
    pub unit: UnitData,
    /// The unit identifiers printed on the label (serial, valid IMEIs, EID, ICCID), each as the
    /// unit holds it; a complete record holds all of them.
    pub expected: Vec<String>,
    /// IMEIs printed on the label that fail their check digit, as printed.
    pub invalid_imeis: Vec<String>,
    /// Further printed values that name the product rather than the unit (GTIN, part number);
    /// they attribute a record to the label but are not required for completeness.
    pub other: Vec<String>,
}

/// One contiguous presence of a label in view (gaps shorter than `forget_ms` included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Appearance {
    pub label: usize,
    pub unit: UnitData,
    pub first_frame: usize,
    pub last_frame: usize,
    pub expected: Vec<String>,
    pub invalid_imeis: Vec<String>,
}

/// The ground truth of one session, written as `truth.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionTruth {
    pub kind: SessionKind,
    pub seed: u64,
    pub fps: f64,
    pub forget_ms: i64,
    pub width: u32,
    pub height: u32,
    pub frames: usize,
    pub labels: Vec<TruthLabel>,
    /// For each frame, the labels (indices into `labels`) with any part in view.
    pub present: Vec<Vec<usize>>,
    pub appearances: Vec<Appearance>,
}

impl SessionTruth {
    /// The virtual time of frame `index` in ms after frame 0, as the replay source stamps it.
    pub fn frame_ms(&self, index: usize) -> i64 {
        frame_ms(index, self.fps)
    }
}

fn frame_ms(index: usize, fps: f64) -> i64 {
    (index as f64 * 1000.0 / fps).round() as i64
}

/// Groups per-frame presence into appearances `(label, first_frame, last_frame)`, ordered by
/// first frame then label: a label seen again less than `forget_ms` after it was last seen
/// (frame time to frame time) continues its appearance.
pub fn appearance_windows(
    present: &[Vec<usize>],
    fps: f64,
    forget_ms: i64,
) -> Vec<(usize, usize, usize)> {
    let mut open: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    let mut done = Vec::new();
    for (frame, labels) in present.iter().enumerate() {
        for &label in labels {
            match open.get_mut(&label) {
                Some(w) if frame_ms(frame, fps) - frame_ms(w.1, fps) < forget_ms => w.1 = frame,
                Some(w) => {
                    done.push((label, w.0, w.1));
                    *w = (frame, frame);
                }
                None => {
                    open.insert(label, (frame, frame));
                }
            }
        }
    }
    done.extend(open.into_iter().map(|(label, (a, b))| (label, a, b)));
    done.sort_by_key(|&(label, first, _)| (first, label));
    done
}

/// Where one label is in one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    /// Centre in frame pixels (may lie outside the frame while the box comes in or goes out).
    pub x: f32,
    pub y: f32,
    pub rotation_deg: f32,
    /// Size relative to the held size (a box further from the camera looks smaller).
    pub scale: f32,
}

/// A label as it moves through a session.
#[derive(Debug, Clone)]
struct Actor {
    kind: LabelKind,
    unit: UnitData,
    layout_seed: u64,
    /// Module size while held, in frame pixels.
    module_px: f32,
    /// Layout size in module units.
    size: (f32, f32),
    poses: Vec<Option<Pose>>,
}

impl Actor {
    fn new(
        kind: LabelKind,
        unit: UnitData,
        module_px: f32,
        rng: &mut Rng,
    ) -> Result<Actor, SynthError> {
        let layout_seed = rng.next_u64();
        let lay = layout::layout(kind, &unit, &mut Rng::new(layout_seed))?;
        Ok(Actor {
            kind,
            unit,
            layout_seed,
            module_px,
            size: (lay.width, lay.height),
            poses: Vec::new(),
        })
    }

    /// Half the extent of the label's bounding box at `rotation_deg` and `scale`, in pixels.
    fn half_extent(&self, rotation_deg: f32, scale: f32) -> (f32, f32) {
        let (sin, cos) = rotation_deg.to_radians().sin_cos();
        let (w, h) = (
            self.size.0 * self.module_px * scale,
            self.size.1 * self.module_px * scale,
        );
        (
            (w * cos.abs() + h * sin.abs()) / 2.0,
            (w * sin.abs() + h * cos.abs()) / 2.0,
        )
    }

    fn last(&self) -> Option<Pose> {
        self.poses.last().copied().flatten()
    }

    /// Out of view for `n` frames.
    fn away(&mut self, n: usize) {
        self.poses.extend(std::iter::repeat_n(None, n));
    }

    /// Carried in from `edge` to `to` in `n` frames: fast at first, slowing down (ease-out),
    /// growing from 70 % as the box comes closer and turning into place. The first frame shows
    /// only about a third of the label.
    fn enter(&mut self, edge: Edge, to: Pose, n: usize, rng: &mut Rng) {
        let turn = rng.range(-15.0, 15.0);
        let start_scale = 0.7;
        let (hx, hy) = self.half_extent(to.rotation_deg + turn, start_scale);
        let (w, h) = (SESSION_SIZE.0 as f32, SESSION_SIZE.1 as f32);
        let (sx, sy) = match edge {
            Edge::Left => (-hx * 0.4, to.y),
            Edge::Right => (w + hx * 0.4, to.y),
            Edge::Top => (to.x, -hy * 0.4),
            Edge::Bottom => (to.x, h + hy * 0.4),
        };
        for k in 0..n {
            let s = (k + 1) as f32 / n as f32;
            let e = 1.0 - (1.0 - s) * (1.0 - s);
            let first = if k == 0 { 0.0 } else { e };
            self.poses.push(Some(Pose {
                x: sx + (to.x - sx) * first,
                y: sy + (to.y - sy) * first,
                rotation_deg: to.rotation_deg + turn * (1.0 - first),
                scale: start_scale + (to.scale - start_scale) * first,
            }));
        }
    }

    /// Held near-still for `n` frames: a slight hand drift and turn around the last pose.
    fn hold(&mut self, n: usize, rng: &mut Rng) {
        let Some(mut p) = self.last() else {
            return;
        };
        let (x0, y0, r0) = (p.x, p.y, p.rotation_deg);
        for _ in 0..n {
            p.x = (p.x + rng.normal() * 0.8).clamp(x0 - 12.0, x0 + 12.0);
            p.y = (p.y + rng.normal() * 0.8).clamp(y0 - 12.0, y0 + 12.0);
            p.rotation_deg = (p.rotation_deg + rng.normal() * 0.25).clamp(r0 - 3.0, r0 + 3.0);
            self.poses.push(Some(p));
        }
    }

    /// Moved slowly in a straight line to `(x, y)` over `n` frames.
    fn glide(&mut self, x: f32, y: f32, n: usize) {
        let Some(p) = self.last() else {
            return;
        };
        for k in 0..n {
            let s = (k + 1) as f32 / n as f32;
            self.poses.push(Some(Pose {
                x: p.x + (x - p.x) * s,
                y: p.y + (y - p.y) * s,
                ..p
            }));
        }
    }

    /// Carried out through `edge` in `n` frames: slow at first, then fast (ease-in); the last
    /// frame still shows about a third of the label.
    fn leave(&mut self, edge: Edge, n: usize, rng: &mut Rng) {
        let Some(p) = self.last() else {
            return;
        };
        let turn = rng.range(-15.0, 15.0);
        let end_scale = 0.8;
        let (hx, hy) = self.half_extent(p.rotation_deg + turn, end_scale);
        let (w, h) = (SESSION_SIZE.0 as f32, SESSION_SIZE.1 as f32);
        let (ex, ey) = match edge {
            Edge::Left => (-hx * 0.4, p.y),
            Edge::Right => (w + hx * 0.4, p.y),
            Edge::Top => (p.x, -hy * 0.4),
            Edge::Bottom => (p.x, h + hy * 0.4),
        };
        for k in 0..n {
            let s = (k + 1) as f32 / n as f32;
            let e = s * s;
            self.poses.push(Some(Pose {
                x: p.x + (ex - p.x) * e,
                y: p.y + (ey - p.y) * e,
                rotation_deg: p.rotation_deg + turn * e,
                scale: p.scale + (end_scale - p.scale) * e,
            }));
        }
    }

    /// A held pose for this label centred at `(x, y)`, moved inwards so the whole label and a
    /// margin for the drift stay in view.
    fn held_at(&self, x: f32, y: f32, rotation_deg: f32) -> Pose {
        let (hx, hy) = self.half_extent(rotation_deg, 1.0);
        let (w, h) = (SESSION_SIZE.0 as f32, SESSION_SIZE.1 as f32);
        let m = 20.0;
        let clamp = |v: f32, lo: f32, hi: f32| {
            if lo > hi {
                (lo + hi) / 2.0
            } else {
                v.clamp(lo, hi)
            }
        };
        Pose {
            x: clamp(x, hx + m, w - hx - m),
            y: clamp(y, hy + m, h - hy - m),
            rotation_deg,
            scale: 1.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    Left,
    Right,
    Top,
    Bottom,
}

const EDGES: [Edge; 4] = [Edge::Left, Edge::Right, Edge::Top, Edge::Bottom];

fn any_edge(rng: &mut Rng) -> Edge {
    rng.pick(&EDGES).copied().unwrap_or(Edge::Left)
}

/// A planned session: the truth and every label's pose in every frame, before rendering.
#[derive(Debug, Clone)]
pub struct SessionPlan {
    pub truth: SessionTruth,
    /// For each frame, `(label, pose)` of every label in view.
    pub poses: Vec<Vec<(usize, Pose)>>,
    actors: Vec<Actor>,
    background_seed: u64,
    noise_sigma: f32,
    contrast: f32,
}

/// Frames with no label before the first box comes and after the last one leaves.
const LEAD_FRAMES: usize = 8;
const TAIL_FRAMES: usize = 10;

fn upright(rng: &mut Rng) -> f32 {
    rng.range(-12.0, 12.0)
}

fn held_module(rng: &mut Rng) -> f32 {
    rng.range(2.1, 2.6)
}

fn single_kind(rng: &mut Rng) -> LabelKind {
    match rng.unit() {
        r if r < 0.6 => LabelKind::PhoneBox,
        r if r < 0.9 => LabelKind::BackLabel,
        _ => LabelKind::SimTray,
    }
}

/// Plans a session of `kind` from `seed` at `fps` frames per second.
///
/// Durations are in frames at 30 fps and scaled to `fps`, so a session lasts the same time at
/// any frame rate; the gaps of [`SessionKind::ShortGap`] and [`SessionKind::LongGap`] stay
/// clearly below and above [`FORGET_MS`].
pub fn plan_session(kind: SessionKind, seed: u64, fps: f64) -> Result<SessionPlan, SynthError> {
    if !(fps.is_finite() && (1.0..=240.0).contains(&fps)) {
        return Err(SynthError::Spec(format!(
            "frame rate {fps} is outside 1..=240"
        )));
    }
    let mut rng = Rng::derive(seed, kind as u64);
    let frames = |n: usize| ((n as f64 * fps / 30.0).round() as usize).max(1);
    let (w, h) = (SESSION_SIZE.0 as f32, SESSION_SIZE.1 as f32);
    let mut actors = Vec::new();
    match kind {
        SessionKind::CarryInOut | SessionKind::AnyAngle | SessionKind::InvalidImei => {
            let (label_kind, unit) = if kind == SessionKind::InvalidImei {
                // The phone-box label prints every IMEI, so the misprinted one is in view.
                (LabelKind::PhoneBox, unit_with_invalid_imei(&mut rng).0)
            } else {
                (single_kind(&mut rng), random_unit(&mut rng))
            };
            let mut a = Actor::new(label_kind, unit, held_module(&mut rng), &mut rng)?;
            let rotation = if kind == SessionKind::AnyAngle {
                rng.range(15.0, 345.0)
            } else {
                upright(&mut rng)
            };
            let to = a.held_at(w * rng.range(0.4, 0.6), h * rng.range(0.4, 0.6), rotation);
            a.away(frames(LEAD_FRAMES));
            let (n_in, n_hold, n_out) = (8 + rng.below(5), 36 + rng.below(25), 6 + rng.below(4));
            a.enter(any_edge(&mut rng), to, frames(n_in), &mut rng);
            a.hold(frames(n_hold), &mut rng);
            a.leave(any_edge(&mut rng), frames(n_out), &mut rng);
            actors.push(a);
        }
        SessionKind::SideBySide => {
            // A phone box and a back label fit side by side at holding size, with a gap of a
            // few symbol heights between them, so a station can tell them apart.
            let module = rng.range(2.0, 2.3);
            let mut left =
                Actor::new(LabelKind::PhoneBox, random_unit(&mut rng), module, &mut rng)?;
            let mut right = Actor::new(
                LabelKind::BackLabel,
                random_unit(&mut rng),
                module,
                &mut rng,
            )?;
            if rng.chance(0.5) {
                std::mem::swap(&mut left, &mut right);
            }
            let (rl, rr) = (rng.range(-6.0, 6.0), rng.range(-6.0, 6.0));
            let (lx, _) = left.half_extent(rl, 1.0);
            let (rx, _) = right.half_extent(rr, 1.0);
            let gap = ((w - 2.0 * lx - 2.0 * rx) / 2.0).max(60.0);
            let lpose = left.held_at(gap / 2.0 + lx, h * rng.range(0.4, 0.6), rl);
            let rpose = right.held_at(w - gap / 2.0 - rx, h * rng.range(0.4, 0.6), rr);
            let stagger = frames(10 + rng.below(20));
            let (n_in, n_hold) = (frames(8 + rng.below(4)), frames(45 + rng.below(20)));
            left.away(frames(LEAD_FRAMES));
            left.enter(Edge::Left, lpose, n_in, &mut rng);
            left.hold(stagger + n_hold, &mut rng);
            left.leave(Edge::Left, frames(7), &mut rng);
            right.away(frames(LEAD_FRAMES) + stagger);
            right.enter(Edge::Right, rpose, n_in, &mut rng);
            right.hold(n_hold + frames(rng.below(10)), &mut rng);
            right.leave(Edge::Right, frames(7), &mut rng);
            actors.push(left);
            actors.push(right);
        }
        SessionKind::PassBy => {
            // A box held on the left while a second one comes in from the right, slides in close
            // beside it (a gap of about one symbol height), lingers briefly and goes back out.
            let held_kind = not_tray(single_kind(&mut rng));
            let mut held = Actor::new(
                held_kind,
                random_unit(&mut rng),
                held_module(&mut rng),
                &mut rng,
            )?;
            let module = rng.range(2.0, 2.4);
            let mut passer = Actor::new(
                LabelKind::BackLabel,
                random_unit(&mut rng),
                module,
                &mut rng,
            )?;
            let rh = upright(&mut rng) * 0.5;
            let (hx, _) = held.half_extent(rh, 1.0);
            let hpose = held.held_at(20.0 + hx, h * rng.range(0.4, 0.6), rh);
            let rp = upright(&mut rng) * 0.5;
            let (px, _) = passer.half_extent(rp, 1.0);
            let close = rng.range(25.0, 70.0);
            let near_x = hpose.x + hx + close + px;
            let far = passer.held_at(w - px - 20.0, hpose.y + rng.range(-40.0, 40.0), rp);
            held.away(frames(LEAD_FRAMES));
            held.enter(Edge::Left, hpose, frames(10), &mut rng);
            let settle = frames(20 + rng.below(15));
            let (n_in, n_glide, n_linger, n_out) =
                (frames(9), frames(18), frames(12 + rng.below(10)), frames(8));
            held.hold(
                settle + n_in + n_glide + n_linger + n_glide + n_out + frames(10),
                &mut rng,
            );
            held.leave(Edge::Left, frames(7), &mut rng);
            passer.away(frames(LEAD_FRAMES) + frames(10) + settle);
            passer.enter(Edge::Right, far, n_in, &mut rng);
            passer.glide(near_x, far.y, n_glide);
            passer.hold(n_linger, &mut rng);
            passer.glide(far.x, far.y, n_glide);
            passer.leave(Edge::Right, n_out, &mut rng);
            actors.push(held);
            actors.push(passer);
        }
        SessionKind::ShortGap | SessionKind::LongGap => {
            let mut a = Actor::new(
                single_kind(&mut rng),
                random_unit(&mut rng),
                held_module(&mut rng),
                &mut rng,
            )?;
            // The gap counts from the last frame with the label in view to the next one; the
            // frames in between are empty. The station loses sight of a blurred box a little
            // before it leaves, so the short gap stays well below forget_ms.
            let gap_frames = if kind == SessionKind::ShortGap {
                frames(12 + rng.below(18))
            } else {
                frames(78 + rng.below(15))
            };
            a.away(frames(LEAD_FRAMES));
            for _ in 0..2 {
                let to = a.held_at(
                    w * rng.range(0.35, 0.65),
                    h * rng.range(0.35, 0.65),
                    upright(&mut rng),
                );
                a.enter(any_edge(&mut rng), to, frames(8 + rng.below(4)), &mut rng);
                a.hold(frames(30 + rng.below(20)), &mut rng);
                a.leave(any_edge(&mut rng), frames(6 + rng.below(4)), &mut rng);
                a.away(gap_frames.saturating_sub(1));
            }
            // The loop left one gap too many after the second showing; trim it back to the tail.
            let keep = a
                .poses
                .iter()
                .rposition(Option::is_some)
                .map_or(0, |i| i + 1);
            a.poses.truncate(keep);
            actors.push(a);
        }
    }
    let total = actors.iter().map(|a| a.poses.len()).max().unwrap_or(0) + frames(TAIL_FRAMES);
    let mut poses: Vec<Vec<(usize, Pose)>> = vec![Vec::new(); total];
    for (i, a) in actors.iter().enumerate() {
        for (f, p) in a.poses.iter().enumerate() {
            if let (Some(p), Some(slot)) = (p, poses.get_mut(f)) {
                slot.push((i, *p));
            }
        }
    }
    let present: Vec<Vec<usize>> = poses
        .iter()
        .map(|ps| ps.iter().map(|&(i, _)| i).collect())
        .collect();
    let labels: Vec<TruthLabel> = actors
        .iter()
        .enumerate()
        .map(|(i, a)| truth_label(i, a))
        .collect::<Result<_, _>>()?;
    let appearances = appearance_windows(&present, fps, FORGET_MS)
        .into_iter()
        .filter_map(|(label, first_frame, last_frame)| {
            labels.get(label).map(|l| Appearance {
                label,
                unit: l.unit.clone(),
                first_frame,
                last_frame,
                expected: l.expected.clone(),
                invalid_imeis: l.invalid_imeis.clone(),
            })
        })
        .collect();
    Ok(SessionPlan {
        truth: SessionTruth {
            kind,
            seed,
            fps,
            forget_ms: FORGET_MS,
            width: SESSION_SIZE.0,
            height: SESSION_SIZE.1,
            frames: total,
            labels,
            present,
            appearances,
        },
        poses,
        background_seed: rng.next_u64(),
        noise_sigma: rng.range(1.2, 2.5),
        contrast: rng.range(0.85, 1.0),
        actors,
    })
}

/// SIM trays are too small to stand beside another label at a useful module size; a pass-by
/// holds a box or back label instead.
fn not_tray(kind: LabelKind) -> LabelKind {
    match kind {
        LabelKind::SimTray => LabelKind::BackLabel,
        k => k,
    }
}

/// What a label prints, read from its layout: a value counts as printed when a symbol's text
/// contains it (the serial inside `S...` or a GS1 element string, an IMEI in its Code 128).
fn truth_label(index: usize, a: &Actor) -> Result<TruthLabel, SynthError> {
    let lay = layout::layout(a.kind, &a.unit, &mut Rng::new(a.layout_seed))?;
    let printed = |v: &str| !v.is_empty() && lay.symbols.iter().any(|s| s.text.contains(v));
    let u = &a.unit;
    let mut expected = Vec::new();
    let mut invalid_imeis = Vec::new();
    if printed(&u.serial) {
        expected.push(u.serial.clone());
    }
    for imei in &u.imeis {
        if printed(imei) {
            if luhn_valid(imei.as_bytes()) {
                expected.push(imei.clone());
            } else {
                invalid_imeis.push(imei.clone());
            }
        }
    }
    for v in [&u.eid, &u.iccid].into_iter().flatten() {
        if printed(v) {
            expected.push(v.clone());
        }
    }
    let mut other = Vec::new();
    if printed(u.gtin.trim_start_matches('0')) {
        other.push(u.gtin.clone());
    }
    if printed(&u.part) {
        other.push(u.part.clone());
    }
    Ok(TruthLabel {
        label: index,
        kind: a.kind,
        unit: a.unit.clone(),
        expected,
        invalid_imeis,
        other,
    })
}

/// How much of the frame interval the shutter is open: a box moving `v` px per frame smears
/// over `v * EXPOSURE_SHARE` pixels.
const EXPOSURE_SHARE: f32 = 0.3;
const MAX_SMEAR_PX: f32 = 14.0;

/// The spec of frame `index` and its label centres.
///
/// Motion blur applies to the whole frame in [`render_frame_at`], so a frame takes the smear of
/// its fastest label; a still label beside a moving one is blurred too, which makes two-box
/// frames a little harder than a real camera would.
fn frame_spec(plan: &SessionPlan, index: usize) -> (FrameSpec, Vec<(f32, f32)>) {
    let now = plan.poses.get(index).cloned().unwrap_or_default();
    let before = index.checked_sub(1).and_then(|i| plan.poses.get(i));
    let after = plan.poses.get(index + 1);
    let mut labels = Vec::new();
    let mut centers = Vec::new();
    let mut smear: Option<MotionBlur> = None;
    for &(i, p) in &now {
        let Some(a) = plan.actors.get(i) else {
            continue;
        };
        // The label's motion over one frame interval: from the previous frame, or towards the
        // next one on the first frame of an entry.
        let find = |f: Option<&Vec<(usize, Pose)>>| {
            f.and_then(|ps| ps.iter().find(|(j, _)| *j == i).map(|&(_, q)| q))
        };
        let step = match (find(before), find(after)) {
            (Some(q), _) => Some((p.x - q.x, p.y - q.y)),
            (None, Some(q)) => Some((q.x - p.x, q.y - p.y)),
            (None, None) => None,
        };
        if let Some((dx, dy)) = step {
            let length = ((dx * dx + dy * dy).sqrt() * EXPOSURE_SHARE).min(MAX_SMEAR_PX);
            if length >= 1.0 && smear.is_none_or(|m| m.length < length) {
                smear = Some(MotionBlur {
                    length,
                    angle_deg: dy.atan2(dx).to_degrees().rem_euclid(180.0),
                });
            }
        }
        labels.push(LabelSpec {
            kind: a.kind,
            unit: Some(a.unit.clone()),
            layout_seed: a.layout_seed,
            module_px: (a.module_px * p.scale).max(0.5),
            rotation_deg: p.rotation_deg,
            perspective: 0.008,
            center: None,
            inverted: false,
        });
        centers.push((p.x, p.y));
    }
    (
        FrameSpec {
            width: SESSION_SIZE.0,
            height: SESSION_SIZE.1,
            labels,
            background_seed: plan.background_seed,
            clutter: 6,
            blur_sigma: 0.45,
            motion_blur: smear,
            glare: 0.0,
            noise_sigma: plan.noise_sigma,
            contrast: plan.contrast,
            jpeg_quality: None,
        },
        centers,
    )
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Renders and writes frame `index` of the plan as `frame-NNNNN.png` in `dir`.
fn write_frame(dir: &Path, plan: &SessionPlan, index: usize) -> Result<(), SynthError> {
    let (spec, centers) = frame_spec(plan, index);
    let mut rng = Rng::derive(plan.truth.seed ^ 0x5E55_1011, index as u64);
    let frame = render_frame_at(&spec, &centers, &mut rng)?;
    let path = dir.join(format!("frame-{index:05}.png"));
    frame
        .image
        .save_with_format(&path, image::ImageFormat::Png)?;
    Ok(())
}

/// Writes the plan's frames and `truth.json` into `dir` (created when missing; stale frames of
/// an earlier, longer session are removed so a replay sees only this one).
pub fn write_session(dir: &Path, plan: &SessionPlan) -> Result<(), SynthError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    for entry in fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(Result::ok)
    {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("frame-") && name.ends_with(".png") {
            let path = entry.path();
            fs::remove_file(&path).map_err(io_err(&path))?;
        }
    }
    let count = plan.truth.frames;
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, count.max(1));
    let results: Vec<Result<(), SynthError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|k| {
                s.spawn(move || {
                    (k..count)
                        .step_by(workers)
                        .try_for_each(|i| write_frame(dir, plan, i))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| SynthError::Worker).and_then(|r| r))
            .collect()
    });
    for r in results {
        r?;
    }
    let path = dir.join(TRUTH_NAME);
    let text = serde_json::to_string_pretty(&plan.truth)?;
    fs::write(&path, text).map_err(io_err(&path))?;
    Ok(())
}

/// Plans and writes one session; returns its truth.
pub fn generate_session(
    dir: &Path,
    kind: SessionKind,
    seed: u64,
    fps: f64,
) -> Result<SessionTruth, SynthError> {
    let plan = plan_session(kind, seed, fps)?;
    write_session(dir, &plan)?;
    Ok(plan.truth)
}

/// Reads a session's `truth.json`.
pub fn read_truth(dir: &Path) -> Result<SessionTruth, SynthError> {
    let path: PathBuf = dir.join(TRUTH_NAME);
    let text = fs::read_to_string(&path).map_err(io_err(&path))?;
    Ok(serde_json::from_str(&text)?)
}

/// The final state of one unit as the station reported it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordedUnit {
    pub id: i64,
    /// Every value the unit holds: serial, IMEIs, EID, ICCID, GTIN, part, MEID, ESN.
    pub values: Vec<String>,
    /// IMEIs the station flagged on the unit as failing their check digit, as printed.
    pub invalid_imeis: Vec<String>,
    /// When the unit was opened and closed, in ms after the session's frame 0.
    pub opened_ms: i64,
    pub closed_ms: Option<i64>,
    /// A later event added a value read after the unit was first reported.
    pub amended: bool,
}

/// Desk scores of one session, or of several summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionScore {
    /// Appearances: one record each is expected.
    pub expected: usize,
    /// Appearances whose best unit holds all their expected identifiers.
    pub complete: usize,
    /// Appearances whose best unit holds only some of them.
    pub partial: usize,
    /// Appearances without any unit.
    pub missed: usize,
    /// Units attributed to an appearance beyond its first.
    pub duplicates: usize,
    /// Units holding values of two or more different labels.
    pub wrong_pairs: usize,
    /// Appearances whose label prints an invalid IMEI.
    pub invalid_expected: usize,
    /// Of those, appearances where no unit lists every invalid IMEI in `invalid_imeis`.
    pub invalid_unflagged: usize,
    /// Units the station reported.
    pub units: usize,
    /// Units sharing no value with any label, or far (beyond `forget_ms`) from every
    /// appearance of the label they share values with.
    pub unattributed: usize,
    /// Units that were amended after their first report.
    pub amended: usize,
}

impl std::ops::AddAssign for SessionScore {
    fn add_assign(&mut self, o: SessionScore) {
        self.expected += o.expected;
        self.complete += o.complete;
        self.partial += o.partial;
        self.missed += o.missed;
        self.duplicates += o.duplicates;
        self.wrong_pairs += o.wrong_pairs;
        self.invalid_expected += o.invalid_expected;
        self.invalid_unflagged += o.invalid_unflagged;
        self.units += o.units;
        self.unattributed += o.unattributed;
        self.amended += o.amended;
    }
}

/// Values compared as a desk would: case-insensitive, and numbers without leading zeros, so a
/// GTIN-13 matches its GTIN-14.
fn norm(v: &str) -> String {
    let v = v.trim().to_ascii_uppercase();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        let t = v.trim_start_matches('0');
        if t.is_empty() {
            "0".to_owned()
        } else {
            t.to_owned()
        }
    } else {
        v
    }
}

/// Scores the units a station reported for one session against its truth.
///
/// Each unit is attributed to at most one appearance: the label it shares the most values with
/// (ties go to the lower label index), then that label's appearance nearest in time (the
/// unit's open-to-close span against the appearance's frame window); a unit further than
/// `forget_ms` from every appearance of its label is unattributed. A unit holding values of two
/// labels counts as a wrong pair and is still attributed to its main label, so a polluted
/// record is visible both ways.
pub fn score(truth: &SessionTruth, units: &[RecordedUnit]) -> SessionScore {
    let label_values: Vec<Vec<String>> = truth
        .labels
        .iter()
        .map(|l| {
            l.expected
                .iter()
                .chain(&l.invalid_imeis)
                .chain(&l.other)
                .map(|v| norm(v))
                .collect()
        })
        .collect();
    let mut attributed: Vec<Vec<&RecordedUnit>> = vec![Vec::new(); truth.appearances.len()];
    let mut s = SessionScore {
        units: units.len(),
        amended: units.iter().filter(|u| u.amended).count(),
        ..SessionScore::default()
    };
    for u in units {
        let held: Vec<String> = u.values.iter().map(|v| norm(v)).collect();
        let touched: Vec<(usize, usize)> = label_values
            .iter()
            .enumerate()
            .map(|(i, vals)| (i, vals.iter().filter(|v| held.contains(v)).count()))
            .filter(|&(_, n)| n > 0)
            .collect();
        if touched.len() >= 2 {
            s.wrong_pairs += 1;
        }
        let Some(label) = touched
            .iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|&(i, _)| i)
        else {
            s.unattributed += 1;
            continue;
        };
        let (open, close) = (
            u.opened_ms,
            u.closed_ms.unwrap_or(u.opened_ms).max(u.opened_ms),
        );
        let nearest = truth
            .appearances
            .iter()
            .enumerate()
            .filter(|(_, a)| a.label == label)
            .map(|(i, a)| {
                let (first, last) = (truth.frame_ms(a.first_frame), truth.frame_ms(a.last_frame));
                (i, (first - close).max(open - last).max(0))
            })
            .min_by_key(|&(i, distance)| (distance, i));
        match nearest {
            Some((i, distance)) if distance <= truth.forget_ms => {
                if let Some(list) = attributed.get_mut(i) {
                    list.push(u);
                }
            }
            _ => s.unattributed += 1,
        }
    }
    for (a, list) in truth.appearances.iter().zip(&attributed) {
        s.expected += 1;
        let want: Vec<String> = a.expected.iter().map(|v| norm(v)).collect();
        let best = list
            .iter()
            .map(|u| {
                let held: Vec<String> = u.values.iter().map(|v| norm(v)).collect();
                want.iter().filter(|v| held.contains(v)).count()
            })
            .max();
        match best {
            None => s.missed += 1,
            Some(n) if n >= want.len() => s.complete += 1,
            Some(_) => s.partial += 1,
        }
        s.duplicates += list.len().saturating_sub(1);
        if !a.invalid_imeis.is_empty() {
            s.invalid_expected += 1;
            let flagged = list.iter().any(|u| {
                let listed: Vec<String> = u.invalid_imeis.iter().map(|v| norm(v)).collect();
                a.invalid_imeis.iter().all(|v| listed.contains(&norm(v)))
            });
            if !flagged {
                s.invalid_unflagged += 1;
            }
        }
    }
    s
}
