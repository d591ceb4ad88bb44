//! Camera labels: the symbols of one physical label, followed over frames, become one record.
//!
//! The decoder's front end already groups one frame's symbols by the bright sheet they sit on
//! (`decode::region`); each group arrives here as a [`SeenGroup`] with the sheet's outline.
//! The tracker follows those groups over frames and decides when a label is recorded:
//!
//! - A group joins the track that shares a unit identifier with it (serial, IMEI, MEID, ESN,
//!   ICCID, EID: GTINs and part numbers are shared by every box of a model, so they never
//!   identify a label). Failing that, it joins the track seen in the last `motion_ms` whose
//!   predicted outline it overlaps most, which is how entry fragments (a box carried in reads
//!   one symbol a frame) stay with their label.
//! - A group that holds values of two tracks merges them.
//! - Nothing joins or merges when the result would hold more than a unit can (a second serial,
//!   a third IMEI, a second GTIN): that is two labels, and they stay apart.
//! - A label is recorded once: as soon as it holds everything the profile requires, or when no
//!   new value has appeared on it for `settle_ms` (it left view, or it holds no more). A value
//!   read later on the same label amends that record; it never starts a second one.
//! - A label out of view for `forget_ms` is forgotten; seen again, it is a new appearance
//!   (zbarcam's cache works the same way with a 2 s hysteresis, DOMAIN.md 3.4).
//!
//! **Invariants:** pure (the time comes in with each frame); a track never holds more values of
//! a kind than a unit can; every distinct symbol of a label reaches the store once, in a Record
//! or an Amend; a label that carries no unit identifier (a lone retail GTIN) is never a unit.

use crate::ident::{self, Aim, IdKind, NoTacs};

use super::{Profile, capacity};

/// How labels are followed and when they are recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelConfig {
    /// A group holding more values than one unit can (two labels on one sheet the region
    /// finder could not tell apart) is split where the gap between symbol boxes exceeds this
    /// many times the larger of their short sides.
    pub join_factor: f32,
    /// A label is recorded once no new value has appeared on it for this long.
    pub settle_ms: i64,
    /// Or sooner: once it holds everything the profile requires and was seen in this many frames.
    pub complete_frames: u32,
    /// A label out of view this long is forgotten; seen again, it is registered again.
    pub forget_ms: i64,
    /// A group that shares no value with any track may join one seen this recently, by position.
    pub motion_ms: i64,
    /// The least overlap (intersection over the smaller box) between a group and a track's
    /// predicted outline for a join by position.
    pub min_overlap: f32,
    /// A symbol that carries no unit identifier (a GTIN, a value failing its check digit, junk)
    /// joins a label only once it was read in this many frames: a one-frame ghost read must
    /// not amend, flag or quarantine a record. Stills (the `images` source) need one.
    pub confirm_frames: u32,
    pub profile: Profile,
}

impl Default for LabelConfig {
    fn default() -> Self {
        LabelConfig {
            join_factor: 1.5,
            settle_ms: 500,
            complete_frames: 1,
            forget_ms: 2000,
            motion_ms: 400,
            min_overlap: 0.2,
            confirm_frames: 2,
            profile: Profile::default(),
        }
    }
}

/// A quadrilateral in frame pixels, clockwise from the top left.
pub type Quad = [(f32, f32); 4];

/// One symbol as the tracker sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenSymbol {
    pub text: String,
    /// The AIM symbology identifier, e.g. `]C1`.
    pub aim: String,
    pub format: String,
    pub corners: Quad,
}

impl SeenSymbol {
    /// What the symbol says: classified as read, except that a UPC-E is classified as the
    /// UPC-A it abbreviates (its check digit belongs to that expansion).
    pub fn classify(&self, tacs: &dyn ident::TacLookup) -> ident::Classification {
        let expanded = (self.format == "UPCE")
            .then(|| ident::gtin::upce_to_upca(&self.text))
            .flatten();
        ident::classify(
            expanded.as_deref().unwrap_or(&self.text),
            Aim::parse(&self.aim),
            tacs,
        )
    }

    /// The identifier keys this symbol carries (classification is pure and cheap).
    fn keys(&self) -> Vec<(IdKind, String)> {
        self.classify(&NoTacs)
            .identifiers
            .into_iter()
            .map(|i| (i.kind, i.key))
            .collect()
    }

    /// The symbol's short side, from its corner quadrilateral.
    fn short_side(&self) -> f32 {
        let d = |a: (f32, f32), b: (f32, f32)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        let [a, b, c, _] = self.corners;
        let side = d(a, b).min(d(b, c));
        if side.is_finite() { side.max(1.0) } else { 1.0 }
    }
}

/// The symbols of one label in one frame, with the label's outline when it is known.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenGroup {
    pub symbols: Vec<SeenSymbol>,
    /// The sheet's outline; `None` uses the box around the symbols.
    pub outline: Option<Quad>,
    /// How sharp the frame is inside the outline (comparable between frames of one label).
    pub sharpness: f32,
}

impl SeenGroup {
    /// A group without an outline or sharpness, for callers that have only symbols.
    pub fn of(symbols: Vec<SeenSymbol>) -> SeenGroup {
        SeenGroup {
            symbols,
            outline: None,
            sharpness: 0.0,
        }
    }

    fn outline(&self) -> Quad {
        self.outline
            .unwrap_or_else(|| bbox_quad(self.symbols.iter().flat_map(|s| s.corners)))
    }
}

/// A label's symbols at one moment: everything to record, or only what is new for an amend.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelCommit {
    pub track: u64,
    pub symbols: Vec<SeenSymbol>,
    pub first_seen_ms: i64,
    pub at_ms: i64,
}

