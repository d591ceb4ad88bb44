//! Barcode symbols as module patterns, encoded with rxing's writers.
//!
//! rxing only produces the module pattern (a `BitMatrix` at one pixel per module); drawing is done
//! by the label renderer, which needs exact geometry for anti-aliasing and ground-truth corners.
//!
//! GS1 and FNC1 with rxing 0.9.3:
//! - Data Matrix: rxing's GS1 path is the `DataMatrixCompact(true)` + `Gs1Format(true)` hints (the
//!   default encoder ignores `Gs1Format`). Its minimal encoder puts FNC1 first, which works, and is
//!   meant to turn each GS of the input into FNC1, but a GS that lands in a C40 or Text run hits an
//!   `assert!` and panics (seen with `01...21C02XG1ABJGH5<GS>240MQ3D2LL/A`). So [`gs1_datamatrix`]
//!   builds the codewords itself and uses only rxing's error correction and module placement.
//!   rxing's reader drops the leading FNC1 (no `]d2` in the text) and returns later FNC1s as GS;
//!   the tests below check both.
//! - Code 128: the character `\u{f1}` in the input is encoded as FNC1. rxing's reader drops FNC1
//!   unless the `AssumeGs1` decode hint is set, in which case a leading FNC1 becomes `]C1` and later
//!   ones become GS (tested below). The labels here carry no GS1-128, as real box labels use the
//!   `S` and `1P` data identifiers instead.

use rxing::datamatrix::encoder::{
    DefaultPlacement, SymbolInfoLookup, SymbolShapeHint, error_correction,
};
use rxing::{BarcodeFormat, EncodeHints, MultiFormatWriter, Writer};

use super::SynthError;

/// The GS1 group separator, which decoders return for FNC1 inside GS1 data.
pub const GS: char = '\u{1d}';

/// The module pattern of one symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modules {
    /// Dark (`true`) and light modules of a 1D code from the first bar to the last, no quiet zone.
    Linear(Vec<bool>),
    /// Row-major dark cells of a 2D code, finder pattern included, no quiet zone.
    Matrix {
        width: usize,
        height: usize,
        cells: Vec<bool>,
    },
}

/// One encoded symbol with the text a decoder returns for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The format name used in the corpus manifest (`Code128`, `DataMatrix`, `EAN13`, `UPCA`).
    pub format: &'static str,
    /// The decoded text: GS for FNC1 separators, no AIM prefix, no leading FNC1.
    pub text: String,
    pub modules: Modules,
}

impl Encoded {
    /// The width of the symbol in modules.
    pub fn width(&self) -> usize {
        match &self.modules {
            Modules::Linear(m) => m.len(),
            Modules::Matrix { width, .. } => *width,
        }
    }
}

fn write(
    contents: &str,
    format: BarcodeFormat,
    hints: &EncodeHints,
) -> Result<rxing::common::BitMatrix, SynthError> {
    MultiFormatWriter
        .encode_with_hints(contents, &format, 0, 0, hints)
        .map_err(|e| SynthError::Encode {
            format: format!("{format:?}"),
            text: contents.escape_debug().to_string(),
            message: e.to_string(),
        })
}

fn linear(contents: &str, format: BarcodeFormat) -> Result<Vec<bool>, SynthError> {
    let matrix = write(contents, format, &EncodeHints::default())?;
    let row: Vec<bool> = (0..matrix.width()).map(|x| matrix.get(x, 0)).collect();
    // The writer adds a quiet zone of light modules; the label layout places its own.
    let first = row.iter().position(|&b| b).unwrap_or(0);
    let last = row.iter().rposition(|&b| b).map_or(0, |p| p + 1);
    Ok(row
        .get(first..last)
        .map(<[bool]>::to_vec)
        .unwrap_or_default())
}

/// A Code 128 symbol of printable ASCII `text`.
pub fn code128(text: &str) -> Result<Encoded, SynthError> {
    Ok(Encoded {
        format: "Code128",
        text: text.to_owned(),
        modules: Modules::Linear(linear(text, BarcodeFormat::CODE_128)?),
    })
}

/// An EAN-13 symbol of a 13-digit GTIN (check digit included).
pub fn ean13(gtin13: &str) -> Result<Encoded, SynthError> {
    Ok(Encoded {
        format: "EAN13",
        text: gtin13.to_owned(),
        modules: Modules::Linear(linear(gtin13, BarcodeFormat::EAN_13)?),
    })
}

/// A UPC-A symbol of a 12-digit GTIN (check digit included).
pub fn upca(gtin12: &str) -> Result<Encoded, SynthError> {
    Ok(Encoded {
        format: "UPCA",
        text: gtin12.to_owned(),
        modules: Modules::Linear(linear(gtin12, BarcodeFormat::UPC_A)?),
    })
}

