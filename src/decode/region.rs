//! Label regions: which decoded symbols of one frame sit on the same physical label.
//!
//! Grouping symbols by the gaps between their boxes cuts real labels apart (two-column Apple
//! labels, a Data Matrix set apart from the 1D rows) or, with a larger reach, joins two boxes in
//! view. A label is a sheet of bright paper, so symbols are grouped here by the connected bright
//! region they sit on, found on a downscaled copy of the frame:
//!
//! 1. The frame is downscaled by area averaging into blocks; each block also keeps the darkest
//!    pixel it holds, so a thin dark gap or edge line between two touching sheets survives the
//!    downscale that would otherwise average it away.
//! 2. For each symbol the paper brightness (a high percentile of the blocks in a ring around it)
//!    and the ink brightness (the darkest pixels inside it) are estimated. A block is paper for
//!    that symbol when its mean is above `ink + threshold_ratio * (paper - ink)` and its darkest
//!    pixel is above `ink + cut_ratio * (paper - ink)`; thresholds relative to the local ink
//!    keep washed-out frames working, where a fixed share of the paper level would let the desk
//!    through.
//! 3. Every symbol's own quadrilateral counts as paper, because at this scale bars and modules
//!    average to grey. This replaces a morphological closing of the paper mask: a closing wide
//!    enough to fill a symbol would also bridge the thin gap between two touching sheets, while
//!    the paper around the symbols (quiet zones, margins) already connects without one. The
//!    connected component grown from it (4-connected, so diagonal leaks
//!    through a gap do not count) is the symbol's sheet. Symbols reached by one sheet are one
//!    label.
//! 4. A sheet that is implausible (most of the frame, far larger than its symbols imply, or no
//!    contrast around the symbol at all: a white desk, a label on a white box, glare) is not
//!    trusted: those symbols are grouped by the old gap rule instead ([`RegionMethod::Fallback`]).
//!
//! **Invariant:** a pure function of the frame and the symbols; no I/O, no clock, no panics on
//! any input (non-finite or degenerate corners, symbols outside the frame, tiny frames).

use image::GrayImage;

use super::Symbol;

/// How label regions are found.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionParams {
    /// The frame is reduced by this factor in each direction (area averaging) before regions
    /// are grown; 4 keeps a 1080p frame at 480x270 blocks.
    pub downscale: u32,
    /// Where between the ink and the paper level a block's mean must lie to count as paper.
    pub threshold_ratio: f32,
    /// Where between the ink and the paper level a block's darkest pixel must lie: a darker
    /// pixel marks a gap or an edge line, which splits two touching sheets.
    pub cut_ratio: f32,
    /// A sheet covering more than this share of the frame is not a label (a white desk).
    pub max_region_share: f32,
    /// A sheet larger than this many times the largest symbol it holds is not a label either
    /// (a white box or sheet of paper the label lies on).
    pub max_area_per_symbol: f32,
    /// The least share of its enclosing rectangle a sheet must fill; a fill that leaked into
    /// the desk is ragged and falls back.
    pub min_fill: f32,
    /// The paper must be at least this many grey levels brighter than the ink to be found.
    pub min_contrast: f32,
    /// The old gap rule for fallback symbols: joined when the gap between their boxes is at most
    /// this many times the larger short side.
    pub fallback_join_factor: f32,
    /// A fallback outline is the symbols' rectangle padded by this many short sides.
    pub fallback_margin: f32,
}

impl Default for RegionParams {
    fn default() -> Self {
        RegionParams {
            downscale: 4,
            threshold_ratio: 0.75,
            cut_ratio: 0.55,
            max_region_share: 0.5,
            max_area_per_symbol: 40.0,
            min_fill: 0.6,
            min_contrast: 24.0,
            fallback_join_factor: 1.5,
            fallback_margin: 0.5,
        }
    }
}

/// How a region was found.
#[derive(Debug, Clone, PartialEq)]
pub enum RegionMethod {
    /// From the bright sheet the symbols sit on.
    Sheet,
    /// From the gaps between symbol boxes, because no plausible sheet was found.
    Fallback,
}

