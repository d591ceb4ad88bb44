//! Finds the regions of a frame that look like 1D barcodes, at any angle.
//!
//! The method is the one measured in `DECODE.md`: a block structure tensor on a 2x downscale,
//! blocks kept where the gradient is coherent (one direction), strong, and alternating (bars, not
//! a single edge), then connected components turned into oriented rectangles whose angle is
//! refined at full resolution.

use image::GrayImage;

/// A region that probably holds one or more parallel 1D barcodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate {
    /// The centre of the region in frame pixels.
    pub cx: f32,
    pub cy: f32,
    /// The direction across the bars (the bar normal), in radians.
    pub angle: f32,
    /// The extent across the bars, relative to the centre, in frame pixels.
    pub u0: f32,
    pub u1: f32,
    /// The extent along the bars, relative to the centre, in frame pixels.
    pub v0: f32,
    pub v1: f32,
    /// Bar energy, for ordering: the strongest regions are decoded first.
    pub score: f32,
}

impl Candidate {
    /// The axis-aligned box around the region, in frame pixels: `x0, y0, x1, y1`.
    pub(super) fn bounds(&self) -> [f32; 4] {
        let (cos, sin) = (self.angle.cos(), self.angle.sin());
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for (u, v) in [
            (self.u0, self.v0),
            (self.u1, self.v0),
            (self.u1, self.v1),
            (self.u0, self.v1),
        ] {
            let x = self.cx + u * cos - v * sin;
            let y = self.cy + u * sin + v * cos;
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        [x0, y0, x1, y1]
    }
}

/// Locator thresholds; the defaults are the figures from `DECODE.md`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocateParams {
    /// Minimum coherence of the block structure tensor (1 = one gradient direction only).
    pub min_coherence: f32,
    /// Minimum mean Sobel magnitude of a block.
    pub min_energy: f32,
    /// Maximum |mean gradient| / mean |gradient|: bars alternate, a single edge does not.
    pub max_alternation: f32,
    /// The most candidates returned, strongest first.
    pub max_candidates: usize,
    /// Blocks below this coherence (with enough energy) may belong to a matrix code.
    pub max_matrix_coherence: f32,
    /// The most matrix-code candidates returned, strongest first.
    pub max_matrix_candidates: usize,
    /// Frames whose shorter side is at least this are located on a 2x downscale.
    pub downscale_min_side: u32,
}

impl Default for LocateParams {
    fn default() -> Self {
        LocateParams {
            min_coherence: 0.55,
            min_energy: 20.0,
            max_alternation: 0.45,
            max_candidates: 12,
            max_matrix_coherence: 0.5,
            max_matrix_candidates: 6,
            downscale_min_side: 320,
        }
    }
}

/// A region that may hold a matrix code (Data Matrix, QR), axis-aligned in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MatrixCandidate {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
    pub score: f32,
}

/// What the locator found in one frame.
#[derive(Debug, Clone, Default)]
pub(crate) struct Located {
    pub bars: Vec<Candidate>,
    pub matrices: Vec<MatrixCandidate>,
}

/// Block side in working pixels.
const BLOCK: usize = 8;

struct Blocks {
    bw: usize,
    bh: usize,
    jxx: Vec<f32>,
    jyy: Vec<f32>,
    jxy: Vec<f32>,
    mag: Vec<f32>,
    sgx: Vec<f32>,
    sgy: Vec<f32>,
    count: Vec<u32>,
}

/// Downscales by 2 with a 2x2 box filter.
fn half(frame: &GrayImage) -> (Vec<u8>, usize, usize) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (hw, hh) = (w / 2, h / 2);
    let src = frame.as_raw();
    let mut out = vec![0u8; hw * hh];
    // The two rows are added first, column by column, and then the pairs of columns: two
    // loops that vectorise, where one loop over 2x2 blocks did not (ten instructions a pixel).
    // Integer sums, so the result is the same either way.
    let mut rows = vec![0u16; w];
    for y in 0..hh {
        let r0 = &src[2 * y * w..2 * y * w + w];
        let r1 = &src[(2 * y + 1) * w..(2 * y + 1) * w + w];
        for ((s, &a), &b) in rows.iter_mut().zip(r0).zip(r1) {
            *s = u16::from(a) + u16::from(b);
        }
        let o = &mut out[y * hw..(y + 1) * hw];
        for (px, p) in o.iter_mut().zip(rows.chunks_exact(2)) {
            *px = ((p[0] + p[1] + 2) / 4) as u8;
        }
    }
    (out, hw, hh)
}

