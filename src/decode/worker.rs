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

use super::{DecodeError, Decoded, Decoder, FramePlan, Symbol};

type Reply = Result<Decoded, DecodeError>;
type Job = (Arc<GrayImage>, FramePlan);

struct Thread {
    jobs: Sender<Job>,
    replies: Receiver<Reply>,
}

/// Runs a [`Decoder`] on a worker thread, one frame at a time, waiting at most `budget_ms`.
pub struct DecodeWorker {
    decoder: Decoder,
    thread: Option<Thread>,
    overruns: u64,
    /// Threads abandoned after an overrun that may still be working, each holding its frame and
    /// the decoder's working memory: their reply channels, to learn when they end.
    abandoned: Vec<Receiver<Reply>>,
}

/// The most abandoned decode threads that may run at once. Each holds a frame and the decoder's
/// working memory, so without a bound a run of slow frames (big stills, a small budget) piles up
/// threads and memory; beyond the bound the next frame waits for the oldest to finish.
const MAX_ABANDONED: usize = 1;

impl DecodeWorker {
    pub fn new(decoder: Decoder) -> Self {
        DecodeWorker {
            decoder,
            thread: None,
            overruns: 0,
            abandoned: Vec::new(),
        }
    }

    /// How many frames were abandoned for running past the budget.
    pub fn overruns(&self) -> u64 {
        self.overruns
    }

    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Forgets abandoned threads that have ended, then waits while too many still run.
    fn bound_abandoned(&mut self) {
        self.abandoned
            .retain(|replies| matches!(replies.try_recv(), Err(mpsc::TryRecvError::Empty)));
        while self.abandoned.len() > MAX_ABANDONED {
            let oldest = self.abandoned.remove(0);
            // The decoder stops starting new work at its soft deadline, so this wait is short
            // unless rxing itself hangs; then it says so, and memory stays bounded anyway.
            while let Err(RecvTimeoutError::Timeout) = oldest.recv_timeout(Duration::from_secs(10))
            {
                tracing::warn!("an abandoned decode is still running; waiting for it");
            }
        }
    }

    fn spawn(&self) -> Option<Thread> {
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (reply_tx, reply_rx) = mpsc::channel::<Reply>();
        let decoder = self.decoder.clone();
        let spawned = std::thread::Builder::new()
            .name("decode".to_owned())
            .spawn(move || {
                for (frame, plan) in job_rx {
                    // The decoder guards its rxing calls; this catches anything else so the
                    // thread survives to decode the next frame.
                    let reply = super::rx::guard(|| decoder.decode_plan(&frame, &plan))
                        .unwrap_or_else(|| {
                            tracing::warn!("decoder panicked on a frame; no symbols reported");
                            Ok(Decoded::default())
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
        self.decode_plan(frame, FramePlan::default())
            .map(|d| d.symbols)
    }

    /// [`Self::decode`] with a stream's plan for the frame ([`Decoder::decode_plan`]).
    pub fn decode_plan(
        &mut self,
        frame: Arc<GrayImage>,
        plan: FramePlan,
    ) -> Result<Decoded, DecodeError> {
        if frame.width() == 0 || frame.height() == 0 {
            return Err(DecodeError::EmptyFrame {
                width: frame.width(),
                height: frame.height(),
            });
        }
        let budget_ms = self.decoder.config().budget_ms;
        self.bound_abandoned();
        let thread = match self.thread.take() {
            Some(t) => t,
            None => match self.spawn() {
                Some(t) => t,
                // Without a thread there is no hard limit, but frames still get decoded and the
                // decoder's own soft deadline still applies.
                None => return self.decoder.decode_plan(&frame, &plan),
            },
        };
        let thread = match thread.jobs.send((Arc::clone(&frame), plan.clone())) {
            Ok(()) => thread,
            Err(_) => {
                // The thread is gone (it can only exit when its channels close); start another.
                let Some(t) = self.spawn() else {
                    return self.decoder.decode_plan(&frame, &plan);
                };
                if t.jobs.send((Arc::clone(&frame), plan.clone())).is_err() {
                    return self.decoder.decode_plan(&frame, &plan);
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
                // Dropping the job sender ends the thread after its call; its reply channel is
                // kept to know when that happens.
                self.overruns += 1;
                self.abandoned.push(thread.replies);
                Err(DecodeError::Overrun { budget_ms })
            }
            Err(RecvTimeoutError::Disconnected) => {
                tracing::warn!("decode thread ended without a reply; starting a new one");
                Ok(Decoded::default())
            }
        }
    }
}
