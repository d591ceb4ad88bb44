//! The stdin source: lines typed or pasted into the terminal, or typed by a keyboard-wedge
//! scanner into it. End of input ends the source, and with it the station.

use std::io::Read;
use std::sync::mpsc::SyncSender;

use super::{FramingConfig, LineFramer, RawScan, Source, SourceEvent, Terminator};
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
        let mut framer = LineFramer::new(stdin_framing(self.framing.clone()));
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 4096];
        let send = |bytes: Vec<u8>, problem| {
            events
                .send(SourceEvent::Scan(RawScan {
                    source: name.clone(),
                    at_ms: clock::now_ms(),
                    mono_ms: clock::mono_ms(),
                    bytes,
                    problem,
                }))
                .is_ok()
        };
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let frames = framer.push(buf.get(..n).unwrap_or(&[]), clock::mono_ms());
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

/// The framing stdin really needs for `cfg`. A terminal's line discipline turns the CR that a
/// scanner sends into LF (`ICRNL`) and hands over nothing before it, so with `cr` a scan typed
/// into a terminal arrives ending in LF; a pipe or a raw terminal delivers the CR itself. On
/// stdin `cr` therefore accepts both, which cannot merge or split scans: neither byte is ever
/// part of a label.
fn stdin_framing(mut cfg: FramingConfig) -> FramingConfig {
    if cfg.terminator == Terminator::Cr {
        cfg.terminator = Terminator::Any;
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cr_terminator_on_stdin_also_ends_a_scan_at_the_lf_a_terminal_makes_of_it() {
        let cfg = FramingConfig {
            terminator: Terminator::Cr,
            ..FramingConfig::default()
        };
        let mut framer = LineFramer::new(stdin_framing(cfg));
        let frames = framer.push(b"SN1\nSN2\rSN3\r\n", 0);
        let values: Vec<&[u8]> = frames.iter().map(|f| f.bytes.as_slice()).collect();
        assert_eq!(values, [&b"SN1"[..], b"SN2", b"SN3"]);
    }
}
