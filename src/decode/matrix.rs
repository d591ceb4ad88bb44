//! 2D codes on large frames: decode the regions the locator proposes instead of the whole frame.
//!
//! A whole-frame rxing pass over a 1080p frame costs about 28 ms for Data Matrix, QR and PDF417
//! together (measured on generated label frames), more than the frame budget, and in default
//! mode rxing's Data Matrix detector finds few of the small, rotated codes on labels. A crop is
//! small enough to afford TryHarder for Data Matrix, which brings its recall to zxing-cpp's.

use image::GrayImage;
use image::imageops;
use rxing::common::HybridBinarizer;
use rxing::datamatrix::DataMatrixReader;
use rxing::pdf417::PDF417Reader;
use rxing::{
    BarcodeFormat, BinaryBitmap, DecodeHints, Luma8Source, MultiUseMultiFormatReader, Point,
    RXingResult, Reader,
};

use super::locate::{Candidate, MatrixCandidate};
use super::rx::{guard, hints_for, symbol_from};
use super::{Format, Symbol};

/// Crops smaller than this (in pixels, the longer side) are upscaled 2x before decoding: the
/// detectors need a couple of pixels per module.
const UPSCALE_BELOW: u32 = 120;

/// Shifts and scales result points from crop coordinates back to the frame.
fn to_frame(r: &RXingResult, ox: f32, oy: f32, scale: f32) -> RXingResult {
    let pts: Vec<Point> = r
        .getPoints()
        .iter()
        .map(|p| Point {
            x: ox + p.x / scale,
            y: oy + p.y / scale,
        })
        .collect();
    let mut out = RXingResult::new_complex(
        r.getText(),
        r.getRawBytes().to_vec(),
        r.getNumBits(),
        pts,
        *r.getBarcodeFormat(),
        r.getTimestamp(),
    );
    out.putAllMetadata(r.getRXingResultMetadata().clone());
    out
}

fn decode_image(
    img: &GrayImage,
    formats: &[Format],
    ox: f32,
    oy: f32,
    scale: f32,
    out: &mut Vec<Symbol>,
) {
    let results = guard(|| {
        let mut found = Vec::new();
        let Ok(source) = Luma8Source::new_with_slice(img.as_raw(), img.width(), img.height())
        else {
            return found;
        };
        let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
        if formats.contains(&Format::DataMatrix) {
            let hints = DecodeHints {
                TryHarder: Some(true),
                ..DecodeHints::default()
            };
            if let Ok(r) = DataMatrixReader.decode_with_hints(&mut bitmap, &hints) {
                found.push(r);
                return found;
            }
        }
        let others: std::collections::HashSet<BarcodeFormat> = formats
            .iter()
            .filter(|f| matches!(f, Format::QrCode | Format::Aztec))
            .map(|f| super::rx::to_rxing(*f))
            .collect();
        if !others.is_empty() {
            let mut reader = MultiUseMultiFormatReader::default();
            if let Ok(r) = reader.decode_with_hints(&mut bitmap, &hints_for(&others)) {
                found.push(r);
            }
        }
        found
    })
    .unwrap_or_default();
    for r in results {
        if let Some(s) = symbol_from(&to_frame(&r, ox, oy, scale)) {
            out.push(s);
        }
    }
}

/// The crops tried around a proposed region, in order: (share of the region's longer side,
/// pixels) added on each side.
///
/// The locator's box ends at the last textured block, and on a Data Matrix that is often a
/// block short of the finder's L and the timing edges on every side. On 400 generated label
/// frames (`bench gen-labels --seed 11 --inverted 0.12`) the old single crop (a fifth of the
/// side) read 204 of the 350 proposed codes; a wider crop first reads 249, and the old crop
/// after it 265, since a wide crop sometimes takes in clutter that a tight one leaves out.
/// Failed crops cost the most, so the wider one first is also the faster order.
///
/// The third, widest crop is for a code turned near 45 degrees: the locator's densest square
/// window then lies inside the code, and the code's corners reach past the first crop (gk frame
/// 154: a sharp 93 px code proposed as a 64 px window). It runs only where both crops failed,
/// and only for proposals of [`RETRY_MIN_SIDE`] or more: on the generated label frames it was
/// tried 1,051 times and read 16 codes, but 652 of those tries were on smaller proposals (most
/// of them print texture) and read one code, for a fifth of all matrix decode time.
const CROPS: [(f32, f32); 3] = [(0.35, 16.0), (0.2, 0.0), (0.75, 16.0)];

/// The tight and the widest crop are tried after the first only for proposals at least this
/// long (four of the locator's blocks at 1080p). On the set above, every code the tight crop
/// added came from such a proposal: a small proposal's wide crop takes in little clutter, so
/// the retry only cost time (most failed proposals are small texture that is not a code at
/// all). The widest crop read one code from a smaller proposal (gk frame 392: a 54 px code,
/// blurred, in glare and low contrast, proposed as a 32 px window), for 435 ms of decoding
/// over the 400 frames.
const RETRY_MIN_SIDE: f32 = 64.0;