/// One label in a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRegion {
    /// The label's outline in frame pixels: for a Sheet, the minimum-area (oriented) rectangle
    /// of the bright component scaled back to full resolution; for a Fallback group, the
    /// symbols' bounding oriented rectangle padded by a margin. Corner order clockwise from
    /// top-left like `Symbol::corners`.
    pub outline: [(f32, f32); 4],
    /// Indices into the `symbols` slice; every symbol index appears in exactly one region.
    pub symbols: Vec<usize>,
    pub method: RegionMethod,
    /// A sharpness score of the frame inside the outline (mean squared central-difference
    /// gradient, Tenengrad-like, on full-resolution pixels, subsampled for speed); comparable
    /// between frames of the same label.
    pub sharpness: f32,
}

/// Coordinates beyond this are clamped, so casts and products stay finite.
const COORD_LIMIT: f32 = 1.0e6;
/// The sharpness score samples at most about this many pixels.
const SHARPNESS_SAMPLES: f32 = 40_000.0;

/// Groups `symbols` into labels; see the module documentation for the method.
pub fn label_regions(
    image: &GrayImage,
    symbols: &[Symbol],
    params: &RegionParams,
) -> Vec<LabelRegion> {
    if symbols.is_empty() {
        return Vec::new();
    }
    let quads: Vec<[(f32, f32); 4]> = symbols.iter().map(|s| sanitize(&s.corners)).collect();
    let small = Small::new(image, params.downscale);
    let sheets = find_sheets(&small, &quads, params);

    // Symbols whose fills reached each other share a sheet.
    let n = quads.len();
    let mut uf = UnionFind::new(n);
    for (i, sheet) in sheets.iter().enumerate() {
        if let Some(s) = sheet {
            for &j in &s.reached {
                if sheets.get(j).is_some_and(Option::is_some) {
                    uf.union(i, j);
                }
            }
        }
    }
    // Then the gap rule joins what the sheets left apart (a symbol whose sheet was not found, a
    // Data Matrix the fill did not reach), but never two different sheets, not even through a
    // symbol between them: two sheets are two labels.
    let mut sheet_of: Vec<Option<usize>> = (0..n)
        .map(|i| sheets.get(i).and_then(Option::as_ref).map(|_| uf.root(i)))
        .collect();
    let mut joined = UnionFind::new(n);
    for i in 0..n {
        for j in i + 1..n {
            if sheet_of[i].is_some() && sheet_of[i] == sheet_of[j] {
                joined.union_if(i, j, &mut sheet_of);
            }
        }
    }
    // The outline of each sheet, so a symbol without a sheet joins one only when it lies on it.
    let f = small.factor as f32;
    let mut sheet_rects: std::collections::HashMap<usize, [(f32, f32); 4]> = Default::default();
    for (root, sheet) in sheet_of.iter().zip(&sheets) {
        if let (Some(root), Some(s)) = (*root, sheet) {
            sheet_rects.entry(root).or_insert_with(|| {
                let points: Vec<(f32, f32)> = s.hull.iter().map(|&(x, y)| (x * f, y * f)).collect();
                min_area_rect(&points, 2.0 * f)
            });
        }
    }
    let on_sheet = |sheet: Option<usize>, symbol: usize| {
        sheet
            .and_then(|root| sheet_rects.get(&root))
            .is_some_and(|rect| inside(rect, centroid(&quads[symbol])))
    };
    for group in gap_groups(&quads, params.fallback_join_factor) {
        for &a in &group {
            for &b in &group {
                let (sa, sb) = (sheet_of[a], sheet_of[b]);
                // Between a sheet and a symbol without one, the gap rule holds only on the sheet.
                let allowed = match (sa, sb) {
                    (Some(_), None) => on_sheet(sa, b),
                    (None, Some(_)) => on_sheet(sb, a),
                    _ => true,
                };
                if allowed {
                    joined.union_if(a, b, &mut sheet_of);
                }
            }
        }
    }
    let mut regions = Vec::new();
    for group in joined.groups() {
        let mut points = Vec::new();
        let mut has_sheet = false;
        for &i in &group {
            if let Some(Some(s)) = sheets.get(i) {
                has_sheet = true;
                // Blocks at the sheet's border failed the darkest-pixel test on the paper edge,
                // so the paper runs about half a block further than the blocks that passed.
                points.extend(s.hull.iter().map(|&(x, y)| (x * f, y * f)));
            }
            points.extend(quads[i]);
        }
        let (rect, method) = if has_sheet {
            (min_area_rect(&points, f * 0.5), RegionMethod::Sheet)
        } else {
            let pad = group
                .iter()
                .map(|&i| short_side(&quads[i]))
                .fold(0.0, f32::max)
                * params.fallback_margin;
            (min_area_rect(&points, pad), RegionMethod::Fallback)
        };
        regions.push(region(image, &quads, group, rect, method));
    }
    regions
}

