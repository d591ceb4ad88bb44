//! Label regions: symbols grouped by the paper sheet they sit on, on generated frames whose
//! ground truth says which label carries each symbol.

use image::{GrayImage, Luma};
use scanstation::decode::{
    Decoder, Format, LabelRegion, RegionMethod, RegionParams, Symbol, label_regions,
};
use scanstation::synth::{
    FrameSpec, GeneratedFrame, LabelKind, LabelSpec, PlacedSymbol, Rng, random_unit, render_frame,
    render_label,
};

fn symbol(p: &PlacedSymbol) -> Symbol {
    Symbol {
        format: Format::parse(p.format).expect("a known format"),
        text: p.text.clone(),
        raw: p.text.as_bytes().to_vec(),
        aim: String::new(),
        corners: p.corners,
    }
}

fn label_spec(kind: LabelKind, layout_seed: u64, rotation_deg: f32) -> LabelSpec {
    LabelSpec {
        kind,
        unit: None,
        layout_seed,
        module_px: 2.0,
        rotation_deg,
        perspective: 0.02,
        center: None,
        inverted: false,
    }
}

fn frame_spec(labels: Vec<LabelSpec>, background_seed: u64) -> FrameSpec {
    FrameSpec {
        width: 1280,
        height: 720,
        labels,
        background_seed,
        clutter: 8,
        blur_sigma: 0.6,
        motion_blur: None,
        glare: 0.0,
        noise_sigma: 3.0,
        contrast: 0.9,
        jpeg_quality: None,
    }
}

fn render(spec: &FrameSpec, seed: u64) -> GeneratedFrame {
    render_frame(spec, &mut Rng::new(seed)).expect("render_frame")
}

/// Every symbol index appears in exactly one region.
fn assert_partition(regions: &[LabelRegion], n: usize) {
    let mut seen = vec![0; n];
    for r in regions {
        for &i in &r.symbols {
            seen[i] += 1;
        }
    }
    assert!(seen.iter().all(|&c| c == 1), "{seen:?} in {regions:?}");
}

/// The regions as sets of ground-truth labels; each region must hold one label only, and each
/// label must be in one region.
fn assert_matches_truth(regions: &[LabelRegion], labels: &[usize]) {
    assert_partition(regions, labels.len());
    for r in regions {
        let first = labels[r.symbols[0]];
        assert!(
            r.symbols.iter().all(|&i| labels[i] == first),
            "a region joins two labels: {r:?}, truth {labels:?}"
        );
    }
    let distinct: std::collections::BTreeSet<usize> = labels.iter().copied().collect();
    assert_eq!(
        regions.len(),
        distinct.len(),
        "labels split apart: {regions:?}, truth {labels:?}"
    );
}

/// The outline, a convex quadrilateral, contains every corner of every symbol of its region.
fn assert_outline_contains(region: &LabelRegion, symbols: &[Symbol], slack: f32) {
    let o = region.outline;
    for &i in &region.symbols {
        for &(x, y) in &symbols[i].corners {
            for k in 0..4 {
                let (a, b) = (o[k], o[(k + 1) % 4]);
                let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt().max(1e-6);
                // Clockwise on screen: inside points lie to the right of each edge.
                let side = ((b.0 - a.0) * (y - a.1) - (b.1 - a.1) * (x - a.0)) / len;
                assert!(
                    side >= -slack,
                    "corner ({x}, {y}) of symbol {i} outside outline {o:?} by {side}"
                );
            }
        }
    }
}

fn check_frame(frame: &GeneratedFrame) -> Vec<LabelRegion> {
    let symbols: Vec<Symbol> = frame.symbols.iter().map(symbol).collect();
    let labels: Vec<usize> = frame.symbols.iter().map(|s| s.label).collect();
    let regions = label_regions(&frame.image, &symbols, &RegionParams::default());
    assert_matches_truth(&regions, &labels);
    for r in &regions {
        assert_outline_contains(r, &symbols, 0.5);
        assert!(r.sharpness.is_finite() && r.sharpness > 0.0, "{r:?}");
    }
    regions
}

#[test]
fn two_column_labels_are_one_sheet() {
    // Layout seeds alternate between the Data Matrix column on the right and the row below, so
    // both arrangements of the phone-box label and the back label are covered.
    let mut kinds_seen = 0;
    for (i, kind) in [LabelKind::PhoneBox, LabelKind::BackLabel]
        .into_iter()
        .enumerate()
    {
        for layout_seed in 0..6u64 {
            let rotation = 17.0 + 41.0 * layout_seed as f32;
            let spec = frame_spec(
                vec![label_spec(kind, layout_seed, rotation)],
                3 + layout_seed,
            );
            let frame = render(&spec, 100 + layout_seed + 10 * i as u64);
            assert!(frame.symbols.len() >= 3, "{kind:?} has several symbols");
            // One region holding every symbol (check_frame asserts the grouping matches the
            // truth); most are found as a sheet, a few fall back to the gap rule.
            let regions = check_frame(&frame);
            assert_eq!(regions.len(), 1, "{kind:?} seed {layout_seed}");
            kinds_seen += 1;
        }
    }
    assert_eq!(kinds_seen, 12);
}