/// Proposals up to this long (in frame pixels, the longer side) are skipped when their edges
/// run mostly one way (see [`decode_matrix`]). Longer ones are often a code merged with the
/// bars beside it into one blob: on the generated label frames 12 read codes had a coherence
/// over 0.3, all in proposals of 144 px or more.
const COHERENCE_MAX_SIDE: f32 = 64.0;

/// The orientation coherence of the edges inside a proposal: the mean of their doubled-angle
/// unit vectors, weighted by edge strength. Edges in two perpendicular directions (a module
/// grid, at any angle) or in every direction (text) cancel out to about 0; edges that all run
/// one way (bars) add up to 1. The doubled angle takes `-g` as the same direction as `g`, so a
/// bar's two edges count alike.
fn coherence(frame: &GrayImage, c: &MatrixCandidate) -> f32 {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    // Central differences need a pixel on each side.
    let clampx = |v: f32| (v.max(1.0) as usize).min(w - 1);
    let clampy = |v: f32| (v.max(1.0) as usize).min(h - 1);
    let (x0, x1) = (clampx(c.x0), clampx(c.x1));
    let (y0, y1) = (clampy(c.y0), clampy(c.y1));
    let px = frame.as_raw();
    let (mut cos2, mut sin2, mut sum) = (0f32, 0f32, 0f32);
    for y in y0..y1 {
        let (up, row, down) = (&px[(y - 1) * w..], &px[y * w..], &px[(y + 1) * w..]);
        for x in x0..x1 {
            let gx = f32::from(row[x + 1]) - f32::from(row[x - 1]);
            let gy = f32::from(down[x]) - f32::from(up[x]);
            let m = (gx * gx + gy * gy).sqrt();
            if m > 0.0 {
                // |g| (cos 2θ, sin 2θ) without the trigonometry.
                cos2 += (gx * gx - gy * gy) / m;
                sin2 += 2.0 * gx * gy / m;
                sum += m;
            }
        }
    }
    if sum > 0.0 {
        cos2.hypot(sin2) / sum
    } else {
        0.0
    }
}

/// Decodes the matrix code (Data Matrix, QR, Aztec) in one proposed region.
///
/// A small proposal whose edges run mostly one way (`coherence` above `max_coherence`) is the
/// end of a bar code or its digits, not a matrix code, and is skipped: on 400 generated label
/// frames (`bench gen-labels --seed 11 --inverted 0.12`) the 1,729 proposals read 310 codes,
/// the small ones among them at a coherence of 0.27 at most, and 360 of the 1,419 that read
/// nothing were small with a coherence over 0.3. A failed proposal costs about 2 ms, the test
/// 10 µs.
pub(crate) fn decode_matrix(
    frame: &GrayImage,
    c: &MatrixCandidate,
    formats: &[Format],
    crops: usize,
    max_coherence: f32,
    out: &mut Vec<Symbol>,
) {
    let size = (c.x1 - c.x0).max(c.y1 - c.y0);
    if size <= COHERENCE_MAX_SIDE && coherence(frame, c) > max_coherence {
        return;
    }
    let crops = match crops {
        0 => &CROPS[1..2],
        n => &CROPS[..n.min(CROPS.len())],
    };
    // QR and Aztec codes carry finders that the first crop holds whatever its margin; the
    // retry is for Data Matrix, whose L the locator's box can cut off.
    let data_matrix = [Format::DataMatrix];
    for (i, &(share, pixels)) in crops.iter().enumerate() {
        let formats = if i == 0 {
            formats
        } else if !formats.contains(&Format::DataMatrix) {
            break;
        } else if size < RETRY_MIN_SIDE {
            // The tight and the widest crop of a small proposal.
            continue;
        } else {
            &data_matrix[..]
        };
        let margin = (share * size).max(10.0) + pixels;
        if decode_crop(frame, c, margin, formats, out) {
            return;
        }
    }
}

/// Decodes the region grown by `margin` on each side; whether it read a symbol.
fn decode_crop(
    frame: &GrayImage,
    c: &MatrixCandidate,
    margin: f32,
    formats: &[Format],
    out: &mut Vec<Symbol>,
) -> bool {
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    let x0 = (c.x0 - margin).clamp(0.0, w) as u32;
    let y0 = (c.y0 - margin).clamp(0.0, h) as u32;
    let x1 = (c.x1 + margin).clamp(0.0, w) as u32;
    let y1 = (c.y1 + margin).clamp(0.0, h) as u32;
    if x1 <= x0 + 8 || y1 <= y0 + 8 {
        return false;
    }
    let crop = crop_rows(frame, x0, y0, x1 - x0, y1 - y0);
    let (mut image, scale) = if crop.width().max(crop.height()) < UPSCALE_BELOW {
        (upscale2(&crop), 2.0)
    } else {
        (crop, 1.0)
    };
    let before = out.len();
    decode_image(&image, formats, x0 as f32, y0 as f32, scale, out);
    // A light code on a dark label: rxing's matrix readers want dark modules, so a crop whose
    // margin is darker than its middle is tried once more inverted.
    if out.len() == before && border_darker(&image) {
        imageops::invert(&mut image);
        decode_image(&image, formats, x0 as f32, y0 as f32, scale, out);
    }
    out.len() > before
}

