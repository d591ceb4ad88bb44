//! Device identifiers: IMEI (and IMEI14, IMEISV), MEID, ESN, ICCID and EID.
//!
//! Each `classify_*` function receives a string the classifier has already normalised
//! (separators removed, hex uppercased, length checked) and fills in the classification.
//! Check digits are verified before any structural rule, so a single mistyped digit is
//! always reported as a check-digit failure rather than as some other, more confusing, reason.

use sha1::{Digest, Sha1};

use super::checksum::{self, hex_char};
use super::{Classification, IdKind, Identifier, Kind, Rejection, TacLookup, reason};

/// The message the operator sees for an IMEI whose check digit fails.
pub const IMEI_CHECK_MESSAGE: &str = "invalid IMEI check digit: misprinted or counterfeit label";

fn digit_char(v: u32) -> char {
    char::from_digit(v, 10).unwrap_or('?')
}

/// The Luhn check digit of a 14-digit IMEI payload.
pub fn imei_check_digit(payload: &str) -> Option<char> {
    checksum::luhn_check_digit(payload.as_bytes(), 10).map(digit_char)
}

fn imei_details(c: &mut Classification, imei14: &str, tacs: &dyn TacLookup) {
    let tac = imei14.get(..8).unwrap_or(imei14);
    c.details.tac = Some(tac.to_owned());
    c.details.reporting_body = tac.get(..2).map(str::to_owned);
    c.details.imei14 = Some(imei14.to_owned());
    if let Some(info) = tacs.lookup(tac) {
        c.details.brand = Some(info.brand.clone());
        c.details.model = Some(info.model.clone());
    }
}

fn push_imei(c: &mut Classification, value: &str, imei14: &str) {
    c.identifiers.push(Identifier {
        kind: IdKind::Imei,
        value: value.to_owned(),
        key: imei14.to_owned(),
    });
}

/// Classifies 14, 15 or 16 decimal digits as IMEI14, IMEI or IMEISV.
pub(crate) fn classify_imei(c: &mut Classification, digits: &str, tacs: &dyn TacLookup) {
    let imei14 = digits.get(..14).unwrap_or(digits);
    c.value = digits.to_owned();
    imei_details(c, imei14, tacs);
    let expected = imei_check_digit(imei14);
    match digits.len() {
        14 => {
            c.kind = Kind::Imei14;
            c.details.check_digit = expected.map(String::from);
            c.details.note = Some("no check digit on the label; the computed one is shown");
        }
        15 => {
            c.kind = Kind::Imei;
            let found = digits.chars().nth(14);
            c.details.check_digit = found.map(String::from);
            if found != expected {
                c.details.expected_check_digit = expected.map(String::from);
                c.rejection = Some(Rejection::new(reason::BAD_CHECK_DIGIT, IMEI_CHECK_MESSAGE));
            }
        }
        _ => {
            c.kind = Kind::Imeisv;
            c.details.svn = digits.get(14..).map(str::to_owned);
            c.details.note = Some("an IMEISV carries a software version instead of a check digit");
        }
    }
    if c.rejection.is_none() {
        push_imei(c, digits, imei14);
    }
}

/// The mod-16 Luhn check digit of a 14-hex-digit MEID.
pub fn meid_check_digit(hex14: &str) -> Option<char> {
    checksum::luhn_check_digit(hex14.as_bytes(), 16).map(hex_char)
}

