//! `decode::stream`: what the last frames of a live stream say about the next one.
//!
//! A label in front of a camera stays for many frames and moves little between two of them. So
//! the places where symbols were read in the last frames, moved by their motion, are where this
//! frame's symbols most likely are, and where the unread symbols of the same labels are.
//! [`Focus`] keeps those places and turns them into a [`FramePlan`]: the decoder reads the
//! located regions inside them first and the rest of the frame after, so that a frame budget
//! too short for the whole frame is spent on the labels being read.
//!
//! Pure: the time comes in with each frame, and nothing here reads a clock or a device.

use super::{Format, Symbol};

/// An axis-aligned rectangle in frame pixels: `x0, y0, x1, y1`.
pub type Rect = [f32; 4];

/// How a frame source decodes a moving picture (`[decode] focus` and `frame_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// Decode first where the last frames read symbols.
    pub focus: bool,
    /// The soft budget of one frame, in ms: after it the decoder starts no new work. `None`
    /// keeps the decoder's own soft deadline (a share of `budget_ms`).
    pub frame_ms: Option<u64>,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            focus: true,
            frame_ms: None,
        }
    }
}

/// How a frame is decoded within a stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FramePlan {
    /// Regions to decode first: located symbols whose centre lies in one of them go before the
    /// others, whatever their score.
    pub focus: Vec<Rect>,
    /// Places where located regions read nothing in the last frames: a region found at such a
    /// place again goes after the fresh ones.
    pub avoid: Vec<Rect>,
    /// Places that read nothing so often that this frame leaves them out.
    pub rest: Vec<Rect>,
    /// After this many ms the decoder starts no new work and returns what it has (the frame
    /// budget of a live stream); `None` keeps the decoder's own soft deadline, a share of
    /// `budget_ms`.
    pub soft_ms: Option<f64>,
}

impl FramePlan {
    /// Whether the point lies in a focus region.
    pub fn in_focus(&self, x: f32, y: f32) -> bool {
        self.focus
            .iter()
            .any(|r| x >= r[0] && x <= r[2] && y >= r[1] && y <= r[3])
    }

    /// Where a located region with this bounding box goes in the frame's work.
    pub fn priority(&self, r: &Rect) -> Priority {
        let (cx, cy) = center(r);
        let focus = self.in_focus(cx, cy);
        if self.rest.iter().any(|a| same_place(a, r)) {
            return Priority::Rest;
        }
        let failed = self.avoid.iter().any(|a| same_place(a, r));
        match (failed, focus) {
            (false, true) => Priority::Focus,
            (false, false) => Priority::Fresh,
            (true, true) => Priority::FailedInFocus,
            (true, false) => Priority::Failed,
        }
    }
}

/// The rank of a located region in a frame's work, first to last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Near symbols read in the last frames: their labels, and the unread symbols on them.
    Focus,
    /// Anywhere else, and not known to fail: a label coming into view.
    Fresh,
    /// Near symbols read in the last frames, but this place read nothing lately (the label's
    /// text, or one of its symbols still too blurred).
    FailedInFocus,
    /// Read nothing at this place in the last frames, away from any label being read.
    Failed,
    /// Left out of this frame: it read nothing in many frames in a row.
    Rest,
}

impl Priority {
    pub fn focus(self) -> bool {
        matches!(self, Priority::Focus | Priority::FailedInFocus)
    }
}

fn center(r: &Rect) -> (f32, f32) {
    (0.5 * (r[0] + r[2]), 0.5 * (r[1] + r[3]))
}

/// Whether two boxes are the same region seen in two frames: centres closer than half the
/// larger side, and sides within a factor of two.
fn same_place(a: &Rect, b: &Rect) -> bool {
    let side = |r: &Rect| (r[2] - r[0]).max(r[3] - r[1]).max(1.0);
    let (sa, sb) = (side(a), side(b));
    let (ca, cb) = (center(a), center(b));
    let d = ((ca.0 - cb.0).powi(2) + (ca.1 - cb.1).powi(2)).sqrt();
    d < 0.5 * sa.max(sb) && sa.max(sb) < 2.0 * sa.min(sb)
}

/// What a decode with a plan did, beside its symbols.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    pub symbols: Vec<Symbol>,
    /// How many located regions lay inside the focus.
    pub focus_jobs: usize,
    /// How many lay outside it, and how many of those were decoded (the others were left out
    /// by the rest rule, or not reached before the soft deadline).
    pub other_jobs: usize,
    pub other_done: usize,
    /// Whether the soft deadline stopped work that was still to do.
    pub cut: bool,
    /// When the focus regions were done, in ms from the frame's start (`None` without focus).
    pub focus_ms: Option<f64>,
    /// The bounding boxes of the located regions that were decoded and read nothing.
    pub failed: Vec<Rect>,
    /// Located regions left out because they kept reading nothing.
    pub rested: usize,
}

