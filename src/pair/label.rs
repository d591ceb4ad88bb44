//! Camera labels: symbols in one frame are grouped per physical label, and a label's values
//! accumulate over consecutive frames until it is recorded once.
//!
//! **Invariants:** pure (the time comes in with each frame); a label is identified by its
//! content, not its position, so it may move in view; a label that stays in view is recorded
//! once; one that was away for `forget_ms` or longer is a new registration (zbarcam's cache
//! works the same way with a 2 s hysteresis, DOMAIN.md 3.4).

use crate::ident::{self, Aim, IdKind, NoTacs};

use super::Profile;

/// How labels are found and when they are recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelConfig {
    /// Two symbols belong to one label when the gap between their boxes is below this many
    /// times the larger of their short sides (stacked rows on one label sit closer than that;
    /// two boxes side by side sit further apart).
    pub join_factor: f32,
    /// A label is recorded once no new value has appeared on it for this long.
    pub settle_ms: i64,
    /// Or sooner: once it holds everything the profile requires and was seen in this many frames.
    pub complete_frames: u32,
    /// A label out of view this long is forgotten; seen again, it is registered again.
    pub forget_ms: i64,
    pub profile: Profile,
}

impl Default for LabelConfig {
    fn default() -> Self {
        LabelConfig {
            join_factor: 1.5,
            settle_ms: 500,
            complete_frames: 3,
            forget_ms: 2000,
            profile: Profile::default(),
        }
    }
}

/// One symbol as the tracker sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenSymbol {
    pub text: String,
    /// The AIM symbology identifier, e.g. `]C1`.
    pub aim: String,
    pub format: String,
    pub corners: [(f32, f32); 4],
}

impl SeenSymbol {
    /// The identifier keys this symbol carries (classification is pure and cheap).
    fn keys(&self) -> Vec<(IdKind, String)> {
        ident::classify(&self.text, Aim::parse(&self.aim), &NoTacs)
            .identifiers
            .into_iter()
            .map(|i| (i.kind, i.key))
            .collect()
    }

    fn bbox(&self) -> (f32, f32, f32, f32) {
        let xs = self.corners.iter().map(|c| c.0);
        let ys = self.corners.iter().map(|c| c.1);
        (
            xs.clone().fold(f32::INFINITY, f32::min),
            ys.clone().fold(f32::INFINITY, f32::min),
            xs.fold(f32::NEG_INFINITY, f32::max),
            ys.fold(f32::NEG_INFINITY, f32::max),
        )
    }

    /// The symbol's short side, from its corner quadrilateral.
    fn short_side(&self) -> f32 {
        let d = |a: (f32, f32), b: (f32, f32)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        let [a, b, c, _] = self.corners;
        d(a, b).min(d(b, c)).max(1.0)
    }
}

/// A label ready to be recorded: its distinct symbols in the order they were first seen.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelCommit {
    pub track: u64,
    pub symbols: Vec<SeenSymbol>,
    pub first_seen_ms: i64,
    pub at_ms: i64,
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
    committed: bool,
}

/// Groups symbols into labels and decides when each label is recorded.
#[derive(Debug)]
pub struct LabelTracker {
    cfg: LabelConfig,
    tracks: Vec<Track>,
    next_track: u64,
}

/// Splits one frame's symbols into clusters, one per physical label.
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
    let boxes: Vec<_> = symbols.iter().map(SeenSymbol::bbox).collect();
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

impl LabelTracker {
    pub fn new(cfg: LabelConfig) -> LabelTracker {
        LabelTracker {
            cfg,
            tracks: Vec::new(),
            next_track: 1,
        }
    }

    /// How many labels are being followed now.
    pub fn tracking(&self) -> usize {
        self.tracks.len()
    }

