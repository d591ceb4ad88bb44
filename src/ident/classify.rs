//! The classification order for one decoded string.
//!
//! The order, which `ARCHITECTURE.md` and the README repeat, is:
//! 1. junk gates on the whole input: too long, empty, non-ASCII;
//! 2. the AIM prefix (`]C1`, ...) is split off; a prefix in the text wins over the one passed in;
//! 3. control bytes other than GS, RS and EOT are rejected;
//! 4. `SCANSTATION:` control barcodes;
//! 5. ISO/IEC 15434 envelopes (`[)>`);
//! 6. GS1 element strings: a GS1 AIM identifier, the bracketed form, a GS in the data, or an
//!    unprefixed string that starts with `01` + 14 digits and parses as GS1;
//! 7. EAN/UPC symbols whose AIM modifier fixes the shape: `]E3` (EAN-13 and a 2- or 5-digit
//!    add-on) and `]E4` (EAN-8) are GTINs or misreads, nothing else;
//! 8. numbers (spaces and dashes removed) by length, using the symbology to break ties;
//! 9. hex numbers: MEID (14/15) and ESN (8);
//! 10. part numbers, vendor serials (with the safe `S`/`1P` rules) and generic serials;
//! 11. anything else is rejected as junk with the first offending character.

use super::aim::{Aim, Symbology, split_aim};
use super::control::{self, Control};
use super::device::{self, classify_eid, classify_esn, classify_iccid, classify_imei};
use super::gtin::{check_digit_ok, classify_gtin};
use super::serial::classify_serial;
use super::{
    Alternative, Classification, Details, IdKind, Identifier, Kind, Rejection, TacLookup, di, gs1,
    reason,
};

/// The longest input the classifier looks at; real label fields are far shorter.
pub const MAX_INPUT_LEN: usize = 1024;

const GS: char = '\u{1d}';
const RS: char = '\u{1e}';
const EOT: char = '\u{04}';

fn reject(c: &mut Classification, code: &'static str, message: String) {
    c.kind = Kind::Unknown;
    c.rejection = Some(Rejection::new(code, message));
}

fn alt(c: &mut Classification, kind: Kind, why_not: &'static str) {
    c.alternatives.push(Alternative { kind, why_not });
}

