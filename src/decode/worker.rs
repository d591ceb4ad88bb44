//! [`DecodeWorker`]: decoding on a worker thread with a hard time limit per frame.
//!
//! The decoder already stops starting new work at its soft deadline, but a single rxing call can
//! still run long (rxing issue 69 is an endless loop in TryHarder mode, which this decoder never
//! uses, and other such bugs may exist). The worker bounds the wait: after `budget_ms` the frame
//! is reported as [`DecodeError::Overrun`], the stuck thread is abandoned (it exits on its own
//! when its call returns, since its channels are gone), and the next frame gets a fresh thread.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use image::GrayImage;

use super::{DecodeError, Decoder, Symbol};

type Reply = Result<Vec<Symbol>, DecodeError>;

struct Thread {
    jobs: Sender<Arc<GrayImage>>,
    replies: Receiver<Reply>,
}

/// Runs a [`Decoder`] on a worker thread, one frame at a time, waiting at most `budget_ms`.
pub struct DecodeWorker {
    decoder: Decoder,
    thread: Option<Thread>,
    overruns: u64,
}

impl DecodeWorker {
    pub fn new(decoder: Decoder) -> Self {
        DecodeWorker {
            decoder,
            thread: None,
            overruns: 0,
        }
    }

    /// How many frames were abandoned for running past the budget.
    pub fn overruns(&self) -> u64 {
        self.overruns
    }

    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    fn spawn(&self) -> Option<Thread> {
        let (job_tx, job_rx) = mpsc::channel::<Arc<GrayImage>>();
        let (reply_tx, reply_rx) = mpsc::channel::<Reply>();
        let decoder = self.decoder.clone();
        let spawned = std::thread::Builder::new()
            .name("decode".to_owned())
            .spawn(move || {
                for frame in job_rx {
                    // The decoder guards its rxing calls; this catches anything else so the
                    // thread survives to decode the next frame.
                    let reply = super::rx::guard(|| decoder.decode(&frame)).unwrap_or_else(|| {
                        tracing::warn!("decoder panicked on a frame; no symbols reported");
                        Ok(Vec::new())
                    });
                    if reply_tx.send(reply).is_err() {
                        break;
                    }
                }
            });
        match spawned {
            Ok(_) => Some(Thread {
                jobs: job_tx,
                replies: reply_rx,
            }),
            Err(e) => {
                tracing::warn!(error = %e, "cannot start a decode thread; decoding inline");
                None
            }
        }
    }

    /// Decodes one frame, waiting at most the decoder's `budget_ms`.
    pub fn decode(&mut self, frame: Arc<GrayImage>) -> Result<Vec<Symbol>, DecodeError> {
        if frame.width() == 0 || frame.height() == 0 {
            return Err(DecodeError::EmptyFrame {
                width: frame.width(),
                height: frame.height(),
            });
        }
        let budget_ms = self.decoder.config().budget_ms;
        let thread = match self.thread.take() {
            Some(t) => t,
            None => match self.spawn() {
                Some(t) => t,
                // Without a thread there is no hard limit, but frames still get decoded and the
                // decoder's own soft deadline still applies.
                None => return self.decoder.decode(&frame),
            },
        };
        let thread = match thread.jobs.send(Arc::clone(&frame)) {
            Ok(()) => thread,
            Err(_) => {
                // The thread is gone (it can only exit when its channels close); start another.
                let Some(t) = self.spawn() else {
                    return self.decoder.decode(&frame);
                };
                if t.jobs.send(Arc::clone(&frame)).is_err() {
                    return self.decoder.decode(&frame);
                }
                t
            }
        };
        match thread
            .replies
            .recv_timeout(Duration::from_millis(budget_ms))
        {
            Ok(reply) => {
                self.thread = Some(thread);
                reply
            }
            Err(RecvTimeoutError::Timeout) => {
                // Dropping `thread` closes both channels: the stuck thread ends after its call.
                self.overruns += 1;
                Err(DecodeError::Overrun { budget_ms })
            }
            Err(RecvTimeoutError::Disconnected) => {
                tracing::warn!("decode thread ended without a reply; starting a new one");
                Ok(Vec::new())
            }
        }
    }
}
