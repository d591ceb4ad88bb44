//! ANSI MH10.8.2 (ISO/IEC 15418) data identifiers and the ISO/IEC 15434 envelope around them.
//!
//! An envelope looks like "[)>" RS "06" GS field GS field ... RS EOT. Format 06 fields start with a
//! data identifier (DI) such as "1P" or "S"; format 05 fields hold GS1 element strings. Scanners
//! drop RS and GS independently, so the parser only insists on the "[)>" header and the two format
//! digits and then splits the rest on any run of GS, RS and EOT.

use thiserror::Error;

use super::gs1;

/// The title given to a syntactically valid data identifier that is not in the table.
pub const UNLISTED_TITLE: &str = "unlisted data identifier";

const GS: u8 = 0x1d;
const RS: u8 = 0x1e;
const EOT: u8 = 0x04;

/// One format 06 field: a data identifier and its value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DataField {
    pub di: String,
    pub title: &'static str,
    pub value: String,
}

/// The parsed content of an ISO/IEC 15434 envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Envelope {
    /// Format 06: data identifiers.
    Format06(Vec<DataField>),
    /// Format 05: GS1 application identifiers.
    Format05(Vec<super::gs1::Element>),
}

/// Why an envelope was rejected. Fields are numbered from 1; positions are zero-based character
/// offsets into the whole envelope.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DiError {
    #[error("not an iso/iec 15434 envelope: expected \"[)>\" at position 0")]
    MissingHeader,
    #[error("bad envelope header: expected a two-digit format number at position {pos}")]
    BadFormat { pos: usize },
    #[error("unsupported envelope format {format:?}")]
    UnsupportedFormat { format: String },
    #[error("envelope has no fields")]
    NoFields,
    #[error("empty value for data identifier {di} in field {field} at position {pos}")]
    EmptyField {
        field: usize,
        di: String,
        pos: usize,
    },
    #[error("field {field} at position {pos} does not start with a data identifier")]
    BadField { field: usize, pos: usize },
    // The GS1 error is part of this one-line message (a classification reason is shown and
    // stored whole), so it is a plain field, not a chained `source` that would print twice.
    #[error("in gs1 field {field} starting at position {pos}: {error}")]
    Gs1 {
        field: usize,
        pos: usize,
        error: gs1::Gs1Error,
    },
    /// A rule between elements of different format 05 fields, such as the same AI twice with
    /// different values.
    #[error("across the gs1 fields: {error}")]
    Gs1Fields { error: gs1::Gs1Error },
}

impl DiError {
    /// A stable snake_case reason code; for a GS1 field it is the inner GS1 code, so that the same
    /// defect gets the same code whether it came inside an envelope or not.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingHeader | Self::BadFormat { .. } => "di_bad_envelope",
            Self::UnsupportedFormat { .. } => "di_unsupported_format",
            Self::NoFields => "di_no_fields",
            Self::EmptyField { .. } => "di_empty_field",
            Self::BadField { .. } => "di_bad_field",
            Self::Gs1 { error, .. } | Self::Gs1Fields { error } => error.code(),
        }
    }
}

/// The title of a known data identifier, or None when it is not in the table.
pub fn di_title(di: &str) -> Option<&'static str> {
    Some(match di {
        "S" => "serial number",
        "1S" => "additional item id",
        "3S" => "package id (intermediate label)",
        "4S" => "package id (logistic label)",
        "5S" => "package id (mixed logistic label)",
        "P" => "customer part number",
        "1P" => "supplier part number",
        "2P" => "revision",
        "30P" => "distributor part number",
        "33P" => "bin",
        "Q" => "quantity",
        "7Q" => "weight",
        "13Q" => "package count",
        "1T" => "lot number",
        "4L" => "country of origin",
        "6D" => "ship date",
        "9D" => "date code (YYWW)",
        "10D" => "date code (YYWW)",
        "K" => "purchase order",
        "4K" => "purchase order line",
        "11K" => "packing list",
        "1V" => "manufacturer",
        "12V" => "manufacturer id",
        "E" => "rohs/environmental",
        _ => return None,
    })
}

