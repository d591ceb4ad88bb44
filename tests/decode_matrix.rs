//! Data Matrix codes of 40 to 60 pixels on label frames (issue 13): the locator's box around
//! such a code often ends a block short of its finder L, and a crop that cut the L off never
//! read. The decoder now tries a wider crop first, the tight one after it, and a widest one last
//! for a code whose proposal lies inside it.

use scanstation::decode::{Decoder, Tuning};
use scanstation::synth::{
    Difficulty, FrameSpec, LabelKind, Rng, SetOptions, render_frame, set_frame_with,
};

/// (Data Matrix codes of 40-60 px read, placed) over `n` easy generated back-label frames
/// (sharp, near upright: the kind of frame where zxing-cpp read codes the station missed).
fn small_matrix_recall(decoder: &Decoder, n: u64) -> (usize, usize) {
    let (mut read, mut placed) = (0, 0);
    for i in 0..n {
        let mut rng = Rng::new(31_000 + i);
        let mut spec = FrameSpec::random(Difficulty::Easy, 1, &mut rng);
        for label in &mut spec.labels {
            label.kind = LabelKind::BackLabel;
            // Modules of 1.4 to 1.7 px: the code comes out about 40 to 60 px across.
            label.module_px = 1.4 + 0.04 * (i % 8) as f32;
        }
        let Ok(frame) = render_frame(&spec, &mut rng) else {
            continue;
        };
        let found = crate::util::placed_read(decoder, &frame);
        for (symbol, found) in frame.symbols.iter().zip(found) {
            if symbol.format != "DataMatrix" {
                continue;
            }
            let (a, b) = (symbol.corners[0], symbol.corners[1]);
            let side = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
            if !(40.0..=60.0).contains(&side) {
                continue;
            }
            placed += 1;
            read += usize::from(found);
        }
    }
    (read, placed)
}

#[test]
fn data_matrix_codes_of_40_to_60_px_are_read() {
    let n = 32;
    let now = small_matrix_recall(&Decoder::new(crate::util::patient_config()), n);
    let tight_only = Tuning {
        matrix_crops: 0,
        ..Tuning::default()
    };
    let before = small_matrix_recall(
        &Decoder::with_tuning(crate::util::patient_config(), tight_only),
        n,
    );
    eprintln!("40-60 px Data Matrix read: {now:?} now, {before:?} with the tight crop only");
    let (read, placed) = now;
    assert!(
        placed >= 12,
        "too few codes of that size were placed: {now:?}"
    );
    assert!(read * 10 >= placed * 8, "read {read} of {placed}");
    assert!(
        read > before.0,
        "the wide crop reads more than the tight crop alone: {now:?} against {before:?}"
    );
}

#[test]
fn data_matrix_codes_the_first_crops_cut_get_the_widest_crop() {
    // Three frames of the generated benchmark set (`bench gen-labels --seed 11 --inverted 0.12`)
    // where a code's corners reach past the first two crops: a sharp 93 px code turned 45
    // degrees whose proposal is a 64 px window inside it (frame 154), and two blurred ones.
    let options = SetOptions { inverted: 0.12 };
    let frames: Vec<_> = [118, 133, 154]
        .into_iter()
        .map(|i| set_frame_with(11, i, &options).expect("the set's frame renders"))
        .collect();
    let matrix_reads = |decoder: &Decoder| -> usize {
        frames
            .iter()
            .map(|f| {
                let found = crate::util::placed_read(decoder, f);
                f.symbols
                    .iter()
                    .zip(found)
                    .filter(|(s, found)| s.format == "DataMatrix" && *found)
                    .count()
            })
            .sum()
    };
    let now = matrix_reads(&Decoder::new(crate::util::patient_config()));
    let two_crops = Tuning {
        matrix_crops: 2,
        ..Tuning::default()
    };
    let before = matrix_reads(&Decoder::with_tuning(
        crate::util::patient_config(),
        two_crops,
    ));
    eprintln!("Data Matrix codes read in frames 118, 133, 154: {now} now, {before} with two crops");
    assert!(
        now > before,
        "the widest crop reads more: {now} against {before}"
    );
}
