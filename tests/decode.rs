//! The camera-frame decoder on rendered symbols: every label symbology, rotations at any angle,
//! several symbols in one frame, the time box, and image loading that fails cleanly.

use std::sync::Arc;

use image::{GrayImage, Luma};
use rxing::{BarcodeFormat, EncodeHintValue, EncodeHints, MultiFormatWriter, Writer};
use scanstation::decode::{
    DecodeConfig, DecodeError, DecodeWorker, Decoder, Format, Symbol, load_luma,
};

/// Renders a symbol with rxing's writer at `module` pixels per module, with a white quiet zone of
/// ten modules; 1D symbols get bars `bar_height` modules tall.
fn render(format: BarcodeFormat, contents: &str, hints: &EncodeHints, module: u32) -> GrayImage {
    let matrix = MultiFormatWriter
        .encode_with_hints(contents, &format, 0, 0, hints)
        .unwrap_or_else(|e| panic!("cannot encode {contents:?} as {format:?}: {e:?}"));
    let (mw, mh) = (matrix.getWidth(), matrix.getHeight());
    let linear = mh <= 1;
    let rows = if linear { 30 } else { mh };
    let quiet = 10;
    let w = (mw + 2 * quiet) * module;
    let h = (rows + 2 * quiet) * module;
    GrayImage::from_fn(w, h, |x, y| {
        let (mx, my) = (x / module, y / module);
        if mx < quiet || my < quiet || mx >= quiet + mw || my >= quiet + rows {
            return Luma([255]);
        }
        let (bx, by) = (mx - quiet, if linear { 0 } else { my - quiet });
        if matrix.get(bx, by) {
            Luma([0])
        } else {
            Luma([255])
        }
    })
}

fn no_hints() -> EncodeHints {
    EncodeHints::default()
}

/// Rotates `img` by `degrees` (counter-clockwise on screen) about its centre onto a white canvas
/// large enough to hold it, with bilinear interpolation.
fn rotate(img: &GrayImage, degrees: f32) -> GrayImage {
    let a = degrees.to_radians();
    let (c, s) = (a.cos(), a.sin());
    let (w, h) = (img.width() as f32, img.height() as f32);
    let nw = (w * c.abs() + h * s.abs()).ceil() as u32 + 8;
    let nh = (w * s.abs() + h * c.abs()).ceil() as u32 + 8;
    let (ncx, ncy) = (nw as f32 / 2.0, nh as f32 / 2.0);
    let (cx, cy) = (w / 2.0, h / 2.0);
    GrayImage::from_fn(nw, nh, |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - ncx, y as f32 + 0.5 - ncy);
        // Inverse rotation maps the output pixel back into the source.
        let sx = c * dx - s * dy + cx - 0.5;
        let sy = s * dx + c * dy + cy - 0.5;
        if sx < 0.0 || sy < 0.0 || sx > w - 1.0 || sy > h - 1.0 {
            return Luma([255]);
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = (
            (x0 + 1).min(img.width() - 1),
            (y0 + 1).min(img.height() - 1),
        );
        let (tx, ty) = (sx - x0 as f32, sy - y0 as f32);
        let p = |x: u32, y: u32| img.get_pixel(x, y)[0] as f32;
        let top = p(x0, y0) * (1.0 - tx) + p(x1, y0) * tx;
        let bottom = p(x0, y1) * (1.0 - tx) + p(x1, y1) * tx;
        Luma([(top * (1.0 - ty) + bottom * ty).round() as u8])
    })
}

/// Pastes `img` into a white frame of the given size at (x, y).
fn place(frame: &mut GrayImage, img: &GrayImage, x: u32, y: u32) {
    for (ix, iy, p) in img.enumerate_pixels() {
        if x + ix < frame.width() && y + iy < frame.height() {
            frame.put_pixel(x + ix, y + iy, *p);
        }
    }
}

fn white(w: u32, h: u32) -> GrayImage {
    GrayImage::from_pixel(w, h, Luma([255]))
}

fn decode(img: &GrayImage) -> Vec<Symbol> {
    Decoder::new(crate::util::patient_config())
        .decode(img)
        .expect("decode")
}

