//! `source`: the edges where scans come in. Each source runs on its own thread, blocks on its
//! device, and sends [`SourceEvent`]s into the daemon's one event loop.
//!
//! **Invariant:** sources never interpret barcode content; they frame bytes into scans and
//! report device loss. Everything after framing happens in the pure core.

#[cfg(feature = "camera")]
pub mod camera;
pub mod camera_settings;
mod error;
pub mod frames;
pub mod framing;
pub mod keymap;
pub mod reconnect;
#[cfg(feature = "serial")]
pub mod serial;
pub mod serial_spec;
pub mod stdin;
#[cfg(feature = "wedge")]
pub mod wedge;

use std::sync::mpsc::SyncSender;

pub use camera_settings::CameraSettings;
pub use error::{Error, chain};
pub use framing::{Frame, FrameProblem, FramingConfig, LineFramer, Terminator};
pub use reconnect::{Reconnect, ResetAfter, Stopped};

/// One framed scan as it arrived: the raw bytes are kept exactly, whatever they contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawScan {
    /// The source's name, e.g. `stdin` or `serial:/dev/scanner`.
    pub source: String,
    /// Wall-clock arrival time in Unix milliseconds, the timestamp that is stored.
    pub at_ms: i64,
    /// Arrival on the monotonic clock ([`crate::clock::mono_ms`]), for durations: idle timeouts
    /// and repeat windows must not move when the wall clock is stepped.
    pub mono_ms: i64,
    pub bytes: Vec<u8>,
    /// Set when framing already found the scan unusable (too long, not UTF-8, cut off).
    pub problem: Option<FrameProblem>,
}

/// What a source tells the event loop.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    Scan(RawScan),
    /// The device went away; the source keeps trying to reopen it.
    Down {
        source: String,
        error: String,
    },
    /// The device is (back) open.
    Up {
        source: String,
    },
    /// The source reached the end of its input and stopped (stdin closed, last image read).
    End {
        source: String,
    },
    /// One camera or image frame, already decoded on the source's own thread.
    Frame(FrameResult),
}

/// What one frame held.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameResult {
    pub source: String,
    /// The frame's time in Unix milliseconds (virtual for `replay`, so replays are repeatable).
    pub at_ms: i64,
    /// The file name for `images` and `replay`, or the frame number for a camera.
    pub name: String,
    pub symbols: Vec<crate::decode::Symbol>,
    /// The labels the symbols sit on (every symbol in exactly one), when the frame was grouped.
    pub labels: Vec<FrameLabel>,
    /// The decoded frame itself, shared, so the station can keep a crop of a label as evidence.
    pub image: Option<std::sync::Arc<image::GrayImage>>,
    /// An unrelated still image (the `images` source), not a frame of a moving picture.
    pub still: bool,
    /// Set when the frame could not be read or decoded (corrupt file, decode over budget).
    pub error: Option<String>,
    /// How long decoding took on the source's thread, when there was an image to decode.
    pub decode_ms: Option<f32>,
    /// Camera frames dropped since the previous frame, because the decoder was busy.
    pub dropped: u64,
}

/// One physical label in a frame: its outline and the symbols on it.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameLabel {
    /// The label's outline in frame pixels, clockwise from the top left.
    pub outline: [(f32, f32); 4],
    /// Indices into `FrameResult::symbols`.
    pub symbols: Vec<usize>,
    /// How sharp the frame is inside the outline (comparable between frames of one label).
    pub sharpness: f32,
}

/// A scan source. `run` blocks until the source ends or the receiver is gone.
pub trait Source: Send {
    fn name(&self) -> String;
    fn run(self: Box<Self>, events: SyncSender<SourceEvent>);
}
