//! 2D codes on large frames: decode the regions the locator proposes instead of the whole frame.
//!
//! A whole-frame rxing pass over a 1080p frame costs about 28 ms for Data Matrix, QR and PDF417
//! together (measured on generated label frames), more than the frame budget, and in default
//! mode rxing's Data Matrix detector finds few of the small, rotated codes on labels. A crop is
//! small enough to afford TryHarder for Data Matrix, which brings its recall to zxing-cpp's.

use image::GrayImage;
use image::imageops::{self, FilterType};
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
const CROPS: [(f32, f32); 2] = [(0.35, 16.0), (0.2, 0.0)];

/// The tight crop is tried again only for proposals at least this long (four of the locator's
/// blocks at 1080p). On the set above, every code the tight crop added came from such a
/// proposal: a small proposal's wide crop takes in little clutter, so the retry only cost time
/// (most failed proposals are small texture that is not a code at all).
const RETRY_MIN_SIDE: f32 = 64.0;

/// Decodes the matrix code (Data Matrix, QR, Aztec) in one proposed region.
pub(crate) fn decode_matrix(
    frame: &GrayImage,
    c: &MatrixCandidate,
    formats: &[Format],
    crops: usize,
    out: &mut Vec<Symbol>,
) {
    let size = (c.x1 - c.x0).max(c.y1 - c.y0);
    let crops = match crops {
        0 => &CROPS[1..],
        n => &CROPS[..n.min(CROPS.len())],
    };
    // QR and Aztec codes carry finders that the first crop holds whatever its margin; the
    // retry is for Data Matrix, whose L the locator's box can cut off.
    let data_matrix = [Format::DataMatrix];
    for (i, &(share, pixels)) in crops.iter().enumerate() {
        let formats = if i == 0 {
            formats
        } else if size >= RETRY_MIN_SIDE && formats.contains(&Format::DataMatrix) {
            &data_matrix[..]
        } else {
            break;
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
    let crop = imageops::crop_imm(frame, x0, y0, x1 - x0, y1 - y0).to_image();
    let (mut image, scale) = if crop.width().max(crop.height()) < UPSCALE_BELOW {
        let up = imageops::resize(
            &crop,
            crop.width() * 2,
            crop.height() * 2,
            FilterType::CatmullRom,
        );
        (up, 2.0)
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

/// Whether the outer eighth of a crop is clearly darker than its middle half.
fn border_darker(image: &GrayImage) -> bool {
    let (w, h) = (image.width(), image.height());
    if w < 16 || h < 16 {
        return false;
    }
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
    nb > 0 && nm > 0 && border * nm + 12 * nb * nm < middle * nb
}

/// Tries PDF417 on a straightened bar region: a PDF417 symbol looks like bars to the locator,
/// and upright it is what rxing's PDF417 detector reads best.
pub(crate) fn decode_pdf417(frame: &GrayImage, c: &Candidate, out: &mut Vec<Symbol>) {
    let (cos, sin) = (c.angle.cos(), c.angle.sin());
    let quiet = (0.1 * (c.u1 - c.u0)).max(12.0);
    let (u0, u1) = (c.u0 - quiet, c.u1 + quiet);
    let (v0, v1) = (c.v0 - quiet, c.v1 + quiet);
    let (sw, sh) = ((u1 - u0).max(1.0) as u32, (v1 - v0).max(1.0) as u32);
    if sw < 40 || sh < 20 || u64::from(sw) * u64::from(sh) > 4_000_000 {
        return;
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
}

#[cfg(test)]
mod tests {
    use super::border_darker;
    use image::{GrayImage, Luma};

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
}