fn assert_one(img: &GrayImage, format: Format, text: &str, aim: &str) -> Symbol {
    let found = decode(img);
    let hits: Vec<&Symbol> = found
        .iter()
        .filter(|s| s.format == format && s.text == text)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "expected exactly one {format} {text:?}, found {found:?}"
    );
    assert_eq!(hits[0].aim, aim, "AIM identifier of {format} {text:?}");
    assert_eq!(
        found.len(),
        1,
        "expected no other symbol than {format} {text:?}, found {found:?}"
    );
    hits[0].clone()
}

#[test]
fn every_label_symbology_decodes_with_text_format_and_aim() {
    let gs1_dm = EncodeHints::default()
        .with(EncodeHintValue::DataMatrixCompact(true))
        .with(EncodeHintValue::Gs1Format(true));
    let cases: Vec<(BarcodeFormat, &str, EncodeHints, Format, &str, &str)> = vec![
        (
            BarcodeFormat::CODE_128,
            "SN-R58M315CL4T",
            no_hints(),
            Format::Code128,
            "SN-R58M315CL4T",
            "]C0",
        ),
        (
            BarcodeFormat::CODE_128,
            "\u{f1}0109506000134352\u{f1}21ABC123",
            no_hints(),
            Format::Code128,
            "0109506000134352\u{1d}21ABC123",
            "]C1",
        ),
        (
            BarcodeFormat::EAN_13,
            "5901234123457",
            no_hints(),
            Format::Ean13,
            "5901234123457",
            "]E0",
        ),
        (
            BarcodeFormat::UPC_A,
            "036000291452",
            no_hints(),
            Format::UpcA,
            "036000291452",
            "]E0",
        ),
        (
            BarcodeFormat::EAN_8,
            "96385074",
            no_hints(),
            Format::Ean8,
            "96385074",
            "]E4",
        ),
        (
            BarcodeFormat::CODE_39,
            "ABC-1234",
            no_hints(),
            Format::Code39,
            "ABC-1234",
            "]A0",
        ),
        (
            BarcodeFormat::ITF,
            "12345678901231",
            no_hints(),
            Format::Itf,
            "12345678901231",
            "]I0",
        ),
        (
            BarcodeFormat::DATA_MATRIX,
            "SN:R58M315CL4T",
            no_hints(),
            Format::DataMatrix,
            "SN:R58M315CL4T",
            "]d1",
        ),
        (
            BarcodeFormat::DATA_MATRIX,
            "0109506000134352\u{1d}21ABC123",
            gs1_dm,
            Format::DataMatrix,
            "0109506000134352\u{1d}21ABC123",
            "]d2",
        ),
        (
            BarcodeFormat::QR_CODE,
            "IMEI 356938035643809",
            no_hints(),
            Format::QrCode,
            "IMEI 356938035643809",
            "]Q1",
        ),
        (
            BarcodeFormat::PDF_417,
            "PDF417 label 0123456789",
            no_hints(),
            Format::Pdf417,
            "PDF417 label 0123456789",
            // rxing reports the modifier its decoder found: 0, a symbol without ECI.
            "]L0",
        ),
    ];
    for (bf, contents, hints, format, text, aim) in cases {
        for module in [2, 3] {
            let img = render(bf, contents, &hints, module);
            let sym = assert_one(&img, format, text, aim);
            assert!(!sym.raw.is_empty(), "{format} {text:?} has raw bytes");
        }
    }
}

#[test]
fn code128_reads_at_any_angle() {
    let img = render(BarcodeFormat::CODE_128, "ROT-A1B2C3D4", &no_hints(), 2);
    for angle in [0.0, 17.0, 45.0, 90.0, 133.0, 210.0] {
        let rotated = rotate(&img, angle);
        let mut frame = white(rotated.width() + 80, rotated.height() + 80);
        place(&mut frame, &rotated, 40, 40);
        let found = decode(&frame);
        let hits: Vec<&Symbol> = found
            .iter()
            .filter(|s| s.format == Format::Code128 && s.text == "ROT-A1B2C3D4")
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "Code 128 at {angle} degrees: found {found:?}"
        );
        assert_eq!(hits[0].aim, "]C0");
        // The corners surround the symbol: its centre is near the frame's centre.
        let (cx, cy) = hits[0].center();
        let (fx, fy) = (frame.width() as f32 / 2.0, frame.height() as f32 / 2.0);
        assert!(
            (cx - fx).abs() < 40.0 && (cy - fy).abs() < 40.0,
            "centre ({cx}, {cy}) of the symbol at {angle} degrees is far from ({fx}, {fy})"
        );
    }
}

