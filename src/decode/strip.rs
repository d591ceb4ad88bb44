//! Straightens a located region into an upright strip and reads its 1D barcodes row by row.
//!
//! Per `DECODE.md`: cubic interpolation (linear blurs the bars), 2x upscaling along the bar
//! normal, a light unsharp mask along the row, no row averaging, and the strip split into bands
//! of bar energy so that each stacked barcode is read on its own.

use std::time::Instant;

use image::GrayImage;
use rxing::common::BitArray;

use super::locate::Candidate;
use super::profile::Miss;
use super::rx::{RowReaders, content_of};
use super::{Format, Symbol};

/// Strip settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StripParams {
    /// Samples per frame pixel along the bar normal.
    pub upscale: f32,
    /// Unsharp mask strength along the row (0 = off).
    pub sharpen: f32,
    /// The most rows read per band.
    pub rows_per_band: usize,
    /// Keep reading a band after its first confirmed symbol: the rest of that row (beside the
    /// symbol) and, in a band tall for that symbol, four more rows with the threshold
    /// binarisation. A band can hold several symbols when a tall one beside a stack of short
    /// ones fills the gaps between them.
    pub more_per_band: bool,
    /// When no row of a band reads, fit the symbologies' models to the band's mean profile
    /// (`profile::read_profile`): reads Code 128 and EAN/UPC blurred past rxing's edges.
    pub profile: bool,
    /// Split a band whose rows hold symbols side by side (gaps as long as a quiet zone
    /// between them) and read each stretch on its own, rows and profile alike.
    pub side_by_side: bool,
    /// Widen a strip whose bands' bars run into its ends (the locator's box ended inside a
    /// symbol) by half its length on that side, once.
    pub follow_bars: bool,
    /// A band whose texture says text rather than bars (see `Texture`): its across-bar
    /// energy beyond noise is at least this share of its along-bar energy...
    pub text_excess: f32,
    /// ...or its along-bar energy is less than this many times the noise floor. Such a band
    /// is read on `text_rows` rows and without the profile fit.
    pub text_snr: f32,
    /// The most rows read on a band that looks like text.
    pub text_rows: usize,
    /// A band lower than this share of its length (quiet zones included) gets no profile
    /// fit: a sliver between stacked symbols or the edge rows of one, not a symbol of its own
    /// (a 1D symbol's bars are rarely lower than a tenth of its length).
    pub profile_min_height: f32,
}

impl Default for StripParams {
    fn default() -> Self {
        StripParams {
            upscale: 2.0,
            sharpen: 0.6,
            rows_per_band: 15,
            more_per_band: true,
            profile: true,
            side_by_side: true,
            follow_bars: true,
            text_excess: 0.3,
            text_snr: 2.5,
            text_rows: 3,
            profile_min_height: 0.025,
        }
    }
}

/// The geometry of one strip: frame point = centre + u * normal + v * along.
#[derive(Debug, Clone, Copy)]
struct Geom {
    cx: f32,
    cy: f32,
    cos: f32,
    sin: f32,
    u0: f32,
    u1: f32,
    v0: f32,
    v1: f32,
    /// How far rows lean: the row labelled `v` passes through `v + skew * (u - pivot)`.
    skew: f32,
    /// Where row `v` is at height `v`: the middle of the strip the skew was measured on. It
    /// stays put when a strip is widened or cut down to one piece, so a row keeps its place.
    pivot: f32,
}

impl Geom {
    fn at(&self, u: f32, v: f32) -> (f32, f32) {
        (
            self.cx + u * self.cos - v * self.sin,
            self.cy + u * self.sin + v * self.cos,
        )
    }

    /// The frame point at `u` on the (skewed) row labelled `v`.
    fn on_row(&self, u: f32, v: f32) -> (f32, f32) {
        self.at(u, v + self.skew * (u - self.pivot))
    }
}

/// Catmull-Rom weights for a fractional offset `t` in [0, 1).
#[inline]
fn cubic_weights(t: f32) -> [f32; 4] {
    let t2 = t * t;
    let t3 = t2 * t;
    [
        0.5 * (-t3 + 2.0 * t2 - t),
        0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
        0.5 * (-3.0 * t3 + 4.0 * t2 + t),
        0.5 * (t3 - t2),
    ]
}

/// Bicubic sample with edge clamping.
#[inline]
fn sample_cubic(px: &[u8], w: usize, h: usize, x: f32, y: f32) -> f32 {
    // Truncation is floor for the non-negative coordinates of the interior; the clamped path
    // handles the rest.
    let ix = if x >= 0.0 { x as isize } else { x as isize - 1 };
    let iy = if y >= 0.0 { y as isize } else { y as isize - 1 };
    let (fx, fy) = (ix as f32, iy as f32);
    let wx = cubic_weights(x - fx);
    let wy = cubic_weights(y - fy);
    // Nearly every sample lies inside the frame: its 4x4 pixels are read as one slice with
    // no clamping, in the same order of operations as the clamped path, so both give the
    // same value. Straightened rows take several million samples per second of decoding.
    if ix >= 1 && iy >= 1 && ix + 2 < w as isize && iy + 2 < h as isize {
        let base = (iy as usize - 1) * w + ix as usize - 1;
        if let Some(p) = px.get(base..base + 3 * w + 4) {
            let mut acc = 0.0;
            for (j, wyj) in wy.iter().enumerate() {
                let r = &p[j * w..j * w + 4];
                let s = f32::from(r[0]) * wx[0]
                    + f32::from(r[1]) * wx[1]
                    + f32::from(r[2]) * wx[2]
                    + f32::from(r[3]) * wx[3];
                acc += s * wyj;
            }
            return acc;
        }
    }
    sample_cubic_clamped(px, w, h, x, y)
}

/// The bicubic sample of [`sample_cubic`], repeating the edge pixels past the frame's edges.
fn sample_cubic_clamped(px: &[u8], w: usize, h: usize, x: f32, y: f32) -> f32 {
    let ix = if x >= 0.0 { x as isize } else { x as isize - 1 };
    let iy = if y >= 0.0 { y as isize } else { y as isize - 1 };
    let wx = cubic_weights(x - ix as f32);
    let wy = cubic_weights(y - iy as f32);
    let (maxx, maxy) = (w as isize - 1, h as isize - 1);
    let mut acc = 0.0;
    for (j, wyj) in wy.iter().enumerate() {
        let yy = (iy + j as isize - 1).clamp(0, maxy) as usize;
        let row = &px[yy * w..yy * w + w];
        let mut r = 0.0;
        for (i, wxi) in wx.iter().enumerate() {
            let xx = (ix + i as isize - 1).clamp(0, maxx) as usize;
            r += row[xx] as f32 * wxi;
        }
        acc += r * wyj;
    }
    acc
}

/// Bilinear sample with edge clamping, for the coarse preview.
#[inline]
fn sample_linear(px: &[u8], w: usize, h: usize, x: f32, y: f32) -> f32 {
    // Inside the frame the neighbours need no clamping (the same arithmetic as below).
    if x >= 0.0 && y >= 0.0 && x < (w - 1) as f32 && y < (h - 1) as f32 {
        let (x0, y0) = (x as usize, y as usize);
        let (tx, ty) = (x - x0 as f32, y - y0 as f32);
        if let (Some(a), Some(b)) = (
            px.get(y0 * w + x0..y0 * w + x0 + 2),
            px.get((y0 + 1) * w + x0..(y0 + 1) * w + x0 + 2),
        ) {
            let a = a[0] as f32 * (1.0 - tx) + a[1] as f32 * tx;
            let b = b[0] as f32 * (1.0 - tx) + b[1] as f32 * tx;
            return a * (1.0 - ty) + b * ty;
        }
    }
    sample_linear_clamped(px, w, h, x, y)
}

/// The bilinear sample of [`sample_linear`], clamped to the frame.
fn sample_linear_clamped(px: &[u8], w: usize, h: usize, x: f32, y: f32) -> f32 {
    let x = x.clamp(0.0, (w - 1) as f32);
    let y = y.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (tx, ty) = (x - x0 as f32, y - y0 as f32);
    let a = px[y0 * w + x0] as f32 * (1.0 - tx) + px[y0 * w + x1] as f32 * tx;
    let b = px[y1 * w + x0] as f32 * (1.0 - tx) + px[y1 * w + x1] as f32 * tx;
    a * (1.0 - ty) + b * ty
}

