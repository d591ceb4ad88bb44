//! Parsing list files and normalising entry values. Pure: no I/O beyond the reader it is given.

use std::io::Read;

use super::{Entry, LineError, MatchKind, is_digits};
use crate::ident::{checksum, device, gtin};

/// A parsed list file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedList {
    /// The good lines, in file order.
    pub entries: Vec<Entry>,
    /// The bad lines, in file order.
    pub errors: Vec<LineError>,
    /// True when the header has an `op` column: the file is a delta, not a full list.
    pub delta: bool,
}

/// Parses a list file into its good entries and its bad lines (see the module documentation
/// for the format). Whether the file is a delta is dropped; use [`parse`] to keep it.
pub fn parse_list(reader: impl Read) -> (Vec<Entry>, Vec<LineError>) {
    let parsed = parse(reader);
    (parsed.entries, parsed.errors)
}

/// The columns a list file may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Match,
    Value,
    ValueTo,
    Reason,
    Op,
}

impl Column {
    const ALL: [(Column, &'static str); 5] = [
        (Column::Match, "match"),
        (Column::Value, "value"),
        (Column::ValueTo, "value_to"),
        (Column::Reason, "reason"),
        (Column::Op, "op"),
    ];

    fn parse(name: &str) -> Option<Column> {
        Self::ALL
            .into_iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(c, _)| c)
    }
}

/// Where each column sits in a record.
#[derive(Debug, Clone, Copy)]
struct Layout {
    width: usize,
    matcher: usize,
    value: usize,
    value_to: Option<usize>,
    reason: Option<usize>,
    op: Option<usize>,
}

const HEADER_HINT: &str =
    "expected a header row such as match,value,value_to,reason (plus op for a delta file)";

fn parse_header(fields: &[String]) -> Result<Layout, String> {
    let mut columns: Vec<Option<Column>> = Vec::with_capacity(fields.len());
    let mut unknown = Vec::new();
    let mut repeated = Vec::new();
    for name in fields {
        let column = Column::parse(name);
        match column {
            None => unknown.push(format!("{name:?}")),
            Some(c) if columns.contains(&Some(c)) => repeated.push(name.clone()),
            Some(_) => {}
        }
        columns.push(column);
    }
    if !unknown.is_empty() {
        return Err(format!(
            "unknown column{} {} in the header: {HEADER_HINT}",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", ")
        ));
    }
    if !repeated.is_empty() {
        return Err(format!(
            "column {} named twice in the header",
            repeated.join(", ")
        ));
    }
    let find = |c: Column| columns.iter().position(|x| *x == Some(c));
    let (Some(matcher), Some(value)) = (find(Column::Match), find(Column::Value)) else {
        return Err(format!(
            "the header lacks a match or value column: {HEADER_HINT}"
        ));
    };
    Ok(Layout {
        width: fields.len(),
        matcher,
        value,
        value_to: find(Column::ValueTo),
        reason: find(Column::Reason),
        op: find(Column::Op),
    })
}

/// Parses a list file, keeping whether it is a delta (see the module documentation).
pub fn parse(reader: impl Read) -> ParsedList {
    let mut records = Records::new(reader);
    let mut out = ParsedList::default();
    let mut layout: Option<Layout> = None;
    loop {
        let (line, fields) = match records.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(e) => {
                // An unreadable file or an unclosed quote leaves nothing readable after it.
                out.errors.push(e);
                return out;
            }
        };
        let fields = match decode_fields(fields) {
            Ok(fields) => fields,
            Err(message) => {
                out.errors.push(LineError { line, message });
                if layout.is_none() {
                    return out;
                }
                continue;
            }
        };
        if fields.iter().all(String::is_empty) {
            continue;
        }
        let Some(layout) = layout else {
            match parse_header(&fields) {
                Ok(l) => {
                    out.delta = l.op.is_some();
                    layout = Some(l);
                }
                Err(message) => {
                    // Without a header no line can be read, so the file stops here.
                    out.errors.push(LineError { line, message });
                    return out;
                }
            }
            continue;
        };
        match parse_record(&layout, &fields, line) {
            Ok(entry) => out.entries.push(entry),
            Err(message) => out.errors.push(LineError { line, message }),
        }
    }
    if layout.is_none() {
        out.errors.push(LineError {
            line: records.line + 1,
            message: format!("the file has no header row: {HEADER_HINT}"),
        });
    }
    out
}

