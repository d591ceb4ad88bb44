//! Blurred strips (issue 13): Code 128 and EAN-13 at 1.0, 1.25 and 1.5 pixels per module under
//! a Gaussian blur of 0.8 to 1.5 pixels, drawn upright on a light label with sensor noise, are
//! read by the decoder with its blurred-strip reader (`decode::profile`), each case asserted;
//! rxing's edge-counting readers alone miss most of them.

use scanstation::decode::{Decoder, Tuning};
use scanstation::synth::raster::{Canvas, add_rect_coverage, gaussian_blur};
use scanstation::synth::symbol::{Encoded, Modules, code128, ean13};

/// A 1D symbol drawn at `px` pixels per module, `height` pixels tall, on a light ground, blurred
/// with `sigma` pixels, with uniform noise of +-3 grey levels.
fn frame(sym: &Encoded, px: f32, sigma: f32, seed: u64) -> image::GrayImage {
    frame_of_height(sym, px, sigma, seed, 60.0)
}

/// [`frame`] with bars `height` pixels tall.
fn frame_of_height(sym: &Encoded, px: f32, sigma: f32, seed: u64, height: f32) -> image::GrayImage {
    let Modules::Linear(modules) = &sym.modules else {
        panic!("a 1D symbol");
    };
    let width = (modules.len() as f32 * px + 160.0) as usize;
    let mut cov = Canvas::new(width, 120, 0.0);
    // A fractional start, so module edges fall between pixels as they do in a camera frame.
    let x0 = 80.0 + 0.37 * seed as f32 % 1.0;
    for (k, &dark) in modules.iter().enumerate() {
        if dark {
            let x = x0 + k as f32 * px;
            add_rect_coverage(
                &mut cov,
                x,
                60.0 - height / 2.0,
                x + px,
                60.0 + height / 2.0,
            );
        }
    }
    gaussian_blur(&mut cov, sigma);
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let px_values: Vec<u8> = cov
        .px
        .iter()
        .map(|c| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state % 7) as f32 - 3.0;
            (215.0 - 165.0 * c.clamp(0.0, 1.0) + noise)
                .round()
                .clamp(0.0, 255.0) as u8
        })
        .collect();
    image::GrayImage::from_raw(width as u32, 120, px_values).expect("buffer size")
}

fn reads(decoder: &Decoder, img: &image::GrayImage, text: &str) -> bool {
    decoder
        .decode(img)
        .map(|syms| syms.iter().any(|s| s.text == text))
        .unwrap_or(false)
}

/// The default decoder, and the same without the profile fit.
fn with_and_without_profile() -> (Decoder, Decoder) {
    let mut tuning = Tuning::default();
    tuning.strip.profile = false;
    (
        Decoder::new(crate::util::patient_config()),
        Decoder::with_tuning(crate::util::patient_config(), tuning),
    )
}

#[test]
fn blurred_strips_at_one_to_one_and_a_half_pixels_per_module_are_read() {
    let (with, without) = with_and_without_profile();
    let symbols = [
        code128("356938035643809").expect("encode"),
        code128("SNU9A6M413D").expect("encode"),
        ean13("4006381333931").expect("encode"),
    ];
    let mut failed = Vec::new();
    let (mut read_with, mut read_without, mut cases) = (0, 0, 0);
    for (i, sym) in symbols.iter().enumerate() {
        for px in [1.0f32, 1.25, 1.5] {
            for sigma in [0.8f32, 1.0, 1.25, 1.5] {
                let img = frame(sym, px, sigma, i as u64 * 16 + cases as u64);
                cases += 1;
                if std::env::var_os("DUMP").is_some() {
                    img.save(format!("/tmp/blur-{}-{px}-{sigma}.png", sym.text))
                        .ok();
                }
                let ok = reads(&with, &img, &sym.text);
                read_with += usize::from(ok);
                read_without += usize::from(reads(&without, &img, &sym.text));
                if !ok {
                    failed.push(format!("{} at {px} px/module, sigma {sigma}", sym.text));
                }
            }
        }
    }
    eprintln!("read {read_with}/{cases} with the profile reader, {read_without}/{cases} without");
    assert!(failed.is_empty(), "not read: {failed:#?}");
    assert!(read_without < read_with, "the profile reader adds reads");
}

#[test]
fn a_blurred_symbol_a_twentieth_as_tall_as_it_is_long_keeps_its_profile_fit() {
    // The profile fit skips bands lower than 2.5 % of their length (slivers between stacked
    // symbols). A real symbol this low is read by the profile fit, which rxing's readers alone
    // miss: the rule must stay well under it.
    let (with, without) = with_and_without_profile();
    let sym = code128("356938035643809").expect("encode");
    for (px, sigma) in [(1.0f32, 1.0f32), (1.25, 1.25), (1.5, 1.5)] {
        let img = frame_of_height(&sym, px, sigma, 3, 10.0);
        assert!(
            reads(&with, &img, &sym.text),
            "{px} px/module, sigma {sigma}"
        );
        assert!(
            !reads(&without, &img, &sym.text),
            "{px} px/module, sigma {sigma}: read without the profile fit"
        );
    }
}
