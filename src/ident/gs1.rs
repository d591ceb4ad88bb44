//! GS1 element strings: Application Identifiers (AIs) and their values.
//!
//! Two textual forms are handled. The raw form is what a scanner transmits for GS1-128, GS1
//! DataMatrix and GS1 QR: AIs and values concatenated, with FNC1 sent as the GS control character
//! (0x1D) after every variable-length value that is not last. The bracketed form is the
//! human-readable interpretation printed under a barcode, "(01)09506000134352(17)201231(10)ABC".
//!
//! The parsers work on bytes because every character that GS1 allows is ASCII; the first non-ASCII
//! byte is therefore always an error, and every position reported in an error is both a byte offset
//! and a character offset (zero-based) into the input.

use thiserror::Error;

use super::iso3166;

/// The GS control character, which carries FNC1 in decoded barcode text.
pub const GS: char = '\u{1d}';

/// The GS separator as a byte, for scanning without decoding characters.
const GS_BYTE: u8 = 0x1d;

/// One GS1 element: an Application Identifier and its value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Element {
    pub ai: String,
    pub title: &'static str,
    pub value: String,
}

/// Why an element string was rejected. Positions are zero-based character offsets into the parsed
/// text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Gs1Error {
    #[error("empty gs1 element string")]
    Empty,
    #[error("unknown application identifier {ai:?} at position {pos}")]
    UnknownAi { ai: String, pos: usize },
    #[error(
        "expected '(' followed by a 2-4 digit application identifier and ')' at position {pos}"
    )]
    NotBracketed { pos: usize },
    #[error("empty value for ai ({ai}) at position {pos}")]
    EmptyValue { ai: String, pos: usize },
    #[error("value for ai ({ai}) at position {pos} is too short: {len} characters, needs {min}")]
    TooShort {
        ai: String,
        pos: usize,
        len: usize,
        min: usize,
    },
    #[error("value for ai ({ai}) at position {pos} is too long: {len} characters, at most {max}")]
    TooLong {
        ai: String,
        pos: usize,
        len: usize,
        max: usize,
    },
    #[error("invalid character {ch:?} in value for ai ({ai}) at position {pos}")]
    BadChars { ai: String, pos: usize, ch: char },
    #[error(
        "grai for ai (8003) at position {pos} must start with the filler digit 0, found {ch:?}"
    )]
    GraiFiller { pos: usize, ch: char },
    #[error("bad check digit for ai ({ai}) at position {pos}: expected {expected}, found {found}")]
    BadCheckDigit {
        ai: String,
        pos: usize,
        expected: u8,
        found: u8,
    },
    #[error("invalid date {value:?} for ai ({ai}) at position {pos}")]
    BadDate {
        ai: String,
        pos: usize,
        value: String,
    },
    #[error(
        "country code {code:?} for ai ({ai}) at position {pos} is not an assigned iso 3166-1 numeric code"
    )]
    BadCountry {
        ai: String,
        pos: usize,
        code: String,
    },
    #[error(
        "value for ai ({ai}) at position {pos} must be a list of 3-digit country codes: {len} digits"
    )]
    CountryListLength { ai: String, pos: usize, len: usize },
    #[error(
        "value for ai ({ai}) at position {pos} must start with a gs1 company prefix of at least 4 digits, found {ch:?} at position {at}"
    )]
    CompanyPrefix {
        ai: String,
        pos: usize,
        at: usize,
        ch: char,
    },
    #[error("ai ({ai}) appears twice with different values {first:?} and {second:?}")]
    DuplicateAi {
        ai: String,
        first: String,
        second: String,
    },
    #[error("ai ({first}) and ai ({second}) must not appear together: {why}")]
    ExclusiveAis {
        first: String,
        second: String,
        why: &'static str,
    },
}

impl Gs1Error {
    /// A stable snake_case reason code for logs, the database and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty | Self::EmptyValue { .. } => "gs1_empty",
            Self::UnknownAi { .. } => "gs1_unknown_ai",
            Self::NotBracketed { .. } => "gs1_bad_brackets",
            Self::TooShort { .. } => "gs1_too_short",
            Self::TooLong { .. } => "gs1_too_long",
            Self::BadChars { .. } | Self::GraiFiller { .. } => "gs1_bad_chars",
            Self::BadCheckDigit { .. } => "bad_check_digit",
            Self::BadDate { .. } => "gs1_bad_date",
            Self::BadCountry { .. } => "gs1_bad_country",
            Self::CountryListLength { .. } => "gs1_bad_length",
            Self::CompanyPrefix { .. } => "gs1_bad_company_prefix",
            Self::DuplicateAi { .. } => "gs1_duplicate_ai",
            Self::ExclusiveAis { .. } => "gs1_exclusive_ais",
        }
    }
}

/// What a value may contain and which extra check applies to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Digits only.
    Numeric,
    /// Digits only, the last one a GS1 mod-10 check digit over all the others.
    CheckDigit,
    /// Six digits YYMMDD.
    Date,
    /// GS1 character set 82.
    Cset82,
    /// AI 8003: a filler 0, a 13-digit GRAI with check digit, then an optional serial from
    /// character set 82.
    Grai,
    /// Digits only, the first `n` of them a key whose last digit is a GS1 mod-10 check digit
    /// (the GCN of AI 255, the GTIN of AI 8006); the digits after the key are not checked.
    CheckedKey(usize),
    /// One ISO 3166-1 numeric country code, or a list of them (AIs 422 to 426).
    Countries,
    /// An ISO 3166-1 numeric country code, then a postal code from character set 82 (AI 421).
    CountryThenCset82,
    /// Character set 82 starting with a GS1 company prefix, of which at least the first 4
    /// characters are digits (AI 8004, GIAI).
    CompanyPrefixed,
}

/// The format of one AI's value.
#[derive(Debug, Clone, Copy)]
struct Spec {
    title: &'static str,
    kind: Kind,
    min: usize,
    max: usize,
    /// Predefined-length AIs never need an FNC1 after them, so a separator-less string stays
    /// parseable.
    predefined: bool,
}

const fn fixed(title: &'static str, kind: Kind, len: usize) -> Spec {
    Spec {
        title,
        kind,
        min: len,
        max: len,
        predefined: true,
    }
}

const fn var(title: &'static str, kind: Kind, min: usize, max: usize) -> Spec {
    Spec {
        title,
        kind,
        min,
        max,
        predefined: false,
    }
}

/// The GS1 title of a measure AI prefix (the first three digits of 310n-369n).
///
/// Only prefixes that GS1 actually assigns are listed, so for example 317n is an unknown AI rather
/// than a silently accepted six-digit number.
fn measure_title(prefix: [u8; 2]) -> Option<&'static str> {
    Some(match &prefix {
        b"10" => "NET WEIGHT (kg)",
        b"11" => "LENGTH (m)",
        b"12" => "WIDTH (m)",
        b"13" => "HEIGHT (m)",
        b"14" => "AREA (m2)",
        b"15" => "NET VOLUME (l)",
        b"16" => "NET VOLUME (m3)",
        b"20" => "NET WEIGHT (lb)",
        b"21" => "LENGTH (in)",
        b"22" => "LENGTH (ft)",
        b"23" => "LENGTH (yd)",
        b"24" => "WIDTH (in)",
        b"25" => "WIDTH (ft)",
        b"26" => "WIDTH (yd)",
        b"27" => "HEIGHT (in)",
        b"28" => "HEIGHT (ft)",
        b"29" => "HEIGHT (yd)",
        b"30" => "GROSS WEIGHT (kg)",
        b"31" => "LENGTH (m), log",
        b"32" => "WIDTH (m), log",
        b"33" => "HEIGHT (m), log",
        b"34" => "AREA (m2), log",
        b"35" => "VOLUME (l), log",
        b"36" => "VOLUME (m3), log",
        b"37" => "KG PER m2",
        b"40" => "GROSS WEIGHT (lb)",
        b"41" => "LENGTH (in), log",
        b"42" => "LENGTH (ft), log",
        b"43" => "LENGTH (yd), log",
        b"44" => "WIDTH (in), log",
        b"45" => "WIDTH (ft), log",
        b"46" => "WIDTH (yd), log",
        b"47" => "HEIGHT (in), log",
        b"48" => "HEIGHT (ft), log",
        b"49" => "HEIGHT (yd), log",
        b"50" => "AREA (in2)",
        b"51" => "AREA (ft2)",
        b"52" => "AREA (yd2)",
        b"53" => "AREA (in2), log",
        b"54" => "AREA (ft2), log",
        b"55" => "AREA (yd2), log",
        b"56" => "NET WEIGHT (t oz)",
        b"57" => "NET VOLUME (oz)",
        b"60" => "NET VOLUME (qt)",
        b"61" => "NET VOLUME (gal.)",
        b"62" => "VOLUME (qt), log",
        b"63" => "VOLUME (gal.), log",
        b"64" => "VOLUME (in3)",
        b"65" => "VOLUME (ft3)",
        b"66" => "VOLUME (yd3)",
        b"67" => "VOLUME (in3), log",
        b"68" => "VOLUME (ft3), log",
        b"69" => "VOLUME (yd3), log",
        _ => return None,
    })
}