/// What the tracker asks the station to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelEvent {
    /// This frame is the best picture of the track so far (more of its symbols read, or as
    /// many and sharper): keep the crop around `outline` as the track's evidence. Comes before
    /// any Record or Amend of the same frame, so a record carries the frame that completed it.
    Evidence {
        track: u64,
        outline: Quad,
        symbols: usize,
        sharpness: f32,
    },
    /// Record the label as a new unit, with every symbol read on it so far.
    Record(LabelCommit),
    /// Values read on a recorded label: add them to its unit (the symbols are only the new ones).
    Amend(LabelCommit),
    /// A label that never carried a unit identifier (a lone retail GTIN, junk) went out of view:
    /// its symbols are recorded as scans of no unit.
    Loose(LabelCommit),
    /// A recorded label was out of view for `forget_ms`; its record is final.
    Forgotten { track: u64 },
    /// Track `from` turned out to be part of track `into` and is gone (the best picture of
    /// the two is `into`'s from now on).
    Merged { from: u64, into: u64 },
}

#[derive(Debug)]
struct Track {
    id: u64,
    symbols: Vec<SeenSymbol>,
    keys: Vec<(IdKind, String)>,
    first_seen_ms: i64,
    last_seen_ms: i64,
    last_change_ms: i64,
    frames_seen: u32,
    recorded: bool,
    outline: Quad,
    /// The outline centre's motion in pixels per millisecond, from the last two sightings.
    velocity: (f32, f32),
    /// The evidence score of the best frame so far: symbols read, then sharpness.
    best: Option<(usize, f32)>,
    /// Symbols without a unit identifier waiting for `confirm_frames` sightings, with the
    /// frames they were read in.
    unconfirmed: Vec<(SeenSymbol, Keys, u32)>,
}

impl Track {
    fn new(id: u64, now_ms: i64, outline: Quad) -> Track {
        Track {
            id,
            symbols: Vec::new(),
            keys: Vec::new(),
            first_seen_ms: now_ms,
            last_seen_ms: now_ms,
            last_change_ms: now_ms,
            frames_seen: 0,
            recorded: false,
            outline,
            velocity: (0.0, 0.0),
            best: None,
            unconfirmed: Vec::new(),
        }
    }

    fn predicted(&self, now_ms: i64) -> Quad {
        let dt = now_ms.saturating_sub(self.last_seen_ms) as f32;
        let (dx, dy) = (self.velocity.0 * dt, self.velocity.1 * dt);
        self.outline.map(|(x, y)| (x + dx, y + dy))
    }

    fn shares(&self, keys: &[(IdKind, String)]) -> usize {
        keys.iter()
            .filter(|k| unique(k.0) && self.keys.contains(k))
            .count()
    }
}

/// The identifier keys a symbol carries.
type Keys = Vec<(IdKind, String)>;

/// Kinds that belong to one physical unit only. Every box of a model carries the same GTIN and
/// part number, so those two never show that two reads come from one label.
fn unique(kind: IdKind) -> bool {
    !matches!(kind, IdKind::Gtin | IdKind::Part)
}

/// Whether `keys` hold more values of some kind than one unit can.
fn over_capacity<'a>(keys: impl IntoIterator<Item = &'a (IdKind, String)>) -> bool {
    let mut distinct: Vec<&(IdKind, String)> = Vec::new();
    for key in keys {
        if !distinct.contains(&key) {
            distinct.push(key);
        }
    }
    distinct
        .iter()
        .any(|(kind, _)| distinct.iter().filter(|(k, _)| k == kind).count() > capacity(*kind))
}

/// Whether the IMEIs among `keys` share one TAC. The two IMEIs of a phone almost always do, so
/// two reads joined only by position (never by a shared value) must not pair IMEIs of
/// different TACs: that is two devices passing through the same spot.
fn one_tac<'a>(keys: impl IntoIterator<Item = &'a (IdKind, String)>) -> bool {
    let mut tacs = keys
        .into_iter()
        .filter(|(kind, _)| *kind == IdKind::Imei)
        .map(|(_, key)| key.get(..8).unwrap_or(key));
    match tacs.next() {
        Some(first) => tacs.all(|t| t == first),
        None => true,
    }
}

/// The axis-aligned box of some points as a quad; a degenerate quad at the origin when there
/// are none or they are not finite, so one bad corner cannot poison the geometry.
fn bbox_quad(points: impl IntoIterator<Item = (f32, f32)>) -> Quad {
    let (mut x0, mut y0, mut x1, mut y1) = (
        f32::INFINITY,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NEG_INFINITY,
    );
    for (x, y) in points {
        if x.is_finite() && y.is_finite() {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
    }
    if x0 > x1 || y0 > y1 {
        return [(0.0, 0.0); 4];
    }
    [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
}

fn bounds(q: &Quad) -> (f32, f32, f32, f32) {
    let b = bbox_quad(q.iter().copied());
    (b[0].0, b[0].1, b[2].0, b[2].1)
}

fn centre(q: &Quad) -> (f32, f32) {
    let (x0, y0, x1, y1) = bounds(q);
    ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
}

/// Intersection of the two boxes over the smaller box's area, so a small group inside a large
/// label outline counts as fully overlapping.
fn overlap(a: &Quad, b: &Quad) -> f32 {
    let (ax0, ay0, ax1, ay1) = bounds(a);
    let (bx0, by0, bx1, by1) = bounds(b);
    let w = (ax1.min(bx1) - ax0.max(bx0)).max(0.0);
    let h = (ay1.min(by1) - ay0.max(by0)).max(0.0);
    let smaller = ((ax1 - ax0) * (ay1 - ay0)).min((bx1 - bx0) * (by1 - by0));
    if smaller <= 0.0 {
        return 0.0;
    }
    (w * h / smaller).clamp(0.0, 1.0)
}

/// Splits symbols into clusters by the gap between their boxes (the fallback for a sheet that
/// holds more than one label's values).
pub fn cluster(symbols: &[SeenSymbol], join_factor: f32) -> Vec<Vec<usize>> {
    let n = symbols.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let boxes: Vec<_> = symbols.iter().map(|s| bounds(&s.corners)).collect();
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (boxes[i], boxes[j]);
            let gap_x = (a.0 - b.2).max(b.0 - a.2).max(0.0);
            let gap_y = (a.1 - b.3).max(b.1 - a.3).max(0.0);
            let gap = (gap_x * gap_x + gap_y * gap_y).sqrt();
            let reach = join_factor * symbols[i].short_side().max(symbols[j].short_side());
            if gap <= reach {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                parent[ri] = rj;
            }
        }
    }
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        match groups.iter_mut().find(|(root, _)| *root == r) {
            Some((_, members)) => members.push(i),
            None => groups.push((r, vec![i])),
        }
    }
    groups.into_iter().map(|(_, members)| members).collect()
}

