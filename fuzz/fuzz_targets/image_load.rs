//! Image loading as `scanstation decode`, the images source and the replay source do it
//! (`decode::load_luma`, through the same `decode::decode_luma` with its size and memory limits).
//!
//! The first byte plays the part of the file name's extension, which `load_luma` falls back on
//! when the content names no format. Properties: no panic, an accepted image is neither empty nor
//! over the size limit, and loading is deterministic.
#![no_main]

use std::io::Cursor;

use image::{ImageFormat, ImageReader};
use libfuzzer_sys::fuzz_target;
use scanstation::decode::{MAX_DIMENSION, decode_luma};

/// The formats the station builds `image` with, as a file extension would name them.
const FORMATS: [ImageFormat; 7] = [
    ImageFormat::Png,
    ImageFormat::Jpeg,
    ImageFormat::WebP,
    ImageFormat::Bmp,
    ImageFormat::Gif,
    ImageFormat::Tiff,
    ImageFormat::Pnm,
];

fn load(hint: Option<ImageFormat>, bytes: &[u8]) -> Result<image::GrayImage, String> {
    let mut reader = ImageReader::new(Cursor::new(bytes));
    if let Some(format) = hint {
        reader.set_format(format);
    }
    decode_luma(reader).map_err(|e| e.to_string())
}

fuzz_target!(|data: &[u8]| {
    let Some((&hint, bytes)) = data.split_first() else {
        return;
    };
    let hint = FORMATS.get(usize::from(hint)).copied();
    let first = load(hint, bytes);
    if let Ok(img) = &first {
        assert!(img.width() > 0 && img.height() > 0);
        assert!(img.width() <= MAX_DIMENSION && img.height() <= MAX_DIMENSION);
        assert_eq!(
            img.as_raw().len() as u64,
            u64::from(img.width()) * u64::from(img.height())
        );
        assert_eq!(
            load(hint, bytes).as_ref().ok(),
            Some(img),
            "not deterministic"
        );
    }
});