/// Groups symbol quadrilaterals by the gap rule: two symbols are joined when the gap between
/// their axis-aligned boxes is at most `join_factor` times the larger of their short sides.
/// This is the grouping `pair::label::cluster` uses, kept here for the fallback and so the
/// benchmark can compare both on the same frames.
pub fn gap_groups(quads: &[[(f32, f32); 4]], join_factor: f32) -> Vec<Vec<usize>> {
    let quads: Vec<[(f32, f32); 4]> = quads.iter().map(sanitize).collect();
    let boxes: Vec<[f32; 4]> = quads.iter().map(bbox).collect();
    let mut uf = UnionFind::new(quads.len());
    for i in 0..quads.len() {
        for j in i + 1..quads.len() {
            let (a, b) = (boxes[i], boxes[j]);
            let gap_x = (a[0] - b[2]).max(b[0] - a[2]).max(0.0);
            let gap_y = (a[1] - b[3]).max(b[1] - a[3]).max(0.0);
            let gap = (gap_x * gap_x + gap_y * gap_y).sqrt();
            let reach = join_factor * short_side(&quads[i]).max(short_side(&quads[j])).max(1.0);
            if gap <= reach {
                uf.union(i, j);
            }
        }
    }
    uf.groups()
}

fn region(
    image: &GrayImage,
    quads: &[[(f32, f32); 4]],
    mut members: Vec<usize>,
    rect: [(f32, f32); 4],
    method: RegionMethod,
) -> LabelRegion {
    members.sort_unstable();
    let outline = orient(rect, members.iter().map(|&i| quads[i]));
    LabelRegion {
        sharpness: sharpness(image, &outline),
        outline,
        symbols: members,
        method,
    }
}

/// The sheet found for one symbol: which symbols it reaches and its outline points in blocks.
#[derive(Debug, Clone)]
struct Sheet {
    reached: Vec<usize>,
    hull: Vec<(f32, f32)>,
}

/// The frame reduced to blocks: the mean and the darkest pixel of each.
struct Small {
    w: usize,
    h: usize,
    factor: u32,
    mean: Vec<u8>,
    min: Vec<u8>,
}

impl Small {
    fn new(image: &GrayImage, factor: u32) -> Small {
        let factor = factor.clamp(1, 64);
        let (iw, ih) = (image.width() as usize, image.height() as usize);
        let f = factor as usize;
        let (w, h) = (iw.div_ceil(f), ih.div_ceil(f));
        let raw = image.as_raw();
        let mut sum = vec![0u32; w];
        let mut cnt = vec![0u32; w];
        let mut mn = vec![u8::MAX; w];
        let mut mean = Vec::with_capacity(w * h);
        let mut min = Vec::with_capacity(w * h);
        for by in 0..h {
            sum.iter_mut().for_each(|v| *v = 0);
            cnt.iter_mut().for_each(|v| *v = 0);
            mn.iter_mut().for_each(|v| *v = u8::MAX);
            for y in by * f..((by + 1) * f).min(ih) {
                let Some(row) = raw.get(y * iw..(y + 1) * iw) else {
                    continue;
                };
                for (bx, chunk) in row.chunks(f).enumerate() {
                    if let (Some(s), Some(c), Some(m)) =
                        (sum.get_mut(bx), cnt.get_mut(bx), mn.get_mut(bx))
                    {
                        for &p in chunk {
                            *s += u32::from(p);
                            *m = (*m).min(p);
                        }
                        *c += chunk.len() as u32;
                    }
                }
            }
            for bx in 0..w {
                let c = cnt[bx].max(1);
                mean.push(((sum[bx] + c / 2) / c).min(255) as u8);
                min.push(if cnt[bx] == 0 { 0 } else { mn[bx] });
            }
        }
        Small {
            w,
            h,
            factor,
            mean,
            min,
        }
    }
}

