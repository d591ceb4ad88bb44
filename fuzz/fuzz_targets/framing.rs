//! Line framing (`source::framing::LineFramer`) with every terminator setting.
//!
//! Arbitrary bytes arrive in arbitrary pieces at arbitrary times, with idle polls in between,
//! and the framer's output is compared with a plain model of what framing defines:
//!
//! - with a terminator, the frames are the pieces of the whole input between terminators (a CRLF
//!   terminator also takes one CR right before the LF), empty pieces are skipped, and the last
//!   piece, which no terminator ended, comes out of `finish` marked truncated;
//! - without one, a scan ends when a read comes, or a poll happens, at least the inter-character
//!   timeout after the last byte, or at `finish`;
//! - a frame keeps the first `max_len` bytes and reports its full length when it was longer, and
//!   is marked not UTF-8 at the first bad byte otherwise.
//!
//! Explicitly, too: no byte is lost (the frames' full lengths plus the terminator bytes add up
//! to the input; a scan cut off at the end that filled `max_len` reports no full length, so it
//! counts as at least `max_len`), and no frame holds more than `max_len` bytes.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use scanstation::source::{Frame, FrameProblem, FramingConfig, LineFramer, Terminator};

#[derive(Arbitrary, Debug)]
enum Op {
    /// One read from the device, `dt` milliseconds after the previous step.
    Push { bytes: Vec<u8>, dt: i16 },
    /// The source's idle poll.
    Poll { dt: i16 },
}

#[derive(Arbitrary, Debug)]
struct Input {
    terminator: u8,
    max_len: u16,
    timeout_ms: i16,
    start_ms: i64,
    ops: Vec<Op>,
}

const TERMINATORS: [Terminator; 5] = [
    Terminator::Cr,
    Terminator::Lf,
    Terminator::Crlf,
    Terminator::Any,
    Terminator::None,
];

fuzz_target!(|input: Input| {
    let terminator = TERMINATORS[usize::from(input.terminator) % TERMINATORS.len()];
    let cfg = FramingConfig {
        terminator,
        max_len: usize::from(input.max_len % 300),
        inter_char_timeout_ms: i64::from(input.timeout_ms),
    };
    let mut framer = LineFramer::new(cfg.clone());
    let mut model = IdleModel::default();
    let mut got = Vec::new();
    let mut expected = Vec::new();
    let mut all = Vec::new();
    let mut now = input.start_ms;
    for op in &input.ops {
        match op {
            Op::Push { bytes, dt } => {
                now = now.saturating_add(i64::from(*dt));
                got.extend(framer.push(bytes, now));
                all.extend_from_slice(bytes);
                if terminator == Terminator::None {
                    expected.extend(model.push(&cfg, bytes, now));
                }
            }
            Op::Poll { dt } => {
                now = now.saturating_add(i64::from(*dt));
                got.extend(framer.poll_idle(now));
                if terminator == Terminator::None {
                    expected.extend(model.poll(&cfg, now));
                }
            }
        }
        if terminator == Terminator::None {
            assert_eq!(framer.deadline(), model.deadline(&cfg), "deadline");
        } else {
            assert_eq!(
                framer.deadline(),
                None,
                "a terminated framer never times out"
            );
        }
    }
    got.extend(framer.finish());
    assert_eq!(framer.finish(), None, "a second finish found bytes");
    if terminator == Terminator::None {
        expected.extend(model.finish(&cfg));
    } else {
        expected = terminated(&cfg, &all);
    }
    assert_eq!(got, expected, "{terminator:?} max_len {}", cfg.max_len);

    // No byte lost: every input byte is in a frame (counted by its full length when it was cut)
    // or was a terminator. A scan cut off by `finish` reports no full length (`Truncated` wins
    // over the length check, as framing defines), so one that filled `max_len` counts as at
    // least that.
    let counted: usize = got
        .iter()
        .map(|f| match f.problem {
            Some(FrameProblem::TooLong { len, .. }) => len,
            _ => f.bytes.len(),
        })
        .sum();
    let data_bytes = all.len() - terminator_bytes(terminator, &all);
    let cut_off_full = got.last().is_some_and(|f| {
        f.problem == Some(FrameProblem::Truncated) && f.bytes.len() == cfg.max_len
    });
    if cut_off_full {
        assert!(counted <= data_bytes, "bytes invented");
    } else {
        assert_eq!(counted, data_bytes, "bytes lost");
    }
    for f in &got {
        assert!(f.bytes.len() <= cfg.max_len, "frame over max_len");
    }
});

