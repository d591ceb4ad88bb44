//! Label layouts in module units, and their upright rendering.
//!
//! A layout is geometry only: ink rectangles and symbol outlines in units of the narrowest
//! Code 128 module. Keeping it resolution-free lets the same label be drawn upright for the
//! round-trip tests and warped into a frame at any size, with exact ground-truth corners.

use image::GrayImage;
use serde::{Deserialize, Serialize};

use super::font;
use super::raster::{Canvas, add_rect_coverage};
use super::rng::Rng;
use super::symbol::{self, Encoded, GS, Modules};
use super::unit::UnitData;
use super::{PlacedSymbol, SynthError};

/// The label designs the generator draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelKind {
    /// The end label of a phone box: stacked Code 128 rows, an EAN-13/UPC-A and a GS1 Data Matrix.
    PhoneBox,
    /// The small regulatory label on a device back: IMEI and serial Code 128 and a Data Matrix.
    BackLabel,
    /// A SIM tray: one short Code 128 (ICCID, or IMEI when the unit has no SIM) with small modules.
    SimTray,
}

impl LabelKind {
    pub const ALL: [LabelKind; 3] = [
        LabelKind::PhoneBox,
        LabelKind::BackLabel,
        LabelKind::SimTray,
    ];

    /// The manifest tag of the layout.
    pub fn tag(self) -> &'static str {
        match self {
            LabelKind::PhoneBox => "phone-box",
            LabelKind::BackLabel => "back-label",
            LabelKind::SimTray => "sim-tray",
        }
    }
}

/// One symbol of a layout: what it says and where its modules are, in units.
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutSymbol {
    pub format: &'static str,
    pub text: String,
    /// Top-left, top-right, bottom-right, bottom-left of the symbol's modules (quiet zone excluded).
    pub quad: [(f32, f32); 4],
}

/// A label as geometry in units of its narrowest Code 128 module.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub kind: LabelKind,
    pub width: f32,
    pub height: f32,
    /// Grey level of the label material and of its ink, before lighting.
    pub paper: f32,
    pub ink: f32,
    /// How much wider than nominal every printed element is (printer ink spread), in units.
    pub gain: f32,
    /// Ink rectangles `[x0, y0, x1, y1]`.
    pub rects: Vec<[f32; 4]>,
    pub symbols: Vec<LayoutSymbol>,
}

impl Layout {
    fn new(kind: LabelKind, paper: f32, ink: f32, gain: f32) -> Layout {
        Layout {
            kind,
            width: 0.0,
            height: 0.0,
            paper,
            ink,
            gain,
            rects: Vec::new(),
            symbols: Vec::new(),
        }
    }

    fn text(&mut self, s: &str, x: f32, y: f32, px: f32) {
        self.rects.extend(font::text_rects(s, x, y, px));
    }

    /// Places a 1D symbol with its top-left bar corner at `(x, y)`; returns its width in units.
    ///
    /// `guard` lengthens the EAN/UPC guard bars by that many units below the others, as printed.
    fn linear(&mut self, e: &Encoded, x: f32, y: f32, module: f32, bar_h: f32, guard: f32) -> f32 {
        let Modules::Linear(m) = &e.modules else {
            return 0.0;
        };
        let guards = guard_modules(e.format, m.len());
        let mut i = 0;
        while i < m.len() {
            if m.get(i).copied().unwrap_or(false) {
                let start = i;
                while m.get(i).copied().unwrap_or(false) {
                    i += 1;
                }
                let long = guards.iter().any(|&(a, b)| start >= a && start < b);
                let h = if long { bar_h + guard } else { bar_h };
                self.rects
                    .push([x + start as f32 * module, y, x + i as f32 * module, y + h]);
            } else {
                i += 1;
            }
        }
        let w = m.len() as f32 * module;
        let h = if guards.is_empty() {
            bar_h
        } else {
            bar_h + guard
        };
        self.symbols.push(LayoutSymbol {
            format: e.format,
            text: e.text.clone(),
            quad: [(x, y), (x + w, y), (x + w, y + h), (x, y + h)],
        });
        w
    }

    /// Places a 2D symbol with its top-left corner at `(x, y)`; returns its side in units.
    fn matrix(&mut self, e: &Encoded, x: f32, y: f32, module: f32) -> f32 {
        let Modules::Matrix {
            width,
            height,
            cells,
        } = &e.modules
        else {
            return 0.0;
        };
        for row in 0..*height {
            let mut col = 0;
            while col < *width {
                if cells.get(row * width + col).copied().unwrap_or(false) {
                    let start = col;
                    while col < *width && cells.get(row * width + col).copied().unwrap_or(false) {
                        col += 1;
                    }
                    let yy = y + row as f32 * module;
                    self.rects.push([
                        x + start as f32 * module,
                        yy,
                        x + col as f32 * module,
                        yy + module,
                    ]);
                } else {
                    col += 1;
                }
            }
        }
        let (w, h) = (*width as f32 * module, *height as f32 * module);
        self.symbols.push(LayoutSymbol {
            format: e.format,
            text: e.text.clone(),
            quad: [(x, y), (x + w, y), (x + w, y + h), (x, y + h)],
        });
        w.max(h)
    }