/// A line-oriented CSV record reader that knows the physical line each record starts on.
///
/// The `csv` crate is not used here because the positions it reports do not count the comment
/// and blank lines it skips (nor CRLF endings consistently), and error messages must name the
/// line a person sees in an editor. Quoting follows RFC 4180: a field that starts with `"` runs
/// to the next lone `"` and may span lines, `""` inside it is one `"`; a `"` anywhere else is
/// an ordinary character, so `6" screen` needs no quoting.
struct Records<R> {
    reader: std::io::BufReader<R>,
    /// The number of physical lines read so far.
    line: usize,
    buf: Vec<u8>,
}

/// A record's first line and its raw fields.
type RawRecord = (usize, Vec<Vec<u8>>);

enum FieldState {
    Start,
    Unquoted,
    Quoted,
    AfterQuote,
}

impl<R: Read> Records<R> {
    fn new(reader: R) -> Records<R> {
        Records {
            reader: std::io::BufReader::new(reader),
            line: 0,
            buf: Vec::new(),
        }
    }

    /// Reads the next physical line into `buf` without its line ending; false at the end.
    fn read_line(&mut self) -> Result<bool, LineError> {
        use std::io::BufRead;
        self.buf.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| LineError {
                line: self.line + 1,
                message: format!("cannot read the file: {e}"),
            })?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if self.line == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
            // Spreadsheets write a byte-order mark before the header.
            self.buf.drain(..3);
        }
        Ok(true)
    }

    /// The next record that is not blank or a comment: its first line and its raw fields.
    fn next_record(&mut self) -> Result<Option<RawRecord>, LineError> {
        loop {
            if !self.read_line()? {
                return Ok(None);
            }
            if self.buf.first() == Some(&b'#') || self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let start = self.line;
            let mut fields = Vec::new();
            let mut field = Vec::new();
            let mut state = FieldState::Start;
            loop {
                let mut bytes = self.buf.iter().copied().peekable();
                while let Some(b) = bytes.next() {
                    state = match (state, b) {
                        (FieldState::Start, b' ' | b'\t') => FieldState::Start,
                        (FieldState::Start, b'"') => FieldState::Quoted,
                        (FieldState::Quoted, b'"') if bytes.peek() == Some(&b'"') => {
                            bytes.next();
                            field.push(b'"');
                            FieldState::Quoted
                        }
                        (FieldState::Quoted, b'"') => FieldState::AfterQuote,
                        (FieldState::Quoted, b) => {
                            field.push(b);
                            FieldState::Quoted
                        }
                        (_, b',') => {
                            fields.push(std::mem::take(&mut field));
                            FieldState::Start
                        }
                        (_, b) => {
                            field.push(b);
                            FieldState::Unquoted
                        }
                    };
                }
                if !matches!(state, FieldState::Quoted) {
                    break;
                }
                // The quoted field goes on to the next line.
                field.push(b'\n');
                if !self.read_line()? {
                    return Err(LineError {
                        line: start,
                        message: "a quoted field opened on this line is never closed".to_owned(),
                    });
                }
            }
            fields.push(field);
            return Ok(Some((start, fields)));
        }
    }
}

/// The trimmed UTF-8 fields of a record.
fn decode_fields(fields: Vec<Vec<u8>>) -> Result<Vec<String>, String> {
    fields
        .into_iter()
        .enumerate()
        .map(|(i, field)| {
            String::from_utf8(field)
                .map(|s| s.trim().to_owned())
                .map_err(|_| format!("column {} is not valid UTF-8", i + 1))
        })
        .collect()
}

