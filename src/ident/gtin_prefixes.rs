//! GS1 company prefixes and the brands they belong to, for the label consistency check.
//!
//! The table is data, not code: `gtin_prefixes.csv` beside this file is compiled in, and a
//! user can add prefixes from a file in the same format with [`GtinPrefixes::parse`] and
//! [`GtinPrefixes::extend`].
//!
//! Prefixes are written in the **GTIN-13 form**: a UPC-A (GTIN-12) company prefix gets a
//! leading `0` (UPC `190199…` is prefix `0190199`), and a GTIN-14 is matched without its
//! indicator (packaging level) digit, which sits in front of the company prefix. The longest
//! matching prefix wins, so a user can list one company's block inside a wider one.
//!
//! A user file is untrusted input: every malformed line is a [`PrefixError`] naming the file,
//! the line and the problem, and nothing in it can make the parser panic.

use std::collections::BTreeMap;

use super::gtin::to_gtin14;

/// The table shipped with the station; every row cites its evidence.
const BUILTIN: &str = include_str!("gtin_prefixes.csv");

/// File name used in errors about the built-in table.
const BUILTIN_NAME: &str = "gtin_prefixes.csv (built in)";

/// GS1 company prefixes are 4 to 12 digits long in the GTIN-13 form (the GS1 prefix of 3
/// digits plus at least one company digit, and at least one item digit before the check digit).
pub const MIN_PREFIX_LEN: usize = 4;
pub const MAX_PREFIX_LEN: usize = 12;

/// How much of an untrusted value an error message quotes, so a huge line cannot flood a log.
const QUOTE_LEN: usize = 40;

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixEntry {
    /// Digits of the GTIN-13 form.
    pub prefix: String,
    /// The brand as written in the file; compare it with [`super::consistency::normalise_brand`].
    pub brand: String,
    /// Where the prefix was seen (free text, may be empty in user files).
    pub source: String,
}

/// A malformed line in a prefix file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error("{file}:{line}: expected the header `prefix,brand,source`, found {found:?}")]
    BadHeader {
        file: String,
        line: usize,
        found: String,
    },
    #[error(
        "{file}:{line}: expected 3 fields `prefix,brand,source`, found {found} (the brand may not contain a comma)"
    )]
    FieldCount {
        file: String,
        line: usize,
        found: usize,
    },
    #[error(
        "{file}:{line}: prefix {prefix:?} is not {MIN_PREFIX_LEN} to {MAX_PREFIX_LEN} digits (write the GTIN-13 form: a UPC prefix gets a leading 0)"
    )]
    BadPrefix {
        file: String,
        line: usize,
        prefix: String,
    },
    #[error("{file}:{line}: empty brand for prefix {prefix}")]
    EmptyBrand {
        file: String,
        line: usize,
        prefix: String,
    },
    #[error("{file}:{line}: prefix {prefix} is already listed on line {first_line}")]
    Duplicate {
        file: String,
        line: usize,
        prefix: String,
        first_line: usize,
    },
}

/// GS1 company prefix table with longest-prefix lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtinPrefixes {
    entries: BTreeMap<String, PrefixEntry>,
}

/// Keeps error messages short whatever the input: at most [`QUOTE_LEN`] characters.
fn quote(value: &str) -> String {
    match value.char_indices().nth(QUOTE_LEN) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}

/// Trims a field and removes one pair of surrounding double quotes, which spreadsheet exports add.
fn field(raw: &str) -> &str {
    let t = raw.trim();
    t.strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .map_or(t, str::trim)
}

impl GtinPrefixes {
    /// The table compiled into the station.
    ///
    /// The file is checked by a unit test, so the empty fallback is never reached in a
    /// released build; it exists because a panic here would take the station down.
    pub fn builtin() -> GtinPrefixes {
        GtinPrefixes::parse(BUILTIN, BUILTIN_NAME).unwrap_or_default()
    }