/// The Data Matrix pad codeword, and the "253-state" randomised pads that follow it (ISO/IEC 16022 5.2.3).
const DM_PAD: u32 = 129;
const DM_FNC1: u32 = 232;

fn dm_randomised_pad(position: u32) -> u32 {
    let pseudo_random = (149 * position) % 253 + 1;
    let value = DM_PAD + pseudo_random;
    if value <= 254 { value } else { value - 254 }
}

/// ASCII-mode codewords of a GS1 element string: FNC1 first, GS as FNC1, digit pairs packed.
fn dm_gs1_ascii_codewords(raw: &str) -> Result<Vec<u32>, SynthError> {
    let bytes = raw.as_bytes();
    let mut out = vec![DM_FNC1];
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match (b, bytes.get(i + 1)) {
            (b'0'..=b'9', Some(&n @ b'0'..=b'9')) => {
                out.push(130 + u32::from(b - b'0') * 10 + u32::from(n - b'0'));
                i += 2;
            }
            (0x1d, _) => {
                out.push(DM_FNC1);
                i += 1;
            }
            (0..=127, _) => {
                out.push(u32::from(b) + 1);
                i += 1;
            }
            _ => {
                return Err(SynthError::Encode {
                    format: "DATA_MATRIX".to_owned(),
                    text: raw.escape_debug().to_string(),
                    message: "GS1 data must be ASCII".to_owned(),
                });
            }
        }
    }
    Ok(out)
}

fn rx(raw: &str, e: rxing::Exceptions) -> SynthError {
    SynthError::Encode {
        format: "DATA_MATRIX".to_owned(),
        text: raw.escape_debug().to_string(),
        message: e.to_string(),
    }
}