/// How many bytes of `input` are terminators under `t`.
fn terminator_bytes(t: Terminator, input: &[u8]) -> usize {
    let count = |b: u8| input.iter().filter(|&&x| x == b).count();
    match t {
        Terminator::Cr => count(b'\r'),
        Terminator::Lf => count(b'\n'),
        Terminator::Any => count(b'\r') + count(b'\n'),
        Terminator::Crlf => count(b'\n') + input.windows(2).filter(|w| w == b"\r\n").count(),
        Terminator::None => 0,
    }
}

/// The frame a scan of `data` becomes; `problem` overrides the length and UTF-8 checks.
fn frame(cfg: &FramingConfig, data: &[u8], problem: Option<FrameProblem>) -> Frame {
    let problem = problem.or_else(|| {
        if data.len() > cfg.max_len {
            Some(FrameProblem::TooLong {
                len: data.len(),
                max: cfg.max_len,
            })
        } else {
            std::str::from_utf8(data)
                .err()
                .map(|e| FrameProblem::NotUtf8 {
                    at: e.valid_up_to(),
                    byte: data[e.valid_up_to()],
                })
        }
    });
    Frame {
        bytes: data[..data.len().min(cfg.max_len)].to_vec(),
        problem,
    }
}

/// The frames of the whole input under a terminator, then `finish`.
fn terminated(cfg: &FramingConfig, input: &[u8]) -> Vec<Frame> {
    let ends = |b: &u8| match cfg.terminator {
        Terminator::Cr => *b == b'\r',
        Terminator::Lf | Terminator::Crlf => *b == b'\n',
        Terminator::Any => *b == b'\r' || *b == b'\n',
        Terminator::None => false,
    };
    let pieces: Vec<&[u8]> = input.split(ends).collect();
    let last = pieces.len() - 1;
    let mut out = Vec::new();
    for (i, piece) in pieces.into_iter().enumerate() {
        if i == last {
            // No terminator came after this piece: `finish` returns it, CR and all.
            if !piece.is_empty() {
                out.push(frame(cfg, piece, Some(FrameProblem::Truncated)));
            }
            continue;
        }
        let piece = match piece {
            [rest @ .., b'\r'] if cfg.terminator == Terminator::Crlf => rest,
            _ => piece,
        };
        if !piece.is_empty() {
            out.push(frame(cfg, piece, None));
        }
    }
    out
}

/// Framing without a terminator: a scan ends after a silence of the inter-character timeout.
#[derive(Default)]
struct IdleModel {
    scan: Vec<u8>,
    last_ms: i64,
}

impl IdleModel {
    fn deadline(&self, cfg: &FramingConfig) -> Option<i64> {
        (!self.scan.is_empty()).then(|| self.last_ms.saturating_add(cfg.inter_char_timeout_ms))
    }

    fn poll(&mut self, cfg: &FramingConfig, now: i64) -> Option<Frame> {
        if self.deadline(cfg).is_some_and(|d| now >= d) {
            self.finish(cfg)
        } else {
            None
        }
    }

    fn push(&mut self, cfg: &FramingConfig, bytes: &[u8], now: i64) -> Option<Frame> {
        if bytes.is_empty() {
            return None;
        }
        let ended = self.poll(cfg, now);
        self.scan.extend_from_slice(bytes);
        self.last_ms = now;
        ended
    }

    fn finish(&mut self, cfg: &FramingConfig) -> Option<Frame> {
        let scan = std::mem::take(&mut self.scan);
        (!scan.is_empty()).then(|| frame(cfg, &scan, None))
    }
}