/// The pseudo-ESN of a MEID: `80` and the last 6 hex digits of SHA-1 over the 7 MEID bytes.
pub fn pesn(hex14: &str) -> Option<String> {
    let mut bytes = [0u8; 7];
    for (i, byte) in bytes.iter_mut().enumerate() {
        let pair = hex14.get(i * 2..i * 2 + 2)?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    let digest = Sha1::digest(bytes);
    let tail = digest.get(17..20)?;
    Some(format!("80{:02X}{:02X}{:02X}", tail[0], tail[1], tail[2]))
}

/// The 18-digit decimal form of a 14-hex-digit MEID.
pub fn meid_hex_to_decimal(hex14: &str) -> Option<String> {
    let manufacturer = u32::from_str_radix(hex14.get(..8)?, 16).ok()?;
    let serial = u32::from_str_radix(hex14.get(8..14)?, 16).ok()?;
    Some(format!("{manufacturer:010}{serial:08}"))
}

/// The 14-hex-digit form of an 18-digit decimal MEID, or `None` when a part overflows its bits.
pub fn meid_decimal_to_hex(dec18: &str) -> Option<String> {
    let manufacturer: u64 = dec18.get(..10)?.parse().ok()?;
    let serial: u64 = dec18.get(10..18)?.parse().ok()?;
    (manufacturer <= u64::from(u32::MAX) && serial < (1 << 24))
        .then(|| format!("{manufacturer:08X}{serial:06X}"))
}

fn meid_common(c: &mut Classification, hex14: &str) {
    c.details.manufacturer_code = hex14.get(..8).map(str::to_owned);
    c.details.meid_hex = Some(hex14.to_owned());
    c.details.meid_decimal = meid_hex_to_decimal(hex14);
    c.details.pesn = pesn(hex14);
}

/// Classifies 14 or 15 hex digits (with at least one letter) as a MEID.
pub(crate) fn classify_meid_hex(c: &mut Classification, hex: &str) {
    c.kind = Kind::Meid;
    c.value = hex.to_owned();
    let hex14 = hex.get(..14).unwrap_or(hex);
    let expected = meid_check_digit(hex14);
    if hex.len() == 15 {
        let found = hex.chars().nth(14);
        c.details.check_digit = found.map(String::from);
        if found != expected {
            c.details.expected_check_digit = expected.map(String::from);
            c.rejection = Some(Rejection::new(
                reason::BAD_CHECK_DIGIT,
                "invalid MEID check digit: misprinted label or misread",
            ));
            return;
        }
    } else {
        c.details.check_digit = expected.map(String::from);
    }
    meid_common(c, hex14);
    // A MEID's regional code is A0 or above; below that the value is in IMEI space.
    if hex14.get(..2).is_some_and(|rr| rr < "A0") {
        c.rejection = Some(Rejection::new(
            reason::BAD_PREFIX,
            "not a MEID: the regional code (first two hex digits) must be A0 or above",
        ));
        return;
    }
    c.identifiers.push(Identifier {
        kind: IdKind::Meid,
        value: hex.to_owned(),
        key: hex14.to_owned(),
    });
}

/// True when 18 digits are a well-formed decimal MEID: the first 10 digits fit 32 bits and the
/// last 8 fit 24 bits.
///
/// The regional code bound (A0 or above) is not applied here. python-stdnum and Perl's Data::MEID
/// accept every decimal form whose parts fit, and so must the station, or a label they call a
/// MEID would be stored as a serial; the bound stays on the hex form, where a value below A0 is
/// in IMEI space.
pub fn is_meid_decimal(digits: &str) -> bool {
    digits.len() >= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && meid_decimal_to_hex(digits.get(..18).unwrap_or(digits)).is_some()
}

/// Classifies 18 or 19 decimal digits as the decimal form of a MEID.
pub(crate) fn classify_meid_decimal(c: &mut Classification, digits: &str) {
    c.kind = Kind::Meid;
    c.value = digits.to_owned();
    let dec18 = digits.get(..18).unwrap_or(digits);
    if digits.len() == 19 {
        c.details.check_digit = digits.get(18..).map(str::to_owned);
        if !checksum::luhn_valid(digits.as_bytes()) {
            c.details.expected_check_digit =
                checksum::luhn_check_digit(dec18.as_bytes(), 10).map(|d| digit_char(d).to_string());
            c.rejection = Some(Rejection::new(
                reason::BAD_CHECK_DIGIT,
                "invalid MEID check digit: misprinted label or misread",
            ));
            return;
        }
    }
    let Some(hex14) = meid_decimal_to_hex(dec18).filter(|_| is_meid_decimal(dec18)) else {
        c.rejection = Some(Rejection::new(
            reason::OUT_OF_RANGE,
            "not a decimal MEID: the manufacturer code must be at most 4294967295 and the serial below 16777216",
        ));
        return;
    };
    meid_common(c, &hex14);
    c.details.meid_decimal = Some(dec18.to_owned());
    if hex14.get(..2).is_some_and(|rr| rr < "A0") {
        c.details.note = Some(
            "regional code below A0: a well-formed decimal MEID, though assigned MEIDs start at A0",
        );
    }
    c.identifiers.push(Identifier {
        kind: IdKind::Meid,
        value: digits.to_owned(),
        key: hex14,
    });
}

/// Classifies an ESN: 8 hex digits, or 11 decimal digits (3-digit manufacturer, 8-digit serial).
pub(crate) fn classify_esn(c: &mut Classification, text: &str, decimal: bool) {
    c.kind = Kind::Esn;
    c.value = text.to_owned();
    let hex = if decimal {
        let manufacturer: Option<u32> = text.get(..3).and_then(|s| s.parse().ok());
        let serial: Option<u32> = text.get(3..).and_then(|s| s.parse().ok());
        match (manufacturer, serial) {
            (Some(m), Some(s)) if m <= 0xFF && s < (1 << 24) => format!("{m:02X}{s:06X}"),
            _ => {
                c.rejection = Some(Rejection::new(
                    reason::OUT_OF_RANGE,
                    "not a decimal ESN: the manufacturer code must be 0..255 and the serial below 16777216",
                ));
                return;
            }
        }
    } else {
        text.to_owned()
    };
    c.details.manufacturer_code = hex.get(..2).map(str::to_owned);
    if hex.starts_with("80") {
        c.details.note = Some("manufacturer code 80 marks a pseudo-ESN derived from a MEID");
    }
    c.identifiers.push(Identifier {
        kind: IdKind::Esn,
        value: text.to_owned(),
        key: hex,
    });
}

/// Classifies 18 to 20 digits as an ICCID.
pub(crate) fn classify_iccid(c: &mut Classification, digits: &str) {
    c.kind = Kind::Iccid;
    c.value = digits.to_owned();
    let full = if digits.len() == 18 {
        // Eighteen digits carry no check digit (pySim's sanitize_iccid); append the computed one.
        let cd = checksum::luhn_check_digit(digits.as_bytes(), 10).map_or('?', digit_char);
        c.details.check_digit = Some(cd.to_string());
        c.details.note = Some("18-digit ICCID without check digit; the computed one is appended");
        format!("{digits}{cd}")
    } else {
        c.details.check_digit = digits.get(digits.len() - 1..).map(str::to_owned);
        if !checksum::luhn_valid(digits.as_bytes()) {
            let payload = digits.get(..digits.len() - 1).unwrap_or(digits);
            c.details.expected_check_digit = checksum::luhn_check_digit(payload.as_bytes(), 10)
                .map(|d| digit_char(d).to_string());
            c.rejection = Some(Rejection::new(
                reason::BAD_CHECK_DIGIT,
                "invalid ICCID check digit: misprinted card or misread",
            ));
            return;
        }
        digits.to_owned()
    };
    if !digits.starts_with("89") {
        c.rejection = Some(Rejection::new(
            reason::BAD_PREFIX,
            "not an ICCID: it must start with 89 (telecom industry identifier)",
        ));
        return;
    }
    c.value = full.clone();
    c.identifiers.push(Identifier {
        kind: IdKind::Iccid,
        value: full.clone(),
        key: full,
    });
}

/// The two ISO 7064 MOD 97-10 check digits of a 30-digit EID payload.
pub fn eid_check_digits(payload30: &str) -> Option<String> {
    checksum::mod97_check_digits(payload30.as_bytes()).map(|cd| format!("{cd:02}"))
}

/// Classifies 32 digits as an EID.
pub(crate) fn classify_eid(c: &mut Classification, digits: &str) {
    c.kind = Kind::Eid;
    c.value = digits.to_owned();
    c.details.check_digit = digits.get(30..).map(str::to_owned);
    if checksum::mod97(digits.as_bytes()) != Some(1) {
        c.details.expected_check_digit = digits.get(..30).and_then(eid_check_digits);
        c.rejection = Some(Rejection::new(
            reason::BAD_CHECK_DIGIT,
            "invalid EID check digits (mod 97): misprinted label or misread",
        ));
        return;
    }
    c.identifiers.push(Identifier {
        kind: IdKind::Eid,
        value: digits.to_owned(),
        key: digits.to_owned(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meid_vectors() {
        assert_eq!(meid_check_digit("AF0123450ABCDE"), Some('C'));
        assert_eq!(pesn("AF0123450ABCDE").as_deref(), Some("8016B128"));
        assert_eq!(
            meid_hex_to_decimal("AF0123450ABCDE").as_deref(),
            Some("293608736500703710")
        );
        assert_eq!(
            meid_decimal_to_hex("293608736500703710").as_deref(),
            Some("AF0123450ABCDE")
        );
        assert!(is_meid_decimal("293608736500703710"));
        assert!(!is_meid_decimal("890490321234512345"));
        // Below regional code A0 the decimal form is still a MEID when both parts fit their bits.
        assert!(is_meid_decimal("256691404901193046"));
        assert!(is_meid_decimal("000000000000000000"));
        assert!(is_meid_decimal("429496729516777215"));
        assert!(!is_meid_decimal("429496729616777215"));
        assert!(!is_meid_decimal("429496729516777216"));
        assert!(!is_meid_decimal("12345678901234567"));
        assert!(!is_meid_decimal("25669140490119304x"));
    }

    #[test]
    fn imei_check_digit_vector() {
        assert_eq!(imei_check_digit("35686800004141"), Some('8'));
    }

    #[test]
    fn eid_vectors() {
        assert_eq!(
            eid_check_digits("890860302022000000220000230229").as_deref(),
            Some("43")
        );
        assert_eq!(
            eid_check_digits("890440451167274948000000044793").as_deref(),
            Some("66")
        );
    }
}