/// Finds the AI at the start of `s`, trying 4 digits, then 3, then 2, and returns its length and
/// format.
///
/// GS1 assigns AIs so that no AI is a prefix of another, which is why a longest-first match over
/// the table is unambiguous. The arms are ordered longest first to implement exactly that.
fn lookup(s: &[u8]) -> Option<(usize, Spec)> {
    use Kind::{
        CheckDigit, CheckedKey, CompanyPrefixed, Countries, CountryThenCset82, Cset82, Date, Grai,
        Numeric,
    };
    // Measure AIs are looked up before the table because their titles depend on the second and
    // third digits; an unassigned measure prefix such as 317 falls through to the table, which
    // reports it as unknown.
    if let [b'3', a, b, b'0'..=b'5', ..] = s
        && let Some(title) = measure_title([*a, *b])
    {
        return Some((4, fixed(title, Numeric, 6)));
    }
    let found = match s {
        [b'8', b'0', b'0', b'3', ..] => (4, var("GRAI", Grai, 14, 30)),
        [b'8', b'0', b'0', b'4', ..] => (4, var("GIAI", CompanyPrefixed, 4, 30)),
        [b'8', b'0', b'0', b'6', ..] => (4, var("ITIP", CheckedKey(14), 18, 18)),
        [b'8', b'0', b'1', b'7', ..] => (4, var("GSRN - PROVIDER", CheckDigit, 18, 18)),
        [b'8', b'0', b'1', b'8', ..] => (4, var("GSRN - RECIPIENT", CheckDigit, 18, 18)),
        [b'8', b'1', b'1', b'1', ..] => (4, var("POINTS", Numeric, 4, 4)),
        // Amounts and prices: the fourth digit is the number of decimals. 391n and 393n start
        // with an ISO 4217 currency code, which is taken as three digits without a table.
        [b'3', b'9', b'0', b'0'..=b'9', ..] => (4, var("AMOUNT", Numeric, 1, 15)),
        [b'3', b'9', b'1', b'0'..=b'9', ..] => (4, var("AMOUNT", Numeric, 4, 18)),
        [b'3', b'9', b'2', b'0'..=b'9', ..] => (4, var("PRICE", Numeric, 1, 15)),
        [b'3', b'9', b'3', b'0'..=b'9', ..] => (4, var("PRICE", Numeric, 4, 18)),
        [b'3', b'9', b'4', b'0'..=b'3', ..] => (4, var("PRCNT OFF", Numeric, 4, 4)),
        [b'2', b'4', b'0', ..] => (3, var("ADDITIONAL ID", Cset82, 1, 30)),
        [b'2', b'4', b'1', ..] => (3, var("CUST. PART No.", Cset82, 1, 30)),
        [b'2', b'5', b'0', ..] => (3, var("SECONDARY SERIAL", Cset82, 1, 30)),
        [b'2', b'5', b'1', ..] => (3, var("REF. TO SOURCE", Cset82, 1, 30)),
        [b'2', b'5', b'5', ..] => (3, var("GCN", CheckedKey(13), 13, 25)),
        [b'4', b'0', b'0', ..] => (3, var("ORDER NUMBER", Cset82, 1, 30)),
        [b'4', b'1', n @ b'0'..=b'7', ..] => {
            let title = match n {
                b'0' => "SHIP TO LOC",
                b'1' => "BILL TO",
                b'2' => "PURCHASE FROM",
                b'3' => "SHIP FOR LOC",
                b'4' => "LOC No",
                b'5' => "PAY TO",
                b'6' => "PROD/SERV LOC",
                _ => "PARTY",
            };
            (3, fixed(title, CheckDigit, 13))
        }
        [b'4', b'2', b'0', ..] => (3, var("SHIP TO POST", Cset82, 1, 20)),
        [b'4', b'2', b'1', ..] => (3, var("SHIP TO POST", CountryThenCset82, 4, 12)),
        [b'4', b'2', b'2', ..] => (3, var("ORIGIN", Countries, 3, 3)),
        [b'4', b'2', b'3', ..] => (3, var("COUNTRY - INITIAL PROCESS", Countries, 3, 15)),
        [b'4', b'2', b'4', ..] => (3, var("COUNTRY - PROCESS", Countries, 3, 3)),
        [b'4', b'2', b'5', ..] => (3, var("COUNTRY - DISASSEMBLY", Countries, 3, 15)),
        [b'4', b'2', b'6', ..] => (3, var("COUNTRY - FULL PROCESS", Countries, 3, 3)),
        [b'0', b'0', ..] => (2, fixed("SSCC", CheckDigit, 18)),
        [b'0', b'1', ..] => (2, fixed("GTIN", CheckDigit, 14)),
        [b'0', b'2', ..] => (2, fixed("CONTENT", CheckDigit, 14)),
        [b'1', b'0', ..] => (2, var("BATCH/LOT", Cset82, 1, 20)),
        [b'1', b'1', ..] => (2, fixed("PROD DATE", Date, 6)),
        [b'1', b'2', ..] => (2, fixed("DUE DATE", Date, 6)),
        [b'1', b'3', ..] => (2, fixed("PACK DATE", Date, 6)),
        [b'1', b'5', ..] => (2, fixed("BEST BEFORE or BEST BY", Date, 6)),
        [b'1', b'6', ..] => (2, fixed("SELL BY", Date, 6)),
        [b'1', b'7', ..] => (2, fixed("USE BY OR EXPIRY", Date, 6)),
        [b'2', b'0', ..] => (2, fixed("VARIANT", Numeric, 2)),
        [b'2', b'1', ..] => (2, var("SERIAL", Cset82, 1, 20)),
        [b'2', b'2', ..] => (2, var("CPV", Cset82, 1, 20)),
        [b'3', b'0', ..] => (2, var("VAR. COUNT", Numeric, 1, 8)),
        [b'3', b'7', ..] => (2, var("COUNT", Numeric, 1, 8)),
        [b'9', b'0', ..] => (2, var("INTERNAL", Cset82, 1, 30)),
        [b'9', b'1'..=b'9', ..] => (2, var("INTERNAL", Cset82, 1, 90)),
        _ => return None,
    };
    Some(found)
}

/// The title of a known AI, or None when `ai` is not exactly one AI of the table.
pub fn ai_title(ai: &str) -> Option<&'static str> {
    lookup(ai.as_bytes()).and_then(|(len, spec)| (len == ai.len()).then_some(spec.title))
}

/// True when `ai` is a known AI of predefined length, which needs no separator after its value.
pub fn is_predefined_length(ai: &str) -> bool {
    lookup(ai.as_bytes()).is_some_and(|(len, spec)| len == ai.len() && spec.predefined)
}

