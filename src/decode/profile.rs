//! Reads Code 128 and EAN-13/UPC-A from the profile across a blurred strip: the mean of the
//! strip's rows, one value per sample along the bar normal.
//!
//! rxing's readers binarise a row and count the runs between edges. When a strip has 1 to 1.5
//! pixels per module and the optics blur it by a pixel or more, a narrow bar beside a narrow
//! space leaves no edge at all, and a single lost edge pair breaks every character after it.
//! This reader does not look for edges. It fits a model of the whole symbol to the profile:
//! - Every bar is a box of a whole number of modules; the camera blurs it with a Gaussian.
//!   Blurred bars add up (their darkness is linear), so a character's contribution to the
//!   profile is its own blurred template, wherever its neighbours are.
//! - A hypothesis fixes where the symbol starts, its module width and the blur. Hypotheses
//!   come from the outermost bars (found at a threshold; both symbologies end in the same bars
//!   on both sides, so the threshold's bias is the same at both ends) and are ranked by how
//!   well the start and stop patterns, with their quiet zones, fit there.
//! - For the best hypotheses, the sum of squared differences between the profile and the sum
//!   of the characters' templates is, expanded, a sum of one term per character (how well its
//!   template matches the profile) and one term per pair of neighbours (how much their blurred
//!   templates overlap). Its minimum over all character sequences is found exactly by dynamic
//!   programming over the sequence (Viterbi), so a blurred pair of edges costs a little fit at
//!   one character instead of breaking the read.
//! - A read is accepted only when the best sequence passes the symbology's check (the mod 103
//!   check character; the EAN check digit and a valid parity pattern), decodes to plausible
//!   text, fits the profile closely, and every character beats its best alternative by a clear
//!   margin. The check is never used to correct a character: the best sequence passes it or
//!   the read is dropped, so the check keeps its full strength against misreads.
//!
//! Everything here is a pure function of the profile.

use std::sync::OnceLock;

use super::Format;

/// Model samples per module.
const R: usize = 4;
/// Blur widths tried, in modules (the Gaussian's standard deviation over the module width).
const SIGMAS: [f32; 7] = [0.35, 0.55, 0.75, 0.95, 1.2, 1.5, 1.8];
/// Module widths accepted, in profile samples.
const MIN_MODULE: f32 = 1.5;
const MAX_MODULE: f32 = 12.0;
/// Threshold shifts tried at each end, in quarter modules: how far the true outer edge may lie
/// outside (positive) or inside the threshold crossing.
const SHIFTS: std::ops::RangeInclusive<i32> = -3..=8;
/// How many hypotheses (ranked by the fit of the symbol's ends) get a full decode.
const FULL_DECODES: usize = 3;
/// How many of an EAN's best hypotheses are fitted at every blur.
const EAN_EVERY_BLUR: usize = 2;
/// The weakest contrast fitted, in grey levels between a bar and a space.
const MIN_CONTRAST: f32 = 10.0;
/// The largest root-mean-square difference between the profile and the fitted model, in
/// units of the bar-space contrast, for a read to be accepted.
const MAX_RMS: f32 = 0.2;
/// The ends' fit above which a hypothesis is not decoded at all.
const MAX_END_RMS: f32 = 0.15;
/// The same for the best hypothesis of a Code 128, whose start and stop characters are long
/// enough to tell a symbol that will not read (3 % of all decode instructions).
const MAX_CODE128_END_RMS: f32 = 0.11;
/// How much worse the best sequence with any one character changed must fit: at least this
/// many times the residual's variance per sample (a likelihood ratio of e^(MARGIN/2) if the
/// residual were noise; it is partly model error, so this errs on the safe side) ...
const MARGIN: f32 = 20.0;
/// ... and at least this much, in squared contrast units summed over the samples.
const MIN_MARGIN: f32 = 0.05;

/// Which of the formats this reader knows the caller wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProfileFormats {
    pub code128: bool,
    pub ean13: bool,
    pub upca: bool,
}

impl ProfileFormats {
    pub fn from_formats(formats: &[Format]) -> ProfileFormats {
        ProfileFormats {
            code128: formats.contains(&Format::Code128),
            ean13: formats.contains(&Format::Ean13),
            upca: formats.contains(&Format::UpcA),
        }
    }

    pub fn any(&self) -> bool {
        self.code128 || self.ean13 || self.upca
    }
}

/// One symbol read from a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRead {
    pub format: Format,
    /// The decoded text, with FNC1 after the first position as GS (0x1D), like rxing's.
    pub text: String,
    /// The AIM symbology identifier (`]C1` for a Code 128 starting with FNC1).
    pub aim: String,
    /// The symbol's first and last bar edges, in profile samples.
    pub x0: f32,
    pub x1: f32,
    /// The symbol characters as decoded, check character included (Code 128: start, data,
    /// check, no stop; EAN/UPC: the thirteen digits).
    pub values: Vec<u8>,
    /// The fit: root-mean-square difference between profile and model, in contrast units.
    pub rms: f32,
}

impl ProfileRead {
    /// Whether the read's characters pass their symbology's check.
    pub fn check_passes(&self) -> bool {
        match self.format {
            Format::Code128 => code128_check(&self.values),
            Format::Ean13 | Format::UpcA => ean_check(&self.values),
            _ => false,
        }
    }
}

/// Reads the one symbol the profile holds, if it is a Code 128 or an EAN-13/UPC-A that fits.
///
/// Dark is low, as in the frame. A profile holding light bars on a dark ground must be
/// inverted by the caller.
pub fn read_profile(profile: &[f32], formats: ProfileFormats) -> Option<ProfileRead> {
    read_profile_near(profile, formats, None)
}

/// [`read_profile`] for a profile that may hold other dark things beside the symbol (a label
/// edge, the desk, text): `bars` is where the locator saw the first and last bar, in samples,
/// and the symbol's ends are looked for at the quiet zones nearest to them.
pub fn read_profile_near(
    profile: &[f32],
    formats: ProfileFormats,
    bars: Option<(f32, f32)>,
) -> Option<ProfileRead> {
    fit_profile_near(profile, formats, bars).ok()
}

/// Why a profile read nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// No symbology's start and stop patterns fitted the profile's ends well enough for a
    /// full fit: no dark-on-light symbol ends where the profile's quiet zones are.
    NoEnds,
    /// Some hypothesis was fitted in full, and no fit passed the fit, margin and check tests.
    NoFit,
}

/// [`read_profile_near`], saying why it read nothing. A profile whose ends fit a symbol as it
/// is (`NoFit`) holds dark bars on light, so the caller need not try it inverted.
pub fn fit_profile_near(
    profile: &[f32],
    formats: ProfileFormats,
    bars: Option<(f32, f32)>,
) -> Result<ProfileRead, Miss> {
    if profile.len() < 40 || !formats.any() || profile.iter().any(|v| !v.is_finite()) {
        return Err(Miss::NoEnds);
    }
    // The locator's direction across the bars is only known up to a half turn: a symbol
    // upside down in the strip is the profile reversed. Both directions, and every place the
    // symbol may end in each, are fitted, and the one best fit over them all is the only one
    // checked.
    let last = (profile.len() - 1) as f32;
    let reversed: Vec<f32> = profile.iter().rev().copied().collect();
    let mirrored = bars.map(|(a, b)| (last - b, last - a));
    let mut views: Vec<View> = Vec::new();
    for (profile, bars, reversed) in [(profile, bars, false), (&reversed[..], mirrored, true)] {
        for ends in outer_bars(profile, bars) {
            views.push(View {
                profile,
                ends,
                reversed,
            });
        }
    }
    if views.is_empty() {
        return Err(Miss::NoEnds);
    }
    let mut best: Result<ProfileRead, Miss> = Err(Miss::NoEnds);
    let mut keep = |attempt: Result<ProfileRead, Miss>| match (attempt, &best) {
        (Ok(read), Ok(b)) if read.rms >= b.rms => {}
        (Ok(read), _) => best = Ok(read),
        (Err(Miss::NoFit), Err(_)) => best = Err(Miss::NoFit),
        (Err(_), _) => {}
    };
    if formats.code128 {
        keep(read_symbology(&views, &CODE128, formats));
    }
    if formats.ean13 || formats.upca {
        keep(read_symbology(&views, &EAN, formats));
    }
    best
}

/// One way to fit a profile: its samples as given or reversed, and one place where the
/// symbol's outer bars may be in them.
struct View<'a> {
    profile: &'a [f32],
    ends: (f32, f32),
    reversed: bool,
}