/// Classifies one decoded string. `aim` is the symbology identifier when the source knows it.
///
/// Never panics and never fails: junk comes back as [`Kind::Unknown`] with a rejection.
///
/// ```
/// use scanstation::ident::{Kind, NoTacs, classify};
///
/// let imei = classify("35-209900-176148-1", None, &NoTacs);
/// assert_eq!((imei.kind, imei.valid(), imei.value.as_str()), (Kind::Imei, true, "352099001761481"));
///
/// let misprint = classify("354178036859782", None, &NoTacs);
/// assert_eq!(misprint.reason(), Some("invalid IMEI check digit: misprinted or counterfeit label"));
///
/// // HP serials really start with S; Apple box barcodes add one.
/// assert_eq!(classify("SGH327SZYD", None, &NoTacs).value, "SGH327SZYD");
/// assert_eq!(classify("SC02XG1ABJGH5", None, &NoTacs).value, "C02XG1ABJGH5");
/// ```
pub fn classify(input: &str, aim: Option<Aim>, tacs: &dyn TacLookup) -> Classification {
    let mut c = Classification {
        input: input.to_owned(),
        kind: Kind::Unknown,
        value: String::new(),
        rejection: None,
        identifiers: Vec::new(),
        details: Details::default(),
        alternatives: Vec::new(),
        control: None,
    };
    if input.len() > MAX_INPUT_LEN {
        reject(
            &mut c,
            reason::TOO_LONG,
            format!(
                "{} bytes is longer than any label field (at most {MAX_INPUT_LEN})",
                input.len()
            ),
        );
        return c;
    }
    // Scanners end scans with CR, LF or Tab; surrounding blanks are never part of a value.
    let trimmed = input.trim_matches([' ', '\r', '\n', '\t']);
    if trimmed.is_empty() {
        reject(&mut c, reason::EMPTY, "empty scan".to_owned());
        return c;
    }
    if let Some((pos, ch)) = trimmed.char_indices().find(|(_, ch)| !ch.is_ascii()) {
        reject(
            &mut c,
            reason::NON_ASCII,
            format!(
                "non-ASCII character {ch:?} at byte {}: labels carry ASCII only (keyboard layout?)",
                pos + 1
            ),
        );
        return c;
    }
    let (prefix, body) = split_aim(trimmed);
    let aim = prefix.or(aim);
    c.details.symbology = aim.map(|a| a.to_string());
    c.value = body.to_owned();
    if let Some((pos, byte)) = body
        .bytes()
        .enumerate()
        .find(|(_, b)| b.is_ascii_control() && !matches!(b, 0x1d | 0x1e | 0x04))
    {
        reject(
            &mut c,
            reason::CONTROL_CHAR,
            format!("control byte 0x{byte:02X} at byte {}", pos + 1),
        );
        return c;
    }
    if body.is_empty() {
        reject(
            &mut c,
            reason::EMPTY,
            "empty scan after the symbology identifier".to_owned(),
        );
        return c;
    }
    if let Some(command) = body.strip_prefix(control::PREFIX) {
        classify_control(&mut c, command);
        return c;
    }
    if di::is_envelope(body) {
        classify_envelope(&mut c, body);
        return c;
    }
    let gs1_aim = aim.is_some_and(Aim::is_gs1);
    if gs1_aim || gs1::looks_bracketed(body) || body.contains(GS) {
        classify_gs1(&mut c, body, gs1_aim);
        return c;
    }
    if let Some((pos, ch)) = body.char_indices().find(|(_, ch)| matches!(*ch, RS | EOT)) {
        reject(
            &mut c,
            reason::CONTROL_CHAR,
            format!(
                "{} at byte {} outside an ISO/IEC 15434 envelope",
                if ch == RS { "RS" } else { "EOT" },
                pos + 1
            ),
        );
        return c;
    }
    if let Some(aim) = aim
        && aim.code == b'E'
        && matches!(aim.modifier, b'3' | b'4')
    {
        classify_ean_upc(&mut c, body, aim.modifier);
        return c;
    }
    let symbology = aim.map(Aim::symbology);
    if aim.is_none() && looks_like_unprefixed_gs1(body) {
        if let Ok(elements) = gs1::parse(body) {
            gs1_elements(&mut c, elements);
            return c;
        }
        alt(
            &mut c,
            Kind::Gs1,
            "starts like (01) but does not parse as a GS1 element string",
        );
    }
    if let Some(digits) = strip_iccid_padding(body) {
        classify_iccid(&mut c, digits);
        c.details.note = Some("trailing F padding from the SIM's BCD encoding removed");
        return c;
    }
    if let Some(compact) = compact_number(body, |b| b.is_ascii_digit()) {
        if classify_digits(&mut c, &compact, symbology, tacs) {
            return c;
        }
    } else if let Some(compact) = compact_number(body, |b| b.is_ascii_hexdigit()) {
        let hex = compact.to_ascii_uppercase();
        match hex.len() {
            14 | 15 => {
                device::classify_meid_hex(&mut c, &hex);
                alt(
                    &mut c,
                    Kind::Serial,
                    "14 or 15 hex digits read as a MEID first",
                );
                return c;
            }
            8 if !matches!(symbology, Some(Symbology::EanUpc)) => {
                classify_esn(&mut c, &hex, false);
                alt(&mut c, Kind::Serial, "8 hex digits read as an ESN first");
                return c;
            }
            _ => {}
        }
    }
    classify_serial(&mut c, body);
    c
}

/// A string that may be a GS1 element string whose FNC1 and AIM prefix were lost: `01` and a
/// GTIN-14, followed by more data.
fn looks_like_unprefixed_gs1(body: &str) -> bool {
    body.len() > 16
        && body.starts_with("01")
        && body.bytes().take(16).all(|b| b.is_ascii_digit())
        && body.get(2..16).is_some_and(check_digit_ok)
}

/// An ICCID as SIM readers leak it: `89` + digits + `F` padding from the nibble-swapped BCD file.
fn strip_iccid_padding(body: &str) -> Option<&str> {
    let digits = body.trim_end_matches(['F', 'f']);
    (digits.len() < body.len()
        && (18..=20).contains(&digits.len())
        && digits.starts_with("89")
        && digits.bytes().all(|b| b.is_ascii_digit()))
    .then_some(digits)
}

/// The digits of `body` with single spaces or dashes between groups removed, when every other
/// character satisfies `is_digit`; `None` otherwise.
fn compact_number(body: &str, is_digit: impl Fn(u8) -> bool) -> Option<String> {
    let bytes = body.as_bytes();
    let ends_ok =
        bytes.first().is_some_and(|&b| is_digit(b)) && bytes.last().is_some_and(|&b| is_digit(b));
    if !ends_ok {
        return None;
    }
    let mut out = String::with_capacity(body.len());
    let mut previous_separator = false;
    for &b in bytes {
        if is_digit(b) {
            out.push(b as char);
            previous_separator = false;
        } else if (b == b' ' || b == b'-') && !previous_separator {
            previous_separator = true;
        } else {
            return None;
        }
    }
    Some(out)
}

