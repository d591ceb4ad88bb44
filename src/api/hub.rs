//! The hub: what the event loop tells the HTTP side, and what the HTTP side asks of the loop.
//!
//! The event loop stays synchronous and owns the store's one writer. After each commit it hands
//! the hub the committed events (the `run --json` lines), source state, the last camera frame
//! and its metrics; every call is a short lock or a channel send that never waits on a client,
//! so a slow or stuck browser cannot hold back an acknowledgement. The HTTP side reads from the
//! hub and, for a mode change, sends a control scan into the loop's own channel.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{broadcast, watch};

use crate::event::{self, ProgressEvent, ScanEvent, UnitEvent};
use crate::ident::control::Mode;
use crate::record::{ScanRecord, UnitRecord};
use crate::source::{FrameResult, RawScan, SourceEvent};

/// How many events a slow subscriber may fall behind before it misses some (and is told to
/// reload the desk snapshot).
const EVENT_BACKLOG: usize = 1024;

/// One committed event, ready to send: its SSE name and its JSON line.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub name: &'static str,
    pub json: Arc<str>,
}

/// A source as the desk page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceState {
    pub up: bool,
    pub error: Option<String>,
}

/// Four corners in frame pixels, clockwise from the top left.
pub(crate) type Quad = [(f32, f32); 4];

/// The last camera frame and what was read on it, for the live preview.
#[derive(Debug, Clone)]
pub(crate) struct Preview {
    pub seq: u64,
    pub at_ms: i64,
    pub source: String,
    pub image: Option<Arc<image::GrayImage>>,
    /// The symbols read on it.
    pub symbols: Vec<crate::decode::Symbol>,
    /// Each label's outline and the indices of its symbols.
    pub labels: Vec<(Quad, Vec<usize>)>,
}

/// The shared state behind the hub's lock.
#[derive(Debug, Default)]
struct State {
    sources: BTreeMap<String, SourceState>,
    preview: Option<Preview>,
    frames: u64,
}

/// The bridge between the event loop and the HTTP server.
pub(crate) struct Hub {
    events: broadcast::Sender<Published>,
    mode: watch::Sender<Mode>,
    state: Mutex<State>,
    /// The loop's input channel, for mode changes asked over HTTP; `None` when no station runs
    /// (`scanstation serve`).
    control: Mutex<Option<SyncSender<SourceEvent>>>,
    pub(crate) metrics: super::metrics::Metrics,
    /// True for `scanstation serve`: nothing may be changed.
    pub(crate) read_only: bool,
    /// The station's name, shown on the page.
    pub(crate) station: String,
}

impl Hub {
    pub(crate) fn new(station: String, mode: Mode, read_only: bool) -> Hub {
        let (events, _) = broadcast::channel(EVENT_BACKLOG);
        let (mode, _) = watch::channel(mode);
        Hub {
            events,
            mode,
            state: Mutex::new(State::default()),
            control: Mutex::new(None),
            metrics: super::metrics::Metrics::default(),
            read_only,
            station,
        }
    }

    /// The lock, even after a panic elsewhere poisoned it: the state is plain data that every
    /// writer leaves consistent, so a reader may still use it.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets HTTP mode changes reach the event loop.
    pub(crate) fn connect(&self, control: SyncSender<SourceEvent>) {
        *self.control.lock().unwrap_or_else(|e| e.into_inner()) = Some(control);
    }

    /// Drops the loop's channel, so the loop sees its sources end as if the hub were not there.
    pub(crate) fn disconnect(&self) {
        *self.control.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Published> {
        self.events.subscribe()
    }

    pub(crate) fn watch_mode(&self) -> watch::Receiver<Mode> {
        self.mode.subscribe()
    }

    pub(crate) fn mode(&self) -> Mode {
        *self.mode.borrow()
    }

    fn publish(&self, name: &'static str, json: String) {
        // No subscriber is not an error: nobody has the page open.
        let _ = self.events.send(Published {
            name,
            json: json.into(),
        });
    }

    /// A committed scan, `latency_ms` after it arrived.
    pub(crate) fn scan(&self, scan: &ScanRecord, latency_ms: f64) {
        self.metrics.scan(scan, latency_ms);
        self.publish("scan", event::line(&ScanEvent::from(scan)));
    }

    /// A committed unit (closed, cancelled or amended).
    pub(crate) fn unit(&self, unit: &UnitRecord) {
        self.metrics.unit(unit);
        self.publish("unit", event::line(&UnitEvent::from(unit)));
    }

    pub(crate) fn progress(&self, list: &str, found: i64, expected: i64) {
        self.publish(
            "progress",
            event::line(&ProgressEvent::new(list, found, expected)),
        );
    }

    /// The station's mode after a batch; publishes a `mode` event when it changed.
    pub(crate) fn set_mode(&self, mode: Mode) {
        let changed = self.mode.send_if_modified(|current| {
            let changed = *current != mode;
            *current = mode;
            changed
        });
        if changed {
            self.publish("mode", event::line(&event::ModeEvent::new(mode)));
        }
    }

    pub(crate) fn source(&self, name: &str, up: bool, error: Option<String>) {
        self.metrics.source(name, up);
        self.state()
            .sources
            .insert(name.to_owned(), SourceState { up, error });
    }

    pub(crate) fn sources(&self) -> BTreeMap<String, SourceState> {
        self.state().sources.clone()
    }

    /// A decoded frame: kept for the preview (the image is shared, not copied) and counted.
    pub(crate) fn frame(&self, frame: &FrameResult) {
        self.metrics.frame(frame);
        let mut state = self.state();
        state.frames += 1;
        let seq = state.frames;
        // A still image of the `images` source is a frame too: the preview shows what the
        // station last looked at, whatever the source.
        state.preview = Some(Preview {
            seq,
            at_ms: frame.at_ms,
            source: frame.source.clone(),
            image: frame.image.clone(),
            symbols: frame.symbols.clone(),
            labels: frame
                .labels
                .iter()
                .map(|l| (l.outline, l.symbols.clone()))
                .collect(),
        });
    }

    pub(crate) fn preview(&self) -> Option<Preview> {
        self.state().preview.clone()
    }

    /// True once any frame arrived, or when a camera-like source is configured.
    pub(crate) fn has_frames(&self) -> bool {
        self.state().frames > 0
            || self
                .state()
                .sources
                .keys()
                .any(|s| s.starts_with("camera") || s.starts_with("replay:"))
    }

    /// Asks the event loop to switch modes, as the desk card's mode barcode would: the change
    /// is recorded as a control scan from `http`, so the history shows who switched and when.
    pub(crate) fn request_mode(
        &self,
        mode: Mode,
        peer: &str,
        now: crate::clock::Now,
    ) -> Result<(), &'static str> {
        let control = self.control.lock().unwrap_or_else(|e| e.into_inner());
        let Some(control) = control.as_ref() else {
            return Err("no station is running here (read-only server), so the mode cannot change");
        };
        let text = crate::ident::control::Control::Mode(mode).to_string();
        let scan = RawScan {
            source: format!("http:{peer}"),
            at_ms: now.wall_ms,
            mono_ms: now.mono_ms,
            bytes: text.into_bytes(),
            problem: None,
        };
        control
            .try_send(SourceEvent::Scan(scan))
            .map_err(|_| "the station is busy or stopping; try again")
    }
}

/// A counter that only goes up.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}
