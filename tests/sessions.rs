//! Camera sessions: the truth of generated sessions is consistent (appearance windows, gaps
//! below `forget_ms` merged, the misprinted IMEI really fails its check), and the desk scorer
//! counts complete, partial, missed, duplicate, wrong-pair and unflagged records correctly.
//!
//! The station itself is not run here: decoding hundreds of frames in a debug build is too
//! slow, and `tests/replay.rs` covers the camera path end to end.

use scanstation::ident::{self, NoTacs, reason};
use scanstation::synth::LabelKind;
use scanstation::synth::UnitData;
use scanstation::synth::session::{
    Appearance, FORGET_MS, RecordedUnit, SessionKind, SessionScore, SessionTruth, TRUTH_NAME,
    TruthLabel, appearance_windows, generate_session, plan_session, read_truth, score,
};

#[test]
fn appearance_windows_merge_gaps_below_forget_ms() {
    let present = vec![vec![0], vec![0, 1], vec![], vec![], vec![0], vec![1]];
    // At 1 fps frame 1 to frame 4 is 3 s: label 0 left for longer than forget_ms.
    assert_eq!(
        appearance_windows(&present, 1.0, FORGET_MS),
        vec![(0, 0, 1), (1, 1, 1), (0, 4, 4), (1, 5, 5)]
    );
    // At 30 fps the same gaps are 100 ms and 133 ms: one appearance per label.
    assert_eq!(
        appearance_windows(&present, 30.0, FORGET_MS),
        vec![(0, 0, 4), (1, 1, 5)]
    );
    // Exactly forget_ms away is a new appearance, as the station's tracker forgets then.
    let edge = vec![vec![0], vec![], vec![0]];
    assert_eq!(
        appearance_windows(&edge, 1.0, FORGET_MS),
        vec![(0, 0, 0), (0, 2, 2)]
    );
}

/// The frames of `truth` in which `label` is in view.
fn frames_of(truth: &SessionTruth, label: usize) -> Vec<usize> {
    (0..truth.frames)
        .filter(|&f| truth.present[f].contains(&label))
        .collect()
}

#[test]
fn planned_sessions_have_consistent_truth() {
    for seed in [1u64, 2, 3] {
        for kind in SessionKind::ALL {
            let plan = plan_session(kind, seed, 30.0).expect("plan");
            let t = &plan.truth;
            assert_eq!(t.present.len(), t.frames, "{kind:?}");
            assert_eq!(plan.poses.len(), t.frames);
            assert!(
                t.present.first().is_some_and(Vec::is_empty),
                "{kind:?} starts empty"
            );
            assert!(
                t.present.last().is_some_and(Vec::is_empty),
                "{kind:?} ends empty"
            );
            assert!(!t.appearances.is_empty());
            for a in &t.appearances {
                let label = &t.labels[a.label];
                assert_eq!(a.unit, label.unit);
                assert_eq!(a.expected, label.expected);
                assert!(a.first_frame <= a.last_frame);
                assert!(t.present[a.first_frame].contains(&a.label));
                assert!(t.present[a.last_frame].contains(&a.label));
                assert!(!a.expected.is_empty(), "{kind:?}: {a:?}");
                // Inside an appearance, no gap reaches forget_ms.
                let seen: Vec<usize> = frames_of(t, a.label)
                    .into_iter()
                    .filter(|f| (a.first_frame..=a.last_frame).contains(f))
                    .collect();
                for w in seen.windows(2) {
                    assert!(t.frame_ms(w[1]) - t.frame_ms(w[0]) < FORGET_MS, "{kind:?}");
                }
            }
            // Consecutive appearances of one label are at least forget_ms apart.
            for label in 0..t.labels.len() {
                let mine: Vec<&Appearance> =
                    t.appearances.iter().filter(|a| a.label == label).collect();
                for w in mine.windows(2) {
                    assert!(
                        t.frame_ms(w[1].first_frame) - t.frame_ms(w[0].last_frame) >= FORGET_MS
                    );
                }
            }
            let two_at_once = t.present.iter().any(|p| p.len() == 2);
            match kind {
                SessionKind::ShortGap => {
                    assert_eq!(t.appearances.len(), 1, "{:?}", t.appearances);
                    let a = &t.appearances[0];
                    let seen = frames_of(t, 0);
                    assert!(
                        seen.len() < a.last_frame - a.first_frame + 1,
                        "the box really left the view"
                    );
                }
                SessionKind::LongGap => assert_eq!(t.appearances.len(), 2),
                SessionKind::SideBySide | SessionKind::PassBy => {
                    assert_eq!(t.labels.len(), 2);
                    assert!(two_at_once, "{kind:?}");
                    assert_ne!(t.labels[0].unit, t.labels[1].unit);
                }
                _ => {
                    assert_eq!(t.appearances.len(), 1);
                    assert!(!two_at_once);
                }
            }
            if kind == SessionKind::InvalidImei {
                let label = &t.labels[0];
                assert_eq!(label.kind, LabelKind::PhoneBox);
                assert_eq!(label.invalid_imeis.len(), 1, "{label:?}");
                let bad = &label.invalid_imeis[0];
                let c = ident::classify(bad, None, &NoTacs);
                assert!(!c.valid(), "{bad} must not be a valid identifier");
                assert_eq!(c.reason_code(), Some(reason::BAD_CHECK_DIGIT), "{bad}");
                assert!(!label.expected.contains(bad));
                assert!(label.unit.imeis.contains(bad));
            } else {
                assert!(t.labels.iter().all(|l| l.invalid_imeis.is_empty()));
            }
            // Every printed IMEI the truth expects passes the classifier.
            for l in &t.labels {
                for imei in l.expected.iter().filter(|v| l.unit.imeis.contains(v)) {
                    assert!(ident::classify(imei, None, &NoTacs).valid(), "{imei}");
                }
            }
        }
    }
    // Plans are a pure function of kind and seed.
    let a = plan_session(SessionKind::PassBy, 9, 30.0).expect("plan");
    let b = plan_session(SessionKind::PassBy, 9, 30.0).expect("plan");
    assert_eq!(a.truth, b.truth);
    assert_eq!(a.poses, b.poses);
}

