//! `term`: outside text made safe to show on a terminal.
//!
//! Scans, list names and reasons, TAC brands and models, file names and config values come from
//! outside the station. A terminal obeys the control bytes in what it prints, so one crafted
//! recall list could erase a red QUARANTINE line or print a fake `ok` line. Every human line the
//! binary prints passes such text through [`escape`] (or [`Escaped`], which formats the same
//! way), and this module is the only place that decides what is shown as what.
//!
//! The rules, one character at a time:
//!
//! - GS, RS and EOT, the separators of GS1 and ISO/IEC 15434 data, are shown as `<GS>`, `<RS>` and
//!   `<EOT>`, the same names `check` and `find` accept (`cli::unescape`).
//! - Every other C0 control character (U+0000 to U+001F, including TAB, LF and CR), DEL and
//!   every C1 control character (U+0080 to U+009F, which some terminals obey like ESC sequences)
//!   is shown as `\x1b` or `\u{9b}`.
//! - The Unicode bidirectional controls, which reorder what is shown after them (the embeddings
//!   and overrides U+202A to U+202E, the isolates U+2066 to U+2069 and the marks U+200E, U+200F,
//!   U+061C), and the line and paragraph separators U+2028 and U+2029, are shown as `\u{202e}`.
//! - Bytes that are not UTF-8 ([`escape_bytes`]) are shown as `\xff`.
//! - Everything else, all ordinary printable UTF-8 including the backslash, is left as it is.
//!
//! JSON output needs none of this: serde_json escapes control characters inside strings, and
//! JSON consumers want the exact value.

use std::fmt::{self, Write};

/// How one character is shown, or `None` when it is shown as it is.
fn visible(ch: char) -> Option<Shown> {
    match ch {
        '\u{1d}' => Some(Shown::Name("<GS>")),
        '\u{1e}' => Some(Shown::Name("<RS>")),
        '\u{04}' => Some(Shown::Name("<EOT>")),
        // C0, DEL: the one-byte form, as a C programmer or `printf` would write it.
        c if (c as u32) < 0x20 || c == '\u{7f}' => Some(Shown::Byte(c as u8)),
        // C1 as a code point, so it does not read as the raw byte 0x9b of a non-UTF-8 scan.
        c if c.is_control() => Some(Shown::CodePoint(c)),
        '\u{061c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{2028}'
        | '\u{2029}' => Some(Shown::CodePoint(ch)),
        _ => None,
    }
}

enum Shown {
    Name(&'static str),
    Byte(u8),
    CodePoint(char),
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shown::Name(name) => f.write_str(name),
            Shown::Byte(b) => write!(f, "\\x{b:02x}"),
            Shown::CodePoint(c) => write!(f, "\\u{{{:x}}}", *c as u32),
        }
    }
}

/// Writes `text` to `out` with every control character made visible.
fn write_escaped(out: &mut impl Write, text: &str) -> fmt::Result {
    let mut rest = text;
    // Copies runs of harmless characters in one piece; most text has nothing to escape.
    while let Some((at, ch)) = rest.char_indices().find(|&(_, c)| visible(c).is_some()) {
        out.write_str(&rest[..at])?;
        if let Some(shown) = visible(ch) {
            write!(out, "{shown}")?;
        }
        rest = &rest[at + ch.len_utf8()..];
    }
    out.write_str(rest)
}

/// `text` with every control character made visible; printable text is returned unchanged.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing into a String cannot fail.
    let _ = write_escaped(&mut out, text);
    out
}

/// Raw bytes (a scan as the scanner sent it) shown like [`escape`], with each byte that is not
/// part of valid UTF-8 shown as `\xNN` instead of being replaced, so the operator sees what came.
pub(crate) fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        let _ = write_escaped(&mut out, chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Text that may span lines (a CSV or JSON document going to a terminal): each line escaped,
/// the line feeds between them kept.
pub(crate) fn escape_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write_escaped(&mut out, line);
    }
    out
}

/// Formats as [`escape`] does, without building a String first: `format!("{}", Escaped(&name))`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0)
    }
}

/// A path as the terminal should show it: `Escaped` of its display form.
pub(crate) fn path(path: &std::path::Path) -> String {
    escape(&path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_utf8_is_untouched() {
        for text in [
            "",
            "IMEI 356938035643809",
            "Größe ÄÖÜ ß — “quoted” 日本語 😀 \\x1b <GS>",
            "Samsung Galaxy S24 Ultra (SM-S928B/DS)",
        ] {
            assert_eq!(escape(text), text);
            assert_eq!(Escaped(text).to_string(), text);
        }
    }

    #[test]
    fn every_c0_c1_and_del_is_visible() {
        for code in (0u32..0x20).chain(0x7f..0xa0) {
            let ch = char::from_u32(code).unwrap_or('?');
            let shown = escape(&format!("a{ch}b"));
            assert!(
                !shown.chars().any(char::is_control),
                "U+{code:04X} leaked: {shown:?}"
            );
            assert!(shown.starts_with('a') && shown.ends_with('b'));
        }
        assert_eq!(escape("\x1b[2K\r\x07"), "\\x1b[2K\\x0d\\x07");
        assert_eq!(escape("a\tb\nc\x7f"), "a\\x09b\\x0ac\\x7f");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("01\u{1d}21\u{1e}\u{04}"), "01<GS>21<RS><EOT>");
    }

    #[test]
    fn bidi_controls_are_visible() {
        for ch in ('\u{202a}'..='\u{202e}')
            .chain('\u{2066}'..='\u{2069}')
            .chain(['\u{200e}', '\u{200f}', '\u{061c}', '\u{2028}', '\u{2029}'])
        {
            let shown = escape(&format!("x{ch}y"));
            assert_eq!(shown, format!("x\\u{{{:x}}}y", ch as u32));
        }
        assert_eq!(escape("ok \u{202e}kaeb"), "ok \\u{202e}kaeb");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_shown_as_bytes() {
        assert_eq!(escape_bytes(b"35\xff\xfe69\x1b"), "35\\xff\\xfe69\\x1b");
        assert_eq!(escape_bytes("né".as_bytes()), "né");
    }

    #[test]
    fn lines_keep_their_line_feeds() {
        assert_eq!(escape_lines("a,\x1b[31m\nb,\r\n"), "a,\\x1b[31m\nb,\\x0d\n");
    }
}
