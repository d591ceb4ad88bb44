//! The label-frame generator: determinism, valid identifiers, the manifest schema, corners, speed,
//! and a round trip through rxing proving that the fixtures say what they carry.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use rxing::common::HybridBinarizer;
use rxing::multi::{GenericMultipleBarcodeReader, MultipleBarcodeReader};
use rxing::{
    BarcodeFormat, BinaryBitmap, DecodeHintValue, DecodeHints, Luma8LuminanceSource,
    MultiFormatReader, Reader,
};
use scanstation::ident::{self, Kind, NoTacs};
use scanstation::synth::{
    Difficulty, FrameSpec, LabelKind, LabelSpec, MANIFEST_NAME, ManifestLine, Rng, SceneStep,
    UnitData, generate_set, random_unit, render_frame, render_label, scene,
};

fn rx_format(format: &str) -> BarcodeFormat {
    match format {
        "Code128" => BarcodeFormat::CODE_128,
        "DataMatrix" => BarcodeFormat::DATA_MATRIX,
        "EAN13" => BarcodeFormat::EAN_13,
        "UPCA" => BarcodeFormat::UPC_A,
        other => panic!("unexpected format {other}"),
    }
}

/// Every file of a folder, by name, with its bytes.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| {
            let e = e.expect("dir entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read file"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn same_seed_same_bytes_and_manifest_schema() {
    let (a, b, c) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let count = 4;
    let sa = generate_set(a.path(), count, 2024).expect("generate_set");
    let sb = generate_set(b.path(), count, 2024).expect("generate_set");
    generate_set(c.path(), 1, 2025).expect("generate_set");
    assert_eq!(sa.frames, count);
    assert_eq!(sa.easy + sa.medium + sa.hard, count);
    let fa = files(a.path());
    assert_eq!(fa.len(), count + 1, "frames plus the manifest");
    assert_eq!(fa, files(b.path()), "same seed, same bytes");
    let fc = files(c.path());
    assert_ne!(fa[0].1, fc[0].1, "another seed, another frame");
    assert_eq!(sb.symbols, sa.symbols);

    let manifest = std::fs::read_to_string(a.path().join(MANIFEST_NAME)).expect("read manifest");
    let lines: Vec<&str> = manifest.lines().collect();
    assert_eq!(lines.len(), count);
    let mut symbols = 0;
    for (i, line) in lines.iter().enumerate() {
        // The corpus schema, checked on the raw JSON so that field names are pinned.
        let v: serde_json::Value = serde_json::from_str(line).expect("from_str");
        for key in [
            "file",
            "width",
            "height",
            "tags",
            "difficulty",
            "expected",
            "devices",
            "source",
        ] {
            assert!(v.get(key).is_some(), "line {i} lacks {key}: {line}");
        }
        assert!(line.starts_with("{\"file\":"), "corpus key order");
        let m: ManifestLine = serde_json::from_str(line).expect("from_str");
        assert!(m.file.starts_with(&format!("frame-{i:05}.")));
        let img = image::open(a.path().join(&m.file))
            .expect("open frame")
            .to_luma8();
        assert_eq!((img.width(), img.height()), (m.width, m.height));
        assert!((640..=1920).contains(&m.width) && (480..=1080).contains(&m.height));
        assert!(["easy", "medium", "hard"].contains(&m.difficulty.as_str()));
        assert_eq!(m.tags.first().map(String::as_str), Some("synth"));
        assert_eq!(m.source.generator, "scanstation synth");
        assert_eq!((m.source.seed, m.source.index), (2024, i));
        assert_eq!(
            m.file.ends_with(".jpg"),
            m.tags.contains(&"jpeg".to_owned())
        );
        let negative = m.tags.contains(&"negative".to_owned());
        assert_eq!(negative, m.expected.is_empty(), "{line}");
        assert_eq!(negative, m.devices.is_empty());
        for e in &m.expected {
            assert!(["Code128", "DataMatrix", "EAN13", "UPCA"].contains(&e.format.as_str()));
            assert!(!e.text.is_empty());
            assert!(e.label < m.devices.len());
            assert_eq!(e.corners.len(), 4);
            for p in &e.corners {
                assert!(p[0] >= 0.0 && p[0] <= f64::from(m.width), "{line}");
                assert!(p[1] >= 0.0 && p[1] <= f64::from(m.height), "{line}");
            }
        }
        symbols += m.expected.len();
    }
    assert_eq!(symbols, sa.symbols);
}

/// Asserts that the classifier reads `text` as `kind` without rejecting it, with `value`.
fn classified(text: &str, kind: Kind, value: &str) {
    let c = ident::classify(text, None, &NoTacs);
    assert_eq!(c.rejection, None, "{text:?} rejected");
    assert_eq!(c.kind, kind, "{text:?}");
    assert_eq!(c.value, value, "{text:?}");
}

#[test]
fn generated_identifiers_pass_the_classifier() {
    let mut rng = Rng::new(31);
    let mut shapes = HashSet::new();
    for _ in 0..400 {
        let u: UnitData = random_unit(&mut rng);
        shapes.insert((u.serial.len(), u.is_samsung()));
        classified(&u.serial_barcode(), Kind::Serial, &u.serial);
        classified(&u.serial, Kind::Serial, &u.serial);
        if !u.is_samsung() {
            classified(&format!("1P{}", u.part), Kind::Part, &u.part);
        }
        for imei in &u.imeis {
            classified(imei, Kind::Imei, imei);
        }
        if let Some(eid) = &u.eid {
            classified(eid, Kind::Eid, eid);
        }
        if let Some(iccid) = &u.iccid {
            classified(iccid, Kind::Iccid, iccid);
        }
        classified(&u.gtin, Kind::Gtin, &u.gtin);
        if let Some(upc) = u.gtin.strip_prefix('0') {
            classified(upc, Kind::Gtin, upc);
        }
    }
    // Apple 12 and 10, Samsung 11.
    assert!(shapes.contains(&(12, false)) && shapes.contains(&(10, false)));
    assert!(shapes.contains(&(11, true)));
}

#[test]
fn every_symbol_text_classifies_cleanly() {
    let mut rng = Rng::new(8);
    for i in 0..12u64 {
        let unit = random_unit(&mut rng);
        for kind in LabelKind::ALL {
            let label = render_label(kind, &unit, 1.0, i).expect("render_label");
            for s in &label.symbols {
                let c = ident::classify(&s.text, None, &NoTacs);
                assert_eq!(c.rejection, None, "{kind:?} {:?}", s.text);
                assert_ne!(c.kind, Kind::Unknown);
                if s.format == "DataMatrix" {
                    assert_eq!(c.kind, Kind::Gs1, "{:?}", s.text);
                    assert!(c.identifiers.iter().any(|id| id.value == unit.serial));
                }
            }
        }
    }
}

/// Decodes a grey crop with rxing, looking for one format only.
fn decode_crop(
    img: &image::GrayImage,
    rect: [u32; 4],
    format: BarcodeFormat,
) -> Option<(BarcodeFormat, String)> {
    let [x0, y0, x1, y1] = rect;
    let crop = image::imageops::crop_imm(img, x0, y0, x1 - x0, y1 - y0).to_image();
    let (w, h) = crop.dimensions();
    let source = Luma8LuminanceSource::new(crop.into_raw(), w, h).ok()?;
    let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
    let hints = DecodeHints::default()
        .with(DecodeHintValue::TryHarder(true))
        .with(DecodeHintValue::PossibleFormats(HashSet::from([format])));
    let r = MultiFormatReader::default()
        .decode_with_hints(&mut bitmap, &hints)
        .ok()?;
    Some((*r.getBarcodeFormat(), r.getText().to_owned()))
}

/// All texts rxing's multi reader finds in a whole image.
fn decode_all(img: &image::GrayImage) -> HashSet<String> {
    let (w, h) = img.dimensions();
    let Ok(source) = Luma8LuminanceSource::new(img.as_raw().clone(), w, h) else {
        return HashSet::new();
    };
    let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
    // The label formats only, as the station configures them: TryHarder alone reads EAN-8
    // "ghosts" in background clutter (DECODE.md).
    let formats = ["Code128", "DataMatrix", "EAN13", "UPCA"].map(rx_format);
    let hints = DecodeHints::default()
        .with(DecodeHintValue::TryHarder(true))
        .with(DecodeHintValue::PossibleFormats(HashSet::from(formats)));
    GenericMultipleBarcodeReader::new(MultiFormatReader::default())
        .decode_multiple_with_hints(&mut bitmap, &hints)
        .map(|rs| rs.iter().map(|r| r.getText().to_owned()).collect())
        .unwrap_or_default()
}

#[test]
fn upright_labels_round_trip_through_rxing() {
    let module = 3.0;
    let mut rng = Rng::new(4242);
    let mut checked = 0;
    for i in 0..4u64 {
        let unit = random_unit(&mut rng);
        for kind in LabelKind::ALL {
            let label = render_label(kind, &unit, module, 100 + i).expect("render_label");
            let (w, h) = label.image.dimensions();
            let whole = decode_all(&label.image);
            for s in &label.symbols {
                // A crop around the outline proves the corners as well as the text: the quiet zone
                // is ten modules wide, and rows are a few modules apart.
                let xs = s.corners.iter().map(|p| p.0);
                let ys = s.corners.iter().map(|p| p.1);
                let pad_x = if s.format == "DataMatrix" { 2.0 } else { 8.0 } * module;
                let pad_y = module;
                let rect = [
                    (xs.clone().fold(f32::INFINITY, f32::min) - pad_x).max(0.0) as u32,
                    (ys.clone().fold(f32::INFINITY, f32::min) - pad_y).max(0.0) as u32,
                    ((xs.fold(0.0, f32::max) + pad_x).ceil() as u32).min(w),
                    ((ys.fold(0.0, f32::max) + pad_y).ceil() as u32).min(h),
                ];
                let got = decode_crop(&label.image, rect, rx_format(s.format));
                assert_eq!(
                    got,
                    Some((rx_format(s.format), s.text.clone())),
                    "{kind:?} {} {:?} (whole-label reads: {whole:?})",
                    s.format,
                    s.text
                );
                checked += 1;
            }
            assert!(
                !whole.is_empty(),
                "{kind:?}: rxing read nothing on the whole label"
            );
        }
    }
    assert!(checked >= 4 * (5 + 3 + 1));
}

fn spec(kind: LabelKind, width: u32, height: u32) -> FrameSpec {
    FrameSpec {
        width,
        height,
        labels: vec![LabelSpec {
            kind,
            unit: None,
            layout_seed: 1,
            module_px: 2.0,
            rotation_deg: 17.0,
            perspective: 0.02,
            center: None,
            inverted: false,
        }],
        background_seed: 3,
        clutter: 10,
        blur_sigma: 0.8,
        motion_blur: None,
        glare: 0.3,
        noise_sigma: 3.0,
        contrast: 0.8,
        jpeg_quality: Some(75),
    }
}

#[test]
fn frames_of_each_layout_render_quickly_at_several_sizes() {
    let mut slowest = 0.0f64;
    for kind in LabelKind::ALL {
        for (w, h) in [(640, 480), (1280, 720), (1920, 1080)] {
            let t = Instant::now();
            let f =
                render_frame(&spec(kind, w, h), &mut Rng::new(u64::from(w))).expect("render_frame");
            let secs = t.elapsed().as_secs_f64();
            slowest = slowest.max(secs);
            eprintln!("{} {w}x{h}: {:.0} ms", kind.tag(), secs * 1000.0);
            assert_eq!(f.image.dimensions(), (w, h));
            assert_eq!(f.units.len(), 1);
            assert!(!f.symbols.is_empty());
            for s in &f.symbols {
                assert!(
                    s.corners
                        .iter()
                        .all(|&(x, y)| x >= 0.0 && y >= 0.0 && x <= w as f32 && y <= h as f32)
                );
            }
        }
    }
    // A 1080p frame takes about 0.25 s in the test profile (opt-level 1) and 0.1 s in release;
    // the bound leaves room for a loaded CI machine.
    assert!(slowest < 10.0, "slowest frame took {slowest:.1} s");
}

#[test]
fn two_labels_and_negatives() {
    let mut s = spec(LabelKind::BackLabel, 1280, 720);
    let mut second = s.labels[0].clone();
    second.kind = LabelKind::SimTray;
    second.rotation_deg = 200.0;
    s.labels.push(second);
    let f = render_frame(&s, &mut Rng::new(6)).expect("render_frame");
    assert_eq!(f.units.len(), 2);
    assert!(f.symbols.iter().any(|x| x.label == 0) && f.symbols.iter().any(|x| x.label == 1));
    assert!(f.tags().contains(&"two-labels".to_owned()));
    // The halves do not overlap: label 0 is left of the middle, label 1 right of it.
    assert!(f.labels[0].corners.iter().all(|p| p.0 <= 640.0));
    assert!(f.labels[1].corners.iter().all(|p| p.0 >= 640.0));

    s.labels.clear();
    let f = render_frame(&s, &mut Rng::new(6)).expect("render_frame");
    assert!(f.symbols.is_empty() && f.units.is_empty());
    assert!(f.tags().contains(&"negative".to_owned()));
}

#[test]
fn easy_specs_are_graded_easy() {
    let mut rng = Rng::new(12);
    let mut easy = 0;
    for _ in 0..6 {
        let mut s = FrameSpec::random(Difficulty::Easy, 1, &mut rng);
        s.width = 1280;
        s.height = 720;
        let f = render_frame(&s, &mut rng).expect("render_frame");
        assert!(
            f.labels
                .iter()
                .all(|l| l.module_px >= 2.0 || l.module_px < s.labels[0].module_px)
        );
        easy += usize::from(f.difficulty() == Difficulty::Easy);
    }
    assert!(easy >= 4, "{easy} of 6 easy specs graded easy");
}

#[test]
fn scenes_keep_units_and_order_and_stay_readable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = [
        SceneStep {
            label: None,
            frames: 1,
        },
        SceneStep {
            label: Some(0),
            frames: 2,
        },
        SceneStep {
            label: None,
            frames: 1,
        },
        SceneStep {
            label: Some(1),
            frames: 1,
        },
    ];
    let sc = scene(dir.path(), 77, &script).expect("scene");
    assert_eq!(sc.units.len(), 2);
    assert_ne!(sc.units[0], sc.units[1]);
    let names: Vec<String> = sc
        .frames
        .iter()
        .map(|p| {
            p.file_name()
                .expect("file_name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let want: Vec<String> = (0..5).map(|i| format!("scene-{i:05}.png")).collect();
    assert_eq!(names, want);
    // Units depend on the seed and the label indices only, not on the rest of the script.
    let short = [SceneStep {
        label: Some(1),
        frames: 1,
    }];
    let again = scene(tempfile::tempdir().expect("tempdir").path(), 77, &short).expect("scene");
    assert_eq!(again.units, sc.units, "units are fixed by the seed");

    let images: Vec<image::GrayImage> = sc
        .frames
        .iter()
        .map(|p| image::open(p).expect("open").to_luma8())
        .collect();
    // Consecutive frames of one label differ only by a small jitter.
    assert_ne!(images[1], images[2]);
    // rxing (TryHarder) reads identifiers of the shown unit and nothing on the empty desk.
    let unit_texts = |u: &UnitData| {
        let mut t: HashSet<String> = u.imeis.iter().cloned().collect();
        t.insert(u.serial.clone());
        t.insert(u.serial_barcode());
        t.insert(format!("1P{}", u.part));
        t.insert(u.gtin.clone());
        t.extend(u.gtin.strip_prefix('0').map(str::to_owned));
        t.extend(u.eid.clone());
        t
    };
    for (i, img) in images.iter().enumerate() {
        let found = decode_all(img);
        let unit = match i {
            1 | 2 => Some(&sc.units[0]),
            4 => Some(&sc.units[1]),
            _ => None,
        };
        match unit {
            Some(u) => {
                let texts = unit_texts(u);
                assert!(
                    found.iter().any(|t| texts.contains(t)),
                    "frame {i}: read {found:?}, unit {u:?}"
                );
                for t in &found {
                    assert!(
                        texts.contains(t) || t.starts_with("01"),
                        "frame {i}: {t:?} is not from the unit"
                    );
                }
            }
            None => assert!(
                found.is_empty(),
                "frame {i}: read {found:?} on an empty desk"
            ),
        }
    }
}

/// Timing of `generate_set`; run with
/// `cargo test --release --test integration synth::generate_set_timing -- --ignored --nocapture`
/// (`SYNTH_BENCH_COUNT` frames, 100 by default).
#[test]
#[ignore]
fn generate_set_timing() {
    let count = std::env::var("SYNTH_BENCH_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    let summary = generate_set(dir.path(), count, 1).expect("generate_set");
    let secs = t.elapsed().as_secs_f64();
    let bytes: u64 = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .map(|e| e.expect("dir entry").metadata().expect("metadata").len())
        .sum();
    eprintln!(
        "generate_set: {count} frames in {secs:.1} s ({:.0} ms/frame on {} threads), {:.1} MB; {summary:?}",
        secs * 1000.0 / count as f64,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        bytes as f64 / 1e6
    );
}

/// Straightens the symbol with outline `corners` out of `frame` (bars vertical, with a quiet zone)
/// at `scale` pixels per frame pixel, bicubic, the way a locator-based decoder front end would.
fn straighten(
    frame: &image::GrayImage,
    corners: &[[f64; 2]],
    scale: f64,
    square: bool,
) -> image::GrayImage {
    use scanstation::synth::raster::{Canvas, Homography};
    let d = |a: &[f64; 2], b: &[f64; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let (len, height) = (d(&corners[0], &corners[1]), d(&corners[1], &corners[2]));
    let quiet = if square {
        0.15 * len
    } else {
        0.12 * len + 12.0
    };
    let (w, h) = (
        (len + 2.0 * quiet) * scale,
        (height + 2.0 * quiet.min(height)) * scale,
    );
    let (qx, qy) = (quiet * scale, quiet.min(height) * scale);
    let dst = [(qx, qy), (w - qx, qy), (w - qx, h - qy), (qx, h - qy)];
    let src = [0, 1, 2, 3].map(|i| (corners[i][0], corners[i][1]));
    let to_frame = Homography::from_points(&dst, &src).expect("from_points");
    let canvas = Canvas {
        width: frame.width() as usize,
        height: frame.height() as usize,
        px: frame.as_raw().iter().map(|&v| f32::from(v)).collect(),
    };
    image::GrayImage::from_fn(w as u32, h as u32, |x, y| {
        let (fx, fy) = to_frame.apply(f64::from(x) + 0.5, f64::from(y) + 0.5);
        image::Luma([canvas.bicubic(fx as f32, fy as f32).clamp(0.0, 255.0) as u8])
    })
}

/// Recall of rxing on a generated set when each symbol is straightened with its true outline:
/// the upper bound DECODE.md measures for zxing-family decoders, per difficulty. Run with
/// `cargo test --release --test integration synth::straightened_recall -- --ignored --nocapture`.
#[test]
#[ignore]
fn straightened_recall() {
    let count = std::env::var("SYNTH_BENCH_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().expect("tempdir");
    generate_set(dir.path(), count, 7).expect("generate_set");
    let manifest = std::fs::read_to_string(dir.path().join(MANIFEST_NAME)).expect("read manifest");
    let mut tally: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for line in manifest.lines() {
        let m: ManifestLine = serde_json::from_str(line).expect("from_str");
        let frame = image::open(dir.path().join(&m.file))
            .expect("open frame")
            .to_luma8();
        for e in &m.expected {
            let square = e.format == "DataMatrix";
            let strip = straighten(&frame, &e.corners, 2.0, square);
            let (w, h) = strip.dimensions();
            let ok = decode_crop(&strip, [0, 0, w, h], rx_format(&e.format))
                .is_some_and(|(_, t)| t == e.text);
            let mut keys = vec![m.difficulty.clone(), e.format.clone(), "all".to_owned()];
            keys.extend(
                m.tags
                    .iter()
                    .filter(|t| !t.starts_with("rot"))
                    .map(|t| format!("{}:{t}", m.difficulty)),
            );
            for key in keys {
                let t = tally.entry(key).or_default();
                t.0 += usize::from(ok);
                t.1 += 1;
            }
        }
    }
    for (k, (ok, n)) in &tally {
        eprintln!(
            "{k:>10}: {ok}/{n} = {:.1} %",
            100.0 * *ok as f64 / (*n).max(1) as f64
        );
    }
    let (ok, n) = tally.get("easy").copied().unwrap_or_default();
    assert!(
        ok * 10 >= n * 9,
        "easy symbols straightened with their true outline: {ok}/{n}"
    );
}
