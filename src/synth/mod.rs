//! `synth`: generated label frames with ground truth, for tests and the decoder benchmark.
//!
//! The generator draws phone-box end labels, device back labels and SIM trays from made-up but
//! valid identifiers, places 0, 1 or 2 of them on a cluttered background at any angle and with
//! camera-like degradations, and records every symbol's text and corners. Output is a pure
//! function of the seed: the same seed gives the same bytes on every run.
//!
//! - [`unit`](mod@unit): identifiers of one unit ([`UnitData`], [`random_unit`]).
//! - [`symbol`]: module patterns from rxing's writers (and a GS1 Data Matrix encoder, see there
//!   for what rxing does with FNC1).
//! - [`layout`]: label geometry in module units and upright rendering ([`render_label`]).
//! - [`frame`]: frames ([`FrameSpec`], [`render_frame`]).
//! - [`set`]: a benchmark set with a corpus-style manifest ([`generate_set`]) and replay scenes
//!   ([`scene`]).
//! - [`session`]: camera sessions (boxes carried in, held and out) with appearance-level truth,
//!   and the desk scorer ([`session::plan_session`], [`session::score`]).

pub mod font;
pub mod frame;
pub mod layout;
pub mod raster;
pub mod rng;
pub mod session;
pub mod set;
pub mod symbol;
pub mod unit;

use std::path::PathBuf;

pub use frame::{
    Difficulty, FrameSpec, GeneratedFrame, LabelSpec, MotionBlur, PlacedLabel, render_frame,
    render_frame_at,
};
pub use layout::{LabelKind, RenderedLabel, render_label};
pub use rng::Rng;
pub use set::{
    MANIFEST_NAME, ManifestLine, ManifestSource, ManifestSymbol, Scene, SceneStep, SetOptions,
    SetSummary, generate_set, generate_set_with, scene, set_frame, set_frame_with,
};
pub use unit::{UnitData, random_unit, unit_with_invalid_imei};

/// One symbol placed in an image, with the text a decoder should return for it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedSymbol {
    /// The manifest format name: `Code128`, `DataMatrix`, `EAN13`, `UPCA`.
    pub format: &'static str,
    /// The decoded text: GS (0x1D) where GS1 data has an FNC1 separator, no AIM prefix.
    pub text: String,
    /// The symbol's outline in image pixels (continuous coordinates, pixel `(i, j)` covering
    /// `[i, i+1) x [j, j+1)`): top-left, top-right, bottom-right, bottom-left as printed, so the
    /// first edge runs along the reading direction of a 1D code. Quiet zones are excluded.
    pub corners: [(f32, f32); 4],
    /// Which label of the frame carries the symbol (an index into `GeneratedFrame::units`).
    pub label: usize,
}

/// Everything that can go wrong while generating frames.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("rxing could not encode {text:?} as {format}: {message}")]
    Encode {
        format: String,
        text: String,
        message: String,
    },
    #[error("invalid frame spec: {0}")]
    Spec(String),
    #[error("image encoding failed")]
    Image(#[from] image::ImageError),
    #[error("cannot read or write {path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("manifest serialisation failed")]
    Json(#[from] serde_json::Error),
    #[error("a frame worker thread panicked")]
    Worker,
}
