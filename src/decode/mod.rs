//! `decode`: every barcode in a grey frame, with rxing.
//!
//! **Invariant:** pure apart from the time box: a frame in, symbols out; no files, no devices.
//!
//! The pipeline (figures and reasons in `shared/docs/DECODE.md`), chosen by measurement with
//! `scanstation bench decode` and `benches/zxing_compare.py`:
//! 1. `locate` finds 1D barcode regions at any angle with a block structure tensor (on a 2x
//!    downscale from 320 px up), refines each angle at full resolution, and proposes
//!    matrix-code regions (strong, incoherent, compact blobs).
//! 2. `strip` straightens each 1D region along the bar normal (cubic, 2x across the bars,
//!    lightly sharpened), measures how the rows lean under perspective, splits the strip into
//!    bands of bar energy and reads each band row by row with rxing's 1D readers restricted to
//!    the configured 1D formats. A row whose quiet zone is darker than its bars (light print
//!    on a dark label) is read inverted too, in the band's middle rows only.
//!    A band that no row reads goes to `profile`: its mean profile is fitted with Code 128 and
//!    EAN/UPC models (blurred bar templates, Viterbi over the characters), which reads strips
//!    blurred past the edges rxing's readers count.
//! 3. `matrix` decodes each matrix-code proposal as a crop (Data Matrix with TryHarder, which
//!    is affordable on a crop; a crop with a dark margin once more inverted) and tries PDF417 on
//!    straightened regions that held no 1D code.
//! 4. Frames up to 0.6 MP also get a whole-frame rxing pass in default mode over every
//!    configured format (never TryHarder on a whole frame: slow, ghosts, rxing issue 69); on
//!    larger frames that pass costs more than the frame budget and runs only as a last resort
//!    when nothing else was found.
//! 5. Results are filtered (length, two-row confirmation of formats without a strong check) and
//!    deduplicated by format, text and place.
//!
//! [`DecodeWorker`] runs the decoder on a thread under the frame budget.

mod locate;
mod matrix;
pub mod profile;
pub mod region;
mod rx;
mod stream;
mod strip;
mod worker;

#[cfg(feature = "lab")]
pub mod bench;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image::GrayImage;

pub use locate::LocateParams;
pub use region::{LabelRegion, RegionMethod, RegionParams, label_regions};
pub use stream::{Decoded, Focus, FocusParams, FramePlan, Priority, Rect, StreamConfig};
pub use strip::StripParams;
pub use worker::DecodeWorker;

/// The barcode formats the station knows, named as in the corpus manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Code128,
    DataMatrix,
    QrCode,
    Ean13,
    Ean8,
    UpcA,
    UpcE,
    Code39,
    Pdf417,
    Itf,
    Aztec,
    Code93,
    Codabar,
}

impl Format {
    /// Every format, in a stable order.
    pub const ALL: [Format; 13] = [
        Format::Code128,
        Format::DataMatrix,
        Format::QrCode,
        Format::Ean13,
        Format::Ean8,
        Format::UpcA,
        Format::UpcE,
        Format::Code39,
        Format::Pdf417,
        Format::Itf,
        Format::Aztec,
        Format::Code93,
        Format::Codabar,
    ];

    /// The formats found on device labels, enabled by default.
    pub const LABEL_DEFAULT: [Format; 10] = [
        Format::Code128,
        Format::DataMatrix,
        Format::QrCode,
        Format::Ean13,
        Format::Ean8,
        Format::UpcA,
        Format::UpcE,
        Format::Code39,
        Format::Pdf417,
        Format::Itf,
    ];