    /// Places an EAN-13/UPC-A with longer guard bars and its digits printed as on packaging:
    /// the first digit in the left quiet zone, two groups between the guards, and for UPC-A the
    /// check digit in the right quiet zone. Returns the symbol width in units.
    fn retail(&mut self, e: &Encoded, x: f32, y: f32, module: f32, bar_h: f32) -> f32 {
        let w = self.linear(e, x, y, module, bar_h, 5.0 * module);
        let px = 1.3 * module;
        let ty = y + bar_h + module;
        let digits: Vec<char> = e.text.chars().collect();
        let mut put = |c: char, gx: f32| self.text(&c.to_string(), gx, ty, px);
        let group = |n: usize, from: f32, to: f32| {
            let step = (to - from) * module / n as f32;
            (0..n)
                .map(|i| x + from * module + i as f32 * step + (step - 3.0 * px) / 2.0)
                .collect::<Vec<f32>>()
        };
        let (left, right, tail) = if digits.len() == 12 {
            (5, 5, true)
        } else {
            (6, 6, false)
        };
        let mut positions = vec![x - 5.5 * module];
        positions.extend(group(left, 3.0, 45.0));
        positions.extend(group(right, 50.0, 92.0));
        if tail {
            positions.push(x + 96.5 * module);
        }
        for (c, gx) in digits.iter().zip(positions) {
            put(*c, gx);
        }
        w
    }
}

/// How far below the normal bars of an EAN-13/UPC-A the digits end, in its modules.
const RETAIL_DIGITS_BELOW: f32 = 7.5;

/// The module ranges of EAN-13/UPC-A guard bars (start, centre, end), which print longer.
fn guard_modules(format: &str, len: usize) -> Vec<(usize, usize)> {
    if matches!(format, "EAN13" | "UPCA") && len == 95 {
        vec![(0, 3), (45, 50), (92, 95)]
    } else {
        Vec::new()
    }
}

/// Quiet zone of every 1D code, in its own modules (ISO/IEC 15417 asks for 10).
const QUIET: f32 = 10.0;

/// The GS1 element string of the box Data Matrix: (01) GTIN and (21) serial.
pub fn box_gs1(unit: &UnitData) -> String {
    format!("01{}21{}", unit.gtin14(), unit.serial)
}

/// The GS1 element string of the back-label Data Matrix: (01), (21), then (240) after a separator.
pub fn back_gs1(unit: &UnitData) -> String {
    format!("01{}21{}{GS}240{}", unit.gtin14(), unit.serial, unit.part)
}

/// The retail symbol: UPC-A when the GTIN-13 starts with 0 (as on US boxes), EAN-13 otherwise.
fn retail_symbol(unit: &UnitData) -> Result<Encoded, SynthError> {
    match unit.gtin.strip_prefix('0') {
        Some(upc) => symbol::upca(upc),
        None => symbol::ean13(&unit.gtin),
    }
}

const FILLER_WORDS: &[&str] = &[
    "DESIGNED BY APPLE IN CALIFORNIA",
    "ASSEMBLED IN CHINA",
    "MADE IN VIETNAM",
    "128GB",
    "256GB",
    "BLACK TITANIUM",
    "MIDNIGHT",
    "GALAXY",
    "5G",
    "DUAL SIM",
    "MODEL A2846",
    "FCC ID BCG-E8726A",
    "IC 579C-E8726A",
    "CE 0700",
    "RATED 5V 2A",
];

