//! TAC (type allocation code) lookup: the first 8 digits of an IMEI name the brand and model.
//!
//! The classifier only sees the [`TacLookup`] trait, so it stays pure; the store loads the
//! table into a [`MemoryTacs`] at start. This module also reads the Osmocom TAC CSV export.

use std::collections::HashMap;
use std::io::Read;

/// Brand and model for one TAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TacInfo {
    pub brand: String,
    pub model: String,
}

/// Anything that can name the device behind a TAC.
pub trait TacLookup {
    fn lookup(&self, tac: &str) -> Option<&TacInfo>;
}

/// A lookup that knows no TACs, for callers without a TAC table.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTacs;

impl TacLookup for NoTacs {
    fn lookup(&self, _tac: &str) -> Option<&TacInfo> {
        None
    }
}

/// An in-memory TAC table keyed by the TAC as a number, which keeps lookups allocation-free.
#[derive(Debug, Clone, Default)]
pub struct MemoryTacs {
    map: HashMap<u32, TacInfo>,
}

/// The numeric key of an 8-digit TAC, or `None` for anything else.
fn tac_key(tac: &str) -> Option<u32> {
    (tac.len() == 8 && tac.bytes().all(|b| b.is_ascii_digit()))
        .then(|| tac.parse().ok())
        .flatten()
}

impl MemoryTacs {
    /// Adds or replaces a TAC; later inserts win, which is how local overrides take precedence.
    pub fn insert(&mut self, tac: &str, info: TacInfo) -> bool {
        match tac_key(tac) {
            Some(key) => {
                self.map.insert(key, info);
                true
            }
            None => false,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl TacLookup for MemoryTacs {
    fn lookup(&self, tac: &str) -> Option<&TacInfo> {
        self.map.get(&tac_key(tac)?)
    }
}

/// One usable row of the Osmocom export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TacRow {
    pub tac: String,
    pub brand: String,
    pub model: String,
    pub aka: String,
}

/// A row that was not imported, with its line number and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    pub line: u64,
    pub reason: String,
}

/// The result of reading an Osmocom TAC CSV file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsmocomFile {
    /// The licence notice on line 1, kept so the store can record the data's provenance.
    pub notice: Option<String>,
    pub header_seen: bool,
    pub rows: Vec<TacRow>,
    pub skipped: Vec<SkippedRow>,
}

/// Reads the Osmocom TAC export: a notice line, a header `tac,name,name,...`, then
/// `tac,brand,model,contributor,comment,gsmarena,gsmarena,aka` rows with quoted fields.
///
/// Rows whose first field is not exactly 8 digits are skipped and counted rather than
/// repaired: a 7-digit TAC has lost a leading zero somewhere and guessing which is unsafe.
/// Rows the CSV reader cannot parse (bad quoting, invalid UTF-8) are skipped the same way.
pub fn read_osmocom(reader: impl Read) -> OsmocomFile {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut out = OsmocomFile::default();
    for (index, record) in csv.records().enumerate() {
        let line = index as u64 + 1;
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                let line = err.position().map_or(line, |p| p.line());
                out.skipped.push(SkippedRow {
                    line,
                    reason: format!("unreadable CSV row: {err}"),
                });
                continue;
            }
        };
        let line = record.position().map_or(line, |p| p.line());
        let first = record.get(0).unwrap_or("");
        if line == 1 && first.starts_with("Osmocom") {
            out.notice = Some(first.to_owned());
            continue;
        }
        if first == "tac" && !out.header_seen {
            out.header_seen = true;
            continue;
        }
        if tac_key(first).is_none() {
            out.skipped.push(SkippedRow {
                line,
                reason: format!("TAC {first:?} is not 8 digits"),
            });
            continue;
        }
        out.rows.push(TacRow {
            tac: first.to_owned(),
            brand: record.get(1).unwrap_or("").trim().to_owned(),
            model: record.get(2).unwrap_or("").trim().to_owned(),
            aka: record.get(7).unwrap_or("").trim().to_owned(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_notice_header_quotes_and_bad_rows() {
        let text = "Osmocom TAC database under CC-BY-SA v3.0 (c) Harald Welte 2016\n\
tac,name,name,contributor,comment,gsmarena,gsmarena,aka\n\
01194800,Apple,iPhone 3GS,,,,,\"A1303,A1325\"\n\
1130000,Apple,iPhone 4,,,,,\n\
\x2035572302,Nokia,3120 classic,,,,,\n\
35209900,Nokia,\"N, with comma\",,,,,\n";
        let file = read_osmocom(text.as_bytes());
        assert!(file.notice.is_some());
        assert!(file.header_seen);
        assert_eq!(file.rows.len(), 2);
        assert_eq!(file.rows[0].aka, "A1303,A1325");
        assert_eq!(file.rows[1].model, "N, with comma");
        assert_eq!(file.skipped.len(), 2);
        assert_eq!(file.skipped[0].line, 4);
    }

    #[test]
    fn memory_lookup() {
        let mut tacs = MemoryTacs::default();
        assert!(tacs.insert(
            "35209900",
            TacInfo {
                brand: "B".into(),
                model: "M".into()
            }
        ));
        assert!(!tacs.insert(
            "3520990",
            TacInfo {
                brand: "B".into(),
                model: "M".into()
            }
        ));
        assert_eq!(tacs.lookup("35209900").map(|i| i.brand.as_str()), Some("B"));
        assert!(tacs.lookup("35209901").is_none());
    }
}