/// Catmull-Rom weights (times 128) for the two output pixels of an input pixel `i` when
/// upscaling 2x: the even one samples at `i - 0.25` (from `i - 2` to `i + 1`), the odd one at
/// `i + 0.25` (from `i - 1` to `i + 2`). They sum to 128.
const UP_EVEN: [i32; 4] = [-3, 29, 111, -9];
const UP_ODD: [i32; 4] = [-9, 111, 29, -3];

/// Upscales 2x with the Catmull-Rom kernel and clamped edges, the same pixel centres as
/// `image::imageops::resize` with `FilterType::CatmullRom`. Fixed weights in integers make it
/// several times cheaper than that general resampler, which took 9 % of all decode time on the
/// generated label frames (every small matrix proposal is upscaled).
fn upscale2(img: &GrayImage) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return GrayImage::new(0, 0);
    }
    let px = img.as_raw();
    let clamp = |i: isize, n: usize| i.clamp(0, n as isize - 1) as usize;
    // Horizontal pass, kept at 128x scale.
    let w2 = 2 * w;
    let mut wide = vec![0i32; w2 * h];
    let mut padded = vec![0i32; w + 4];
    for y in 0..h {
        let row = &px[y * w..(y + 1) * w];
        for (k, p) in padded.iter_mut().enumerate() {
            *p = i32::from(row[clamp(k as isize - 2, w)]);
        }
        let out = &mut wide[y * w2..(y + 1) * w2];
        for i in 0..w {
            // padded[i + 2] is row[i].
            let q = &padded[i..i + 5];
            out[2 * i] =
                UP_EVEN[0] * q[0] + UP_EVEN[1] * q[1] + UP_EVEN[2] * q[2] + UP_EVEN[3] * q[3];
            out[2 * i + 1] =
                UP_ODD[0] * q[1] + UP_ODD[1] * q[2] + UP_ODD[2] * q[3] + UP_ODD[3] * q[4];
        }
    }
    // Vertical pass: the same weights down the columns, then back to 0..=255.
    let mut out = GrayImage::new(w2 as u32, 2 * h as u32);
    let dst: &mut [u8] = &mut out;
    for y in 0..h {
        let r = |d: isize| &wide[clamp(y as isize + d, h) * w2..][..w2];
        let (a, b, c, d, e) = (r(-2), r(-1), r(0), r(1), r(2));
        let (even, odd) = dst[2 * y * w2..(2 * y + 2) * w2].split_at_mut(w2);
        for x in 0..w2 {
            let ev = UP_EVEN[0] * a[x] + UP_EVEN[1] * b[x] + UP_EVEN[2] * c[x] + UP_EVEN[3] * d[x];
            let od = UP_ODD[0] * b[x] + UP_ODD[1] * c[x] + UP_ODD[2] * d[x] + UP_ODD[3] * e[x];
            even[x] = ((ev + 8192) >> 14).clamp(0, 255) as u8;
            odd[x] = ((od + 8192) >> 14).clamp(0, 255) as u8;
        }
    }
    out
}

/// A copy of the `cw` x `ch` rectangle at (`x0`, `y0`), row by row. `SubImage::to_image` copies
/// pixel by pixel through the generic view, which took 2.7 % of all decode instructions on the
/// slowest 1080p generated frames (every matrix crop is copied). The rectangle is clipped to
/// the frame.
fn crop_rows(frame: &GrayImage, x0: u32, y0: u32, cw: u32, ch: u32) -> GrayImage {
    let (w, h) = (frame.width(), frame.height());
    let (x0, y0) = (x0.min(w), y0.min(h));
    let (cw, ch) = (cw.min(w - x0) as usize, ch.min(h - y0) as usize);
    let (w, x0, y0) = (w as usize, x0 as usize, y0 as usize);
    let px = frame.as_raw();
    let mut out = Vec::with_capacity(cw * ch);
    for y in y0..y0 + ch {
        out.extend_from_slice(&px[y * w + x0..y * w + x0 + cw]);
    }
    GrayImage::from_raw(cw as u32, ch as u32, out).unwrap_or_default()
}

