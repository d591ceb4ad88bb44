//! Camera records through the real binary: one still image of one label gives one unit with
//! every identifier the label carries and a picture of it; an IMEI that fails its check digit is
//! listed on its record (camera and handheld alike); a picture that cannot be stored never
//! holds back the record.

use std::path::Path;
use std::process::Stdio;

use scanstation::decode::Decoder;
use scanstation::ident::{self, IdKind, NoTacs};
use scanstation::store::Store;
use scanstation::synth::{
    FrameSpec, LabelKind, LabelSpec, Rng, UnitData, random_unit, render_frame,
};

use crate::util::{bin, run_with_stdin, stderr, stdout};

/// An easy frame (upright, sharp, 1280x720) of one label showing `unit`, saved as PNG.
fn easy_frame(path: &Path, kind: LabelKind, unit: &UnitData, seed: u64) {
    let spec = FrameSpec {
        width: 1280,
        height: 720,
        labels: vec![LabelSpec {
            kind,
            unit: Some(unit.clone()),
            layout_seed: seed,
            module_px: 2.6,
            rotation_deg: 1.5,
            perspective: 0.003,
            center: Some((0.5, 0.5)),
            inverted: false,
        }],
        background_seed: seed,
        clutter: 4,
        blur_sigma: 0.4,
        motion_blur: None,
        glare: 0.0,
        noise_sigma: 1.0,
        contrast: 1.0,
        jpeg_quality: None,
    };
    let frame = render_frame(&spec, &mut Rng::new(seed)).expect("render");
    frame
        .image
        .save_with_format(path, image::ImageFormat::Png)
        .expect("save");
}

