//! `lists`: recall, blocklist, expected and shipped lists, and matching units against them.
//!
//! A list is a named, versioned set of entries of one [`ListKind`]. Each import makes a new
//! version; entries remember the version that added them and the version that removed them, so
//! the state a decision was made against can be reproduced later (DOMAIN.md 2.2 and 4.4).
//!
//! This module holds the pure part: the file format, value normalisation and in-memory matching.
//! The SQLite side lives in `store::lists` (lookups) and `store::list_file` (imports).
//!
//! # The list file format
//!
//! A list file is CSV (RFC 4180 quoting) with a header row naming its columns:
//!
//! ```text
//! match,value,value_to,reason
//! serial,F17XK0AAJC6F,,battery swelling
//! imei_range,35209900000000,35209900999999,stolen shipment
//! ```
//!
//! - Columns may come in any order as long as the header names them. `match` and `value` are
//!   required; `value_to` and `reason` may be left out (they are then empty). A fifth column `op`
//!   (`add` or `remove`, empty meaning `add`) makes the file a **delta**: its lines are applied to
//!   the current entries. A file without an `op` column is a **full** list and **replaces** every
//!   active entry of the list. An unknown or repeated column name is an error naming it.
//! - Blank lines and lines starting with `#` are skipped, before and after the header. Fields are
//!   trimmed. Names (`match`, `op` values and column names) are case-insensitive.
//! - `match` is one of:
//!   - `serial`: the unit's serial equals `value` (compared in ASCII uppercase).
//!   - `serial_prefix`: the unit's serial starts with `value` (uppercase).
//!   - `serial_range`: `value <= serial <= value_to`. Serial ranges compare **lexicographically**,
//!     byte by byte on the uppercase strings, whatever their lengths: `A10` sorts before `A9`, and
//!     `A1` ≤ `A10` ≤ `A2`. Give both ends the same length and alphabet to get the range you mean.
//!   - `imei`: 14, 15 or 16 digits (IMEI14, IMEI with its Luhn check digit, which is validated, or
//!     IMEISV); the first 14 digits are compared with the unit's IMEI14s.
//!   - `imei_range`: an inclusive range of IMEI14s, both ends given and normalised like `imei`.
//!   - `tac`: 8 digits, compared with the first 8 digits of every IMEI of the unit.
//!   - `gtin`: GTIN-8, -12 (UPC-A), -13 (EAN-13) or -14 with a valid check digit, compared as
//!     GTIN-14, so a UPC-A matches the EAN-13 with a leading zero that some readers report.
//!   - `part`: a part or model number, exact (uppercase).
//!   - `lot`: a GS1 (10) batch/lot value, exact (lots are case-sensitive, as GS1 defines them).
//!   - `prod_date_range`: production dates `value..value_to` inclusive, each `YYMMDD` (as GS1
//!     writes them; `DD` = `00` means the last day of the month, and `YY` is read as 20YY) or
//!     `YYYY-MM-DD`, compared with the unit's GS1 (11) production date.
//! - Spaces and hyphens inside `imei`, `imei_range`, `tac` and `gtin` values are ignored.
//! - `value_to` is required for the three range kinds and must be empty for the others; a range
//!   whose `value` sorts after its `value_to` is an error.
//! - `reason` is free text shown to the operator when the entry matches.
//! - A `remove` line removes the active entries with the same `match`, `value` and `value_to`
//!   (the reason is not compared); a remove that matches nothing is counted in the import report,
//!   not treated as an error.
//!
//! Bad lines are reported as `LINE: what is wrong`, with 1-based line numbers of the file. An
//! import is one transaction: a file with any bad line changes nothing unless bad lines are
//! explicitly skipped, in which case the good lines are imported and the bad ones reported.

mod parse;

pub use parse::{ParsedList, parse, parse_list};

use std::fmt;

use crate::ident::{Classification, IdKind, Identifier, gs1};

/// What a list is for; it decides what a match means to the station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// Units to pull out: a match is a recall hit.
    Recall,
    /// Units that must not be accepted (lost, stolen, blocked).
    Blocklist,
    /// Units an audit expects to see.
    Expected,
    /// Units the station shipped, to compare returns against.
    Shipped,
}

