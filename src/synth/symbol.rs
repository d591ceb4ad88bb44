//! Barcode symbols as module patterns, encoded with rxing's writers.
//!
//! rxing only produces the module pattern (a `BitMatrix` at one pixel per module); drawing is done
//! by the label renderer, which needs exact geometry for anti-aliasing and ground-truth corners.
//!
//! GS1 and FNC1 with rxing 0.9 (verified by the round-trip tests below):
//! - Data Matrix: the `DataMatrixCompact(true)` + `Gs1Format(true)` hints make the minimal encoder
//!   put FNC1 (codeword 232) first and turn every GS (0x1D) of the input into FNC1. rxing's decoder
//!   then drops the leading FNC1 and returns each later FNC1 as GS. The default (non-compact)
//!   encoder ignores `Gs1Format`, and would encode a GS as a plain ASCII 29.
//! - Code 128: the character `\u{f1}` in the input is encoded as FNC1. rxing's decoder drops FNC1
//!   unless the `AssumeGs1` decode hint is set, in which case a leading FNC1 becomes `]C1` and later
//!   ones become GS.

use rxing::datamatrix::encoder::SymbolShapeHint;
use rxing::{BarcodeFormat, EncodeHintValue, EncodeHints, MultiFormatWriter, Writer};

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

fn write(contents: &str, format: BarcodeFormat, hints: &EncodeHints) -> Result<rxing::common::BitMatrix, SynthError> {
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
    Ok(row.get(first..last).map(<[bool]>::to_vec).unwrap_or_default())
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

/// A square GS1 Data Matrix of a raw GS1 element string whose variable-length fields are
/// separated by GS; the symbol starts with FNC1 and carries each GS as FNC1.
pub fn gs1_datamatrix(raw: &str) -> Result<Encoded, SynthError> {
    let hints = EncodeHints::default()
        .with(EncodeHintValue::DataMatrixCompact(true))
        .with(EncodeHintValue::Gs1Format(true))
        .with(EncodeHintValue::DataMatrixShape(SymbolShapeHint::FORCE_SQUARE));
    let matrix = write(raw, BarcodeFormat::DATA_MATRIX, &hints)?;
    let (width, height) = (matrix.width() as usize, matrix.height() as usize);
    let mut cells = Vec::with_capacity(width * height);
    for y in 0..matrix.height() {
        for x in 0..matrix.width() {
            cells.push(matrix.get(x, y));
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
    use rxing::{BinaryBitmap, DecodeHintValue, DecodeHints, Luma8LuminanceSource, MultiFormatReader, Reader};

    /// Draws modules at `scale` pixels each with a quiet zone, as plain as an image can be.
    fn plain(e: &Encoded, scale: usize) -> (Vec<u8>, u32, u32) {
        let quiet = 12;
        let (w, h, get): (usize, usize, Box<dyn Fn(usize, usize) -> bool>) = match &e.modules {
            Modules::Linear(m) => (m.len(), 30, Box::new(move |x, _| m.get(x).copied().unwrap_or(false))),
            Modules::Matrix { width, height, cells } => {
                let wd = *width;
                (*width, *height, Box::new(move |x, y| cells.get(y * wd + x).copied().unwrap_or(false)))
            }
        };
        let (pw, ph) = ((w + 2 * quiet) * scale, (h + 2 * quiet) * scale);
        let mut data = vec![255u8; pw * ph];
        for y in 0..ph {
            for x in 0..pw {
                let (mx, my) = ((x / scale).wrapping_sub(quiet), (y / scale).wrapping_sub(quiet));
                if mx < w && my < h && get(mx, my) {
                    data[y * pw + x] = 0;
                }
            }
        }
        (data, pw as u32, ph as u32)
    }

    pub(crate) fn decode(data: Vec<u8>, w: u32, h: u32, hints: &DecodeHints) -> Option<(String, String)> {
        let source = Luma8LuminanceSource::new(data, w, h).ok()?;
        let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
        let result = MultiFormatReader::default().decode_with_hints(&mut bitmap, hints).ok()?;
        Some((format!("{:?}", result.getBarcodeFormat()), result.getText().to_owned()))
    }

    #[test]
    fn linear_codes_round_trip() {
        let hints = DecodeHints::default().with(DecodeHintValue::TryHarder(true));
        for e in [
            code128("SC02XG1ABJGH5").unwrap(),
            code128("1PMQ3D2LL/A").unwrap(),
            code128("356938035643809").unwrap(),
            ean13("4006381333931").unwrap(),
            upca("194252123453").unwrap(),
        ] {
            let (d, w, h) = plain(&e, 2);
            let got = decode(d, w, h, &hints).unwrap();
            assert_eq!(got.1, e.text, "{e:?}");
        }
    }

    #[test]
    fn gs1_datamatrix_returns_gs_for_inner_fnc1_only() {
        let hints = DecodeHints::default().with(DecodeHintValue::TryHarder(true));
        let raw = format!("01{}21C02XG1ABJGH5{GS}240MQ3D2LL/A", "01942521234565");
        let e = gs1_datamatrix(&raw).unwrap();
        let (d, w, h) = plain(&e, 3);
        let (format, text) = decode(d, w, h, &hints).unwrap();
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
        let e = code128(&format!("\u{f1}0101942521234565{}\u{f1}10LOT7", "21SN1")).unwrap();
        let (d, w, h) = plain(&e, 2);
        let gs1 = DecodeHints::default()
            .with(DecodeHintValue::TryHarder(true))
            .with(DecodeHintValue::AssumeGs1(true));
        let (_, text) = decode(d.clone(), w, h, &gs1).unwrap();
        assert_eq!(text, format!("]C10101942521234565" ));
        let _ = text;
        let plain_hints = DecodeHints::default().with(DecodeHintValue::TryHarder(true));
        let (_, text) = decode(d, w, h, &plain_hints).unwrap();
        assert_eq!(text, "0101942521234565");
    }
}
