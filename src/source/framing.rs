//! Byte framing: cuts the byte stream of a serial or wedge scanner into scans.
//!
//! The framer is pure. It never reads the clock or a device: the caller passes the bytes as they
//! arrive, in any split, together with the time they arrived. Partial reads are normal on a serial
//! line, so a scan may come in many pieces and one read may hold several scans.
//!
//! **Invariant:** memory stays bounded by `max_len` per scan whatever the device sends, and no
//! byte received is silently dropped: an over-long scan is cut and marked, a scan cut off by an
//! unplug is returned and marked.

use serde::Deserialize;

const CR: u8 = b'\r';
const LF: u8 = b'\n';

/// The byte sequence that ends one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Terminator {
    /// A carriage return ends a scan; a line feed is data.
    Cr,
    /// A line feed ends a scan; a carriage return is data.
    Lf,
    /// A line feed ends a scan, and one carriage return right before it is removed too.
    Crlf,
    /// A carriage return or a line feed ends a scan, which suits every scanner suffix setting.
    #[default]
    Any,
    /// No terminator: a scan ends when the line stays silent for the inter-character timeout.
    None,
}

impl Terminator {
    /// Parses a terminator name as written in config files and flags (`cr`, `lf`, `crlf`, `any`,
    /// `none`), in any letter case.
    pub fn parse(s: &str) -> Option<Terminator> {
        [
            Terminator::Cr,
            Terminator::Lf,
            Terminator::Crlf,
            Terminator::Any,
            Terminator::None,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }

    /// The name that [`Terminator::parse`] accepts.
    pub fn as_str(self) -> &'static str {
        match self {
            Terminator::Cr => "cr",
            Terminator::Lf => "lf",
            Terminator::Crlf => "crlf",
            Terminator::Any => "any",
            Terminator::None => "none",
        }
    }
}

/// How a byte stream is cut into scans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramingConfig {
    /// What ends a scan.
    pub terminator: Terminator,
    /// The most bytes kept of one scan. Real labels are far shorter, so a longer line means a
    /// wrong baud rate or a device that is not a scanner, and the limit keeps memory bounded.
    pub max_len: usize,
    /// With [`Terminator::None`], the silence in milliseconds that ends a scan. Scanners send a
    /// scan as one burst, so a gap of this length means the burst is over.
    pub inter_char_timeout_ms: i64,
}

impl Default for FramingConfig {
    fn default() -> FramingConfig {
        FramingConfig {
            terminator: Terminator::Any,
            max_len: 4096,
            inter_char_timeout_ms: 50,
        }
    }
}

/// Why a framed scan cannot be used as it is. The bytes are still kept, so the scan can be
/// recorded and reported rather than lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameProblem {
    #[error("line of {len} bytes is over the {max}-byte limit")]
    TooLong { len: usize, max: usize },
    #[error("not UTF-8: byte 0x{byte:02X} at position {at}")]
    NotUtf8 { at: usize, byte: u8 },
    #[error("cut off: the device went away before the end of the scan")]
    Truncated,
}

impl FrameProblem {
    /// A stable machine-readable name for logs, the store and JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            FrameProblem::TooLong { .. } => "too_long",
            FrameProblem::NotUtf8 { .. } => "not_utf8",
            FrameProblem::Truncated => "truncated",
        }
    }
}

/// One framed scan: the bytes between terminators, without the terminator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The raw bytes, at most `max_len` of them.
    pub bytes: Vec<u8>,
    pub problem: Option<FrameProblem>,
}

/// Cuts a byte stream into [`Frame`]s, one scan each.
#[derive(Debug, Clone)]
pub struct LineFramer {
    cfg: FramingConfig,
    /// The first `max_len` bytes of the scan in progress.
    buf: Vec<u8>,
    /// How many bytes the scan in progress has, counting those dropped past `max_len`.
    len: usize,
    /// Whether the last data byte was a carriage return, which `Crlf` removes if a line feed
    /// follows, even when the two arrive in different reads.
    last_was_cr: bool,
    /// When the last byte arrived, for the inter-character timeout of `Terminator::None`.
    last_byte_ms: Option<i64>,
}

impl LineFramer {
    pub fn new(cfg: FramingConfig) -> LineFramer {
        LineFramer {
            cfg,
            buf: Vec::new(),
            len: 0,
            last_was_cr: false,
            last_byte_ms: None,
        }
    }