/// Follows labels over frames and decides when each is recorded, amended and forgotten.
#[derive(Debug)]
pub struct LabelTracker {
    cfg: LabelConfig,
    tracks: Vec<Track>,
    next_track: u64,
}

/// One group prepared for association: its symbols with their keys.
struct Prepared {
    symbols: Vec<(SeenSymbol, Vec<(IdKind, String)>)>,
    outline: Quad,
    sharpness: f32,
}

impl Prepared {
    fn keys(&self) -> impl Iterator<Item = &(IdKind, String)> {
        self.symbols.iter().flat_map(|(_, k)| k)
    }
}

impl LabelTracker {
    pub fn new(cfg: LabelConfig) -> LabelTracker {
        LabelTracker {
            cfg,
            tracks: Vec::new(),
            next_track: 1,
        }
    }

    /// The configuration the tracker runs with.
    pub fn config(&self) -> &LabelConfig {
        &self.cfg
    }

    /// How many labels are being followed now.
    pub fn tracking(&self) -> usize {
        self.tracks.len()
    }

    /// Splits a group that holds more than one unit can into gap clusters, and a cluster that
    /// still does into single symbols: values of two labels are never kept together.
    fn prepare(&self, groups: &[SeenGroup]) -> Vec<Prepared> {
        let mut out = Vec::new();
        for group in groups {
            if group.symbols.is_empty() {
                continue;
            }
            let symbols: Vec<(SeenSymbol, Vec<(IdKind, String)>)> = group
                .symbols
                .iter()
                .map(|s| (s.clone(), s.keys()))
                .collect();
            if !over_capacity(symbols.iter().flat_map(|(_, k)| k)) {
                out.push(Prepared {
                    symbols,
                    outline: group.outline(),
                    sharpness: group.sharpness,
                });
                continue;
            }
            for members in cluster(&group.symbols, self.cfg.join_factor) {
                let part: Vec<_> = members
                    .iter()
                    .filter_map(|&i| symbols.get(i).cloned())
                    .collect();
                let parts = if over_capacity(part.iter().flat_map(|(_, k)| k)) {
                    part.into_iter().map(|s| vec![s]).collect()
                } else {
                    vec![part]
                };
                for part in parts {
                    let outline = bbox_quad(part.iter().flat_map(|(s, _)| s.corners));
                    out.push(Prepared {
                        symbols: part,
                        outline,
                        sharpness: group.sharpness,
                    });
                }
            }
        }
        out
    }