/// A band of strip rows that holds one barcode, in strip coordinates (v offsets).
#[derive(Debug, Clone, Copy)]
struct Band {
    v0: f32,
    v1: f32,
    /// The stretch across the bars that holds this band's symbol, when the band's rows hold
    /// more than one symbol side by side; `None` for the whole strip.
    span: Option<(f32, f32)>,
    /// Whether the band's bars reach the strip's start and end: the locator's box ended inside
    /// the symbol, farther than the strip's margin makes up for.
    reach: (bool, bool),
    /// How much the band looks like bars, and how much like text or noise.
    texture: Texture,
}

/// The gradient texture of a band, on the preview grid: bars make strong differences along
/// the row and, up to noise, none across it (down the bars). A line of text has strokes
/// across as well, and a patch of noise or faint texture has no more along than across.
#[derive(Debug, Clone, Copy)]
struct Texture {
    /// The across-bar energy beyond the noise floor, as a share of the along-bar energy beyond
    /// it: under 0.1 on most bars, 0.3 and more on most text.
    excess: f32,
    /// The along-bar energy over the noise floor: 2 or less on noise and faint texture.
    snr: f32,
}

impl Band {
    /// Whether this band, after its reading, asks for the strip to be widened (see
    /// `decode_candidate`): it read nothing, its bars run into an end of the strip, and it
    /// does not look like text. A line of text beside a symbol (a part number, "Made in ...")
    /// runs on past the locator's box as often as a cut symbol does; on the generated label
    /// frames such lines widened strips whose second pass read nothing more, for 4 % of the
    /// decoder's instructions on the slowest 1080p frames.
    fn calls_for_wider(&self, read: bool, p: &StripParams) -> bool {
        (self.reach.0 || self.reach.1) && !read && !self.texture.texty(p)
    }
}

impl Texture {
    /// Whether a band with this texture is likely text, noise or texture, not bars.
    fn texty(&self, p: &StripParams) -> bool {
        self.excess >= p.text_excess || self.snr < p.text_snr
    }
}

/// The runs of rows in `rows` that look like bars (strong along the row, weak across it),
/// as first and last row; runs shorter than 3 pixels (rows `dv` apart) are left out.
fn bar_rows(
    along: &[f32],
    across: &[f32],
    rows: std::ops::Range<usize>,
    dv: f32,
) -> Vec<(usize, usize)> {
    let max_along = along[rows.clone()].iter().copied().fold(0.0, f32::max);
    let mut out = Vec::new();
    if max_along <= 0.0 {
        return out;
    }
    let is_bar = |j: usize| along[j] > 0.3 * max_along && across[j] < 0.6 * along[j];
    let mut j = rows.start;
    while j < rows.end {
        if !is_bar(j) {
            j += 1;
            continue;
        }
        let start = j;
        let mut end = j;
        let mut gap = 0;
        while j < rows.end {
            if is_bar(j) {
                end = j;
                gap = 0;
            } else {
                gap += 1;
                // Short interruptions (a scratch, a glare streak) do not end a barcode.
                if gap > 2 {
                    break;
                }
            }
            j += 1;
        }
        if (end + 1 - start) as f32 * dv >= 3.0 {
            out.push((start, end));
        }
    }
    out
}

/// Which of a band's columns hold no bars, given each column's bar energy: less than 15 % of
/// the band's 90th percentile, over the column and its two neighbours (a column between two
/// samples of one wide bar has no energy; its neighbours have). `None` when nothing has energy.
fn low_columns(col: &[f32]) -> Option<Vec<bool>> {
    let n = col.len();
    if n < 8 {
        return None;
    }
    let mut sorted = col.to_vec();
    sorted.sort_by(f32::total_cmp);
    let high = sorted[(n * 9) / 10];
    if high.is_nan() || high <= 0.0 {
        return None;
    }
    Some(
        (0..n)
            .map(|i| {
                let m = col[i.saturating_sub(1)..(i + 2).min(n)]
                    .iter()
                    .copied()
                    .fold(0.0, f32::max);
                m < 0.15 * high
            })
            .collect(),
    )
}

/// Whether a band's bars run into the start and the end of its strip: in the outer 8 pixels
/// most columns hold bars, as strongly on average as the band's bar columns do. A label edge
/// or a stray mark there is one strong column, and does not count.
fn bars_at_ends(col: &[f32], du: f32) -> (bool, bool) {
    let Some(low) = low_columns(col) else {
        return (false, false);
    };
    let mut bar: Vec<f32> = col
        .iter()
        .zip(&low)
        .filter(|(_, l)| !**l)
        .map(|(c, _)| *c)
        .collect();
    bar.sort_by(f32::total_cmp);
    let typical = bar[bar.len() / 2];
    let edge = ((8.0 / du).ceil() as usize).clamp(2, col.len() / 4);
    let busy = |cols: &[f32], low: &[bool]| {
        let active = low.iter().filter(|l| !**l).count();
        let mean = cols.iter().sum::<f32>() / cols.len() as f32;
        active * 10 >= cols.len() * 6 && mean >= 0.4 * typical
    };
    let n = col.len();
    (
        busy(&col[..edge], &low[..edge]),
        busy(&col[n - edge..], &low[n - edge..]),
    )
}

/// The stretches of a band's columns that hold symbols side by side, as first and last column
/// (`du` pixels apart), given each column's bar energy; fewer than two when the band is one
/// stretch. A gap between symbols is a run of columns without bar energy at least 10 pixels
/// long and 2.2 times as long as any run left inside a stretch: a quiet zone is ten modules,
/// the widest space of Code 128 or EAN four.
fn side_by_side(col: &[f32], du: f32) -> Vec<(usize, usize)> {
    let Some(low) = low_columns(col) else {
        return Vec::new();
    };
    let (Some(first), Some(last)) = (low.iter().position(|l| !l), low.iter().rposition(|l| !l))
    else {
        return Vec::new();
    };
    // The low runs strictly inside the active stretch, as (first column, length).
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = first;
    while i <= last {
        if low[i] {
            let s = i;
            while i <= last && low[i] {
                i += 1;
            }
            runs.push((s, i - s));
        } else {
            i += 1;
        }
    }
    let mut lengths: Vec<usize> = runs.iter().map(|r| r.1).collect();
    lengths.sort_unstable_by(|a, b| b.cmp(a));
    // The most gaps such that every gap is long enough and the next run clearly shorter.
    let mut gap = None;
    for k in 0..lengths.len() {
        let next = lengths.get(k + 1).copied().unwrap_or(0) as f32;
        let len = lengths[k] as f32;
        if len * du >= 10.0 && len >= 2.2 * next {
            gap = Some(lengths[k]);
        }
    }
    let Some(gap) = gap else {
        return Vec::new();
    };
    let mut pieces = Vec::new();
    let mut from = first;
    for &(s, len) in runs.iter().filter(|r| r.1 >= gap) {
        pieces.push((from, s - 1));
        from = s + len;
    }
    pieces.push((from, last));
    // A piece too short to be a symbol is text or a stray bar beside one.
    pieces.retain(|&(a, b)| (b + 1 - a) as f32 * du >= 20.0);
    pieces
}