/// Runs the station over image files and returns its JSON events (last event per unit wins).
fn run_images(db: &Path, images: &[&Path]) -> (Vec<serde_json::Value>, String) {
    let list = images
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    // These tests judge records, not speed: under a full parallel test run the default frame
    // budget can end a decode before it finds every symbol, which once made a unit go missing.
    let config = db.with_extension("toml");
    std::fs::write(&config, "[decode]\nbudget_ms = 20000\n").expect("config");
    let out = bin()
        .args(["run", "--json", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(db)
        .arg("--source")
        .arg(format!("images:{list}"))
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let mut units: Vec<serde_json::Value> = Vec::new();
    for line in stdout(&out).lines() {
        let event: serde_json::Value = serde_json::from_str(line).expect("json");
        if event["event"] != "unit" {
            continue;
        }
        match units.iter_mut().find(|u| u["id"] == event["id"]) {
            Some(unit) => *unit = event,
            None => units.push(event),
        }
    }
    (units, stderr(&out))
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn one_still_image_of_one_label_is_one_complete_unit_with_its_picture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("stills.db");
    let mut images = Vec::new();
    let mut truths = Vec::new();
    for (i, kind) in [
        LabelKind::PhoneBox,
        LabelKind::BackLabel,
        LabelKind::PhoneBox,
    ]
    .into_iter()
    .enumerate()
    {
        let unit = random_unit(&mut Rng::derive(991, i as u64));
        let path = dir.path().join(format!("label-{i}.png"));
        easy_frame(&path, kind, &unit, 500 + i as u64);
        images.push(path);
        truths.push(unit);
    }
    let paths: Vec<&Path> = images.iter().map(|p| p.as_path()).collect();
    let (units, log) = run_images(&db, &paths);
    assert_eq!(units.len(), 3, "one unit per label: {units:#?}\n{log}");
    // Every identifier the decoder reads in an image is in that image's one unit (a symbol the
    // decoder misses is a decoding matter, measured by `bench decode`, not a grouping one).
    let decoder = Decoder::new(crate::util::patient_config());
    for ((unit, truth), path) in units.iter().zip(&truths).zip(&images) {
        let picture = image::open(path).expect("open").to_luma8();
        let mut read_imeis: Vec<String> = Vec::new();
        let mut read_serial = None;
        for symbol in decoder.decode(&picture).expect("decode") {
            for id in ident::classify(&symbol.text, None, &NoTacs).identifiers {
                match id.kind {
                    IdKind::Imei if !read_imeis.contains(&id.value) => read_imeis.push(id.value),
                    IdKind::Serial => read_serial = Some(id.value),
                    _ => {}
                }
            }
        }
        assert_eq!(
            read_serial.as_deref(),
            Some(truth.serial.as_str()),
            "the fixture reads"
        );
        assert!(!read_imeis.is_empty(), "the fixture reads");
        assert_eq!(unit["serial"], truth.serial.as_str(), "{unit}");
        let mut imeis = strings(&unit["imeis"]);
        imeis.sort();
        read_imeis.sort();
        assert_eq!(imeis, read_imeis, "{unit}");
        assert!(imeis.iter().all(|i| truth.imeis.contains(i)), "{unit}");
        assert_eq!(unit["status"], "ok", "{unit}");
        assert_eq!(unit["invalid_imeis"], serde_json::json!([]), "{unit}");
    }
    let store = Store::open_read_only(&db).expect("open").expect("exists");
    for unit in &units {
        let id = unit["id"].as_i64().expect("id");
        let (bytes, w, h) = store
            .evidence_size(id)
            .expect("query")
            .expect("every camera unit has a picture");
        assert!(bytes > 1_000 && w > 100 && h > 50, "{bytes} bytes, {w}x{h}");
    }
}

#[test]
fn an_invalid_imei_is_listed_on_its_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Camera: a box label whose second IMEI is misprinted (last digit off by one).
    let mut unit = random_unit(&mut Rng::derive(4242, 0));
    while unit.imeis.len() < 2 {
        unit = random_unit(&mut Rng::derive(4242, unit.serial.len() as u64 + 7));
    }
    let good = unit.imeis[1].clone();
    let last = good
        .chars()
        .last()
        .and_then(|c| c.to_digit(10))
        .unwrap_or(0);
    let bad = format!("{}{}", &good[..14], (last + 1) % 10);
    assert!(!ident::classify(&bad, None, &NoTacs).valid());
    unit.imeis[1] = bad.clone();
    let image = dir.path().join("bad-imei.png");
    easy_frame(&image, LabelKind::PhoneBox, &unit, 77);
    let (units, log) = run_images(&dir.path().join("camera.db"), &[image.as_path()]);
    assert_eq!(units.len(), 1, "{units:#?}\n{log}");
    let record = &units[0];
    assert_eq!(
        strings(&record["invalid_imeis"]),
        vec![bad.clone()],
        "{record}"
    );
    assert_eq!(record["decision"], "quarantine", "{record}");
    let flags = record["flags"].to_string();
    assert!(flags.contains(&bad), "the flag names the bad IMEI: {flags}");
    assert_eq!(strings(&record["imeis"]), vec![unit.imeis[0].clone()]);

    // Handheld: the same rule.
    let db = dir.path().join("handheld.db");
    let input = format!("{}\n{}\n{bad}\n", unit.serial, unit.imeis[0]);
    let out = run_with_stdin(
        &["run", "--json", "--db", &db.display().to_string()],
        input.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let handheld: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "unit")
        .collect();
    assert_eq!(handheld.len(), 1, "{handheld:#?}");
    assert_eq!(strings(&handheld[0]["invalid_imeis"]), vec![bad.clone()]);
    // `find` shows it too.
    let out = bin()
        .args(["find", "--db"])
        .arg(&db)
        .arg(&unit.serial)
        .output()
        .expect("find");
    assert!(
        stdout(&out).contains(&format!("INVALID imei {bad}")),
        "{}",
        stdout(&out)
    );
    // The classifier agrees the good IMEI is an IMEI (the fixture is what it claims).
    assert!(
        ident::classify(&unit.imeis[0], None, &NoTacs)
            .identifiers
            .iter()
            .any(|i| i.kind == IdKind::Imei)
    );
}

#[test]
fn a_picture_that_cannot_be_stored_never_holds_back_the_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("refusing.db");
    let first = dir.path().join("first.png");
    let second = dir.path().join("second.png");
    let (a, b) = (
        random_unit(&mut Rng::derive(31, 1)),
        random_unit(&mut Rng::derive(31, 2)),
    );
    easy_frame(&first, LabelKind::PhoneBox, &a, 1);
    easy_frame(&second, LabelKind::PhoneBox, &b, 2);
    let (units, _) = run_images(&db, &[first.as_path()]);
    assert_eq!(units.len(), 1);
    // Now the store refuses every picture, as a full or broken disk would for that table.
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute_batch(
        "CREATE TRIGGER refuse_pictures BEFORE INSERT ON evidence
         BEGIN SELECT RAISE(ABORT, 'no room for pictures'); END;",
    )
    .expect("trigger");
    drop(conn);
    let (units, log) = run_images(&db, &[second.as_path()]);
    assert_eq!(units.len(), 1, "{log}");
    assert_eq!(units[0]["serial"], b.serial.as_str());
    assert!(log.contains("label picture not stored"), "{log}");
    assert!(log.contains("no room for pictures"), "{log}");
    let store = Store::open_read_only(&db).expect("open").expect("exists");
    assert_eq!(store.count("units").expect("count"), 2);
    assert_eq!(store.count("evidence").expect("count"), 1);
    assert_eq!(store.integrity_check().expect("check"), "ok");
}

#[test]
fn identifiers_that_disagree_hold_the_unit_in_quarantine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("consistency.db").display().to_string();
    for (tac, brand, model) in [
        ("35417803", "Apple", "iPhone X (A1901)"),
        ("49015420", "Samsung", "Galaxy S10 (SM-G973F)"),
    ] {
        let out = bin()
            .args(["tac", "set", "--db", &db, tac, brand, model])
            .output()
            .expect("tac set");
        assert!(out.status.success(), "{}", stderr(&out));
    }
    // An Apple serial with one Apple and one Samsung IMEI, then a Samsung serial on an Apple box.
    let input = "C02XG1ABJGH5\n354178036859789\n490154203237518\nR58M315CL4T\n354178036859797\n";
    let out = run_with_stdin(&["run", "--json", "--db", &db], input.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let units: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "unit")
        .collect();
    assert_eq!(units.len(), 2, "{units:#?}");
    let codes = |u: &serde_json::Value| -> Vec<String> {
        u["flags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f["code"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(units[0]["decision"], "quarantine", "{}", units[0]);
    assert!(codes(&units[0]).contains(&"imei_brand_mismatch".to_owned()));
    assert!(codes(&units[0]).contains(&"serial_brand_mismatch".to_owned()));
    assert_eq!(units[1]["decision"], "quarantine", "{}", units[1]);
    assert!(codes(&units[1]).contains(&"serial_brand_mismatch".to_owned()));
    assert!(
        units[1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("Samsung-format serial")),
        "{}",
        units[1]
    );
}