    /// The track a prepared group belongs to, merging tracks it links; `None` for a new track.
    fn associate(
        &mut self,
        group: &Prepared,
        claimed: &[u64],
        now_ms: i64,
        motion: bool,
        excluded: Option<u64>,
        events: &mut Vec<LabelEvent>,
    ) -> Option<usize> {
        let keys: Vec<(IdKind, String)> = group.keys().cloned().collect();
        // By content: every track sharing a unit identifier, most shared first.
        let mut sharing: Vec<(usize, usize)> = self
            .tracks
            .iter()
            .enumerate()
            .filter(|(_, t)| Some(t.id) != excluded)
            .map(|(i, t)| (i, t.shares(&keys)))
            .filter(|&(_, n)| n > 0)
            .collect();
        sharing.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if !sharing.is_empty() {
            // Only unit identifiers decide: a group that shares one with a label but brings
            // another serial or a third IMEI does not belong to it whole. The first label it fits
            // takes it (the symbols another label holds are sent back there when the group
            // joins); a group that fits none is another label (the store will flag a shared
            // value as a conflict). A second GTIN is more likely a ghost read; that symbol alone
            // is set apart when the group joins.
            let fits = |t: &Track| {
                !over_capacity(t.keys.iter().chain(&keys).filter(|(kind, _)| unique(*kind)))
            };
            let pos = sharing
                .iter()
                .position(|&(i, _)| self.tracks.get(i).is_some_and(fits))?;
            let first = sharing.remove(pos).0;
            sharing.insert(0, (first, 0));
            // Merging removes tracks, so the others are found again by id each time.
            let others: Vec<u64> = sharing
                .iter()
                .skip(1)
                .filter_map(|&(i, _)| self.tracks.get(i).map(|t| t.id))
                .collect();
            let mut target = first;
            for other in others {
                let Some(other) = self.tracks.iter().position(|t| t.id == other) else {
                    continue;
                };
                target = self.merge(target, other, &keys, events).unwrap_or(target);
            }
            return Some(target);
        }
        // A group holding no unit identifier whose values a track seen lately already holds
        // (a retail GTIN or part number read again) goes there, since it adds nothing to it;
        // by position it could lend that value to a neighbour that has none. Two boxes side by
        // side whose labels the region finder joins into one sheet gave a box's UPC-A, read
        // again alone, to the other box's unit.
        if motion
            && !keys.is_empty()
            && let Some(i) = self.tracks.iter().position(|t| {
                Some(t.id) != excluded
                    && now_ms.saturating_sub(t.last_seen_ms) <= self.cfg.motion_ms
                    && keys.iter().all(|k| t.keys.contains(k))
            })
        {
            return Some(i);
        }
        // By motion: the track seen lately whose predicted outline the group overlaps most. A
        // recorded label takes a group by position only on a clear overlap, so a box passing
        // close to a recorded one does not lend it values; so does a label already seen in this
        // frame (a symbol the region finder left off its sheet, lying on that sheet).
        let motion_ms = self.cfg.motion_ms;
        let min_overlap = self.cfg.min_overlap;
        self.tracks
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                motion
                    && Some(t.id) != excluded
                    && now_ms.saturating_sub(t.last_seen_ms) <= motion_ms
                    && !over_capacity(t.keys.iter().chain(&keys))
                    && one_tac(t.keys.iter().chain(&keys))
            })
            .map(|(i, t)| {
                let needed = if t.recorded || claimed.contains(&t.id) {
                    min_overlap.max(0.5)
                } else {
                    min_overlap
                };
                (i, overlap(&t.predicted(now_ms), &group.outline), needed)
            })
            .filter(|&(_, o, needed)| o >= needed)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _, _)| i)
    }

    /// Merges track `b` into track `a` (or `a` into `b` when only `b` is recorded) when the
    /// union fits one unit with the group's values; returns the index of the surviving track.
    /// Two recorded tracks are never merged: both records were already acknowledged.
    fn merge(
        &mut self,
        a: usize,
        b: usize,
        keys: &[(IdKind, String)],
        events: &mut Vec<LabelEvent>,
    ) -> Option<usize> {
        let (ta, tb) = (self.tracks.get(a)?, self.tracks.get(b)?);
        if ta.recorded && tb.recorded {
            return None;
        }
        let union = || ta.keys.iter().chain(&tb.keys).chain(keys);
        if over_capacity(union()) || !one_tac(union()) {
            return None;
        }
        // The recorded track survives, so its unit is amended with the other's values.
        let (keep, gone) = if tb.recorded { (b, a) } else { (a, b) };
        let gone_track = self.tracks.remove(gone);
        let keep = if gone < keep { keep - 1 } else { keep };
        let track = self.tracks.get_mut(keep)?;
        events.push(LabelEvent::Merged {
            from: gone_track.id,
            into: track.id,
        });
        let mut new = Vec::new();
        for symbol in gone_track.symbols {
            if track.symbols.iter().all(|s| s.text != symbol.text) {
                track.symbols.push(symbol.clone());
                new.push(symbol);
            }
        }
        for key in gone_track.keys {
            if !track.keys.contains(&key) {
                track.keys.push(key);
            }
        }
        track.first_seen_ms = track.first_seen_ms.min(gone_track.first_seen_ms);
        track.last_change_ms = track.last_change_ms.max(gone_track.last_change_ms);
        track.best = track.best.max_by_score(gone_track.best);
        if track.recorded && !new.is_empty() {
            events.push(LabelEvent::Amend(LabelCommit {
                track: track.id,
                symbols: new,
                first_seen_ms: track.first_seen_ms,
                at_ms: gone_track.last_seen_ms,
            }));
        }
        Some(keep)
    }

    /// Takes one frame's label groups at `now_ms` and returns what to record, amend or keep.
    pub fn frame(&mut self, now_ms: i64, groups: &[SeenGroup]) -> Vec<LabelEvent> {
        self.frame_with(now_ms, groups, true)
    }

    /// Like [`frame`](Self::frame) for a still image unrelated to the one before (the `images`
    /// source): groups join labels by shared values only, never by position.
    pub fn still(&mut self, now_ms: i64, groups: &[SeenGroup]) -> Vec<LabelEvent> {
        self.frame_with(now_ms, groups, false)
    }

    fn frame_with(&mut self, now_ms: i64, groups: &[SeenGroup], motion: bool) -> Vec<LabelEvent> {
        let mut events = Vec::new();
        let mut amends: Vec<LabelCommit> = Vec::new();
        let mut claimed: Vec<u64> = Vec::new();
        let confirm = if motion {
            self.cfg.confirm_frames.max(1)
        } else {
            1
        };
        // Each group, and the symbols a track refused from it with the track that refused
        // them; what is refused a second time goes on one symbol at a time and is not refused
        // again, so this ends.
        let mut queue: std::collections::VecDeque<(Prepared, Option<u64>, u8)> = self
            .prepare(groups)
            .into_iter()
            .map(|g| (g, None, 0))
            .collect();
        while let Some((group, excluded, depth)) = queue.pop_front() {
            let found = self.associate(&group, &claimed, now_ms, motion, excluded, &mut events);
            let index = match found {
                Some(i) => i,
                None => {
                    self.tracks
                        .push(Track::new(self.next_track, now_ms, group.outline));
                    self.next_track += 1;
                    self.tracks.len() - 1
                }
            };
            // Unit identifiers other labels already hold: a symbol carrying one belongs there,
            // not here (a region that took in a symbol of the box beside it).
            let target_id = self.tracks.get(index).map(|t| t.id);
            let held_elsewhere: Vec<(IdKind, String)> = self
                .tracks
                .iter()
                .filter(|t| Some(t.id) != target_id)
                .flat_map(|t| t.keys.iter().filter(|k| unique(k.0)).cloned())
                .collect();
            let Some(track) = self.tracks.get_mut(index) else {
                continue;
            };
            let mut new = Vec::new();
            let mut leftover = Vec::new();
            for (symbol, keys) in &group.symbols {
                if track.symbols.iter().any(|s| s.text == symbol.text) {
                    continue;
                }
                // A symbol that would give the label a second serial or GTIN, an IMEI of
                // another TAC, or a value another label holds, belongs elsewhere (another
                // label, or a ghost read).
                let own = keys.iter().any(|k| unique(k.0) && track.keys.contains(k));
                let elsewhere = keys
                    .iter()
                    .any(|k| held_elsewhere.contains(k) && !track.keys.contains(k));
                // What was refused twice is kept on a track of its own whatever it holds, so
                // the refusals end.
                if depth < 2
                    && (over_capacity(track.keys.iter().chain(keys))
                        || (!own && elsewhere)
                        || (!own && !one_tac(track.keys.iter().chain(keys))))
                {
                    leftover.push((symbol.clone(), keys.clone()));
                    continue;
                }
                if confirm > 1 && !keys.iter().any(|(kind, _)| unique(*kind)) {
                    let seen = match track
                        .unconfirmed
                        .iter_mut()
                        .find(|(s, _, _)| s.text == symbol.text)
                    {
                        Some(entry) => {
                            entry.2 += 1;
                            entry.2
                        }
                        None => {
                            track.unconfirmed.push((symbol.clone(), keys.clone(), 1));
                            1
                        }
                    };
                    if seen < confirm {
                        continue;
                    }
                    track.unconfirmed.retain(|(s, _, _)| s.text != symbol.text);
                }
                track.symbols.push(symbol.clone());
                new.push(symbol.clone());
                track.last_change_ms = now_ms;
                for key in keys {
                    if !track.keys.contains(key) {
                        track.keys.push(key.clone());
                    }
                }
            }
            if !leftover.is_empty() {
                let outline = bbox_quad(leftover.iter().flat_map(|(s, _)| s.corners));
                if depth == 0 {
                    queue.push_back((
                        Prepared {
                            symbols: leftover,
                            outline,
                            sharpness: group.sharpness,
                        },
                        Some(track.id),
                        1,
                    ));
                } else {
                    // Refused again: each symbol is followed on its own, so values of two
                    // labels are never put together to end the refusals.
                    for (symbol, keys) in leftover {
                        let outline = bbox_quad(symbol.corners);
                        queue.push_back((
                            Prepared {
                                symbols: vec![(symbol, keys)],
                                outline,
                                sharpness: group.sharpness,
                            },
                            Some(track.id),
                            2,
                        ));
                    }
                }
            }
            if track.recorded && !new.is_empty() {
                match amends.iter_mut().find(|a| a.track == track.id) {
                    Some(amend) => amend.symbols.extend(new),
                    None => amends.push(LabelCommit {
                        track: track.id,
                        symbols: new,
                        first_seen_ms: track.first_seen_ms,
                        at_ms: now_ms,
                    }),
                }
            }
            // Motion from the last sighting, for the next frame's prediction.
            let dt = now_ms.saturating_sub(track.last_seen_ms) as f32;
            if dt > 0.0 && track.frames_seen > 0 {
                let (c0, c1) = (centre(&track.outline), centre(&group.outline));
                track.velocity = ((c1.0 - c0.0) / dt, (c1.1 - c0.1) / dt);
            }
            track.outline = group.outline;
            track.last_seen_ms = now_ms;
            if !claimed.contains(&track.id) {
                claimed.push(track.id);
                track.frames_seen += 1;
            }
            // The evidence score: how many of the label's symbols this frame read, then sharpness.
            let read = track
                .symbols
                .iter()
                .filter(|s| group.symbols.iter().any(|(g, _)| g.text == s.text))
                .count();
            let score = (read, group.sharpness);
            if track.best.is_none_or(|best| better(score, best)) {
                track.best = Some(score);
                events.push(LabelEvent::Evidence {
                    track: track.id,
                    outline: group.outline,
                    symbols: read,
                    sharpness: group.sharpness,
                });
            }
        }
        events.extend(amends.into_iter().map(LabelEvent::Amend));
        for track in &mut self.tracks {
            if track.recorded || !carries_unit(track) {
                continue;
            }
            let complete = self
                .cfg
                .profile
                .required
                .iter()
                .all(|&(kind, n)| track.keys.iter().filter(|(k, _)| *k == kind).count() >= n);
            let settled = now_ms.saturating_sub(track.last_change_ms) >= self.cfg.settle_ms;
            if (complete && track.frames_seen >= self.cfg.complete_frames) || settled {
                track.recorded = true;
                events.push(LabelEvent::Record(LabelCommit {
                    track: track.id,
                    symbols: track.symbols.clone(),
                    first_seen_ms: track.first_seen_ms,
                    at_ms: now_ms,
                }));
            }
        }
        let forget = self.cfg.forget_ms;
        let mut kept = Vec::with_capacity(self.tracks.len());
        for track in self.tracks.drain(..) {
            if now_ms.saturating_sub(track.last_seen_ms) < forget {
                kept.push(track);
            } else {
                events.extend(end_of(track, now_ms));
            }
        }
        self.tracks = kept;
        events
    }

    /// Ends every track (end of a replay, shutdown): unrecorded labels are recorded now.
    pub fn finish(&mut self, now_ms: i64) -> Vec<LabelEvent> {
        self.tracks
            .drain(..)
            .flat_map(|t| end_of(t, now_ms))
            .collect()
    }
}

