//! The camera path end to end: generated label frames played by the `replay` source through the
//! real binary into SQLite. One label shown for many frames, an empty scene, then another label
//! must give exactly two complete units, each with a picture of its label in which the unit's
//! own barcodes still read.

use std::process::Stdio;

use scanstation::decode::Decoder;
use scanstation::store::Store;
use scanstation::synth::{SceneStep, scene};

use crate::util::{bin, run_with_stdin, stderr, stdout};

#[test]
fn replayed_scene_gives_one_unit_per_label() {
    let dir = tempfile::tempdir().expect("tempdir");
    let frames = dir.path().join("frames");
    let script = [
        SceneStep {
            label: Some(0),
            frames: 15,
        },
        SceneStep {
            label: None,
            frames: 12,
        },
        SceneStep {
            label: Some(1),
            frames: 15,
        },
    ];
    let scene = scene(&frames, 42, &script).expect("generate the scene");
    assert_eq!(scene.frames.len(), 42);
    let db = dir.path().join("camera.db");
    // Debug builds decode slowly; a generous budget keeps this test about grouping, not speed.
    let config = dir.path().join("station.toml");
    std::fs::write(&config, "[decode]\nbudget_ms = 20000\n").expect("config");
    let out = bin()
        .args(["run", "--json", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(&db)
        .arg("--source")
        .arg(format!("replay:{}@30", frames.display()))
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let events: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    // A unit may be acknowledged again when a value read later amends it; its last event is
    // its final state, and it is still one unit.
    let mut units: Vec<&serde_json::Value> = Vec::new();
    for event in events.iter().filter(|e| e["event"] == "unit") {
        match units.iter_mut().find(|u| u["id"] == event["id"]) {
            Some(unit) => {
                assert_eq!(
                    event["amended"], true,
                    "a second event is an amend: {event}"
                );
                *unit = event;
            }
            None => units.push(event),
        }
    }
    assert_eq!(units.len(), 2, "exactly one unit per label: {units:#?}");
    for (unit, truth) in units.iter().zip(&scene.units) {
        assert_eq!(unit["serial"], truth.serial.as_str(), "{unit}");
        let mut imeis: Vec<String> = unit["imeis"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        imeis.sort();
        let mut want = truth.imeis.clone();
        want.sort();
        assert_eq!(imeis, want, "{unit}");
        assert_eq!(unit["close_reason"], "label");
        assert_eq!(unit["status"], "ok", "{unit}");
    }
    // The picture behind each record: reported by `find --json`, written by `find --evidence`,
    // and readable: the unit's own serial barcode decodes from it.
    let decoder = Decoder::new(crate::util::patient_config());
    for truth in &scene.units {
        let out = bin()
            .args(["find", "--json", "--db"])
            .arg(&db)
            .arg(&truth.serial)
            .output()
            .expect("find");
        assert!(out.status.success(), "{}", stderr(&out));
        let found: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        let evidence = &found["units"][0]["evidence"];
        let bytes = evidence["bytes"].as_i64().unwrap_or(0);
        assert!(
            (1_000..400_000).contains(&bytes),
            "a label picture of a sensible size: {evidence}"
        );
        let jpeg = dir.path().join(format!("{}.jpg", truth.serial));
        let out = bin()
            .args(["find", "--db"])
            .arg(&db)
            .arg(&truth.serial)
            .arg("--evidence")
            .arg(&jpeg)
            .output()
            .expect("find --evidence");
        assert!(out.status.success(), "{}", stderr(&out));
        let picture = image::open(&jpeg).expect("a JPEG").to_luma8();
        assert_eq!(
            i64::from(picture.width()),
            evidence["width"].as_i64().unwrap_or(0)
        );
        let read: Vec<String> = decoder
            .decode(&picture)
            .expect("decode the picture")
            .into_iter()
            .map(|s| s.text)
            .collect();
        assert!(
            read.iter().any(|t| t.contains(truth.serial.as_str())),
            "the unit's serial barcode reads in its picture: {read:?}"
        );
        assert!(
            truth.imeis.iter().any(|i| read.contains(i)),
            "an IMEI barcode reads in its picture: {read:?}"
        );
    }
    let store = Store::open_read_only(&db).expect("open").expect("exists");
    assert_eq!(store.count("units").expect("count"), 2);
    assert_eq!(store.count("evidence").expect("count"), 2);
    let scans = store.scans_since(i64::MIN).expect("scans");
    assert!(scans.iter().all(|s| s.source.starts_with("replay:")));
    assert!(
        scans.iter().any(|s| s.symbology.as_deref() == Some("]C0")),
        "AIM identifiers kept"
    );
}

/// A replay that cannot start stops the station at once with what is wrong and where: a bad
/// suffix from the spec parser, a missing or empty folder from the source, each cause once.
#[test]
fn a_replay_that_cannot_start_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("r.db");
    let db = db.to_string_lossy();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let missing = dir.path().join("missing");
    let cases = [
        (
            "replay:frames@30,pace".to_owned(),
            "--source: unknown replay option \"pace\" in source \"replay:frames@30,pace\""
                .to_owned(),
        ),
        (
            format!("replay:{}", missing.display()),
            format!(
                "source replay:{m}: replay folder {m} does not exist",
                m = missing.display()
            ),
        ),
        (
            format!("replay:{},paced", empty.display()),
            format!(
                "source replay:{e},paced: replay folder {e} holds no images",
                e = empty.display()
            ),
        ),
    ];
    for (spec, want) in cases {
        let out = run_with_stdin(&["run", "--db", &db, "--source", &spec], b"");
        assert_eq!(out.status.code(), Some(1), "{spec}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(&want), "{spec}: {err}");
    }
}
