//! Serial numbers and part numbers: vendor shapes, and the `S` / `1P` prefixes that box labels add.
//!
//! There is no public checksum for Apple or Samsung serials, so shape (length and character
//! classes per position) is all that can be checked. The shapes matter most for deciding when
//! a leading `S` is the MH10.8.2 "serial" data identifier and when it is part of the serial:
//! Apple boxes encode `S` + serial, but HP serials such as `SGH327SZYD` really start with `S`.

use super::{Classification, IdKind, Identifier, Kind, Rejection, reason};

/// Shortest and longest generic serial the station accepts.
pub const MIN_LEN: usize = 4;
pub const MAX_LEN: usize = 40;

fn upper_alnum(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn has_letter_and_digit(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_alphabetic()) && s.bytes().any(|b| b.is_ascii_digit())
}

/// Apple's 12-character serial (about 2010-2021), checked by charset and length only.
///
/// DOMAIN.md 1.11: Apple publishes no checksum, so a 12-character serial is validated as
/// 12 uppercase letters and digits. At least one letter is required, because an all-digit
/// string is GTIN-12 territory; the dated form always has one (its half-year code), and
/// all-letter serials such as `DNPKPDLXUPDX` do occur. The half-year and week codes that most of these serials carry are not required: real
/// serials that do not follow them would otherwise keep the `S` of their box barcode.
fn apple12(s: &str) -> bool {
    s.len() == 12 && upper_alnum(s) && s.bytes().any(|b| b.is_ascii_uppercase())
}

/// A 12-character Apple serial that also carries the manufacturing date: the 4th character is
/// a half-year code and the 5th a week code, neither of which uses vowels.
///
/// This is a stronger signal than [`apple12`] alone, so it decides the `S` prefix of
/// 12-character strings (see [`strip_s`]) and serves as Apple evidence in the label
/// consistency checks.
pub fn is_dated_apple12(s: &str) -> bool {
    const HALF_YEAR: &[u8] = b"CDFGHJKLMNPQRSTVWXYZ";
    const WEEK: &[u8] = b"123456789CDFGHJKLMNPQRTVWXY";
    let b = s.as_bytes();
    apple12(s)
        && b.get(3).is_some_and(|c| HALF_YEAR.contains(c))
        && b.get(4).is_some_and(|c| WEEK.contains(c))
}

/// Apple's legacy 11-character serial: plant (2), year digit, week 01-53, unique (3), config (3).
fn apple11(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11
        && upper_alnum(s)
        && b.get(2).is_some_and(u8::is_ascii_digit)
        && matches!((b.get(3), b.get(4)), (Some(w1), Some(w2))
            if w1.is_ascii_digit() && w2.is_ascii_digit() && (b'0'..=b'5').contains(w1))
}

/// Apple's randomised 10-character serial (since 2021).
fn apple10(s: &str) -> bool {
    s.len() == 10 && upper_alnum(s) && has_letter_and_digit(s)
}

/// Samsung's 11-character serial: `R`, factory (2), year letter, month (1-9, A-C), unit (6).
fn samsung11(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11
        && upper_alnum(s)
        && b.first() == Some(&b'R')
        && b.get(3).is_some_and(u8::is_ascii_uppercase)
        && b.get(4)
            .is_some_and(|c| matches!(c, b'1'..=b'9' | b'A'..=b'C'))
}

/// The vendor shape a serial matches, most specific first.
pub fn serial_format(s: &str) -> Option<&'static str> {
    if apple12(s) {
        Some("apple-12")
    } else if samsung11(s) {
        Some("samsung-11")
    } else if apple11(s) {
        Some("apple-11")
    } else if apple10(s) {
        Some("apple-10")
    } else {
        None
    }
}

/// An Apple-style part number such as `MQ3D2LL/A`: letters and digits, a slash, a region letter.
pub fn is_part_number(s: &str) -> bool {
    match s.split_once('/') {
        Some((model, region)) => {
            (4..=12).contains(&model.len())
                && upper_alnum(model)
                && has_letter_and_digit(model)
                && region.len() == 1
                && upper_alnum(region)
        }
        None => false,
    }
}

/// Where the first character that no serial uses sits, if any.
fn first_bad_char(s: &str) -> Option<(usize, char)> {
    s.char_indices()
        .find(|(_, ch)| !(ch.is_ascii_alphanumeric() || matches!(ch, '-' | '/' | '.' | '_')))
}

/// The shapes with positional structure (a fixed letter, year and week or month codes), as
/// opposed to the charset-and-length shapes `apple-10` and `apple-12`, which many vendors' serials fit.
fn structured(format: &str) -> bool {
    matches!(format, "samsung-11" | "apple-11")
}

/// Decides whether a leading `S` is the serial data identifier: only when the remainder has a
/// known vendor shape and the whole string does not.
///
/// One exception: every 12-character alphanumeric string has the charset-only `apple-12`
/// shape, so for a 12-character string that shape alone does not keep the `S`. The `S` is kept
/// when the whole string is a dated Apple serial, and removed when the 11-character remainder
/// has a structured shape (Samsung's `R` serial or Apple's legacy one), which is how
/// `SR58M315CL4T` has always read.
fn strip_s(upper: &str) -> Option<(&str, &'static str)> {
    let rest = upper.strip_prefix('S')?;
    let rest_format = serial_format(rest)?;
    match serial_format(upper) {
        None => Some((rest, rest_format)),
        Some("apple-12") if !is_dated_apple12(upper) && structured(rest_format) => {
            Some((rest, rest_format))
        }
        // Apple boxes print `S` + 12 or `S` + 10; a whole string that already has a vendor
        // shape (such as the HP serial `SGH327SZYD`) keeps its `S`.
        Some(_) => None,
    }
}