/// Whether a track holds an identifier that makes it a unit (not only a GTIN or part number).
fn carries_unit(track: &Track) -> bool {
    track.keys.iter().any(|(kind, _)| unique(*kind))
}

/// What ending a track means: a recorded label is forgotten, an unrecorded one with a unit
/// identifier is recorded now (a label that left before it settled), anything else is loose;
/// symbols that were never confirmed are kept as scans of no unit, so no read is lost.
fn end_of(mut track: Track, now_ms: i64) -> Vec<LabelEvent> {
    let mut events = Vec::with_capacity(2);
    let commit = |symbols: Vec<SeenSymbol>| LabelCommit {
        track: track.id,
        symbols,
        first_seen_ms: track.first_seen_ms,
        at_ms: now_ms,
    };
    let unconfirmed: Vec<SeenSymbol> = std::mem::take(&mut track.unconfirmed)
        .into_iter()
        .map(|(s, _, _)| s)
        .collect();
    if track.recorded {
        events.push(LabelEvent::Forgotten { track: track.id });
    } else if carries_unit(&track) {
        events.push(LabelEvent::Record(commit(track.symbols.clone())));
    } else {
        let mut all = track.symbols.clone();
        all.extend(unconfirmed);
        if !all.is_empty() {
            events.push(LabelEvent::Loose(commit(all)));
        }
        return events;
    }
    if !unconfirmed.is_empty() {
        events.push(LabelEvent::Loose(commit(unconfirmed)));
    }
    events
}