/// Whether the outer eighth of a crop is clearly darker than its middle half.
fn border_darker(image: &GrayImage) -> bool {
    let (w, h) = (image.width() as usize, image.height() as usize);
    if w < 16 || h < 16 {
        return false;
    }
    let (bw, bh) = ((w / 8).max(2), (h / 8).max(2));
    let sum = |row: &[u8]| row.iter().map(|&v| u64::from(v)).sum::<u64>();
    let (mut border, mut middle) = (0u64, 0u64);
    for (y, row) in image.as_raw().chunks_exact(w).enumerate() {
        if y < bh || y >= h - bh {
            border += sum(row);
        } else {
            border += sum(&row[..bw]) + sum(&row[w - bw..]);
            if y >= h / 4 && y < h - h / 4 {
                middle += sum(&row[w / 4..w - w / 4]);
            }
        }
    }
    let nb = (w * h - (w - 2 * bw) * (h - 2 * bh)) as u64;
    let nm = ((w - w / 4 - w / 4) * (h - h / 4 - h / 4)) as u64;
    nb > 0 && nm > 0 && border * nm + 12 * nb * nm < middle * nb
}

/// How many rows across a bar region are searched for a PDF417 start or stop pattern.
const GUARD_ROWS: usize = 9;

/// How many of the [`GUARD_ROWS`] rows must show a PDF417 start or stop pattern for a bar
/// region to be read as PDF417, and for the last-resort whole-frame pass to try PDF417. A
/// PDF417's guards run down its whole height (nine rows of nine on the corpus symbol a region
/// showed, and in the test below); noise and print texture match them by chance on one or two
/// rows. On the generated label frames, which hold no PDF417, 48 regions showed them on one
/// row and 7 on two: from one row, the region was straightened whole and given to rxing's
/// PDF417 reader 55 times for nothing, 8 % of the decoder's instructions on the 20 slowest
/// 1080p frames; and a noise frame took 86 ms, 45 of them in whole-frame PDF417.
pub(crate) const PDF417_MIN_GUARDS: usize = 3;

/// PDF417's start and stop patterns in modules, bar first, and each read backwards (a symbol
/// upside down).
const PDF417_GUARDS: [&[u32]; 4] = [
    &[8, 1, 1, 1, 1, 1, 1, 3],
    &[3, 1, 1, 1, 1, 1, 1, 8],
    &[7, 1, 1, 3, 1, 1, 1, 2, 1],
    &[1, 2, 1, 1, 1, 3, 1, 1, 7],
];

/// Whether a row of grey levels holds a PDF417 start or stop pattern: its runs, against the
/// midpoint of the row's 5th and 95th percentile levels, match a guard with each run within 0.8
/// of a module and on average within 0.42 (the tolerances of rxing's own guard search).
fn has_pdf417_guard(row: &[u8]) -> bool {
    if row.len() < 17 {
        return false;
    }
    let mut sorted = row.to_vec();
    sorted.sort_unstable();
    let (lo, hi) = (
        sorted[row.len() / 20],
        sorted[row.len() - 1 - row.len() / 20],
    );
    if hi < lo.saturating_add(12) {
        return false;
    }
    let t = (u16::from(lo) + u16::from(hi)) / 2;
    let dark = |p: u8| u16::from(p) < t;
    // Run lengths from the first dark pixel on, so that bars are the even runs.
    let Some(start) = row.iter().position(|&p| dark(p)) else {
        return false;
    };
    let mut runs: Vec<u32> = vec![0];
    let mut in_bar = true;
    for &p in &row[start..] {
        if dark(p) != in_bar {
            in_bar = !in_bar;
            runs.push(0);
        }
        if let Some(run) = runs.last_mut() {
            *run += 1;
        }
    }
    // A run that touches an end of the row may be longer than its pattern says: a symbol
    // without a quiet zone, cut by the frame's edge, whose edge pixels the sampler repeats.
    let open_first = start == 0;
    let last = runs.len() - 1;
    let open_last = in_bar;
    PDF417_GUARDS.iter().any(|guard| {
        // Bars are the even runs, so a guard (bar first) starts at an even index.
        (0..runs.len().saturating_sub(guard.len() - 1))
            .step_by(2)
            .any(|i| {
                let window = &runs[i..i + guard.len()];
                let open =
                    |j: usize| (j == 0 && i == 0 && open_first) || (i + j == last && open_last);
                let (mut total, mut modules) = (0u32, 0u32);
                for (j, (&r, &m)) in window.iter().zip(guard.iter()).enumerate() {
                    if !open(j) {
                        total += r;
                        modules += m;
                    }
                }
                if modules == 0 {
                    return false;
                }
                let module = total as f32 / modules as f32;
                if module < 0.8 {
                    return false;
                }
                let mut sum = 0.0;
                for (j, (&r, &m)) in window.iter().zip(guard.iter()).enumerate() {
                    let want = m as f32 * module;
                    if open(j) {
                        if (r as f32) < want - 0.8 * module {
                            return false;
                        }
                        continue;
                    }
                    let off = (r as f32 - want).abs();
                    if off > 0.8 * module {
                        return false;
                    }
                    sum += off;
                }
                sum <= 0.42 * total as f32
            })
    })
}