#[test]
fn a_tiny_session_is_written_with_its_truth() {
    let dir = tempfile::tempdir().expect("tempdir");
    // At 3 fps a carry-in-out session is a handful of frames, cheap even in a debug build.
    let truth = generate_session(dir.path(), SessionKind::CarryInOut, 5, 3.0).expect("generate");
    assert!(truth.frames >= 5 && truth.frames < 40, "{}", truth.frames);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), truth.frames + 1, "{names:?}");
    assert_eq!(names[0], "frame-00000.png");
    assert_eq!(names[truth.frames], TRUTH_NAME);
    let image = image::open(dir.path().join("frame-00000.png")).expect("open");
    assert_eq!((image.width(), image.height()), (1280, 720));
    assert_eq!(read_truth(dir.path()).expect("read"), truth);
}

// The scorer, on hand-made truth and units.

fn unit(serial: &str, imeis: &[&str], eid: Option<&str>) -> UnitData {
    UnitData {
        serial: serial.to_owned(),
        part: format!("P-{serial}"),
        imeis: imeis.iter().map(|s| (*s).to_owned()).collect(),
        eid: eid.map(str::to_owned),
        gtin: "0194252000001".to_owned(),
        iccid: None,
    }
}

/// Two labels: A (serial, two IMEIs, one of them misprinted, and an EID) shown twice more than
/// forget_ms apart, and B (serial, one IMEI) beside A's first appearance. 30 fps.
fn truth() -> SessionTruth {
    let a = unit(
        "SERIALA",
        &["350000000000001", "350000000000009"],
        Some("EIDA"),
    );
    let b = unit("SERIALB", &["490000000000002"], None);
    let label_a = TruthLabel {
        label: 0,
        kind: LabelKind::PhoneBox,
        unit: a.clone(),
        expected: vec![
            "SERIALA".to_owned(),
            "350000000000001".to_owned(),
            "EIDA".to_owned(),
        ],
        invalid_imeis: vec!["350000000000009".to_owned()],
        other: vec!["0194252000001".to_owned()],
    };
    let label_b = TruthLabel {
        label: 1,
        kind: LabelKind::BackLabel,
        unit: b.clone(),
        expected: vec!["SERIALB".to_owned(), "490000000000002".to_owned()],
        invalid_imeis: Vec::new(),
        other: Vec::new(),
    };
    let appearance = |l: &TruthLabel, first_frame, last_frame| Appearance {
        label: l.label,
        unit: l.unit.clone(),
        first_frame,
        last_frame,
        expected: l.expected.clone(),
        invalid_imeis: l.invalid_imeis.clone(),
    };
    // A: frames 0..=59 (0-1967 ms) and 300..=359 (10000-11967 ms); B: frames 30..=89.
    let appearances = vec![
        appearance(&label_a, 0, 59),
        appearance(&label_b, 30, 89),
        appearance(&label_a, 300, 359),
    ];
    let mut present = vec![Vec::new(); 400];
    for a in &appearances {
        for p in &mut present[a.first_frame..=a.last_frame] {
            p.push(a.label);
        }
    }
    SessionTruth {
        kind: SessionKind::SideBySide,
        seed: 0,
        fps: 30.0,
        forget_ms: FORGET_MS,
        width: 1280,
        height: 720,
        frames: 400,
        labels: vec![label_a, label_b],
        present,
        appearances,
    }
}