/// What the flood fills share: a visit stamp per block, so no fill clears a map.
struct Fill {
    stamp: Vec<u32>,
    generation: u32,
    queue: Vec<usize>,
}

fn find_sheets(
    small: &Small,
    quads: &[[(f32, f32); 4]],
    params: &RegionParams,
) -> Vec<Option<Sheet>> {
    let n = quads.len();
    let blocks = small.w * small.h;
    let f = small.factor as f32;
    // Each symbol's own blocks (its quadrilateral grown by half a block) count as paper for the
    // fill that starts from it, so the fill can leave through the dark bars. Only for that fill:
    // another symbol's blocks are reached through its bright quiet zone, and letting every
    // fill cross every symbol's blocks bridged the thin gap between two touching labels where
    // two symbols sat near their facing edges.
    let seeds: Vec<Vec<usize>> = quads
        .iter()
        .map(|q| blocks_in(small, &scale_quad(q, 1.0 / f), 0.5))
        .collect();
    let mut own: Vec<bool> = vec![false; blocks];
    let mut fill = Fill {
        stamp: vec![0; blocks],
        generation: 0,
        queue: Vec::new(),
    };
    let max_blocks = (params.max_region_share.clamp(0.0, 1.0) * blocks as f32) as usize;
    let mut sheets: Vec<Option<Sheet>> = vec![None; n];
    // Symbols already placed on a sheet grown with thresholds close to their own; growing
    // their own sheet would give the same blocks, so they share it (the cost stays one fill
    // per label rather than one per symbol).
    let mut settled: Vec<Option<(usize, f32, f32)>> = vec![None; n];
    for i in 0..n {
        let Some((paper, ink)) = levels(small, &quads[i], f) else {
            continue;
        };
        if paper - ink < params.min_contrast {
            continue;
        }
        let t_mean = ink + params.threshold_ratio * (paper - ink);
        let t_min = ink + params.cut_ratio * (paper - ink);
        if let Some((k, tm, tn)) = settled[i]
            && (tm - t_mean).abs() <= 0.05 * paper
            && (tn - t_min).abs() <= 0.05 * paper
        {
            sheets[i] = sheets[k].clone();
            continue;
        }
        for &b in &seeds[i] {
            if let Some(o) = own.get_mut(b) {
                *o = true;
            }
        }
        let grown = grow(small, &seeds[i], &own, t_mean, t_min, max_blocks, &mut fill);
        for &b in &seeds[i] {
            if let Some(o) = own.get_mut(b) {
                *o = false;
            }
        }
        let Some(area) = grown else {
            continue;
        };
        // A label is a rectangle: a fill that leaked into the desk (a white object, a bright
        // patch of background) covers only a small part of its enclosing rectangle.
        let reached: Vec<usize> = (0..n)
            .filter(|&j| {
                seeds[j]
                    .iter()
                    .any(|&b| fill.stamp.get(b) == Some(&fill.generation))
            })
            .collect();
        let largest = reached
            .iter()
            .map(|&j| quad_area(&quads[j]) / (f * f))
            .fold(1.0, f32::max);
        if area as f32 > params.max_area_per_symbol * largest {
            continue;
        }
        // A label is a rectangle mostly made of paper and its symbols: a fill that leaked into
        // the desk (a white object, a bright patch between two boxes) covers only a small part of
        // its enclosing rectangle. The reached symbols' blocks count as covered, since their
        // bars are dark holes in the fill.
        let hull = row_extremes(small.w, &fill.queue);
        let rect = min_area_rect(&hull, 0.0);
        let mut covered: std::collections::HashSet<usize> = fill.queue.iter().copied().collect();
        for &j in &reached {
            covered.extend(seeds[j].iter().copied());
        }
        if (covered.len() as f32) < params.min_fill * quad_area(&rect).max(1.0) {
            continue;
        }
        for &j in &reached {
            if j > i && settled[j].is_none() {
                settled[j] = Some((i, t_mean, t_min));
            }
        }
        sheets[i] = Some(Sheet { reached, hull });
    }
    sheets
}

