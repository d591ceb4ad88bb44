//! `source`: the edges where scans come in. Each source runs on its own thread, blocks on its
//! device, and sends [`SourceEvent`]s into the daemon's one event loop.
//!
//! **Invariant:** sources never interpret barcode content; they frame bytes into scans and
//! report device loss. Everything after framing happens in the pure core.

pub mod framing;
#[cfg(feature = "serial")]
pub mod serial;
pub mod stdin;

use std::sync::mpsc::SyncSender;

pub use framing::{Frame, FrameProblem, FramingConfig, LineFramer, Terminator};

/// One framed scan as it arrived: the raw bytes are kept exactly, whatever they contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawScan {
    /// The source's name, e.g. `stdin` or `serial:/dev/scanner`.
    pub source: String,
    /// Wall-clock arrival time in Unix milliseconds.
    pub at_ms: i64,
    pub bytes: Vec<u8>,
    /// Set when framing already found the scan unusable (too long, not UTF-8, cut off).
    pub problem: Option<FrameProblem>,
}

/// What a source tells the event loop.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The source reached the end of its input and stopped (stdin closed).
    End {
        source: String,
    },
}

/// A scan source. `run` blocks until the source ends or the receiver is gone.
pub trait Source: Send {
    fn name(&self) -> String;
    fn run(self: Box<Self>, events: SyncSender<SourceEvent>);
}