/// Splits the strip into bands of bar energy: rows crossing bars have strong gradients along the
/// row and weak ones between rows, while text and blank label do not.
///
/// Also measures the skew of the rows: under perspective the bars of a label lean, so the
/// strip's bars (vertical after straightening along the bar normal) stand in a band whose top
/// and bottom slope. Rows must follow that slope to stay inside one symbol, so the skew is found
/// by matching the bar-energy profiles of the strip's left and right thirds, and every later row
/// is sampled along it. Returns the bands (v measured at the strip's middle) and the skew
/// (dv/du).
fn bands(frame: &GrayImage, g: &Geom, split: bool) -> (Vec<Band>, f32) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let px = frame.as_raw();
    let len = (g.u1 - g.u0).max(1.0);
    let rows = (g.v1 - g.v0).max(1.0);
    // About one preview sample per frame pixel, capped: enough to see bar energy and the gaps
    // between stacked symbols without sampling the whole region.
    let nu = (len as usize).clamp(8, 256);
    let nv = (rows as usize).clamp(2, 160);
    let du = len / nu as f32;
    let dv = rows / nv as f32;
    let mut prev = vec![0f32; nu * nv];
    // `Geom::at` term by term, in its order of operations: the column's part once per column,
    // the row's once per row (the same points, bit for bit).
    let columns: Vec<(f32, f32)> = (0..nu)
        .map(|i| {
            let u = g.u0 + (i as f32 + 0.5) * du;
            (g.cx + u * g.cos, g.cy + u * g.sin)
        })
        .collect();
    for (j, out) in prev.chunks_exact_mut(nu).enumerate() {
        let v = g.v0 + (j as f32 + 0.5) * dv;
        let (vs, vc) = (v * g.sin, v * g.cos);
        for (p, &(x, y)) in out.iter_mut().zip(&columns) {
            *p = sample_linear(px, w, h, x - vs, y + vc);
        }
    }
    // The differences along each preview row and across to the row above, taken once: the
    // skew, the band energy, the columns and the texture below all read them.
    let mut along_diff = vec![0f32; nu * nv];
    let mut across_diff = vec![0f32; nu * nv];
    for j in 0..nv {
        let row = &prev[j * nu..(j + 1) * nu];
        for (d, p) in along_diff[j * nu..].iter_mut().zip(row.windows(2)) {
            *d = (p[1] - p[0]).abs();
        }
        if j > 0 {
            let above = &prev[(j - 1) * nu..j * nu];
            for ((d, a), b) in across_diff[j * nu..].iter_mut().zip(row).zip(above) {
                *d = (a - b).abs();
            }
        }
    }
    let grad = |j: usize, i: usize| along_diff[j * nu + i];

    // Skew: shifts between the bar-energy profiles of neighbouring column segments. Short
    // steps keep each shift well under the spacing of stacked symbols, which a single
    // left-to-right comparison would confuse with a lean.
    const SEGMENTS: usize = 5;
    let seg = nu / SEGMENTS;
    let mut skew = 0.0f32;
    if seg >= 4 && nv >= 8 {
        let profiles: Vec<Vec<f32>> = (0..SEGMENTS)
            .map(|k| {
                let (from, to) = (k * seg, ((k + 1) * seg).min(nu - 1));
                let p: Vec<f32> = (0..nv)
                    .map(|j| (from..to).map(|i| grad(j, i)).sum::<f32>())
                    .collect();
                let mean = p.iter().sum::<f32>() / nv as f32;
                p.into_iter().map(|x| x - mean).collect()
            })
            .collect();
        let step = seg as f32 * du;
        // Up to about 15 degrees of lean.
        let max_shift = ((0.27 * step / dv).ceil() as isize).min(nv as isize / 3);
        let mut slopes = Vec::with_capacity(SEGMENTS - 1);
        for k in 0..SEGMENTS - 1 {
            let (a, b) = (&profiles[k], &profiles[k + 1]);
            let score = |s: isize| -> f32 {
                let mut acc = 0.0;
                for (j, x) in a.iter().enumerate() {
                    let m = j as isize + s;
                    if m >= 0 && (m as usize) < nv {
                        acc += x * b[m as usize];
                    }
                }
                acc
            };
            let scores: Vec<f32> = (-max_shift..=max_shift).map(score).collect();
            let (best, top) = scores
                .iter()
                .enumerate()
                .fold(
                    (0usize, f32::MIN),
                    |acc, (k, &v)| if v > acc.1 { (k, v) } else { acc },
                );
            if top <= 0.0 {
                continue;
            }
            let mut shift = best as f32 - max_shift as f32;
            // Parabolic refinement to a fraction of a preview row.
            if best > 0 && best + 1 < scores.len() {
                let (l, c, r) = (scores[best - 1], scores[best], scores[best + 1]);
                let den = l - 2.0 * c + r;
                if den < 0.0 {
                    shift += (0.5 * (l - r) / den).clamp(-0.5, 0.5);
                }
            }
            slopes.push(shift * dv / step);
        }
        if !slopes.is_empty() {
            slopes.sort_by(f32::total_cmp);
            skew = slopes[slopes.len() / 2];
        }
    }

    // Bar energy along sheared rows.
    let mid = (nu as f32 - 1.0) / 2.0;
    let offsets: Vec<isize> = (0..nu)
        .map(|i| {
            let o = skew * (i as f32 - mid) * du / dv;
            (if o >= 0.0 { o + 0.5 } else { o - 0.5 }) as isize
        })
        .collect();
    // The offsets change monotonically along the row, so they come in a few runs of columns
    // with the same offset: (first column, past the last, offset). Within a run a sheared row
    // is a contiguous stretch of the preview, summed without a test per sample. The energy and
    // texture sums went through a bounds test and an `Option` per sample before, at 5 % of the
    // decoder's instructions; the sums are taken in the same order, so they are the same.
    let mut runs: Vec<(usize, usize, isize)> = Vec::new();
    for (i, &o) in offsets.iter().enumerate() {
        match runs.last_mut() {
            Some(run) if run.2 == o => run.1 = i + 1,
            _ => runs.push((i, i + 1, o)),
        }
    }
    // Calls `f(k, stretch)` for each stretch of the columns `cols` in sheared row `j`, in
    // column order, where the row lands on preview row `k` in `lowest..nv`.
    let stretches = |j: usize,
                     cols: &std::ops::Range<usize>,
                     lowest: isize,
                     f: &mut dyn FnMut(usize, std::ops::Range<usize>)| {
        for &(a, b, o) in &runs {
            let (a, b) = (a.max(cols.start), b.min(cols.end));
            let k = j as isize + o;
            if a < b && k >= lowest && k < nv as isize {
                f(k as usize, a..b);
            }
        }
    };
    // The bar energy of each sheared row over the columns `cols`: along the row and across it.
    // Rows that the shear takes to the preview's first row have no difference across.
    let energy = |cols: std::ops::Range<usize>| -> (Vec<f32>, Vec<f32>) {
        let mut along = vec![0f32; nv];
        let mut across = vec![0f32; nv];
        for j in 0..nv {
            let (mut a, mut c) = (0f32, 0f32);
            stretches(j, &cols, 1, &mut |k, r| {
                let row = k * nu;
                for (x, y) in along_diff[row + r.start..row + r.end]
                    .iter()
                    .zip(&across_diff[row + r.start..row + r.end])
                {
                    a += x;
                    c += y;
                }
            });
            along[j] = a;
            across[j] = c;
        }
        (along, across)
    };
    // The texture of the rows `rows` over the columns `cols`. Across-bar differences on bars
    // are noise nearly everywhere (a leaning bar's edge is a small share of the samples), so
    // their median measures the noise: |a - b| of two noisy samples has a mean 1.18 times its
    // median. Text puts its horizontal strokes into the mean, not the median.
    let texture = |cols: std::ops::Range<usize>, rows: std::ops::RangeInclusive<usize>| {
        let mut along_sum = 0f32;
        let mut across: Vec<f32> = Vec::new();
        for j in rows {
            stretches(j, &cols, 1, &mut |k, r| {
                let row = k * nu;
                for x in &along_diff[row + r.start..row + r.end] {
                    along_sum += x;
                }
                across.extend_from_slice(&across_diff[row + r.start..row + r.end]);
            });
        }
        if across.is_empty() {
            return Texture {
                excess: 0.0,
                snr: f32::INFINITY,
            };
        }
        let across_sum: f32 = across.iter().sum();
        let half = across.len() / 2;
        let (_, median, _) = across.select_nth_unstable_by(half, f32::total_cmp);
        let floor = 1.18 * *median * across.len() as f32;
        Texture {
            excess: (across_sum - floor).max(0.0) / (along_sum - floor).max(1e-3),
            snr: along_sum / floor.max(1e-3),
        }
    };
    let (along, across) = energy(0..nu - 1);
    let mut out = Vec::new();
    for (start, end) in bar_rows(&along, &across, 0..nv, dv) {
        // The columns of the band that hold bars: a band can hold symbols side by side (a
        // tall EAN beside a stack of short Code 128s, two IMEIs on one row), and each is read
        // on its own stretch, split where a gap is as long as a quiet zone.
        let mut col = vec![0f32; nu - 1];
        for j in start..=end {
            stretches(j, &(0..nu - 1), 0, &mut |k, r| {
                let row = &along_diff[k * nu + r.start..k * nu + r.end];
                for (e, x) in col[r].iter_mut().zip(row) {
                    *e += x;
                }
            });
        }
        let reach = bars_at_ends(&col, du);
        let pieces = if split {
            side_by_side(&col, du)
        } else {
            Vec::new()
        };
        if pieces.len() < 2 {
            out.push(Band {
                v0: g.v0 + start as f32 * dv,
                v1: g.v0 + (end + 1) as f32 * dv,
                span: None,
                reach,
                texture: texture(0..nu - 1, start..=end),
            });
            continue;
        }
        let last = pieces.len() - 1;
        for (k, (i0, i1)) in pieces.into_iter().enumerate() {
            let span = Some((g.u0 + i0 as f32 * du, g.u0 + (i1 + 1) as f32 * du));
            // Only the outer pieces can run into the strip's ends.
            let reach = (reach.0 && k == 0, reach.1 && k == last);
            // A piece beside a taller one is often a stack of its own: its rows are split
            // again on its own columns.
            let (along, across) = energy(i0..i1 + 1);
            for (s, e) in bar_rows(&along, &across, start..end + 1, dv) {
                out.push(Band {
                    v0: g.v0 + s as f32 * dv,
                    v1: g.v0 + (e + 1) as f32 * dv,
                    span,
                    reach,
                    texture: texture(i0..i1 + 1, s..=e),
                });
            }
        }
    }
    (out, skew)
}