/// True for the 82 characters that GS1 allows in alphanumeric values.
fn is_cset82(b: u8) -> bool {
    matches!(b, b'!' | b'"' | b'%'..=b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

/// GS1 mod-10 check digit over a digit payload (weights 3,1,3,... from the rightmost payload
/// digit); None if not all digits.
///
/// An empty payload also gives None, so that a caller that strips the last digit of a one-character
/// string never sees that string accepted as a valid code.
pub fn check_digit(payload: &str) -> Option<u8> {
    check_digit_bytes(payload.as_bytes())
}

fn check_digit_bytes(payload: &[u8]) -> Option<u8> {
    if payload.is_empty() {
        return None;
    }
    let mut sum: u32 = 0;
    for (i, &b) in payload.iter().rev().enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        let weight = if i % 2 == 0 { 3 } else { 1 };
        // Reducing modulo 10 at every step keeps the sum bounded for arbitrarily long input.
        sum = (sum + weight * u32::from(b - b'0')) % 10;
    }
    // The sum is below 10, so the narrowing cannot lose information.
    Some(((10 - sum) % 10) as u8)
}

/// The character at byte offset `pos`, for error messages; a replacement character if there is
/// none.
fn char_at(data: &str, pos: usize) -> char {
    data.get(pos..)
        .and_then(|rest| rest.chars().next())
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Checks a check-digit payload whose digits were already validated; `pos` is where the payload
/// starts.
fn verify_check(ai: &str, digits: &[u8], pos: usize) -> Result<(), Gs1Error> {
    let Some((&last, payload)) = digits.split_last() else {
        return Ok(());
    };
    let found = last.wrapping_sub(b'0');
    match check_digit_bytes(payload) {
        Some(expected) if expected != found => Err(Gs1Error::BadCheckDigit {
            ai: ai.to_owned(),
            pos: pos + payload.len(),
            expected,
            found,
        }),
        _ => Ok(()),
    }
}

/// Validates YYMMDD digits. DD=00 means the last day of the month and is accepted for every month.
///
/// YY is read as 2000+YY for the leap-year rule, so 29 February is valid exactly when YY is
/// divisible by 4. GS1's sliding century window maps YY into roughly the 50 years either side of
/// today, and within that window the only century year is 2000, which is a leap year, so the rule
/// agrees with the window.
fn valid_date(d: &[u8]) -> bool {
    let [y1, y2, m1, m2, d1, d2] = d else {
        return false;
    };
    let num =
        |a: &u8, b: &u8| u32::from(a.wrapping_sub(b'0')) * 10 + u32::from(b.wrapping_sub(b'0'));
    let (year, month, day) = (num(y1, y2), num(m1, m2), num(d1, d2));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 => 29,
        2 => 28,
        _ => return false,
    };
    day <= days
}

/// Checks that three digits are an assigned ISO 3166-1 numeric country code; `pos` is where they
/// start.
fn check_country(ai: &str, code: &[u8], pos: usize) -> Result<(), Gs1Error> {
    let text = String::from_utf8_lossy(code);
    if iso3166::is_assigned(&text) {
        Ok(())
    } else {
        Err(Gs1Error::BadCountry {
            ai: ai.to_owned(),
            pos,
            code: text.into_owned(),
        })
    }
}

/// Validates the value `data[start..end]` of `ai` against `spec` and returns it.
fn validate<'a>(
    ai: &str,
    spec: Spec,
    data: &'a str,
    start: usize,
    end: usize,
) -> Result<&'a str, Gs1Error> {
    let bytes = data.as_bytes().get(start..end).unwrap_or_default();
    // Characters are checked before lengths so that a non-ASCII byte is reported as what it is, and
    // so that every later position is known to follow only ASCII (byte offset equals character
    // offset).
    for (i, &b) in bytes.iter().enumerate() {
        let ok = match spec.kind {
            Kind::Cset82 | Kind::CompanyPrefixed => is_cset82(b),
            Kind::Grai if i >= 14 => is_cset82(b),
            Kind::CountryThenCset82 if i >= 3 => is_cset82(b),
            _ => b.is_ascii_digit(),
        };
        if !ok {
            return Err(Gs1Error::BadChars {
                ai: ai.to_owned(),
                pos: start + i,
                ch: char_at(data, start + i),
            });
        }
    }
    let len = bytes.len();
    if len == 0 {
        return Err(Gs1Error::EmptyValue {
            ai: ai.to_owned(),
            pos: start,
        });
    }
    if len < spec.min {
        return Err(Gs1Error::TooShort {
            ai: ai.to_owned(),
            pos: start,
            len,
            min: spec.min,
        });
    }
    if len > spec.max {
        return Err(Gs1Error::TooLong {
            ai: ai.to_owned(),
            pos: start,
            len,
            max: spec.max,
        });
    }
    match spec.kind {
        Kind::CheckDigit => verify_check(ai, bytes, start)?,
        Kind::Date if !valid_date(bytes) => {
            return Err(Gs1Error::BadDate {
                ai: ai.to_owned(),
                pos: start,
                value: String::from_utf8_lossy(bytes).into_owned(),
            });
        }
        Kind::Grai => {
            // The GRAI proper is the 13 digits after the filler; its check digit ignores the
            // filler.
            if let Some(&first) = bytes.first()
                && first != b'0'
            {
                return Err(Gs1Error::GraiFiller {
                    pos: start,
                    ch: char::from(first),
                });
            }
            verify_check(ai, bytes.get(1..14).unwrap_or_default(), start + 1)?;
        }
        Kind::CheckedKey(n) => verify_check(ai, bytes.get(..n).unwrap_or_default(), start)?,
        Kind::Countries => {
            // 423 and 425 hold up to five codes; the length range of the spec bounds the count.
            if len % 3 != 0 {
                return Err(Gs1Error::CountryListLength {
                    ai: ai.to_owned(),
                    pos: start,
                    len,
                });
            }
            for (i, code) in bytes.chunks(3).enumerate() {
                check_country(ai, code, start + 3 * i)?;
            }
        }
        Kind::CountryThenCset82 => check_country(ai, bytes.get(..3).unwrap_or_default(), start)?,
        Kind::CompanyPrefixed => {
            // GS1 company prefixes have 4 to 12 digits, so the first 4 characters of a key that
            // starts with one are always digits; a letter there means a misprint or a made-up code.
            if let Some(i) = bytes.iter().take(4).position(|b| !b.is_ascii_digit()) {
                return Err(Gs1Error::CompanyPrefix {
                    ai: ai.to_owned(),
                    pos: start,
                    at: start + i,
                    ch: char_at(data, start + i),
                });
            }
        }
        _ => {}
    }
    // Every byte was checked to be ASCII above, so both ends are character boundaries and this
    // cannot fail.
    data.get(start..end).ok_or_else(|| Gs1Error::BadChars {
        ai: ai.to_owned(),
        pos: start,
        ch: char_at(data, start),
    })
}

/// The error for an AI that is not in the table, naming up to four characters found at `pos`.
fn unknown_ai(data: &str, pos: usize, max_chars: usize) -> Gs1Error {
    Gs1Error::UnknownAi {
        ai: data
            .get(pos..)
            .unwrap_or_default()
            .chars()
            .take(max_chars)
            .collect(),
        pos,
    }
}