/// Where the symbol's outermost bars may end, up to a bias that depends on the blur: where
/// the profile crosses a threshold 30 % of the way from its light level to its darkest
/// samples, at the quiet zone on either side. Without a hint, the first and last crossings in
/// the profile. With the locator's bars, on each side the crossing next to the nearest light
/// run past the locator's end that is clearly longer than any space between the bars (a
/// quiet zone is ten modules, a space at most four), and the one next to the longest such run
/// inside the outer parts of the locator's stretch (its box ran on into text or another
/// symbol): up to four pairs. Empty when the profile has too little contrast to hold bars.
fn outer_bars(profile: &[f32], bars: Option<(f32, f32)>) -> Vec<(f32, f32)> {
    let n = profile.len();
    // The levels come from the bars' stretch when it is known, so that a dark desk or a
    // bright margin beyond the label does not set them.
    let (from, to) = match bars {
        Some((a, b)) if a.is_finite() && b.is_finite() && b > a => {
            let a = (a.max(0.0) as usize).min(n - 1);
            let b = (b as usize).clamp(a + 1, n);
            (a, b)
        }
        _ => (0, n),
    };
    let mut levels: Vec<f32> = profile[from..to].to_vec();
    let light = quantile(&mut levels, 0.9);
    let dark = quantile(&mut levels, 0.02);
    if light - dark < MIN_CONTRAST {
        return Vec::new();
    }
    let t = light - 0.3 * (light - dark);
    // The outermost samples past the 30 % threshold between two quiet zones (the samples
    // `left` and `right`, which are light), as sub-sample crossings by linear interpolation
    // between the samples either side.
    let cross = |i: usize, j: usize| {
        let (a, b) = (profile[i], profile[j]);
        let f = if (a - b).abs() > 1e-6 {
            (a - t) / (a - b)
        } else {
            0.5
        };
        i as f32 + f * (j as f32 - i as f32)
    };
    let edges = |first: usize, last: usize| -> Option<(f32, f32)> {
        if last <= first + 20 {
            return None;
        }
        let xa = if first > 0 {
            cross(first - 1, first)
        } else {
            0.0
        };
        let xb = if last + 1 < n {
            cross(last, last + 1)
        } else {
            last as f32
        };
        Some((xa, xb))
    };
    if bars.is_none() {
        let first = profile.iter().position(|&v| v < t);
        let last = profile.iter().rposition(|&v| v < t);
        return first
            .zip(last)
            .and_then(|(first, last)| edges(first, last))
            .into_iter()
            .collect();
    }
    // A quiet zone is a long run that is both light (above 75 % of the way from the bars'
    // dark level to the row's lightest) and flat: blur keeps the spaces between narrow bars
    // from getting that light or that flat, so inside the symbol such runs are short even
    // where the 30 % threshold sees long light runs. Flatness is local, so a quiet zone
    // somewhat dimmer than a bright margin further out (light falling off across the label,
    // glare elsewhere on the row) still counts.
    let mut all: Vec<f32> = profile.to_vec();
    let range = quantile(&mut all, 0.97) - dark;
    let floor = dark + 0.75 * range;
    let slope = (0.2 * range).max(12.0);
    let quiet_light = |i: usize| {
        let (l, r) = (i.saturating_sub(2), (i + 2).min(n - 1));
        profile[i] > floor && (profile[r] - profile[l]).abs() < slope
    };
    // Over the middle half of the locator's stretch only: its ends may lie in the quiet
    // zones themselves.
    let quarter = (to - from) / 4;
    let mut longest = 0usize;
    let mut run = 0usize;
    for i in from + quarter..to - quarter {
        if quiet_light(i) {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let quiet = (longest + longest / 2).max(8);
    // A box that runs on past the symbol can hold a quiet zone in its middle half, and then
    // `quiet` is longer than that quiet zone. Inside the box's ends a quiet zone is a run
    // three times as long as the box's typical light run (a space of one or two modules)
    // and no longer than `quiet`.
    let mut runs: Vec<usize> = Vec::new();
    let mut run = 0usize;
    for i in from..to {
        if quiet_light(i) {
            run += 1;
        } else {
            if run >= 2 {
                runs.push(run);
            }
            run = 0;
        }
    }
    let typical = if runs.is_empty() {
        quiet
    } else {
        let mid = runs.len() / 2;
        *runs.select_nth_unstable(mid).1
    };
    let quiet_in = (3 * typical).clamp(8, quiet);
    // The first sample of the nearest quiet zone from `start` in direction `step` (a start
    // inside one counts), or `None` when the profile ends first.
    let quiet_from = |start: usize, step: isize| -> Option<usize> {
        let mut i = start as isize;
        let mut run = 0usize;
        let mut run_start = i;
        while i >= 0 && (i as usize) < n {
            if quiet_light(i as usize) {
                if run == 0 {
                    run_start = i;
                }
                run += 1;
                if run >= quiet {
                    return Some(run_start as usize);
                }
            } else {
                run = 0;
            }
            i += step;
        }
        None
    };
    // The longest run of at least `quiet_in` light samples in `range`, as the sample of it
    // nearest to the middle of the box.
    let longest_in = |range: std::ops::Range<usize>, toward_end: bool| -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        let mut start = range.start;
        let mut run = 0usize;
        for i in range.clone() {
            if quiet_light(i) {
                if run == 0 {
                    start = i;
                }
                run += 1;
            }
            if run > 0 && (!quiet_light(i) || i + 1 == range.end) {
                let last = if quiet_light(i) { i } else { i - 1 };
                if run >= quiet_in && best.is_none_or(|(len, _)| run > len) {
                    best = Some((run, if toward_end { start } else { last }));
                }
                run = 0;
            }
        }
        best.map(|(_, i)| i)
    };
    // Where the symbol's quiet zones may end, on each side. Past the locator's end: its box
    // often stops inside a blurred symbol, and a start inside a quiet zone (the box reaching
    // past the bars) first walks back into the symbol. Inside its end: the box can run on
    // over a quiet zone into the text printed in line with the symbol, or into the next
    // symbol, and then the symbol ends at the first quiet zone within the box's outer
    // parts.
    let reach = (to - from) * 9 / 20;
    let mut a = from;
    while a + 1 < to && quiet_light(a) {
        a += 1;
    }
    let mut b = to - 1;
    while b > a && quiet_light(b) {
        b -= 1;
    }
    let lefts = [quiet_from(a, -1), longest_in(from..from + reach, false)];
    let rights = [quiet_from(b, 1), longest_in(to - reach..to, true)];
    let mut out: Vec<(f32, f32)> = Vec::new();
    for left in lefts.into_iter().flatten() {
        for right in rights.into_iter().flatten() {
            if right <= left + 1 {
                continue;
            }
            let inner = &profile[left + 1..right];
            let first = inner.iter().position(|&v| v < t);
            let last = inner.iter().rposition(|&v| v < t);
            if let Some((first, last)) = first.zip(last)
                && let Some(e) = edges(left + 1 + first, left + 1 + last)
                && !out.contains(&e)
            {
                out.push(e);
            }
        }
    }
    out
}

/// The `q` quantile of `values` (reordered in place), in linear time.
fn quantile(values: &mut [f32], q: f32) -> f32 {
    let i = ((values.len() as f32 * q) as usize).min(values.len().saturating_sub(1));
    let (_, v, _) = values.select_nth_unstable_by(i, f32::total_cmp);
    *v
}

/// Whether a profile (a single row will do) shows the quiet zones the fit needs on both sides
/// of the locator's bars, in either polarity: a cheap test before the rows are averaged.
pub(crate) fn has_quiet_zones(profile: &[f32], bars: (f32, f32)) -> bool {
    if profile.len() < 40 || profile.iter().any(|v| !v.is_finite()) {
        return false;
    }
    if !outer_bars(profile, Some(bars)).is_empty() {
        return true;
    }
    let inverted: Vec<f32> = profile.iter().map(|v| 255.0 - v).collect();
    !outer_bars(&inverted, Some(bars)).is_empty()
}

/// One pattern a character position may hold: element widths in modules, alternating dark and
/// light from `dark_first`.
#[derive(Debug, Clone)]
struct Pattern {
    value: u8,
    widths: Vec<u8>,
    dark_first: bool,
}

impl Pattern {
    fn modules(&self) -> usize {
        self.widths.iter().map(|&w| w as usize).sum()
    }

    /// The dark intervals, in modules from the pattern's start.
    fn bars(&self) -> Vec<(f32, f32)> {
        let mut out = Vec::new();
        let mut at = 0.0;
        let mut dark = self.dark_first;
        for &w in &self.widths {
            if dark {
                out.push((at, at + w as f32));
            }
            at += w as f32;
            dark = !dark;
        }
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Code128,
    Ean,
}

/// A decoded symbol: its format, text and AIM identifier.
type Finished = (Format, String, String);
/// One set's patterns, their blurred templates and the templates' squared norms.
type SetModel = (Set, Vec<Pattern>, Vec<Vec<f32>>, Vec<f32>);
/// The pair terms of neighbours of two sets at a distance (modules), row-major by the first,
/// with their smallest value (the Viterbi step's bound).
type PairTable = ((Set, Set, usize), Vec<f32>, f32);

/// What a symbology looks like to the sequence fit.
struct Symbology {
    kind: Kind,
    /// Total modules for a symbol with `n` variable characters (`None` if `n` is not allowed).
    modules: fn(usize) -> Option<usize>,
    /// The range of `n` to try.
    counts: std::ops::RangeInclusive<usize>,
    /// The character positions of a symbol with `n` variable characters.
    slots: fn(usize) -> Vec<Slot>,
    /// Templates blur at most this many modules beyond their pattern (their tails are cut).
    max_reach: usize,
    /// Turns the decoded values into a read (check, text), or `None`.
    finish: fn(&[u8], ProfileFormats) -> Option<Finished>,
}

/// One character position: where it starts (modules) and which patterns it may hold.
struct Slot {
    offset: usize,
    set: Set,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    C128Start,
    C128Data,
    C128Stop,
    EanGuard,
    EanLeft,
    EanMiddle,
    EanRight,
}

/// Code 128 character widths (bar, space, bar, space, bar, space), values 0 to 105; 106 is
/// the stop pattern with its final bar.
const C128_WIDTHS: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];

/// EAN/UPC "L" (odd parity) digit widths (space, bar, space, bar).
const EAN_L: [[u8; 4]; 10] = [
    [3, 2, 1, 1],
    [2, 2, 2, 1],
    [2, 1, 2, 2],
    [1, 4, 1, 1],
    [1, 1, 3, 2],
    [1, 2, 3, 1],
    [1, 1, 1, 4],
    [1, 3, 1, 2],
    [1, 2, 1, 3],
    [3, 1, 1, 2],
];

/// The parity pattern (bit 5 = first left digit, 1 = even/"G") for each implied first digit.
const EAN_FIRST_DIGIT: [u8; 10] = [0x00, 0x0B, 0x0D, 0x0E, 0x13, 0x19, 0x1C, 0x15, 0x16, 0x1A];

fn widths(s: &str) -> Vec<u8> {
    s.bytes().map(|b| b - b'0').collect()
}

fn patterns(set: Set) -> Vec<Pattern> {
    let c128 = |v: usize| Pattern {
        value: v as u8,
        widths: widths(C128_WIDTHS[v]),
        dark_first: true,
    };
    match set {
        Set::C128Start => (103..=105).map(c128).collect(),
        Set::C128Data => (0..=102).map(c128).collect(),
        Set::C128Stop => vec![c128(106)],
        Set::EanGuard => vec![Pattern {
            value: 0,
            widths: vec![1, 1, 1],
            dark_first: true,
        }],
        Set::EanMiddle => vec![Pattern {
            value: 0,
            widths: vec![1, 1, 1, 1, 1],
            dark_first: false,
        }],
        Set::EanLeft => (0..20)
            .map(|v| {
                let l = EAN_L[v % 10];
                let w = if v < 10 {
                    l.to_vec()
                } else {
                    l.iter().rev().copied().collect()
                };
                Pattern {
                    value: v as u8,
                    widths: w,
                    dark_first: false,
                }
            })
            .collect(),
        Set::EanRight => (0..10)
            .map(|v| Pattern {
                value: v as u8,
                widths: EAN_L[v].to_vec(),
                dark_first: true,
            })
            .collect(),
    }
}

const CODE128: Symbology = Symbology {
    kind: Kind::Code128,
    // Start, n data characters, check, stop (13 modules).
    modules: |n| Some(11 * (n + 2) + 13),
    counts: 1..=60,
    slots: |n| {
        let mut s = vec![Slot {
            offset: 0,
            set: Set::C128Start,
        }];
        for i in 1..=n + 1 {
            s.push(Slot {
                offset: 11 * i,
                set: Set::C128Data,
            });
        }
        s.push(Slot {
            offset: 11 * (n + 2),
            set: Set::C128Stop,
        });
        s
    },
    max_reach: 5,
    finish: finish_code128,
};

const EAN: Symbology = Symbology {
    kind: Kind::Ean,
    modules: |n| (n == 12).then_some(95),
    counts: 12..=12,
    slots: |_| {
        let mut s = vec![Slot {
            offset: 0,
            set: Set::EanGuard,
        }];
        for k in 0..6 {
            s.push(Slot {
                offset: 3 + 7 * k,
                set: Set::EanLeft,
            });
        }
        s.push(Slot {
            offset: 45,
            set: Set::EanMiddle,
        });
        for k in 0..6 {
            s.push(Slot {
                offset: 50 + 7 * k,
                set: Set::EanRight,
            });
        }
        s.push(Slot {
            offset: 92,
            set: Set::EanGuard,
        });
        s
    },
    max_reach: 3,
    finish: finish_ean,
};

/// The standard normal distribution function (Abramowitz and Stegun 7.1.26, error < 2e-7).
fn phi(z: f32) -> f32 {
    let x = z.abs() / std::f32::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152 + t * 1.061_405_4))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// A pattern's blurred darkness (0 light, 1 dark) at `R` samples per module, from `reach`