/// Tries PDF417 on a straightened bar region: a PDF417 symbol looks like bars to the locator,
/// and upright it is what rxing's PDF417 detector reads best.
///
/// Returns how many of the [`GUARD_ROWS`] rows across the region held a PDF417 start or stop
/// pattern, read or not; the reader runs when [`PDF417_MIN_GUARDS`] did.
pub(crate) fn decode_pdf417(frame: &GrayImage, c: &Candidate, out: &mut Vec<Symbol>) -> usize {
    let (cos, sin) = (c.angle.cos(), c.angle.sin());
    let quiet = (0.1 * (c.u1 - c.u0)).max(12.0);
    let (u0, u1) = (c.u0 - quiet, c.u1 + quiet);
    let (v0, v1) = (c.v0 - quiet, c.v1 + quiet);
    let (sw, sh) = ((u1 - u0).max(1.0) as u32, (v1 - v0).max(1.0) as u32);
    if sw < 40 || sh < 20 || u64::from(sw) * u64::from(sh) > 4_000_000 {
        return 0;
    }
    // Straightening and detecting cost 9 % of all decode time on label frames, where every
    // bar region the 1D readers failed came here; a few rows without a start or stop pattern
    // say it is no PDF417 for the price of those rows.
    let guard_row = |k: usize| {
        let v = c.v0 + (c.v1 - c.v0) * (k as f32 + 0.5) / GUARD_ROWS as f32;
        has_pdf417_guard(super::strip::warp(frame, c.cx, c.cy, cos, sin, u0, v, sw, 1).as_raw())
    };
    let guards = (0..GUARD_ROWS).filter(|&k| guard_row(k)).count();
    if guards < PDF417_MIN_GUARDS {
        return guards;
    }
    let upright = super::strip::warp(frame, c.cx, c.cy, cos, sin, u0, v0, sw, sh);
    let results = guard(|| {
        let Ok(source) = Luma8Source::new_with_slice(upright.as_raw(), sw, sh) else {
            return Vec::new();
        };
        let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
        PDF417Reader
            .decode_with_hints(&mut bitmap, &DecodeHints::default())
            .map(|r| vec![r])
            .unwrap_or_default()
    })
    .unwrap_or_default();
    for r in results {
        // Map strip coordinates (x along u, y along v) back into the frame.
        let pts: Vec<Point> = r
            .getPoints()
            .iter()
            .map(|p| {
                let (u, v) = (u0 + p.x, v0 + p.y);
                Point {
                    x: c.cx + u * cos - v * sin,
                    y: c.cy + u * sin + v * cos,
                }
            })
            .collect();
        let mut mapped = RXingResult::new_complex(
            r.getText(),
            r.getRawBytes().to_vec(),
            r.getNumBits(),
            pts,
            *r.getBarcodeFormat(),
            r.getTimestamp(),
        );
        mapped.putAllMetadata(r.getRXingResultMetadata().clone());
        if let Some(s) = symbol_from(&mapped) {
            out.push(s);
        }
    }
    guards
}

#[cfg(test)]
mod tests {
    use super::{
        GUARD_ROWS, border_darker, coherence, crop_rows, decode_matrix, decode_pdf417,
        has_pdf417_guard, upscale2,
    };
    use crate::decode::Format;
    use crate::decode::locate::{Candidate, MatrixCandidate};
    use image::{GrayImage, Luma, imageops};
    use rxing::{BarcodeFormat, MultiFormatWriter, Writer};

    #[test]
    fn the_fixed_weight_upscale_matches_the_general_resampler() {
        // Texture with hard edges, odd sizes included, kept to mid greys because the general
        // resampler clamps its intermediate rows to 0..=255 (this one keeps the overshoot until
        // the end) and rounds between its passes. It also drops the samples past an edge and
        // renormalises where this one repeats the edge pixel, so the two output pixels next to
        // each edge compare loosely.
        for (w, h) in [(1u32, 1u32), (2, 3), (17, 9), (40, 33)] {
            let img = GrayImage::from_fn(w, h, |x, y| {
                Luma([(64 + (x * 37 + y * 91 + (x * y) % 7 * 29) % 128) as u8])
            });
            let ours = upscale2(&img);
            let theirs = imageops::resize(&img, 2 * w, 2 * h, imageops::FilterType::CatmullRom);
            assert_eq!(ours.dimensions(), theirs.dimensions());
            let (mut inner, mut edge) = (0, 0);
            for (x, y, p) in ours.enumerate_pixels() {
                let d = (i32::from(p.0[0]) - i32::from(theirs.get_pixel(x, y).0[0])).abs();
                if x >= 2 && y >= 2 && x + 2 < 2 * w && y + 2 < 2 * h {
                    inner = inner.max(d);
                } else {
                    edge = edge.max(d);
                }
            }
            assert!(inner <= 2, "{w}x{h}: differs by {inner} grey levels inside");
            assert!(
                edge <= 24,
                "{w}x{h}: differs by {edge} grey levels at the edge"
            );
        }
        assert_eq!(upscale2(&GrayImage::new(0, 5)).dimensions(), (0, 0));
    }

