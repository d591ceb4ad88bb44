//! The desk card reads back: with the station's own decoder, and with zxing-cpp when Python
//! has it (CI installs it; elsewhere the test says it skipped that half).

use std::process::Command;

use scanstation::decode::{DecodeConfig, Decoder};
use scanstation::ident::Control;

use crate::util::{bin, stderr};

fn expected() -> Vec<String> {
    Control::all().into_iter().map(|c| c.to_string()).collect()
}

#[test]
fn card_png_reads_back_with_our_decoder_and_zxing_cpp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let png = dir.path().join("card.png");
    let out = bin()
        .args(["card", "--out"])
        .arg(&png)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let image = scanstation::decode::load_luma(&png).expect("load card");
    // The decoder stops starting new passes at a share of its frame budget; a parallel test run
    // on a busy machine could then miss a code, and this test is about the card, not speed.
    let symbols = Decoder::new(DecodeConfig {
        budget_ms: 60_000,
        ..DecodeConfig::default()
    })
    .decode(&image)
    .expect("decode");
    let mut found: Vec<String> = symbols.iter().map(|s| s.text.clone()).collect();
    found.sort();
    let mut want = expected();
    want.sort();
    assert_eq!(found, want, "our decoder reads every control barcode once");

    // Every control text also classifies as that control.
    for text in expected() {
        let c = scanstation::ident::classify(&text, None, &scanstation::ident::NoTacs);
        assert!(c.control.is_some() && c.valid(), "{text}");
    }

    let script = format!(
        "import sys, zxingcpp\nfrom PIL import Image\nfor b in zxingcpp.read_barcodes(Image.open({:?})):\n    print(b.text)\n",
        png.display().to_string()
    );
    match Command::new("python3").args(["-c", &script]).output() {
        Ok(o) if o.status.success() => {
            let mut other: Vec<String> = String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_owned)
                .collect();
            other.sort();
            assert_eq!(other, want, "zxing-cpp reads every control barcode");
        }
        Ok(o) => eprintln!(
            "NOTE: zxing-cpp (pip install zxing-cpp pillow) not available; only our decoder was checked: {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => eprintln!("NOTE: python3 not available ({e}); only our decoder was checked"),
    }
}

#[test]
fn card_svg_and_bad_extension() {
    let dir = tempfile::tempdir().expect("tempdir");
    let svg = dir.path().join("card.svg");
    let out = bin()
        .args(["card", "--out"])
        .arg(&svg)
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = std::fs::read_to_string(&svg).expect("svg");
    for control in expected() {
        assert!(text.contains(&control), "{control} caption in the SVG");
    }
    let bad = bin()
        .args(["card", "--out"])
        .arg(dir.path().join("card.pdf"))
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains(".png or .svg"));
}