/// Parses the raw form: AIs concatenated, FNC1 transmitted as GS (0x1D) after variable-length AIs.
/// A leading GS (FNC1 in first position) is tolerated, and so is a GS after a fixed-length element.
///
/// Runs of GS between elements and a trailing GS are skipped as well, because scanners and keyboard
/// wedges emit them and they carry no information.
pub fn parse(data: &str) -> Result<Vec<Element>, Gs1Error> {
    let bytes = data.as_bytes();
    let mut elements = Vec::new();
    let mut pos = 0;
    loop {
        while bytes.get(pos) == Some(&GS_BYTE) {
            pos += 1;
        }
        let rest = bytes.get(pos..).unwrap_or_default();
        if rest.is_empty() {
            break;
        }
        let (ai_len, spec) = lookup(rest).ok_or_else(|| unknown_ai(data, pos, 4))?;
        // The AI matched ASCII digits, so this slice is on character boundaries.
        let ai = data
            .get(pos..pos + ai_len)
            .ok_or_else(|| unknown_ai(data, pos, 4))?;
        let start = pos + ai_len;
        let tail = rest.get(ai_len..).unwrap_or_default();
        let len = if spec.predefined {
            // A predefined-length value ends after its length even without a separator; a GS inside
            // it means the value was cut short, which `validate` reports as too short.
            tail.iter()
                .take(spec.max)
                .take_while(|&&b| b != GS_BYTE)
                .count()
        } else {
            tail.iter()
                .position(|&b| b == GS_BYTE)
                .unwrap_or(tail.len())
        };
        let value = validate(ai, spec, data, start, start + len)?;
        elements.push(Element {
            ai: ai.to_owned(),
            title: spec.title,
            value: value.to_owned(),
        });
        pos = start + len;
    }
    if elements.is_empty() {
        return Err(Gs1Error::Empty);
    }
    check_combinations(&elements)?;
    Ok(elements)
}

/// The number of AI digits when `bytes[pos..]` starts with '(' + 2-4 digits + ')'.
fn bracket_at(bytes: &[u8], pos: usize) -> Option<usize> {
    let rest = bytes.get(pos..)?;
    let (&open, after) = rest.split_first()?;
    if open != b'(' {
        return None;
    }
    let digits = after
        .iter()
        .take(5)
        .take_while(|b| b.is_ascii_digit())
        .count();
    ((2..=4).contains(&digits) && after.get(digits) == Some(&b')')).then_some(digits)
}

/// True when `s` starts like a bracketed element string: '(' + 2-4 digits + ')'.
pub fn looks_bracketed(s: &str) -> bool {
    bracket_at(s.as_bytes(), 0).is_some()
}

/// Parses the human-readable bracketed form "(01)09506000134352(17)201231(10)ABC".
///
/// A '(' followed by 2-4 digits and ')' always starts the next element, even inside an alphanumeric
/// value where GS1 would allow it; printed labels practically never contain such text, and reading
/// it as a boundary keeps the parser linear and predictable.
pub fn parse_bracketed(s: &str) -> Result<Vec<Element>, Gs1Error> {
    let bytes = s.as_bytes();
    if bytes.is_empty() {
        return Err(Gs1Error::Empty);
    }
    let mut elements = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let digits = bracket_at(bytes, pos).ok_or(Gs1Error::NotBracketed { pos })?;
        let ai_start = pos + 1;
        let ai_end = ai_start + digits;
        let ai_bytes = bytes.get(ai_start..ai_end).unwrap_or_default();
        let spec = match lookup(ai_bytes) {
            Some((len, spec)) if len == digits => spec,
            _ => return Err(unknown_ai(s, ai_start, digits)),
        };
        let ai = s
            .get(ai_start..ai_end)
            .ok_or_else(|| unknown_ai(s, ai_start, digits))?;
        let start = ai_end + 1;
        let end = (start..bytes.len())
            .find(|&i| bracket_at(bytes, i).is_some())
            .unwrap_or(bytes.len());
        let value = validate(ai, spec, s, start, end)?;
        elements.push(Element {
            ai: ai.to_owned(),
            title: spec.title,
            value: value.to_owned(),
        });
        pos = end;
    }
    check_combinations(&elements)?;
    Ok(elements)
}

/// Pairs of AIs that must not appear in one element string, from the "invalid pairs of element
/// strings" of the GS1 General Specifications (the `ex=` attributes of the GS1 Barcode Syntax
/// Dictionary). A trailing `n` stands for any last digit, so `390n` covers 3900 to 3909.
///
/// Only pairs whose AIs are both in the table above are listed: a pair with an AI the parser does
/// not know can never be seen, because that AI is rejected first.
const EXCLUSIVE: &[(&str, &str, &str)] = &[
    (
        "01",
        "02",
        "a trade item's GTIN and the GTIN of the items a logistic unit contains",
    ),
    (
        "01",
        "37",
        "a count of contained items belongs with (02), not (01)",
    ),
    ("01", "255", "a trade item and a coupon"),
    ("02", "255", "a logistic unit's content and a coupon"),
    ("01", "8006", "a whole trade item and one of its pieces"),
    (
        "37",
        "8006",
        "a count of contained items and one piece of a trade item",
    ),
    ("255", "8006", "a coupon and a piece of a trade item"),
    ("420", "421", "two ship-to postal codes"),
    (
        "422",
        "426",
        "a country of origin and a country covering the whole process",
    ),
    (
        "423",
        "426",
        "a country of initial processing and one covering the whole process",
    ),
    (
        "424",
        "426",
        "a country of processing and one covering the whole process",
    ),
    (
        "425",
        "426",
        "a country of disassembly and one covering the whole process",
    ),
    (
        "8017",
        "8018",
        "a service relation as provider and as recipient",
    ),
    (
        "390n",
        "391n",
        "an amount payable with and without a currency",
    ),
    ("390n", "394n", "an amount off and a percentage off"),
    ("390n", "8111", "an amount off and loyalty points"),
    ("394n", "8111", "a percentage off and loyalty points"),
    ("392n", "393n", "a price with and without a currency"),
];

/// True when `ai` matches `pattern`, where a trailing `n` in the pattern matches any digit.
fn ai_matches(pattern: &str, ai: &str) -> bool {
    match pattern.strip_suffix('n') {
        Some(stem) => {
            ai.len() == pattern.len()
                && ai.starts_with(stem)
                && ai.bytes().last().is_some_and(|b| b.is_ascii_digit())
        }
        None => ai == pattern,
    }
}

/// Why two different AIs must not appear together, or `None` when they may.
fn exclusive(a: &str, b: &str) -> Option<&'static str> {
    // A measure, amount or price given twice with different decimal positions (3102 and 3103) is
    // one quantity stated twice; GS1 excludes every such pair within one family (`ex=310n`).
    // The four-digit AIs starting with 3 are the measures (predefined length) and the amounts and
    // prices of 390n to 394n; their first three digits name the quantity.
    let family = |ai: &str| {
        ai.len() == 4 && ai.starts_with('3') && (is_predefined_length(ai) || ai.starts_with("39"))
    };
    if family(a) && family(b) && a.get(..3) == b.get(..3) {
        return Some("the same quantity with two decimal positions");
    }
    EXCLUSIVE.iter().find_map(|&(x, y, why)| {
        ((ai_matches(x, a) && ai_matches(y, b)) || (ai_matches(x, b) && ai_matches(y, a)))
            .then_some(why)
    })
}

/// Checks the rules that concern several elements of one element string: an AI given twice must
/// carry the same value both times, and mutually exclusive AIs must not meet.
///
/// The first offending pair in the order of the elements is reported.
pub fn check_combinations(elements: &[Element]) -> Result<(), Gs1Error> {
    for (i, first) in elements.iter().enumerate() {
        for second in elements.iter().skip(i + 1) {
            if first.ai == second.ai {
                // The same AI twice with the same value says nothing new, so GS1 allows it.
                if first.value != second.value {
                    return Err(Gs1Error::DuplicateAi {
                        ai: first.ai.clone(),
                        first: first.value.clone(),
                        second: second.value.clone(),
                    });
                }
            } else if let Some(why) = exclusive(&first.ai, &second.ai) {
                return Err(Gs1Error::ExclusiveAis {
                    first: first.ai.clone(),
                    second: second.ai.clone(),
                    why,
                });
            }
        }
    }
    Ok(())
}

