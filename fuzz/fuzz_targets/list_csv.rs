//! The list file reader (`lists::parse`) on arbitrary bytes.
//!
//! Properties: the result does not depend on how the reader splits the file; entries and errors
//! come in file order with real line numbers; every entry is normalised (IMEIs as IMEI14, GTINs as
//! GTIN-14 with a valid check digit, ranges that do not run backwards); and the entries written
//! back as a CSV file read back as the same entries.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use scanstation::ident::checksum::gtin_check_digit;
use scanstation::lists::{Entry, MatchKind, ParsedList, parse};

/// A reader that hands out at most one byte per read, as a slow pipe might.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((&b, rest)), Some(slot)) => {
                *slot = b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse(data);
    assert_eq!(parse(Trickle(data)), parsed, "depends on the read size");
    let physical_lines = data.split(|&b| b == b'\n').count();
    let increasing = |lines: &[usize]| lines.windows(2).all(|w| w[0] < w[1]);
    let entry_lines: Vec<usize> = parsed.entries.iter().map(|e| e.line).collect();
    let error_lines: Vec<usize> = parsed.errors.iter().map(|e| e.line).collect();
    assert!(
        increasing(&entry_lines),
        "entries out of order: {entry_lines:?}"
    );
    assert!(
        increasing(&error_lines),
        "errors out of order: {error_lines:?}"
    );
    for &line in entry_lines.iter().chain(&error_lines) {
        // The "no header" error names the line after the last one.
        assert!(
            line >= 1 && line <= physical_lines + 1,
            "line {line} of {physical_lines}"
        );
    }
    for e in &parsed.entries {
        check_entry(e);
    }

    let written = write(&parsed);
    let again = parse(written.as_bytes());
    assert!(again.errors.is_empty(), "{:?} in {written:?}", again.errors);
    assert_eq!(again.delta, parsed.delta);
    let strip = |entries: &[Entry]| -> Vec<Entry> {
        entries
            .iter()
            .map(|e| Entry {
                line: 0,
                ..e.clone()
            })
            .collect()
    };
    assert_eq!(strip(&again.entries), strip(&parsed.entries), "{written:?}");
});

fn digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

fn check_entry(e: &Entry) {
    assert_eq!(e.hi.is_some(), e.kind.is_range(), "{e:?}");
    if let Some(hi) = &e.hi {
        assert!(e.lo <= *hi, "range runs backwards: {e:?}");
    }
    for v in std::iter::once(&e.lo).chain(&e.hi) {
        let ok = match e.kind {
            MatchKind::Imei | MatchKind::ImeiRange => digits(v, 14),
            MatchKind::Tac => digits(v, 8),
            MatchKind::ProdDateRange => digits(v, 8),
            MatchKind::Gtin => {
                digits(v, 14)
                    && v.as_bytes().split_last().is_some_and(|(last, payload)| {
                        gtin_check_digit(payload) == Some(u32::from(last - b'0'))
                    })
            }
            MatchKind::Serial
            | MatchKind::SerialPrefix
            | MatchKind::SerialRange
            | MatchKind::Part => !v.is_empty() && *v == v.to_ascii_uppercase(),
            MatchKind::Lot => !v.is_empty(),
        };
        assert!(ok, "entry not normalised: {e:?}");
    }
}

/// A CSV field, always quoted.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A stored value in a form the reader accepts: dates go back to `YYYY-MM-DD`.
fn value(kind: MatchKind, v: &str) -> String {
    match (kind, v.get(..4), v.get(4..6), v.get(6..)) {
        (MatchKind::ProdDateRange, Some(y), Some(m), Some(d)) => format!("{y}-{m}-{d}"),
        _ => v.to_owned(),
    }
}

fn write(parsed: &ParsedList) -> String {
    let mut out = String::from("match,value,value_to,reason");
    if parsed.delta {
        out.push_str(",op");
    }
    out.push('\n');
    for e in &parsed.entries {
        out.push_str(&format!(
            "{},{},{},{}",
            e.kind,
            quote(&value(e.kind, &e.lo)),
            quote(
                &e.hi
                    .as_deref()
                    .map(|hi| value(e.kind, hi))
                    .unwrap_or_default()
            ),
            quote(&e.reason),
        ));
        if parsed.delta {
            out.push_str(if e.remove { ",remove" } else { ",add" });
        }
        out.push('\n');
    }
    out
}