impl ListKind {
    pub const ALL: [ListKind; 4] = [
        ListKind::Recall,
        ListKind::Blocklist,
        ListKind::Expected,
        ListKind::Shipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Recall => "recall",
            ListKind::Blocklist => "blocklist",
            ListKind::Expected => "expected",
            ListKind::Shipped => "shipped",
        }
    }

    /// Parses the name written by [`ListKind::as_str`], ignoring ASCII case.
    pub fn parse(name: &str) -> Option<ListKind> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a list entry is compared with a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchKind {
    Serial,
    SerialPrefix,
    SerialRange,
    Imei,
    ImeiRange,
    Tac,
    Gtin,
    Part,
    Lot,
    ProdDateRange,
}

impl MatchKind {
    pub const ALL: [MatchKind; 10] = [
        MatchKind::Serial,
        MatchKind::SerialPrefix,
        MatchKind::SerialRange,
        MatchKind::Imei,
        MatchKind::ImeiRange,
        MatchKind::Tac,
        MatchKind::Gtin,
        MatchKind::Part,
        MatchKind::Lot,
        MatchKind::ProdDateRange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Serial => "serial",
            MatchKind::SerialPrefix => "serial_prefix",
            MatchKind::SerialRange => "serial_range",
            MatchKind::Imei => "imei",
            MatchKind::ImeiRange => "imei_range",
            MatchKind::Tac => "tac",
            MatchKind::Gtin => "gtin",
            MatchKind::Part => "part",
            MatchKind::Lot => "lot",
            MatchKind::ProdDateRange => "prod_date_range",
        }
    }

    /// Parses the name written by [`MatchKind::as_str`], ignoring ASCII case.
    pub fn parse(name: &str) -> Option<MatchKind> {
        let name = name.trim();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name))
    }

    /// True for the kinds whose entries are inclusive ranges `lo..=hi`.
    pub fn is_range(self) -> bool {
        matches!(
            self,
            MatchKind::SerialRange | MatchKind::ImeiRange | MatchKind::ProdDateRange
        )
    }

    /// One bit per kind, for the per-list record of which kinds a list holds.
    pub fn bit(self) -> i64 {
        1 << (self as i64)
    }

    /// Normalises one end of an entry of this kind to the form it is stored and compared in,
    /// or says what is wrong with it.
    pub fn normalise(self, value: &str) -> Result<String, String> {
        parse::normalise(self, value)
    }
}

impl fmt::Display for MatchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of a list file, normalised: `lo` (and `hi` for ranges) are in the stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The 1-based line of the file the entry came from.
    pub line: usize,
    pub kind: MatchKind,
    pub lo: String,
    /// The upper end, for range kinds only.
    pub hi: Option<String>,
    pub reason: String,
    /// True for a delta line with `op` = `remove`.
    pub remove: bool,
}

impl Entry {
    /// The entry's value as shown to people: `lo`, or `lo..hi` for a range.
    pub fn display_value(&self) -> String {
        display_value(&self.lo, self.hi.as_deref())
    }

    /// True when this entry matches the unit. This is the reference semantics that the indexed
    /// SQL lookups of `Store::match_unit` implement.
    pub fn matches(&self, keys: &UnitKeys) -> bool {
        let lo = self.lo.as_str();
        let within = |key: &str| self.hi.as_deref().is_some_and(|hi| lo <= key && key <= hi);
        match self.kind {
            MatchKind::Serial => keys.serials.iter().any(|s| s == lo),
            MatchKind::SerialPrefix => keys.serials.iter().any(|s| s.starts_with(lo)),
            MatchKind::SerialRange => keys.serials.iter().any(|s| within(s)),
            MatchKind::Imei => keys.imei14s.iter().any(|k| k == lo),
            MatchKind::ImeiRange => keys.imei14s.iter().any(|k| is_digits(k, 14) && within(k)),
            MatchKind::Tac => keys.tacs().iter().any(|t| t == lo),
            MatchKind::Gtin => keys.gtin14s.iter().any(|g| g == lo),
            MatchKind::Part => keys.parts.iter().any(|p| p == lo),
            MatchKind::Lot => keys.lots.iter().any(|l| l == lo),
            MatchKind::ProdDateRange => {
                keys.prod_dates.iter().any(|d| is_digits(d, 8) && within(d))
            }
        }
    }
}

/// `lo`, or `lo..hi` for a range: how an entry's value is shown in hits and reports.
pub fn display_value(lo: &str, hi: Option<&str>) -> String {
    match hi {
        Some(hi) => format!("{lo}..{hi}"),
        None => lo.to_owned(),
    }
}