/// Grows the component of paper blocks from `seed`; `None` when it has no seed in the frame or
/// grows past `max_blocks`. The visited blocks are left in `fill.queue`.
fn grow(
    small: &Small,
    seed: &[usize],
    own: &[bool],
    t_mean: f32,
    t_min: f32,
    max_blocks: usize,
    fill: &mut Fill,
) -> Option<usize> {
    fill.generation = fill.generation.wrapping_add(1);
    if fill.generation == 0 {
        fill.stamp.iter_mut().for_each(|s| *s = 0);
        fill.generation = 1;
    }
    let g = fill.generation;
    fill.queue.clear();
    let passes = |b: usize| {
        own.get(b).copied().unwrap_or(false)
            || (small.mean.get(b).is_some_and(|&m| f32::from(m) >= t_mean)
                && small.min.get(b).is_some_and(|&m| f32::from(m) >= t_min))
    };
    for &b in seed {
        if let Some(s) = fill.stamp.get_mut(b)
            && *s != g
        {
            *s = g;
            fill.queue.push(b);
        }
    }
    if fill.queue.is_empty() {
        return None;
    }
    let (w, h) = (small.w, small.h);
    let mut head = 0;
    while let Some(&b) = fill.queue.get(head) {
        head += 1;
        if fill.queue.len() > max_blocks {
            return None;
        }
        let (x, y) = (b % w, b / w);
        let neighbours = [
            (x > 0).then(|| b - 1),
            (x + 1 < w).then(|| b + 1),
            (y > 0).then(|| b - w),
            (y + 1 < h).then(|| b + w),
        ];
        for nb in neighbours.into_iter().flatten() {
            if let Some(s) = fill.stamp.get_mut(nb)
                && *s != g
                && passes(nb)
            {
                *s = g;
                fill.queue.push(nb);
            }
        }
    }
    Some(fill.queue.len())
}

/// The paper and ink levels around a symbol: a high percentile of block means in a ring just
/// outside it (its quiet zone and the paper beyond), and the median darkest pixel inside it.
fn levels(small: &Small, quad: &[(f32, f32); 4], f: f32) -> Option<(f32, f32)> {
    let q = scale_quad(quad, 1.0 / f);
    let ring = (0.4 * short_side(&q)).clamp(2.0, 8.0);
    let inner = blocks_in(small, &q, 0.5);
    let outer = blocks_in(small, &q, 0.5 + ring);
    let mut inside: Vec<u8> = blocks_in(small, &q, 0.0)
        .iter()
        .filter_map(|&b| small.min.get(b).copied())
        .collect();
    if inside.is_empty() {
        inside = inner
            .iter()
            .filter_map(|&b| small.min.get(b).copied())
            .collect();
    }
    let mut is_inner = std::collections::HashSet::with_capacity(inner.len());
    is_inner.extend(inner.iter().copied());
    let mut around: Vec<u8> = outer
        .iter()
        .filter(|b| !is_inner.contains(b))
        .filter_map(|&b| small.mean.get(b).copied())
        .collect();
    let paper = percentile(&mut around, 0.9)?;
    let ink = percentile(&mut inside, 0.5)?;
    Some((paper, ink))
}