/// More symbols read wins; among frames that read as many, the sharper one.
fn better(a: (usize, f32), b: (usize, f32)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 > b.1)
}

trait BestScore {
    fn max_by_score(self, other: Self) -> Self;
}

impl BestScore for Option<(usize, f32)> {
    fn max_by_score(self, other: Self) -> Self {
        match (self, other) {
            (Some(a), Some(b)) => Some(if better(b, a) { b } else { a }),
            (a, None) => a,
            (None, b) => b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symbol at (x, y), 200 x 30 px, upright.
    fn sym(text: &str, x: f32, y: f32) -> SeenSymbol {
        SeenSymbol {
            text: text.to_owned(),
            aim: "]C0".to_owned(),
            format: "Code128".to_owned(),
            corners: [(x, y), (x + 200.0, y), (x + 200.0, y + 30.0), (x, y + 30.0)],
        }
    }

    const A: [&str; 3] = ["SC02XG1ABJGH5", "354178036859789", "354178036859797"];
    const B: [&str; 3] = ["R58M315CL4T", "490154203237518", "490154203237526"];

    /// The symbols of a label at (x, y): serial and two IMEIs stacked 40 px apart.
    fn symbols(texts: &[&str], x: f32, y: f32) -> Vec<SeenSymbol> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| sym(t, x + 10.0, y + 10.0 + 40.0 * i as f32))
            .collect()
    }

    /// A label's sheet at (x, y): 220 x 140 px, as the region finder outlines it.
    fn sheet(x: f32, y: f32) -> Quad {
        [
            (x, y),
            (x + 220.0, y),
            (x + 220.0, y + 140.0),
            (x, y + 140.0),
        ]
    }

    /// The group a frame shows of label `texts` at (x, y), reading only `read` of its symbols.
    fn seen(texts: &[&str], read: &[usize], x: f32, y: f32) -> SeenGroup {
        let all = symbols(texts, x, y);
        SeenGroup {
            symbols: read.iter().filter_map(|&i| all.get(i).cloned()).collect(),
            outline: Some(sheet(x, y)),
            sharpness: 1.0,
        }
    }

    fn full(texts: &[&str], x: f32, y: f32) -> SeenGroup {
        seen(texts, &[0, 1, 2], x, y)
    }

    /// Runs frames `(t, groups)` and returns a transcript of records, amends, loose labels and
    /// forgotten labels (evidence events are left out; their own test reads them).
    fn transcript(cfg: LabelConfig, frames: &[(i64, Vec<SeenGroup>)]) -> String {
        let mut tracker = LabelTracker::new(cfg);
        let mut out = String::new();
        let mut write = |at: String, events: Vec<LabelEvent>| {
            for e in events {
                let line = match e {
                    LabelEvent::Record(c) => format!("record {} [{}]", c.track, texts(&c)),
                    LabelEvent::Amend(c) => format!("amend {} [{}]", c.track, texts(&c)),
                    LabelEvent::Loose(c) => format!("loose {} [{}]", c.track, texts(&c)),
                    LabelEvent::Forgotten { track } => format!("forget {track}"),
                    LabelEvent::Merged { from, into } => format!("merge {from} into {into}"),
                    LabelEvent::Evidence { .. } => continue,
                };
                out.push_str(&format!("{at} {line}\n"));
            }
        };
        for (t, groups) in frames {
            write(format!("t={t}"), tracker.frame(*t, groups));
        }
        write("end".to_owned(), tracker.finish(99_999));
        out
    }

    fn texts(c: &LabelCommit) -> String {
        c.symbols
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The same groups in every frame from `from` to `to` ms at 30 fps.
    fn shown(from: i64, to: i64, groups: &[SeenGroup]) -> Vec<(i64, Vec<SeenGroup>)> {
        (from..to)
            .step_by(33)
            .map(|t| (t, groups.to_vec()))
            .collect()
    }

    #[test]
    fn a_label_in_view_is_recorded_once_and_complete() {
        let frames = shown(0, 3000, &[full(&A, 100.0, 100.0)]);
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=0 record 1 [SC02XG1ABJGH5 354178036859789 354178036859797]\n\
             end forget 1\n"
        );
    }