#[test]
fn symbols_far_apart_in_one_frame_are_all_found() {
    let a = rotate(
        &render(BarcodeFormat::CODE_128, "LEFT-000111", &no_hints(), 2),
        8.0,
    );
    let b = rotate(
        &render(BarcodeFormat::CODE_128, "RIGHT-999888", &no_hints(), 2),
        -65.0,
    );
    let q = render(BarcodeFormat::DATA_MATRIX, "DM-SERIAL-42", &no_hints(), 3);
    let mut frame = white(1280, 720);
    place(&mut frame, &a, 30, 30);
    place(&mut frame, &b, 1280 - b.width() - 30, 720 - b.height() - 30);
    place(&mut frame, &q, 60, 720 - q.height() - 40);
    let found = decode(&frame);
    for (format, text) in [
        (Format::Code128, "LEFT-000111"),
        (Format::Code128, "RIGHT-999888"),
        (Format::DataMatrix, "DM-SERIAL-42"),
    ] {
        let n = found
            .iter()
            .filter(|s| s.format == format && s.text == text)
            .count();
        assert_eq!(n, 1, "{format} {text:?} once in {found:?}");
    }
    assert_eq!(found.len(), 3, "no other symbols: {found:?}");
}

#[test]
fn stacked_codes_on_one_label_are_read_separately() {
    let top = render(
        BarcodeFormat::CODE_128,
        "IMEI1-356938035643809",
        &no_hints(),
        2,
    );
    let bottom = render(
        BarcodeFormat::CODE_128,
        "IMEI2-356938035643817",
        &no_hints(),
        2,
    );
    let mut label = white(
        top.width().max(bottom.width()),
        top.height() + bottom.height(),
    );
    place(&mut label, &top, 0, 0);
    place(&mut label, &bottom, 0, top.height());
    let rotated = rotate(&label, 23.0);
    let found = decode(&rotated);
    for text in ["IMEI1-356938035643809", "IMEI2-356938035643817"] {
        assert!(found.iter().any(|s| s.text == text), "{text} in {found:?}");
    }
}

#[test]
fn only_configured_formats_are_reported() {
    let img = render(BarcodeFormat::QR_CODE, "ONLY-QR", &no_hints(), 3);
    let cfg = DecodeConfig {
        formats: vec![Format::Code128],
        ..DecodeConfig::default()
    };
    let found = Decoder::new(cfg).decode(&img).expect("decode");
    assert!(found.is_empty(), "QR is not configured: {found:?}");
}

#[test]
fn blank_and_noise_frames_have_no_symbols() {
    assert!(decode(&white(640, 480)).is_empty());
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let noise = GrayImage::from_fn(640, 480, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Luma([(state % 256) as u8])
    });
    assert!(decode(&noise).is_empty());
    // Stripes with no code structure: strong, coherent, alternating, but not a barcode.
    let stripes = GrayImage::from_fn(640, 480, |x, _| {
        Luma([if (x / 3) % 2 == 0 { 0 } else { 255 }])
    });
    assert!(decode(&stripes).is_empty());
}

#[test]
fn zero_size_frame_is_an_empty_frame_error() {
    let decoder = Decoder::new(DecodeConfig::default());
    for (w, h) in [(0, 0), (0, 10), (10, 0)] {
        assert_eq!(
            decoder.decode(&GrayImage::new(w, h)),
            Err(DecodeError::EmptyFrame {
                width: w,
                height: h
            })
        );
    }
    let mut worker = DecodeWorker::new(decoder);
    assert_eq!(
        worker.decode(Arc::new(GrayImage::new(0, 0))),
        Err(DecodeError::EmptyFrame {
            width: 0,
            height: 0
        })
    );
}