    /// The manifest name: `Code128`, `DataMatrix`, `QRCode`, `EAN13`, `EAN8`, `UPCA`, `UPCE`,
    /// `Code39`, `PDF417`, `ITF`, `Aztec`, `Code93`, `Codabar`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Code128 => "Code128",
            Format::DataMatrix => "DataMatrix",
            Format::QrCode => "QRCode",
            Format::Ean13 => "EAN13",
            Format::Ean8 => "EAN8",
            Format::UpcA => "UPCA",
            Format::UpcE => "UPCE",
            Format::Code39 => "Code39",
            Format::Pdf417 => "PDF417",
            Format::Itf => "ITF",
            Format::Aztec => "Aztec",
            Format::Code93 => "Code93",
            Format::Codabar => "Codabar",
        }
    }

    /// Parses a format name in any letter case, with or without `-`/`_` (`code128`, `ean-13`, `qr`).
    pub fn parse(name: &str) -> Option<Format> {
        let folded: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if folded == "qr" {
            return Some(Format::QrCode);
        }
        Format::ALL
            .into_iter()
            .find(|f| f.name().to_ascii_lowercase() == folded)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A list of formats that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown barcode format {name:?} (known: code128, datamatrix, qrcode, ean13, ean8, upca, upce, code39, pdf417, itf, aztec, code93, codabar)"
)]
pub struct FormatError {
    pub name: String,
}

/// Parses a comma-separated list such as `code128,datamatrix,ean13`.
pub fn parse_formats(list: &str) -> Result<Vec<Format>, FormatError> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let format = Format::parse(name).ok_or_else(|| FormatError {
            name: name.to_owned(),
        })?;
        if !out.contains(&format) {
            out.push(format);
        }
    }
    if out.is_empty() {
        return Err(FormatError {
            name: list.to_owned(),
        });
    }
    Ok(out)
}

/// One decoded symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    pub format: Format,
    /// The text as decoded; GS1 FNC1 separators appear as GS (0x1D).
    pub text: String,
    /// The raw bytes of the symbol's data, where the decoder reports them.
    pub raw: Vec<u8>,
    /// The AIM symbology identifier, e.g. `]C1` for GS1-128, `]d2` for GS1 DataMatrix.
    pub aim: String,
    /// The symbol's corners in frame pixel coordinates (clockwise from top left of the symbol).
    pub corners: [(f32, f32); 4],
}

impl Symbol {
    pub fn center(&self) -> (f32, f32) {
        let (sx, sy) = self
            .corners
            .iter()
            .fold((0.0, 0.0), |(ax, ay), (x, y)| (ax + x, ay + y));
        (sx / 4.0, sy / 4.0)
    }
}

/// Why a frame produced no symbols through no fault of its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty frame ({width}x{height})")]
    EmptyFrame { width: u32, height: u32 },
    #[error("decoding took longer than its {budget_ms} ms budget and was abandoned")]
    Overrun { budget_ms: u64 },
}

/// How to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeConfig {
    pub formats: Vec<Format>,
    /// A frame still decoding after this long is abandoned and counted.
    pub budget_ms: u64,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            formats: Format::LABEL_DEFAULT.to_vec(),
            budget_ms: 250,
        }
    }
}

/// Knobs of the pipeline beyond [`DecodeConfig`], for measurement; the defaults are the tuned
/// values.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    /// Locate and straighten 1D codes (any angle).
    pub strips: bool,
    /// Run rxing over the whole frame as well.
    pub whole_frame: bool,
    /// Run the whole-frame pass (all configured formats) first only on frames with at most this
    /// many pixels; larger frames get it as a last resort when the proposals read nothing. On a
    /// 1080p frame it costs more than the frame budget (about 28 ms for the 2D formats alone).
    /// It equals `single_symbol_max_pixels`, so every camera mode (VGA and up) goes through the
    /// locator: at 600 000 pixels, VGA and SVGA label frames ran the whole-frame pass first, and
    /// a bar region holding a symbol it had read was skipped whole, with the symbols beside it
    /// (400 generated frames: 8 more symbols at 250 000; the public corpus reads the same).
    pub whole_frame_max_pixels: u64,
    /// On larger frames, run the whole-frame pass when the proposals read nothing.
    pub whole_frame_fallback: bool,
    /// Decode matrix-code proposals on frames small enough for the whole-frame pass too (but
    /// larger than `single_symbol_max_pixels`), where TryHarder on a crop finds Data Matrix
    /// codes the default whole-frame pass misses.
    pub matrix_on_small: bool,
    /// Frames up to this many pixels (thumbnails and crops, below any camera mode the station
    /// uses, VGA being 307 200) are taken to hold one symbol: when the whole-frame pass reads
    /// one, the locator is skipped. A speed rule for small images only: it would miss a second,
    /// rotated 1D code in such an image.
    pub single_symbol_max_pixels: u64,
    /// The share of `budget_ms` after which the decoder stops starting new work and returns what
    /// it has, leaving the rest of the budget as margin for [`DecodeWorker`].
    pub soft_deadline_share: f32,
    /// Ask rxing to try harder in the whole-frame pass (experiment only: slow, and rxing issue 69).
    pub whole_frame_try_harder: bool,
    /// How many of the matrix crops (`matrix::CROPS`: wide, tight, widest) a proposal may take;
    /// 0 takes only the tight one, as before the wide crop existed (for comparisons).
    pub matrix_crops: usize,
    /// Matrix proposals up to 64 px long whose edges run more one way than this (orientation
    /// coherence, 0 to 1) are skipped as bars (`matrix::decode_matrix`); 1 tries them all.
    pub matrix_max_coherence: f32,
    pub locate: LocateParams,
    pub strip: StripParams,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            strips: true,
            whole_frame: true,
            whole_frame_max_pixels: 250_000,
            whole_frame_fallback: true,
            matrix_on_small: true,
            single_symbol_max_pixels: 250_000,
            soft_deadline_share: 0.75,
            whole_frame_try_harder: false,
            matrix_crops: 3,
            matrix_max_coherence: 0.3,
            locate: LocateParams::default(),
            strip: StripParams::default(),
        }
    }
}

