//! The rxing side of decoding: whole-frame passes, single-row 1D decoding, and turning rxing's
//! results into [`Symbol`]s.
//!
//! Every call into rxing goes through [`guard`], so a panic inside rxing costs one pass of one
//! frame instead of the station.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use rxing::common::{BitArray, HybridBinarizer};
use rxing::multi::{GenericMultipleBarcodeReader, MultipleBarcodeReader};
use rxing::oned::{
    CodaBarReader, Code39Reader, Code93Reader, Code128Reader, ITFReader, MultiFormatUPCEANReader,
    OneDReader,
};
use rxing::{
    BarcodeFormat, BinaryBitmap, DecodeHints, Luma8Source, MultiUseMultiFormatReader, RXingResult,
    RXingResultMetadataType, RXingResultMetadataValue,
};

use super::{Format, Symbol};

/// Runs `f`, turning a panic into `None`.
///
/// rxing has no known panics on label frames, but it is a large decoder fed with camera noise, and
/// one bad frame must not stop the station.
pub(crate) fn guard<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

pub(crate) fn to_rxing(format: Format) -> BarcodeFormat {
    match format {
        Format::Code128 => BarcodeFormat::CODE_128,
        Format::DataMatrix => BarcodeFormat::DATA_MATRIX,
        Format::QrCode => BarcodeFormat::QR_CODE,
        Format::Ean13 => BarcodeFormat::EAN_13,
        Format::Ean8 => BarcodeFormat::EAN_8,
        Format::UpcA => BarcodeFormat::UPC_A,
        Format::UpcE => BarcodeFormat::UPC_E,
        Format::Code39 => BarcodeFormat::CODE_39,
        Format::Pdf417 => BarcodeFormat::PDF_417,
        Format::Itf => BarcodeFormat::ITF,
        Format::Aztec => BarcodeFormat::AZTEC,
        Format::Code93 => BarcodeFormat::CODE_93,
        Format::Codabar => BarcodeFormat::CODABAR,
    }
}

pub(crate) fn from_rxing(format: BarcodeFormat) -> Option<Format> {
    Some(match format {
        BarcodeFormat::CODE_128 => Format::Code128,
        BarcodeFormat::DATA_MATRIX => Format::DataMatrix,
        BarcodeFormat::QR_CODE => Format::QrCode,
        BarcodeFormat::EAN_13 => Format::Ean13,
        BarcodeFormat::EAN_8 => Format::Ean8,
        BarcodeFormat::UPC_A => Format::UpcA,
        BarcodeFormat::UPC_E => Format::UpcE,
        BarcodeFormat::CODE_39 => Format::Code39,
        BarcodeFormat::PDF_417 => Format::Pdf417,
        BarcodeFormat::ITF => Format::Itf,
        BarcodeFormat::AZTEC => Format::Aztec,
        BarcodeFormat::CODE_93 => Format::Code93,
        BarcodeFormat::CODABAR => Format::Codabar,
        _ => return None,
    })
}

/// Whether a format is read row by row (1D) rather than as a matrix or stack.
pub(crate) fn is_linear(format: Format) -> bool {
    !matches!(
        format,
        Format::DataMatrix | Format::QrCode | Format::Pdf417 | Format::Aztec
    )
}

/// The AIM identifier a format has when the decoder reports none (no modifier options in use).
fn default_aim(format: Format) -> &'static str {
    match format {
        Format::Code128 => "]C0",
        Format::DataMatrix => "]d1",
        Format::QrCode => "]Q1",
        Format::Ean13 | Format::UpcA | Format::UpcE => "]E0",
        Format::Ean8 => "]E4",
        Format::Code39 => "]A0",
        Format::Pdf417 => "]L0",
        Format::Itf => "]I0",
        Format::Aztec => "]z0",
        Format::Code93 => "]G0",
        Format::Codabar => "]F0",
    }
}

/// The hints shared by every pass.
///
/// `AssumeGs1` only changes Code 128: without it rxing drops FNC1 entirely, so GS1-128 element
/// strings would lose their GS separators. With it, rxing prefixes `]C1`, which
/// [`symbol_from`] strips again because the identifier is reported separately.
pub(crate) fn hints_for(formats: &HashSet<BarcodeFormat>) -> DecodeHints {
    DecodeHints {
        PossibleFormats: Some(formats.clone()),
        TryHarder: Some(false),
        AssumeGs1: Some(true),
        ..DecodeHints::default()
    }
}