/// modules before it to `reach` after.
fn template(p: &Pattern, sigma: f32, reach: usize) -> Vec<f32> {
    let len = (p.modules() + 2 * reach) * R;
    let bars = p.bars();
    (0..len)
        .map(|k| {
            let u = (k as f32 + 0.5) / R as f32 - reach as f32;
            bars.iter()
                .map(|&(s, e)| phi((u - s) / sigma) - phi((u - e) / sigma))
                .sum()
        })
        .collect()
}

/// Where module `u` of a symbol lies in the profile: `a + m u / (1 + c u)`. This is how a
/// straight line through a tilted plane projects, so a label turned away from the camera keeps
/// its modules in step from end to end; `c = 0` is a symbol seen square on. Its modules are
/// `m / (1 + c u)^2` samples wide.
#[derive(Debug, Clone, Copy)]
struct Map {
    a: f32,
    m: f32,
    c: f32,
}

impl Map {
    fn x(&self, u: f32) -> f32 {
        self.a + self.m * u / (1.0 + self.c * u)
    }
}

/// The ratios of the module width at a symbol's end to that at its start that the fit tries:
/// a label tilted so that one end is up to about 10 % nearer the camera than the other.
/// Without them a ratio of 1.05 over a 150-module Code 128 puts its middle a whole module out
/// of step, and the fit fails.
const TILTS: [f32; 7] = [0.91, 0.94, 0.97, 1.0, 1.03, 1.06, 1.1];
/// How much better (as a factor on the residual) a tilted fit must be than a square-on one.
const TILT_PENALTY: f32 = 1.15;
/// How much better (as a factor on the ends' residual) a tilt must fit the ends than the best
/// square-on hypothesis to be kept.
const TILT_ENDS: f32 = 0.7;
/// How many of the lengths whose ends fit best square on are tried tilted.
const TILTED_LENGTHS: usize = 3;

/// A hypothesis: where the symbol's modules lie in the profile, its blur, the number of
/// variable characters, and how well its ends fit.
#[derive(Debug, Clone, Copy)]
struct Hypothesis {
    map: Map,
    /// Index into `SIGMAS`.
    sigma: usize,
    n: usize,
    /// Per blur: light level at the start and end, contrast (signed: dark is lower) at the
    /// start and end, from the ends' fit at that blur.
    levels: [Option<(f32, f32, f32, f32)>; SIGMAS.len()],
    end_rms: f32,
    /// Which direction of the profile (an index into the views) the hypothesis is in.
    view: usize,
}

/// The profile resampled at `R` points per module over modules `[from, to)` of a hypothesis.
fn resample(profile: &[f32], map: &Map, from: f32, to: f32, out: &mut Vec<f32>) {
    out.clear();
    let n = ((to - from) * R as f32).round().max(0.0) as usize;
    out.reserve(n);
    let last = profile.len() - 1;
    // Linear interpolation at a fractional sample, clamped at the ends. Square on, the map
    // is computed without its division (by exactly 1). The ends' fit resamples two windows
    // for every hypothesis, which made this a tenth of all decode instructions.
    let sample = |x: f32| {
        if x > 0.0 && x < last as f32 {
            let i = x as usize;
            let f = x - i as f32;
            profile[i] * (1.0 - f) + profile[i + 1] * f
        } else if x <= 0.0 {
            profile[0]
        } else {
            profile[last]
        }
    };
    if map.c == 0.0 {
        let x = |k: usize| map.a + map.m * (from + (k as f32 + 0.5) / R as f32);
        // Square on, the positions grow with `k` (the module is positive, and rounding keeps
        // the order), so when the first and last lie inside the profile every one does, and
        // the loop needs no test for the ends.
        if n > 0 && map.m > 0.0 && x(0) > 0.0 && x(n - 1) < last as f32 {
            out.extend((0..n).map(|k| {
                let x = x(k);
                let i = x as usize;
                let f = x - i as f32;
                profile[i] * (1.0 - f) + profile[i + 1] * f
            }));
        } else {
            out.extend((0..n).map(|k| sample(x(k))));
        }
    } else {
        for k in 0..n {
            let u = from + (k as f32 + 0.5) / R as f32;
            out.push(sample(map.x(u)));
        }
    }
}

/// The largest value of a slice (minus infinity when empty), in eight lanes so that it
/// vectorises.
fn max_of(v: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            lanes[i] = lanes[i].max(c[i]);
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    lanes.iter().copied().fold(tail, f32::max)
}

/// The dot product of two slices over their common length, in eight lanes so that it
/// vectorises.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    lanes.iter().sum::<f32>() + tail
}

/// A series with the sums a least-squares line fit needs from it. The ends' fit compares each
/// resampled window with several templates: the sums of each are taken once, and each fit
/// costs one dot product.
struct Sums<'a> {
    v: &'a [f32],
    sum: f32,
    sum_sq: f32,
}