/// Samples one strip row at `v`, upscaled along the normal, then sharpened.
fn sample_row(frame: &GrayImage, g: &Geom, v: f32, p: &StripParams, out: &mut Vec<f32>) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let px = frame.as_raw();
    let n = (((g.u1 - g.u0) * p.upscale) as usize).max(2);
    let du = 1.0 / p.upscale;
    out.clear();
    let (mut x, mut y) = g.on_row(g.u0, v);
    // One step along the row moves du across the bars and skew * du along them.
    let sx = (g.cos - g.skew * g.sin) * du;
    let sy = (g.sin + g.skew * g.cos) * du;
    for _ in 0..n {
        out.push(sample_cubic(px, w, h, x, y));
        x += sx;
        y += sy;
    }
    if p.sharpen > 0.0 && n >= 3 {
        let mut prev = out[0];
        for i in 1..n - 1 {
            let c = out[i];
            let blur = 0.25 * prev + 0.5 * c + 0.25 * out[i + 1];
            out[i] = c + p.sharpen * (c - blur);
            prev = c;
        }
    }
}

/// Binarises a row against the midpoint of its dark and light levels (5th and 95th
/// percentiles), the way rxing's own row binariser does, but on floats so the sharpened
/// overshoot is kept.
fn binarize_global(row: &[f32], bits: &mut BitArray) -> bool {
    let mut hist = [0u32; 256];
    for &s in row {
        hist[s.clamp(0.0, 255.0) as usize] += 1;
    }
    let cut = (row.len() / 20) as u32;
    let (mut lo, mut acc) = (0usize, 0u32);
    for (i, &c) in hist.iter().enumerate() {
        acc += c;
        if acc > cut {
            lo = i;
            break;
        }
    }
    let (mut hi, mut acc) = (255usize, 0u32);
    for (i, &c) in hist.iter().enumerate().rev() {
        acc += c;
        if acc > cut {
            hi = i;
            break;
        }
    }
    if hi < lo + 12 {
        return false;
    }
    let t = 0.5 * (lo + hi) as f32;
    *bits = BitArray::with_size(row.len());
    for (i, &s) in row.iter().enumerate() {
        if s < t {
            bits.set(i);
        }
    }
    true
}

/// Binarises against a moving mean, for rows with glare or a shading gradient across the symbol.
fn binarize_local(row: &[f32], window: usize, bits: &mut BitArray) -> bool {
    let n = row.len();
    if n < 4 {
        return false;
    }
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0f64);
    for &s in row {
        let last = prefix.last().copied().unwrap_or(0.0);
        prefix.push(last + s as f64);
    }
    let half = window / 2;
    *bits = BitArray::with_size(n);
    for (i, &s) in row.iter().enumerate() {
        let a = i.saturating_sub(half);
        let b = (i + half + 1).min(n);
        let mean = (prefix[b] - prefix[a]) / (b - a) as f64;
        if (s as f64) < mean - 1.0 {
            bits.set(i);
        }
    }
    true
}

/// Binarises by edges: each strong falling slope starts a bar and each rising one ends it.
///
/// On a blurred code at 1-2 pixels per module a narrow bar or space never reaches the row's
/// mid level, so a threshold loses it, but its two edges still show as a pair of opposite
/// slopes. Edges are the peaks of the smoothed derivative; runs of same-sign peaks keep the
/// strongest.
fn binarize_edges(row: &[f32], bits: &mut BitArray) -> bool {
    let n = row.len();
    if n < 8 {
        return false;
    }
    let (mut lo, mut hi) = (f32::MAX, f32::MIN);
    for &s in row {
        lo = lo.min(s);
        hi = hi.max(s);
    }
    if hi - lo < 12.0 {
        return false;
    }
    let d: Vec<f32> = (0..n)
        .map(|i| row[(i + 1).min(n - 1)] - row[i.saturating_sub(1)])
        .collect();
    let min_slope = 0.08 * (hi - lo);
    // (position, sign) of each edge, same signs merged to the strongest.
    let mut edges: Vec<(usize, f32)> = Vec::new();
    for i in 1..n - 1 {
        let a = d[i].abs();
        if a < min_slope || a < d[i - 1].abs() || a < d[i + 1].abs() {
            continue;
        }
        match edges.last_mut() {
            Some(last) if last.1.signum() == d[i].signum() => {
                if a > last.1.abs() {
                    *last = (i, d[i]);
                }
            }
            _ => edges.push((i, d[i])),
        }
    }
    if edges.len() < 6 {
        return false;
    }
    *bits = BitArray::with_size(n);
    let mut start: Option<usize> = None;
    for &(pos, slope) in &edges {
        if slope < 0.0 {
            start = Some(pos);
        } else if let Some(s0) = start.take() {
            for i in s0..pos {
                bits.set(i);
            }
        }
    }
    true
}

/// Formats that need the same text on two rows before they are believed: they have no check
/// character (Code 39), a weak one over few digits (EAN-8, UPC-E), or ghost easily inside other
/// codes (ITF).
fn needs_confirmation(format: Format) -> bool {
    matches!(
        format,
        Format::Code39 | Format::Ean8 | Format::UpcE | Format::Itf | Format::Codabar
    )
}

/// Rejects reads too short to be a device label symbol: the typical ghost is two or three
/// Code 128 characters found in the middle of some other pattern.
pub(crate) fn plausible(format: Format, text: &str) -> bool {
    // An FNC1 as the last character separates nothing: a misread of the check character.
    if text.ends_with('\u{1d}') {
        return false;
    }
    let n = text.chars().count();
    match format {
        Format::Code128 | Format::Code93 => n >= 3,
        Format::Code39 | Format::Codabar => n >= 4,
        Format::Itf => n >= 6,
        _ => n >= 1,
    }
}

/// One read in a band, with its end points in strip sample coordinates.
struct Hit {
    format: Format,
    text: String,
    raw: Vec<u8>,
    aim: String,
    x0: f32,
    x1: f32,
    count: u32,
    /// Read once by a method trusted on its own (a threshold binarisation of a format with a
    /// strong check); otherwise two rows must agree.
    trusted: bool,
}