    /// Parses a prefix file: `#` comment lines and blank lines anywhere, then the header
    /// `prefix,brand,source`, then one prefix per line. The source is the rest of the line
    /// after the second comma, so it may contain commas; the brand may not.
    pub fn parse(text: &str, file_name: &str) -> Result<GtinPrefixes, PrefixError> {
        let mut out = GtinPrefixes::default();
        let mut first_lines: BTreeMap<String, usize> = BTreeMap::new();
        let mut header_seen = false;
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            // A byte-order mark from a Windows editor would otherwise break the header.
            let trimmed = raw.trim_start_matches('\u{feff}').trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = trimmed.splitn(3, ',').map(field).collect();
            if !header_seen {
                let is_header = fields.len() == 3
                    && fields
                        .iter()
                        .zip(["prefix", "brand", "source"])
                        .all(|(got, want)| got.eq_ignore_ascii_case(want));
                if !is_header {
                    return Err(PrefixError::BadHeader {
                        file: file_name.to_owned(),
                        line,
                        found: quote(trimmed),
                    });
                }
                header_seen = true;
                continue;
            }
            let [prefix, brand, source] = fields[..] else {
                return Err(PrefixError::FieldCount {
                    file: file_name.to_owned(),
                    line,
                    found: fields.len(),
                });
            };
            if !(MIN_PREFIX_LEN..=MAX_PREFIX_LEN).contains(&prefix.len())
                || !prefix.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(PrefixError::BadPrefix {
                    file: file_name.to_owned(),
                    line,
                    prefix: quote(prefix),
                });
            }
            if brand.is_empty() {
                return Err(PrefixError::EmptyBrand {
                    file: file_name.to_owned(),
                    line,
                    prefix: prefix.to_owned(),
                });
            }
            // Two rows for one prefix in the same file is a mistake the author should see,
            // not a silent last-one-wins.
            if let Some(&first_line) = first_lines.get(prefix) {
                return Err(PrefixError::Duplicate {
                    file: file_name.to_owned(),
                    line,
                    prefix: prefix.to_owned(),
                    first_line,
                });
            }
            first_lines.insert(prefix.to_owned(), line);
            out.entries.insert(
                prefix.to_owned(),
                PrefixEntry {
                    prefix: prefix.to_owned(),
                    brand: brand.to_owned(),
                    source: source.to_owned(),
                },
            );
        }
        Ok(out)
    }

    /// Adds the entries of `other`; for a prefix both tables list, `other` wins, so a user
    /// file can correct a built-in row.
    pub fn extend(&mut self, other: GtinPrefixes) {
        self.entries.extend(other.entries);
    }

    /// The entry with the longest prefix matching a GTIN given as 8, 12, 13 or 14 digits
    /// (a GTIN-14 key works as well as the scanned value). GTIN-8s have their own prefix
    /// system and never match; anything that is not a GTIN matches nothing.
    pub fn lookup(&self, gtin: &str) -> Option<&PrefixEntry> {
        if !matches!(gtin.len(), 12..=14) || !gtin.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let gtin14 = to_gtin14(gtin);
        // Drop the indicator digit: what remains is the GTIN-13 form (for a GTIN-14 of a
        // case, the GTIN-13 digits with another check digit, which no prefix reaches).
        let gtin13 = gtin14.get(1..)?;
        (MIN_PREFIX_LEN..=MAX_PREFIX_LEN)
            .rev()
            .find_map(|len| self.entries.get(gtin13.get(..len)?))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All entries in prefix order.
    pub fn iter(&self) -> impl Iterator<Item = &PrefixEntry> {
        self.entries.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_cites_every_row() {
        let table = GtinPrefixes::parse(BUILTIN, BUILTIN_NAME);
        let table = match table {
            Ok(table) => table,
            Err(err) => panic!("built-in table: {err}"),
        };
        assert!(table.len() >= 4);
        assert_eq!(table, GtinPrefixes::builtin());
        for entry in table.iter() {
            assert!(!entry.source.is_empty(), "{entry:?} has no source");
        }
    }

    #[test]
    fn builtin_names_the_apple_box_of_domain_1_13() {
        let table = GtinPrefixes::builtin();
        // 0195949038440 is the DOMAIN.md 1.13 GTIN with its correct check digit.
        let hit = table.lookup("0195949038440").map(|e| e.brand.as_str());
        assert_eq!(hit, Some("Apple"));
        // The same GTIN as a UPC-A and as a GTIN-14 key.
        assert_eq!(
            table.lookup("195949038440").map(|e| e.brand.as_str()),
            Some("Apple")
        );
        assert_eq!(
            table.lookup("00195949038440").map(|e| e.brand.as_str()),
            Some("Apple")
        );
        assert_eq!(
            table.lookup("887276752815").map(|e| e.brand.as_str()),
            Some("Samsung")
        );
        // An unknown company, a GTIN-8 and junk match nothing.
        assert!(table.lookup("4006381333931").is_none());
        assert!(table.lookup("96385074").is_none());
        assert!(table.lookup("01959490384x0").is_none());
        assert!(table.lookup("").is_none());
    }

    #[test]
    fn longest_prefix_wins_and_gtin14_indicator_is_skipped() {
        let text = "prefix,brand,source\n0123,Wide,a\n0123456,Narrow,b\n";
        let table = GtinPrefixes::parse(text, "t.csv").unwrap_or_default();
        assert_eq!(table.len(), 2);
        assert_eq!(
            table.lookup("0123456000009").map(|e| e.brand.as_str()),
            Some("Narrow")
        );
        assert_eq!(
            table.lookup("0123999000005").map(|e| e.brand.as_str()),
            Some("Wide")
        );
        // A case GTIN-14 with indicator 1 carries the same company prefix.
        assert_eq!(
            table.lookup("10123456000006").map(|e| e.brand.as_str()),
            Some("Narrow")
        );
    }

    #[test]
    fn comments_blank_lines_quotes_and_commas_in_the_source() {
        let text = "\u{feff}# my prefixes\n\n  # indented comment\nPrefix, Brand, Source\n\"0842776\", \"Google\" ,seen on a box, in 2024\n";
        let table = GtinPrefixes::parse(text, "mine.csv").unwrap_or_default();
        let entry = table.lookup("842776000000").cloned();
        assert_eq!(
            entry,
            Some(PrefixEntry {
                prefix: "0842776".into(),
                brand: "Google".into(),
                source: "seen on a box, in 2024".into(),
            })
        );
        // A header alone is an empty table, not an error.
        assert_eq!(
            GtinPrefixes::parse("prefix,brand,source\n", "e.csv"),
            Ok(GtinPrefixes::default())
        );
        assert_eq!(
            GtinPrefixes::parse("", "e.csv"),
            Ok(GtinPrefixes::default())
        );
    }

    #[test]
    fn malformed_lines_name_file_line_and_problem() {
        let cases: [(&str, &str); 7] = [
            ("0190199,Apple,x\n", "f.csv:1: expected the header"),
            (
                "prefix,brand,source\n0190199,Apple\n",
                "f.csv:2: expected 3 fields",
            ),
            (
                "prefix,brand,source\n01901A9,Apple,x\n",
                "f.csv:2: prefix \"01901A9\" is not 4 to 12 digits",
            ),
            (
                "prefix,brand,source\n019,Apple,x\n",
                "f.csv:2: prefix \"019\"",
            ),
            (
                "prefix,brand,source\n0190199012345,Apple,x\n",
                "f.csv:2: prefix \"0190199012345\"",
            ),
            (
                "# c\nprefix,brand,source\n0190199, ,x\n",
                "f.csv:3: empty brand for prefix 0190199",
            ),
            (
                "prefix,brand,source\n0190199,Apple,x\n\n0190199,Samsung,y\n",
                "f.csv:4: prefix 0190199 is already listed on line 2",
            ),
        ];
        for (text, want) in cases {
            match GtinPrefixes::parse(text, "f.csv") {
                Ok(table) => panic!("{text:?} parsed as {table:?}"),
                Err(err) => assert!(err.to_string().starts_with(want), "{text:?}: {err}"),
            }
        }
    }

    #[test]
    fn untrusted_bytes_never_panic_and_errors_stay_short() {
        let long = "9".repeat(10_000);
        let text = format!("prefix,brand,source\n{long}é\u{0}\u{1b}[2J,X,y\n");
        match GtinPrefixes::parse(&text, "big.csv") {
            Ok(_) => panic!("accepted"),
            Err(err) => {
                let msg = err.to_string();
                assert!(msg.len() < 300, "{msg}");
                assert!(!msg.contains('\u{1b}'), "control characters are escaped");
            }
        }
        // A short prefix with an escape sequence is quoted with the escape made visible.
        match GtinPrefixes::parse("prefix,brand,source\n1\u{1b}[2J,X,y\n", "esc.csv") {
            Ok(_) => panic!("accepted"),
            Err(err) => assert!(err.to_string().contains("\\u{1b}"), "{err}"),
        }
        for text in [
            ",,,,,",
            "prefix,brand,source\n,,",
            "\u{0}\n\r\n\"",
            "prefix,brand,source\n\"",
            "é,é,é\n",
        ] {
            let _ = GtinPrefixes::parse(text, "junk.csv");
        }
    }

    #[test]
    fn extend_lets_the_user_file_win() {
        let mut table = GtinPrefixes::builtin();
        let before = table.len();
        let user = GtinPrefixes::parse(
            "prefix,brand,source\n0190199,Apple Inc.,my audit\n0842776,Google,my box\n",
            "user.csv",
        )
        .unwrap_or_default();
        table.extend(user);
        assert_eq!(table.len(), before + 1);
        assert_eq!(
            table.lookup("190199220676").map(|e| e.source.as_str()),
            Some("my audit")
        );
    }
}