    /// A row of grey levels from module widths (bar first), `px` pixels a module, between
    /// quiet zones of ten modules.
    fn row_of(modules: &[u32], px: u32) -> Vec<u8> {
        let mut row = vec![230u8; (10 * px) as usize];
        for (i, &m) in modules.iter().enumerate() {
            let level = if i % 2 == 0 { 20 } else { 230 };
            row.extend(std::iter::repeat_n(level, (m * px) as usize));
        }
        row.extend(std::iter::repeat_n(230u8, (10 * px) as usize));
        row
    }

    #[test]
    fn a_pdf417_region_shows_its_guards_on_every_row_and_two_rows_are_too_few_and_a_code128_none() {
        // Upright symbols at 3 px a module, scaled from rxing's own writer, on a light frame;
        // the region is where the locator would put it (across the bars is x).
        let frame_of = |format: BarcodeFormat, text: &str| {
            let m = MultiFormatWriter
                .encode(text, &format, 0, 0)
                .expect("rxing writes the code");
            let (w, h) = (m.width(), m.height().max(1));
            let (sx, sy) = (3u32, if h < 10 { 60 / h } else { 3 });
            let frame = GrayImage::from_fn(w * sx + 80, h * sy + 80, |x, y| {
                let (mx, my) = (x.wrapping_sub(40) / sx, y.wrapping_sub(40) / sy);
                let dark = x >= 40 && y >= 40 && mx < w && my < h && m.get(mx, my);
                Luma([if dark { 25 } else { 225 }])
            });
            // The writer leaves a margin around the symbol; the region is the dark part.
            let dark: Vec<(u32, u32)> = (0..h)
                .flat_map(|y| (0..w).map(move |x| (x, y)))
                .filter(|&(x, y)| m.get(x, y))
                .collect();
            let x0 = dark.iter().map(|p| p.0).min().unwrap_or(0) * sx + 40;
            let x1 = (dark.iter().map(|p| p.0).max().unwrap_or(0) + 1) * sx + 40;
            let y0 = dark.iter().map(|p| p.1).min().unwrap_or(0) * sy + 40;
            let y1 = (dark.iter().map(|p| p.1).max().unwrap_or(0) + 1) * sy + 40;
            let (cx, cy) = ((x0 + x1) as f32 / 2.0, (y0 + y1) as f32 / 2.0);
            let c = Candidate {
                cx,
                cy,
                angle: 0.0,
                u0: x0 as f32 - cx,
                u1: x1 as f32 - cx,
                v0: y0 as f32 - cy,
                v1: y1 as f32 - cy,
                score: 1.0,
            };
            (frame, c)
        };
        let (frame, c) = frame_of(
            BarcodeFormat::PDF_417,
            "SN R52T3W8WHA1 IMEI 359107882395528",
        );
        let mut out = Vec::new();
        assert_eq!(decode_pdf417(&frame, &c, &mut out), GUARD_ROWS);
        assert_eq!(out.len(), 1, "the PDF417 reads");
        assert_eq!(out[0].text, "SN R52T3W8WHA1 IMEI 359107882395528");
        // The same symbol at the top of a region four and a half times its height, on a frame
        // with light ground below it: two guard rows of nine cross it, too few to try it.
        let height = c.v1 - c.v0;
        let mut tall = GrayImage::from_pixel(
            frame.width(),
            frame.height() + 4 * height as u32,
            Luma([225]),
        );
        imageops::replace(&mut tall, &frame, 0, 0);
        let stretched = Candidate {
            cy: c.cy + 1.75 * height,
            v0: c.v0 - 1.75 * height,
            v1: c.v1 + 1.75 * height,
            ..c
        };
        let mut out = Vec::new();
        assert_eq!(decode_pdf417(&tall, &stretched, &mut out), 2);
        assert!(
            out.is_empty(),
            "a region with guards on two rows is not read"
        );
        let (frame, c) = frame_of(BarcodeFormat::CODE_128, "359107882395528");
        let mut out = Vec::new();
        assert_eq!(decode_pdf417(&frame, &c, &mut out), 0);
        assert!(out.is_empty());
    }