/// Reads the 1D barcodes of one located region, appending symbols in frame coordinates.
pub(crate) fn decode_candidate(
    frame: &GrayImage,
    c: &Candidate,
    readers: &mut RowReaders,
    p: &StripParams,
    deadline: Option<Instant>,
    out: &mut Vec<Symbol>,
) {
    let len = c.u1 - c.u0;
    // The quiet zone: the locator's rectangle ends at the last bar block, and the readers need
    // about ten modules of white beyond it.
    let quiet = (0.12 * len).max(16.0);
    let g = Geom {
        cx: c.cx,
        cy: c.cy,
        cos: c.angle.cos(),
        sin: c.angle.sin(),
        u0: c.u0 - quiet,
        u1: c.u1 + quiet,
        v0: c.v0 - 2.0,
        v1: c.v1 + 2.0,
        skew: 0.0,
        pivot: 0.0,
    };
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    let g = clip_to_frame(g, w, h);
    let (found, skew) = bands(frame, &g, p.side_by_side);
    let g = Geom {
        skew,
        pivot: 0.5 * (g.u0 + g.u1),
        ..g
    };
    let cut = read_bands(frame, c, g, found, readers, p, deadline, out);
    // The locator's box can end well inside a symbol (its last blocks fail the coherence test
    // under JPEG or perspective), and then no row holds the whole symbol. An unread band whose
    // bars run into an end of the strip says so: the strip is widened by half the box's length
    // on that side, once, and the bands of the wider strip at the height of the unread ones
    // are read again. A band that looks like text does not ask for it
    // (`Band::calls_for_wider`). Widening every strip first lost as many symbols as it found
    // (the bands of the wider strip differ); reading the wider strip only where the first
    // failed loses none.
    let (start, end) = cut.iter().fold((false, false), |acc, b| {
        (acc.0 | b.reach.0, acc.1 | b.reach.1)
    });
    // Short boxes are nearly always clutter with bar-like texture to their ends: on the
    // generated set, 2 of 1,076 widened boxes under 120 px read anything, 146 of the 321
    // longer ones.
    if !p.follow_bars || !(start || end) || len < 120.0 {
        return;
    }
    let grow = 0.5 * len;
    let wider = clip_to_frame(
        Geom {
            u0: if start { g.u0 - grow } else { g.u0 },
            u1: if end { g.u1 + grow } else { g.u1 },
            skew: 0.0,
            ..g
        },
        w,
        h,
    );
    if wider.u1 - wider.u0 < g.u1 - g.u0 + 8.0 {
        return;
    }
    let (found, skew) = bands(frame, &wider, p.side_by_side);
    let wider = Geom {
        skew,
        pivot: 0.5 * (wider.u0 + wider.u1),
        ..wider
    };
    let again: Vec<Band> = found
        .into_iter()
        .filter(|b| cut.iter().any(|u| b.v0 < u.v1 && u.v0 < b.v1))
        .collect();
    // Five rows from the middle out instead of fifteen: the first pass already spent its rows
    // on these bands, and the rows past the fifth added nothing here.
    let few = StripParams {
        rows_per_band: p.rows_per_band.min(5),
        ..*p
    };
    read_bands(frame, c, wider, again, readers, &few, deadline, out);
}

/// Reads the bands of one strip into `out`, and returns the bands that read nothing and whose
/// bars run into an end of the strip.
#[allow(clippy::too_many_arguments)]
fn read_bands(
    frame: &GrayImage,
    c: &Candidate,
    g: Geom,
    found: Vec<Band>,
    readers: &mut RowReaders,
    p: &StripParams,
    deadline: Option<Instant>,
    out: &mut Vec<Symbol>,
) -> Vec<Band> {
    let mut cut = Vec::new();
    // No row of the region looks like bars (strong along the row, weak across it): text,
    // texture or an edge that the block test let through. Reading it would only cost time.
    if found.is_empty() {
        return cut;
    }
    // How many row samples lie before the first bar and after the last: the quiet zones.
    let margins = (
        ((c.u0 - g.u0).max(0.0) * p.upscale) as usize,
        ((g.u1 - c.u1).max(0.0) * p.upscale) as usize,
    );
    let mut row = Vec::new();
    let (mut above, mut below, mut avg) = (Vec::new(), Vec::new(), Vec::new());
    let mut bits = BitArray::new();
    let whole = g;
    for band in found {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Vec::new();
        }
        // A piece of a band with symbols side by side is read on its own stretch with its own
        // quiet zones, as if the locator had found it alone.
        let (g, margins) = match band.span {
            None => (whole, margins),
            Some((a, b)) => {
                let quiet = (0.12 * (b - a)).max(16.0);
                let g = Geom {
                    u0: (a - quiet).max(whole.u0),
                    u1: (b + quiet).min(whole.u1),
                    ..whole
                };
                let margins = (
                    ((a - g.u0).max(0.0) * p.upscale) as usize,
                    ((g.u1 - b).max(0.0) * p.upscale) as usize,
                );
                (g, margins)
            }
        };
        let mut hits: Vec<Hit> = Vec::new();
        let height = band.v1 - band.v0;
        // Most bands the locator's strips hold are not bars: the digits printed under a
        // symbol, a line of text beside it, print texture, noise. They read nothing, and
        // fifteen rows and the profile fit on each of them took nearly half of all decode time
        // on the generated label frames. A band whose texture looks like text or noise gets a
        // few rows, enough for a sharp symbol, and no profile fit.
        let texty = band.texture.texty(p);
        let n = if texty { p.text_rows } else { p.rows_per_band }.max(1);
        let step = (height / (n as f32 + 1.0)).max(1.0);
        let mid = 0.5 * (band.v0 + band.v1);
        let mut done = false;
        for k in 0..n {
            // Middle first, then alternately above and below, as rxing scans rows.
            let off = k.div_ceil(2) as f32 * step * if k % 2 == 0 { 1.0 } else { -1.0 };
            let v = mid + off;
            if v < band.v0 || v > band.v1 {
                continue;
            }
            sample_row(frame, &g, v, p, &mut row);
            // Light bars on a dark label: the quiet zones at the row's ends are darker than
            // the bars between them. Such a row is read as it is, and when that reads nothing,
            // inverted; every other row only as it is, so normal labels cost nothing more.
            // Only the band's first two rows (its middle) try the inverted reading: on a
            // normal label a dark margin (a label edge, a shadow) also passes the test, and
            // reading every row twice there cost a sixth of the decode time.
            let polarities: &[bool] = if k < 2 && looks_inverted(&row, margins) {
                &[false, true]
            } else {
                &[false]
            };
            for &invert in polarities {
                if invert {
                    for x in &mut row {
                        *x = 255.0 - *x;
                    }
                }
                avg.clear();
                avg.extend_from_slice(&row);
                for mode in 0..4 {
                    let ok = match mode {
                        0 => binarize_global(&row, &mut bits),
                        1 => binarize_edges(&row, &mut bits),
                        2 => binarize_local(&row, (16.0 * p.upscale) as usize * 2, &mut bits),
                        _ => {
                            // Noise hides the weak edges of a blurred code; the mean of three
                            // neighbouring rows keeps the edges and cuts the noise.
                            // Only near the middle of the band, where it pays: it samples two
                            // more rows each time.
                            if height < 6.0 || k >= 5 {
                                continue;
                            }
                            sample_row(frame, &g, v - 1.5, p, &mut above);
                            sample_row(frame, &g, v + 1.5, p, &mut below);
                            for ((r, a), b) in avg.iter_mut().zip(&above).zip(&below) {
                                // `r` is already inverted when the row is; the neighbours not.
                                let (a, b) = if invert {
                                    (255.0 - a, 255.0 - b)
                                } else {
                                    (*a, *b)
                                };
                                *r = (*r + a + b) / 3.0;
                            }
                            binarize_edges(&avg, &mut bits)
                        }
                    };
                    if !ok {
                        continue;
                    }
                    if let Some(mut hit) = read_both_ways(readers, k as u32, &mut bits) {
                        // Edge binarisation finds bars a threshold misses, and with them ghosts
                        // and misreads that pass a check character by chance; its reads must
                        // repeat on a second row.
                        hit.trusted = mode != 1 && mode != 3 && !needs_confirmation(hit.format);
                        let trusted_mode = mode != 1 && mode != 3;
                        let span = (hit.x0, hit.x1);
                        if record(&mut hits, hit) {
                            done = true;
                            if p.more_per_band {
                                read_beside(readers, k, &bits, span, trusted_mode, &mut hits);
                            }
                        }
                        break;
                    }
                }
                // An unconfirmed read may be a ghost of the wrong polarity: only a confirmed
                // one spares the other.
                if done {
                    break;
                }
                if invert {
                    // Back to the row as sampled for the other polarity.
                    for x in &mut row {
                        *x = 255.0 - *x;
                    }
                }
            }
            if done {
                break;
            }
        }
        // No row read (or one read that still wants a second): the band may be blurred past
        // the edges rxing's readers count. Its mean profile, fitted as a whole, may still read.
        // Not on a sliver of a band: on the generated label frames, bands lower than 2.5 % of
        // their length were 885 of 7,704, took a quarter of the profile fits' time and read
        // one symbol by profile, which another band read too (at 3 %, one symbol was lost).
        if !done
            && p.profile
            && !texty
            && height >= p.profile_min_height * (g.u1 - g.u0)
            && readers.profile.any()
            && let Some(hit) = read_band_profile(frame, &g, &band, p, margins, readers, &mut row)
        {
            done = record(&mut hits, hit);
        }
        // A band can hold several symbols: a tall UPC beside a stack of short Code 128 rows
        // fills the gaps between the rows, and the band finder sees one band. Such a band is
        // tall for its first symbol (a 1D symbol's bars are rarely taller than a third of its
        // length), and a few more rows spread over it, with the threshold binarisation only,
        // find the others. Short bands, nearly all of them, cost nothing more.
        let longest = hits
            .iter()
            .filter(|h| h.trusted || h.count >= 2)
            .map(|h| (h.x1 - h.x0) / p.upscale)
            .fold(0.0f32, f32::max);
        if p.more_per_band && done && height >= 0.3 * longest {
            for share in [-0.25, 0.25, -0.4, 0.4] {
                let v = mid + share * height;
                sample_row(frame, &g, v, p, &mut row);
                if !binarize_global(&row, &mut bits) {
                    continue;
                }
                if let Some(mut hit) = read_both_ways(readers, n as u32, &mut bits) {
                    hit.trusted = !needs_confirmation(hit.format);
                    let span = (hit.x0, hit.x1);
                    if record(&mut hits, hit) {
                        read_beside(readers, n, &bits, span, true, &mut hits);
                    }
                }
            }
        }
        if band.calls_for_wider(hits.iter().any(|h| h.trusted || h.count >= 2), p) {
            cut.push(band);
        }
        for h in hits {
            if !h.trusted && h.count < 2 {
                continue;
            }
            let ua = g.u0 + h.x0 / p.upscale;
            let ub = g.u0 + h.x1 / p.upscale;
            let corners = [
                g.on_row(ua, band.v0),
                g.on_row(ub, band.v0),
                g.on_row(ub, band.v1),
                g.on_row(ua, band.v1),
            ];
            out.push(Symbol {
                format: h.format,
                text: h.text,
                raw: h.raw,
                aim: h.aim,
                corners: super::rx::clockwise(corners),
            });
        }
    }
    cut
}

