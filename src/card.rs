//! The desk card: a printable sheet of every control barcode with a caption, drawn with
//! rxing's Code 128 writer. Code 128 because handheld laser scanners read it and QR they don't.

use image::{GrayImage, Luma};
use rxing::{BarcodeFormat, MultiFormatWriter, Writer};

use crate::ident::Control;

/// Pixels per narrow bar in the PNG: 3 px prints at about 0.5 mm at 150 dpi.
const MODULE: u32 = 3;
const BAR_HEIGHT: u32 = 110;
const MARGIN: u32 = 60;
const ROW_GAP: u32 = 48;
const FONT_SCALE: u32 = 3;

/// Errors drawing the card.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CardError {
    #[error("cannot encode {text:?} as Code 128: {message}")]
    Encode { text: String, message: String },
}

/// The bar pattern of `text` in Code 128, one bool per module, with quiet zones.
pub(crate) fn modules(text: &str) -> Result<Vec<bool>, CardError> {
    let matrix = MultiFormatWriter
        .encode(text, &BarcodeFormat::CODE_128, 0, 1)
        .map_err(|e| CardError::Encode {
            text: text.to_owned(),
            message: e.to_string(),
        })?;
    Ok((0..matrix.getWidth()).map(|x| matrix.get(x, 0)).collect())
}

/// The 5x7 glyph of an uppercase letter, digit or common punctuation; unknown characters are blank.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        ',' => [0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08],
        '/' => [0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        _ => [0; 7],
    }
}

fn draw_text(img: &mut GrayImage, x0: u32, y0: u32, text: &str) {
    for (i, c) in text.chars().enumerate() {
        let rows = glyph(c);
        for (ry, bits) in rows.iter().enumerate() {
            for rx in 0..5u32 {
                if bits & (0x10 >> rx) == 0 {
                    continue;
                }
                for dy in 0..FONT_SCALE {
                    for dx in 0..FONT_SCALE {
                        let x = x0 + (i as u32 * 6 + rx) * FONT_SCALE + dx;
                        let y = y0 + ry as u32 * FONT_SCALE + dy;
                        if x < img.width() && y < img.height() {
                            img.put_pixel(x, y, Luma([0]));
                        }
                    }
                }
            }
        }
    }
}

/// One row of the card.
struct Row {
    text: String,
    caption: String,
    modules: Vec<bool>,
}

fn rows() -> Result<Vec<Row>, CardError> {
    Control::all()
        .into_iter()
        .map(|control| {
            let text = control.to_string();
            Ok(Row {
                modules: modules(&text)?,
                caption: control.caption(),
                text,
            })
        })
        .collect()
}

const TITLE: &str = "SCANSTATION DESK CARD";
const CAPTION_HEIGHT: u32 = 7 * FONT_SCALE + 12;

/// The card as a grey image, ready to save as PNG.
pub(crate) fn render_png() -> Result<GrayImage, CardError> {
    let rows = rows()?;
    let widest = rows
        .iter()
        .map(|r| r.modules.len() as u32)
        .max()
        .unwrap_or(0)
        * MODULE;
    let caption_width = rows
        .iter()
        .map(|r| r.caption.len().max(r.text.len()) as u32 * 6 * FONT_SCALE)
        .max()
        .unwrap_or(0);
    let width = widest.max(caption_width) + 2 * MARGIN;
    let row_height = BAR_HEIGHT + 2 * CAPTION_HEIGHT + ROW_GAP;
    let height = MARGIN * 2 + CAPTION_HEIGHT + ROW_GAP + rows.len() as u32 * row_height;
    let mut img = GrayImage::from_pixel(width, height, Luma([255]));
    draw_text(&mut img, MARGIN, MARGIN, TITLE);
    let mut y = MARGIN + CAPTION_HEIGHT + ROW_GAP;
    for row in &rows {
        draw_text(&mut img, MARGIN, y, &row.caption);
        y += CAPTION_HEIGHT;
        for (m, &dark) in row.modules.iter().enumerate() {
            if !dark {
                continue;
            }
            for dx in 0..MODULE {
                for dy in 0..BAR_HEIGHT {
                    img.put_pixel(MARGIN + m as u32 * MODULE + dx, y + dy, Luma([0]));
                }
            }
        }
        y += BAR_HEIGHT + 6;
        draw_text(&mut img, MARGIN, y, &row.text);
        y += CAPTION_HEIGHT + ROW_GAP - 6;
    }
    Ok(img)
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The card as SVG, in millimetres for printing (0.33 mm modules).
pub(crate) fn render_svg() -> Result<String, CardError> {
    let rows = rows()?;
    let module = 0.33_f64;
    let bar_h = 12.0;
    let margin = 10.0;
    let row_h = bar_h + 16.0;
    let widest = rows.iter().map(|r| r.modules.len()).max().unwrap_or(0) as f64 * module;
    let width = widest + 2.0 * margin;
    let height = margin * 2.0 + 8.0 + rows.len() as f64 * row_h;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.2}mm\" height=\"{height:.2}mm\" viewBox=\"0 0 {width:.2} {height:.2}\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{margin}\" y=\"{:.2}\" font-family=\"sans-serif\" font-size=\"5\" font-weight=\"bold\">{TITLE}</text>\n",
        margin + 4.0
    );
    let mut y = margin + 8.0;
    for row in &rows {
        svg.push_str(&format!(
            "<text x=\"{margin}\" y=\"{:.2}\" font-family=\"sans-serif\" font-size=\"3.5\">{}</text>\n",
            y + 3.0,
            xml_escape(&row.caption)
        ));
        let bar_y = y + 4.5;
        let mut m = 0;
        while m < row.modules.len() {
            if row.modules[m] {
                let start = m;
                while m < row.modules.len() && row.modules[m] {
                    m += 1;
                }
                svg.push_str(&format!(
                    "<rect x=\"{:.3}\" y=\"{bar_y:.2}\" width=\"{:.3}\" height=\"{bar_h}\" fill=\"black\"/>\n",
                    margin + start as f64 * module,
                    (m - start) as f64 * module
                ));
            } else {
                m += 1;
            }
        }
        svg.push_str(&format!(
            "<text x=\"{margin}\" y=\"{:.2}\" font-family=\"monospace\" font-size=\"3\">{}</text>\n",
            bar_y + bar_h + 3.5,
            xml_escape(&row.text)
        ));
        y += row_h;
    }
    svg.push_str("</svg>\n");
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_encodes() {
        for control in Control::all() {
            let m = modules(&control.to_string()).expect("encodes");
            assert!(m.len() > 100);
            assert!(m.iter().any(|&b| b));
        }
        let svg = render_svg().expect("svg");
        assert!(svg.contains("SCANSTATION:MODE:RECALL"));
        assert!(svg.starts_with("<svg"));
    }
}
