//! Several symbols in one band of a strip (issue 13): on an upright phone-box label, a tall
//! UPC-A beside a stack of short Code 128 rows fills the gaps between the rows, so the strip's
//! band finder sees one band across three symbols and more. A band used to stop at its first
//! read symbol; sharp upright frames, where zxing-cpp read everything, lost the rest.

use scanstation::decode::{Decoder, Tuning};
use scanstation::synth::{Difficulty, FrameSpec, GeneratedFrame, LabelKind, Rng, render_frame};

/// (1D symbols read, placed) over `n` sharp, upright phone-box frames.
fn upright_phone_box_recall(decoder: &Decoder, n: u64) -> (usize, usize) {
    phone_box_recall(decoder, n, Difficulty::Easy, |i| {
        [0.0, 90.0, 180.0, 270.0][(i % 4) as usize] + (i % 5) as f32 - 2.0
    })
}

/// (1D symbols read, placed) in one frame: Data Matrix codes are left out.
fn read_1d(decoder: &Decoder, frame: &GeneratedFrame) -> (usize, usize) {
    let found = crate::util::placed_read(decoder, frame);
    let linear = frame
        .symbols
        .iter()
        .zip(found)
        .filter(|(s, _)| s.format != "DataMatrix");
    linear.fold((0, 0), |(read, placed), (_, found)| {
        (read + usize::from(found), placed + 1)
    })
}

/// (1D symbols read, placed) over `n` phone-box frames of `difficulty`, frame `i` turned
/// `rotation(i)` degrees.
fn phone_box_recall(
    decoder: &Decoder,
    n: u64,
    difficulty: Difficulty,
    rotation: impl Fn(u64) -> f32,
) -> (usize, usize) {
    let (mut read, mut placed) = (0, 0);
    for i in 0..n {
        let mut rng = Rng::new(52_000 + i);
        let mut spec = FrameSpec::random(difficulty, 1, &mut rng);
        spec.width = 1920;
        spec.height = 1080;
        for label in &mut spec.labels {
            label.kind = LabelKind::PhoneBox;
            label.rotation_deg = rotation(i);
            label.module_px = 2.2 + 0.1 * (i % 6) as f32;
        }
        let Ok(frame) = render_frame(&spec, &mut rng) else {
            continue;
        };
        let (r, p) = read_1d(decoder, &frame);
        read += r;
        placed += p;
    }
    (read, placed)
}

#[test]
fn every_symbol_of_a_band_is_read_on_upright_labels() {
    let n = 12;
    let now = upright_phone_box_recall(&Decoder::new(crate::util::patient_config()), n);
    let mut first_only = Tuning::default();
    // Both ways of reading past a band's first symbol off: more rows after a read, and the
    // split of a band into symbols side by side (which alone reads these frames too).
    first_only.strip.more_per_band = false;
    first_only.strip.side_by_side = false;
    let before = upright_phone_box_recall(
        &Decoder::with_tuning(crate::util::patient_config(), first_only),
        n,
    );
    eprintln!("1D symbols on upright phone boxes: {now:?} now, {before:?} with one per band");
    let (read, placed) = now;
    assert!(placed >= 40, "too few symbols placed: {now:?}");
    assert!(read * 100 >= placed * 95, "read {read} of {placed}");
    // These seeds hold labels whose band spans several symbols (57 of 60 read before).
    assert!(read > before.0, "{now:?} against {before:?}");
}

#[test]
fn symbols_side_by_side_on_turned_labels_are_each_read() {
    let n = 24;
    // Turned 20 to 70 degrees off the axes: the strip of a stack of Code 128 rows then also
    // holds the UPC-A beside it, and the rows of one band cross both.
    let rotation = |i: u64| (i % 4) as f32 * 90.0 + 20.0 + (i * 37 % 50) as f32;
    let now = phone_box_recall(
        &Decoder::new(crate::util::patient_config()),
        n,
        Difficulty::Medium,
        rotation,
    );
    let mut whole_bands = Tuning::default();
    whole_bands.strip.side_by_side = false;
    let before = phone_box_recall(
        &Decoder::with_tuning(crate::util::patient_config(), whole_bands),
        n,
        Difficulty::Medium,
        rotation,
    );
    eprintln!("1D symbols on turned phone boxes: {now:?} split, {before:?} whole bands");
    let (read, placed) = now;
    assert!(placed >= 40, "too few symbols placed: {now:?}");
    assert!(read * 100 >= placed * 95, "read {read} of {placed}");
    assert!(read > before.0, "{now:?} against {before:?}");
}

/// (1D symbols read, placed) over `n` random frames of `difficulty` with two labels each.
fn random_recall(decoder: &Decoder, n: u64, difficulty: Difficulty) -> (usize, usize) {
    let (mut read, mut placed) = (0, 0);
    for i in 0..n {
        let mut rng = Rng::new(61_000 + i);
        let spec = FrameSpec::random(difficulty, 2, &mut rng);
        let Ok(frame) = render_frame(&spec, &mut rng) else {
            continue;
        };
        let (r, p) = read_1d(decoder, &frame);
        read += r;
        placed += p;
    }
    (read, placed)
}

#[test]
fn a_strip_whose_bars_run_into_its_end_is_widened() {
    // Under JPEG and perspective the locator's box can end well inside a symbol; the strip is
    // then widened where an unread band's bars run into its end.
    let n = 30;
    let now = random_recall(
        &Decoder::new(crate::util::patient_config()),
        n,
        Difficulty::Medium,
    );
    let mut cut_short = Tuning::default();
    cut_short.strip.follow_bars = false;
    let before = random_recall(
        &Decoder::with_tuning(crate::util::patient_config(), cut_short),
        n,
        Difficulty::Medium,
    );
    eprintln!("1D symbols on medium frames: {now:?} widened, {before:?} not");
    assert!(now.0 > before.0, "{now:?} against {before:?}");
}