/// True when `s` is exactly `len` ASCII digits.
pub(crate) fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// A bad line of a list file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The 1-based line number in the file.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Whether an import replaces the list's active entries or applies changes to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// A full list (a file without an `op` column): every active entry not in it is removed.
    Replace,
    /// A delta file (with an `op` column): adds and removes are applied to the active entries.
    Delta,
}

impl ImportMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportMode::Replace => "replace",
            ImportMode::Delta => "delta",
        }
    }
}

/// What one import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub list: String,
    /// The list's version after the import.
    pub version: i64,
    pub added: usize,
    /// Entries this import marked removed, including those a full import replaced.
    pub removed: usize,
    /// `remove` lines that matched no active entry.
    pub unmatched_removes: usize,
}

/// One list as `lists` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSummary {
    pub name: String,
    pub kind: ListKind,
    pub version: i64,
    /// The number of active (not removed) entries.
    pub active: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// What a unit offers for matching (built by the daemon from its identifiers and GS1 elements).
///
/// Values must already be in the compared form: serials and parts in ASCII uppercase, IMEIs as
/// IMEI14, GTINs as GTIN-14, production dates as `YYYYMMDD`. The constructors below do that.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitKeys {
    pub serials: Vec<String>,
    pub imei14s: Vec<String>,
    pub gtin14s: Vec<String>,
    pub parts: Vec<String>,
    pub lots: Vec<String>,
    /// Production dates as `YYYYMMDD`.
    pub prod_dates: Vec<String>,
}

fn push_unique(values: &mut Vec<String>, value: String) {
    if !value.is_empty() && !values.contains(&value) {
        values.push(value);
    }
}

impl UnitKeys {
    /// The keys of a unit's typed identifiers. TACs are not stored: they derive from `imei14s`.
    /// Lots and production dates are not identifiers; add them with [`UnitKeys::add_gs1_elements`].
    pub fn from_identifiers(ids: &[Identifier]) -> UnitKeys {
        let mut keys = UnitKeys::default();
        for id in ids {
            keys.add_identifier(id);
        }
        keys
    }

    /// Adds the keys of one identifier; kinds that lists cannot name (MEID, ICCID, ...) are ignored.
    pub fn add_identifier(&mut self, id: &Identifier) {
        let key = id.key.trim();
        match id.kind {
            IdKind::Serial => push_unique(&mut self.serials, key.to_ascii_uppercase()),
            IdKind::Imei => push_unique(&mut self.imei14s, key.get(..14).unwrap_or(key).into()),
            IdKind::Gtin => push_unique(&mut self.gtin14s, crate::ident::gtin::to_gtin14(key)),
            IdKind::Part => push_unique(&mut self.parts, key.to_ascii_uppercase()),
            IdKind::Meid | IdKind::Esn | IdKind::Iccid | IdKind::Eid => {}
        }
    }

    /// Adds the lot (AI 10) and production date (AI 11) of GS1 elements. Other AIs reach the
    /// unit as identifiers already (01 as GTIN, 21 as serial, 240/241 as part).
    pub fn add_gs1_elements(&mut self, elements: &[gs1::Element]) {
        for element in elements {
            match element.ai.as_str() {
                "10" => push_unique(&mut self.lots, element.value.trim().to_owned()),
                "11" => {
                    if let Some(date) = gs1_date_to_yyyymmdd(&element.value) {
                        push_unique(&mut self.prod_dates, date);
                    }
                }
                _ => {}
            }
        }
    }

    /// Adds everything a classified scan offers: its identifiers and its GS1 elements.
    pub fn add_classification(&mut self, c: &Classification) {
        for id in &c.identifiers {
            self.add_identifier(id);
        }
        self.add_gs1_elements(&c.details.elements);
    }

    /// The TACs of the unit's IMEIs (the first 8 digits of each IMEI14), without repeats.
    pub fn tacs(&self) -> Vec<String> {
        let mut tacs = Vec::new();
        for imei in &self.imei14s {
            if let Some(tac) = imei.get(..8).filter(|t| is_digits(t, 8)) {
                push_unique(&mut tacs, tac.to_owned());
            }
        }
        tacs
    }

    pub fn is_empty(&self) -> bool {
        self.serials.is_empty()
            && self.imei14s.is_empty()
            && self.gtin14s.is_empty()
            && self.parts.is_empty()
            && self.lots.is_empty()
            && self.prod_dates.is_empty()
    }
}

