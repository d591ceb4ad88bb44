//! The stream's focus (`decode::Focus`) on a generated camera session: decoding each frame
//! with the plan the frames before it give (focus on the labels being read, places that keep
//! reading nothing left out of every other frame) must read every unit value the whole-frame
//! decode reads, nearly as often, while decoding fewer regions; and the predicted focus must
//! hold the symbols read again.

use std::collections::BTreeSet;

use scanstation::decode::{Decoder, Focus, FramePlan, load_luma};
use scanstation::synth::session::{SessionKind, generate_session};

#[test]
fn the_focus_reads_what_the_whole_frame_reads_with_fewer_regions() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Two boxes held side by side: two labels in view, each with symbols that read at once and
    // places (text, the hard symbols) that keep failing.
    let truth = generate_session(dir.path(), SessionKind::SideBySide, 7, 30.0).expect("session");
    let decoder = Decoder::new(crate::util::patient_config());
    let mut focus = Focus::default();
    let (mut whole_values, mut focus_values) = (0usize, 0usize);
    let (mut whole_jobs, mut focus_jobs, mut rested) = (0usize, 0usize, 0usize);
    let mut whole_units: BTreeSet<String> = BTreeSet::new();
    let mut focus_units: BTreeSet<String> = BTreeSet::new();
    let (mut again, mut again_in_focus) = (0usize, 0usize);
    let mut last_read: Vec<String> = Vec::new();
    // Every second frame keeps the test short in a debug build; the motion between two frames
    // then is that of 15 fps, which the prediction must follow too.
    for i in (0..truth.frames).step_by(2) {
        let frame = load_luma(&dir.path().join(format!("frame-{i:05}.png"))).expect("frame");
        let at_ms = truth.frame_ms(i);
        let values = |symbols: &[scanstation::decode::Symbol], units: &mut BTreeSet<String>| {
            let mut n = 0;
            for &l in &truth.present[i] {
                let label = &truth.labels[l];
                for v in label.expected.iter().chain(&label.other) {
                    if symbols.iter().any(|s| s.text.contains(v.as_str())) {
                        n += 1;
                        if label.expected.contains(v) {
                            units.insert(v.clone());
                        }
                    }
                }
            }
            n
        };
        let whole = decoder
            .decode_plan(&frame, &FramePlan::default())
            .expect("decode");
        whole_values += values(&whole.symbols, &mut whole_units);
        whole_jobs += whole.focus_jobs + whole.other_jobs;

        let plan = focus.plan(at_ms, frame.width(), frame.height(), None);
        let decoded = decoder.decode_plan(&frame, &plan).expect("decode");
        focus_values += values(&decoded.symbols, &mut focus_units);
        focus_jobs += decoded.focus_jobs + decoded.other_jobs - decoded.rested;
        rested += decoded.rested;
        for s in &decoded.symbols {
            if last_read.contains(&s.text) {
                again += 1;
                let (x, y) = s.center();
                again_in_focus += usize::from(plan.in_focus(x, y));
            }
        }
        last_read = decoded.symbols.iter().map(|s| s.text.clone()).collect();
        focus.observe_decoded(at_ms, &decoded);
    }
    eprintln!(
        "values read: whole frame {whole_values}, focus {focus_values}; regions decoded: {whole_jobs} against {focus_jobs} ({rested} left out); read again {again}, in focus {again_in_focus}"
    );
    assert!(
        whole_units.len() >= 4,
        "the session is readable: {whole_units:?}"
    );
    assert_eq!(
        focus_units, whole_units,
        "every unit value the whole frame reads, the focus reads too"
    );
    assert!(
        focus_values * 100 >= whole_values * 90,
        "values read per frame: {focus_values} against {whole_values}"
    );
    assert!(rested > 0, "places that kept failing were left out");
    assert!(
        focus_jobs < whole_jobs,
        "fewer regions decoded: {focus_jobs} against {whole_jobs}"
    );
    assert!(again >= 20, "symbols read in successive frames: {again}");
    assert!(
        again_in_focus * 100 >= again * 95,
        "the focus holds the symbols read again: {again_in_focus} of {again}"
    );
}
