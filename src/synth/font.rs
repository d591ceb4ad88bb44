//! A 3x5 pixel font for label captions and background clutter.
//!
//! Printed text on real labels matters to a decoder only as clutter (edges that are not bars), so
//! a tiny bitmap font is enough. Lowercase is drawn as uppercase.

/// Each glyph is five rows of three bits, most significant bit on the left.
const GLYPHS: &[(char, [u8; 5])] = &[
    ('0', [0b111, 0b101, 0b101, 0b101, 0b111]),
    ('1', [0b010, 0b110, 0b010, 0b010, 0b111]),
    ('2', [0b111, 0b001, 0b111, 0b100, 0b111]),
    ('3', [0b111, 0b001, 0b011, 0b001, 0b111]),
    ('4', [0b101, 0b101, 0b111, 0b001, 0b001]),
    ('5', [0b111, 0b100, 0b111, 0b001, 0b111]),
    ('6', [0b111, 0b100, 0b111, 0b101, 0b111]),
    ('7', [0b111, 0b001, 0b010, 0b010, 0b010]),
    ('8', [0b111, 0b101, 0b111, 0b101, 0b111]),
    ('9', [0b111, 0b101, 0b111, 0b001, 0b111]),
    ('A', [0b010, 0b101, 0b111, 0b101, 0b101]),
    ('B', [0b110, 0b101, 0b110, 0b101, 0b110]),
    ('C', [0b011, 0b100, 0b100, 0b100, 0b011]),
    ('D', [0b110, 0b101, 0b101, 0b101, 0b110]),
    ('E', [0b111, 0b100, 0b110, 0b100, 0b111]),
    ('F', [0b111, 0b100, 0b110, 0b100, 0b100]),
    ('G', [0b011, 0b100, 0b101, 0b101, 0b011]),
    ('H', [0b101, 0b101, 0b111, 0b101, 0b101]),
    ('I', [0b111, 0b010, 0b010, 0b010, 0b111]),
    ('J', [0b001, 0b001, 0b001, 0b101, 0b010]),
    ('K', [0b101, 0b101, 0b110, 0b101, 0b101]),
    ('L', [0b100, 0b100, 0b100, 0b100, 0b111]),
    ('M', [0b101, 0b111, 0b111, 0b101, 0b101]),
    ('N', [0b110, 0b101, 0b101, 0b101, 0b101]),
    ('O', [0b010, 0b101, 0b101, 0b101, 0b010]),
    ('P', [0b110, 0b101, 0b110, 0b100, 0b100]),
    ('Q', [0b010, 0b101, 0b101, 0b110, 0b011]),
    ('R', [0b110, 0b101, 0b110, 0b101, 0b101]),
    ('S', [0b011, 0b100, 0b010, 0b001, 0b110]),
    ('T', [0b111, 0b010, 0b010, 0b010, 0b010]),
    ('U', [0b101, 0b101, 0b101, 0b101, 0b111]),
    ('V', [0b101, 0b101, 0b101, 0b101, 0b010]),
    ('W', [0b101, 0b101, 0b111, 0b111, 0b101]),
    ('X', [0b101, 0b101, 0b010, 0b101, 0b101]),
    ('Y', [0b101, 0b101, 0b010, 0b010, 0b010]),
    ('Z', [0b111, 0b001, 0b010, 0b100, 0b111]),
    ('(', [0b001, 0b010, 0b010, 0b010, 0b001]),
    (')', [0b100, 0b010, 0b010, 0b010, 0b100]),
    ('.', [0b000, 0b000, 0b000, 0b000, 0b010]),
    (',', [0b000, 0b000, 0b000, 0b010, 0b100]),
    (':', [0b000, 0b010, 0b000, 0b010, 0b000]),
    ('/', [0b001, 0b001, 0b010, 0b100, 0b100]),
    ('-', [0b000, 0b000, 0b111, 0b000, 0b000]),
    ('+', [0b000, 0b010, 0b111, 0b010, 0b000]),
    ('#', [0b101, 0b111, 0b101, 0b111, 0b101]),
];

/// Glyph cell width including one column of spacing, in font pixels.
pub const ADVANCE: f32 = 4.0;
/// Glyph height in font pixels.
pub const HEIGHT: f32 = 5.0;

fn glyph(c: char) -> Option<&'static [u8; 5]> {
    let c = c.to_ascii_uppercase();
    GLYPHS.iter().find(|(g, _)| *g == c).map(|(_, rows)| rows)
}

/// The ink rectangles `(x0, y0, x1, y1)` of `text` with its top-left at `(x, y)` and font pixels
/// `px` units tall. Horizontal runs within a glyph row are merged into one rectangle.
pub fn text_rects(text: &str, x: f32, y: f32, px: f32) -> Vec<[f32; 4]> {
    let mut out = Vec::new();
    for (i, c) in text.chars().enumerate() {
        let Some(rows) = glyph(c) else {
            continue;
        };
        let gx = x + i as f32 * ADVANCE * px;
        for (r, bits) in rows.iter().enumerate() {
            let gy = y + r as f32 * px;
            let mut col = 0;
            while col < 3 {
                if bits & (0b100 >> col) != 0 {
                    let start = col;
                    while col < 3 && bits & (0b100 >> col) != 0 {
                        col += 1;
                    }
                    out.push([gx + start as f32 * px, gy, gx + col as f32 * px, gy + px]);
                } else {
                    col += 1;
                }
            }
        }
    }
    out
}

/// The width of `text` in units for font pixels `px` units tall (without the trailing space).
pub fn text_width(text: &str, px: f32) -> f32 {
    let n = text.chars().count() as f32;
    (n * ADVANCE - 1.0).max(0.0) * px
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_runs_and_skips_unknown() {
        // '-' is one run of three pixels; '~' is not in the font.
        assert_eq!(text_rects("-~", 0.0, 0.0, 1.0), vec![[0.0, 2.0, 3.0, 3.0]]);
        assert_eq!(text_width("AB", 2.0), 14.0);
        assert!(text_rects("Serial No.", 0.0, 0.0, 1.0).len() > 20);
    }
}