#[test]
fn a_data_matrix_far_from_the_rows_stays_on_its_label() {
    // The Data Matrix sits beside or below the 1D rows; whatever the layout, it stays on its
    // label's one region.
    let mut checked = 0;
    for layout_seed in 0..20u64 {
        let spec = frame_spec(
            vec![label_spec(LabelKind::PhoneBox, layout_seed, 0.0)],
            layout_seed,
        );
        let frame = render(&spec, layout_seed);
        let symbols: Vec<Symbol> = frame.symbols.iter().map(symbol).collect();
        if !symbols.iter().any(|s| s.format == Format::DataMatrix) {
            continue;
        }
        let regions = check_frame(&frame);
        assert_eq!(regions.len(), 1, "layout {layout_seed}: {regions:?}");
        checked += 1;
    }
    assert!(
        checked >= 10,
        "only {checked} phone-box labels carry a Data Matrix"
    );
}

#[test]
fn two_labels_side_by_side_are_two_regions() {
    for seed in 0..4u64 {
        let spec = frame_spec(
            vec![
                label_spec(LabelKind::PhoneBox, seed, 10.0 * seed as f32),
                label_spec(LabelKind::BackLabel, seed + 50, 200.0 + 7.0 * seed as f32),
            ],
            seed + 20,
        );
        let frame = render(&spec, seed + 30);
        let regions = check_frame(&frame);
        assert_eq!(regions.len(), 2);
    }
}

/// Two upright labels pasted onto a `background` canvas with `gap` pixels between them; with
/// `line`, a one-pixel edge line of that grey level is drawn in the middle of the gap (or on the
/// seam when the gap is zero), like the shadow of one sheet's edge on the other.
fn touching(gap: u32, line: Option<u8>, background: u8) -> (GrayImage, Vec<Symbol>, Vec<usize>) {
    let mut rng = Rng::new(77);
    let a = render_label(LabelKind::PhoneBox, &random_unit(&mut rng), 2.0, 4).expect("label");
    let b = render_label(LabelKind::BackLabel, &random_unit(&mut rng), 2.5, 9).expect("label");
    let (x0, y0) = (60u32, 80u32);
    let xb = x0 + a.image.width() + gap;
    let w = xb + b.image.width() + 60;
    let h = y0 + a.image.height().max(b.image.height()) + 80;
    let mut img = GrayImage::from_pixel(w, h, Luma([background]));
    for (label, x) in [(&a, x0), (&b, xb)] {
        for (px, py, p) in label.image.enumerate_pixels() {
            img.put_pixel(x + px, y0 + py, *p);
        }
    }
    if let Some(v) = line {
        let x = x0 + a.image.width() + gap / 2;
        let x = if gap == 0 { x - 1 } else { x };
        for y in y0..y0 + a.image.height().min(b.image.height()) {
            img.put_pixel(x, y, Luma([v]));
        }
    }
    let mut symbols = Vec::new();
    let mut labels = Vec::new();
    for (k, (label, x)) in [(&a, x0), (&b, xb)].into_iter().enumerate() {
        for s in &label.symbols {
            let mut sym = symbol(s);
            sym.corners = s.corners.map(|(px, py)| (px + x as f32, py + y0 as f32));
            symbols.push(sym);
            labels.push(k);
        }
    }
    (img, symbols, labels)
}

#[test]
fn touching_labels_are_two_regions() {
    for (gap, line) in [(3, None), (2, None), (0, Some(150)), (1, Some(170))] {
        let (img, symbols, labels) = touching(gap, line, 110);
        let regions = label_regions(&img, &symbols, &RegionParams::default());
        assert_matches_truth(&regions, &labels);
        for r in &regions {
            assert_outline_contains(r, &symbols, 0.5);
        }
    }
}

#[test]
fn labels_on_a_white_background_fall_back_without_merging() {
    // Paper on white paper: no sheet stands out, so the gap rule groups the symbols; the two
    // labels are far enough apart that it keeps them apart.
    let (img, symbols, labels) = touching(120, None, 250);
    let regions = label_regions(&img, &symbols, &RegionParams::default());
    assert_partition(&regions, symbols.len());
    assert!(
        regions.iter().all(|r| r.method == RegionMethod::Fallback),
        "{regions:?}"
    );
    for r in &regions {
        let first = labels[r.symbols[0]];
        assert!(r.symbols.iter().all(|&i| labels[i] == first), "{r:?}");
        assert_outline_contains(r, &symbols, 0.5);
    }
}