fn block_stats(img: &[u8], w: usize, h: usize) -> Blocks {
    let bw = w.div_ceil(BLOCK);
    let bh = h.div_ceil(BLOCK);
    let n = bw * bh;
    let mut b = Blocks {
        bw,
        bh,
        jxx: vec![0.0; n],
        jyy: vec![0.0; n],
        jxy: vec![0.0; n],
        mag: vec![0.0; n],
        sgx: vec![0.0; n],
        sgy: vec![0.0; n],
        count: vec![0; n],
    };
    if w < 3 || h < 3 {
        return b;
    }
    // The Sobel gradient is separable: down each column, the sum `up + 2 mid + down` (for the
    // horizontal gradient) and the difference `down - up` (for the vertical one); then along
    // the row a difference of the first and a weighted sum of the second. Each row's two series are taken
    // once over the whole row, and a block's sums are kept in eight lanes (one per pixel
    // column of the block) that the compiler vectorises, added up once per block. The frame's
    // outermost pixels have no gradient: the blocks that hold them, and a last block narrower
    // than `BLOCK`, take the same sums one pixel at a time.
    let mut smooth = vec![0f32; w];
    let mut diff = vec![0f32; w];
    let mut lanes = vec![[[0f32; BLOCK]; 6]; bw];
    let mut tails = vec![[0f32; 6]; bw];
    for by in 0..bh {
        let (y0, y1) = ((by * BLOCK).max(1), ((by + 1) * BLOCK).min(h - 1));
        lanes.iter_mut().for_each(|l| *l = [[0.0; BLOCK]; 6]);
        tails.iter_mut().for_each(|t| *t = [0.0; 6]);
        for y in y0..y1 {
            let up = &img[(y - 1) * w..y * w];
            let mid = &img[y * w..(y + 1) * w];
            let dn = &img[(y + 1) * w..(y + 2) * w];
            for ((((s, d), &u), &m), &n) in smooth
                .iter_mut()
                .zip(diff.iter_mut())
                .zip(up)
                .zip(mid)
                .zip(dn)
            {
                *s = f32::from(u) + 2.0 * f32::from(m) + f32::from(n);
                *d = f32::from(n) - f32::from(u);
            }
            for bx in 0..bw {
                let (x0, x1) = ((bx * BLOCK).max(1), ((bx + 1) * BLOCK).min(w - 1));
                if x1 <= x0 {
                    continue;
                }
                if x1 - x0 == BLOCK {
                    let window = |r: &[f32]| -> Option<[f32; BLOCK + 2]> {
                        r.get(x0 - 1..x1 + 1)?.try_into().ok()
                    };
                    let (Some(s), Some(d)) = (window(&smooth), window(&diff)) else {
                        continue;
                    };
                    let l = &mut lanes[bx];
                    for k in 0..BLOCK {
                        let fx = s[k + 2] - s[k];
                        let fy = d[k] + 2.0 * d[k + 1] + d[k + 2];
                        l[0][k] += fx * fx;
                        l[1][k] += fy * fy;
                        l[2][k] += fx * fy;
                        l[3][k] += (fx * fx + fy * fy).sqrt();
                        l[4][k] += fx;
                        l[5][k] += fy;
                    }
                } else {
                    let t = &mut tails[bx];
                    for xx in x0..x1 {
                        let fx = smooth[xx + 1] - smooth[xx - 1];
                        let fy = diff[xx - 1] + 2.0 * diff[xx] + diff[xx + 1];
                        t[0] += fx * fx;
                        t[1] += fy * fy;
                        t[2] += fx * fy;
                        t[3] += (fx * fx + fy * fy).sqrt();
                        t[4] += fx;
                        t[5] += fy;
                    }
                }
            }
        }
        for bx in 0..bw {
            let (x0, x1) = ((bx * BLOCK).max(1), ((bx + 1) * BLOCK).min(w - 1));
            let i = by * bw + bx;
            let sum = |s: usize| lanes[bx][s].iter().sum::<f32>() + tails[bx][s];
            b.jxx[i] = sum(0);
            b.jyy[i] = sum(1);
            b.jxy[i] = sum(2);
            b.mag[i] = sum(3);
            b.sgx[i] = sum(4);
            b.sgy[i] = sum(5);
            b.count[i] = (x1.saturating_sub(x0) * y1.saturating_sub(y0)) as u32;
        }
    }
    b
}