/// Classifies a string of decimal digits; returns false to fall through to the serial rules.
fn classify_digits(
    c: &mut Classification,
    digits: &str,
    symbology: Option<Symbology>,
    tacs: &dyn TacLookup,
) -> bool {
    let retail = matches!(
        symbology,
        Some(Symbology::EanUpc | Symbology::Itf | Symbology::DataBar)
    );
    let text_symbology = matches!(
        symbology,
        Some(Symbology::Code128 | Symbology::Code39 | Symbology::Code93)
    );
    match digits.len() {
        32 => classify_eid(c, digits),
        8 => {
            if retail || (!text_symbology && check_digit_ok(digits)) {
                classify_gtin(c, digits);
                alt(
                    c,
                    Kind::Esn,
                    "8 digits with a retail symbology or a valid GTIN-8 check digit read as GTIN-8",
                );
            } else {
                classify_esn(c, digits, false);
                alt(
                    c,
                    Kind::Gtin,
                    "GTIN-8 needs an EAN-8 symbol or a valid check digit",
                );
            }
        }
        11 => {
            classify_esn(c, digits, true);
            if !c.valid() {
                return reset_to_serial(c);
            }
            alt(
                c,
                Kind::Serial,
                "11 digits in ESN range read as a decimal ESN",
            );
        }
        12 | 13 => {
            if text_symbology && !check_digit_ok(digits) {
                return false;
            }
            classify_gtin(c, digits);
        }
        14 => {
            let tac_known = digits.get(..8).is_some_and(|t| tacs.lookup(t).is_some());
            if retail {
                classify_gtin(c, digits);
                alt(c, Kind::Imei14, "a retail symbology carries GTINs");
            } else if tac_known || text_symbology || !check_digit_ok(digits) {
                classify_imei(c, digits, tacs);
                alt(
                    c,
                    Kind::Gtin,
                    if tac_known {
                        "the first 8 digits are a known TAC"
                    } else if text_symbology {
                        "Code 128/39 labels carry IMEIs, GTIN-14 comes in ITF-14 or GS1"
                    } else {
                        "invalid GTIN-14 check digit"
                    },
                );
            } else {
                classify_gtin(c, digits);
                alt(
                    c,
                    Kind::Imei14,
                    "valid GTIN-14 check digit and no known TAC",
                );
            }
        }
        15 | 16 => classify_imei(c, digits, tacs),
        18 => {
            if digits.starts_with("89") {
                classify_iccid(c, digits);
                alt(
                    c,
                    Kind::Meid,
                    "a decimal MEID cannot start with 89 (manufacturer code overflows)",
                );
            } else if device::is_meid_decimal(digits) {
                device::classify_meid_decimal(c, digits);
                alt(c, Kind::Iccid, "an ICCID starts with 89");
            } else {
                return false;
            }
        }
        19 => {
            if digits.starts_with("89") {
                classify_iccid(c, digits);
                alt(
                    c,
                    Kind::Meid,
                    "a decimal MEID cannot start with 89 (manufacturer code overflows)",
                );
            } else {
                device::classify_meid_decimal(c, digits);
                alt(c, Kind::Iccid, "an ICCID starts with 89");
            }
        }
        20 => classify_iccid(c, digits),
        _ => return false,
    }
    true
}