#[test]
fn empty_and_degenerate_inputs_do_not_panic() {
    let params = RegionParams::default();
    let frame = render(&frame_spec(vec![], 5), 5);
    assert!(label_regions(&frame.image, &[], &params).is_empty());

    let mut odd = symbol(&PlacedSymbol {
        format: "Code128",
        text: "X".to_owned(),
        corners: [(10.0, 10.0), (50.0, 10.0), (50.0, 20.0), (10.0, 20.0)],
        label: 0,
    });
    let mut symbols = Vec::new();
    for corners in [
        [
            (f32::NAN, 1.0),
            (2.0, f32::INFINITY),
            (3.0, 3.0),
            (4.0, 4.0),
        ],
        [(f32::NAN, f32::NAN); 4],
        [(5.0, 5.0); 4],
        [(-1e30, -1e30), (1e30, -1e30), (1e30, 1e30), (-1e30, 1e30)],
        [
            (-500.0, -500.0),
            (-400.0, -500.0),
            (-400.0, -450.0),
            (-500.0, -450.0),
        ],
        [(10.0, 10.0), (50.0, 10.0), (50.0, 20.0), (10.0, 20.0)],
    ] {
        odd.corners = corners;
        symbols.push(odd.clone());
    }
    for img in [
        GrayImage::new(0, 0),
        GrayImage::new(1, 1),
        GrayImage::from_pixel(3, 2, Luma([255])),
        frame.image.clone(),
    ] {
        let regions = label_regions(&img, &symbols, &params);
        assert_partition(&regions, symbols.len());
        for r in &regions {
            assert!(
                r.outline.iter().all(|p| p.0.is_finite() && p.1.is_finite()),
                "{r:?}"
            );
            assert!(r.sharpness.is_finite());
        }
    }
    for downscale in [0, 1, 3, 100] {
        let p = RegionParams {
            downscale,
            ..RegionParams::default()
        };
        assert_partition(&label_regions(&frame.image, &symbols, &p), symbols.len());
    }
}

#[test]
fn a_label_cut_by_the_frame_edge_keeps_its_visible_symbols_together() {
    let spec = frame_spec(vec![label_spec(LabelKind::PhoneBox, 2, 8.0)], 11);
    let frame = render(&spec, 12);
    // Crop so the frame ends in the middle of the label: symbols past the edge keep corners
    // outside the new frame, as a decoder never reports but a tracker's prediction might.
    let b = frame.labels[0].corners;
    let mid = (b.iter().map(|p| p.0).sum::<f32>() / 4.0) as u32;
    let cropped =
        image::imageops::crop_imm(&frame.image, 0, 0, mid, frame.image.height()).to_image();
    let symbols: Vec<Symbol> = frame.symbols.iter().map(symbol).collect();
    let regions = label_regions(&cropped, &symbols, &RegionParams::default());
    assert_partition(&regions, symbols.len());
    let visible: Vec<usize> = (0..symbols.len())
        .filter(|&i| symbols[i].corners.iter().all(|c| c.0 < mid as f32 - 2.0))
        .collect();
    assert!(visible.len() >= 2, "the crop leaves several whole symbols");
    let holding = regions
        .iter()
        .filter(|r| r.symbols.iter().any(|i| visible.contains(i)))
        .count();
    assert_eq!(holding, 1, "{regions:?}");
    for r in &regions {
        assert_outline_contains(r, &symbols, 0.5);
    }
}

#[test]
fn real_decoder_output_groups_like_the_truth() {
    let decoder = Decoder::new(crate::util::patient_config());
    let mut grouped = 0;
    for seed in 0..3u64 {
        let spec = frame_spec(
            vec![
                label_spec(LabelKind::PhoneBox, seed + 1, 3.0 * seed as f32),
                label_spec(LabelKind::BackLabel, seed + 7, 90.0 + 3.0 * seed as f32),
            ],
            seed + 40,
        );
        let frame = render(&spec, seed + 41);
        let symbols = decoder.decode(&frame.image).expect("decode");
        // Each decoded symbol takes the label of the ground-truth symbol with its text.
        let labels: Vec<usize> = symbols
            .iter()
            .map(|s| {
                frame
                    .symbols
                    .iter()
                    .find(|p| {
                        p.text == s.text || p.text.ends_with(&s.text) || s.text.ends_with(&p.text)
                    })
                    .map(|p| p.label)
                    .expect("every decoded symbol is on a label")
            })
            .collect();
        let regions = label_regions(&frame.image, &symbols, &RegionParams::default());
        assert_matches_truth(&regions, &labels);
        for r in &regions {
            assert_outline_contains(r, &symbols, 0.5);
        }
        grouped += symbols.len();
    }
    assert!(grouped >= 8, "only {grouped} symbols decoded");
}

#[test]
fn sharpness_drops_when_the_frame_is_blurred() {
    let mut spec = frame_spec(vec![label_spec(LabelKind::BackLabel, 3, 30.0)], 8);
    let sharp = render(&spec, 9);
    spec.blur_sigma = 2.0;
    let blurred = render(&spec, 9);
    let params = RegionParams::default();
    let a = label_regions(
        &sharp.image,
        &sharp.symbols.iter().map(symbol).collect::<Vec<_>>(),
        &params,
    );
    let b = label_regions(
        &blurred.image,
        &blurred.symbols.iter().map(symbol).collect::<Vec<_>>(),
        &params,
    );
    assert_eq!((a.len(), b.len()), (1, 1));
    assert!(
        a[0].sharpness > 1.5 * b[0].sharpness,
        "{} vs {}",
        a[0].sharpness,
        b[0].sharpness
    );
}