/// Reads a band from its mean profile: up to nine rows over the middle 60 % of its height,
/// unsharpened (the model fit wants the blur as the camera made it), averaged.
fn read_band_profile(
    frame: &GrayImage,
    g: &Geom,
    band: &Band,
    p: &StripParams,
    margins: (usize, usize),
    readers: &RowReaders,
    row: &mut Vec<f32>,
) -> Option<Hit> {
    let plain = StripParams { sharpen: 0.0, ..*p };
    // The locator's box ends where the block texture fades, which on a blurred symbol is well
    // inside its outer bars: the profile reaches half the strip and 24 pixels further on each
    // side, so that the fit finds both quiet zones.
    let extra = 0.5 * (g.u1 - g.u0) + 24.0;
    let wide = clip_to_frame(
        Geom {
            u0: g.u0 - extra,
            u1: g.u1 + extra,
            ..*g
        },
        frame.width() as f32,
        frame.height() as f32,
    );
    // The locator's first and last bar, in samples of the wide profile.
    let ua = g.u0 + margins.0 as f32 / p.upscale;
    let ub = g.u1 - margins.1 as f32 / p.upscale;
    let bars = ((ua - wide.u0) * p.upscale, (ub - wide.u0) * p.upscale);
    // Wide-profile samples to add to be in the strip's own sample coordinates.
    let offset = (wide.u0 - g.u0) * p.upscale;
    let g = &wide;
    let height = band.v1 - band.v0;
    // Most bands that no row reads have no quiet zone in reach (a symbol cut by the strip's
    // end, a label edge, text): one row tells, before nine are sampled.
    sample_row(frame, g, 0.5 * (band.v0 + band.v1), &plain, row);
    if !super::profile::has_quiet_zones(row, bars) {
        return None;
    }
    let rows = ((0.6 * height) as usize).clamp(1, 9);
    let mut profile: Vec<f32> = Vec::new();
    for i in 0..rows {
        let v = band.v0 + height * (0.2 + 0.6 * (i as f32 + 0.5) / rows as f32);
        sample_row(frame, g, v, &plain, row);
        if profile.is_empty() {
            profile.resize(row.len(), 0.0);
        }
        for (acc, x) in profile.iter_mut().zip(row.iter()) {
            *acc += x / rows as f32;
        }
    }
    let margins = (
        bars.0.max(0.0) as usize,
        (profile.len() as f32 - bars.1).max(0.0) as usize,
    );
    let bars = Some(bars);
    let mut read = super::profile::fit_profile_near(&profile, readers.profile, bars);
    // Light bars on a dark ground, tried only when no symbol's ends fitted the profile as it
    // is: ends that fit say dark bars on light. On the generated label frames the inverted
    // profile was fitted 678 times (a normal label's dark margin also looks inverted) and read
    // 12 symbols, all after a first pass without ends; the 316 retries after a first pass with
    // ends read nothing.
    if read == Err(Miss::NoEnds) && looks_inverted(&profile, margins) {
        for x in &mut profile {
            *x = 255.0 - *x;
        }
        read = super::profile::fit_profile_near(&profile, readers.profile, bars);
    }
    let read = read.ok()?;
    Some(Hit {
        format: read.format,
        raw: read.text.bytes().collect(),
        text: read.text,
        aim: read.aim,
        x0: read.x0 + offset,
        x1: read.x1 + offset,
        count: 1,
        trusted: true,
    })
}

/// Whether a sampled row may be light bars on a dark ground: the quiet zone on one side of the
/// bars (`before` and `after` samples at the row's ends) is darker than the bars' stretch by a
/// clear margin. One side is enough, since the other may run off a dark label onto a light desk.
fn looks_inverted(row: &[f32], (before, after): (usize, usize)) -> bool {
    let n = row.len();
    if n < 64 || before + after + 16 > n {
        return false;
    }
    let mean = |s: &[f32]| s.iter().sum::<f32>() / s.len().max(1) as f32;
    // The half of each quiet zone next to the bars: the far half may already be off the label.
    let zone = |from: usize, to: usize| (to > from + 1).then(|| mean(&row[from..to]));
    let left = zone(before / 2, before);
    let right = zone(n - after, n - after / 2);
    let middle = mean(&row[before..n - after]);
    [left, right]
        .into_iter()
        .flatten()
        .any(|end| end + 12.0 < middle)
}

/// Shortens a strip so that its centre line stays inside the frame: samples beyond the border
/// would repeat the edge pixels, which can look like a dark bar where a quiet zone should be.
fn clip_to_frame(mut g: Geom, w: f32, h: f32) -> Geom {
    let vm = 0.5 * (g.v0 + g.v1);
    let (mut lo, mut hi) = (g.u0, g.u1);
    // The centre line is x = a + u cos, y = b + u sin; intersect with [0, w] x [0, h].
    let (a, b) = g.at(0.0, vm);
    for (p, d, max) in [(a, g.cos, w - 1.0), (b, g.sin, h - 1.0)] {
        if d.abs() < 1e-6 {
            continue;
        }
        let (t0, t1) = ((0.0 - p) / d, (max - p) / d);
        lo = lo.max(t0.min(t1));
        hi = hi.min(t0.max(t1));
    }
    if hi - lo >= 16.0 {
        g.u0 = lo;
        g.u1 = hi;
    }
    g
}

/// Adds a row's read to the band's hits; whether the symbol now stands (trusted, or read twice).
fn record(hits: &mut Vec<Hit>, hit: Hit) -> bool {
    match hits
        .iter_mut()
        .find(|h| h.format == hit.format && h.text == hit.text)
    {
        Some(h) => {
            h.count += 1;
            h.trusted |= hit.trusted;
            true
        }
        None => {
            let trusted = hit.trusted;
            hits.push(hit);
            trusted
        }
    }
}

