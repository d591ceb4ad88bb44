//! `evidence`: the picture behind a camera record, a JPEG crop of the label from its best frame.
//!
//! The tracker (`pair::label`) says which frame is a label's best (most of its symbols read,
//! then the sharpest); the daemon crops that frame here at once, keeps the crop in memory and
//! encodes it only when the record is written, so a label held in view costs one crop per
//! better frame and one JPEG encode per write.
//!
//! **Invariant:** pure: an image and an outline in, pixels or bytes out; a crop or an encode
//! that fails is an error for the caller to log and count, never a reason to hold a record.

use image::GrayImage;

use crate::pair::label::Quad;

/// Why no picture could be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EvidenceError {
    #[error("the label outline lies outside the {width}x{height} frame")]
    Outside { width: u32, height: u32 },
    #[error("cannot encode the label picture as JPEG")]
    Encode(#[from] image::ImageError),
}

/// How pictures are cut and encoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct EvidenceConfig {
    /// Keep a picture for each camera unit.
    pub enabled: bool,
    /// JPEG quality, 1-100.
    pub quality: u8,
    /// Margin around the label outline, as a fraction of its longer side.
    pub margin: f32,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        // Quality 85 keeps 2-px modules readable in the crop (a test decodes the stored picture),
        // and a label crop stays at tens of kilobytes.
        EvidenceConfig {
            enabled: true,
            quality: 85,
            margin: 0.08,
        }
    }
}

/// Cuts the region around `outline` (plus the margin) out of `frame`.
pub(crate) fn crop(
    frame: &GrayImage,
    outline: &Quad,
    margin: f32,
) -> Result<GrayImage, EvidenceError> {
    let (width, height) = frame.dimensions();
    let outside = EvidenceError::Outside { width, height };
    let finite: Vec<(f32, f32)> = outline
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if finite.is_empty() {
        return Err(outside);
    }
    let x0 = finite.iter().map(|p| p.0).fold(f32::INFINITY, f32::min);
    let y0 = finite.iter().map(|p| p.1).fold(f32::INFINITY, f32::min);
    let x1 = finite.iter().map(|p| p.0).fold(f32::NEG_INFINITY, f32::max);
    let y1 = finite.iter().map(|p| p.1).fold(f32::NEG_INFINITY, f32::max);
    let pad = margin.clamp(0.0, 1.0) * (x1 - x0).max(y1 - y0) + 8.0;
    // Clamped into the frame before converting, so no float reaches `as u32` out of range.
    let clamp_x = |v: f32| v.clamp(0.0, width as f32) as u32;
    let clamp_y = |v: f32| v.clamp(0.0, height as f32) as u32;
    let (left, top) = (clamp_x((x0 - pad).floor()), clamp_y((y0 - pad).floor()));
    let (right, bottom) = (clamp_x((x1 + pad).ceil()), clamp_y((y1 + pad).ceil()));
    if right <= left || bottom <= top {
        return Err(outside);
    }
    Ok(image::imageops::crop_imm(frame, left, top, right - left, bottom - top).to_image())
}

/// Encodes a grey picture as JPEG at `quality`.
pub(crate) fn encode_jpeg(picture: &GrayImage, quality: u8) -> Result<Vec<u8>, EvidenceError> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode_image(picture)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crops_around_the_outline_within_the_frame() {
        let frame = GrayImage::from_fn(640, 480, |x, y| image::Luma([((x + y) % 256) as u8]));
        let outline = [
            (100.0, 100.0),
            (300.0, 110.0),
            (290.0, 200.0),
            (95.0, 190.0),
        ];
        let picture = crop(&frame, &outline, 0.1).expect("crop");
        // The outline's box (95..300 x 100..200) plus 0.1 x 205 + 8 px on every side.
        assert_eq!(picture.dimensions(), (263, 158));
        // A label at the frame edge is cut at the edge.
        let edge = [
            (600.0, 400.0),
            (700.0, 400.0),
            (700.0, 500.0),
            (600.0, 500.0),
        ];
        let picture = crop(&frame, &edge, 0.1).expect("crop");
        assert_eq!(picture.dimensions(), (58, 98));
        let jpeg = encode_jpeg(&picture, 85).expect("encode");
        assert_eq!(
            image::load_from_memory(&jpeg)
                .expect("decode")
                .to_luma8()
                .dimensions(),
            (58, 98)
        );
    }

    #[test]
    fn outlines_outside_or_broken_are_errors_not_panics() {
        let frame = GrayImage::new(64, 48);
        for outline in [
            [
                (500.0, 500.0),
                (600.0, 500.0),
                (600.0, 600.0),
                (500.0, 600.0),
            ],
            [(f32::NAN, 0.0); 4],
            [(f32::INFINITY, f32::NEG_INFINITY); 4],
            [(-1e30, -1e30); 4],
        ] {
            assert!(
                matches!(
                    crop(&frame, &outline, 0.1),
                    Err(EvidenceError::Outside { .. })
                ),
                "{outline:?}"
            );
        }
        assert!(crop(&GrayImage::new(0, 0), &[(0.0, 0.0); 4], 0.1).is_err());
    }
}
