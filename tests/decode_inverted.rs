//! Light print on a dark label (issue 13): the same generated labels, printed inverted, are
//! read as well as their normal print, by format.

use std::collections::BTreeMap;

use scanstation::decode::Decoder;
use scanstation::synth::{Difficulty, FrameSpec, Rng, render_frame};

/// Per format: (symbols read, symbols placed), over `n` one-label frames of `difficulty`.
fn recall(inverted: bool, difficulty: Difficulty, n: u64) -> BTreeMap<String, (usize, usize)> {
    let decoder = Decoder::new(crate::util::patient_config());
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for i in 0..n {
        let mut rng = Rng::new(7_000 + i);
        let mut spec = FrameSpec::random(difficulty, 1, &mut rng);
        for label in &mut spec.labels {
            label.inverted = inverted;
        }
        let Ok(frame) = render_frame(&spec, &mut rng) else {
            continue;
        };
        let read = crate::util::placed_read(&decoder, &frame);
        for (placed, read) in frame.symbols.iter().zip(read) {
            let entry = out.entry(placed.format.to_owned()).or_default();
            entry.1 += 1;
            entry.0 += usize::from(read);
        }
    }
    out
}

fn total(m: &BTreeMap<String, (usize, usize)>) -> (usize, usize) {
    m.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

#[test]
fn inverted_labels_are_read_about_as_well_as_normal_ones() {
    let normal = recall(false, Difficulty::Easy, 16);
    let inverted = recall(true, Difficulty::Easy, 16);
    eprintln!("normal {normal:?}\ninverted {inverted:?}");
    let (n_read, n_all) = total(&normal);
    let (i_read, i_all) = total(&inverted);
    assert_eq!(n_all, i_all, "the same labels");
    assert!(n_read * 10 >= n_all * 8, "normal labels read: {normal:?}");
    // Within 10 % of the normal print's recall, by symbol.
    assert!(
        i_read * 10 >= n_read * 9,
        "inverted {i_read}/{i_all} against normal {n_read}/{n_all}: {inverted:?}"
    );
}