#[test]
fn tiny_frames_do_not_panic() {
    let decoder = Decoder::new(DecodeConfig::default());
    for (w, h) in [(1, 1), (1, 500), (500, 1), (2, 3), (17, 9)] {
        let img = GrayImage::from_fn(w, h, |x, y| Luma([((x * 37 + y * 11) % 256) as u8]));
        assert!(decoder.decode(&img).is_ok());
    }
}

#[test]
fn worker_decodes_and_counts_overruns() {
    let img = Arc::new(render(BarcodeFormat::CODE_128, "WORKER-1", &no_hints(), 2));
    let mut worker = DecodeWorker::new(Decoder::new(crate::util::patient_config()));
    for _ in 0..3 {
        let found = worker.decode(Arc::clone(&img)).expect("decode");
        assert!(found.iter().any(|s| s.text == "WORKER-1"), "{found:?}");
    }
    assert_eq!(worker.overruns(), 0);

    // A 1 ms budget cannot be met on a busy 1080p frame (locating alone takes several ms
    // before the decoder's own deadline is first checked): every frame overruns, and each gets
    // a fresh thread. A zero budget would race: the decoder may give up before the wait starts.
    let cfg = DecodeConfig {
        budget_ms: 1,
        ..DecodeConfig::default()
    };
    let busy = Arc::new(GrayImage::from_fn(1920, 1080, |x, y| {
        Luma([if (x / 3 + y / 7) % 2 == 0 { 20 } else { 235 }])
    }));
    let mut worker = DecodeWorker::new(Decoder::new(cfg));
    for n in 1..=2u64 {
        assert_eq!(
            worker.decode(Arc::clone(&busy)),
            Err(DecodeError::Overrun { budget_ms: 1 })
        );
        assert_eq!(worker.overruns(), n);
    }
}

/// A PNG signature and IHDR chunk declaring `w` x `h` 8-bit grey pixels, with a valid CRC.
fn png_header(w: u32, h: u32) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let mut chunk = b"IHDR".to_vec();
    chunk.extend_from_slice(&w.to_be_bytes());
    chunk.extend_from_slice(&h.to_be_bytes());
    chunk.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&crc32(&chunk).to_be_bytes());
    out
}

#[test]
fn load_luma_fails_cleanly_and_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");

    let good = dir.path().join("good.png");
    render(BarcodeFormat::QR_CODE, "LOAD", &no_hints(), 3)
        .save(&good)
        .expect("save");
    let img = load_luma(&good).expect("a valid PNG loads");
    assert!(img.width() > 0);

    let bytes = std::fs::read(&good).expect("read");
    let truncated = dir.path().join("truncated.png");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");

    let text = dir.path().join("notes.png");
    std::fs::write(&text, "this is not an image\n").expect("write");
    let unknown = dir.path().join("notes.txt");
    std::fs::write(&unknown, "this is not an image\n").expect("write");

    let huge = dir.path().join("huge.png");
    let mut declared = png_header(100_000, 100_000);
    declared.extend_from_slice(&[0u8; 64]);
    std::fs::write(&huge, declared).expect("write");

    let missing = dir.path().join("missing.png");

    for (path, why) in [
        (&truncated, "cannot decode: "),
        // Content that names no format is tried as the format its name says.
        (&text, "cannot decode: "),
        (&unknown, "not an image (unknown format)"),
        // Over the decoder's own dimension limit (`faults.rs` reaches the 40 MP limit).
        (&huge, "cannot decode: Image size exceeds limit"),
        (&missing, "cannot open: "),
    ] {
        let err = load_luma(path).expect_err("must not load");
        let msg = err.to_string();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(msg.contains(name), "{msg:?} names {name}");
        // What went wrong is the error's source, which whoever prints the error shows after the
        // message; the message itself does not repeat it.
        let reason = err.reason();
        assert!(reason.starts_with(why), "{reason:?} says {why:?}");
        assert!(
            !msg.contains(&reason),
            "{msg:?} leaves {reason:?} to the cause chain"
        );
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert!(
            source.is_some_and(|s| reason.starts_with(&s)),
            "the reason is the source chain"
        );
    }
}