/// The raw form with GS after every variable-length element except the last.
///
/// An AI that is not in the table is treated as variable length, because a separator after it is
/// always safe while a missing one could merge it with the next element.
pub fn to_raw(elements: &[Element]) -> String {
    let capacity = elements
        .iter()
        .map(|e| e.ai.len() + e.value.len() + 1)
        .sum();
    let mut out = String::with_capacity(capacity);
    for (i, e) in elements.iter().enumerate() {
        out.push_str(&e.ai);
        out.push_str(&e.value);
        if i + 1 < elements.len() && !is_predefined_length(&e.ai) {
            out.push(GS);
        }
    }
    out
}

/// The bracketed form.
pub fn to_bracketed(elements: &[Element]) -> String {
    let capacity = elements
        .iter()
        .map(|e| e.ai.len() + e.value.len() + 2)
        .sum();
    let mut out = String::with_capacity(capacity);
    for e in elements {
        out.push('(');
        out.push_str(&e.ai);
        out.push(')');
        out.push_str(&e.value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds an element the way the parser would, with the table title.
    fn el(ai: &str, value: &str) -> Element {
        Element {
            ai: ai.to_owned(),
            title: ai_title(ai).unwrap_or("not in the table"),
            value: value.to_owned(),
        }
    }

    fn code(r: Result<Vec<Element>, Gs1Error>) -> &'static str {
        match r {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    const GTIN: &str = "09506000134352";

    #[test]
    fn check_digit_vectors() {
        let cases: &[(&str, Option<u8>)] = &[
            ("400638133393", Some(1)),
            ("0950600013435", Some(2)),
            ("10614141123456789", Some(7)),
            ("950110102001", Some(6)),
            ("0", Some(0)),
            ("", None),
            ("12a4", None),
            ("١٢٣", None),
            (" 123", None),
        ];
        for &(payload, want) in cases {
            assert_eq!(check_digit(payload), want, "payload {payload:?}");
        }
    }

    #[test]
    fn domain_example_without_separators() {
        let raw = concat!("0109506000134352", "17201231", "10ABC123");
        assert_eq!(
            parse(raw),
            Ok(vec![el("01", GTIN), el("17", "201231"), el("10", "ABC123")])
        );
        assert_eq!(
            parse("(01)09506000134352(17)201231(10)ABC"),
            Err(Gs1Error::UnknownAi {
                ai: "(01)".to_owned(),
                pos: 0
            })
        );
        assert_eq!(
            parse_bracketed("(01)09506000134352(17)201231(10)ABC"),
            Ok(vec![el("01", GTIN), el("17", "201231"), el("10", "ABC")])
        );
    }

    #[test]
    fn titles_come_from_the_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("01", Some("GTIN")),
            ("00", Some("SSCC")),
            ("10", Some("BATCH/LOT")),
            ("17", Some("USE BY OR EXPIRY")),
            ("241", Some("CUST. PART No.")),
            ("8003", Some("GRAI")),
            ("8004", Some("GIAI")),
            ("3103", Some("NET WEIGHT (kg)")),
            ("3695", Some("VOLUME (yd3), log")),
            ("95", Some("INTERNAL")),
            ("422", Some("ORIGIN")),
            ("421", Some("SHIP TO POST")),
            ("426", Some("COUNTRY - FULL PROCESS")),
            ("255", Some("GCN")),
            ("8006", Some("ITIP")),
            ("8018", Some("GSRN - RECIPIENT")),
            ("3925", Some("PRICE")),
            ("3106", None),
            ("3170", None),
            ("011", None),
            ("14", None),
            ("", None),
            ("0", None),
        ];
        for &(ai, want) in cases {
            assert_eq!(ai_title(ai), want, "ai {ai:?}");
        }
    }

    #[test]
    fn predefined_lengths() {
        for ai in [
            "00", "01", "02", "11", "17", "20", "3100", "3695", "410", "417",
        ] {
            assert!(is_predefined_length(ai), "{ai} should be predefined");
        }
        for ai in [
            "10", "21", "22", "240", "255", "30", "37", "3901", "420", "421", "422", "423", "8003",
            "8004", "8006", "8018", "90", "99", "03", "x",
        ] {
            assert!(!is_predefined_length(ai), "{ai} should not be predefined");
        }
    }

    #[test]
    fn raw_table() {
        let gs = GS;
        let ok: &[(String, Vec<Element>)] = &[
            (
                format!("01{GTIN}10ABC{gs}21XYZ"),
                vec![el("01", GTIN), el("10", "ABC"), el("21", "XYZ")],
            ),
            (
                format!("{gs}01{GTIN}10ABC"),
                vec![el("01", GTIN), el("10", "ABC")],
            ),
            (
                format!("01{GTIN}{gs}10ABC"),
                vec![el("01", GTIN), el("10", "ABC")],
            ),
            (format!("10ABC{gs}"), vec![el("10", "ABC")]),
            (
                format!("10ABC{gs}{gs}21X"),
                vec![el("10", "ABC"), el("21", "X")],
            ),
            // A variable-length value without a separator runs on to the end, which is the only
            // reading.
            ("10ABC21XYZ".to_owned(), vec![el("10", "ABC21XYZ")]),
            (
                "00106141411234567897".to_owned(),
                vec![el("00", "106141411234567897")],
            ),
            (
                format!("02{GTIN}37120"),
                vec![el("02", GTIN), el("37", "120")],
            ),
            (
                "2001113103003103001250".to_owned(),
                vec![el("20", "01"), el("11", "310300"), el("3103", "001250")],
            ),
            (
                "41095011010200164149501101020016".to_owned(),
                vec![el("410", "9501101020016"), el("414", "9501101020016")],
            ),
            (
                format!("422276{gs}30123"),
                vec![el("422", "276"), el("30", "123")],
            ),
            (
                "800309506000012346ABC".to_owned(),
                vec![el("8003", "09506000012346ABC")],
            ),
            (
                "800309506000012346".to_owned(),
                vec![el("8003", "09506000012346")],
            ),
            (
                format!("240AB-1/2{gs}241C.D{gs}250S(1){gs}251R{gs}400PO*9{gs}80049506G%"),
                vec![
                    el("240", "AB-1/2"),
                    el("241", "C.D"),
                    el("250", "S(1)"),
                    el("251", "R"),
                    el("400", "PO*9"),
                    el("8004", "9506G%"),
                ],
            ),
            (
                format!("90{}", "a".repeat(30)),
                vec![el("90", &"a".repeat(30))],
            ),
            (
                format!("91{}", "Z".repeat(90)),
                vec![el("91", &"Z".repeat(90))],
            ),
            (
                format!("10{}", "_".repeat(20)),
                vec![el("10", &"_".repeat(20))],
            ),
            (
                "22!\"%&'()*+,-./:;<=>?".to_owned(),
                vec![el("22", "!\"%&'()*+,-./:;<=>?")],
            ),
        ];
        for (input, want) in ok {
            assert_eq!(parse(input).as_ref(), Ok(want), "input {input:?}");
        }
    }

    #[test]
    fn raw_error_table() {
        let gs = GS;
        let cases: &[(String, &str)] = &[
            (String::new(), "gs1_empty"),
            (format!("{gs}{gs}"), "gs1_empty"),
            (format!("10{gs}21X"), "gs1_empty"),
            ("10".to_owned(), "gs1_empty"),
            ("0109506000134353".to_owned(), "bad_check_digit"),
            ("00106141411234567890".to_owned(), "bad_check_digit"),
            ("4109501101020017".to_owned(), "bad_check_digit"),
            ("800309506000012347".to_owned(), "bad_check_digit"),
            ("800319506000012346".to_owned(), "gs1_bad_chars"),
            ("80030950600001234".to_owned(), "gs1_too_short"),
            (
                format!("800309506000012346{}", "A".repeat(17)),
                "gs1_too_long",
            ),
            ("010950600013435".to_owned(), "gs1_too_short"),
            (format!("0109506{gs}10A"), "gs1_too_short"),
            ("01095060001343A2".to_owned(), "gs1_bad_chars"),
            (format!("10{}", "A".repeat(21)), "gs1_too_long"),
            (format!("21{}{gs}10A", "A".repeat(21)), "gs1_too_long"),
            (format!("90{}", "a".repeat(31)), "gs1_too_long"),
            (format!("91{}", "Z".repeat(91)), "gs1_too_long"),
            ("3712345678".to_owned(), "ok"),
            ("37123456789".to_owned(), "gs1_too_long"),
            ("3712A".to_owned(), "gs1_bad_chars"),
            ("42227".to_owned(), "gs1_too_short"),
            ("4222760".to_owned(), "gs1_too_long"),
            ("10AB C".to_owned(), "gs1_bad_chars"),
            ("10AB#".to_owned(), "gs1_bad_chars"),
            ("10ABé".to_owned(), "gs1_bad_chars"),
            ("10AB\u{1e}".to_owned(), "gs1_bad_chars"),
            ("0312345678901234".to_owned(), "gs1_unknown_ai"),
            ("3106123456".to_owned(), "gs1_unknown_ai"),
            ("3170123456".to_owned(), "gs1_unknown_ai"),
            ("]C10109506000134352".to_owned(), "gs1_unknown_ai"),
            ("é".to_owned(), "gs1_unknown_ai"),
            ("1".to_owned(), "gs1_unknown_ai"),
            ("20".to_owned(), "gs1_empty"),
            ("201".to_owned(), "gs1_too_short"),
        ];
        for (input, want) in cases {
            assert_eq!(code(parse(input)), *want, "input {input:?}");
        }
    }

    #[test]
    fn dates() {
        let cases: &[(&str, &str)] = &[
            ("201231", "ok"),
            ("201200", "ok"),
            ("200200", "ok"),
            ("200229", "ok"),
            ("000229", "ok"),
            ("210229", "gs1_bad_date"),
            ("200231", "gs1_bad_date"),
            ("201331", "gs1_bad_date"),
            ("200015", "gs1_bad_date"),
            ("200431", "gs1_bad_date"),
            ("200430", "ok"),
            ("200132", "gs1_bad_date"),
            ("99123", "gs1_too_short"),
            ("2012a1", "gs1_bad_chars"),
        ];
        for ai in ["11", "12", "13", "15", "16", "17"] {
            for &(date, want) in cases {
                assert_eq!(
                    code(parse(&format!("{ai}{date}"))),
                    want,
                    "ai {ai} date {date}"
                );
                assert_eq!(
                    code(parse_bracketed(&format!("({ai}){date}"))),
                    want,
                    "ai {ai} date {date}"
                );
            }
        }
    }

    #[test]
    fn errors_say_what_and_where() {
        assert_eq!(
            parse("0109506000134353"),
            Err(Gs1Error::BadCheckDigit {
                ai: "01".to_owned(),
                pos: 15,
                expected: 2,
                found: 3
            })
        );
        assert_eq!(
            parse(&format!("01{GTIN}1412345")),
            Err(Gs1Error::UnknownAi {
                ai: "1412".to_owned(),
                pos: 16
            })
        );
        assert_eq!(
            parse("10ABé"),
            Err(Gs1Error::BadChars {
                ai: "10".to_owned(),
                pos: 4,
                ch: 'é'
            })
        );
        assert_eq!(
            parse("17201331"),
            Err(Gs1Error::BadDate {
                ai: "17".to_owned(),
                pos: 2,
                value: "201331".to_owned()
            })
        );
        assert_eq!(
            parse(&format!("10{}", "A".repeat(21))),
            Err(Gs1Error::TooLong {
                ai: "10".to_owned(),
                pos: 2,
                len: 21,
                max: 20
            })
        );
        let messages = [
            Gs1Error::Empty,
            Gs1Error::UnknownAi {
                ai: "1412".to_owned(),
                pos: 16,
            },
            Gs1Error::NotBracketed { pos: 0 },
            Gs1Error::EmptyValue {
                ai: "10".to_owned(),
                pos: 2,
            },
            Gs1Error::TooShort {
                ai: "01".to_owned(),
                pos: 2,
                len: 3,
                min: 14,
            },
            Gs1Error::TooLong {
                ai: "10".to_owned(),
                pos: 2,
                len: 21,
                max: 20,
            },
            Gs1Error::BadChars {
                ai: "10".to_owned(),
                pos: 4,
                ch: '\u{1d}',
            },
            Gs1Error::GraiFiller { pos: 4, ch: '1' },
            Gs1Error::BadCheckDigit {
                ai: "01".to_owned(),
                pos: 15,
                expected: 2,
                found: 3,
            },
            Gs1Error::BadDate {
                ai: "17".to_owned(),
                pos: 2,
                value: "201331".to_owned(),
            },
            Gs1Error::BadCountry {
                ai: "422".to_owned(),
                pos: 3,
                code: "999".to_owned(),
            },
            Gs1Error::CountryListLength {
                ai: "423".to_owned(),
                pos: 3,
                len: 4,
            },
            Gs1Error::CompanyPrefix {
                ai: "8004".to_owned(),
                pos: 4,
                at: 4,
                ch: 'A',
            },
            Gs1Error::DuplicateAi {
                ai: "99".to_owned(),
                first: "ABC".to_owned(),
                second: "XYZ".to_owned(),
            },
            Gs1Error::ExclusiveAis {
                first: "01".to_owned(),
                second: "02".to_owned(),
                why: "a reason",
            },
        ];
        for e in messages {
            let text = e.to_string();
            assert!(!text.contains('\n'), "{text}");
            assert!(text.starts_with(|c: char| c.is_ascii_lowercase()), "{text}");
        }
        assert_eq!(
            Gs1Error::BadCheckDigit {
                ai: "01".to_owned(),
                pos: 15,
                expected: 2,
                found: 3
            }
            .to_string(),
            "bad check digit for ai (01) at position 15: expected 2, found 3"
        );
    }

    #[test]
    fn bracketed_table() {
        let ok: &[(&str, Vec<Element>)] = &[
            (
                "(01)09506000134352(21)SN1",
                vec![el("01", GTIN), el("21", "SN1")],
            ),
            ("(10)A(B)C(21)X", vec![el("10", "A(B)C"), el("21", "X")]),
            ("(10)A(1)(21)X", vec![el("10", "A(1)"), el("21", "X")]),
            ("(10)A(12345)", vec![el("10", "A(12345)")]),
            (
                "(8003)09506000012346ABC",
                vec![el("8003", "09506000012346ABC")],
            ),
            (
                "(3103)001250(422)276",
                vec![el("3103", "001250"), el("422", "276")],
            ),
        ];
        for (input, want) in ok {
            assert_eq!(parse_bracketed(input).as_ref(), Ok(want), "input {input:?}");
        }
        let errors: &[(&str, &str)] = &[
            ("", "gs1_empty"),
            ("0109506000134352", "gs1_bad_brackets"),
            (" (01)09506000134352", "gs1_bad_brackets"),
            ("(1)X", "gs1_bad_brackets"),
            ("(12345)X", "gs1_bad_brackets"),
            ("(011)09506000134352", "gs1_unknown_ai"),
            ("(0100)09506000134352", "gs1_unknown_ai"),
            ("(03)09506000134352", "gs1_unknown_ai"),
            ("(01)0950600013435", "gs1_too_short"),
            ("(01)095060001343521", "gs1_too_long"),
            ("(01)09506000134353", "bad_check_digit"),
            ("(10)(21)X", "gs1_empty"),
            ("(10)", "gs1_empty"),
            ("(10)AB(12)", "gs1_empty"),
            ("(10)AB C", "gs1_bad_chars"),
            ("(10)ü", "gs1_bad_chars"),
            ("(422)27", "gs1_too_short"),
        ];
        for &(input, want) in errors {
            assert_eq!(code(parse_bracketed(input)), want, "input {input:?}");
        }
        assert_eq!(
            parse_bracketed("(01)09506000134352(0100)1"),
            Err(Gs1Error::UnknownAi {
                ai: "0100".to_owned(),
                pos: 19
            })
        );
    }

    #[test]
    fn looks_bracketed_table() {
        let cases: &[(&str, bool)] = &[
            ("(01)0950", true),
            ("(01)", true),
            ("(8003)", true),
            ("(800)x", true),
            ("(1)", false),
            ("(12345)", false),
            ("(0a)", false),
            ("01", false),
            ("", false),
            ("(01", false),
            ("((01)", false),
            ("(é)", false),
        ];
        for &(input, want) in cases {
            assert_eq!(looks_bracketed(input), want, "input {input:?}");
        }
    }

    #[test]
    fn serialisation_forms() {
        let elements = vec![
            el("01", GTIN),
            el("10", "ABC"),
            el("17", "201231"),
            el("21", "X"),
        ];
        assert_eq!(to_raw(&elements), format!("01{GTIN}10ABC{GS}1720123121X"));
        assert_eq!(
            to_bracketed(&elements),
            "(01)09506000134352(10)ABC(17)201231(21)X"
        );
        assert_eq!(
            to_raw(&[el("10", "A"), el("21", "B")]),
            format!("10A{GS}21B")
        );
        assert_eq!(to_raw(&[]), "");
        assert_eq!(to_bracketed(&[]), "");
        assert_eq!(parse(&to_raw(&elements)), Ok(elements.clone()));
        assert_eq!(parse_bracketed(&to_bracketed(&elements)), Ok(elements));
    }

    #[test]
    fn country_ais() {
        let cases: &[(&str, &str)] = &[
            ("(422)276", "ok"),
            ("(422)999", "gs1_bad_country"),
            ("(422)000", "gs1_bad_country"),
            ("(421)840A1-2", "ok"),
            ("(421)840", "gs1_too_short"),
            ("(421)891A", "gs1_bad_country"),
            ("(421)8401234567890", "gs1_too_long"),
            ("(423)276", "ok"),
            ("(423)276840156392036", "ok"),
            ("(423)276840156392036250", "gs1_too_long"),
            ("(423)27684", "gs1_bad_length"),
            ("(423)276840999", "gs1_bad_country"),
            ("(424)724", "ok"),
            ("(424)7240", "gs1_too_long"),
            ("(425)724620", "ok"),
            ("(425)724621", "gs1_bad_country"),
            ("(426)036", "ok"),
            ("(426)37", "gs1_too_short"),
        ];
        for &(input, want) in cases {
            assert_eq!(code(parse_bracketed(input)), want, "input {input:?}");
        }
        assert_eq!(
            parse("423276840999"),
            Err(Gs1Error::BadCountry {
                ai: "423".to_owned(),
                pos: 9,
                code: "999".to_owned()
            }),
            "the third code of the list starts at position 9"
        );
    }

    #[test]
    fn giai_company_prefix() {
        let cases: &[(&str, &str)] = &[
            ("80049506", "ok"),
            ("80049506000ABC-1", "ok"),
            ("8004950", "gs1_too_short"),
            ("8004950A", "gs1_bad_company_prefix"),
            ("8004A506", "gs1_bad_company_prefix"),
            ("8004G%", "gs1_too_short"),
        ];
        for &(input, want) in cases {
            assert_eq!(code(parse(input)), want, "input {input:?}");
        }
        assert_eq!(
            parse("8004950A"),
            Err(Gs1Error::CompanyPrefix {
                ai: "8004".to_owned(),
                pos: 4,
                at: 7,
                ch: 'A'
            })
        );
    }

    #[test]
    fn new_keys_check_their_check_digits() {
        let cases: &[(&str, &str)] = &[
            ("(255)0950600000002", "ok"),
            ("(255)0950600000002123456789012", "ok"),
            ("(255)09506000000021234567890123", "gs1_too_long"),
            ("(255)0950600000003", "bad_check_digit"),
            ("(8006)095060001343520102", "ok"),
            ("(8006)095060001343530102", "bad_check_digit"),
            ("(8006)0950600013435201", "gs1_too_short"),
            ("(8017)095060000000000015", "ok"),
            ("(8018)095060000000000016", "bad_check_digit"),
            ("(8111)0100", "ok"),
            ("(3941)0050", "ok"),
            ("(3944)0050", "gs1_unknown_ai"),
            ("(3912)978123", "ok"),
            ("(3912)978", "gs1_too_short"),
        ];
        for &(input, want) in cases {
            assert_eq!(code(parse_bracketed(input)), want, "input {input:?}");
        }
    }

    #[test]
    fn duplicates_and_exclusive_pairs() {
        let gtin = "(01)09506000134352";
        let cases: &[(String, &str)] = &[
            ("(99)ABC(99)XYZ".to_owned(), "gs1_duplicate_ai"),
            ("(99)ABC(99)ABC".to_owned(), "ok"),
            (format!("{gtin}(10)A(21)S(10)A"), "ok"),
            (format!("{gtin}(10)A(21)S(10)B"), "gs1_duplicate_ai"),
            (format!("{gtin}(02)09506000134352"), "gs1_exclusive_ais"),
            (format!("(02)09506000134352{gtin}"), "gs1_exclusive_ais"),
            (format!("{gtin}(37)1"), "gs1_exclusive_ais"),
            ("(02)09506000134352(37)1".to_owned(), "ok"),
            (format!("{gtin}(255)0950600000002"), "gs1_exclusive_ais"),
            (
                "(02)09506000134352(255)0950600000002".to_owned(),
                "gs1_exclusive_ais",
            ),
            (
                format!("{gtin}(8006)095060001343520102"),
                "gs1_exclusive_ais",
            ),
            (
                "(37)1(8006)095060001343520102".to_owned(),
                "gs1_exclusive_ais",
            ),
            ("(420)1(421)2761".to_owned(), "gs1_exclusive_ais"),
            ("(420)1(422)276".to_owned(), "ok"),
            (format!("{gtin}(422)276(426)276"), "gs1_exclusive_ais"),
            (format!("{gtin}(423)276(426)276"), "gs1_exclusive_ais"),
            (format!("{gtin}(424)276(426)276"), "gs1_exclusive_ais"),
            (format!("{gtin}(425)276(426)276"), "gs1_exclusive_ais"),
            (format!("{gtin}(422)276(423)276(424)276(425)276"), "ok"),
            (
                "(8017)095060000000000015(8018)095060000000000015".to_owned(),
                "gs1_exclusive_ais",
            ),
            (
                format!("{gtin}(3102)001250(3103)000125"),
                "gs1_exclusive_ais",
            ),
            (format!("{gtin}(3102)001250(3102)001250"), "ok"),
            (format!("{gtin}(3102)001250(3202)002756"), "ok"),
            (format!("{gtin}(3302)001250(3102)001250"), "ok"),
            ("(3901)100(3902)1000".to_owned(), "gs1_exclusive_ais"),
            ("(3901)100(3911)978100".to_owned(), "gs1_exclusive_ais"),
            ("(3901)100(3940)0050".to_owned(), "gs1_exclusive_ais"),
            ("(3901)100(8111)0100".to_owned(), "gs1_exclusive_ais"),
            ("(3940)0050(8111)0100".to_owned(), "gs1_exclusive_ais"),
            ("(3921)100(3932)978100".to_owned(), "gs1_exclusive_ais"),
            ("(3901)100(3921)100".to_owned(), "ok"),
        ];
        for (input, want) in cases {
            assert_eq!(code(parse_bracketed(input)), *want, "input {input:?}");
            // The raw form obeys the same rules.
            if let Ok(elements) = parse_bracketed(input) {
                assert_eq!(parse(&to_raw(&elements)), Ok(elements), "input {input:?}");
            }
        }
        assert_eq!(
            parse_bracketed("(99)ABC(99)XYZ"),
            Err(Gs1Error::DuplicateAi {
                ai: "99".to_owned(),
                first: "ABC".to_owned(),
                second: "XYZ".to_owned()
            })
        );
        assert_eq!(
            parse(&format!("0109506000134352{GS}37{GS}")).map_err(|e| e.code()),
            Err("gs1_empty")
        );
        assert_eq!(
            parse("010950600013435237").map_err(|e| e.code()),
            Err("gs1_empty")
        );
        assert_eq!(
            parse("01095060001343523712").map_err(|e| e.to_string()),
            Err("ai (01) and ai (37) must not appear together: a count of contained items belongs with (02), not (01)".to_owned())
        );
    }

    #[test]
    fn exclusive_patterns() {
        assert!(ai_matches("390n", "3905"));
        assert!(!ai_matches("390n", "390"));
        assert!(!ai_matches("390n", "3915"));
        assert!(ai_matches("01", "01"));
        assert!(!ai_matches("01", "010"));
        // Every listed AI is one the parser knows, so no rule is dead.
        for &(a, b, why) in EXCLUSIVE {
            for pattern in [a, b] {
                let ai = pattern.replace('n', "0");
                assert!(ai_title(&ai).is_some(), "{pattern} is not in the table");
            }
            assert!(!why.is_empty() && !why.contains('\n'));
        }
    }

    const CSET82: &str =
        "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

    #[test]
    fn character_set_82() {
        assert_eq!(CSET82.len(), 82);
        for b in 0..=u8::MAX {
            assert_eq!(is_cset82(b), CSET82.as_bytes().contains(&b), "byte {b}");
        }
    }

    fn has_bracket_ai(s: &str) -> bool {
        (0..s.len()).any(|i| bracket_at(s.as_bytes(), i).is_some())
    }

    fn digit_string(min: usize, max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(0u8..10, min..=max)
            .prop_map(|v| v.into_iter().map(|d| char::from(b'0' + d)).collect())
    }

    fn with_check_digit(payload: String) -> String {
        let cd = check_digit(&payload).unwrap_or(0);
        format!("{payload}{cd}")
    }

    fn x_value(max: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(
            proptest::sample::select(CSET82.as_bytes().to_vec()),
            1..=max,
        )
        .prop_map(|v| v.into_iter().map(char::from).collect::<String>())
        .prop_filter("no bracketed ai inside a value", |s| !has_bracket_ai(s))
    }

    fn date() -> impl Strategy<Value = String> {
        (0u32..100, 1u32..=12)
            .prop_flat_map(|(y, m)| {
                let days = match m {
                    2 if y % 4 == 0 => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                (Just(y), Just(m), 0u32..=days)
            })
            .prop_map(|(y, m, d)| format!("{y:02}{m:02}{d:02}"))
    }

    fn country() -> impl Strategy<Value = String> {
        proptest::sample::select(iso3166::NUMERIC.to_vec()).prop_map(|(n, _)| format!("{n:03}"))
    }

    /// Drops every element that breaks a combination rule with one kept before it, so a random
    /// list becomes a valid element string.
    fn compatible(elements: Vec<Element>) -> Vec<Element> {
        let mut kept: Vec<Element> = Vec::new();
        for e in elements {
            kept.push(e);
            if check_combinations(&kept).is_err() {
                kept.pop();
            }
        }
        kept
    }

    fn element() -> impl Strategy<Value = Element> {
        let measure_prefixes: Vec<String> = (310..370)
            .map(|p| p.to_string())
            .filter(|p| ai_title(&format!("{p}0")).is_some())
            .collect();
        prop_oneof![
            digit_string(13, 13).prop_map(|p| el("01", &with_check_digit(p))),
            digit_string(17, 17).prop_map(|p| el("00", &with_check_digit(p))),
            digit_string(13, 13).prop_map(|p| el("02", &with_check_digit(p))),
            (
                proptest::sample::select(vec!["11", "12", "13", "15", "16", "17"]),
                date()
            )
                .prop_map(|(ai, d)| el(ai, &d)),
            digit_string(2, 2).prop_map(|v| el("20", &v)),
            (
                proptest::sample::select(vec!["10", "21", "22"]),
                x_value(20)
            )
                .prop_map(|(ai, v)| el(ai, &v)),
            (
                proptest::sample::select(vec!["240", "241", "250", "251", "400", "90"]),
                x_value(30)
            )
                .prop_map(|(ai, v)| el(ai, &v)),
            (digit_string(4, 12), x_value(18))
                .prop_map(|(prefix, reference)| el("8004", &format!("{prefix}{reference}"))),
            (country(), x_value(9)).prop_map(|(c, post)| el("421", &format!("{c}{post}"))),
            proptest::collection::vec(country(), 1..=5)
                .prop_map(|codes| el("423", &codes.concat())),
            (digit_string(12, 12), digit_string(0, 12))
                .prop_map(|(p, serial)| el("255", &format!("{}{serial}", with_check_digit(p)))),
            digit_string(17, 17).prop_map(|p| el("8018", &with_check_digit(p))),
            (0u8..=9, digit_string(1, 15)).prop_map(|(n, v)| el(&format!("390{n}"), &v)),
            (
                proptest::sample::select(vec![
                    "91", "92", "93", "94", "95", "96", "97", "98", "99"
                ]),
                x_value(90)
            )
                .prop_map(|(ai, v)| el(ai, &v)),
            (
                proptest::sample::select(vec!["30", "37"]),
                digit_string(1, 8)
            )
                .prop_map(|(ai, v)| el(ai, &v)),
            (
                proptest::sample::select(vec![
                    "410", "411", "412", "413", "414", "415", "416", "417"
                ]),
                digit_string(12, 12)
            )
                .prop_map(|(ai, p)| el(ai, &with_check_digit(p))),
            country().prop_map(|c| el("422", &c)),
            (digit_string(12, 12), proptest::option::of(x_value(16))).prop_map(|(p, serial)| {
                el(
                    "8003",
                    &format!("0{}{}", with_check_digit(p), serial.unwrap_or_default()),
                )
            }),
            (
                proptest::sample::select(measure_prefixes),
                0u8..=5,
                digit_string(6, 6)
            )
                .prop_map(|(prefix, n, v)| el(&format!("{prefix}{n}"), &v)),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(elements in proptest::collection::vec(element(), 1..8).prop_map(compatible)) {
            let raw = to_raw(&elements);
            let bracketed = to_bracketed(&elements);
            prop_assert_eq!(parse(&raw), Ok(elements.clone()));
            prop_assert_eq!(parse_bracketed(&bracketed), Ok(elements.clone()));
            prop_assert!(looks_bracketed(&bracketed));
            // Scanners that lose the leading FNC1 or add one must not change the result.
            prop_assert_eq!(parse(&format!("{GS}{raw}")), Ok(elements));
        }

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            let _ = parse(&s);
            let _ = parse_bracketed(&s);
            let _ = looks_bracketed(&s);
            let _ = check_digit(&s);
        }

        #[test]
        fn barcode_like_strings_never_panic(s in "[0-9()\u{1d}\u{1e}\u{4}A-Za-z é]{0,60}") {
            let parsed = parse(&s);
            if let Ok(elements) = &parsed {
                // Whatever parses must re-encode to something that parses identically.
                prop_assert_eq!(parse(&to_raw(elements)), Ok(elements.clone()));
            }
            let bracketed = parse_bracketed(&s);
            if let Ok(elements) = &bracketed {
                prop_assert_eq!(parse_bracketed(&to_bracketed(elements)), Ok(elements.clone()));
            }
            let _ = looks_bracketed(&s);
        }

        #[test]
        fn digit_strings_never_panic(s in "[0-9\u{1d}]{0,60}") {
            if let Ok(elements) = parse(&s) {
                prop_assert_eq!(parse(&to_raw(&elements)), Ok(elements.clone()));
                prop_assert_eq!(parse_bracketed(&to_bracketed(&elements)), Ok(elements));
            }
        }
    }
}
