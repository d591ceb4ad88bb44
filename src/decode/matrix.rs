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

/// Decodes the matrix code (Data Matrix, QR, Aztec) in one proposed region.
pub(crate) fn decode_matrix(
    frame: &GrayImage,
    c: &MatrixCandidate,
    formats: &[Format],
    out: &mut Vec<Symbol>,
) {
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    // The locator's box ends at the last textured block; the finder pattern and quiet zone can
    // lie just beyond it.
    let margin = (0.2 * (c.x1 - c.x0).max(c.y1 - c.y0)).max(10.0);
    let x0 = (c.x0 - margin).clamp(0.0, w) as u32;
    let y0 = (c.y0 - margin).clamp(0.0, h) as u32;
    let x1 = (c.x1 + margin).clamp(0.0, w) as u32;
    let y1 = (c.y1 + margin).clamp(0.0, h) as u32;
    if x1 <= x0 + 8 || y1 <= y0 + 8 {
        return;
    }
    let crop = imageops::crop_imm(frame, x0, y0, x1 - x0, y1 - y0).to_image();
    if crop.width().max(crop.height()) < UPSCALE_BELOW {
        let up = imageops::resize(
            &crop,
            crop.width() * 2,
            crop.height() * 2,
            FilterType::CatmullRom,
        );
        decode_image(&up, formats, x0 as f32, y0 as f32, 2.0, out);
    } else {
        decode_image(&crop, formats, x0 as f32, y0 as f32, 1.0, out);
    }
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