    #[test]
    fn entry_fragments_join_the_label_by_motion() {
        // Carried in from the left: one symbol a frame while it moves, then the whole label.
        let frames = vec![
            (0, vec![seen(&A, &[1], 0.0, 100.0)]),
            (33, vec![seen(&A, &[0], 40.0, 100.0)]),
            (66, vec![seen(&A, &[2], 80.0, 100.0)]),
        ];
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=66 record 1 [354178036859789 SC02XG1ABJGH5 354178036859797]\n\
             end forget 1\n"
        );
        // Fragments without a sheet outline (a region fallback) still join by their own boxes.
        let bare = |read: usize, x: f32| SeenGroup::of(vec![symbols(&A, x, 100.0)[read].clone()]);
        let pair = |x: f32| {
            let all = symbols(&A, x, 100.0);
            SeenGroup::of(vec![all[0].clone(), all[1].clone()])
        };
        let frames = vec![(0, vec![bare(1, 0.0)]), (33, vec![pair(20.0)])];
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "end record 1 [354178036859789 SC02XG1ABJGH5]\n"
        );
    }

    #[test]
    fn a_group_holding_values_of_two_tracks_merges_them() {
        // Two fragments far apart (no motion link), then one frame reads both values together.
        let frames = vec![
            (0, vec![seen(&A, &[1], 0.0, 0.0)]),
            (33, vec![seen(&A, &[0], 800.0, 400.0)]),
            (66, vec![seen(&A, &[0, 1], 800.0, 400.0)]),
            (99, vec![full(&A, 800.0, 400.0)]),
        ];
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=66 merge 2 into 1\n\
             t=99 record 1 [354178036859789 SC02XG1ABJGH5 354178036859797]\n\
             end forget 1\n"
        );
    }

    #[test]
    fn two_boxes_side_by_side_are_two_records() {
        let frames = shown(0, 1000, &[full(&A, 0.0, 0.0), full(&B, 240.0, 0.0)]);
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=0 record 1 [SC02XG1ABJGH5 354178036859789 354178036859797]\n\
             t=0 record 2 [R58M315CL4T 490154203237518 490154203237526]\n\
             end forget 1\n\
             end forget 2\n"
        );
    }

    #[test]
    fn a_box_passing_close_to_another_lends_it_nothing() {
        // A is held and recorded; B is carried past it, its sheet overlapping A's for a few
        // frames while only one of its symbols reads at a time.
        let mut frames = Vec::new();
        for i in 0..20 {
            let t = i * 33;
            let bx = 600.0 - 30.0 * i as f32;
            let read: &[usize] = match i % 3 {
                0 => &[0],
                1 => &[1],
                _ => &[2],
            };
            frames.push((t, vec![full(&A, 0.0, 0.0), seen(&B, read, bx, 20.0)]));
        }
        let out = transcript(LabelConfig::default(), &frames);
        assert!(
            out.starts_with("t=0 record 1 [SC02XG1ABJGH5 354178036859789 354178036859797]\n"),
            "{out}"
        );
        assert!(
            !out.contains("amend 1"),
            "A must not take B's values:\n{out}"
        );
        for line in out.lines() {
            let a = A.iter().any(|v| line.contains(v));
            let b = B.iter().any(|v| line.contains(v));
            assert!(
                !(a && b),
                "values of two boxes in one record: {line}\n{out}"
            );
        }
        assert!(out.contains("R58M315CL4T"), "{out}");
    }

    #[test]
    fn a_symbol_of_the_box_beside_goes_back_to_its_own_label() {
        // B is followed; then the sheet found for A also took in one of B's IMEIs.
        let mut frames = shown(0, 100, &[full(&B, 400.0, 0.0)]);
        let mut mixed = full(&A, 0.0, 0.0);
        mixed.symbols.push(symbols(&B, 400.0, 0.0)[1].clone());
        frames.extend(shown(100, 300, &[mixed, full(&B, 400.0, 0.0)]));
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=0 record 1 [R58M315CL4T 490154203237518 490154203237526]\n\
             t=100 record 2 [SC02XG1ABJGH5 354178036859789 354178036859797]\n\
             end forget 1\n\
             end forget 2\n"
        );
    }

    #[test]
    fn two_labels_on_one_sheet_are_split_by_capacity() {
        // The region finder could not tell two touching labels apart.
        let mut both = symbols(&A, 0.0, 0.0);
        both.extend(symbols(&B, 600.0, 0.0));
        let group = SeenGroup {
            symbols: both,
            outline: Some([(0.0, 0.0), (900.0, 0.0), (900.0, 140.0), (0.0, 140.0)]),
            sharpness: 1.0,
        };
        let frames = shown(0, 200, &[group]);
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=0 record 1 [SC02XG1ABJGH5 354178036859789 354178036859797]\n\
             t=0 record 2 [R58M315CL4T 490154203237518 490154203237526]\n\
             end forget 1\n\
             end forget 2\n"
        );
    }

    #[test]
    fn a_value_read_after_the_record_amends_it() {
        // Serial and IMEI1 read steadily; IMEI2 only once the label has settled and was recorded.
        let mut frames = shown(0, 700, &[seen(&A, &[0, 1], 100.0, 100.0)]);
        frames.extend(shown(700, 900, &[full(&A, 100.0, 100.0)]));
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=528 record 1 [SC02XG1ABJGH5 354178036859789]\n\
             t=700 amend 1 [354178036859797]\n\
             end forget 1\n"
        );
    }

    #[test]
    fn repeat_suppression_follows_the_absence_time() {
        let a = full(&A, 100.0, 100.0);
        // Away for 1.2 s: not registered again.
        let mut frames = shown(0, 1000, std::slice::from_ref(&a));
        frames.extend(shown(1000, 2200, &[]));
        frames.extend(shown(2200, 3000, std::slice::from_ref(&a)));
        // Away for 3.5 s: registered again.
        frames.extend(shown(3000, 6500, &[]));
        frames.extend(shown(6500, 7500, std::slice::from_ref(&a)));
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=0 record 1 [SC02XG1ABJGH5 354178036859789 354178036859797]\n\
             t=5013 forget 1\n\
             t=6500 record 2 [SC02XG1ABJGH5 354178036859789 354178036859797]\n\
             end forget 2\n"
        );
    }

    #[test]
    fn a_label_leaving_view_early_is_recorded_with_what_was_read() {
        let frames = vec![
            (0, vec![seen(&A, &[0], 0.0, 0.0)]),
            (33, vec![seen(&A, &[0], 0.0, 0.0)]),
            (66, vec![]),
        ];
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "end record 1 [SC02XG1ABJGH5]\n"
        );
        let mut frames = frames;
        frames.extend(shown(99, 1000, &[]));
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=528 record 1 [SC02XG1ABJGH5]\n\
             end forget 1\n"
        );
    }

    #[test]
    fn a_gtin_read_again_alone_stays_with_the_label_that_holds_it() {
        // Label A holds its box's UPC-A; label B, beside it, is partly read. A frame reads
        // the UPC-A alone, its box overlapping B's sheet more than A's: it must not become
        // B's GTIN.
        let upc = SeenSymbol {
            text: "0194252707340".to_owned(),
            aim: "]E0".to_owned(),
            format: "EAN13".to_owned(),
            corners: [
                (300.0, 150.0),
                (500.0, 150.0),
                (500.0, 180.0),
                (300.0, 180.0),
            ],
        };
        let mut a = full(&A, 100.0, 100.0);
        a.symbols.push(upc.clone());
        let lone = SeenGroup {
            symbols: vec![upc],
            outline: None,
            sharpness: 1.0,
        };
        let mut frames = shown(0, 100, &[a.clone(), seen(&B, &[0], 400.0, 100.0)]);
        frames.push((100, vec![seen(&B, &[0], 400.0, 100.0), lone]));
        frames.extend(shown(133, 1000, &[a, full(&B, 400.0, 100.0)]));
        let out = transcript(LabelConfig::default(), &frames);
        // Track 1 is A (recorded first); the GTIN appears on no other track's line.
        assert!(out.contains("record 2 [R58M315CL4T"), "{out}");
        assert!(
            out.lines()
                .filter(|l| l.contains("0194252707340"))
                .all(|l| l.contains(" 1 [")),
            "{out}"
        );
    }

    #[test]
    fn a_lone_retail_gtin_is_never_a_unit() {
        let gtin = SeenGroup {
            symbols: vec![SeenSymbol {
                text: "0194252707340".to_owned(),
                aim: "]E0".to_owned(),
                format: "EAN13".to_owned(),
                corners: [(0.0, 0.0), (100.0, 0.0), (100.0, 50.0), (0.0, 50.0)],
            }],
            outline: None,
            sharpness: 1.0,
        };
        let mut frames = shown(0, 1000, &[gtin]);
        frames.extend(shown(1000, 3100, &[]));
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=3013 loose 1 [0194252707340]\n"
        );
    }

    #[test]
    fn evidence_follows_the_frame_that_reads_most_then_the_sharpest() {
        let mut tracker = LabelTracker::new(LabelConfig::default());
        let mut best = Vec::new();
        let frames = [
            (0, seen(&A, &[0], 0.0, 0.0), 5.0),
            (33, seen(&A, &[0, 1], 0.0, 0.0), 1.0),
            (66, seen(&A, &[0, 1], 0.0, 0.0), 0.5),
            (99, seen(&A, &[0, 1], 0.0, 0.0), 2.0),
            (132, seen(&A, &[1], 0.0, 0.0), 9.0),
        ];
        for (t, mut group, sharpness) in frames {
            group.sharpness = sharpness;
            for e in tracker.frame(t, &[group]) {
                if let LabelEvent::Evidence { symbols, .. } = e {
                    best.push((t, symbols));
                }
            }
        }
        assert_eq!(best, vec![(0, 1), (33, 2), (99, 2)]);
    }

    #[test]
    fn any_mix_of_symbols_ends_and_never_overfills_a_unit() {
        // Every frame shows a different mix of the symbols of three labels in one or two groups,
        // at shifting places: association must end, and no record may hold more than a unit.
        let c = ["F2LXK0ABCDEF", "356789012345670", "356789012345688"];
        let all: Vec<SeenSymbol> = symbols(&A, 0.0, 0.0)
            .into_iter()
            .chain(symbols(&B, 50.0, 20.0))
            .chain(symbols(&c, 90.0, 40.0))
            .collect();
        let mut tracker = LabelTracker::new(LabelConfig::default());
        let mut state: u64 = 7;
        for t in 0..400 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let pick = |bit: u64| (state >> bit) & 1 == 1;
            let (mut g1, mut g2) = (Vec::new(), Vec::new());
            for (i, s) in all.iter().enumerate() {
                if pick(i as u64 + 3) {
                    if pick(i as u64 + 20) {
                        g1.push(s.clone())
                    } else {
                        g2.push(s.clone())
                    }
                }
            }
            let groups = [SeenGroup::of(g1), SeenGroup::of(g2)];
            for e in tracker.frame(t * 33, &groups) {
                if let LabelEvent::Record(c) | LabelEvent::Amend(c) = e {
                    let keys: Vec<(IdKind, String)> =
                        c.symbols.iter().flat_map(SeenSymbol::keys).collect();
                    assert!(!over_capacity(&keys) || c.symbols.len() == 1, "{c:?}");
                }
            }
        }
        tracker.finish(99_999);
    }

    #[test]
    fn hostile_geometry_does_not_panic_or_pair() {
        let mut tracker = LabelTracker::new(LabelConfig::default());
        let mut nan = sym("SC02XG1ABJGH5", f32::NAN, f32::INFINITY);
        nan.corners[2] = (f32::NEG_INFINITY, f32::NAN);
        let groups = vec![
            SeenGroup::of(vec![nan]),
            SeenGroup::of(vec![]),
            SeenGroup {
                symbols: symbols(&B, -1e30, 1e30),
                outline: Some([(f32::NAN, 0.0); 4]),
                sharpness: f32::NAN,
            },
        ];
        for t in 0..40 {
            for e in tracker.frame(t * 33, &groups) {
                if let LabelEvent::Record(c) | LabelEvent::Amend(c) = e {
                    let a = c.symbols.iter().any(|s| A.contains(&s.text.as_str()));
                    let b = c.symbols.iter().any(|s| B.contains(&s.text.as_str()));
                    assert!(!(a && b), "{c:?}");
                }
            }
        }
        tracker.finish(10_000);
    }
}