impl<'a> Sums<'a> {
    fn new(v: &'a [f32]) -> Sums<'a> {
        Sums {
            v,
            sum: v.iter().sum(),
            sum_sq: dot(v, v),
        }
    }
}

/// Least-squares fit `y = light + contrast * t`: returns (light, contrast, rms of the
/// residual in units of |contrast|). The contrast is negative for dark bars on light.
fn fit_line(y: &[f32], t: &[f32]) -> (f32, f32, f32) {
    let n = y.len().min(t.len());
    fit_sums(&Sums::new(&y[..n]), &Sums::new(&t[..n]))
}

/// [`fit_line`] over series of the same length whose sums are known.
fn fit_sums(y: &Sums, t: &Sums) -> (f32, f32, f32) {
    if y.v.len() != t.v.len() {
        return fit_line(y.v, t.v);
    }
    let n = y.v.len() as f32;
    if n < 2.0 {
        return (0.0, 0.0, f32::INFINITY);
    }
    let (sy, st, stt, syy) = (y.sum, t.sum, t.sum_sq, y.sum_sq);
    let sty = dot(y.v, t.v);
    let var_t = stt - st * st / n;
    if var_t < 1e-6 {
        return (0.0, 0.0, f32::INFINITY);
    }
    let cov = sty - st * sy / n;
    let slope = cov / var_t;
    let light = (sy - slope * st) / n;
    let sse = (syy - sy * sy / n) - cov * cov / var_t;
    let rms = (sse.max(0.0) / n).sqrt() / slope.abs().max(1e-6);
    (light, slope, rms)
}

/// The end patterns of a symbology with quiet zones, as (window start, window end, pattern
/// index candidates) in modules relative to the symbol's start or end.
struct EndModels {
    /// Per sigma: candidate templates over the start window.
    start: Vec<Vec<Vec<f32>>>,
    /// Per sigma: the template over the end window.
    end: Vec<Vec<f32>>,
    start_window: (f32, f32),
    end_window: (f32, f32),
}

/// Templates of the symbol's ends with their quiet zones: the start window holds four modules
/// of quiet zone and the first pattern up to one module before its end (the next character's
/// blur reaches into that last module); the end window is its mirror image.
fn end_models(sym: &Symbology) -> EndModels {
    let (first, last) = if sym.kind == Kind::Code128 {
        (Set::C128Start, Set::C128Stop)
    } else {
        (Set::EanGuard, Set::EanGuard)
    };
    let q = 4usize;
    let firsts = patterns(first);
    let last_p = &patterns(last)[0];
    let fm = firsts[0].modules();
    let lm = last_p.modules();
    // Inside the symbol the window stops short of the neighbouring character.
    let inner_start = if fm > 3 { fm - 1 } else { fm + 1 };
    let inner_end = if lm > 3 { lm - 1 } else { lm + 1 };
    let mut start = Vec::new();
    let mut end = Vec::new();
    for &s in &SIGMAS {
        let r = q;
        start.push(
            firsts
                .iter()
                .map(|p| {
                    // template() covers [-r, fm + r); keep [-q, inner_start).
                    let t = template(p, s, r);
                    t[..(r + inner_start) * R].to_vec()
                })
                .collect(),
        );
        let t = template(last_p, s, r);
        // Keep [lm - inner_end, lm + q).
        let from = (r + lm - inner_end) * R;
        end.push(t[from..(r + lm + q) * R].to_vec());
    }
    EndModels {
        start,
        end,
        start_window: (-(q as f32), inner_start as f32),
        end_window: (-(inner_end as f32), q as f32),
    }
}

/// Ranks hypotheses for one symbology by the fit of its ends.
fn hypotheses(profile: &[f32], xa: f32, xb: f32, sym: &Symbology) -> Vec<Hypothesis> {
    static CODE128_ENDS: OnceLock<EndModels> = OnceLock::new();
    static EAN_ENDS: OnceLock<EndModels> = OnceLock::new();
    let models = match sym.kind {
        Kind::Code128 => &CODE128_ENDS,
        Kind::Ean => &EAN_ENDS,
    }
    .get_or_init(|| end_models(sym));
    let span = xb - xa;
    let start_sums: Vec<Vec<Sums>> = models
        .start
        .iter()
        .map(|ts| ts.iter().map(|t| Sums::new(t)).collect())
        .collect();
    let end_sums: Vec<Sums> = models.end.iter().map(|t| Sums::new(t)).collect();
    let (mut ys, mut ye) = (Vec::new(), Vec::new());
    // The fit of the ends of one hypothesis: the best over blurs and start patterns, or `None`
    // when no blur gives both ends a dark-on-light fit within `MAX_END_RMS`.
    let mut ends = |n: usize, total: f32, j: i32, tilt: f32| -> Option<Hypothesis> {
        // The outer edges lie j quarter modules beyond the crossings at both ends, a quarter
        // of the module width there. With the end's modules `tilt` times the start's,
        // 1 + c T = 1 / sqrt(tilt), and the edges are m T / (1 + c T) apart.
        let k = tilt.sqrt().recip();
        let c = (k - 1.0) / total;
        let m = span / (total / k - 0.25 * j as f32 * (1.0 + tilt));
        let range = MIN_MODULE..=MAX_MODULE;
        if !range.contains(&m) || !range.contains(&(m * tilt)) {
            return None;
        }
        let map = Map {
            a: xa - 0.25 * j as f32 * m,
            m,
            c,
        };
        // The end first: most hypotheses fail it at every blur, and then the start window
        // is not even sampled.
        let (from, to) = models.end_window;
        resample(profile, &map, total + from, total + to, &mut ye);
        let ye = Sums::new(&ye);
        let end_fits: [(f32, f32, f32); SIGMAS.len()] =
            std::array::from_fn(|si| fit_sums(&ye, &end_sums[si]));
        let end_fails = |(_, ce, re): (f32, f32, f32)| ce > -MIN_CONTRAST || re > MAX_END_RMS;
        if end_fits.iter().all(|&f| end_fails(f)) {
            return None;
        }
        let (from, to) = models.start_window;
        resample(profile, &map, from, to, &mut ys);
        let ys = Sums::new(&ys);
        let mut levels = [None; SIGMAS.len()];
        let mut best = (f32::INFINITY, 0usize);
        for (si, slot) in levels.iter_mut().enumerate() {
            let (le, ce, re) = end_fits[si];
            if end_fails(end_fits[si]) {
                continue;
            }
            let mut here = f32::INFINITY;
            for t in &start_sums[si] {
                let (ls, cs, rs) = fit_sums(&ys, t);
                if cs > -MIN_CONTRAST || rs > MAX_END_RMS {
                    continue;
                }
                let end_rms = (0.5 * (rs * rs + re * re)).sqrt();
                if end_rms < here {
                    here = end_rms;
                    *slot = Some((ls, le, cs, ce));
                }
            }
            if here < best.0 {
                best = (here, si);
            }
        }
        best.0.is_finite().then_some(Hypothesis {
            map,
            sigma: best.1,
            n,
            levels,
            end_rms: best.0,
            view: 0,
        })
    };
    // First every length and shift square on; then the tilts, only for the lengths whose ends
    // fit best square on. A tilt of 10 % moves the ends' fit a little but the length by less
    // than a character, so the right length is among the best square on, and the tilts are
    // tried for three lengths instead of every one (2.5 ms per profile instead of 7).
    let mut out: Vec<Hypothesis> = Vec::new();
    for n in sym.counts.clone() {
        let Some(total) = (sym.modules)(n) else {
            continue;
        };
        out.extend(SHIFTS.filter_map(|j| ends(n, total as f32, j, 1.0)));
    }
    out.sort_by(|x, y| x.end_rms.total_cmp(&y.end_rms));
    let mut lengths: Vec<usize> = Vec::new();
    for h in &out {
        if !lengths.contains(&h.n) {
            lengths.push(h.n);
        }
        if lengths.len() == TILTED_LENGTHS {
            break;
        }
    }
    for n in lengths {
        let Some(total) = (sym.modules)(n) else {
            continue;
        };
        for j in SHIFTS {
            for &tilt in TILTS.iter().filter(|&&t| t != 1.0) {
                out.extend(ends(n, total as f32, j, tilt));
            }
        }
    }
    // A tilt must fit the ends clearly better than every square-on hypothesis: on a heavily
    // blurred symbol the ends hardly tell tilts apart, and tilts that fit them a little better
    // by chance would crowd the right square-on hypotheses out of the full fits.
    let square_best = out
        .iter()
        .filter(|h| h.map.c == 0.0)
        .map(|h| h.end_rms)
        .fold(f32::INFINITY, f32::min);
    out.retain(|h| h.map.c == 0.0 || h.end_rms < TILT_ENDS * square_best);
    out.sort_by(|x, y| x.end_rms.total_cmp(&y.end_rms));
    out.truncate(FULL_DECODES);
    out
}

fn read_symbology(
    views: &[View],
    sym: &Symbology,
    formats: ProfileFormats,
) -> Result<ProfileRead, Miss> {
    let mut hs: Vec<Hypothesis> = Vec::new();
    for (i, v) in views.iter().enumerate() {
        let mut these = hypotheses(v.profile, v.ends.0, v.ends.1, sym);
        for h in &mut these {
            h.view = i;
        }
        hs.extend(these);
    }
    // A Code 128's start and stop patterns differ, so the ends' fit tells the direction and
    // the best hypotheses of all views share the full fits. An EAN's guards read the same
    // both ways, so it gets as many full fits as two views.
    hs.sort_by(|x, y| x.end_rms.total_cmp(&y.end_rms));
    hs.truncate(match sym.kind {
        Kind::Code128 => FULL_DECODES,
        Kind::Ean => FULL_DECODES * 2,
    });
    let first = hs.first().ok_or(Miss::NoEnds)?;
    let (first_end, first_view) = (first.end_rms, first.view);
    // A Code 128 whose ends fit this badly at best has not read on the generated set or the
    // corpus (the worst ends' fit of a read was 0.092): no full fit.
    if sym.kind == Kind::Code128 && first_end > MAX_CODE128_END_RMS {
        return Err(Miss::NoEnds);
    }
    read_best(views, sym, formats, &hs, first_end, first_view).ok_or(Miss::NoFit)
}

/// The full fits of the best hypotheses `hs` of one symbology (best first), and the check of
/// the one that fits best.
fn read_best(
    views: &[View],
    sym: &Symbology,
    formats: ProfileFormats,
    hs: &[Hypothesis],
    first_end: f32,
    first_view: usize,
) -> Option<ProfileRead> {
    let models = models(sym);
    // The most likely reading is the best-fitting one over hypotheses and blurs; only that one
    // is then checked. Checking every candidate and keeping any that passes would let the
    // checks pick among misreads.
    let mut best: Option<(Fit, &Hypothesis, &Model)> = None;
    for (rank, h) in hs.iter().enumerate() {
        // A tilted hypothesis, or one in another view (the other direction, other ends),
        // whose ends fit clearly worse than the best one's is not worth a fit: a model
        // blurred enough fits the profile of a symbol read backwards, or at a wrong tilt,
        // about as well as the right model fits it, so such a fit is left out, not outscored.
        if h.end_rms > 1.5 * first_end + 0.02 && (h.map.c != 0.0 || h.view != first_view) {
            continue;
        }
        // The ends fix the blur of a Code 128 well (its start character is eleven modules
        // long), so only the best hypothesis tries its neighbours. An EAN's guards are three
        // modules and hardly tell the blur: its two best hypotheses (often one per direction)
        // try every blur, and the rest the blur that fit best so far and its neighbours, since
        // the blur belongs to the picture, not to the hypothesis (every blur for all six
        // made EAN fits nine in ten of all full fits, and read nothing more).
        let around = |s: usize| (s.saturating_sub(1)..=(s + 1).min(SIGMAS.len() - 1)).collect();
        let sigmas: Vec<usize> = match (sym.kind, &best) {
            (Kind::Ean, Some(b)) if rank >= EAN_EVERY_BLUR => around(b.2.sigma),
            (Kind::Ean, _) => (0..SIGMAS.len()).collect(),
            _ if rank == 0 => around(h.sigma),
            _ => vec![h.sigma],
        };
        for si in sigmas {
            let Some(model) = models.get(si) else {
                continue;
            };
            let Some(fit) = fit(views[h.view].profile, sym, h, model) else {
                continue;
            };
            // A tilt is one more free parameter, and on a heavily blurred symbol it can fit a
            // misread a little better than the square-on hypothesis fits the right reading:
            // a tilted fit must be clearly better to win.
            let score = |f: &Fit, h: &Hypothesis| {
                if h.map.c == 0.0 {
                    f.rms
                } else {
                    f.rms * TILT_PENALTY
                }
            };
            if best
                .as_ref()
                .is_none_or(|b| score(&fit, h) < score(&b.0, b.1))
            {
                best = Some((fit, h, model));
            }
        }
    }
    let (fit0, h, model) = best?;
    if fit0.rms > MAX_RMS {
        return None;
    }
    // The margins need the backward pass too: only for the winner, over the terms of its fit.
    let view = &views[h.view];
    let (_, _, margin) = viterbi(&fit0.unary, &fit0.pairs, &model.pairs, true)?;
    let fit = fit0;
    let need = (MARGIN * fit.rms * fit.rms).max(MIN_MARGIN);
    if margin < need {
        return None;
    }
    let (format, text, aim) = (sym.finish)(&fit.values, formats)?;
    let values = match format {
        Format::Code128 => fit.values,
        _ => ean_digits(&fit.values)?,
    };
    // Where the symbol lies in the profile as the caller gave it.
    let last = (view.profile.len() - 1) as f32;
    let (x0, x1) = if view.reversed {
        (last - fit.x1, last - fit.x0)
    } else {
        (fit.x0, fit.x1)
    };
    Some(ProfileRead {
        format,
        text,
        aim,
        x0,
        x1,
        values,
        rms: fit.rms,
    })
}

/// The models of a symbology at every blur in `SIGMAS`, built once per process: they depend
/// on nothing but the symbology (about 3 ms for Code 128's).
fn models(sym: &Symbology) -> &'static [Model] {
    static CODE128_MODELS: OnceLock<Vec<Model>> = OnceLock::new();
    static EAN_MODELS: OnceLock<Vec<Model>> = OnceLock::new();
    let cell = match sym.kind {
        Kind::Code128 => &CODE128_MODELS,
        Kind::Ean => &EAN_MODELS,
    };
    cell.get_or_init(|| (0..SIGMAS.len()).map(|si| Model::new(sym, si)).collect())
}