/// One pass of rxing's multi-format reader over a whole grey frame.
///
/// `GenericMultipleBarcodeReader` decodes one symbol, then recurses into the areas left, above,
/// right and below it, which is how a frame with several 2D codes yields all of them.
pub(crate) fn whole_frame(
    pixels: &[u8],
    width: u32,
    height: u32,
    hints: &DecodeHints,
) -> Vec<RXingResult> {
    guard(|| {
        let Ok(source) = Luma8Source::new_with_slice(pixels, width, height) else {
            return Vec::new();
        };
        let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
        let mut reader = GenericMultipleBarcodeReader::new(MultiUseMultiFormatReader::default());
        reader
            .decode_multiple_with_hints(&mut bitmap, hints)
            .unwrap_or_default()
    })
    .unwrap_or_default()
}

/// The 1D readers for the configured formats, built once per frame and applied to single rows.
pub(crate) struct RowReaders {
    upc_ean: Option<MultiFormatUPCEANReader>,
    code128: bool,
    code39: bool,
    code93: bool,
    codabar: bool,
    itf: bool,
    hints: DecodeHints,
    /// The formats the blurred-strip reader may report.
    pub(crate) profile: super::profile::ProfileFormats,
}

impl RowReaders {
    pub(crate) fn new(formats: &[Format]) -> RowReaders {
        let linear: HashSet<BarcodeFormat> = formats
            .iter()
            .copied()
            .filter(|f| is_linear(*f))
            .map(to_rxing)
            .collect();
        let hints = hints_for(&linear);
        let has = |f: Format| formats.contains(&f);
        let upc = has(Format::Ean13) || has(Format::Ean8) || has(Format::UpcA) || has(Format::UpcE);
        RowReaders {
            upc_ean: upc.then(|| MultiFormatUPCEANReader::new(&hints)),
            code128: has(Format::Code128),
            code39: has(Format::Code39),
            code93: has(Format::Code93),
            codabar: has(Format::Codabar),
            itf: has(Format::Itf),
            hints,
            profile: super::profile::ProfileFormats::from_formats(formats),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.upc_ean.is_none()
            && !self.code128
            && !self.code39
            && !self.code93
            && !self.codabar
            && !self.itf
    }

    /// Every reader's result on one binarised row, read in the given direction only.
    ///
    /// The readers are tried in turn and the first that decodes wins, as in rxing's own
    /// multi-format 1D reader; Code 128 goes first because most device labels carry it.
    pub(crate) fn decode_row(&mut self, row_number: u32, row: &BitArray) -> Option<RXingResult> {
        let hints = &self.hints;
        let upc_ean = &mut self.upc_ean;
        let (code128, code39, code93, codabar, itf) = (
            self.code128,
            self.code39,
            self.code93,
            self.codabar,
            self.itf,
        );
        guard(|| {
            if code128
                && may_start_code128(row)
                && let Ok(r) = Code128Reader.decode_row(row_number, row, hints)
            {
                return Some(r);
            }
            if let Some(reader) = upc_ean.as_mut()
                && let Ok(r) = reader.decode_row(row_number, row, hints)
            {
                return Some(r);
            }
            if code39
                && may_start_code39(row)
                && let Ok(r) = Code39Reader::new().decode_row(row_number, row, hints)
            {
                return Some(r);
            }
            if itf && let Ok(r) = ITFReader::default().decode_row(row_number, row, hints) {
                return Some(r);
            }
            if code93 && let Ok(r) = Code93Reader::default().decode_row(row_number, row, hints) {
                return Some(r);
            }
            if codabar && let Ok(r) = CodaBarReader::default().decode_row(row_number, row, hints) {
                return Some(r);
            }
            None
        })
        .flatten()
    }
}

/// Whether rxing's Code 128 reader can find a start character (A, B or C) in the row at all.
///
/// The reader walks the row bit by bit, and for every window of six runs that starts with a
/// bar (closed by a later edge) it takes the first whose runs match a start character within
/// its variances and that has light for half the window's width before it. On rows without
/// Code 128 (text, clutter, other symbologies, nearly all rows), that walk took about 4 % of
/// the decoder's instructions on the slowest 1080p generated frames. Here the same windows
/// are taken from the row's runs, the quiet zone is tested first (a few integer operations,
/// and most windows inside bars or text fail it), and only then rxing's own variance. The
/// test is necessary, not sufficient: a row that passes goes to the reader unchanged, so the
/// reads are the same.
fn may_start_code128(row: &BitArray) -> bool {
    const STARTS: [[u32; 6]; 3] = [[2, 1, 1, 4, 1, 2], [2, 1, 1, 2, 1, 4], [2, 1, 1, 2, 3, 2]];
    // The reader's limits (rxing's `Code128Reader`).
    const MAX_AVG_VARIANCE: f32 = 0.25;
    const MAX_INDIVIDUAL_VARIANCE: f32 = 0.7;
    let size = row.get_size();
    let first = row.getNextSet(0);
    // The runs closed by a later edge, from the first bar on.
    let mut runs: Vec<u32> = Vec::new();
    let (mut pos, mut bar) = (first, true);
    while pos < size {
        let next = if bar {
            row.getNextUnset(pos)
        } else {
            row.getNextSet(pos)
        };
        if next >= size {
            break;
        }
        runs.push((next - pos) as u32);
        pos = next;
        bar = !bar;
    }
    // Window `r` starts at the bar run `r` (even), at `start`; the light before it is the run
    // before, or everything before the first bar.
    let mut start = first;
    for r in (0..runs.len()).step_by(2) {
        let Some(window) = runs.get(r..r + 6) else {
            break;
        };
        let light = if r == 0 { first } else { runs[r - 1] as usize };
        let width: usize = window.iter().map(|&w| w as usize).sum();
        // The reader wants light from `start - width / 2` (not before the row) up to `start`.
        let quiet = light >= (width / 2).min(start);
        if quiet {
            let counters = [
                window[0], window[1], window[2], window[3], window[4], window[5],
            ];
            if STARTS.iter().any(|p| {
                rxing::oned::pattern_match_variance(&counters, p, MAX_INDIVIDUAL_VARIANCE)
                    < MAX_AVG_VARIANCE
            }) {
                return true;
            }
        }
        start += (window[0] + window[1]) as usize;
    }
    false
}

/// Whether rxing's Code 39 reader can find its start character (`*`) in the row at all.
///
/// The reader walks the row bit by bit and classifies every window of nine runs that starts
/// with a bar (bars at even offsets from the first set bit) as narrow or wide; on rows
/// without Code 39, nearly all of them, that walk was 4.5 % of all decode time on the
/// generated label frames. An `*` is narrow-wide-narrow-narrow-wide-narrow-wide-narrow-narrow,
/// and the reader takes it only when its three wide runs are each longer than every narrow
/// one. So a row in which no window, over the runs closed by a later edge (the reader never
/// looks at a window whose last run reaches the row's end), has that shape cannot read, and
/// the reader is not called. The test is necessary, not sufficient: what passes it goes to
/// the reader unchanged, so the reads are the same.
fn may_start_code39(row: &BitArray) -> bool {
    let size = row.get_size();
    let mut pos = row.getNextSet(0);
    let mut window = [0u32; 9];
    let mut filled = 0usize;
    let mut bar = true;
    while pos < size {
        let next = if bar {
            row.getNextUnset(pos)
        } else {
            row.getNextSet(pos)
        };
        if next >= size {
            // This run reaches the row's end: no edge closes it.
            return false;
        }
        window.copy_within(1.., 0);
        window[8] = (next - pos) as u32;
        filled += 1;
        pos = next;
        bar = !bar;
        // Windows start on a bar: after nine, eleven, thirteen... closed runs.
        if filled >= 9 && filled % 2 == 1 {
            let wide = window[1].min(window[4]).min(window[6]);
            let narrow = [0, 2, 3, 5, 7, 8]
                .iter()
                .map(|&i| window[i])
                .max()
                .unwrap_or(0);
            if wide > narrow {
                return true;
            }
        }
    }
    false
}

/// The fields of a [`Symbol`] that do not depend on where it was found.
pub(crate) struct Content {
    pub format: Format,
    pub text: String,
    pub raw: Vec<u8>,
    pub aim: String,
}

/// Format, text, raw bytes and AIM identifier of an rxing result, or `None` for a format the
/// station does not know.
pub(crate) fn content_of(result: &RXingResult) -> Option<Content> {
    let format = from_rxing(*result.getBarcodeFormat())?;
    let meta = result.getRXingResultMetadata();
    let reported = match meta.get(&RXingResultMetadataType::SYMBOLOGY_IDENTIFIER) {
        Some(RXingResultMetadataValue::SymbologyIdentifier(s)) if s.starts_with(']') => {
            Some(s.clone())
        }
        _ => None,
    };
    let mut text = result.getText().to_owned();
    // The `AssumeGs1` hint makes rxing's Code 128 reader put the identifier into the text itself.
    if format == Format::Code128
        && let Some(rest) = text.strip_prefix("]C1")
    {
        text = rest.to_owned();
    }
    if format == Format::Code39
        && let Some(full) = code39_extended(&text)
    {
        text = full;
    }
    let aim = reported.unwrap_or_else(|| default_aim(format).to_owned());
    // Byte segments are the payload bytes of byte-mode 2D data; elsewhere the text is the data,
    // in Latin-1 where it fits (as ZXing decodes 8-bit data) and UTF-8 otherwise.
    let raw = match meta.get(&RXingResultMetadataType::BYTE_SEGMENTS) {
        Some(RXingResultMetadataValue::ByteSegments(segs)) if !segs.is_empty() => segs.concat(),
        _ => {
            if text.chars().all(|c| (c as u32) < 256) {
                text.chars().map(|c| c as u32 as u8).collect()
            } else {
                text.as_bytes().to_vec()
            }
        }
    };
    Some(Content {
        format,
        text,
        raw,
        aim,
    })
}

/// Full ASCII ("extended") Code 39: `+A` is `a`, `/A` is `!`, `%A` is ESC and so on.
///
/// rxing's reader can do this only as a mode fixed in advance; like zxing-cpp, the station reads
/// a Code 39 as extended when it contains shift pairs and every one of them is valid, since `+`,
/// `$`, `%` and `/` rarely stand before a letter in plain Code 39 data.
pub(crate) fn code39_extended(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    let mut shifted = false;
    while let Some(c) = chars.next() {
        if !matches!(c, '+' | '$' | '%' | '/') {
            out.push(c);
            continue;
        }
        let next = chars.next()?;
        let n = next as u32;
        let decoded = match (c, next) {
            ('+', 'A'..='Z') => char::from_u32(n + 32)?,
            ('$', 'A'..='Z') => char::from_u32(n - 64)?,
            ('%', 'A'..='E') => char::from_u32(n - 38)?,
            ('%', 'F'..='J') => char::from_u32(n - 11)?,
            ('%', 'K'..='O') => char::from_u32(n + 16)?,
            ('%', 'P'..='T') => char::from_u32(n + 43)?,
            ('%', 'U') => '\0',
            ('%', 'V') => '@',
            ('%', 'W') => '`',
            ('%', 'X'..='Z') => '\u{7f}',
            ('/', 'A'..='O') => char::from_u32(n - 32)?,
            ('/', 'Z') => ':',
            _ => return None,
        };
        shifted = true;
        out.push(decoded);
    }
    shifted.then_some(out)
}

/// Four corners for a whole-frame result from the points rxing reports.
pub(crate) fn corners_of(result: &RXingResult) -> Option<[(f32, f32); 4]> {
    let pts: Vec<(f32, f32)> = result
        .getPoints()
        .iter()
        .map(|p| (p.x, p.y))
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let format = from_rxing(*result.getBarcodeFormat())?;
    match pts.len() {
        0 => None,
        1 => {
            let (x, y) = pts[0];
            Some([(x, y), (x, y), (x, y), (x, y)])
        }
        2 => {
            // A 1D result is the two ends of the scanned row; give it a thin box across the bars.
            let (a, b) = (pts[0], pts[1]);
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let len = (dx * dx + dy * dy).sqrt().max(1.0);
            let half = (len * 0.15).max(4.0);
            let (nx, ny) = (-dy / len * half, dx / len * half);
            Some(clockwise([
                (a.0 + nx, a.1 + ny),
                (b.0 + nx, b.1 + ny),
                (b.0 - nx, b.1 - ny),
                (a.0 - nx, a.1 - ny),
            ]))
        }
        _ if format == Format::QrCode => {
            // QR reports finder centres: bottom left, top left, top right (then alignment).
            let (bl, tl, tr) = (pts[0], pts[1], pts[2]);
            let br = (tr.0 + bl.0 - tl.0, tr.1 + bl.1 - tl.1);
            Some([tl, tr, br, bl])
        }
        4 => Some(clockwise([pts[0], pts[1], pts[2], pts[3]])),
        _ => {
            let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
            for (x, y) in &pts {
                x0 = x0.min(*x);
                y0 = y0.min(*y);
                x1 = x1.max(*x);
                y1 = y1.max(*y);
            }
            Some([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        }
    }
}

/// Orders four points clockwise (in image coordinates, y down) starting with the top-left one.
pub(crate) fn clockwise(mut pts: [(f32, f32); 4]) -> [(f32, f32); 4] {
    let cx = pts.iter().map(|p| p.0).sum::<f32>() / 4.0;
    let cy = pts.iter().map(|p| p.1).sum::<f32>() / 4.0;
    pts.sort_by(|a, b| {
        let aa = (a.1 - cy).atan2(a.0 - cx);
        let ab = (b.1 - cy).atan2(b.0 - cx);
        aa.total_cmp(&ab)
    });
    // After sorting by angle from -pi, the first point is the one left of centre; start from the
    // one nearest the top-left direction.
    let start = (0..4)
        .min_by(|&i, &j| {
            let si = pts[i].0 + pts[i].1;
            let sj = pts[j].0 + pts[j].1;
            si.total_cmp(&sj)
        })
        .unwrap_or(0);
    let mut out = pts;
    for (k, slot) in out.iter_mut().enumerate() {
        *slot = pts[(start + k) % 4];
    }
    out
}

/// Builds a symbol from a whole-frame result.
pub(crate) fn symbol_from(result: &RXingResult) -> Option<Symbol> {
    let c = content_of(result)?;
    let corners = corners_of(result)?;
    Some(Symbol {
        format: c.format,
        text: c.text,
        raw: c.raw,
        aim: c.aim,
        corners,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rxing::oned::{Code39Writer, Code128Writer, OneDimensionalCodeWriter};

    /// A row of `modules` at `px` bits per module between quiet zones, each run's width moved
    /// by up to `jitter` bits (print growth, blur, a tilted label).
    fn row_of(modules: &[bool], px: usize, jitter: usize, seed: u64) -> BitArray {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        let mut runs: Vec<(bool, usize)> = Vec::new();
        for &m in modules {
            match runs.last_mut() {
                Some((v, n)) if *v == m => *n += 1,
                _ => runs.push((m, 1)),
            }
        }
        let quiet = 12 * px;
        let mut bits = vec![false; quiet];
        for (v, n) in runs {
            let w = (n * px + next() % (2 * jitter + 1))
                .saturating_sub(jitter)
                .max(1);
            bits.extend(std::iter::repeat_n(v, w));
        }
        bits.extend(std::iter::repeat_n(false, quiet));
        let mut row = BitArray::with_size(bits.len());
        for (i, b) in bits.iter().enumerate() {
            if *b {
                row.set(i);
            }
        }
        row
    }

    /// `count` rows of random runs (a module dark one time in three, 2 bits a module, runs
    /// moved by a bit), the same every run.
    fn random_rows(count: u64) -> impl Iterator<Item = BitArray> {
        (0..count).map(|seed| {
            let mut state = seed.wrapping_mul(2654435761).wrapping_add(17);
            let modules: Vec<bool> = (0..120)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state % 3 == 0
                })
                .collect();
            row_of(&modules, 2, 1, seed)
        })
    }

    /// A row without bars and a row that is one bar to its end: nothing any reader can read.
    fn no_bars_or_one_to_the_end() -> [BitArray; 2] {
        let mut full = BitArray::with_size(64);
        for i in 0..64 {
            full.set(i);
        }
        [BitArray::with_size(64), full]
    }

    #[test]
    fn the_code39_start_test_passes_every_row_the_reader_reads_and_few_others() {
        let hints = DecodeHints::default();
        let mut read = 0;
        let mut seed = 1u64;
        for text in ["ABC-123", "SN 4711", "Z", "0123456789"] {
            let modules = Code39Writer.encode_oned(text).expect("encodes");
            for px in 1..=4 {
                for jitter in 0..px {
                    seed += 1;
                    for row in [row_of(&modules, px, jitter, seed), {
                        let mut r = row_of(&modules, px, jitter, seed);
                        r.reverse();
                        r
                    }] {
                        let reads = Code39Reader::new().decode_row(0, &row, &hints).is_ok();
                        assert!(
                            !reads || may_start_code39(&row),
                            "{text:?} at {px} px, jitter {jitter}: read but refused"
                        );
                        read += usize::from(reads);
                    }
                }
            }
        }
        // The rows above are real symbols; most of them read (so the assertion was tested).
        assert!(read >= 20, "only {read} rows read");
        // A Code 128 row and a row of random runs have no start character to find.
        let code128 = Code128Writer
            .encode_oned("359107882395528")
            .expect("encodes");
        assert!(!may_start_code39(&row_of(&code128, 2, 0, 7)));
        let mut refused = 0;
        for row in random_rows(200) {
            let reads = Code39Reader::new().decode_row(0, &row, &hints).is_ok();
            assert!(!reads || may_start_code39(&row));
            refused += usize::from(!may_start_code39(&row));
        }
        assert!(refused > 0, "the test refused no random row");
        // No bars, or a bar reaching the row's end: nothing to read, no panic.
        assert!(
            no_bars_or_one_to_the_end()
                .iter()
                .all(|r| !may_start_code39(r))
        );
    }

    #[test]
    fn the_code128_start_test_passes_every_row_the_reader_reads_and_few_others() {
        let hints = DecodeHints::default();
        let reads = |row: &BitArray| Code128Reader.decode_row(0, row, &hints).is_ok();
        let (mut read, mut seed) = (0, 1u64);
        // Start characters A, B and C, at 1 to 4 bits per module, runs moved by up to a bit
        // less than a module, read forwards and backwards.
        for text in ["359107882395528", "SN4711", "ab", "F2LC9PG269DJ", "\u{1}X"] {
            let modules = Code128Writer.encode_oned(text).expect("encodes");
            for px in 1..=4 {
                for jitter in 0..px {
                    seed += 1;
                    let row = row_of(&modules, px, jitter, seed);
                    let mut back = row.clone();
                    back.reverse();
                    for row in [row, back] {
                        let ok = reads(&row);
                        assert!(
                            !ok || may_start_code128(&row),
                            "{text:?} at {px} px, jitter {jitter}: read but refused"
                        );
                        read += usize::from(ok);
                    }
                }
            }
        }
        assert!(read >= 30, "only {read} rows read");
        // A bar, then a gap, then the symbol: the reader wants light for half the start
        // character's width before it, so short gaps do not read and the test may refuse them.
        let modules = Code128Writer.encode_oned("SN4711").expect("encodes");
        let symbol = row_of(&modules, 2, 0, 3);
        let mut refused_gap = 0;
        for gap in 1..16 {
            let mut bits = vec![false; 4];
            bits.extend([true, true]);
            bits.extend(std::iter::repeat_n(false, gap));
            let lead = bits.len();
            let first = symbol.getNextSet(0);
            let mut row = BitArray::with_size(lead + symbol.get_size() - first);
            for i in 4..6 {
                row.set(i);
            }
            for i in first..symbol.get_size() {
                if symbol.get(i) {
                    row.set(lead + i - first);
                }
            }
            let ok = reads(&row);
            assert!(
                !ok || may_start_code128(&row),
                "gap {gap}: read but refused"
            );
            refused_gap += usize::from(!may_start_code128(&row));
        }
        assert!(refused_gap > 0, "no short gap was refused");
        // Random runs: whatever the reader reads passes; most rows are refused.
        let mut refused = 0;
        for row in random_rows(300) {
            assert!(!reads(&row) || may_start_code128(&row));
            refused += usize::from(!may_start_code128(&row));
        }
        assert!(refused > 0, "the test refused no random row");
        // No bars, or a bar reaching the row's end: nothing to read, no panic.
        assert!(
            no_bars_or_one_to_the_end()
                .iter()
                .all(|r| !may_start_code128(r))
        );
    }
}
