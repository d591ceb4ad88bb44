//! The stdin source: lines typed or pasted into the terminal, or typed by a keyboard-wedge
//! scanner into it. End of input ends the source, and with it the station.

use std::io::Read;
use std::sync::mpsc::SyncSender;

use super::{FramingConfig, LineFramer, RawScan, Source, SourceEvent};
use crate::clock;

pub struct StdinSource {
    framing: FramingConfig,
}

impl StdinSource {
    pub fn new(framing: FramingConfig) -> StdinSource {
        StdinSource { framing }
    }
}

impl Source for StdinSource {
    fn name(&self) -> String {
        "stdin".to_owned()
    }

    fn run(self: Box<Self>, events: SyncSender<SourceEvent>) {
        let name = self.name();
        let mut framer = LineFramer::new(self.framing.clone());
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 4096];
        let send = |bytes: Vec<u8>, problem| {
            events
                .send(SourceEvent::Scan(RawScan {
                    source: name.clone(),
                    at_ms: clock::now_ms(),
                    bytes,
                    problem,
                }))
                .is_ok()
        };
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let frames = framer.push(buf.get(..n).unwrap_or(&[]), clock::now_ms());
                    for frame in frames {
                        if !send(frame.bytes, frame.problem) {
                            return;
                        }
                    }
                }
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    tracing::error!(source = %name, error = %err, "cannot read stdin");
                    break;
                }
            }
        }
        // A last line without its newline is still a scan: at the end of a file or a paste
        // the operator meant it.
        if let Some(frame) = framer.finish() {
            let problem = frame
                .problem
                .filter(|p| !matches!(p, super::FrameProblem::Truncated));
            send(frame.bytes, problem);
        }
        let _ = events.send(SourceEvent::End { source: name });
    }
}