/// Classifies the data of an EAN/UPC symbol whose AIM modifier fixes its shape: `]E3` is an
/// EAN-13 (UPC-A and UPC-E sent as EAN-13) followed by a 2- or 5-digit add-on, `]E4` is an EAN-8.
///
/// These symbols carry digits only and their length is known, so anything else is a misread and
/// is rejected as one instead of falling through to readings (IMEI, serial) that the symbology
/// rules out. The add-on (an issue number or a price) is not part of the GTIN and names no unit,
/// so it is reported in the details and never becomes an identifier.
fn classify_ean_upc(c: &mut Classification, body: &str, modifier: u8) {
    c.kind = Kind::Gtin;
    let Some(digits) = compact_number(body, |b| b.is_ascii_digit()) else {
        c.rejection = Some(Rejection::new(
            reason::BAD_CHARS,
            format!(
                "{} carries digits only: misread",
                if modifier == b'3' {
                    "an EAN/UPC symbol with an add-on (]E3)"
                } else {
                    "an EAN-8 symbol (]E4)"
                }
            ),
        ));
        return;
    };
    c.value = digits.clone();
    match (modifier, digits.len()) {
        (b'3', 15 | 18) => {
            let (main, add_on) = digits.split_at(13);
            classify_gtin(c, main);
            c.details.add_on = Some(add_on.to_owned());
            c.details.note =
                Some("EAN-13 with an add-on (]E3): the add-on is not part of the GTIN");
        }
        (b'3', n) => {
            c.rejection = Some(Rejection::new(
                reason::BAD_LENGTH,
                format!(
                    "]E3 is an EAN-13 with a 2- or 5-digit add-on, so 15 or 18 digits; found {n}: misread"
                ),
            ));
        }
        (_, 8) => classify_gtin(c, &digits),
        (_, n) => {
            c.rejection = Some(Rejection::new(
                reason::BAD_LENGTH,
                format!("]E4 is an EAN-8, so 8 digits; found {n}: misread"),
            ));
        }
    }
}

/// Undoes a device classification so the serial rules can take the string.
fn reset_to_serial(c: &mut Classification) -> bool {
    c.kind = Kind::Unknown;
    c.rejection = None;
    c.identifiers.clear();
    let symbology = c.details.symbology.take();
    c.details = Details {
        symbology,
        ..Details::default()
    };
    false
}

fn classify_control(c: &mut Classification, command: &str) {
    c.kind = Kind::Control;
    match Control::parse(command) {
        Some(control) => {
            c.value = control.to_string();
            c.control = Some(control);
        }
        None => {
            c.rejection = Some(Rejection::new(
                reason::UNKNOWN_CONTROL,
                format!(
                    "unknown control barcode {command:?}: print a new desk card with `scanstation card`"
                ),
            ));
        }
    }
}

fn classify_envelope(c: &mut Classification, body: &str) {
    match di::parse_envelope(body) {
        Ok(di::Envelope::Format06(fields)) => {
            c.kind = Kind::Di;
            let mut value = String::new();
            for field in &fields {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push('(');
                value.push_str(&field.di);
                value.push(')');
                value.push_str(&field.value);
                let kind = match field.di.as_str() {
                    "S" => Some(IdKind::Serial),
                    "1P" => Some(IdKind::Part),
                    _ => None,
                };
                if let Some(kind) = kind {
                    let v = field.value.to_ascii_uppercase();
                    c.identifiers.push(Identifier {
                        kind,
                        value: v.clone(),
                        key: v,
                    });
                }
            }
            c.value = value;
            c.details.data_identifiers = fields;
        }
        Ok(di::Envelope::Format05(elements)) => gs1_elements(c, elements),
        Err(err) => {
            c.kind = Kind::Di;
            c.rejection = Some(Rejection::new(err.code(), err.to_string()));
        }
    }
}

fn classify_gs1(c: &mut Classification, body: &str, gs1_aim: bool) {
    let parsed = if gs1::looks_bracketed(body) {
        gs1::parse_bracketed(body)
    } else if gs1_aim || body.starts_with(|ch: char| ch.is_ascii_digit() || ch == GS) {
        gs1::parse(body)
    } else {
        reject(
            c,
            reason::CONTROL_CHAR,
            "GS separator in data that is neither GS1 nor an ISO/IEC 15434 envelope".to_owned(),
        );
        return;
    };
    match parsed {
        Ok(elements) => gs1_elements(c, elements),
        Err(err) => {
            c.kind = Kind::Gs1;
            c.rejection = Some(Rejection::new(err.code(), err.to_string()));
        }
    }
}

/// Fills a GS1 classification from its elements: the GTIN, serial and part numbers become identifiers.
fn gs1_elements(c: &mut Classification, elements: Vec<gs1::Element>) {
    c.kind = Kind::Gs1;
    c.value = gs1::to_bracketed(&elements);
    for element in &elements {
        let (kind, key) = match element.ai.as_str() {
            "01" => {
                c.details.gtin14 = Some(element.value.clone());
                (IdKind::Gtin, element.value.clone())
            }
            "21" => (IdKind::Serial, element.value.to_ascii_uppercase()),
            "240" | "241" => (IdKind::Part, element.value.to_ascii_uppercase()),
            _ => continue,
        };
        c.identifiers.push(Identifier {
            kind,
            value: element.value.clone(),
            key,
        });
    }
    c.details.elements = elements;
}