/// Connected components (8-neighbour) of a block mask.
fn components(mask: &[bool], bw: usize, bh: usize) -> Vec<Vec<usize>> {
    let n = mask.len();
    let mut seen = vec![false; n];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..n {
        if !mask[start] || seen[start] {
            continue;
        }
        let mut members = Vec::new();
        stack.push(start);
        seen[start] = true;
        while let Some(i) = stack.pop() {
            members.push(i);
            let (x, y) = ((i % bw) as isize, (i / bw) as isize);
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= bw as isize || ny >= bh as isize {
                        continue;
                    }
                    let j = ny as usize * bw + nx as usize;
                    if mask[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push(members);
    }
    out
}

/// Candidate 1D barcode regions and matrix-code regions, strongest first.
pub(crate) fn locate(frame: &GrayImage, params: &LocateParams) -> Located {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    // Small frames are located at full resolution: halving them would leave too few blocks
    // across a symbol. From 320 pixels up the halved frame still works (measured on the public
    // corpus) at a quarter of the cost.
    let (work, ww, wh, scale) = if w.min(h) >= params.downscale_min_side as usize {
        let (img, hw, hh) = half(frame);
        (img, hw, hh, 2.0f32)
    } else {
        (frame.as_raw().clone(), w, h, 1.0f32)
    };
    if ww < BLOCK * 2 || wh < BLOCK * 2 {
        return Located::default();
    }
    let b = block_stats(&work, ww, wh);
    let n = b.bw * b.bh;
    let mut bars = vec![false; n];
    let mut matrix = vec![false; n];
    for i in 0..n {
        let c = b.count[i] as f32;
        if c < 8.0 {
            continue;
        }
        let energy = b.mag[i] / c;
        let t = b.jxx[i] + b.jyy[i];
        if t <= 0.0 || energy < params.min_energy {
            continue;
        }
        let d = b.jxx[i] - b.jyy[i];
        let coherence = (d * d + 4.0 * b.jxy[i] * b.jxy[i]).sqrt() / t;
        let alternation = (b.sgx[i] * b.sgx[i] + b.sgy[i] * b.sgy[i]).sqrt() / b.mag[i];
        bars[i] = coherence > params.min_coherence && alternation < params.max_alternation;
        // Matrix codes have edges in two directions and, like bars, no net gradient.
        matrix[i] = coherence < params.max_matrix_coherence
            && alternation < params.max_alternation
            && energy >= 2.0 * params.min_energy;
    }
    let mut out = Vec::new();
    for members in components(&close(&bars, b.bw, b.bh), b.bw, b.bh) {
        if let Some(c) = component_rect(&b, &bars, &members, scale) {
            out.push(c);
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out.truncate(params.max_candidates);
    for c in &mut out {
        refine(frame, c);
    }
    let mut squares = Vec::new();
    if params.max_matrix_candidates > 0 {
        for members in components(&close(&matrix, b.bw, b.bh), b.bw, b.bh) {
            if let Some(m) = matrix_rect(&b, &matrix, &members, scale) {
                squares.push(m);
            } else if members.len() >= 9 {
                // A code beside text or bars merges with them into one sparse blob: look for
                // the densest square inside the blob instead.
                squares.extend(matrix_windows(&b, &matrix, &members, scale, 2));
            }
        }
        squares.sort_by(|a, b| b.score.total_cmp(&a.score));
        squares.truncate(params.max_matrix_candidates);
    }
    Located {
        bars: out,
        matrices: squares,
    }
}

/// The bounding box of a component that is compact enough to be a matrix code.
fn matrix_rect(
    b: &Blocks,
    mask: &[bool],
    members: &[usize],
    scale: f32,
) -> Option<MatrixCandidate> {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0usize, 0usize);
    let (mut strong, mut energy) = (0usize, 0f32);
    for &i in members {
        let (x, y) = (i % b.bw, i / b.bw);
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
        if mask[i] {
            strong += 1;
            energy += b.mag[i] / (b.count[i].max(1) as f32);
        }
    }
    let (bw, bh) = (x1 + 1 - x0, y1 + 1 - y0);
    // A matrix code is square (rectangular Data Matrix up to about 1:3) and fills most of its
    // box; a text line is long and thin, a paragraph is large and sparse.
    let aspect = bw.max(bh) as f32 / bw.min(bh) as f32;
    if strong < 3 || aspect > 3.0 || (strong as f32) < 0.35 * (bw * bh) as f32 || bw.max(bh) > 40 {
        return None;
    }
    let bs = BLOCK as f32 * scale;
    Some(MatrixCandidate {
        x0: x0 as f32 * bs,
        y0: y0 as f32 * bs,
        x1: (x1 + 1) as f32 * bs,
        y1: (y1 + 1) as f32 * bs,
        score: energy,
    })
}

/// Square windows of one component densely filled with matrix-like blocks, strongest first.
///
/// On a label the code sits next to text and bars, and the component merges them into one
/// sparse blob. The largest dense window around a code covers it; overlapping weaker windows are
/// suppressed.
fn matrix_windows(
    b: &Blocks,
    mask: &[bool],
    members: &[usize],
    scale: f32,
    max: usize,
) -> Vec<MatrixCandidate> {
    let (bw, bh) = (b.bw, b.bh);
    let mut inside = vec![false; mask.len()];
    let (mut mx0, mut my0, mut mx1, mut my1) = (usize::MAX, usize::MAX, 0usize, 0usize);
    for &i in members {
        inside[i] = mask[i];
        let (x, y) = (i % bw, i / bw);
        mx0 = mx0.min(x);
        my0 = my0.min(y);
        mx1 = mx1.max(x);
        my1 = my1.max(y);
    }
    // Summed-area tables of the mask and of block energy.
    let mut count = vec![0u32; (bw + 1) * (bh + 1)];
    let mut energy = vec![0f32; (bw + 1) * (bh + 1)];
    for y in 0..bh {
        for x in 0..bw {
            let i = y * bw + x;
            let (m, e) = if inside[i] {
                (1, b.mag[i] / (b.count[i].max(1) as f32))
            } else {
                (0, 0.0)
            };
            let at = (y + 1) * (bw + 1) + x + 1;
            count[at] = m + count[at - 1] + count[at - bw - 1] - count[at - bw - 2];
            energy[at] = e + energy[at - 1] + energy[at - bw - 1] - energy[at - bw - 2];
        }
    }
    let rect = |t: &[u32], x: usize, y: usize, k: usize| -> u32 {
        let (a, b2) = (y * (bw + 1), (y + k) * (bw + 1));
        t[b2 + x + k] + t[a + x] - t[a + x + k] - t[b2 + x]
    };
    let rect_f = |t: &[f32], x: usize, y: usize, k: usize| -> f32 {
        let (a, b2) = (y * (bw + 1), (y + k) * (bw + 1));
        t[b2 + x + k] + t[a + x] - t[a + x + k] - t[b2 + x]
    };
    // (score, x, y, k) of every dense window.
    let mut windows: Vec<(f32, usize, usize, usize)> = Vec::new();
    for k in [2usize, 3, 4, 5, 6, 8, 10, 12] {
        if k > bw || k > bh {
            break;
        }
        let need = ((k * k) as f32 * 0.7).ceil() as u32;
        for y in my0..=(my1 + 1).saturating_sub(k).min(bh - k) {
            for x in mx0..=(mx1 + 1).saturating_sub(k).min(bw - k) {
                if rect(&count, x, y, k) >= need {
                    windows.push((rect_f(&energy, x, y, k), x, y, k));
                }
            }
        }
    }
    // Bigger windows hold more energy, so the strongest window around a code is its full extent.
    windows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut chosen: Vec<(f32, usize, usize, usize)> = Vec::new();
    for w in windows {
        let overlaps = chosen.iter().any(|c| {
            let ix = (w.1 + w.3).min(c.1 + c.3) as isize - w.1.max(c.1) as isize;
            let iy = (w.2 + w.3).min(c.2 + c.3) as isize - w.2.max(c.2) as isize;
            ix > 0 && iy > 0
        });
        if !overlaps {
            chosen.push(w);
            if chosen.len() >= max {
                break;
            }
        }
    }
    let bs = BLOCK as f32 * scale;
    chosen
        .into_iter()
        .map(|(score, x, y, k)| MatrixCandidate {
            x0: x as f32 * bs,
            y0: y as f32 * bs,
            x1: (x + k) as f32 * bs,
            y1: (y + k) as f32 * bs,
            score,
        })
        .collect()
}

/// Morphological closing with a 3x3 square: joins the blocks of one symbol across gaps such as
/// wide bars or quiet columns inside a block.
fn close(mask: &[bool], bw: usize, bh: usize) -> Vec<bool> {
    let dil = morph(mask, bw, bh, true);
    morph(&dil, bw, bh, false)
}

fn morph(mask: &[bool], bw: usize, bh: usize, dilate: bool) -> Vec<bool> {
    let mut out = vec![false; mask.len()];
    for y in 0..bh {
        for x in 0..bw {
            let mut any = false;
            let mut all = true;
            for dy in -1isize..=1 {
                for dx in -1isize..=1 {
                    let (nx, ny) = (x as isize + dx, y as isize + dy);
                    let v = if nx < 0 || ny < 0 || nx >= bw as isize || ny >= bh as isize {
                        // Outside the frame counts as set for erosion, so a symbol touching the
                        // border is not eaten away.
                        !dilate
                    } else {
                        mask[ny as usize * bw + nx as usize]
                    };
                    any |= v;
                    all &= v;
                }
            }
            out[y * bw + x] = if dilate { any } else { all };
        }
    }
    out
}

/// The oriented rectangle of one component, or `None` when it is too small to be a barcode.
fn component_rect(b: &Blocks, mask: &[bool], members: &[usize], scale: f32) -> Option<Candidate> {
    let (mut sd, mut sxy, mut energy, mut strong) = (0f32, 0f32, 0f32, 0usize);
    for &i in members {
        if !mask[i] {
            continue;
        }
        // Normalising each block's tensor by its trace weights blocks by coherence, not contrast,
        // so one very dark block cannot swing the angle.
        let t = (b.jxx[i] + b.jyy[i]).max(1.0);
        let e = b.mag[i] / (b.count[i].max(1) as f32);
        sd += (b.jxx[i] - b.jyy[i]) / t * e;
        sxy += 2.0 * b.jxy[i] / t * e;
        energy += e;
        strong += 1;
    }
    if strong < 3 {
        return None;
    }
    let angle = 0.5 * sxy.atan2(sd);
    let mut c = extents(members, b.bw, angle, scale);
    c.score = energy;
    // Across the bars a symbol spans at least ~25 frame pixels; anything shorter cannot be read.
    if c.u1 - c.u0 < 24.0 || c.v1 - c.v0 < 6.0 {
        return None;
    }
    Some(c)
}

/// The rectangle around a component's blocks at a given angle, in frame pixels.
fn extents(members: &[usize], bw: usize, angle: f32, scale: f32) -> Candidate {
    let (cos, sin) = (angle.cos(), angle.sin());
    let bs = BLOCK as f32 * scale;
    let (mut sx, mut sy) = (0f32, 0f32);
    for &i in members {
        sx += ((i % bw) as f32 + 0.5) * bs;
        sy += ((i / bw) as f32 + 0.5) * bs;
    }
    let cnt = members.len().max(1) as f32;
    let (cx, cy) = (sx / cnt, sy / cnt);
    let (mut u0, mut u1, mut v0, mut v1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for &i in members {
        let x = ((i % bw) as f32 + 0.5) * bs - cx;
        let y = ((i / bw) as f32 + 0.5) * bs - cy;
        let u = x * cos + y * sin;
        let v = -x * sin + y * cos;
        u0 = u0.min(u);
        u1 = u1.max(u);
        v0 = v0.min(v);
        v1 = v1.max(v);
    }
    // A block centre is half a block inside the block; a rotated block reaches a little further.
    let pad = bs * 0.5 * (cos.abs() + sin.abs());
    Candidate {
        cx,
        cy,
        angle,
        u0: u0 - pad,
        u1: u1 + pad,
        v0: v0 - pad,
        v1: v1 + pad,
        score: 0.0,
    }
}

/// Refines a candidate's angle with a magnitude-weighted histogram of gradient angles at full
/// resolution, which resolves thin bars that the downscale blurred away.
fn refine(frame: &GrayImage, c: &mut Candidate) {
    const BINS: usize = 360;
    let (w, h) = (frame.width() as i64, frame.height() as i64);
    let px = frame.as_raw();
    let (cos, sin) = (c.angle.cos(), c.angle.sin());
    let (du, dv) = (c.u1 - c.u0, c.v1 - c.v0);
    // About 12 000 samples whatever the region's size: enough for a clear peak.
    let step = ((du * dv / 12_000.0).sqrt()).max(1.0);
    let mut hist = [0f32; BINS];
    // (doubled angle, gx^2 - gy^2, 2 gx gy) of every strong sample, for the second pass.
    let mut samples: Vec<(f32, f32, f32)> = Vec::with_capacity(16_384);
    let mut v = c.v0;
    while v < c.v1 {
        let mut u = c.u0;
        while u < c.u1 {
            let x = (c.cx + u * cos - v * sin + 0.5) as i64;
            let y = (c.cy + u * sin + v * cos + 0.5) as i64;
            u += step;
            if x < 1 || y < 1 || x >= w - 1 || y >= h - 1 {
                continue;
            }
            let at = |xx: i64, yy: i64| px[(yy * w + xx) as usize] as f32;
            // Sobel rather than a central difference: on a slightly rotated edge the pixel steps
            // would otherwise pull the angle towards the pixel axes.
            let gx = at(x + 1, y - 1) + 2.0 * at(x + 1, y) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x - 1, y)
                - at(x - 1, y + 1);
            let gy = at(x - 1, y + 1) + 2.0 * at(x, y + 1) + at(x + 1, y + 1)
                - at(x - 1, y - 1)
                - 2.0 * at(x, y - 1)
                - at(x + 1, y - 1);
            let m2 = gx * gx + gy * gy;
            if m2 < 1024.0 {
                continue;
            }
            // The doubled angle folds opposite gradients (both edges of a bar) together.
            let (dx, dy) = (gx * gx - gy * gy, 2.0 * gx * gy);
            let a2 = fast_atan2(dy, dx);
            let bin =
                (((a2 + std::f32::consts::PI) / std::f32::consts::TAU) * BINS as f32) as usize;
            hist[bin.min(BINS - 1)] += m2.sqrt();
            samples.push((a2, dx, dy));
        }
        v += step;
    }
    // Smooth circularly so one noisy bin does not win.
    let mut best = (0usize, 0f32);
    for i in 0..BINS {
        let mut s = 0.0;
        for k in 0..15 {
            s += hist[(i + BINS + k - 7) % BINS];
        }
        if s > best.1 {
            best = (i, s);
        }
    }
    if best.1 <= 0.0 {
        return;
    }
    let peak = (best.0 as f32 + 0.5) / BINS as f32 * std::f32::consts::TAU - std::f32::consts::PI;
    // The peak finds the bars among text and borders; the tensor mean of the samples near it
    // then gives an unbiased angle.
    let (mut sx, mut sy) = (0f32, 0f32);
    for (a2, dx, dy) in &samples {
        let mut d = (a2 - peak).abs();
        if d > std::f32::consts::PI {
            d = std::f32::consts::TAU - d;
        }
        if d < 0.6 {
            sx += dx;
            sy += dy;
        }
    }
    let a2 = if sx == 0.0 && sy == 0.0 {
        peak
    } else {
        sy.atan2(sx)
    };
    let angle = 0.5 * a2;
    // Re-express the rectangle at the refined angle: rotate the four corners into the new frame
    // and take their bounds.
    let (nc, ns) = (angle.cos(), angle.sin());
    let (mut u0, mut u1, mut v0, mut v1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for (u, v) in [(c.u0, c.v0), (c.u1, c.v0), (c.u1, c.v1), (c.u0, c.v1)] {
        let x = u * cos - v * sin;
        let y = u * sin + v * cos;
        let nu = x * nc + y * ns;
        let nv = -x * ns + y * nc;
        u0 = u0.min(nu);
        u1 = u1.max(nu);
        v0 = v0.min(nv);
        v1 = v1.max(nv);
    }
    let diff = ((angle - c.angle).rem_euclid(std::f32::consts::PI))
        .min(std::f32::consts::PI - (angle - c.angle).rem_euclid(std::f32::consts::PI));
    if diff > 0.35 {
        // A large change means the coarse angle was wrong (often by 90 degrees on thin bars); the
        // bounding box of the old rectangle is then the best region we have.
        c.angle = angle;
        c.u0 = u0;
        c.u1 = u1;
        c.v0 = v0;
        c.v1 = v1;
    } else {
        // A small correction keeps the extents: the bounding box would grow with the rotation.
        c.angle = angle;
    }
}

/// atan2 to within about 0.3 degrees, several times faster than libm's; the histogram bins are
/// half a degree of bar angle wide.
fn fast_atan2(y: f32, x: f32) -> f32 {
    use std::f32::consts::{FRAC_PI_2, PI};
    let (ax, ay) = (x.abs(), y.abs());
    if ax == 0.0 && ay == 0.0 {
        return 0.0;
    }
    let (a, swap) = if ay > ax {
        (ax / ay, true)
    } else {
        (ay / ax, false)
    };
    let s = a * a;
    let mut r = ((-0.046_496_475 * s + 0.159_314_22) * s - 0.327_622_76) * s * a + a;
    if swap {
        r = FRAC_PI_2 - r;
    }
    if x < 0.0 {
        r = PI - r;
    }
    if y < 0.0 {
        r = -r;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::{BLOCK, block_stats, half};
    use image::{GrayImage, Luma};

    #[test]
    fn block_sums_are_the_sobel_structure_tensor_pixel_by_pixel() {
        // Frames with a partial last block and one pixel of frame edge in every outer block.
        for (w, h) in [(3usize, 3usize), (8, 8), (17, 9), (40, 31), (65, 18)] {
            let img: Vec<u8> = (0..w * h)
                .map(|i| ((i * 7919 + (i / w) * 104_729) % 251) as u8)
                .collect();
            let b = block_stats(&img, w, h);
            let px = |x: usize, y: usize| f64::from(img[y * w + x]);
            let mut want = vec![[0f64; 7]; b.bw * b.bh];
            for y in 1..h - 1 {
                for x in 1..w - 1 {
                    let gx = (px(x + 1, y - 1) + 2.0 * px(x + 1, y) + px(x + 1, y + 1))
                        - (px(x - 1, y - 1) + 2.0 * px(x - 1, y) + px(x - 1, y + 1));
                    let gy = (px(x - 1, y + 1) + 2.0 * px(x, y + 1) + px(x + 1, y + 1))
                        - (px(x - 1, y - 1) + 2.0 * px(x, y - 1) + px(x + 1, y - 1));
                    let s = &mut want[(y / BLOCK) * b.bw + x / BLOCK];
                    for (k, v) in [
                        gx * gx,
                        gy * gy,
                        gx * gy,
                        (gx * gx + gy * gy).sqrt(),
                        gx,
                        gy,
                        1.0,
                    ]
                    .into_iter()
                    .enumerate()
                    {
                        s[k] += v;
                    }
                }
            }
            for (i, s) in want.iter().enumerate() {
                let got = [
                    b.jxx[i],
                    b.jyy[i],
                    b.jxy[i],
                    b.mag[i],
                    b.sgx[i],
                    b.sgy[i],
                    b.count[i] as f32,
                ];
                for (k, (&g, &e)) in got.iter().zip(s).enumerate() {
                    assert!(
                        (f64::from(g) - e).abs() <= 1e-4 * e.abs().max(1.0),
                        "{w}x{h}, block {i}, sum {k}: {g} against {e}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_downscale_averages_each_2x2_block_and_drops_an_odd_edge() {
        for (w, h) in [(1u32, 1u32), (2, 2), (5, 3), (8, 7), (33, 20)] {
            let frame = GrayImage::from_fn(w, h, |x, y| Luma([((x * 53 + y * 97) % 256) as u8]));
            let (out, hw, hh) = half(&frame);
            assert_eq!((hw, hh), ((w / 2) as usize, (h / 2) as usize));
            assert_eq!(out.len(), hw * hh);
            for y in 0..hh as u32 {
                for x in 0..hw as u32 {
                    let s: u32 = [(0, 0), (1, 0), (0, 1), (1, 1)]
                        .iter()
                        .map(|(dx, dy)| u32::from(frame.get_pixel(2 * x + dx, 2 * y + dy).0[0]))
                        .sum();
                    let got = out[(y * hw as u32 + x) as usize];
                    assert_eq!(u32::from(got), (s + 2) / 4, "({x}, {y}) of {w}x{h}");
                }
            }
        }
    }
}