    /// The configuration this framer was built with.
    pub fn config(&self) -> &FramingConfig {
        &self.cfg
    }

    /// Feeds bytes as they arrive (any split: partial reads are normal) and returns the complete
    /// frames.
    pub fn push(&mut self, bytes: &[u8], now_ms: i64) -> Vec<Frame> {
        let mut frames = Vec::new();
        if bytes.is_empty() {
            return frames;
        }
        if self.cfg.terminator == Terminator::None {
            // Without a terminator the only end of a scan is silence, and a read that comes after
            // a long enough silence starts a new scan even if nobody polled in between.
            frames.extend(self.poll_idle(now_ms));
            for &b in bytes {
                self.append(b);
            }
            self.last_byte_ms = Some(now_ms);
            return frames;
        }
        for &b in bytes {
            let ends = match self.cfg.terminator {
                Terminator::Cr => b == CR,
                Terminator::Lf | Terminator::Crlf => b == LF,
                Terminator::Any => b == CR || b == LF,
                Terminator::None => false,
            };
            if !ends {
                self.append(b);
                self.last_was_cr = b == CR;
                continue;
            }
            if self.cfg.terminator == Terminator::Crlf && self.last_was_cr {
                // The carriage return is part of the terminator. It is in the buffer only if it
                // arrived before the buffer was full.
                if self.len <= self.cfg.max_len {
                    self.buf.pop();
                }
                self.len = self.len.saturating_sub(1);
            }
            self.last_was_cr = false;
            frames.extend(self.take(None));
        }
        self.last_byte_ms = Some(now_ms);
        frames
    }

    /// With [`Terminator::None`], returns the buffered bytes once `now_ms` is at least
    /// `inter_char_timeout_ms` after the last byte; otherwise `None`.
    pub fn poll_idle(&mut self, now_ms: i64) -> Option<Frame> {
        let deadline = self.deadline()?;
        if now_ms >= deadline {
            self.take(None)
        } else {
            None
        }
    }

    /// The time at which [`LineFramer::poll_idle`] would next return a frame (`None` when nothing
    /// is buffered or the terminator is not `None`).
    pub fn deadline(&self) -> Option<i64> {
        if self.cfg.terminator != Terminator::None || self.len == 0 {
            return None;
        }
        let last = self.last_byte_ms?;
        Some(last.saturating_add(self.cfg.inter_char_timeout_ms))
    }

    /// Flushes what is buffered at the end of input or when the device vanished: with a
    /// terminator configured the partial scan is returned with problem `Truncated` (never silently
    /// dropped); with [`Terminator::None`] it is a normal frame.
    ///
    /// A carriage return left at the end in `Crlf` mode is kept as data, since the line feed that
    /// would have made it a terminator never came.
    pub fn finish(&mut self) -> Option<Frame> {
        self.last_was_cr = false;
        if self.cfg.terminator == Terminator::None {
            self.take(None)
        } else {
            self.take(Some(FrameProblem::Truncated))
        }
    }

    /// Adds one data byte to the scan in progress, keeping only the first `max_len`.
    fn append(&mut self, b: u8) {
        if self.buf.len() < self.cfg.max_len {
            self.buf.push(b);
        }
        self.len = self.len.saturating_add(1);
    }

    /// Ends the scan in progress and returns it, or `None` when it is empty (as between the CR
    /// and the LF of a CRLF in `Any` mode). `problem` overrides the checks for length and UTF-8.
    fn take(&mut self, problem: Option<FrameProblem>) -> Option<Frame> {
        let len = std::mem::take(&mut self.len);
        let bytes = std::mem::take(&mut self.buf);
        if len == 0 {
            return None;
        }
        let problem = problem.or_else(|| {
            if len > self.cfg.max_len {
                Some(FrameProblem::TooLong {
                    len,
                    max: self.cfg.max_len,
                })
            } else {
                utf8_problem(&bytes)
            }
        });
        Some(Frame { bytes, problem })
    }
}