/// The length of the data identifier at the start of `field`: 0-3 digits then one uppercase letter.
///
/// A DI always ends at its first letter, so taking every leading digit is the same as preferring
/// the longest identifier: "30PABC" can only be "30P", never "P" (which would need the field to
/// start with the letter), and "10D2401" can only be "10D". A fourth leading digit makes the field
/// not a DI at all.
fn di_len(field: &[u8]) -> Option<usize> {
    let digits = field
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits > 3 {
        return None;
    }
    field
        .get(digits)
        .is_some_and(u8::is_ascii_uppercase)
        .then_some(digits + 1)
}

/// Splits one field into its identifier and value, both possibly empty only in the value.
fn split_parts(field: &str) -> Option<(&str, &str)> {
    let len = di_len(field.as_bytes())?;
    // The identifier is ASCII, so `len` is a character boundary and the split cannot fail.
    Some((field.get(..len)?, field.get(len..)?))
}

/// Splits one field "30PABC" into its data identifier and value, matching the LONGEST known
/// identifier first ("30P" before "P", "1P" before "P", "10D" before "D"...). Syntax: 0-3 digits
/// then one uppercase letter. A syntactically valid but unlisted identifier is returned with title
/// "unlisted data identifier". None when the field does not start with DI syntax or the value is
/// empty.
pub fn split_di(field: &str) -> Option<DataField> {
    let (di, value) = split_parts(field)?;
    if value.is_empty() {
        return None;
    }
    Some(DataField {
        di: di.to_owned(),
        title: di_title(di).unwrap_or(UNLISTED_TITLE),
        value: value.to_owned(),
    })
}

/// True when `s` starts with "[)>".
pub fn is_envelope(s: &str) -> bool {
    s.starts_with("[)>")
}

fn is_separator(b: u8) -> bool {
    matches!(b, GS | RS | EOT)
}

/// The non-empty fields of `body` with their byte offsets, split on runs of GS, RS and EOT.
///
/// The separators are ASCII, so every split point is a character boundary.
fn split_fields(body: &str) -> impl Iterator<Item = (usize, &str)> {
    let bytes = body.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        while bytes.get(pos).copied().is_some_and(is_separator) {
            pos += 1;
        }
        let start = pos;
        while bytes.get(pos).is_some_and(|&b| !is_separator(b)) {
            pos += 1;
        }
        if start == pos {
            return None;
        }
        body.get(start..pos).map(|field| (start, field))
    })
}

/// The character offset of byte offset `byte` in `s`, computed only when an error is reported.
fn char_pos(s: &str, byte: usize) -> usize {
    s.get(..byte).map_or(byte, |prefix| prefix.chars().count())
}