/// The knobs of [`Focus`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FocusParams {
    /// A symbol not read again for this long no longer draws the focus: the label left, or
    /// was covered.
    pub hold_ms: i64,
    /// Around a symbol, the focus reaches this many times the symbol's larger side, so that it
    /// covers the rest of its label (the other symbols of a box label lie within about one
    /// symbol length of each other).
    pub reach: f32,
    /// Motion between two reads further apart than this is not trusted for prediction.
    pub max_motion_gap_ms: i64,
    /// The most symbols followed at once, and the most failed places remembered.
    pub max_symbols: usize,
    /// A place that read nothing in this many frames in a row is tried after the fresh ones.
    pub failures_to_avoid: u32,
    /// A place that read nothing in `failures_to_avoid` frames in a row is then left out of
    /// this many frames before it is tried again (0: never left out).
    pub rest_frames: u32,
}

impl Default for FocusParams {
    fn default() -> Self {
        FocusParams {
            hold_ms: 500,
            reach: 0.75,
            max_motion_gap_ms: 200,
            max_symbols: 48,
            failures_to_avoid: 2,
            rest_frames: 1,
        }
    }
}

/// One symbol followed over frames.
#[derive(Debug, Clone)]
struct Followed {
    format: Format,
    text: String,
    at_ms: i64,
    center: (f32, f32),
    extent: f32,
    /// Pixels per ms, from its last two reads when they were close enough in time.
    velocity: (f32, f32),
}

/// A place where a located region read nothing.
#[derive(Debug, Clone)]
struct Failure {
    rect: Rect,
    at_ms: i64,
    /// Frames in a row in which a region at this place read nothing.
    count: u32,
    /// Frames since it was last tried.
    rested: u32,
}

/// The places of the symbols read in the last frames, predicted forward, and of the regions
/// that read nothing.
#[derive(Debug, Clone, Default)]
pub struct Focus {
    params: FocusParams,
    followed: Vec<Followed>,
    failures: Vec<Failure>,
}