fn percentile(values: &mut [u8], p: f32) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let k = ((values.len() - 1) as f32 * p).round() as usize;
    values.get(k).map(|&v| f32::from(v))
}

/// The blocks whose centres lie inside `quad` (in block units) grown outwards by `grow` blocks;
/// at least the block under the quad's centre when that is in the frame.
fn blocks_in(small: &Small, quad: &[(f32, f32); 4], grow: f32) -> Vec<usize> {
    let c = centroid(quad);
    let q = quad.map(|(x, y)| {
        let (dx, dy) = (x - c.0, y - c.1);
        let len = (dx * dx + dy * dy).sqrt();
        if len > 1e-6 {
            let k = 1.0 + grow / len;
            (c.0 + dx * k, c.1 + dy * k)
        } else {
            (x, y)
        }
    });
    let b = bbox(&q);
    let (wf, hf) = (small.w as f32, small.h as f32);
    let x0 = (b[0] - 1.0).floor().clamp(0.0, wf) as usize;
    let x1 = (b[2] + 1.0).ceil().clamp(0.0, wf) as usize;
    let y0 = (b[1] - 1.0).floor().clamp(0.0, hf) as usize;
    let y1 = (b[3] + 1.0).ceil().clamp(0.0, hf) as usize;
    let mut out = Vec::new();
    for y in y0..y1 {
        for x in x0..x1 {
            if inside(&q, (x as f32 + 0.5, y as f32 + 0.5)) {
                out.push(y * small.w + x);
            }
        }
    }
    if out.is_empty() && c.0 >= 0.0 && c.1 >= 0.0 && c.0 < wf && c.1 < hf {
        out.push(c.1 as usize * small.w + c.0 as usize);
    }
    out
}

/// Outline points of a set of blocks: the outer corners of each row's first and last block.
fn row_extremes(w: usize, blocks: &[usize]) -> Vec<(f32, f32)> {
    let mut rows: std::collections::BTreeMap<usize, (usize, usize)> = Default::default();
    for &b in blocks {
        let (x, y) = (b % w.max(1), b / w.max(1));
        let e = rows.entry(y).or_insert((x, x));
        e.0 = e.0.min(x);
        e.1 = e.1.max(x);
    }
    let mut pts = Vec::with_capacity(rows.len() * 4);
    for (y, (x0, x1)) in rows {
        let (y, x0, x1) = (y as f32, x0 as f32, x1 as f32 + 1.0);
        pts.extend([(x0, y), (x0, y + 1.0), (x1, y), (x1, y + 1.0)]);
    }
    pts
}

/// Replaces non-finite corners by the mean of the finite ones (or the origin) and clamps the rest.
fn sanitize(corners: &[(f32, f32); 4]) -> [(f32, f32); 4] {
    let finite: Vec<(f32, f32)> = corners
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| {
            (
                x.clamp(-COORD_LIMIT, COORD_LIMIT),
                y.clamp(-COORD_LIMIT, COORD_LIMIT),
            )
        })
        .collect();
    let fill = if finite.is_empty() {
        (0.0, 0.0)
    } else {
        let n = finite.len() as f32;
        let (sx, sy) = finite
            .iter()
            .fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
        (sx / n, sy / n)
    };
    corners.map(|(x, y)| {
        if x.is_finite() && y.is_finite() {
            (
                x.clamp(-COORD_LIMIT, COORD_LIMIT),
                y.clamp(-COORD_LIMIT, COORD_LIMIT),
            )
        } else {
            fill
        }
    })
}

fn scale_quad(q: &[(f32, f32); 4], k: f32) -> [(f32, f32); 4] {
    q.map(|(x, y)| (x * k, y * k))
}

fn centroid(q: &[(f32, f32); 4]) -> (f32, f32) {
    let (sx, sy) = q.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
    (sx / 4.0, sy / 4.0)
}