/// A square GS1 Data Matrix of a raw GS1 element string whose variable-length fields are
/// separated by GS; the symbol starts with FNC1 and carries each GS as FNC1.
///
/// rxing 0.9.3's own GS1 path (`DataMatrixCompact` + `Gs1Format`) panics on an `assert!` in its
/// minimal encoder when a GS falls inside a C40 or Text run (`getC40Value`, an assertion carried
/// over from zxing, where Java runs with assertions off and silently emits the wrong shift set).
/// So the data codewords are built here in ASCII mode, which always has a correct FNC1, and only
/// the Reed-Solomon blocks and module placement come from rxing.
pub fn gs1_datamatrix(raw: &str) -> Result<Encoded, SynthError> {
    let mut codewords = dm_gs1_ascii_codewords(raw)?;
    let info = SymbolInfoLookup::new()
        .lookup_with_shape(codewords.len() as u32, SymbolShapeHint::FORCE_SQUARE)
        .map_err(|e| rx(raw, e))?
        .ok_or_else(|| SynthError::Encode {
            format: "DATA_MATRIX".to_owned(),
            text: raw.escape_debug().to_string(),
            message: "too long for a square symbol".to_owned(),
        })?;
    let capacity = info.getDataCapacity() as usize;
    if codewords.len() < capacity {
        codewords.push(DM_PAD);
    }
    while codewords.len() < capacity {
        codewords.push(dm_randomised_pad(codewords.len() as u32 + 1));
    }
    // rxing passes codewords around as a string of chars whose values are the codewords.
    let data: String = codewords
        .iter()
        .filter_map(|&c| char::from_u32(c))
        .collect();
    let with_ecc = error_correction::encodeECC200(&data, info).map_err(|e| rx(raw, e))?;
    let data_w = info.getSymbolDataWidth().map_err(|e| rx(raw, e))? as usize;
    let data_h = info.getSymbolDataHeight().map_err(|e| rx(raw, e))? as usize;
    let width = info.getSymbolWidth().map_err(|e| rx(raw, e))? as usize;
    let height = info.getSymbolHeight().map_err(|e| rx(raw, e))? as usize;
    let mut placement = DefaultPlacement::new(with_ecc, data_w, data_h);
    placement.place().map_err(|e| rx(raw, e))?;
    // Each data region is framed by its own finder (solid left and bottom) and clock track
    // (alternating top and right), so a region spans its data size plus two modules.
    let regions_x = (width - data_w) / 2;
    let regions_y = (height - data_h) / 2;
    let region_w = data_w / regions_x.max(1);
    let region_h = data_h / regions_y.max(1);
    let mut cells = vec![false; width * height];
    for y in 0..height {
        for x in 0..width {
            let (ry, ly) = (y / (region_h + 2), y % (region_h + 2));
            let (rx_, lx) = (x / (region_w + 2), x % (region_w + 2));
            let dark = if ly == region_h + 1 || lx == 0 {
                true
            } else if ly == 0 {
                lx % 2 == 0
            } else if lx == region_w + 1 {
                ly % 2 == 1
            } else {
                placement.getBit(rx_ * region_w + lx - 1, ry * region_h + ly - 1)
            };
            cells[y * width + x] = dark;
        }
    }
    Ok(Encoded {
        format: "DataMatrix",
        text: raw.to_owned(),
        modules: Modules::Matrix {
            width,
            height,
            cells,
        },
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rxing::common::HybridBinarizer;
    use rxing::{
        BinaryBitmap, DecodeHintValue, DecodeHints, Luma8LuminanceSource, MultiFormatReader, Reader,
    };

    /// Draws modules at `scale` pixels each with a quiet zone, as plain as an image can be.
    fn plain(e: &Encoded, scale: usize) -> (Vec<u8>, u32, u32) {
        let quiet = 12;
        // A 1D code becomes a matrix of 30 identical rows.
        let (w, h, cells) = match &e.modules {
            Modules::Linear(m) => (m.len(), 30, m.repeat(30)),
            Modules::Matrix {
                width,
                height,
                cells,
            } => (*width, *height, cells.clone()),
        };
        let get = |x: usize, y: usize| cells.get(y * w + x).copied().unwrap_or(false);
        let (pw, ph) = ((w + 2 * quiet) * scale, (h + 2 * quiet) * scale);
        let mut data = vec![255u8; pw * ph];
        for y in 0..ph {
            for x in 0..pw {
                let (mx, my) = (
                    (x / scale).wrapping_sub(quiet),
                    (y / scale).wrapping_sub(quiet),
                );
                if mx < w && my < h && get(mx, my) {
                    data[y * pw + x] = 0;
                }
            }
        }
        (data, pw as u32, ph as u32)
    }

    pub(crate) fn decode(
        data: Vec<u8>,
        w: u32,
        h: u32,
        hints: &DecodeHints,
    ) -> Option<(String, String)> {
        let source = Luma8LuminanceSource::new(data, w, h).ok()?;
        let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
        let result = MultiFormatReader::default()
            .decode_with_hints(&mut bitmap, hints)
            .ok()?;
        Some((
            format!("{:?}", result.getBarcodeFormat()),
            result.getText().to_owned(),
        ))
    }

    #[test]
    fn linear_codes_round_trip() {
        let hints = DecodeHints::default().with(DecodeHintValue::TryHarder(true));
        for e in [
            code128("SC02XG1ABJGH5").expect("code128"),
            code128("1PMQ3D2LL/A").expect("code128"),
            code128("356938035643809").expect("code128"),
            ean13("4006381333931").expect("ean13"),
            upca("194252123454").expect("upca"),
        ] {
            let (d, w, h) = plain(&e, 2);
            let got = decode(d, w, h, &hints).expect("decode");
            assert_eq!(got.1, e.text, "{e:?}");
        }
    }

    #[test]
    fn gs1_datamatrix_returns_gs_for_inner_fnc1_only() {
        let hints = DecodeHints::default().with(DecodeHintValue::TryHarder(true));
        let raw = format!("01{}21C02XG1ABJGH5{GS}240MQ3D2LL/A", "01942521234565");
        let e = gs1_datamatrix(&raw).expect("gs1_datamatrix");
        let (d, w, h) = plain(&e, 3);
        let (format, text) = decode(d, w, h, &hints).expect("decode");
        assert_eq!(format, "DATA_MATRIX");
        assert_eq!(text, raw);
        let Modules::Matrix { width, height, .. } = e.modules else {
            panic!("matrix expected");
        };
        assert_eq!(width, height, "square symbol requested");
    }

    #[test]
    fn code128_fnc1_escape_is_encoded_as_fnc1() {
        // `\u{f1}` is rxing's FNC1 escape; with AssumeGs1 the reader reports ]C1 and GS.
        let e = code128("\u{f1}010194252123456521SN1\u{f1}10LOT7").expect("code128");
        let (d, w, h) = plain(&e, 2);
        let gs1 = DecodeHints::default()
            .with(DecodeHintValue::TryHarder(true))
            .with(DecodeHintValue::AssumeGs1(true));
        let (_, text) = decode(d.clone(), w, h, &gs1).expect("decode");
        assert_eq!(text, format!("]C1010194252123456521SN1{GS}10LOT7"));
        let plain_hints = DecodeHints::default().with(DecodeHintValue::TryHarder(true));
        let (_, text) = decode(d, w, h, &plain_hints).expect("decode");
        assert_eq!(text, "010194252123456521SN110LOT7");
    }
}
