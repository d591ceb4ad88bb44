//! `synth`: generated label frames with ground truth (being written).

pub mod rng;
pub mod symbol;
pub mod unit;

/// Everything that can go wrong while generating frames.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("rxing could not encode {text:?} as {format}: {message}")]
    Encode {
        format: String,
        text: String,
        message: String,
    },
}