fn bbox(q: &[(f32, f32); 4]) -> [f32; 4] {
    q.iter().fold(
        [
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ],
        |b, &(x, y)| [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)],
    )
}

fn dist(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

fn short_side(q: &[(f32, f32); 4]) -> f32 {
    let [a, b, c, _] = *q;
    dist(a, b).min(dist(b, c))
}

fn quad_area(q: &[(f32, f32); 4]) -> f32 {
    let mut s = 0.0;
    for i in 0..4 {
        let (a, b) = (q[i], q[(i + 1) % 4]);
        s += a.0 * b.1 - b.0 * a.1;
    }
    (s * 0.5).abs()
}

/// Even-odd point-in-polygon test, which holds for non-convex quadrilaterals too.
fn inside(q: &[(f32, f32); 4], p: (f32, f32)) -> bool {
    let mut c = false;
    for i in 0..4 {
        let (a, b) = (q[i], q[(i + 3) % 4]);
        if (a.1 > p.1) != (b.1 > p.1) {
            let x = a.0 + (p.1 - a.1) * (b.0 - a.0) / (b.1 - a.1);
            if p.0 < x {
                c = !c;
            }
        }
    }
    c
}

fn cross(o: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
}

/// Andrew's monotone chain; the hull of fewer than three distinct points is those points.
fn convex_hull(points: &[(f32, f32)]) -> Vec<(f32, f32)> {
    let mut p: Vec<(f32, f32)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    p.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let mut hull: Vec<(f32, f32)> = Vec::with_capacity(p.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(f32, f32)>> = if pass == 0 {
            Box::new(p.iter())
        } else {
            Box::new(p.iter().rev())
        };
        for &pt in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], pt) <= 0.0
            {
                hull.pop();
            }
            hull.push(pt);
        }
        hull.pop();
    }
    hull
}

/// The minimum-area rectangle around `points` (rotating each hull edge), grown by `pad` on
/// every side.
fn min_area_rect(points: &[(f32, f32)], pad: f32) -> [(f32, f32); 4] {
    let hull = convex_hull(points);
    let pad = if pad.is_finite() { pad.max(0.0) } else { 0.0 };
    let mut best: Option<(f32, (f32, f32), [f32; 4])> = None;
    let mut axes: Vec<(f32, f32)> = vec![(1.0, 0.0)];
    for i in 0..hull.len() {
        let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
        let l = dist(a, b);
        if l > 1e-6 {
            axes.push(((b.0 - a.0) / l, (b.1 - a.1) / l));
        }
    }
    for u in axes {
        let v = (-u.1, u.0);
        let mut r = [
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ];
        for &(x, y) in &hull {
            let (s, t) = (x * u.0 + y * u.1, x * v.0 + y * v.1);
            r = [r[0].min(s), r[1].min(t), r[2].max(s), r[3].max(t)];
        }
        let area = (r[2] - r[0]) * (r[3] - r[1]);
        if area.is_finite() && best.as_ref().is_none_or(|b| area < b.0) {
            best = Some((area, u, r));
        }
    }
    let Some((_, u, r)) = best else {
        return [(0.0, 0.0); 4];
    };
    let v = (-u.1, u.0);
    let r = [r[0] - pad, r[1] - pad, r[2] + pad, r[3] + pad];
    let at = |s: f32, t: f32| (s * u.0 + t * v.0, s * u.1 + t * v.1);
    [
        at(r[0], r[1]),
        at(r[2], r[1]),
        at(r[2], r[3]),
        at(r[0], r[3]),
    ]
}