fn parse_record(layout: &Layout, fields: &[String], line: usize) -> Result<Entry, String> {
    if fields.len() != layout.width {
        return Err(format!(
            "expected {} columns as in the header, found {}",
            layout.width,
            fields.len()
        ));
    }
    let get = |i: Option<usize>| i.and_then(|i| fields.get(i)).map_or("", String::as_str);
    let name = get(Some(layout.matcher));
    let kind = MatchKind::parse(name).ok_or_else(|| {
        let names: Vec<&str> = MatchKind::ALL.iter().map(|k| k.as_str()).collect();
        format!(
            "unknown match kind {name:?}: expected one of {}",
            names.join(", ")
        )
    })?;
    let remove = match get(layout.op) {
        "" => false,
        op if op.eq_ignore_ascii_case("add") => false,
        op if op.eq_ignore_ascii_case("remove") => true,
        op => return Err(format!("unknown op {op:?}: expected add or remove")),
    };
    let value = get(Some(layout.value));
    let value_to = get(layout.value_to);
    let lo = normalise(kind, value).map_err(|e| format!("{kind} value: {e}"))?;
    let hi = if kind.is_range() {
        if value_to.is_empty() {
            return Err(format!("{kind} needs value_to, the upper end of the range"));
        }
        let hi = normalise(kind, value_to).map_err(|e| format!("{kind} value_to: {e}"))?;
        if lo > hi {
            return Err(format!(
                "{kind} runs backwards: value {lo} sorts after value_to {hi}"
            ));
        }
        Some(hi)
    } else {
        if !value_to.is_empty() {
            return Err(format!(
                "value_to {value_to:?} given for {kind}, which is not a range"
            ));
        }
        None
    };
    Ok(Entry {
        line,
        kind,
        lo,
        hi,
        reason: get(layout.reason).to_owned(),
        remove,
    })
}

/// Normalises one end of an entry of `kind`, or says what is wrong with it.
pub(super) fn normalise(kind: MatchKind, value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("empty value".to_owned());
    }
    match kind {
        MatchKind::Serial | MatchKind::SerialPrefix | MatchKind::SerialRange | MatchKind::Part => {
            text(value).map(|v| v.to_ascii_uppercase())
        }
        MatchKind::Lot => text(value).map(str::to_owned),
        MatchKind::Imei | MatchKind::ImeiRange => imei14(&digits(value)?),
        MatchKind::Tac => {
            let d = digits(value)?;
            if d.len() == 8 {
                Ok(d)
            } else {
                Err(format!("a TAC is 8 digits, {value:?} has {}", d.len()))
            }
        }
        MatchKind::Gtin => gtin14(&digits(value)?),
        MatchKind::ProdDateRange => date(value),
    }
}

/// Text values may hold anything printable; control characters are misreads or broken files.
fn text(value: &str) -> Result<&str, String> {
    if value.chars().any(char::is_control) {
        Err(format!("{value:?} contains a control character"))
    } else {
        Ok(value)
    }
}

/// The digits of a numeric value, ignoring spaces and hyphens people type as separators.
fn digits(value: &str) -> Result<String, String> {
    let out: String = value.chars().filter(|c| *c != ' ' && *c != '-').collect();
    if out.is_empty() || !out.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{value:?} is not a number"));
    }
    Ok(out)
}

fn imei14(d: &str) -> Result<String, String> {
    match d.len() {
        14 | 16 => Ok(d.get(..14).unwrap_or(d).to_owned()),
        15 => {
            if checksum::luhn_valid(d.as_bytes()) {
                Ok(d.get(..14).unwrap_or(d).to_owned())
            } else {
                let expected = d
                    .get(..14)
                    .and_then(device::imei_check_digit)
                    .map_or_else(String::new, |c| format!(" (expected {c})"));
                Err(format!("IMEI {d} fails its Luhn check digit{expected}"))
            }
        }
        n => Err(format!(
            "an IMEI is 14, 15 or 16 digits, {d} has {n} digits"
        )),
    }
}