/// Decodes frames. Cheap to clone; holds no per-frame state.
#[derive(Debug, Clone)]
pub struct Decoder {
    cfg: DecodeConfig,
    tuning: Tuning,
}

impl Decoder {
    pub fn new(cfg: DecodeConfig) -> Decoder {
        Decoder {
            cfg,
            tuning: Tuning::default(),
        }
    }

    /// A decoder with non-default pipeline settings (benchmarks and experiments).
    // Only `bench decode --tune` sets one, so the station build leaves it out.
    #[cfg(feature = "lab")]
    pub fn with_tuning(cfg: DecodeConfig, tuning: Tuning) -> Decoder {
        Decoder { cfg, tuning }
    }

    pub fn config(&self) -> &DecodeConfig {
        &self.cfg
    }

    pub fn tuning(&self) -> &Tuning {
        &self.tuning
    }

    /// Every symbol in the frame.
    ///
    /// Stops starting new passes once the soft deadline (a share of `budget_ms`) has passed and
    /// returns what it has found so far.
    pub fn decode(&self, frame: &GrayImage) -> Result<Vec<Symbol>, DecodeError> {
        self.decode_plan(frame, &FramePlan::default())
            .map(|d| d.symbols)
    }

    /// Every symbol in a frame of a stream: the located regions inside the plan's focus (where
    /// the last frames read symbols) are decoded first, then the others, until the plan's soft
    /// deadline (or the decoder's own) has passed.
    pub fn decode_plan(&self, frame: &GrayImage, plan: &FramePlan) -> Result<Decoded, DecodeError> {
        if frame.width() == 0 || frame.height() == 0 {
            return Err(DecodeError::EmptyFrame {
                width: frame.width(),
                height: frame.height(),
            });
        }
        let start = Instant::now();
        let soft = plan
            .soft_ms
            .filter(|ms| ms.is_finite() && *ms > 0.0)
            .unwrap_or(self.cfg.budget_ms as f64 * f64::from(self.tuning.soft_deadline_share))
            .max(1.0);
        let deadline = start.checked_add(Duration::from_micros((soft * 1000.0) as u64));
        let expired = || deadline.is_some_and(|d| Instant::now() >= d);
        let formats: Vec<Format> = self.cfg.formats.clone();
        let mut found: Vec<Symbol> = Vec::new();
        let mut report = Decoded::default();

        let mut readers = rx::RowReaders::new(&formats);
        let pixels = u64::from(frame.width()) * u64::from(frame.height());
        let small = self.tuning.whole_frame && pixels <= self.tuning.whole_frame_max_pixels;
        let want_matrix = formats
            .iter()
            .any(|f| matches!(f, Format::DataMatrix | Format::QrCode | Format::Aztec));
        let want_pdf = formats.contains(&Format::Pdf417);
        let strips = self.tuning.strips && !readers.is_empty();
        let matrices = want_matrix
            && (!small
                || (self.tuning.matrix_on_small && pixels > self.tuning.single_symbol_max_pixels));

        // Small frames: one whole-frame pass over every configured format first, so that the
        // proposals below can skip what it already read.
        if small {
            self.whole_frame(frame, &formats, &mut found);
        }

        let single = small && pixels <= self.tuning.single_symbol_max_pixels && !found.is_empty();
        let located = if single {
            locate::Located::default()
        } else if strips || matrices || (want_pdf && !small) {
            rx::guard(|| locate::locate(frame, &self.tuning.locate)).unwrap_or_default()
        } else {
            locate::Located::default()
        };

        // The work, in order (`stream::Priority`): regions in the focus that did not fail in
        // the last frames, then the other fresh ones, then those that kept failing (text,
        // clutter, a symbol too blurred so far), focus first. Within each rank the locator's
        // order (strongest first) is kept.
        let mut jobs: Vec<(Priority, Job)> = Vec::new();
        if strips || (want_pdf && !small) {
            jobs.extend(located.bars.iter().map(|c| {
                let r = c.bounds();
                (plan.priority(&r), Job::Bars(c, r))
            }));
        }
        if matrices {
            jobs.extend(located.matrices.iter().map(|m| {
                let r = [m.x0, m.y0, m.x1, m.y1];
                (plan.priority(&r), Job::Matrix(m, r))
            }));
        }
        jobs.sort_by_key(|(p, _)| *p);
        // Whether any bar region was tried as PDF417, and whether one held a start or stop
        // pattern (see the fallback below).
        let (mut pdf_tried, mut pdf_guard) = (false, false);
        report.focus_jobs = jobs.iter().filter(|(p, _)| p.focus()).count();
        report.other_jobs = jobs.len() - report.focus_jobs;
        for (priority, job) in &jobs {
            if *priority == Priority::Rest {
                report.rested += 1;
                continue;
            }
            if !plan.focus.is_empty() && !priority.focus() && report.focus_ms.is_none() {
                report.focus_ms = Some(start.elapsed().as_secs_f64() * 1000.0);
            }
            if expired() {
                report.cut = true;
                break;
            }
            if !priority.focus() {
                report.other_done += 1;
            }
            let before = found.len();
            let rect = match job {
                Job::Bars(c, r) => {
                    if small && covered(&found, |s| rx::is_linear(s.format), c) {
                        continue;
                    }
                    let mut part = Vec::new();
                    // A panic while straightening or reading one region loses that region only.
                    rx::guard(|| {
                        if strips {
                            strip::decode_candidate(
                                frame,
                                c,
                                &mut readers,
                                &self.tuning.strip,
                                deadline,
                                &mut part,
                            );
                        }
                        if part.is_empty() && want_pdf && !small {
                            pdf_tried = true;
                            pdf_guard |= matrix::decode_pdf417(frame, c, &mut part)
                                >= matrix::PDF417_MIN_GUARDS;
                        }
                    });
                    found.extend(part);
                    r
                }
                Job::Matrix(m, r) => {
                    let (mx, my) = (0.5 * (m.x0 + m.x1), 0.5 * (m.y0 + m.y1));
                    let known = found.iter().any(|s| {
                        let (sx, sy) = s.center();
                        !rx::is_linear(s.format)
                            && (sx - mx).abs() < 0.5 * (m.x1 - m.x0) + 8.0
                            && (sy - my).abs() < 0.5 * (m.y1 - m.y0) + 8.0
                    });
                    if known {
                        continue;
                    }
                    let mut part = Vec::new();
                    rx::guard(|| {
                        matrix::decode_matrix(
                            frame,
                            m,
                            &formats,
                            self.tuning.matrix_crops,
                            self.tuning.matrix_max_coherence,
                            &mut part,
                        )
                    });
                    found.extend(part);
                    r
                }
            };
            // A region that read nothing is remembered by the stream, so that the next frames
            // try it after the fresh ones.
            if found.len() == before {
                report.failed.push(*rect);
            }
        }
        if !plan.focus.is_empty() && report.focus_ms.is_none() {
            report.focus_ms = Some(start.elapsed().as_secs_f64() * 1000.0);
        }
        // Large frames where the proposals found nothing: a whole-frame pass as a last resort,
        // for symbols the locator cannot see (very large, inverted or unusual ones). It only
        // costs time on frames that would otherwise report nothing.
        if !small
            && found.is_empty()
            && self.tuning.whole_frame
            && self.tuning.whole_frame_fallback
            && !expired()
        {
            // PDF417 in the whole frame is rxing's slowest reader (it tries four rotations of
            // the binarised frame): on label frames it took two thirds of this pass. It runs
            // when a bar region showed a start or stop pattern on several rows (see
            // `matrix::PDF417_MIN_GUARDS`), or when no bar region could tell (the locator proposed
            // none: a long PDF417 without quiet zones in the corpus).
            let fallback: Vec<Format> = formats
                .iter()
                .copied()
                .filter(|f| pdf_guard || !pdf_tried || *f != Format::Pdf417)
                .collect();
            self.whole_frame(frame, &fallback, &mut found);
        }
        // Small frames with nothing found: light-on-dark symbols (inverted), and thumbnails whose
        // modules are too small for the detectors (upscaled). Both are cheap at this size.
        if small && found.is_empty() && !expired() {
            let mut inverted = frame.clone();
            image::imageops::invert(&mut inverted);
            self.whole_frame(&inverted, &formats, &mut found);
            if found.is_empty() && frame.width().min(frame.height()) < 160 && !expired() {
                let factor = (320 / frame.width().min(frame.height()).max(1)).clamp(2, 8);
                let up = image::imageops::resize(
                    frame,
                    frame.width() * factor,
                    frame.height() * factor,
                    image::imageops::FilterType::Triangle,
                );
                let mut part = Vec::new();
                self.whole_frame(&up, &formats, &mut part);
                let k = 1.0 / factor as f32;
                for mut s in part {
                    for c in &mut s.corners {
                        *c = (c.0 * k, c.1 * k);
                    }
                    found.push(s);
                }
            }
        }
        report.symbols = dedup(found);
        Ok(report)
    }
}