    #[test]
    fn only_rows_with_a_pdf417_start_or_stop_pattern_count() {
        // PDF417's start pattern, then a codeword (17 modules), then its stop pattern.
        let pdf = [
            8, 1, 1, 1, 1, 1, 1, 3, 3, 1, 1, 1, 4, 1, 1, 1, 1, 1, 1, 3, 7, 1, 1, 3, 1, 1, 1, 2, 1,
        ];
        for px in [1, 2, 3] {
            assert!(has_pdf417_guard(&row_of(&pdf, px)), "{px} px a module");
            let mut back = pdf;
            back.reverse();
            assert!(
                has_pdf417_guard(&row_of(&back, px)),
                "backwards, {px} px a module"
            );
            // The start pattern and the next codeword's first bars, and the stop pattern alone
            // (the start pattern ends in a space, which a quiet zone after it would lengthen).
            assert!(has_pdf417_guard(&row_of(&pdf[..13], px)));
            assert!(has_pdf417_guard(&row_of(&pdf[20..], px)));
        }
        // Code 128: start B, a character and the stop pattern; no bar is wider than 4 modules.
        let code128 = [2, 1, 1, 2, 1, 4, 1, 1, 3, 1, 2, 3, 2, 3, 3, 1, 1, 1, 2];
        assert!(!has_pdf417_guard(&row_of(&code128, 3)));
        // A symbol cut by the row's ends, with no quiet zone: the edge pixels repeat, so the
        // runs touching the ends are longer than the pattern says.
        let mut cut = row_of(&pdf, 2);
        cut.drain(..20);
        cut.truncate(cut.len() - 20);
        let mut cut = [vec![20u8; 30], cut, vec![20u8; 30]].concat();
        assert!(has_pdf417_guard(&cut));
        cut.reverse();
        assert!(has_pdf417_guard(&cut));
        // Blank, flat, tiny and noise-free stripes of one width.
        assert!(!has_pdf417_guard(&[]));
        assert!(!has_pdf417_guard(&[128; 300]));
        assert!(!has_pdf417_guard(&row_of(&[1; 40], 2)));
        assert!(!has_pdf417_guard(&row_of(&pdf, 3)[..16]));
    }

    #[test]
    fn only_a_crop_with_a_dark_margin_counts_as_inverted() {
        // A checkerboard code in the middle, on white or on black.
        let code = |ground: u8, ink: u8| {
            GrayImage::from_fn(64, 64, |x, y| {
                let inside = (16..48).contains(&x) && (16..48).contains(&y);
                let module = ((x / 4) + (y / 4)) % 2 == 0;
                Luma([if inside && module { ink } else { ground }])
            })
        };
        assert!(!border_darker(&code(240, 10)));
        assert!(border_darker(&code(15, 235)));
        assert!(!border_darker(&GrayImage::new(8, 8)));
        assert!(!border_darker(&GrayImage::from_pixel(64, 64, Luma([128]))));
    }

    #[test]
    fn the_row_copies_give_the_same_crops_and_margins_as_the_pixel_by_pixel_forms() {
        let frame = GrayImage::from_fn(61, 47, |x, y| {
            Luma([((x * 37 + y * 91 + (x * y) % 11 * 23) % 256) as u8])
        });
        for (x0, y0, w, h) in [
            (0, 0, 61, 47),
            (3, 5, 20, 17),
            (40, 30, 21, 17),
            (60, 46, 1, 1),
        ] {
            let ours = crop_rows(&frame, x0, y0, w, h);
            let theirs = imageops::crop_imm(&frame, x0, y0, w, h).to_image();
            assert_eq!(ours, theirs, "crop at ({x0}, {y0}) {w}x{h}");
        }
        // Past the frame's edge the crop is clipped, as `crop_imm` clips it.
        let ours = crop_rows(&frame, 50, 40, 30, 30);
        let theirs = imageops::crop_imm(&frame, 50, 40, 30, 30).to_image();
        assert_eq!(ours, theirs);
        // The margin test by rows against the same sums taken pixel by pixel, on crops whose
        // sides are and are not multiples of 8 and 4, with margins just either side of the rule.
        let naive = |image: &GrayImage| {
            let (w, h) = (image.width(), image.height());
            let (bw, bh) = ((w / 8).max(2), (h / 8).max(2));
            let (mut border, mut nb, mut middle, mut nm) = (0u64, 0u64, 0u64, 0u64);
            for (x, y, p) in image.enumerate_pixels() {
                let v = u64::from(p.0[0]);
                if x < bw || y < bh || x >= w - bw || y >= h - bh {
                    border += v;
                    nb += 1;
                } else if x >= w / 4 && x < w - w / 4 && y >= h / 4 && y < h - h / 4 {
                    middle += v;
                    nm += 1;
                }
            }
            border * nm + 12 * nb * nm < middle * nb
        };
        for (w, h) in [(16u32, 16u32), (17, 23), (40, 33), (64, 64)] {
            for (edge, inside) in [(100u8, 112u8), (100, 113), (100, 120), (30, 30), (200, 20)] {
                let image = GrayImage::from_fn(w, h, |x, y| {
                    let margin = x < w / 8 || y < h / 8 || x >= w - w / 8 || y >= h - h / 8;
                    Luma([if margin { edge } else { inside } + ((x + y) % 3) as u8])
                });
                assert_eq!(
                    border_darker(&image),
                    naive(&image),
                    "{w}x{h} {edge}/{inside}"
                );
            }
        }
    }