fn rec(id: i64, values: &[&str], opened_ms: i64, closed_ms: i64) -> RecordedUnit {
    RecordedUnit {
        id,
        values: values.iter().map(|s| (*s).to_owned()).collect(),
        invalid_imeis: Vec::new(),
        opened_ms,
        closed_ms: Some(closed_ms),
        amended: false,
    }
}

#[test]
fn a_perfect_station_scores_all_complete() {
    let t = truth();
    let mut a1 = rec(
        1,
        &["SERIALA", "350000000000001", "EIDA", "194252000001"],
        100,
        900,
    );
    a1.invalid_imeis = vec!["350000000000009".to_owned()];
    let b = rec(2, &["SERIALB", "490000000000002"], 1100, 1600);
    let mut a2 = a1.clone();
    a2.id = 3;
    a2.opened_ms = 10_100;
    a2.closed_ms = Some(10_600);
    let s = score(&t, &[a1, b, a2]);
    assert_eq!(
        s,
        SessionScore {
            expected: 3,
            complete: 3,
            invalid_expected: 2,
            units: 3,
            ..SessionScore::default()
        }
    );
}

#[test]
fn partial_missed_duplicate_wrong_pair_and_unflagged_are_counted() {
    let t = truth();
    let units = [
        // A's first appearance: a partial unit, then a second unit with the rest (a duplicate).
        rec(1, &["SERIALA", "350000000000001"], 100, 700),
        rec(2, &["EIDA"], 800, 1500),
        // B's unit also took A's EID: complete for B, and a wrong pair.
        rec(3, &["SERIALB", "490000000000002", "EIDA"], 1100, 2500),
        // A's second appearance is missed; a unit with A's serial long after everything is
        // attributed to nothing.
        rec(4, &["SERIALA"], 30_000, 30_500),
        // A ghost read sharing nothing with any label.
        rec(5, &["NOTHING"], 500, 600),
    ];
    let s = score(&t, &units);
    assert_eq!(s.expected, 3);
    assert_eq!(s.complete, 1, "{s:?}");
    assert_eq!(s.partial, 1, "{s:?}");
    assert_eq!(s.missed, 1, "{s:?}");
    assert_eq!(s.duplicates, 1, "{s:?}");
    assert_eq!(s.wrong_pairs, 1, "{s:?}");
    assert_eq!(s.invalid_expected, 2);
    assert_eq!(
        s.invalid_unflagged, 2,
        "nothing flagged the misprinted IMEI"
    );
    assert_eq!(s.unattributed, 2, "{s:?}");
    assert_eq!(s.units, 5);
}

#[test]
fn the_same_values_are_told_apart_by_time_and_amendments_counted() {
    let t = truth();
    // Two complete units for A near its first appearance (a duplicate), none for the second
    // (missed); a GTIN-14 and lower case still match.
    let mut first = rec(
        1,
        &["seriala", "350000000000001", "EIDA", "00194252000001"],
        0,
        500,
    );
    first.amended = true;
    let again = rec(2, &["SERIALA", "350000000000001", "EIDA"], 1500, 2100);
    let s = score(&t, &[first.clone(), again]);
    assert_eq!((s.complete, s.duplicates, s.missed), (1, 1, 2), "{s:?}");
    assert_eq!(s.amended, 1);
    // The same second unit recorded during A's second appearance fills it instead.
    let later = rec(2, &["SERIALA", "350000000000001", "EIDA"], 10_300, 10_900);
    let s = score(&t, &[first, later]);
    assert_eq!((s.complete, s.duplicates, s.missed), (2, 0, 1), "{s:?}");
    // A flag on a unit of the appearance clears the unflagged count of that appearance only.
    let mut flagged = rec(7, &["SERIALA"], 10_000, 10_500);
    flagged.invalid_imeis = vec!["350000000000009".to_owned()];
    let s = score(&t, &[flagged]);
    assert_eq!((s.invalid_expected, s.invalid_unflagged), (2, 1), "{s:?}");
    assert_eq!((s.partial, s.missed), (1, 2));
}

#[test]
fn scores_add_up() {
    let mut total = SessionScore::default();
    let one = SessionScore {
        expected: 2,
        complete: 1,
        partial: 1,
        duplicates: 3,
        ..SessionScore::default()
    };
    total += one;
    total += one;
    assert_eq!(
        (total.expected, total.complete, total.duplicates),
        (4, 2, 6)
    );
}