/// Converts a GS1 `YYMMDD` date to `YYYYMMDD`, or `None` when it is not a valid date.
///
/// `YY` is read as 20YY rather than through GS1's sliding century window, because the window
/// needs today's date and matching must not read the clock; device production dates all fall in
/// this century. `DD` = `00` means the last day of the month (GS1 General Specifications 7.12).
pub fn gs1_date_to_yyyymmdd(yymmdd: &str) -> Option<String> {
    parse::yymmdd(yymmdd.trim()).ok()
}

/// One list entry that matched a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListHit {
    /// The list's name.
    pub list: String,
    pub kind: ListKind,
    /// The list's version when the match was made, so the decision can be reproduced.
    pub version: i64,
    pub match_kind: MatchKind,
    /// The entry's value: `lo`, or `lo..hi` for a range.
    pub value: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(kind: IdKind, key: &str) -> Identifier {
        Identifier {
            kind,
            value: key.to_owned(),
            key: key.to_owned(),
        }
    }

    #[test]
    fn unit_keys_from_identifiers_and_gs1() {
        let mut keys = UnitKeys::from_identifiers(&[
            id(IdKind::Serial, "c02xg1abjgh5"),
            id(IdKind::Imei, "3541780368597899"),
            id(IdKind::Imei, "35417803685979"),
            id(IdKind::Gtin, "036000291452"),
            id(IdKind::Part, "mk2k3ll/a"),
            id(IdKind::Iccid, "8944500102198304826"),
        ]);
        let element = |ai: &str, value: &str| gs1::Element {
            ai: ai.to_owned(),
            title: "",
            value: value.to_owned(),
        };
        keys.add_gs1_elements(&[
            element("10", "Lot7"),
            element("11", "240200"),
            element("11", "241301"),
            element("21", "IGNORED"),
        ]);
        assert_eq!(
            keys,
            UnitKeys {
                serials: vec!["C02XG1ABJGH5".into()],
                imei14s: vec!["35417803685978".into(), "35417803685979".into()],
                gtin14s: vec!["00036000291452".into()],
                parts: vec!["MK2K3LL/A".into()],
                lots: vec!["Lot7".into()],
                prod_dates: vec!["20240229".into()],
            }
        );
        assert_eq!(keys.tacs(), vec!["35417803".to_owned()]);
        assert!(!keys.is_empty());
        assert!(UnitKeys::default().is_empty());
    }

    #[test]
    fn entries_match_by_kind() {
        let entry = |kind, lo: &str, hi: Option<&str>| Entry {
            line: 1,
            kind,
            lo: lo.to_owned(),
            hi: hi.map(str::to_owned),
            reason: String::new(),
            remove: false,
        };
        let keys = UnitKeys {
            serials: vec!["A150".into()],
            imei14s: vec!["35000000000100".into(), "not an imei".into()],
            prod_dates: vec!["20240315".into()],
            ..UnitKeys::default()
        };
        let cases = [
            (entry(MatchKind::Serial, "A150", None), true),
            (entry(MatchKind::Serial, "A15", None), false),
            (entry(MatchKind::SerialPrefix, "A15", None), true),
            (entry(MatchKind::SerialPrefix, "A1500", None), false),
            (entry(MatchKind::SerialRange, "A100", Some("A199")), true),
            (entry(MatchKind::SerialRange, "A151", Some("A199")), false),
            (entry(MatchKind::Imei, "35000000000100", None), true),
            (
                entry(
                    MatchKind::ImeiRange,
                    "35000000000100",
                    Some("35000000000100"),
                ),
                true,
            ),
            (
                entry(
                    MatchKind::ImeiRange,
                    "35000000000101",
                    Some("35000000000200"),
                ),
                false,
            ),
            (entry(MatchKind::Tac, "35000000", None), true),
            (entry(MatchKind::Tac, "35000001", None), false),
            (
                entry(MatchKind::ProdDateRange, "20240301", Some("20240331")),
                true,
            ),
            (
                entry(MatchKind::ProdDateRange, "20240401", Some("20240430")),
                false,
            ),
            (entry(MatchKind::Gtin, "00036000291452", None), false),
            (entry(MatchKind::SerialRange, "A100", None), false),
        ];
        for (entry, want) in cases {
            assert_eq!(entry.matches(&keys), want, "{entry:?}");
        }
    }
}