    /// A 160 px frame holding `dark(u, v)` (in modules from the centre) turned by `degrees`,
    /// `px` pixels a module, blurred (σ 1 px) and with noise (±12 grey levels).
    fn turned(degrees: f32, px: f32, dark: impl Fn(f32, f32) -> bool) -> GrayImage {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let mut seed = 0x9e37_79b9_u32;
        let sharp = GrayImage::from_fn(160, 160, |x, y| {
            let (dx, dy) = (x as f32 - 80.0, y as f32 - 80.0);
            let (u, v) = ((dx * cos + dy * sin) / px, (-dx * sin + dy * cos) / px);
            Luma([if dark(u, v) { 30 } else { 220 }])
        });
        let mut frame = imageops::blur(&sharp, 1.0);
        for p in frame.pixels_mut() {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 24) as i32 % 25 - 12;
            p.0[0] = (i32::from(p.0[0]) + noise).clamp(0, 255) as u8;
        }
        frame
    }

    /// A matrix code from rxing's writer, as a test of whether module (u, v) from its centre is
    /// dark (light outside the code).
    fn matrix_code(format: BarcodeFormat, text: &str) -> impl Fn(f32, f32) -> bool {
        let m = MultiFormatWriter
            .encode(text, &format, 0, 0)
            .expect("rxing writes the code");
        let (w, h) = (m.width() as f32, m.height() as f32);
        move |u, v| {
            let (x, y) = ((u + w / 2.0).floor(), (v + h / 2.0).floor());
            x >= 0.0 && y >= 0.0 && x < w && y < h && m.get(x as u32, y as u32)
        }
    }

    /// The 48 px proposal in the middle of a `turned` frame.
    const MIDDLE: MatrixCandidate = MatrixCandidate {
        x0: 56.0,
        y0: 56.0,
        x1: 104.0,
        y1: 104.0,
        score: 1.0,
    };

    #[test]
    fn small_proposals_whose_edges_run_one_way_are_bars_not_matrix_codes() {
        let data_matrix = matrix_code(BarcodeFormat::DATA_MATRIX, "0104912345678904215K8J2Q");
        let qr = matrix_code(
            BarcodeFormat::QR_CODE,
            "SN R58M12ABCDE IMEI 356938035643809",
        );
        // Bars and spaces of one to four modules, from a fixed pseudo-random sequence.
        let widths: Vec<u32> = (0..40u32).map(|i| 1 + (i * 7 + i * i) % 4).collect();
        let bars = move |u: f32, _v: f32| {
            let mut at = -60.0;
            for (i, &w) in widths.iter().enumerate() {
                at += w as f32;
                if u < at {
                    return i % 2 == 0;
                }
            }
            false
        };
        for degrees in [0.0, 15.0, 30.0, 45.0, 60.0, 80.0, 135.0] {
            let dm = coherence(&turned(degrees, 3.0, &data_matrix), &MIDDLE);
            let q = coherence(&turned(degrees, 2.5, &qr), &MIDDLE);
            let b = coherence(&turned(degrees, 2.0, &bars), &MIDDLE);
            // The threshold is 0.3 (`Tuning::matrix_max_coherence`).
            assert!(dm < 0.25, "Data Matrix at {degrees} degrees: {dm}");
            assert!(q < 0.25, "QR code at {degrees} degrees: {q}");
            assert!(b > 0.6, "bars at {degrees} degrees: {b}");
        }
        // A blank proposal and one past the frame's edge measure nothing, without a panic.
        let blank = GrayImage::from_pixel(160, 160, Luma([200]));
        assert_eq!(coherence(&blank, &MIDDLE), 0.0);
        let outside = MatrixCandidate {
            x0: 150.0,
            y0: -20.0,
            x1: 400.0,
            y1: 9.0,
            score: 1.0,
        };
        let _ = coherence(&turned(10.0, 2.0, &bars), &outside);
        assert_eq!(coherence(&GrayImage::new(2, 2), &MIDDLE), 0.0);

        // The code itself still reads through `decode_matrix` at the default threshold, and the
        // bars are skipped (with the test off, rxing is asked and finds nothing either).
        let formats = [Format::DataMatrix, Format::QrCode];
        for degrees in [0.0, 30.0, 45.0] {
            let mut out = Vec::new();
            let frame = turned(degrees, 4.0, &data_matrix);
            decode_matrix(&frame, &MIDDLE, &formats, 3, 0.3, &mut out);
            assert_eq!(out.len(), 1, "Data Matrix at {degrees} degrees");
            assert_eq!(out[0].format, Format::DataMatrix);
            out.clear();
            decode_matrix(
                &turned(degrees, 2.0, &bars),
                &MIDDLE,
                &formats,
                3,
                0.3,
                &mut out,
            );
            assert!(out.is_empty());
        }
    }
}