/// Reads the rest of a row beside a symbol it read (at most two more symbols): a second symbol
/// on the same row is otherwise never seen, since a reader reports the first it finds.
fn read_beside(
    readers: &mut RowReaders,
    row_number: usize,
    bits: &BitArray,
    first: (f32, f32),
    trusted_mode: bool,
    hits: &mut Vec<Hit>,
) {
    let mut spans = vec![first];
    while spans.len() < 3 {
        let mut rest = mask(bits, &spans);
        let Some(mut next) = read_both_ways(readers, row_number as u32, &mut rest) else {
            return;
        };
        next.trusted = trusted_mode && !needs_confirmation(next.format);
        spans.push((next.x0, next.x1));
        if !record(hits, next) {
            return;
        }
    }
}

/// The row with the sample spans of symbols already read turned light, so that a reader sees
/// only what lies beside them.
fn mask(bits: &BitArray, spans: &[(f32, f32)]) -> BitArray {
    let n = bits.get_size();
    let mut out = BitArray::with_size(n);
    for i in 0..n {
        let x = i as f32;
        if bits.get(i) && !spans.iter().any(|&(a, b)| x >= a - 2.0 && x <= b + 2.0) {
            out.set(i);
        }
    }
    out
}

/// Reads a binarised row left to right, then right to left (a symbol upside down in the strip).
fn read_both_ways(readers: &mut RowReaders, row_number: u32, bits: &mut BitArray) -> Option<Hit> {
    let width = bits.get_size() as f32;
    for flipped in [false, true] {
        if flipped {
            bits.reverse();
        }
        let Some(r) = readers.decode_row(row_number, bits) else {
            continue;
        };
        let Some(content) = content_of(&r) else {
            continue;
        };
        if !plausible(content.format, &content.text) {
            continue;
        }
        let pts = r.getPoints();
        let (mut x0, mut x1) = match pts {
            [a, b, ..] => (a.x.min(b.x), a.x.max(b.x)),
            _ => (0.0, width),
        };
        if flipped {
            (x0, x1) = (width - 1.0 - x1, width - 1.0 - x0);
            bits.reverse();
        }
        return Some(Hit {
            format: content.format,
            text: content.text,
            raw: content.raw,
            aim: content.aim,
            x0,
            x1,
            count: 1,
            trusted: false,
        });
    }
    bits.reverse();
    None
}