    /// Takes one frame's symbols at `now_ms` and returns the labels to record now.
    pub fn frame(&mut self, now_ms: i64, symbols: &[SeenSymbol]) -> Vec<LabelCommit> {
        let mut seen_tracks: Vec<u64> = Vec::new();
        for members in cluster(symbols, self.cfg.join_factor) {
            let group: Vec<&SeenSymbol> = members.iter().filter_map(|&i| symbols.get(i)).collect();
            let keys: Vec<Vec<(IdKind, String)>> = group.iter().map(|s| s.keys()).collect();
            // The label this cluster shows: the followed label sharing the most values with it.
            let best = self
                .tracks
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let shared = group
                        .iter()
                        .zip(&keys)
                        .filter(|(s, k)| {
                            t.symbols.iter().any(|ts| ts.text == s.text)
                                || k.iter().any(|key| t.keys.contains(key))
                        })
                        .count();
                    (i, shared)
                })
                .filter(|&(_, shared)| shared > 0)
                .max_by_key(|&(_, shared)| shared)
                .map(|(i, _)| i);
            let index = match best {
                Some(i) => i,
                None => {
                    self.tracks.push(Track {
                        id: self.next_track,
                        symbols: Vec::new(),
                        keys: Vec::new(),
                        first_seen_ms: now_ms,
                        last_seen_ms: now_ms,
                        last_change_ms: now_ms,
                        frames_seen: 0,
                        committed: false,
                    });
                    self.next_track += 1;
                    self.tracks.len() - 1
                }
            };
            let Some(track) = self.tracks.get_mut(index) else {
                continue;
            };
            for (symbol, symbol_keys) in group.into_iter().zip(keys) {
                if track.symbols.iter().all(|s| s.text != symbol.text) {
                    if track.committed {
                        // A value read only after the label was recorded is not added: the
                        // record is already acknowledged, and a second record would register
                        // the label twice.
                        continue;
                    }
                    track.symbols.push(symbol.clone());
                    track.last_change_ms = now_ms;
                    for key in symbol_keys {
                        if !track.keys.contains(&key) {
                            track.keys.push(key);
                        }
                    }
                }
            }
            if !seen_tracks.contains(&track.id) {
                seen_tracks.push(track.id);
                track.frames_seen += 1;
            }
            track.last_seen_ms = now_ms;
        }
        let mut commits = Vec::new();
        for track in &mut self.tracks {
            if track.committed {
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
                track.committed = true;
                commits.push(LabelCommit {
                    track: track.id,
                    symbols: track.symbols.clone(),
                    first_seen_ms: track.first_seen_ms,
                    at_ms: now_ms,
                });
            }
        }
        let forget = self.cfg.forget_ms;
        self.tracks
            .retain(|t| !t.committed || now_ms.saturating_sub(t.last_seen_ms) < forget);
        commits
    }

    /// Records every label not yet recorded (end of a replay, shutdown).
    pub fn finish(&mut self, now_ms: i64) -> Vec<LabelCommit> {
        let mut commits = Vec::new();
        for track in &mut self.tracks {
            if !track.committed && !track.symbols.is_empty() {
                track.committed = true;
                commits.push(LabelCommit {
                    track: track.id,
                    symbols: track.symbols.clone(),
                    first_seen_ms: track.first_seen_ms,
                    at_ms: now_ms,
                });
            }
        }
        commits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symbol at (x, y) of the given size, upright.
    fn sym(text: &str, x: f32, y: f32) -> SeenSymbol {
        SeenSymbol {
            text: text.to_owned(),
            aim: "]C0".to_owned(),
            format: "Code128".to_owned(),
            corners: [(x, y), (x + 200.0, y), (x + 200.0, y + 30.0), (x, y + 30.0)],
        }
    }

    /// One box label: serial and two IMEIs stacked 40 px apart, at (x, y).
    fn label_a(x: f32, y: f32) -> Vec<SeenSymbol> {
        vec![
            sym("SC02XG1ABJGH5", x, y),
            sym("354178036859789", x, y + 40.0),
            sym("354178036859797", x, y + 80.0),
        ]
    }

    fn label_b(x: f32, y: f32) -> Vec<SeenSymbol> {
        vec![
            sym("R58M315CL4T", x, y),
            sym("490154203237518", x, y + 40.0),
            sym("490154203237526", x, y + 80.0),
        ]
    }

    /// Runs frames `(t, symbols)` and returns a transcript of the commits.
    fn transcript(cfg: LabelConfig, frames: &[(i64, Vec<SeenSymbol>)]) -> String {
        let mut tracker = LabelTracker::new(cfg);
        let mut out = String::new();
        for (t, symbols) in frames {
            for c in tracker.frame(*t, symbols) {
                let texts: Vec<&str> = c.symbols.iter().map(|s| s.text.as_str()).collect();
                out.push_str(&format!("t={t} label {} [{}]\n", c.track, texts.join(" ")));
            }
        }
        for c in tracker.finish(99_999) {
            let texts: Vec<&str> = c.symbols.iter().map(|s| s.text.as_str()).collect();
            out.push_str(&format!("end label {} [{}]\n", c.track, texts.join(" ")));
        }
        out
    }

    /// A label in view at 30 fps from `from` to `to` ms.
    fn shown(from: i64, to: i64, symbols: &[SeenSymbol]) -> Vec<(i64, Vec<SeenSymbol>)> {
        (from..to)
            .step_by(33)
            .map(|t| (t, symbols.to_vec()))
            .collect()
    }

    #[test]
    fn two_labels_in_one_frame_are_two_clusters() {
        let mut symbols = label_a(0.0, 0.0);
        symbols.extend(label_b(600.0, 50.0));
        let clusters = cluster(&symbols, 1.5);
        assert_eq!(clusters, vec![vec![0, 1, 2], vec![3, 4, 5]]);
    }

    #[test]
    fn a_label_in_view_is_recorded_once_and_complete() {
        let frames = shown(0, 3000, &label_a(100.0, 100.0));
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=66 label 1 [SC02XG1ABJGH5 354178036859789 354178036859797]\n"
        );
    }

    #[test]
    fn values_accumulate_over_frames_until_complete() {
        let full = label_a(100.0, 100.0);
        let mut frames = vec![
            (0, vec![full[0].clone()]),
            (33, vec![full[0].clone(), full[1].clone()]),
        ];
        frames.extend(shown(66, 500, &full));
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=66 label 1 [SC02XG1ABJGH5 354178036859789 354178036859797]\n"
        );
    }

    #[test]
    fn an_incomplete_label_is_recorded_when_it_settles() {
        let back = vec![
            sym("354178036859789", 0.0, 0.0),
            sym("C02XG1ABJGH5", 0.0, 40.0),
        ];
        let frames = shown(0, 1000, &back);
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=528 label 1 [354178036859789 C02XG1ABJGH5]\n"
        );
    }

    #[test]
    fn moving_label_stays_one_label() {
        let frames: Vec<_> = (0..30)
            .map(|i| (i * 33, label_a(i as f32 * 20.0, 100.0 + i as f32 * 5.0)))
            .collect();
        assert_eq!(
            transcript(LabelConfig::default(), &frames).lines().count(),
            1
        );
    }

    #[test]
    fn repeat_suppression_follows_the_absence_time() {
        let a = label_a(100.0, 100.0);
        // Away for 1.2 s: not registered again.
        let mut frames = shown(0, 1000, &a);
        frames.extend(shown(1000, 2200, &[]));
        frames.extend(shown(2200, 3000, &a));
        // Away for 3.5 s: registered again.
        frames.extend(shown(3000, 6500, &[]));
        frames.extend(shown(6500, 7500, &a));
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=66 label 1 [SC02XG1ABJGH5 354178036859789 354178036859797]\n\
             t=6566 label 2 [SC02XG1ABJGH5 354178036859789 354178036859797]\n"
        );
    }

    #[test]
    fn two_boxes_in_view_are_never_paired_together() {
        let mut both = label_a(0.0, 0.0);
        both.extend(label_b(700.0, 0.0));
        let frames = shown(0, 1000, &both);
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=66 label 1 [SC02XG1ABJGH5 354178036859789 354178036859797]\n\
             t=66 label 2 [R58M315CL4T 490154203237518 490154203237526]\n"
        );
    }

    #[test]
    fn a_label_leaving_view_early_is_recorded_with_what_was_read() {
        let a = label_a(0.0, 0.0);
        let frames = vec![
            (0, vec![a[0].clone()]),
            (33, vec![a[0].clone()]),
            (66, vec![]),
        ];
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "end label 1 [SC02XG1ABJGH5]\n"
        );
        let mut frames = frames;
        frames.extend(shown(99, 1000, &[]));
        assert_eq!(
            transcript(LabelConfig::default(), &frames),
            "t=528 label 1 [SC02XG1ABJGH5]\n"
        );
    }
}