/// The templates of one symbology at one blur, and the pair terms of its neighbours.
struct Model {
    sigma: usize,
    reach: usize,
    sets: Vec<SetModel>,
    pairs: Vec<PairTable>,
}

impl Model {
    fn new(sym: &Symbology, sigma: usize) -> Model {
        let s = SIGMAS[sigma];
        let reach = ((3.0 * s).ceil() as usize).clamp(1, sym.max_reach);
        let mut sets: Vec<SetModel> = Vec::new();
        for slot in (sym.slots)(*sym.counts.start()) {
            if sets.iter().all(|(k, ..)| *k != slot.set) {
                let ps = patterns(slot.set);
                let ts: Vec<Vec<f32>> = ps.iter().map(|p| template(p, s, reach)).collect();
                let norms = ts.iter().map(|t| t.iter().map(|v| v * v).sum()).collect();
                sets.push((slot.set, ps, ts, norms));
            }
        }
        let mut model = Model {
            sigma,
            reach,
            sets,
            pairs: Vec::new(),
        };
        // Every kind of neighbour pair occurs in the shortest symbol.
        for w in (sym.slots)(*sym.counts.start()).windows(2) {
            model.add_pair(w[0].set, w[1].set, w[1].offset - w[0].offset);
        }
        model
    }

    fn set(&self, s: Set) -> Option<&SetModel> {
        self.sets.iter().find(|(k, ..)| *k == s)
    }

    /// The index of the pair table for neighbours of sets `a` then `b`, `distance` modules
    /// apart.
    fn pair(&self, a: Set, b: Set, distance: usize) -> Option<usize> {
        let key = (a, b, distance);
        self.pairs.iter().position(|(k, ..)| *k == key)
    }

    /// Computes the pair table for neighbours of sets `a` then `b`, `distance` modules apart:
    /// 2 <T_a, T_b> where the templates overlap.
    fn add_pair(&mut self, a: Set, b: Set, distance: usize) {
        let key = (a, b, distance);
        if self.pair(a, b, distance).is_some() {
            return;
        }
        let (Some((_, _, ta, _)), Some((_, _, tb, _))) = (self.set(a), self.set(b)) else {
            return;
        };
        let shift = distance * R;
        let mut table = vec![0.0f32; ta.len() * tb.len()];
        for (i, ra) in ta.iter().enumerate() {
            let tail = ra.get(shift..).unwrap_or(&[]);
            for (j, rb) in tb.iter().enumerate() {
                table[i * tb.len() + j] = 2.0 * dot(tail, rb);
            }
        }
        let min = table.iter().copied().fold(f32::INFINITY, f32::min);
        self.pairs.push((key, table, min));
    }
}

/// The best sequence of one hypothesis at one blur, before any check.
struct Fit {
    /// The values of the variable characters (Code 128: start, data, check; EAN: 12 digits
    /// with parity).
    values: Vec<u8>,
    rms: f32,
    /// The unary terms of the last pass and the pair tables between its slots, kept so that
    /// the winner's margin (a backward pass over the same terms) needs no second fit.
    unary: Vec<Vec<f32>>,
    pairs: Vec<usize>,
    x0: f32,
    x1: f32,
}

/// The full sequence fit of one hypothesis at the blur of `model`.
///
/// The light level and contrast start from the ends' fit at this blur; after a first pass they
/// are fitted again to the whole decoded model (each as a straight line along the symbol, for
/// glare and shading), and the sequence is fitted once more with them.
fn fit(profile: &[f32], sym: &Symbology, h: &Hypothesis, model: &Model) -> Option<Fit> {
    let total = (sym.modules)(h.n)?;
    let reach = model.reach;
    let mut y = Vec::new();
    resample(
        profile,
        &h.map,
        -(reach as f32),
        (total + reach) as f32,
        &mut y,
    );
    // Where each sample lies along the symbol, 0 at its start and 1 at its end.
    let along: Vec<f32> = (0..y.len())
        .map(|k| {
            let u = (k as f32 + 0.5) / R as f32 - reach as f32;
            (u / total as f32).clamp(0.0, 1.0)
        })
        .collect();
    let ends = h.levels[model.sigma]?;
    // light = l0 + l1 * along; contrast = c0 + c1 * along.
    let mut levels = [ends.0, ends.1 - ends.0, ends.2, ends.3 - ends.2];
    let slots = (sym.slots)(h.n);
    let mut pairs: Vec<usize> = Vec::with_capacity(slots.len().saturating_sub(1));
    for w in slots.windows(2) {
        pairs.push(model.pair(w[0].set, w[1].set, w[1].offset - w[0].offset)?);
    }
    let mut t = vec![0.0f32; y.len()];
    let mut unary: Vec<Vec<f32>> = Vec::with_capacity(slots.len());
    for round in 0..2 {
        // The profile as darkness: 0 light, 1 dark.
        for ((d, &v), &f) in t.iter_mut().zip(&y).zip(&along) {
            let contrast = levels[2] + levels[3] * f;
            *d = (v - levels[0] - levels[1] * f) / contrast;
        }
        // Unary terms: -2 <t, T> + |T|^2 over each template's support.
        unary.clear();
        for s in &slots {
            let (_, _, ts, norms) = model.set(s.set)?;
            let window = t.get(s.offset * R..).unwrap_or(&[]);
            unary.push(
                ts.iter()
                    .zip(norms)
                    .map(|(tp, norm)| norm - 2.0 * dot(tp, window))
                    .collect(),
            );
        }
        let (seq, best, _) = viterbi(&unary, &pairs, &model.pairs, false)?;
        if round == 0 {
            // The model's darkness along the decoded sequence, to fit the levels against.
            let mut pred = vec![0.0f32; y.len()];
            for (s, &c) in slots.iter().zip(&seq) {
                let tp = model.set(s.set)?.2.get(c)?;
                for (p, v) in pred.iter_mut().skip(s.offset * R).zip(tp) {
                    *p += v;
                }
            }
            if let Some(l) = fit_levels(&y, &along, &pred) {
                levels = l;
            }
            continue;
        }
        let sse = t.iter().map(|v| v * v).sum::<f32>() + best;
        let rms = (sse.max(0.0) / t.len() as f32).sqrt();
        let mut values = Vec::with_capacity(slots.len());
        for (s, &c) in slots.iter().zip(&seq) {
            if matches!(s.set, Set::C128Stop | Set::EanGuard | Set::EanMiddle) {
                continue;
            }
            values.push(model.set(s.set)?.1.get(c)?.value);
        }
        return Some(Fit {
            values,
            rms,
            unary,
            pairs,
            x0: h.map.a,
            x1: h.map.x(total as f32),
        });
    }
    None
}