/// The position and value of the first byte that makes `bytes` invalid UTF-8, if any.
fn utf8_problem(bytes: &[u8]) -> Option<FrameProblem> {
    let err = std::str::from_utf8(bytes).err()?;
    let at = err.valid_up_to();
    Some(FrameProblem::NotUtf8 {
        at,
        byte: bytes.get(at).copied().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn framer(terminator: Terminator) -> LineFramer {
        LineFramer::new(FramingConfig {
            terminator,
            ..FramingConfig::default()
        })
    }

    fn ok(bytes: &[u8]) -> Frame {
        Frame {
            bytes: bytes.to_vec(),
            problem: None,
        }
    }

    /// Pushes `input` one byte at a time, as a slow serial line delivers it.
    fn bytewise(f: &mut LineFramer, input: &[u8]) -> Vec<Frame> {
        input.iter().flat_map(|b| f.push(&[*b], 0)).collect()
    }

    #[test]
    fn terminator_names_round_trip() {
        for t in [
            Terminator::Cr,
            Terminator::Lf,
            Terminator::Crlf,
            Terminator::Any,
            Terminator::None,
        ] {
            assert_eq!(Terminator::parse(t.as_str()), Some(t));
        }
        assert_eq!(Terminator::parse("CRLF"), Some(Terminator::Crlf));
        assert_eq!(Terminator::parse("tab"), None);
        assert_eq!(Terminator::parse(""), None);
        assert_eq!(Terminator::default(), Terminator::Any);
    }

    #[test]
    fn default_config() {
        let cfg = FramingConfig::default();
        assert_eq!(cfg.terminator, Terminator::Any);
        assert_eq!(cfg.max_len, 4096);
        assert_eq!(cfg.inter_char_timeout_ms, 50);
    }

    #[test]
    fn problem_codes_and_messages() {
        let long = FrameProblem::TooLong {
            len: 5000,
            max: 4096,
        };
        assert_eq!(long.code(), "too_long");
        assert_eq!(
            long.to_string(),
            "line of 5000 bytes is over the 4096-byte limit"
        );
        let bad = FrameProblem::NotUtf8 { at: 3, byte: 0xff };
        assert_eq!(bad.code(), "not_utf8");
        assert_eq!(bad.to_string(), "not UTF-8: byte 0xFF at position 3");
        assert_eq!(FrameProblem::Truncated.code(), "truncated");
    }

    #[test]
    fn cr_splits_on_cr_only() {
        let mut f = framer(Terminator::Cr);
        assert_eq!(f.push(b"ABC\rDE\nF\r", 0), vec![ok(b"ABC"), ok(b"DE\nF")]);
        assert_eq!(f.finish(), None);
    }

    #[test]
    fn lf_splits_on_lf_only() {
        let mut f = framer(Terminator::Lf);
        assert_eq!(f.push(b"ABC\nDE\rF\n", 0), vec![ok(b"ABC"), ok(b"DE\rF")]);
    }

    #[test]
    fn crlf_strips_one_cr_before_lf() {
        let mut f = framer(Terminator::Crlf);
        assert_eq!(
            f.push(b"ABC\r\nD\rE\nF\r\r\n\r\n", 0),
            vec![ok(b"ABC"), ok(b"D\rE"), ok(b"F\r")]
        );
    }

    #[test]
    fn crlf_split_across_two_pushes() {
        let mut f = framer(Terminator::Crlf);
        assert_eq!(f.push(b"12345\r", 0), vec![]);
        assert_eq!(f.push(b"\n678", 1), vec![ok(b"12345")]);
        assert_eq!(f.push(b"\r", 2), vec![]);
        assert_eq!(f.push(b"\n", 3), vec![ok(b"678")]);

        let mut any = framer(Terminator::Any);
        assert_eq!(any.push(b"12345\r", 0), vec![ok(b"12345")]);
        assert_eq!(any.push(b"\n678\r", 1), vec![ok(b"678")]);
    }

    #[test]
    fn any_splits_on_cr_or_lf_and_skips_empty_lines() {
        let mut f = framer(Terminator::Any);
        assert_eq!(
            f.push(b"A\r\nB\nC\r\r\r\n\nD", 0),
            vec![ok(b"A"), ok(b"B"), ok(b"C")]
        );
        assert_eq!(
            f.finish(),
            Some(Frame {
                bytes: b"D".to_vec(),
                problem: Some(FrameProblem::Truncated)
            })
        );
    }

    #[test]
    fn byte_at_a_time_gives_the_same_frames_for_every_terminator() {
        let input = b"]C1010950110\x1d21AB\r\nSECOND\rTHIRD\n\r\n";
        for t in [
            Terminator::Cr,
            Terminator::Lf,
            Terminator::Crlf,
            Terminator::Any,
        ] {
            let whole = framer(t).push(input, 0);
            let pieces = bytewise(&mut framer(t), input);
            assert_eq!(whole, pieces, "terminator {t:?}");
            assert!(!whole.is_empty(), "terminator {t:?}");
        }
    }

    #[test]
    fn gs_rs_eot_and_other_control_bytes_are_data() {
        let mut f = framer(Terminator::Any);
        let scan = b"[)>\x1e06\x1d1PABC\x1dSXYZ\x1e\x04\x00\x7f";
        let mut input = scan.to_vec();
        input.push(b'\r');
        assert_eq!(f.push(&input, 0), vec![ok(scan)]);
    }

    #[test]
    fn ten_kilobyte_line_is_cut_and_counted() {
        let mut f = LineFramer::new(FramingConfig {
            max_len: 100,
            ..FramingConfig::default()
        });
        let big = vec![b'7'; 10 * 1024];
        for chunk in big.chunks(333) {
            assert_eq!(f.push(chunk, 0), vec![]);
            assert!(f.buf.len() <= 100, "memory stays bounded");
        }
        let frames = f.push(b"\rNEXT\r", 0);
        assert_eq!(
            frames,
            vec![
                Frame {
                    bytes: vec![b'7'; 100],
                    problem: Some(FrameProblem::TooLong {
                        len: 10 * 1024,
                        max: 100
                    }),
                },
                ok(b"NEXT"),
            ]
        );
    }

    #[test]
    fn too_long_wins_over_not_utf8() {
        let mut f = LineFramer::new(FramingConfig {
            max_len: 4,
            ..FramingConfig::default()
        });
        let frames = f.push(b"\xffABCDE\n", 0);
        assert_eq!(
            frames[0].problem,
            Some(FrameProblem::TooLong { len: 6, max: 4 })
        );
        assert_eq!(frames[0].bytes, b"\xffABC");
    }

    #[test]
    fn crlf_at_the_limit_is_not_counted() {
        let mut f = LineFramer::new(FramingConfig {
            terminator: Terminator::Crlf,
            max_len: 3,
            ..FramingConfig::default()
        });
        assert_eq!(f.push(b"ABC\r\n", 0), vec![ok(b"ABC")]);
        let frames = f.push(b"ABCD\r\n", 0);
        assert_eq!(
            frames,
            vec![Frame {
                bytes: b"ABC".to_vec(),
                problem: Some(FrameProblem::TooLong { len: 4, max: 3 })
            }]
        );
    }

    #[test]
    fn invalid_utf8_keeps_raw_bytes() {
        let mut f = framer(Terminator::Any);
        assert_eq!(
            f.push(b"AB\xc3\x28CD\rok\xc3\xa9\r\xe2\x82\r", 0),
            vec![
                Frame {
                    bytes: b"AB\xc3\x28CD".to_vec(),
                    problem: Some(FrameProblem::NotUtf8 { at: 2, byte: 0xc3 }),
                },
                ok("oké".as_bytes()),
                Frame {
                    bytes: b"\xe2\x82".to_vec(),
                    problem: Some(FrameProblem::NotUtf8 { at: 0, byte: 0xe2 }),
                },
            ]
        );
    }

    #[test]
    fn inter_char_timeout_ends_a_scan_without_terminator() {
        let mut f = framer(Terminator::None);
        assert_eq!(f.deadline(), None);
        assert_eq!(f.poll_idle(1_000), None);
        assert_eq!(f.push(b"0123", 1_000), vec![]);
        assert_eq!(f.push(b"45\r\n", 1_030), vec![]);
        assert_eq!(f.deadline(), Some(1_080));
        assert_eq!(f.poll_idle(1_079), None);
        assert_eq!(f.poll_idle(1_080), Some(ok(b"012345\r\n")));
        assert_eq!(f.deadline(), None);
        assert_eq!(f.poll_idle(5_000), None);
    }

    #[test]
    fn late_bytes_start_a_new_scan_even_without_a_poll() {
        let mut f = framer(Terminator::None);
        assert_eq!(f.push(b"FIRST", 0), vec![]);
        assert_eq!(f.push(b"SECOND", 500), vec![ok(b"FIRST")]);
        assert_eq!(f.finish(), Some(ok(b"SECOND")));
    }

    #[test]
    fn terminators_never_time_out() {
        let mut f = framer(Terminator::Any);
        assert_eq!(f.push(b"PART", 0), vec![]);
        assert_eq!(f.deadline(), None);
        assert_eq!(f.poll_idle(1_000_000), None);
        assert_eq!(f.push(b"IAL\r", 1_000_000), vec![ok(b"PARTIAL")]);
    }

    #[test]
    fn finish_marks_a_partial_scan_truncated() {
        let mut f = framer(Terminator::Crlf);
        assert_eq!(f.push(b"DONE\r\nHALF\r", 0), vec![ok(b"DONE")]);
        assert_eq!(
            f.finish(),
            Some(Frame {
                bytes: b"HALF\r".to_vec(),
                problem: Some(FrameProblem::Truncated)
            })
        );
        assert_eq!(f.finish(), None);
        // The framer is clean after a finish: a following LF must not strip anything.
        assert_eq!(f.push(b"NEW\n", 0), vec![ok(b"NEW")]);
    }

    #[test]
    fn finish_without_terminator_is_a_normal_frame() {
        let mut f = framer(Terminator::None);
        f.push(b"\xffX", 0);
        assert_eq!(
            f.finish(),
            Some(Frame {
                bytes: b"\xffX".to_vec(),
                problem: Some(FrameProblem::NotUtf8 { at: 0, byte: 0xff })
            })
        );
        assert_eq!(f.finish(), None);
    }

    #[test]
    fn zero_limit_does_not_panic() {
        let mut f = LineFramer::new(FramingConfig {
            terminator: Terminator::Crlf,
            max_len: 0,
            inter_char_timeout_ms: -5,
        });
        let frames = f.push(b"A\r\n\r\n", i64::MAX);
        assert_eq!(
            frames,
            vec![Frame {
                bytes: vec![],
                problem: Some(FrameProblem::TooLong { len: 1, max: 0 })
            }]
        );
    }

    proptest! {
        #[test]
        fn pieces_frame_like_the_whole(
            input in proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(0x1d_u8), any::<u8>(), b'0'..=b'9'],
                0..400,
            ),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
            max_len in 1usize..40,
        ) {
            let cfg = FramingConfig { max_len, ..FramingConfig::default() };
            let mut whole = LineFramer::new(cfg.clone());
            let mut expected = whole.push(&input, 0);
            expected.extend(whole.finish());

            let mut points: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
            points.push(0);
            points.push(input.len());
            points.sort_unstable();
            let mut pieces = LineFramer::new(cfg);
            let mut got = Vec::new();
            for pair in points.windows(2) {
                got.extend(pieces.push(&input[pair[0]..pair[1]], 0));
            }
            got.extend(pieces.finish());

            prop_assert_eq!(&got, &expected);

            // A plain model of `Any`: split on CR and LF, skip empty pieces, the last piece has no
            // terminator yet so it is cut off.
            let segments: Vec<&[u8]> = input.split(|b| *b == b'\r' || *b == b'\n').collect();
            let last = segments.len() - 1;
            let model: Vec<Frame> = segments
                .iter()
                .enumerate()
                .filter(|(_, seg)| !seg.is_empty())
                .map(|(i, seg)| {
                    let kept = seg[..seg.len().min(max_len)].to_vec();
                    let problem = if i == last {
                        Some(FrameProblem::Truncated)
                    } else if seg.len() > max_len {
                        Some(FrameProblem::TooLong { len: seg.len(), max: max_len })
                    } else {
                        std::str::from_utf8(seg).err().map(|e| FrameProblem::NotUtf8 {
                            at: e.valid_up_to(),
                            byte: seg[e.valid_up_to()],
                        })
                    };
                    Frame { bytes: kept, problem }
                })
                .collect();
            prop_assert_eq!(&got, &model);
            for frame in &got {
                prop_assert!(frame.bytes.len() <= max_len);
                prop_assert!(!frame.bytes.is_empty());
                prop_assert!(!frame.bytes.contains(&b'\r') && !frame.bytes.contains(&b'\n'));
            }
        }
    }
}