/// Samples an upright `width` x `height` image of the frame with cubic interpolation: pixel
/// (x, y) comes from frame point centre + (u0 + x) * normal + (v0 + y) * along.
#[allow(clippy::too_many_arguments)]
pub(crate) fn warp(
    frame: &GrayImage,
    cx: f32,
    cy: f32,
    cos: f32,
    sin: f32,
    u0: f32,
    v0: f32,
    width: u32,
    height: u32,
) -> GrayImage {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let px = frame.as_raw();
    let mut out = GrayImage::new(width, height);
    for (y, row) in out.chunks_mut(width as usize).enumerate() {
        let v = v0 + y as f32;
        let mut x = cx + u0 * cos - v * sin;
        let mut yy = cy + u0 * sin + v * cos;
        for p in row.iter_mut() {
            *p = sample_cubic(px, w, h, x, yy).clamp(0.0, 255.0) as u8;
            x += cos;
            yy += sin;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{
        Geom, StripParams, bands, bars_at_ends, looks_inverted, sample_cubic, sample_cubic_clamped,
        sample_linear, sample_linear_clamped, side_by_side,
    };
    use image::GrayImage;

    /// A small linear congruential generator: the tests' noise and widths, the same every run.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f32 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 40) as f32 / (1u64 << 24) as f32
        }
        /// Roughly normal, unit variance (the sum of four uniforms).
        fn gauss(&mut self) -> f32 {
            ((0..4).map(|_| self.next()).sum::<f32>() - 2.0) * 1.732
        }
    }

    /// A 320x80 frame, light ground with noise of deviation `noise`, where `paint(x, y)`
    /// returns the darkness (0 to 1) of each pixel.
    fn frame(noise: f32, seed: u64, paint: impl Fn(u32, u32) -> f32) -> GrayImage {
        let mut rng = Lcg(seed);
        GrayImage::from_fn(320, 80, |x, y| {
            let v = 215.0 - 170.0 * paint(x, y) + noise * rng.gauss();
            image::Luma([v.clamp(0.0, 255.0) as u8])
        })
    }

    /// A test frame's width as one strip, 10 px short of each side, and all but 2 px of its
    /// height on each side.
    const ACROSS: Geom = Geom {
        cx: 160.0,
        cy: 40.0,
        cos: 1.0,
        sin: 0.0,
        u0: -150.0,
        u1: 150.0,
        v0: -38.0,
        v1: 38.0,
        skew: 0.0,
        pivot: 0.0,
    };

    /// Which columns of a 320 px frame are dark: bars and spaces of random widths (1 to 4
    /// modules of 2 px) from column `from` until one reaches `to`, a bar first.
    fn random_bars(seed: u64, from: usize, to: usize) -> Vec<bool> {
        let mut rng = Lcg(seed);
        let mut dark = vec![false; 320];
        let (mut x, mut on) = (from, true);
        while x < to {
            let w = 2 * (1 + (rng.next() * 4.0) as usize);
            for d in dark.iter_mut().skip(x).take(w) {
                *d = on;
            }
            x += w;
            on = !on;
        }
        dark
    }

    /// Two lines of digits in the seven-segment font of [`inked`] (rows 8-28 and 48-68), in
    /// the glyph cells `cells` (3 px each), with noise of deviation 4.
    fn digit_lines(seed: u64, cells: std::ops::Range<u32>) -> GrayImage {
        frame(4.0, seed, |x, y| {
            let line = match y {
                8..29 => y - 8,
                48..69 => y - 48,
                _ => return 0.0,
            };
            let (cx, cy) = (x / 3, line / 3);
            if !cells.contains(&cx) || cx % 6 == 5 {
                return 0.0;
            }
            let digit = (cx / 6 * 7 + y / 30) as usize;
            f32::from(u8::from(inked(digit, cx % 6, cy)))
        })
    }

    /// The bands of the whole frame as one strip across its width, and whether each looks like
    /// text or noise.
    fn texty_bands(frame: &GrayImage) -> Vec<bool> {
        let p = StripParams::default();
        bands(frame, &ACROSS, false)
            .0
            .iter()
            .map(|b| b.texture.texty(&p))
            .collect()
    }

    /// Whether cell (`cx`, `cy`) of a digit's 5x7 glyph is inked, as a seven-segment font
    /// draws it: strokes one cell thick (glyph cells of 3 px, one cell apart, make the digits
    /// printed under a symbol).
    fn inked(digit: usize, cx: u32, cy: u32) -> bool {
        const SEGMENTS: [u8; 10] = [0x3F, 0x06, 0x5B, 0x4F, 0x66, 0x6D, 0x7D, 0x07, 0x7F, 0x6F];
        let s = SEGMENTS[digit % 10];
        let on = |k: u8| s & (1 << k) != 0;
        let (left, right) = (cx == 0, cx == 4);
        let (top, middle, bottom) = (cy == 0, cy == 3, cy == 6);
        (top && on(0))
            || (middle && on(6))
            || (bottom && on(3))
            || (right && cy <= 3 && on(1))
            || (right && cy >= 3 && on(2))
            || (left && cy >= 3 && on(4))
            || (left && cy <= 3 && on(5))
    }

    /// Column energies: `quiet` empty columns, then for each stretch its columns (strong, with
    /// every fourth one empty, as between two samples of a wide bar), then `gap` empty ones.
    fn columns(quiet: usize, stretches: &[(usize, usize)]) -> Vec<f32> {
        let mut c = vec![0.5; quiet];
        for &(len, gap) in stretches {
            c.extend((0..len).map(|i| {
                if i % 4 == 3 {
                    0.0
                } else {
                    90.0 + (i % 7) as f32
                }
            }));
            c.extend(vec![0.5; gap]);
        }
        c.extend(vec![0.5; quiet]);
        c
    }

    #[test]
    fn bars_that_run_into_a_strip_end_are_told_from_a_lone_edge() {
        // Quiet on both sides: the box held the whole symbol.
        assert_eq!(bars_at_ends(&columns(20, &[(100, 0)]), 1.0), (false, false));
        // Bars up to the last column: the symbol goes on past the strip's end.
        assert_eq!(bars_at_ends(&columns(0, &[(100, 0)]), 1.0), (true, true));
        let mut right = columns(20, &[(100, 0)]);
        right.truncate(110);
        assert_eq!(bars_at_ends(&right, 1.0), (false, true));
        // One strong column at the end (a label's edge) is not bars.
        let mut edge = columns(20, &[(100, 0)]);
        let n = edge.len();
        edge[n - 2] = 300.0;
        assert_eq!(bars_at_ends(&edge, 1.0), (false, false));
        // Weak texture at the end, far below the bars' energy, is not bars either.
        let mut faint = columns(20, &[(100, 0)]);
        for x in &mut faint[n - 10..] {
            *x = 20.0;
        }
        assert_eq!(bars_at_ends(&faint, 1.0), (false, false));
        // Nothing to go on.
        assert_eq!(bars_at_ends(&[], 1.0), (false, false));
        assert_eq!(bars_at_ends(&[f32::NAN; 30], 1.0), (false, false));
    }

    #[test]
    fn a_band_splits_only_at_gaps_as_long_as_a_quiet_zone() {
        // Two stretches 12 columns (12 pixels at du = 1) apart: two pieces, at their bars and one
        // column more on each side (a column beside a bar still sees its edge).
        let c = columns(5, &[(60, 12), (40, 0)]);
        assert_eq!(side_by_side(&c, 1.0), vec![(4, 64), (76, 116)]);
        // The same at du = 0.5: the gap is 6 pixels, shorter than a quiet zone: one stretch.
        assert!(side_by_side(&c, 0.5).is_empty());
        // One symbol with spaces up to 4 columns (a wide space) stays whole.
        let mut one = columns(5, &[(80, 0)]);
        for x in &mut one[30..34] {
            *x = 0.0;
        }
        assert!(side_by_side(&one, 1.0).is_empty());
        // A gap only twice as long as the longest space inside does not split.
        let mut close = columns(5, &[(60, 9), (40, 0)]);
        for x in &mut close[20..26] {
            *x = 0.0;
        }
        assert!(side_by_side(&close, 2.0).is_empty());
        // A stretch too short to be a symbol (text beside one) is not a piece of its own.
        let c = columns(5, &[(60, 14), (8, 14), (50, 0)]);
        assert_eq!(side_by_side(&c, 1.0), vec![(4, 64), (100, 151)]);
        // Empty, flat or tiny inputs split nothing.
        assert!(side_by_side(&[], 1.0).is_empty());
        assert!(side_by_side(&[0.0; 40], 1.0).is_empty());
        assert!(side_by_side(&[5.0; 40], 1.0).is_empty());
        assert!(side_by_side(&[f32::NAN; 40], 1.0).is_empty());
    }

    /// A row of `before` quiet samples at `quiet`, 200 samples of alternating bars of 8 (dark
    /// `dark`, light `light`), and `after` quiet samples.
    fn row(quiet: f32, dark: f32, light: f32, before: usize, after: usize) -> Vec<f32> {
        let mut r = vec![quiet; before];
        r.extend((0..200).map(|i| if (i / 8) % 2 == 0 { dark } else { light }));
        r.extend(vec![quiet; after]);
        r
    }

    #[test]
    fn a_dark_quiet_zone_on_either_side_marks_an_inverted_row() {
        // Normal print: white margins, black bars.
        assert!(!looks_inverted(&row(230.0, 20.0, 230.0, 40, 40), (40, 40)));
        // Inverted: dark margins, light bars.
        assert!(looks_inverted(&row(25.0, 25.0, 220.0, 40, 40), (40, 40)));
        // Inverted with one margin running onto a light desk.
        let mut r = row(25.0, 25.0, 220.0, 40, 40);
        for x in &mut r[..40] {
            *x = 240.0;
        }
        assert!(looks_inverted(&r, (40, 40)));
        // No room for margins, or a row too short: never.
        assert!(!looks_inverted(&row(25.0, 25.0, 220.0, 0, 0), (0, 0)));
        assert!(!looks_inverted(&[0.0; 10], (2, 2)));
        assert!(!looks_inverted(&row(25.0, 25.0, 220.0, 40, 40), (400, 400)));
    }

    #[test]
    fn the_unclamped_samplers_give_the_clamped_ones_values_exactly() {
        // The fast paths inside the frame must not move a single decision: they are checked
        // bit for bit against the clamped samplers, at random points inside, on and past the
        // edges of frames down to 2x2 pixels.
        type Sampler = fn(&[u8], usize, usize, f32, f32) -> f32;
        let samplers: [(&str, Sampler, Sampler); 2] = [
            ("cubic", sample_cubic, sample_cubic_clamped),
            ("linear", sample_linear, sample_linear_clamped),
        ];
        let mut rng = Lcg(7);
        for (w, h) in [(2usize, 2usize), (5, 3), (37, 29), (64, 48)] {
            let px: Vec<u8> = (0..w * h).map(|_| (rng.next() * 255.0) as u8).collect();
            for _ in 0..2000 {
                let x = rng.next() * (w as f32 + 6.0) - 3.0;
                let y = rng.next() * (h as f32 + 6.0) - 3.0;
                for (name, fast, clamped) in samplers {
                    let (a, b) = (fast(&px, w, h, x, y), clamped(&px, w, h, x, y));
                    assert_eq!(a.to_bits(), b.to_bits(), "{name} at ({x}, {y}) in {w}x{h}");
                }
            }
        }
    }

    #[test]
    fn bars_are_told_from_text_and_noise_by_their_texture() {
        // Bars of random widths (1 to 4 modules of 2 px) over the middle 60 % of the height.
        let dark = random_bars(7, 40, 280);
        for noise in [0.0, 6.0, 14.0] {
            let bars = frame(noise, 1, |x, y| {
                f32::from(u8::from((16..64).contains(&y) && dark[x as usize]))
            });
            assert_eq!(texty_bands(&bars), vec![false], "bars, noise {noise}");
        }
        // Two lines of digits as a seven-segment font draws them (the digits under a symbol).
        let text = digit_lines(2, 8..100);
        let lines = texty_bands(&text);
        assert!(!lines.is_empty(), "the text makes bands");
        assert!(lines.iter().all(|&t| t), "text: {lines:?}");
        // Faint stripes (20 grey levels) under noise of deviation 10: bars barely above noise.
        let faint = frame(10.0, 3, |x, y| {
            if (16..64).contains(&y) && dark[x as usize] {
                0.12
            } else {
                0.0
            }
        });
        let stripes = texty_bands(&faint);
        assert!(!stripes.is_empty(), "the faint stripes make a band");
        assert!(stripes.iter().all(|&t| t), "faint stripes: {stripes:?}");
    }

    #[test]
    fn only_bars_that_run_into_a_strip_end_ask_for_a_wider_strip_not_text() {
        let p = StripParams::default();
        // Bars of random widths across the whole strip and past both its ends: a symbol the
        // locator's box cut short.
        let dark = random_bars(11, 0, 320);
        let bars = frame(4.0, 5, |x, y| {
            f32::from(u8::from((16..64).contains(&y) && dark[x as usize]))
        });
        let found = bands(&bars, &ACROSS, false).0;
        assert_eq!(found.len(), 1, "one band of bars");
        assert!(
            found[0].calls_for_wider(false, &p),
            "unread bars past the ends"
        );
        assert!(!found[0].calls_for_wider(true, &p), "read bars");
        // Two lines of digits across the whole strip and past its ends, as a line of text
        // beside a symbol runs on past the locator's box.
        let text = digit_lines(6, 0..107);
        let lines = bands(&text, &ACROSS, false).0;
        assert!(!lines.is_empty(), "the text makes bands");
        assert!(
            lines.iter().all(|b| b.reach.0 || b.reach.1),
            "the text runs into the strip's ends"
        );
        assert!(
            lines.iter().all(|b| !b.calls_for_wider(false, &p)),
            "text asks for no wider strip"
        );
    }
}