/// Least squares `y = l0 + l1 f + (c0 + c1 f) pred`; `None` when singular or when the
/// contrast is not dark-on-light by at least `MIN_CONTRAST` at both ends.
fn fit_levels(y: &[f32], along: &[f32], pred: &[f32]) -> Option<[f32; 4]> {
    let mut a = [[0.0f64; 5]; 4];
    for ((&v, &f), &p) in y.iter().zip(along).zip(pred) {
        let phi = [1.0, f as f64, p as f64, (f * p) as f64];
        for i in 0..4 {
            for j in 0..4 {
                a[i][j] += phi[i] * phi[j];
            }
            a[i][4] += phi[i] * v as f64;
        }
    }
    // Gaussian elimination with partial pivoting on the augmented matrix.
    for col in 0..4 {
        let pivot = (col..4).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        a.swap(col, pivot);
        if a[col][col].abs() < 1e-9 {
            return None;
        }
        for row in 0..4 {
            if row != col {
                let f = a[row][col] / a[col][col];
                let pivot_row = a[col];
                for (x, p) in a[row].iter_mut().zip(pivot_row).skip(col) {
                    *x -= f * p;
                }
            }
        }
    }
    let x: Vec<f32> = (0..4).map(|i| (a[i][4] / a[i][i]) as f32).collect();
    let l = [x[0], x[1], x[2], x[3]];
    (l.iter().all(|v| v.is_finite()) && l[2] <= -MIN_CONTRAST && l[2] + l[3] <= -MIN_CONTRAST)
        .then_some(l)
}

/// The minimum over character sequences of the unary plus pair terms (Viterbi), with the
/// margin of its weakest character: the smallest gap between the best sequence and the best
/// sequence with another character at one position (from the forward and backward passes).
fn viterbi(
    unary: &[Vec<f32>],
    pairs: &[usize],
    tables: &[PairTable],
    with_margin: bool,
) -> Option<(Vec<usize>, f32, f32)> {
    let k = unary.len();
    if k == 0 || pairs.len() + 1 != k {
        return None;
    }
    let mut fwd: Vec<Vec<f32>> = Vec::with_capacity(k);
    let mut back: Vec<Vec<u32>> = Vec::with_capacity(k);
    fwd.push(unary[0].clone());
    back.push(vec![0; unary[0].len()]);
    for s in 1..k {
        let entry = tables.get(pairs[s - 1])?;
        let (table, least) = (&entry.1, entry.2);
        let prev = &fwd[s - 1];
        if prev.is_empty() {
            return None;
        }
        let nb = unary[s].len();
        let mut cur = vec![f32::INFINITY; nb];
        let mut bp = vec![0u32; nb];
        // The best previous state first; after it, a state whose cost plus the table's
        // smallest term exceeds every current minimum cannot lower any of them and is passed
        // over. The bound is taken again every few states (it only falls, so a stale one is
        // merely loose). The minima are exact, and on a fit that is going well most states are
        // passed over; only on an exact tie may the back pointer name another state of the
        // same cost than a pass in index order would.
        let first = prev
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        let mut worst = f32::INFINITY;
        let mut visited = 0usize;
        for i in std::iter::once(first).chain((0..prev.len()).filter(|&i| i != first)) {
            let pv = prev[i];
            if pv + least > worst {
                continue;
            }
            let row = table.get(i * nb..(i + 1) * nb)?;
            // Selects instead of a branch, over 32-bit back pointers, so that the loop
            // vectorises: it is the inner loop of every full fit (a Code 128 has 106 states).
            let i = i as u32;
            for ((c, b), &pt) in cur.iter_mut().zip(bp.iter_mut()).zip(row) {
                let v = pv + pt;
                let better = v < *c;
                *c = if better { v } else { *c };
                *b = if better { i } else { *b };
            }
            if visited.is_multiple_of(4) {
                worst = max_of(&cur);
            }
            visited += 1;
        }
        for (c, &u) in cur.iter_mut().zip(&unary[s]) {
            *c += u;
        }
        fwd.push(cur);
        back.push(bp);
    }
    let (mut state, best) = fwd[k - 1]
        .iter()
        .copied()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let mut seq = vec![0usize; k];
    for s in (0..k).rev() {
        seq[s] = state;
        state = back[s][state] as usize;
    }
    if !with_margin {
        return Some((seq, best, f32::NAN));
    }
    let mut bwd: Vec<Vec<f32>> = vec![Vec::new(); k];
    bwd[k - 1] = vec![0.0; unary[k - 1].len()];
    for s in (0..k - 1).rev() {
        let table = &tables.get(pairs[s])?.1;
        let nb = unary[s + 1].len();
        let ahead: Vec<f32> = unary[s + 1]
            .iter()
            .zip(&bwd[s + 1])
            .map(|(u, b)| u + b)
            .collect();
        bwd[s] = (0..unary[s].len())
            .map(|i| {
                table
                    .get(i * nb..(i + 1) * nb)
                    .unwrap_or(&[])
                    .iter()
                    .zip(&ahead)
                    .map(|(p, a)| p + a)
                    .fold(f32::INFINITY, f32::min)
            })
            .collect();
    }
    let mut margin = f32::INFINITY;
    for s in 0..k {
        let alt = (0..unary[s].len())
            .filter(|&c| c != seq[s])
            .map(|c| fwd[s][c] + bwd[s][c])
            .fold(f32::INFINITY, f32::min);
        margin = margin.min(alt - best);
    }
    Some((seq, best, margin))
}

fn code128_check(values: &[u8]) -> bool {
    let [first, data @ .., check] = values else {
        return false;
    };
    if !(103..=105).contains(first) || data.is_empty() {
        return false;
    }
    let sum = data.iter().enumerate().fold(*first as u32, |acc, (i, &v)| {
        acc + (i as u32 + 1) * v as u32
    });
    sum % 103 == *check as u32
}

/// Code 128 values (start, data, check) to text, with the AIM identifier. Strict: the FNC2,
/// FNC3 and FNC4 functions and control characters other than FNC1 never occur on device
/// labels, and a read that has them is taken as a misread.
fn finish_code128(values: &[u8], formats: ProfileFormats) -> Option<Finished> {
    if !formats.code128 || !code128_check(values) {
        return None;
    }
    #[derive(Clone, Copy, PartialEq)]
    enum CodeSet {
        A,
        B,
        C,
    }
    let mut set = match values.first()? {
        103 => CodeSet::A,
        104 => CodeSet::B,
        _ => CodeSet::C,
    };
    let data = &values[1..values.len() - 1];
    let mut text = String::new();
    let mut aim = "]C0";
    let mut shift = false;
    let mut last_was_switch = false;
    for (i, &v) in data.iter().enumerate() {
        let cur = if shift {
            match set {
                CodeSet::A => CodeSet::B,
                CodeSet::B => CodeSet::A,
                CodeSet::C => return None,
            }
        } else {
            set
        };
        shift = false;
        let mut switch = false;
        match (cur, v) {
            (_, 102) => {
                if i == 0 {
                    aim = "]C1";
                } else {
                    text.push('\u{1d}');
                }
            }
            (CodeSet::C, 0..=99) => {
                text.push((b'0' + v / 10) as char);
                text.push((b'0' + v % 10) as char);
            }
            (CodeSet::C, 100) => (set, switch) = (CodeSet::B, true),
            (CodeSet::C, 101) => (set, switch) = (CodeSet::A, true),
            (CodeSet::A, 0..=63) | (CodeSet::B, 0..=94) => text.push((b' ' + v) as char),
            (CodeSet::A, 98) | (CodeSet::B, 98) => (shift, switch) = (true, true),
            (CodeSet::A, 99) | (CodeSet::B, 99) => (set, switch) = (CodeSet::C, true),
            (CodeSet::A, 100) => (set, switch) = (CodeSet::B, true),
            (CodeSet::B, 101) => (set, switch) = (CodeSet::A, true),
            _ => return None,
        }
        // Two switches in a row, or one at the end, is no encoder's output.
        if switch && last_was_switch {
            return None;
        }
        last_was_switch = switch;
    }
    if last_was_switch {
        return None;
    }
    if !super::strip::plausible(Format::Code128, &text) {
        return None;
    }
    // The ident layer's strongest check on a bare number: fifteen digits on a device label are
    // an IMEI, and an IMEI's last digit is its Luhn check digit.
    if text.len() == 15
        && text.bytes().all(|b| b.is_ascii_digit())
        && !crate::ident::checksum::luhn_valid(text.as_bytes())
    {
        return None;
    }
    Some((Format::Code128, text, aim.to_owned()))
}