fn filler(rng: &mut Rng, words: usize) -> String {
    (0..words)
        .filter_map(|_| rng.pick(FILLER_WORDS).copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The layout of `kind` for `unit`; `rng` chooses bar heights, symbol sizes and variants, so a
/// generator seeded the same way gives the same label every time.
pub fn layout(kind: LabelKind, unit: &UnitData, rng: &mut Rng) -> Result<Layout, SynthError> {
    match kind {
        LabelKind::PhoneBox => phone_box(unit, rng),
        LabelKind::BackLabel => back_label(unit, rng),
        LabelKind::SimTray => sim_tray(unit, rng),
    }
}

fn phone_box(unit: &UnitData, rng: &mut Rng) -> Result<Layout, SynthError> {
    let mut l = Layout::new(
        LabelKind::PhoneBox,
        rng.range(228.0, 250.0),
        rng.range(12.0, 40.0),
        rng.range(0.0, 0.08),
    );
    let samsung = unit.is_samsung();
    let mut rows: Vec<(String, String)> = Vec::new();
    let serial_title = if samsung { "S/N " } else { "(S) SERIAL NO. " };
    rows.push((
        format!("{serial_title}{}", unit.serial),
        unit.serial_barcode(),
    ));
    if !samsung {
        rows.push((
            format!("(1P) PART NO. {}", unit.part),
            format!("1P{}", unit.part),
        ));
    }
    for (i, imei) in unit.imeis.iter().enumerate() {
        let title = match (i, samsung) {
            (0, false) => "IMEI/MEID ",
            (0, true) => "IMEI 1 ",
            (_, false) => "IMEI2 ",
            (_, true) => "IMEI 2 ",
        };
        rows.push((format!("{title}{imei}"), imei.clone()));
    }
    if let Some(eid) = &unit.eid {
        rows.push((format!("EID {eid}"), eid.clone()));
    }
    let font_px = rng.range(1.0, 1.3);
    let bar_h = rng.range(14.0, 24.0);
    let row_gap = rng.range(4.0, 7.0);
    let margin = QUIET + rng.range(0.0, 4.0);
    let mut y = margin * 0.6;
    let mut left_w: f32 = 0.0;
    for (title, data) in &rows {
        l.text(title, margin, y, font_px);
        left_w = left_w.max(font::text_width(title, font_px));
        y += font::HEIGHT * font_px + 1.5;
        let e = symbol::code128(data)?;
        left_w = left_w.max(l.linear(&e, margin, y, 1.0, bar_h, 0.0));
        y += bar_h + row_gap;
    }
    let left_h = y;
    // The retail code and the Data Matrix sit in a column on the right, or in a row below.
    let ean_module = rng.range(1.0, 1.4);
    let ean_h = rng.range(35.0, 50.0) * ean_module;
    let dm_module = rng.range(1.4, 2.0);
    let retail = retail_symbol(unit)?;
    let dm = symbol::gs1_datamatrix(&box_gs1(unit))?;
    // Height of the retail symbol with its longer guard bars and the digits below.
    let retail_h = ean_h + RETAIL_DIGITS_BELOW * ean_module;
    if rng.chance(0.5) {
        let x = margin + left_w + 11.0 * ean_module + rng.range(2.0, 8.0);
        let mut ry = margin * 0.6 + 2.0;
        let side = l.matrix(&dm, x, ry, dm_module);
        ry += side + rng.range(8.0, 14.0);
        let w = l.retail(&retail, x, ry, ean_module, ean_h);
        ry += retail_h + 4.0;
        l.width = x + w.max(side) + margin;
        l.height = left_h.max(ry) + margin * 0.5;
    } else {
        let mut ry = left_h + 2.0;
        let x0 = margin.max(11.0 * ean_module);
        let w = l.retail(&retail, x0, ry, ean_module, ean_h);
        let x = x0 + w + rng.range(16.0, 30.0);
        let side = l.matrix(&dm, x, ry, dm_module);
        ry += (retail_h + 2.0).max(side);
        let words = filler(rng, 2);
        l.text(&words, margin, ry + 3.0, font_px);
        ry += 3.0 + font::HEIGHT * font_px;
        let text_w = font::text_width(&words, font_px);
        l.width = (margin + left_w.max(text_w)).max(x + side) + margin;
        l.height = ry + margin * 0.6;
    }
    Ok(l)
}

fn back_label(unit: &UnitData, rng: &mut Rng) -> Result<Layout, SynthError> {
    let mut l = Layout::new(
        LabelKind::BackLabel,
        rng.range(222.0, 248.0),
        rng.range(15.0, 45.0),
        rng.range(0.0, 0.08),
    );
    let font_px = rng.range(0.9, 1.2);
    let margin = QUIET + rng.range(0.0, 2.0);
    let bar_h = rng.range(10.0, 16.0);
    let mut y = margin * 0.5;
    let header = filler(rng, 1);
    l.text(&header, margin, y, font_px);
    let mut left_w = font::text_width(&header, font_px);
    y += font::HEIGHT * font_px + 3.0;
    let imei = unit.imeis.first().cloned().unwrap_or_default();
    for (title, data) in [("IMEI ", imei), ("S/N ", unit.serial.clone())] {
        let e = symbol::code128(&data)?;
        left_w = left_w.max(l.linear(&e, margin, y, 1.0, bar_h, 0.0));
        y += bar_h + 1.5;
        let caption = format!("{title}{data}");
        l.text(&caption, margin, y, font_px);
        left_w = left_w.max(font::text_width(&caption, font_px));
        y += font::HEIGHT * font_px + 4.0;
    }
    let words = filler(rng, 2);
    l.text(&words, margin, y, font_px * 0.9);
    left_w = left_w.max(font::text_width(&words, font_px * 0.9));
    y += font::HEIGHT * font_px;
    let dm = symbol::gs1_datamatrix(&back_gs1(unit))?;
    let dm_module = rng.range(1.2, 1.7);
    let x = margin + left_w + rng.range(6.0, 12.0);
    let side = l.matrix(&dm, x, margin * 0.5 + 2.0, dm_module);
    l.width = x + side + margin * 0.6;
    l.height = y.max(margin * 0.5 + 2.0 + side) + margin * 0.5;
    Ok(l)
}

fn sim_tray(unit: &UnitData, rng: &mut Rng) -> Result<Layout, SynthError> {
    // Trays are metal with laser-etched marks: a grey ground and less contrast than a paper label.
    let mut l = Layout::new(
        LabelKind::SimTray,
        rng.range(175.0, 215.0),
        rng.range(35.0, 75.0),
        rng.range(0.0, 0.05),
    );
    let data = unit
        .iccid
        .clone()
        .or_else(|| unit.imeis.first().cloned())
        .unwrap_or_default();
    let margin = QUIET + rng.range(0.0, 2.0);
    let bar_h = rng.range(7.0, 11.0);
    let e = symbol::code128(&data)?;
    let y = rng.range(2.5, 4.0);
    let w = l.linear(&e, margin, y, 1.0, bar_h, 0.0);
    let font_px = rng.range(0.7, 0.9);
    l.text(&data, margin, y + bar_h + 1.2, font_px);
    l.width = w + 2.0 * margin;
    l.height = y + bar_h + 1.2 + font::HEIGHT * font_px + 2.5;
    Ok(l)
}

/// A label rendered upright, with its symbols' corners in image pixels.
#[derive(Debug, Clone)]
pub struct RenderedLabel {
    pub image: GrayImage,
    pub symbols: Vec<PlacedSymbol>,
}

/// Ink coverage of a layout at `scale` pixels per unit, area-averaged so that fractional module
/// sizes give the grey edge pixels a camera would record.
pub(crate) fn coverage(layout: &Layout, scale: f32) -> Canvas {
    let w = (layout.width * scale).ceil().max(1.0) as usize;
    let h = (layout.height * scale).ceil().max(1.0) as usize;
    let mut cov = Canvas::new(w, h, 0.0);
    let g = layout.gain * 0.5;
    for r in &layout.rects {
        add_rect_coverage(
            &mut cov,
            (r[0] - g) * scale,
            (r[1] - g) * scale,
            (r[2] + g) * scale,
            (r[3] + g) * scale,
        );
    }
    cov
}

/// The label's grey image at `scale` pixels per unit: paper where there is no ink.
pub(crate) fn shade(layout: &Layout, scale: f32) -> Canvas {
    let mut c = coverage(layout, scale);
    for v in &mut c.px {
        *v = layout.paper - (layout.paper - layout.ink) * v.min(1.0);
    }
    c
}

/// Draws `kind` for `unit` upright at `module_px` pixels per narrowest module (1.0-4.0 is the
/// useful range). `layout_seed` fixes bar heights, symbol sizes and the layout variant.
pub fn render_label(
    kind: LabelKind,
    unit: &UnitData,
    module_px: f32,
    layout_seed: u64,
) -> Result<RenderedLabel, SynthError> {
    if !(module_px.is_finite() && module_px > 0.0) {
        return Err(SynthError::Spec(format!(
            "module size {module_px} must be positive"
        )));
    }
    let l = layout(kind, unit, &mut Rng::new(layout_seed))?;
    let canvas = shade(&l, module_px);
    let symbols = l
        .symbols
        .iter()
        .map(|s| PlacedSymbol {
            format: s.format,
            text: s.text.clone(),
            corners: s.quad.map(|(x, y)| (x * module_px, y * module_px)),
            label: 0,
        })
        .collect();
    Ok(RenderedLabel {
        image: canvas.to_gray(),
        symbols,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::unit::random_unit;

    #[test]
    fn layouts_hold_their_symbols() {
        let mut rng = Rng::new(11);
        for _ in 0..40 {
            let unit = random_unit(&mut rng);
            for kind in LabelKind::ALL {
                let l = layout(kind, &unit, &mut rng).expect("layout");
                assert!(!l.symbols.is_empty());
                for s in &l.symbols {
                    for &(x, y) in &s.quad {
                        assert!(
                            x >= 0.0 && x <= l.width && y >= 0.0 && y <= l.height,
                            "{kind:?} {s:?}"
                        );
                    }
                }
                for r in &l.rects {
                    assert!(
                        r[0] >= 0.0 && r[2] <= l.width + 1e-3 && r[3] <= l.height + 1e-3,
                        "{kind:?} {r:?} {} {}",
                        l.width,
                        l.height
                    );
                }
            }
        }
    }
}