/// Parses "[)>" RS "06" GS field GS field ... RS EOT. Tolerates a missing RS or GS anywhere
/// (scanners drop them independently), e.g. "[)>06" GS "S123" or "[)>" RS "06S123" with a missing
/// GS, a missing trailer, and runs of separators (split on [GS RS EOT]+).
pub fn parse_envelope(s: &str) -> Result<Envelope, DiError> {
    if !is_envelope(s) {
        return Err(DiError::MissingHeader);
    }
    let bytes = s.as_bytes();
    let mut pos = 3;
    if bytes.get(pos) == Some(&RS) {
        pos += 1;
    }
    let format = match bytes.get(pos..pos + 2) {
        Some(&[a, b]) if a.is_ascii_digit() && b.is_ascii_digit() => [a, b],
        _ => return Err(DiError::BadFormat { pos }),
    };
    let body_start = pos + 2;
    // Everything before `body_start` is ASCII, so it is a character boundary.
    let body = s.get(body_start..).unwrap_or_default();
    let envelope = match &format {
        b"06" => {
            let mut fields = Vec::new();
            for (index, (offset, field)) in split_fields(body).enumerate() {
                let at = body_start + offset;
                let Some((di, value)) = split_parts(field) else {
                    return Err(DiError::BadField {
                        field: index + 1,
                        pos: char_pos(s, at),
                    });
                };
                if value.is_empty() {
                    return Err(DiError::EmptyField {
                        field: index + 1,
                        di: di.to_owned(),
                        pos: char_pos(s, at),
                    });
                }
                fields.push(DataField {
                    di: di.to_owned(),
                    title: di_title(di).unwrap_or(UNLISTED_TITLE),
                    value: value.to_owned(),
                });
            }
            if fields.is_empty() {
                return Err(DiError::NoFields);
            }
            Envelope::Format06(fields)
        }
        b"05" => {
            // In format 05 the GS that separates fields is also the GS1 FNC1 separator, so each
            // piece is a complete element string and may hold several elements.
            let mut elements = Vec::new();
            for (index, (offset, field)) in split_fields(body).enumerate() {
                let parsed = gs1::parse(field).map_err(|error| DiError::Gs1 {
                    field: index + 1,
                    pos: char_pos(s, body_start + offset),
                    error,
                })?;
                elements.extend(parsed);
            }
            if elements.is_empty() {
                return Err(DiError::NoFields);
            }
            // Each field was checked on its own; the fields together form one element string, so
            // the rules between elements apply across fields too.
            gs1::check_combinations(&elements).map_err(|error| DiError::Gs1Fields { error })?;
            Envelope::Format05(elements)
        }
        _ => {
            return Err(DiError::UnsupportedFormat {
                format: format.iter().map(|&b| char::from(b)).collect(),
            });
        }
    };
    Ok(envelope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field(di: &str, value: &str) -> DataField {
        DataField {
            di: di.to_owned(),
            title: di_title(di).unwrap_or(UNLISTED_TITLE),
            value: value.to_owned(),
        }
    }

    /// The expected (identifier, title, value) of a field, or None when it must be rejected.
    type Expected = Option<(&'static str, &'static str, &'static str)>;

    fn code(r: Result<Envelope, DiError>) -> &'static str {
        match r {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn split_di_prefers_the_longest_identifier() {
        let cases: &[(&str, Expected)] = &[
            ("30PABC", Some(("30P", "distributor part number", "ABC"))),
            ("33PBIN-7", Some(("33P", "bin", "BIN-7"))),
            (
                "1PMQ3D2LL/A",
                Some(("1P", "supplier part number", "MQ3D2LL/A")),
            ),
            ("2PB", Some(("2P", "revision", "B"))),
            ("PABC", Some(("P", "customer part number", "ABC"))),
            ("P30ABC", Some(("P", "customer part number", "30ABC"))),
            ("10D2401", Some(("10D", "date code (YYWW)", "2401"))),
            ("9D2401", Some(("9D", "date code (YYWW)", "2401"))),
            ("6D20240131", Some(("6D", "ship date", "20240131"))),
            ("D2401", Some(("D", UNLISTED_TITLE, "2401"))),
            (
                "SC02XG1ABJGH5",
                Some(("S", "serial number", "C02XG1ABJGH5")),
            ),
            ("1SABC", Some(("1S", "additional item id", "ABC"))),
            (
                "3SPKG",
                Some(("3S", "package id (intermediate label)", "PKG")),
            ),
            ("4SPKG", Some(("4S", "package id (logistic label)", "PKG"))),
            (
                "5SPKG",
                Some(("5S", "package id (mixed logistic label)", "PKG")),
            ),
            ("Q100", Some(("Q", "quantity", "100"))),
            ("7Q1.5KG", Some(("7Q", "weight", "1.5KG"))),
            ("13Q4", Some(("13Q", "package count", "4"))),
            ("1TLOT9", Some(("1T", "lot number", "LOT9"))),
            ("4LCN", Some(("4L", "country of origin", "CN"))),
            ("KPO123", Some(("K", "purchase order", "PO123"))),
            ("4K10", Some(("4K", "purchase order line", "10"))),
            ("11KPL1", Some(("11K", "packing list", "PL1"))),
            ("1VACME", Some(("1V", "manufacturer", "ACME"))),
            (
                "12V123456789",
                Some(("12V", "manufacturer id", "123456789")),
            ),
            ("EROHS", Some(("E", "rohs/environmental", "ROHS"))),
            ("25SUN123", Some(("25S", UNLISTED_TITLE, "UN123"))),
            ("999Zx", Some(("999Z", UNLISTED_TITLE, "x"))),
            ("Sé", Some(("S", "serial number", "é"))),
            ("S", None),
            ("30P", None),
            ("10D", None),
            ("", None),
            ("1234P5", None),
            ("pABC", None),
            ("1", None),
            ("123", None),
            ("-S1", None),
            ("éS1", None),
            ("[)>", None),
        ];
        for &(input, want) in cases {
            let want = want.map(|(di, title, value)| DataField {
                di: di.to_owned(),
                title,
                value: value.to_owned(),
            });
            assert_eq!(split_di(input), want, "field {input:?}");
        }
    }

    #[test]
    fn envelope_variants() {
        let want = Envelope::Format06(vec![field("S", "123"), field("1P", "ABC"), field("Q", "5")]);
        let inputs = [
            "[)>\u{1e}06\u{1d}S123\u{1d}1PABC\u{1d}Q5\u{1e}\u{4}",
            // Missing RS after the header.
            "[)>06\u{1d}S123\u{1d}1PABC\u{1d}Q5\u{1e}\u{4}",
            // Missing GS after the format.
            "[)>\u{1e}06S123\u{1d}1PABC\u{1d}Q5\u{1e}\u{4}",
            // Missing trailer.
            "[)>\u{1e}06\u{1d}S123\u{1d}1PABC\u{1d}Q5",
            // Only EOT as trailer, or only RS.
            "[)>\u{1e}06\u{1d}S123\u{1d}1PABC\u{1d}Q5\u{4}",
            "[)>\u{1e}06\u{1d}S123\u{1d}1PABC\u{1d}Q5\u{1e}",
            // Runs of separators, and RS used where GS belongs.
            "[)>\u{1e}06\u{1d}\u{1d}S123\u{1e}\u{1d}1PABC\u{1e}Q5\u{1e}\u{4}\u{4}",
            // Both header separators missing.
            "[)>06S123\u{1d}1PABC\u{1d}Q5",
        ];
        for input in inputs {
            assert_eq!(parse_envelope(input), Ok(want.clone()), "input {input:?}");
        }
    }

    #[test]
    fn ecia_label() {
        let input = concat!(
            "[)>\u{1e}06\u{1d}K4500012345\u{1d}4K10\u{1d}P ABC-1\u{1d}",
            "1PLM358\u{1d}30PLM358DR\u{1d}33PB12\u{1d}Q250\u{1d}10D2401\u{1d}",
            "9D2352\u{1d}1TLOT-77\u{1d}4LMY\u{1d}13Q2\u{1d}7Q1.2\u{1d}",
            "11KPL9\u{1d}3S0001\u{1d}1VTI\u{1d}ERoHS\u{1d}6D20240105\u{1e}\u{4}",
        );
        let want = vec![
            field("K", "4500012345"),
            field("4K", "10"),
            field("P", " ABC-1"),
            field("1P", "LM358"),
            field("30P", "LM358DR"),
            field("33P", "B12"),
            field("Q", "250"),
            field("10D", "2401"),
            field("9D", "2352"),
            field("1T", "LOT-77"),
            field("4L", "MY"),
            field("13Q", "2"),
            field("7Q", "1.2"),
            field("11K", "PL9"),
            field("3S", "0001"),
            field("1V", "TI"),
            field("E", "RoHS"),
            field("6D", "20240105"),
        ];
        assert_eq!(parse_envelope(input), Ok(Envelope::Format06(want)));
    }

    #[test]
    fn format_05_holds_gs1_element_strings() {
        let gtin = gs1::Element {
            ai: "01".to_owned(),
            title: "GTIN",
            value: "09506000134352".to_owned(),
        };
        let batch = gs1::Element {
            ai: "10".to_owned(),
            title: "BATCH/LOT",
            value: "ABC".to_owned(),
        };
        let serial = gs1::Element {
            ai: "21".to_owned(),
            title: "SERIAL",
            value: "X1".to_owned(),
        };
        let want = Envelope::Format05(vec![gtin, batch, serial]);
        for input in [
            "[)>\u{1e}05\u{1d}010950600013435210ABC\u{1d}21X1\u{1e}\u{4}",
            "[)>05010950600013435210ABC\u{1d}21X1",
            "[)>\u{1e}05\u{1d}0109506000134352\u{1d}10ABC\u{1d}21X1\u{1e}\u{4}",
        ] {
            assert_eq!(parse_envelope(input), Ok(want.clone()), "input {input:?}");
        }
        let bad = parse_envelope("[)>\u{1e}05\u{1d}10ABC\u{1d}0109506000134353\u{1e}\u{4}");
        assert_eq!(
            bad,
            Err(DiError::Gs1 {
                field: 2,
                pos: 13,
                error: gs1::Gs1Error::BadCheckDigit {
                    ai: "01".to_owned(),
                    pos: 15,
                    expected: 2,
                    found: 3
                }
            })
        );
        assert_eq!(code(bad), "bad_check_digit");
        assert_eq!(
            code(parse_envelope("[)>\u{1e}05\u{1d}9\u{1e}\u{4}")),
            "gs1_unknown_ai"
        );
        assert_eq!(
            code(parse_envelope("[)>\u{1e}05\u{1d}\u{1e}\u{4}")),
            "di_no_fields"
        );
        // Rules between elements hold across fields as well as within one.
        assert_eq!(
            code(parse_envelope("[)>\u{1e}05\u{1d}21A\u{1d}21B\u{1e}\u{4}")),
            "gs1_duplicate_ai"
        );
        assert_eq!(
            code(parse_envelope(
                "[)>\u{1e}05\u{1d}0109506000134352\u{1d}3712\u{1e}\u{4}"
            )),
            "gs1_exclusive_ais"
        );
        assert_eq!(
            code(parse_envelope("[)>\u{1e}05\u{1d}21A\u{1d}21A\u{1e}\u{4}")),
            "ok"
        );
    }

    #[test]
    fn envelope_errors() {
        let cases: &[(&str, &str)] = &[
            ("", "di_bad_envelope"),
            ("S123", "di_bad_envelope"),
            ("[)", "di_bad_envelope"),
            ("[)>", "di_bad_envelope"),
            ("[)>\u{1e}", "di_bad_envelope"),
            ("[)>\u{1e}6", "di_bad_envelope"),
            ("[)>\u{1e}6\u{1d}S1", "di_bad_envelope"),
            ("[)>\u{1e}AB\u{1d}S1", "di_bad_envelope"),
            ("[)>\u{1e}\u{1e}06\u{1d}S1", "di_bad_envelope"),
            ("[)>\u{1d}06\u{1d}S1", "di_bad_envelope"),
            ("[)>\u{1e}é6", "di_bad_envelope"),
            ("[)>\u{1e}12\u{1d}S1", "di_unsupported_format"),
            ("[)>\u{1e}07\u{1d}S1", "di_unsupported_format"),
            ("[)>\u{1e}06", "di_no_fields"),
            ("[)>\u{1e}06\u{1d}\u{1e}\u{4}", "di_no_fields"),
            ("[)>\u{1e}06\u{1d}S\u{1e}\u{4}", "di_empty_field"),
            ("[)>\u{1e}06\u{1d}S1\u{1d}30P\u{1e}\u{4}", "di_empty_field"),
            ("[)>\u{1e}06\u{1d}hello\u{1e}\u{4}", "di_bad_field"),
            ("[)>\u{1e}06\u{1d}S1\u{1d}1234P5\u{1e}\u{4}", "di_bad_field"),
            ("[)>\u{1e}06\u{1d}S1\u{1d}é\u{1e}\u{4}", "di_bad_field"),
            ("[)>\u{1e}06\u{1d}S1\u{1e}\u{4}", "ok"),
        ];
        for &(input, want) in cases {
            assert_eq!(code(parse_envelope(input)), want, "input {input:?}");
        }
    }

    #[test]
    fn errors_say_what_and_where() {
        assert_eq!(
            parse_envelope("[)>\u{1e}12\u{1d}S1"),
            Err(DiError::UnsupportedFormat {
                format: "12".to_owned()
            })
        );
        assert_eq!(
            parse_envelope("[)>\u{1e}x"),
            Err(DiError::BadFormat { pos: 4 })
        );
        // The position counts characters, so the two-byte 'é' in the first field counts once.
        assert_eq!(
            parse_envelope("[)>\u{1e}06\u{1d}Sé\u{1d}1P\u{1e}\u{4}"),
            Err(DiError::EmptyField {
                field: 2,
                di: "1P".to_owned(),
                pos: 10
            })
        );
        assert_eq!(
            parse_envelope("[)>\u{1e}06\u{1d}S1\u{1d}x"),
            Err(DiError::BadField { field: 2, pos: 10 })
        );
        let errors = [
            DiError::MissingHeader,
            DiError::BadFormat { pos: 4 },
            DiError::UnsupportedFormat {
                format: "12".to_owned(),
            },
            DiError::NoFields,
            DiError::EmptyField {
                field: 2,
                di: "1P".to_owned(),
                pos: 10,
            },
            DiError::BadField { field: 2, pos: 10 },
            DiError::Gs1 {
                field: 1,
                pos: 6,
                error: gs1::Gs1Error::Empty,
            },
        ];
        for e in errors {
            let text = e.to_string();
            assert!(!text.contains('\n'), "{text}");
            assert!(text.starts_with(|c: char| c.is_ascii_lowercase()), "{text}");
        }
        assert_eq!(
            DiError::Gs1 {
                field: 1,
                pos: 6,
                error: gs1::Gs1Error::Empty
            }
            .to_string(),
            "in gs1 field 1 starting at position 6: empty gs1 element string"
        );
    }

    #[test]
    fn is_envelope_table() {
        assert!(is_envelope("[)>"));
        assert!(is_envelope("[)>\u{1e}06"));
        assert!(!is_envelope("[)"));
        assert!(!is_envelope(" [)>"));
        assert!(!is_envelope(""));
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            let _ = parse_envelope(&s);
            let _ = split_di(&s);
            let _ = parse_envelope(&format!("[)>\u{1e}06{s}"));
            let _ = parse_envelope(&format!("[)>\u{1e}05{s}"));
        }

        #[test]
        fn envelope_like_strings_never_panic(s in "[0-9()\u{1d}\u{1e}\u{4}A-Za-zé]{0,60}") {
            let _ = split_di(&s);
            let _ = parse_envelope(&s);
            for format in ["05", "06", "12"] {
                let _ = parse_envelope(&format!("[)>\u{1e}{format}{s}"));
                let _ = parse_envelope(&format!("[)>{format}\u{1d}{s}\u{1e}\u{4}"));
            }
        }

        #[test]
        fn split_di_agrees_with_its_parts(s in "[0-9]{0,4}[A-Z][ -~]{0,8}") {
            if let Some(f) = split_di(&s) {
                prop_assert_eq!(format!("{}{}", f.di, f.value), s.clone());
                prop_assert!(!f.value.is_empty());
                prop_assert!(f.di.len() <= 4);
            }
        }

        #[test]
        fn envelope_fields_survive_dropped_separators(
            values in proptest::collection::vec("[A-Z0-9]{1,10}", 1..5),
            drop_rs in any::<bool>(),
            drop_trailer in any::<bool>(),
        ) {
            // Each field gets a DI that cannot swallow its neighbour, so only the separators are
            // varied.
            let dis = ["S", "1P", "30P", "Q"];
            let mut text = String::from("[)>");
            if !drop_rs {
                text.push('\u{1e}');
            }
            text.push_str("06");
            let mut want = Vec::new();
            for (i, v) in values.iter().enumerate() {
                let di = dis.get(i % dis.len()).copied().unwrap_or("S");
                text.push('\u{1d}');
                text.push_str(di);
                text.push_str(v);
                want.push(field(di, v));
            }
            if !drop_trailer {
                text.push_str("\u{1e}\u{4}");
            }
            prop_assert_eq!(parse_envelope(&text), Ok(Envelope::Format06(want)));
        }
    }
}