/// The thirteen EAN digits from the left values (0-9 odd parity, 10-19 even) and right values.
fn ean_digits(values: &[u8]) -> Option<Vec<u8>> {
    if values.len() != 12 {
        return None;
    }
    let parity = values[..6]
        .iter()
        .fold(0u8, |acc, &v| (acc << 1) | u8::from(v >= 10));
    let first = EAN_FIRST_DIGIT.iter().position(|&p| p == parity)? as u8;
    let mut digits = vec![first];
    digits.extend(values.iter().map(|v| v % 10));
    Some(digits)
}

/// The EAN check digit holds: the ident layer's GS1 mod-10 rule, on the digits as ASCII.
fn ean_check(digits: &[u8]) -> bool {
    let [payload @ .., last] = digits else {
        return false;
    };
    let ascii: Vec<u8> = payload.iter().map(|d| b'0' + d).collect();
    digits.len() == 13
        && *last <= 9
        && crate::ident::checksum::gtin_check_digit(&ascii) == Some(u32::from(*last))
}

fn finish_ean(values: &[u8], formats: ProfileFormats) -> Option<Finished> {
    let digits = ean_digits(values)?;
    if !ean_check(&digits) {
        return None;
    }
    let text: String = digits.iter().map(|&d| (b'0' + d) as char).collect();
    // As rxing reports them: a leading 0 is a UPC-A when UPC-A is wanted.
    if digits[0] == 0 && formats.upca {
        return Some((Format::UpcA, text[1..].to_owned(), "]E0".to_owned()));
    }
    if formats.ean13 {
        return Some((Format::Ean13, text, "]E0".to_owned()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_viterbi_bound_passes_over_states_without_changing_the_best_sequence() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        for round in 0..60 {
            // Sharp fits (unary terms far apart, most states passed over) and flat ones.
            let spread = if round % 2 == 0 { 40.0 } else { 1.0 };
            let (k, n) = (3 + round % 7, 5 + (round * 13) % 40);
            let unary: Vec<Vec<f32>> = (0..k)
                .map(|_| (0..n).map(|_| spread * next()).collect())
                .collect();
            let table: Vec<f32> = (0..n * n).map(|_| 4.0 * next() - 2.0).collect();
            let least = table.iter().copied().fold(f32::INFINITY, f32::min);
            let tables = vec![((Set::C128Data, Set::C128Data, 11), table.clone(), least)];
            let pairs = vec![0usize; k - 1];
            let (seq, best, _) = viterbi(&unary, &pairs, &tables, false).expect("a sequence");
            // Every state of every step, in index order.
            let mut cost = unary[0].clone();
            let mut back = vec![vec![0usize; n]; k];
            for s in 1..k {
                let mut cur = vec![f32::INFINITY; n];
                for (i, &c) in cost.iter().enumerate() {
                    for j in 0..n {
                        let v = c + table[i * n + j];
                        if v < cur[j] {
                            cur[j] = v;
                            back[s][j] = i;
                        }
                    }
                }
                cost = cur.iter().zip(&unary[s]).map(|(c, u)| c + u).collect();
            }
            let (mut at, want) = cost
                .iter()
                .copied()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .expect("states");
            let mut want_seq = vec![0usize; k];
            for s in (0..k).rev() {
                want_seq[s] = at;
                at = back[s][at];
            }
            // A step from no states at all gives no sequence, and no panic.
            let mut empty = unary.clone();
            empty[0].clear();
            assert!(viterbi(&empty, &pairs, &tables, false).is_none());
            assert_eq!(seq, want_seq, "round {round}");
            assert!(
                (best - want).abs() <= 1e-4 * want.abs().max(1.0),
                "round {round}"
            );
        }
    }

    /// Renders modules (true = dark) at `px` samples per module with a quiet zone, blurs with
    /// a Gaussian of `sigma` samples, adds deterministic noise of `noise` grey levels.
    fn render(modules: &[bool], px: f32, sigma: f32, noise: f32, seed: u64) -> Vec<f32> {
        render_tilted(modules, px, 1.0, sigma, noise, seed)
    }

    /// A symbol whose last module is `tilt` times as wide as its first (`px`), as a label
    /// turned away from the camera projects, with 12 modules of quiet zone either side.
    fn render_tilted(
        modules: &[bool],
        px: f32,
        tilt: f32,
        sigma: f32,
        noise: f32,
        seed: u64,
    ) -> Vec<f32> {
        let total = modules.len() as f32;
        let c = (tilt.sqrt().recip() - 1.0) / total;
        let edge = |u: f32| px * u / (1.0 + c * u);
        let quiet = 12.0 * px;
        let len = (edge(total) + 2.0 * quiet.max(12.0 * px * tilt)) as usize;
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        (0..len)
            .map(|i| {
                let x = i as f32 + 0.5 - quiet;
                let mut dark = 0.0;
                for (k, &d) in modules.iter().enumerate() {
                    if d {
                        let (a, b) = (edge(k as f32), edge((k + 1) as f32));
                        dark += phi((x - a) / sigma.max(0.05)) - phi((x - b) / sigma.max(0.05));
                    }
                }
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5;
                (200.0 - 160.0 * dark + noise * 2.0 * r)
                    .round()
                    .clamp(0.0, 255.0)
            })
            .collect()
    }

    fn code128_modules(values: &[u8]) -> Vec<bool> {
        let mut out = Vec::new();
        for &v in values {
            let mut dark = true;
            for w in widths(C128_WIDTHS[v as usize]) {
                out.extend(std::iter::repeat_n(dark, w as usize));
                dark = !dark;
            }
        }
        out
    }

    /// Digits in code set C with start C and check; an odd last digit in code set B.
    fn code128_c(digits: &str) -> Vec<u8> {
        let mut v = vec![105u8];
        for pair in digits.as_bytes().chunks(2) {
            match pair {
                [a, b] => v.push((a - b'0') * 10 + (b - b'0')),
                [a] => v.extend([100, a - b' ']),
                _ => {}
            }
        }
        let sum = v
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &x)| acc + x as u32 * (i as u32).max(1));
        v.push((sum % 103) as u8);
        v.push(106);
        v
    }

    const ALL: ProfileFormats = ProfileFormats {
        code128: true,
        ean13: true,
        upca: true,
    };

    #[test]
    fn the_normal_distribution_is_right_where_it_matters() {
        assert!((phi(0.0) - 0.5).abs() < 1e-6);
        assert!((phi(1.0) - 0.841_344_7).abs() < 1e-5);
        assert!((phi(-2.0) - 0.022_750_1).abs() < 1e-5);
    }

    #[test]
    fn a_sharp_code128_reads() {
        let values = code128_c("35209900176148");
        let p = render(&code128_modules(&values), 4.0, 0.5, 0.0, 1);
        let r = read_profile(&p, ALL).expect("read");
        assert_eq!(r.format, Format::Code128);
        assert_eq!(r.text, "35209900176148");
        assert!(r.check_passes());
    }

    #[test]
    fn a_tilted_code128_reads() {
        // Square on, a 5 % change of module width over this symbol's 112 modules puts its
        // middle 1.4 modules out of step; the fit must follow the tilt.
        let text = "35209900176148";
        let modules = code128_modules(&code128_c(text));
        // In samples, two per pixel: 1.3 to 2.5 pixels per module, blur 1 to 1.5 pixels.
        for (tilt, px, sigma) in [(0.92, 3.0, 2.0), (1.08, 2.6, 2.0), (0.95, 5.0, 3.0)] {
            let p = render_tilted(&modules, px, tilt, sigma, 2.0, 3);
            let r = read_profile(&p, ALL);
            assert_eq!(
                r.map(|r| r.text).as_deref(),
                Some(text),
                "tilt {tilt}, {px} px per module, sigma {sigma}"
            );
        }
    }

    #[test]
    fn a_quiet_zone_dimmer_than_the_rest_of_the_row_is_found() {
        // A sharp symbol whose quiet zones are at 200, on a row that runs on into glare at 235
        // to the right and onto a dark desk at 90 to the left: the quiet zone is not near the
        // row's lightest level, but it is light and flat.
        let text = "35209900176148";
        let symbol = render(&code128_modules(&code128_c(text)), 4.5, 0.6, 2.0, 5);
        let mut p = vec![90.0; 200];
        p.extend_from_slice(&symbol);
        p.extend(std::iter::repeat_n(235.0, 400));
        let (first, last) = (
            200 + symbol.iter().position(|&v| v < 120.0).unwrap_or(0),
            200 + symbol.iter().rposition(|&v| v < 120.0).unwrap_or(0),
        );
        let r = read_profile_near(&p, ALL, Some((first as f32, last as f32)));
        assert_eq!(r.map(|r| r.text).as_deref(), Some(text));
    }

    fn ean_modules(digits: &str) -> Vec<bool> {
        let d: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
        let parity = EAN_FIRST_DIGIT[d[0] as usize];
        let mut out = vec![true, false, true];
        let push = |out: &mut Vec<bool>, w: &[u8], dark_first: bool| {
            let mut dark = dark_first;
            for &x in w {
                out.extend(std::iter::repeat_n(dark, x as usize));
                dark = !dark;
            }
        };
        for k in 0..6 {
            let l = EAN_L[d[k + 1] as usize];
            let w: Vec<u8> = if parity >> (5 - k) & 1 == 1 {
                l.iter().rev().copied().collect()
            } else {
                l.to_vec()
            };
            push(&mut out, &w, false);
        }
        out.extend([false, true, false, true, false]);
        for k in 0..6 {
            push(&mut out, &EAN_L[d[k + 7] as usize], true);
        }
        out.extend([true, false, true]);
        out
    }

    /// Each case of the grid: 1.0, 1.25 and 1.5 pixels per module (the strip samples
    /// twice per pixel), Gaussian blur of 0.8 to 1.5 pixels, noise of +-2 grey levels.
    #[test]
    fn blurred_profiles_read_at_every_case_of_the_grid() {
        let imei = code128_modules(&code128_c("356938035643809"));
        let ean = ean_modules("4006381333931");
        let mut failed = Vec::new();
        for (name, modules, want) in [
            ("Code 128", &imei, "356938035643809"),
            ("EAN-13", &ean, "4006381333931"),
        ] {
            for px in [1.0f32, 1.25, 1.5] {
                for sigma in [0.8f32, 1.0, 1.25, 1.5] {
                    for seed in 0..3 {
                        let p = render(modules, 2.0 * px, 2.0 * sigma, 2.0, seed);
                        let read = read_profile(&p, ALL);
                        if !read
                            .as_ref()
                            .is_some_and(|r| r.text == want && r.check_passes())
                        {
                            failed.push(format!(
                                "{name} {px} px/module sigma {sigma} seed {seed}: {read:?}"
                            ));
                        }
                    }
                }
            }
        }
        assert!(failed.is_empty(), "{failed:#?}");
    }

    #[test]
    fn a_locator_box_running_on_into_text_beside_the_symbol_still_reads() {
        // The box covers the symbol, its quiet zone and a word printed in line with it: the
        // symbol ends at the quiet zone inside the box, not at the one past the word.
        let text = "35209900176148";
        let px = 2.5;
        let symbol = render(&code128_modules(&code128_c(text)), px, 2.0, 2.0, 3);
        let mut seed = 11u64;
        let word: Vec<bool> = (0..36)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                (seed >> 40).is_multiple_of(3)
            })
            .collect();
        let word = render(&word, px, 2.0, 2.0, 4);
        // Each render has a quiet zone of twelve modules: keep half of the word's leading one.
        let mut p = symbol.clone();
        p.extend_from_slice(&word[(6.0 * px) as usize..]);
        let first = symbol.iter().position(|&v| v < 120.0).unwrap_or(0);
        let last = p.iter().rposition(|&v| v < 120.0).unwrap_or(0);
        let r = read_profile_near(&p, ALL, Some((first as f32, last as f32)));
        assert_eq!(
            r.map(|r| r.text).as_deref(),
            Some(text),
            "word after the symbol"
        );
        // The same with the word before the symbol.
        let back: Vec<f32> = p.iter().rev().copied().collect();
        let end = (p.len() - 1) as f32;
        let bars = Some((end - last as f32, end - first as f32));
        let r = read_profile_near(&back, ALL, bars);
        assert_eq!(
            r.map(|r| r.text).as_deref(),
            Some(text),
            "word before the symbol"
        );
    }

    #[test]
    fn a_symbol_upside_down_in_the_strip_reads_where_it_lies() {
        // The locator knows the bars' direction only up to a half turn, so half the symbols
        // reach the reader as their profile reversed.
        let imei = code128_modules(&code128_c("356938035643809"));
        let ean = ean_modules("4006381333931");
        for (name, modules, want) in [
            ("Code 128", &imei, "356938035643809"),
            ("EAN-13", &ean, "4006381333931"),
        ] {
            for (px, sigma) in [(1.25f32, 1.0f32), (3.0, 0.8)] {
                let p = render(modules, 2.0 * px, 2.0 * sigma, 2.0, 7);
                let ahead = read_profile(&p, ALL).expect("read as rendered");
                let back: Vec<f32> = p.iter().rev().copied().collect();
                let r = read_profile(&back, ALL);
                let r = r.unwrap_or_else(|| panic!("{name} {px} px/module, reversed: no read"));
                assert_eq!(r.text, want, "{name} {px} px/module, reversed");
                assert!(r.check_passes());
                // The span is given in the reversed profile's own samples.
                let last = (p.len() - 1) as f32;
                assert!(
                    (r.x0 - (last - ahead.x1)).abs() < 1.0,
                    "{name}: {r:?} {ahead:?}"
                );
                assert!(
                    (r.x1 - (last - ahead.x0)).abs() < 1.0,
                    "{name}: {r:?} {ahead:?}"
                );
            }
        }
    }

    #[test]
    fn an_ean13_with_a_leading_zero_is_a_upca_when_upca_is_wanted() {
        let p = render(&ean_modules("0012345678905"), 3.0, 1.6, 2.0, 1);
        let r = read_profile(&p, ALL).expect("read");
        assert_eq!((r.format, r.text.as_str()), (Format::UpcA, "012345678905"));
        let only_ean = ProfileFormats {
            code128: false,
            ean13: true,
            upca: false,
        };
        let r = read_profile(&p, only_ean).expect("read");
        assert_eq!(
            (r.format, r.text.as_str()),
            (Format::Ean13, "0012345678905")
        );
        let only_code128 = ProfileFormats {
            code128: true,
            ean13: false,
            upca: false,
        };
        assert_eq!(read_profile(&p, only_code128), None);
    }

    #[test]
    fn random_bars_never_read() {
        // Blurred random module patterns: bars with the widths of real symbols but no
        // symbology's structure. Any read of one is a misread.
        let mut s = 7u64;
        let mut next = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as u32
        };
        let mut reads = Vec::new();
        let mut spent = std::time::Duration::ZERO;
        for case in 0..400 {
            let len = 40 + next() as usize % 260;
            let mut modules = vec![true];
            while modules.len() < len {
                let dark = !modules.last().copied().unwrap_or(false);
                let w = 1 + next() as usize % 4;
                modules.extend(std::iter::repeat_n(dark, w));
            }
            modules.push(true);
            let px = 1.5 + (next() % 30) as f32 / 10.0;
            let sigma = 0.5 + (next() % 30) as f32 / 10.0;
            let p = render(&modules, px, sigma, 4.0, case);
            let started = std::time::Instant::now();
            let read = read_profile(&p, ALL);
            spent += started.elapsed();
            if let Some(r) = read {
                reads.push((case, r.format, r.text));
            }
        }
        eprintln!("{:?} per profile", spent / 400);
        assert!(reads.is_empty(), "misreads: {reads:?}");
    }

    proptest::proptest! {
        /// What the fuzz target `profile` checks, on every test run: random strips (bytes
        /// stretched to runs) never panic, and a read always passes its check.
        #[test]
        fn random_strips_never_panic_nor_fail_their_check(
            stretch in 1usize..8,
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..240),
            hint in proptest::option::of((0.0f32..1.0, 0.0f32..1.0)),
        ) {
            let profile: Vec<f32> = bytes
                .iter()
                .flat_map(|&v| std::iter::repeat_n(f32::from(v), stretch))
                .collect();
            let n = profile.len() as f32;
            let bars = hint.map(|(a, b)| (a * n, b * n));
            if let Some(read) = read_profile_near(&profile, ALL, bars) {
                proptest::prop_assert!(read.check_passes(), "{read:?}");
            }
            let _ = has_quiet_zones(&profile, bars.unwrap_or((0.0, n)));
        }
    }

    #[test]
    fn an_empty_or_flat_profile_reads_nothing() {
        assert_eq!(read_profile(&[], ALL), None);
        assert_eq!(read_profile(&[128.0; 500], ALL), None);
        assert_eq!(read_profile(&[f32::NAN; 100], ALL), None);
    }

    #[test]
    fn a_miss_says_whether_the_ends_fitted() {
        // A flat profile has no ends; a light-on-dark symbol has none as it is, and reads
        // inverted; a symbol whose check character is wrong fits in full and fails its check.
        assert_eq!(
            fit_profile_near(&[128.0; 500], ALL, None),
            Err(Miss::NoEnds)
        );
        let values = code128_c("35209900176148");
        let p = render(&code128_modules(&values), 4.0, 1.5, 1.0, 2);
        let light: Vec<f32> = p.iter().map(|v| 255.0 - v).collect();
        assert_eq!(fit_profile_near(&light, ALL, None), Err(Miss::NoEnds));
        let back: Vec<f32> = light.iter().map(|v| 255.0 - v).collect();
        assert_eq!(
            fit_profile_near(&back, ALL, None).map(|r| r.text),
            Ok("35209900176148".to_owned())
        );
        let mut wrong = values.clone();
        let check = wrong.len() - 2;
        wrong[check] = (wrong[check] + 1) % 103;
        let p = render(&code128_modules(&wrong), 4.0, 1.5, 1.0, 2);
        assert_eq!(fit_profile_near(&p, ALL, None), Err(Miss::NoFit));
    }
}