fn gtin14(d: &str) -> Result<String, String> {
    if !matches!(d.len(), 8 | 12 | 13 | 14) {
        return Err(format!(
            "a GTIN is 8, 12, 13 or 14 digits, {d} has {} digits",
            d.len()
        ));
    }
    if !gtin::check_digit_ok(d) {
        let expected = d
            .get(..d.len() - 1)
            .and_then(|p| checksum::gtin_check_digit(p.as_bytes()))
            .map_or_else(String::new, |c| format!(" (expected {c})"));
        return Err(format!("GTIN {d} fails its check digit{expected}"));
    }
    Ok(gtin::to_gtin14(d))
}

fn days_in_month(year: u32, month: u32) -> Option<u32> {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => Some(31),
        4 | 6 | 9 | 11 => Some(30),
        2 if leap => Some(29),
        2 => Some(28),
        _ => None,
    }
}

fn number(s: Option<&str>) -> Option<u32> {
    s.filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
}

/// A GS1 `YYMMDD` date as `YYYYMMDD` (20YY; `DD` = `00` is the last day of the month).
pub(super) fn yymmdd(value: &str) -> Result<String, String> {
    let bad = || format!("{value:?} is not a valid YYMMDD date");
    if !is_digits(value, 6) {
        return Err(bad());
    }
    let year = 2000 + number(value.get(..2)).ok_or_else(bad)?;
    let month = number(value.get(2..4)).ok_or_else(bad)?;
    let day = number(value.get(4..6)).ok_or_else(bad)?;
    let last = days_in_month(year, month).ok_or_else(bad)?;
    let day = if day == 0 { last } else { day };
    if day > last {
        return Err(bad());
    }
    Ok(format!("{year:04}{month:02}{day:02}"))
}