impl Focus {
    pub fn new(params: FocusParams) -> Focus {
        Focus {
            params,
            followed: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// The focus regions for a frame taken at `at_ms`: each followed symbol's box moved by its
    /// velocity, grown by `reach` and by the distance it moved (the prediction is less sure the
    /// faster it goes), clipped to `width` x `height`.
    pub fn regions(&self, at_ms: i64, width: u32, height: u32) -> Vec<Rect> {
        let (w, h) = (width as f32, height as f32);
        let mut out: Vec<Rect> = Vec::new();
        for f in &self.followed {
            let age = at_ms - f.at_ms;
            if !(0..=self.params.hold_ms).contains(&age) {
                continue;
            }
            let dt = age as f32;
            let (dx, dy) = (f.velocity.0 * dt, f.velocity.1 * dt);
            let (cx, cy) = (f.center.0 + dx, f.center.1 + dy);
            let half = f.extent * (0.5 + self.params.reach) + 0.5 * (dx.abs() + dy.abs()) + 8.0;
            let r = [
                (cx - half).max(0.0),
                (cy - half).max(0.0),
                (cx + half).min(w),
                (cy + half).min(h),
            ];
            if r[2] <= r[0] || r[3] <= r[1] {
                continue;
            }
            // Overlapping regions are merged, so a label's symbols make one region.
            if let Some(o) = out.iter_mut().find(|o| overlaps(o, &r)) {
                *o = [
                    o[0].min(r[0]),
                    o[1].min(r[1]),
                    o[2].max(r[2]),
                    o[3].max(r[3]),
                ];
            } else {
                out.push(r);
            }
        }
        out
    }

    /// The plan for a frame taken at `at_ms`.
    pub fn plan(&self, at_ms: i64, width: u32, height: u32, soft_ms: Option<f64>) -> FramePlan {
        let hold = self.params.hold_ms;
        FramePlan {
            rest: self
                .failures
                .iter()
                .filter(|f| {
                    f.count >= self.params.failures_to_avoid
                        && f.rested < self.params.rest_frames
                        && (0..=hold).contains(&(at_ms - f.at_ms))
                })
                .map(|f| f.rect)
                .collect(),
            focus: self.regions(at_ms, width, height),
            avoid: self
                .failures
                .iter()
                .filter(|f| {
                    f.count >= self.params.failures_to_avoid
                        && (0..=self.params.hold_ms).contains(&(at_ms - f.at_ms))
                })
                .map(|f| f.rect)
                .collect(),
            soft_ms,
        }
    }

    /// Takes in what a decode with a plan did: its symbols, and the regions that read nothing.
    pub fn observe_decoded(&mut self, at_ms: i64, decoded: &Decoded) {
        self.observe(at_ms, &decoded.symbols);
        for f in &mut self.failures {
            if !decoded.failed.iter().any(|r| same_place(&f.rect, r)) {
                // Not tried, or tried and read: either way the run of failures is broken,
                // unless the frame did not get to it (the deadline), which says nothing.
                let read_here = decoded.symbols.iter().any(|s| {
                    let (x, y) = s.center();
                    x >= f.rect[0] && x <= f.rect[2] && y >= f.rect[1] && y <= f.rect[3]
                });
                if read_here {
                    f.count = 0;
                } else {
                    f.rested += 1;
                }
            }
        }
        for r in &decoded.failed {
            match self.failures.iter_mut().find(|f| same_place(&f.rect, r)) {
                Some(f) => {
                    f.rect = *r;
                    f.at_ms = at_ms;
                    f.count = f.count.saturating_add(1);
                    f.rested = 0;
                }
                None => self.failures.push(Failure {
                    rect: *r,
                    at_ms,
                    count: 1,
                    rested: 0,
                }),
            }
        }
        let hold = self.params.hold_ms;
        self.failures
            .retain(|f| f.count > 0 && (0..=hold).contains(&(at_ms - f.at_ms)));
        // The most places kept: a frame of clutter can fail hundreds of regions, and the
        // newest say most about the next frame.
        let cap = 4 * self.params.max_symbols;
        if self.failures.len() > cap {
            self.failures.sort_by_key(|f| std::cmp::Reverse(f.at_ms));
            self.failures.truncate(cap);
        }
    }

    /// Takes in the symbols read in the frame taken at `at_ms`. A symbol read again (the same
    /// format and text, near where it was predicted) updates its place and velocity; a new one
    /// is followed from here; those not read for `hold_ms` are dropped.
    pub fn observe(&mut self, at_ms: i64, symbols: &[Symbol]) {
        let hold = self.params.hold_ms;
        for s in symbols {
            let center = s.center();
            let extent = super::extent(s);
            let found = self.followed.iter_mut().find(|f| {
                if f.format != s.format || f.text != s.text {
                    return false;
                }
                let dt = (at_ms - f.at_ms) as f32;
                let px = f.center.0 + f.velocity.0 * dt;
                let py = f.center.1 + f.velocity.1 * dt;
                let d = ((center.0 - px).powi(2) + (center.1 - py).powi(2)).sqrt();
                // The same text far away is another label with the same value.
                d < 2.0 * f.extent.max(extent) + 0.25 * dt
            });
            match found {
                Some(f) => {
                    let dt = at_ms - f.at_ms;
                    f.velocity = if dt > 0 && dt <= self.params.max_motion_gap_ms {
                        let k = 1.0 / dt as f32;
                        ((center.0 - f.center.0) * k, (center.1 - f.center.1) * k)
                    } else {
                        (0.0, 0.0)
                    };
                    f.at_ms = at_ms;
                    f.center = center;
                    f.extent = extent;
                }
                None => self.followed.push(Followed {
                    format: s.format,
                    text: s.text.clone(),
                    at_ms,
                    center,
                    extent,
                    velocity: (0.0, 0.0),
                }),
            }
        }
        // A clock stepped back (a new replay, a camera restart) makes every age negative;
        // those symbols are forgotten too.
        self.followed
            .retain(|f| (0..=hold).contains(&(at_ms - f.at_ms)));
        if self.followed.len() > self.params.max_symbols {
            self.followed.sort_by_key(|f| std::cmp::Reverse(f.at_ms));
            self.followed.truncate(self.params.max_symbols);
        }
    }

    /// How many places are known to have read nothing lately.
    pub fn failures(&self) -> usize {
        self.failures.len()
    }

    /// How many symbols are followed.
    pub fn len(&self) -> usize {
        self.followed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.followed.is_empty()
    }
}

fn overlaps(a: &Rect, b: &Rect) -> bool {
    a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbol(text: &str, x: f32, y: f32) -> Symbol {
        Symbol {
            format: Format::Code128,
            text: text.to_owned(),
            raw: Vec::new(),
            aim: "]C0".to_owned(),
            corners: [(x, y), (x + 100.0, y), (x + 100.0, y + 20.0), (x, y + 20.0)],
        }
    }

    #[test]
    fn a_moving_symbol_is_predicted_where_it_goes() {
        let mut focus = Focus::default();
        focus.observe(0, &[symbol("A1", 100.0, 100.0)]);
        focus.observe(33, &[symbol("A1", 133.0, 100.0)]);
        // One px per ms to the right: at 66 ms the centre is near x = 216.
        let r = focus.regions(66, 1920, 1080);
        assert_eq!(r.len(), 1);
        let cx = 0.5 * (r[0][0] + r[0][2]);
        assert!((cx - 216.0).abs() < 1.0, "{r:?}");
        assert!(focus.plan(66, 1920, 1080, None).in_focus(216.0, 110.0));
        assert!(!focus.plan(66, 1920, 1080, None).in_focus(600.0, 110.0));
    }

    #[test]
    fn symbols_not_read_again_are_dropped_and_regions_merge() {
        let mut focus = Focus::default();
        focus.observe(0, &[symbol("A1", 100.0, 100.0), symbol("B2", 100.0, 140.0)]);
        assert_eq!(
            focus.regions(10, 1920, 1080).len(),
            1,
            "one label, one region"
        );
        focus.observe(400, &[symbol("A1", 100.0, 100.0)]);
        focus.observe(600, &[symbol("A1", 100.0, 100.0)]);
        assert_eq!(focus.len(), 1, "B2 was last read 600 ms ago");
        assert!(focus.regions(2000, 1920, 1080).is_empty());
        // A clock that steps back forgets everything rather than predicting from the future.
        focus.observe(10, &[]);
        assert!(focus.is_empty());
    }

    #[test]
    fn the_same_text_far_away_is_another_symbol() {
        let mut focus = Focus::default();
        focus.observe(0, &[symbol("A1", 100.0, 100.0)]);
        focus.observe(33, &[symbol("A1", 1500.0, 900.0)]);
        assert_eq!(focus.len(), 2);
        let regions = focus.regions(40, 1920, 1080);
        assert_eq!(regions.len(), 2);
        // Regions stay inside the frame.
        for r in regions {
            assert!(r[0] >= 0.0 && r[1] >= 0.0 && r[2] <= 1920.0 && r[3] <= 1080.0);
        }
    }

    fn failed_at(rects: &[Rect]) -> Decoded {
        Decoded {
            failed: rects.to_vec(),
            ..Decoded::default()
        }
    }

    #[test]
    fn a_place_that_keeps_failing_goes_last_then_rests_every_other_frame() {
        let text = [400.0, 400.0, 500.0, 420.0];
        let mut focus = Focus::default();
        focus.observe_decoded(0, &failed_at(&[text]));
        // Once is not enough: a symbol may just have been blurred in that frame.
        let plan = focus.plan(33, 1920, 1080, None);
        assert_eq!(plan.priority(&text), Priority::Fresh);
        focus.observe_decoded(33, &failed_at(&[[402.0, 401.0, 502.0, 421.0]]));
        // Twice in a row: left out of the next frame (`rest_frames` = 1)...
        let plan = focus.plan(66, 1920, 1080, None);
        assert_eq!(plan.priority(&text), Priority::Rest);
        focus.observe_decoded(66, &Decoded::default());
        // ...then tried again, after the fresh regions.
        let plan = focus.plan(100, 1920, 1080, None);
        assert_eq!(plan.priority(&text), Priority::Failed);
        // A different place (far, or of another size) is not the same region.
        assert_eq!(
            plan.priority(&[900.0, 400.0, 1000.0, 420.0]),
            Priority::Fresh
        );
        assert_eq!(
            plan.priority(&[300.0, 300.0, 700.0, 600.0]),
            Priority::Fresh
        );
        // A read there ends the run of failures.
        focus.observe_decoded(
            133,
            &Decoded {
                symbols: vec![symbol("A1", 400.0, 400.0)],
                ..Decoded::default()
            },
        );
        assert_eq!(focus.failures(), 0);
        let plan = focus.plan(166, 1920, 1080, None);
        assert_eq!(plan.priority(&text), Priority::Focus);
    }

    #[test]
    fn the_order_of_work_is_focus_fresh_then_failed() {
        let mut ranks = [
            Priority::Failed,
            Priority::Rest,
            Priority::Fresh,
            Priority::FailedInFocus,
            Priority::Focus,
        ];
        ranks.sort();
        assert_eq!(
            ranks,
            [
                Priority::Focus,
                Priority::Fresh,
                Priority::FailedInFocus,
                Priority::Failed,
                Priority::Rest
            ]
        );
        assert!(Priority::FailedInFocus.focus() && !Priority::Fresh.focus());
    }

    #[test]
    fn no_focus_without_rest_frames_never_leaves_anything_out() {
        let params = FocusParams {
            rest_frames: 0,
            ..FocusParams::default()
        };
        let mut focus = Focus::new(params);
        let text = [400.0, 400.0, 500.0, 420.0];
        for t in 0..10 {
            focus.observe_decoded(t * 33, &failed_at(&[text]));
            assert_ne!(
                focus.plan(t * 33 + 33, 1920, 1080, None).priority(&text),
                Priority::Rest
            );
        }
    }
}