/// Orders a rectangle's corners like `Symbol::corners`: clockwise on screen, and starting so
/// the first edge runs along the reading direction of the region's symbols (their first edges,
/// weighted by length and averaged as doubled angles so opposite directions agree in axis);
/// the reading sense then picks the corner. Without usable symbols, the top-left corner first.
fn orient(rect: [(f32, f32); 4], quads: impl Iterator<Item = [(f32, f32); 4]>) -> [(f32, f32); 4] {
    // Clockwise on screen (y down) is a positive shoelace sum.
    let mut r = rect;
    let mut s = 0.0;
    for i in 0..4 {
        s += r[i].0 * r[(i + 1) % 4].1 - r[(i + 1) % 4].0 * r[i].1;
    }
    if s < 0.0 {
        r.swap(1, 3);
    }
    let (mut dx, mut dy) = (0.0f32, 0.0f32);
    for q in quads {
        dx += q[1].0 - q[0].0;
        dy += q[1].1 - q[0].1;
    }
    let start = if dx.is_finite() && dy.is_finite() && (dx != 0.0 || dy != 0.0) {
        (0..4)
            .max_by(|&a, &b| {
                let score = |i: usize| {
                    let (p, q) = (r[i], r[(i + 1) % 4]);
                    let (ex, ey) = (q.0 - p.0, q.1 - p.1);
                    (ex * dx + ey * dy) / (ex * ex + ey * ey).sqrt().max(1e-6)
                };
                score(a).total_cmp(&score(b))
            })
            .unwrap_or(0)
    } else {
        (0..4)
            .min_by(|&a, &b| (r[a].0 + r[a].1).total_cmp(&(r[b].0 + r[b].1)))
            .unwrap_or(0)
    };
    [
        r[start],
        r[(start + 1) % 4],
        r[(start + 2) % 4],
        r[(start + 3) % 4],
    ]
}

/// Mean squared central-difference gradient inside `outline`, on a subsampled grid.
fn sharpness(image: &GrayImage, outline: &[(f32, f32); 4]) -> f32 {
    let (w, h) = (image.width() as usize, image.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let b = bbox(outline);
    let x0 = b[0].floor().clamp(1.0, (w - 2) as f32) as usize;
    let x1 = b[2].ceil().clamp(1.0, (w - 1) as f32) as usize;
    let y0 = b[1].floor().clamp(1.0, (h - 2) as f32) as usize;
    let y1 = b[3].ceil().clamp(1.0, (h - 1) as f32) as usize;
    if x1 <= x0 || y1 <= y0 {
        return 0.0;
    }
    let area = ((x1 - x0) * (y1 - y0)) as f32;
    let step = (area / SHARPNESS_SAMPLES).sqrt().ceil().max(1.0) as usize;
    let raw = image.as_raw();
    let px = |x: usize, y: usize| raw.get(y * w + x).map_or(0.0, |&v| f32::from(v));
    let (mut sum, mut n) = (0.0f64, 0u64);
    for y in (y0..y1).step_by(step) {
        for x in (x0..x1).step_by(step) {
            if !inside(outline, (x as f32 + 0.5, y as f32 + 0.5)) {
                continue;
            }
            let gx = px(x + 1, y) - px(x - 1, y);
            let gy = px(x, y + 1) - px(x, y - 1);
            sum += f64::from(gx * gx + gy * gy);
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { (sum / n as f64) as f32 }
}

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n).collect(),
        }
    }

    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }

    /// Joins the sets of `a` and `b` unless they hold two different sheets; `sheet` is the
    /// sheet of each set's root (kept up to date here).
    fn union_if(&mut self, a: usize, b: usize, sheet: &mut [Option<usize>]) {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra == rb {
            return;
        }
        let (sa, sb) = (
            sheet.get(ra).copied().flatten(),
            sheet.get(rb).copied().flatten(),
        );
        if let (Some(x), Some(y)) = (sa, sb)
            && x != y
        {
            return;
        }
        self.union(a, b);
        let root = self.root(a);
        if let Some(slot) = sheet.get_mut(root) {
            *slot = sa.or(sb);
        }
    }

    /// The groups in order of their smallest member, members ascending.
    fn groups(&mut self) -> Vec<Vec<usize>> {
        let n = self.parent.len();
        let mut by_root: Vec<Vec<usize>> = vec![Vec::new(); n];
        for i in 0..n {
            let r = self.root(i);
            by_root[r].push(i);
        }
        by_root.into_iter().filter(|g| !g.is_empty()).collect()
    }
}