/// Classifies text that is not a device number as a part number, a vendor serial or a generic serial.
pub(crate) fn classify_serial(c: &mut Classification, text: &str) {
    if let Some((pos, ch)) = first_bad_char(text) {
        c.kind = Kind::Unknown;
        c.value = text.to_owned();
        c.rejection = Some(Rejection::new(
            reason::BAD_CHARS,
            format!(
                "not an identifier: {ch:?} at position {} is not used in serial or part numbers",
                pos + 1
            ),
        ));
        return;
    }
    let upper = text.to_ascii_uppercase();
    if let Some(part) = upper.strip_prefix("1P").filter(|rest| is_part_number(rest)) {
        c.kind = Kind::Part;
        c.value = part.to_owned();
        c.details.stripped_prefix = Some("1P");
        c.identifiers.push(Identifier {
            kind: IdKind::Part,
            value: part.to_owned(),
            key: part.to_owned(),
        });
        return;
    }
    if is_part_number(&upper) {
        c.kind = Kind::Part;
        c.value = upper.clone();
        c.identifiers.push(Identifier {
            kind: IdKind::Part,
            value: upper.clone(),
            key: upper,
        });
        return;
    }
    let (value, format) = match strip_s(&upper) {
        Some((rest, format)) => {
            c.details.stripped_prefix = Some("S");
            (rest.to_owned(), Some(format))
        }
        None => {
            let format = serial_format(&upper);
            (upper, format)
        }
    };
    c.kind = Kind::Serial;
    c.details.serial_format = Some(format.unwrap_or("generic"));
    if value.len() < MIN_LEN || value.len() > MAX_LEN {
        c.kind = Kind::Unknown;
        c.value = value;
        c.rejection = Some(Rejection::new(
            if c.value.len() < MIN_LEN {
                reason::TOO_SHORT
            } else {
                reason::TOO_LONG
            },
            format!("not a serial number: {MIN_LEN} to {MAX_LEN} characters expected"),
        ));
        return;
    }
    c.value = value.clone();
    c.identifiers.push(Identifier {
        kind: IdKind::Serial,
        value: value.clone(),
        key: value,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_shapes() {
        assert_eq!(serial_format("C02L13ECF8J2"), Some("apple-12"));
        assert_eq!(serial_format("5K31926NDZZ"), Some("apple-11"));
        assert_eq!(serial_format("R58M315CL4T"), Some("samsung-11"));
        assert_eq!(serial_format("RFAW70M3G3A"), Some("samsung-11"));
        assert_eq!(serial_format("XQ7RJ2K94M"), Some("apple-10"));
        assert_eq!(serial_format("HELLO"), None);
    }

    #[test]
    fn strips_s_only_when_the_rest_is_a_vendor_serial() {
        assert_eq!(strip_s("SC02XG1ABJGH5"), Some(("C02XG1ABJGH5", "apple-12")));
        assert_eq!(strip_s("SR58M315CL4T"), Some(("R58M315CL4T", "samsung-11")));
        // HP serials really start with S, and a 9-character remainder has no vendor shape.
        assert_eq!(strip_s("SGH327SZYD"), None);
    }

    #[test]
    fn undated_12_character_apple_serials_lose_their_s() {
        // DOMAIN.md 1.11: charset and length only. These have a vowel, a `B` or a `0` where the
        // half-year and week codes usually sit, and used to keep their `S`.
        for (boxed, serial) in [
            ("SDNPA2ABCDEFG", "DNPA2ABCDEFG"),
            ("SC02ZB1XYZ9Q8", "C02ZB1XYZ9Q8"),
            ("SFVFX0Q1ZMD6T", "FVFX0Q1ZMD6T"),
        ] {
            assert_eq!(serial_format(serial), Some("apple-12"), "{serial}");
            assert!(!is_dated_apple12(serial), "{serial}");
            assert_eq!(strip_s(boxed), Some((serial, "apple-12")), "{boxed}");
        }
        assert!(is_dated_apple12("C02L13ECF8J2"));
        // Letters only is a 12-character Apple shape (the synth generates `DNPKPDLXUPDX`);
        // digits only is not, since 12 digits are a GTIN-12.
        assert_eq!(strip_s("SDNPKPDLXUPDX"), Some(("DNPKPDLXUPDX", "apple-12")));
        assert_eq!(serial_format("123456789012"), None);
        assert_eq!(strip_s("S123456789012"), None);
    }

    #[test]
    fn twelve_character_s_strings_keep_their_old_reading() {
        // A dated Apple serial that starts with S stays whole even when the rest looks Samsung.
        assert!(is_dated_apple12("SR5CF1ABCDE9"));
        assert_eq!(strip_s("SR5CF1ABCDE9"), None);
        // S + Samsung serial: the whole is Apple-shaped by charset only, the rest is structured.
        assert_eq!(strip_s("SR58M315CL4T"), Some(("R58M315CL4T", "samsung-11")));
        // S + legacy Apple serial.
        assert_eq!(strip_s("S5K31926NDZZ"), Some(("5K31926NDZZ", "apple-11")));
        // A 12-character S serial whose rest has no structured shape stays whole.
        assert_eq!(strip_s("SXQ7RJ2K94MA"), None);
    }

    #[test]
    fn part_numbers() {
        assert!(is_part_number("MQ3D2LL/A"));
        assert!(is_part_number("MGN63B/A"));
        assert!(!is_part_number("MQ3D2LL"));
        assert!(!is_part_number("/A"));
    }
}