/// One located region to decode, with its bounding box in frame pixels.
enum Job<'a> {
    Bars(&'a locate::Candidate, Rect),
    Matrix(&'a locate::MatrixCandidate, Rect),
}

impl Decoder {
    /// rxing over the whole frame with every configured format, in default mode.
    fn whole_frame(&self, frame: &GrayImage, formats: &[Format], found: &mut Vec<Symbol>) {
        let set: HashSet<rxing::BarcodeFormat> =
            formats.iter().copied().map(rx::to_rxing).collect();
        if set.is_empty() {
            return;
        }
        let mut hints = rx::hints_for(&set);
        hints.TryHarder = Some(self.tuning.whole_frame_try_harder);
        for r in rx::whole_frame(frame.as_raw(), frame.width(), frame.height(), &hints) {
            let Some(sym) = rx::symbol_from(&r) else {
                continue;
            };
            if formats.contains(&sym.format) && strip::plausible(sym.format, &sym.text) {
                found.push(sym);
            }
        }
    }
}

/// Whether a symbol matching `pred` already lies inside a bar candidate's rectangle.
fn covered(found: &[Symbol], pred: impl Fn(&Symbol) -> bool, c: &locate::Candidate) -> bool {
    let (cos, sin) = (c.angle.cos(), c.angle.sin());
    found.iter().filter(|s| pred(s)).any(|s| {
        let (x, y) = s.center();
        let (dx, dy) = (x - c.cx, y - c.cy);
        let u = dx * cos + dy * sin;
        let v = -dx * sin + dy * cos;
        u >= c.u0 && u <= c.u1 && v >= c.v0 && v <= c.v1
    })
}

/// The largest side of a symbol's bounding box.
fn extent(s: &Symbol) -> f32 {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for (x, y) in s.corners {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    (x1 - x0).max(y1 - y0).max(1.0)
}

/// Drops repeated reads of one symbol: the same format and text near the same place (a symbol
/// read by two bands, two strips, or a strip and the whole-frame pass). The same text far away
/// is a second label and is kept.
fn dedup(symbols: Vec<Symbol>) -> Vec<Symbol> {
    let mut out: Vec<Symbol> = Vec::with_capacity(symbols.len());
    for s in symbols {
        let (sx, sy) = s.center();
        let duplicate = out.iter().any(|o| {
            if o.format != s.format || o.text != s.text {
                return false;
            }
            let (ox, oy) = o.center();
            let d = ((sx - ox).powi(2) + (sy - oy).powi(2)).sqrt();
            d < 0.75 * extent(o).max(extent(&s))
        });
        if !duplicate {
            out.push(s);
        }
    }
    out
}

/// An image file that could not be turned into a frame: the file, and why ([`LumaError`]).
#[derive(Debug, thiserror::Error)]
#[error("cannot load {}", path.display())]
pub struct LoadError {
    pub path: PathBuf,
    #[source]
    pub source: LumaError,
}

impl LoadError {
    /// Why the file did not load, with every cause, but without the file's name: for lines that
    /// show the file in a column of its own. A cause whose text is already there is skipped
    /// (`image`'s errors show their source in their own message too).
    pub fn reason(&self) -> String {
        crate::error::Chain(&self.source).to_string()
    }
}

/// Why image bytes are not a usable grey frame.
#[derive(Debug, thiserror::Error)]
pub enum LumaError {
    #[error("cannot open")]
    Open(#[source] std::io::Error),
    #[error("cannot read")]
    Read(#[source] std::io::Error),
    #[error("not an image (unknown format)")]
    UnknownFormat,
    #[error("cannot decode")]
    Decode(#[source] image::ImageError),
    #[error(
        "{width}x{height} is {:.1} megapixels, over the {} MP limit that keeps decoding within memory; scale it down",
        (u64::from(*width) * u64::from(*height)) as f64 / 1e6,
        MAX_PIXELS / 1_000_000
    )]
    TooLarge { width: u32, height: u32 },
    #[error("empty image ({width}x{height})")]
    Empty { width: u32, height: u32 },
}

/// Images larger than this in either dimension are refused before decoding (decompression bombs).
pub const MAX_DIMENSION: u32 = 12_000;
/// The most memory one image may allocate while decoding.
pub const MAX_ALLOC: u64 = 256 * 1024 * 1024;
/// The most pixels a frame from a file may have. Decoding a frame needs several working copies
/// of it (the file's own colour buffer, the grey frame, the locator's scaled and straightened
/// copies, rxing's bitmaps), about five bytes per pixel at the peak, so this keeps one frame's
/// peak near the 256 MiB limit: 40 MP is more than any desk camera or label photo needs.
pub const MAX_PIXELS: u64 = 40_000_000;

/// Loads an image file as a grey frame, with limits against decompression bombs.
pub fn load_luma(path: &Path) -> Result<GrayImage, LoadError> {
    let err = |source: LumaError| LoadError {
        path: path.to_owned(),
        source,
    };
    let reader = image::ImageReader::open(path).map_err(|e| err(LumaError::Open(e)))?;
    decode_luma(reader).map_err(err)
}

/// Decodes an opened image as a grey frame with [`load_luma`]'s limits. The format set on the
/// reader (from the file name) is the fallback when the content does not name one.
///
/// Public only so the fuzz targets can feed it bytes without a file.
#[doc(hidden)]
pub fn decode_luma<R: std::io::BufRead + std::io::Seek>(
    reader: image::ImageReader<R>,
) -> Result<GrayImage, LumaError> {
    let mut reader = reader.with_guessed_format().map_err(LumaError::Read)?;
    if reader.format().is_none() {
        return Err(LumaError::UnknownFormat);
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    // The size comes from the header, so an oversized frame costs nothing to refuse.
    let decoder = reader.into_decoder().map_err(LumaError::Decode)?;
    let (width, height) = image::ImageDecoder::dimensions(&decoder);
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(LumaError::TooLarge { width, height });
    }
    let image = image::DynamicImage::from_decoder(decoder).map_err(LumaError::Decode)?;
    if image.width() == 0 || image.height() == 0 {
        return Err(LumaError::Empty {
            width: image.width(),
            height: image.height(),
        });
    }
    Ok(image.into_luma8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::parse(f.name()), Some(f));
        }
        assert_eq!(Format::parse("ean-13"), Some(Format::Ean13));
        assert_eq!(Format::parse("qr"), Some(Format::QrCode));
        assert_eq!(
            parse_formats("code128, datamatrix,code128").map(|v| v.len()),
            Ok(2)
        );
        assert!(parse_formats("code128,bogus").is_err());
        assert!(parse_formats("").is_err());
    }
}