/// A production date given as `YYMMDD` or `YYYY-MM-DD`, as `YYYYMMDD`.
fn date(value: &str) -> Result<String, String> {
    if value.len() == 6 {
        return yymmdd(value);
    }
    let bad = || format!("{value:?} is not a date: expected YYMMDD or YYYY-MM-DD");
    let mut parts = value.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (year, month, day) = (
        number(Some(y)).ok_or_else(bad)?,
        number(Some(m)).ok_or_else(bad)?,
        number(Some(d)).ok_or_else(bad)?,
    );
    let last = days_in_month(year, month).ok_or_else(bad)?;
    if day == 0 || day > last {
        return Err(format!("{value:?} is not a valid date"));
    }
    Ok(format!("{year:04}{month:02}{day:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> ParsedList {
        parse(s.as_bytes())
    }

    fn lines(errors: &[LineError]) -> Vec<usize> {
        errors.iter().map(|e| e.line).collect()
    }

    #[test]
    fn parses_every_kind_and_normalises() {
        let p = parse_str(concat!(
            "match,value,value_to,reason\n",
            "serial,f17xk0aajc6f,,swollen\n",
            "serial_prefix,c02,,\n",
            "serial_range,a100,a199,\n",
            "imei,490154203237518,,stolen\n",
            "imei,49015420323751,,\n",
            "imei,4901542032375100,,\n",
            "imei_range,35-209900-000000,35209900999999,\n",
            "tac,35209900,,\n",
            "gtin,036000291452,,\n",
            "part,mk2k3ll/a,,\n",
            "lot,Ab12,,\n",
            "prod_date_range,240100,2024-03-15,\n",
        ));
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert!(!p.delta);
        let got: Vec<(MatchKind, &str, Option<&str>)> = p
            .entries
            .iter()
            .map(|e| (e.kind, e.lo.as_str(), e.hi.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (MatchKind::Serial, "F17XK0AAJC6F", None),
                (MatchKind::SerialPrefix, "C02", None),
                (MatchKind::SerialRange, "A100", Some("A199")),
                (MatchKind::Imei, "49015420323751", None),
                (MatchKind::Imei, "49015420323751", None),
                (MatchKind::Imei, "49015420323751", None),
                (
                    MatchKind::ImeiRange,
                    "35209900000000",
                    Some("35209900999999")
                ),
                (MatchKind::Tac, "35209900", None),
                (MatchKind::Gtin, "00036000291452", None),
                (MatchKind::Part, "MK2K3LL/A", None),
                (MatchKind::Lot, "Ab12", None),
                (MatchKind::ProdDateRange, "20240131", Some("20240315")),
            ]
        );
        assert_eq!(p.entries[0].reason, "swollen");
        assert_eq!(p.entries[0].line, 2);
        assert_eq!(p.entries[11].line, 13);
    }

    #[test]
    fn reports_bad_lines_with_file_line_numbers() {
        let p = parse_str(concat!(
            "# a recall list\n",                     // 1
            "\n",                                    // 2
            "match,value,value_to,reason\n",         // 3
            "bogus,1,,\n",                           // 4
            "imei,490154203237519,,\n",              // 5: bad Luhn
            "tac,3520990,,\n",                       // 6: 7 digits
            "gtin,036000291453,,\n",                 // 7: bad check digit
            "serial_range,B,A,\n",                   // 8: backwards
            "imei_range,35209900000000,,\n",         // 9: no value_to
            "serial,ABC,ABD,\n",                     // 10: value_to on non-range
            "serial,ABC\n",                          // 11: wrong column count
            "serial,ABC,,ok\n",                      // 12: good
            "# comment\n",                           // 13
            "prod_date_range,240230,240301,\n",      // 14: 30 February
            "prod_date_range,2024-02-29,240301,x\n", // 15: good (leap year)
            "serial,,,\n",                           // 16: empty value
        ));
        assert_eq!(lines(&p.errors), vec![4, 5, 6, 7, 8, 9, 10, 11, 14, 16]);
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.entries[0].line, 12);
        assert_eq!(p.entries[1].line, 15);
        assert!(p.errors[0].message.contains("unknown match kind"));
        assert!(p.errors[1].message.contains("Luhn"));
        assert!(p.errors[1].message.contains("expected 8"));
        assert_eq!(
            p.errors[4].to_string(),
            "line 8: serial_range runs backwards: value B sorts after value_to A"
        );
        assert!(p.errors[5].message.contains("needs value_to"));
        assert!(p.errors[6].message.contains("not a range"));
        assert!(p.errors[7].message.contains("expected 4 columns"));
    }

    #[test]
    fn header_columns_in_any_order_with_op() {
        let p = parse_str(concat!(
            "\u{feff}Reason,OP,value,match\n",
            "gone,remove,ABC,serial\n",
            "new,,DEF,serial\n",
            "new,Add,GHI,serial\n",
            "x,delete,JKL,serial\n",
        ));
        assert!(p.delta);
        assert_eq!(lines(&p.errors), vec![5]);
        assert!(p.errors[0].message.contains("unknown op"));
        let ops: Vec<(&str, bool, &str)> = p
            .entries
            .iter()
            .map(|e| (e.lo.as_str(), e.remove, e.reason.as_str()))
            .collect();
        assert_eq!(
            ops,
            vec![
                ("ABC", true, "gone"),
                ("DEF", false, "new"),
                ("GHI", false, "new")
            ]
        );
    }

    #[test]
    fn header_errors_stop_the_file() {
        let p = parse_str("match,value,note,colour\nserial,A,x,y\n");
        assert_eq!(lines(&p.errors), vec![1]);
        assert!(p.errors[0].message.contains("\"note\", \"colour\""));
        assert!(p.entries.is_empty());

        let p = parse_str("match,match,value\n");
        assert!(p.errors[0].message.contains("named twice"));

        let p = parse_str("value,reason\n");
        assert!(p.errors[0].message.contains("lacks a match or value"));

        let p = parse_str("# only a comment\n\n");
        assert_eq!(lines(&p.errors), vec![3]);
        assert!(p.errors[0].message.contains("no header"));
    }

    #[test]
    fn quoting_crlf_and_invalid_utf8() {
        let mut bytes =
            b"match,value,value_to,reason\r\nserial,\"A,B\",,\"say \"\"hi\"\"\"\r\n".to_vec();
        bytes.extend_from_slice(b"serial,\xff\xfe,,\r\nserial,C,,\r\n");
        let p = parse(bytes.as_slice());
        assert_eq!(lines(&p.errors), vec![3]);
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.entries[0].lo, "A,B");
        assert_eq!(p.entries[0].reason, "say \"hi\"");
        assert_eq!(p.entries[1].line, 4);
    }

    #[test]
    fn multi_line_fields_comments_and_stray_quotes_keep_line_numbers() {
        let p = parse_str(concat!(
            "match,value,reason\n",          // 1
            "# a comment, \"with a quote\n", // 2: skipped, opens nothing
            "serial,A,\"two\n",              // 3: a field over two lines
            "lines\"\n",                     // 4
            "serial,B,6\" screen\n",         // 5: a quote inside a field is literal
            "\n",                            // 6
            "bogus,C,\n",                    // 7
            "serial,D,\"never closed\n",     // 8
            "serial,E,\n",                   // 9
        ));
        let got: Vec<(usize, &str, &str)> = p
            .entries
            .iter()
            .map(|e| (e.line, e.lo.as_str(), e.reason.as_str()))
            .collect();
        assert_eq!(got, vec![(3, "A", "two\nlines"), (5, "B", "6\" screen")]);
        assert_eq!(lines(&p.errors), vec![7, 8]);
        assert!(p.errors[1].message.contains("never closed"));
    }

    #[test]
    fn normalises_values() {
        use MatchKind::*;
        assert_eq!(
            normalise(Imei, "49015420323751").as_deref(),
            Ok("49015420323751")
        );
        assert_eq!(
            normalise(Imei, "4901 5420 3237 518").as_deref(),
            Ok("49015420323751")
        );
        assert!(normalise(Imei, "4901542032375").is_err());
        assert!(normalise(Imei, "49015420323751A").is_err());
        assert_eq!(
            normalise(Gtin, "4006381333931").as_deref(),
            Ok("04006381333931")
        );
        assert_eq!(normalise(Gtin, "96385074").as_deref(), Ok("00000096385074"));
        assert!(normalise(Gtin, "4006381333932").is_err());
        assert!(normalise(Gtin, "40063813339").is_err());
        assert_eq!(
            normalise(ProdDateRange, "240200").as_deref(),
            Ok("20240229")
        );
        assert_eq!(
            normalise(ProdDateRange, "230200").as_deref(),
            Ok("20230228")
        );
        assert_eq!(
            normalise(ProdDateRange, "2000-02-29").as_deref(),
            Ok("20000229")
        );
        assert!(normalise(ProdDateRange, "1900-02-29").is_err());
        assert!(normalise(ProdDateRange, "2024-13-01").is_err());
        assert!(normalise(ProdDateRange, "2024-1-01").is_err());
        assert!(normalise(ProdDateRange, "20240101").is_err());
        assert!(normalise(ProdDateRange, "241301").is_err());
        assert!(normalise(Serial, "A\tB").is_err());
        assert_eq!(normalise(Lot, " lot7 ").as_deref(), Ok("lot7"));
    }

    #[test]
    fn never_panics_on_junk() {
        let junk: [&[u8]; 6] = [
            b"",
            b"\"",
            b"match,value\n\"unterminated",
            b"match,value\nimei,\xf0\x9f\x92\xa9\n",
            b"match,value\nprod_date_range,\xc3\xa9\xc3\xa9\xc3\xa9\n",
            b"match,value,value_to\ngtin,,\nimei_range,1,\n",
        ];
        for bytes in junk {
            let _ = parse(bytes);
        }
    }
}
