//! GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) and GTIN-14, normalised to GTIN-14 for storage.

use super::checksum;
use super::{Classification, IdKind, Identifier, Kind, Rejection, reason};

/// The GTIN-14 form of a GTIN of any length: left-padded with zeros.
///
/// Comparing GTINs after this step makes a UPC-A and the EAN-13 that iOS reports for it equal.
pub fn to_gtin14(digits: &str) -> String {
    format!("{digits:0>14}")
}

/// True when the last digit of `digits` is the GS1 check digit of the rest.
pub fn check_digit_ok(digits: &str) -> bool {
    let Some((payload, last)) = digits.len().checked_sub(1).map(|n| digits.split_at(n)) else {
        return false;
    };
    checksum::gtin_check_digit(payload.as_bytes())
        .zip(last.chars().next().and_then(|c| c.to_digit(10)))
        .is_some_and(|(want, got)| want == got)
}

/// Classifies 8, 12, 13 or 14 digits as a GTIN.
pub(crate) fn classify_gtin(c: &mut Classification, digits: &str) {
    c.kind = Kind::Gtin;
    c.value = digits.to_owned();
    let gtin14 = to_gtin14(digits);
    c.details.gtin14 = Some(gtin14.clone());
    c.details.check_digit = digits
        .get(digits.len().saturating_sub(1)..)
        .map(str::to_owned);
    if !check_digit_ok(digits) {
        let payload = digits.get(..digits.len().saturating_sub(1)).unwrap_or("");
        c.details.expected_check_digit =
            checksum::gtin_check_digit(payload.as_bytes()).map(|d| d.to_string());
        c.rejection = Some(Rejection::new(
            reason::BAD_CHECK_DIGIT,
            "invalid GTIN check digit: misprinted label or misread",
        ));
        return;
    }
    c.identifiers.push(Identifier {
        kind: IdKind::Gtin,
        value: digits.to_owned(),
        key: gtin14,
    });
}

/// Expands an 8-digit UPC-E symbol's text (number system 0 or 1, six digits, check digit) to
/// the 12-digit UPC-A it abbreviates, which is the GTIN it carries. Decoders return UPC-E as
/// the 8 digits printed, whose check digit belongs to the expansion, so classifying the bare 8
/// digits as a GTIN-8 would call every good UPC-E misprinted.
pub fn upce_to_upca(upce: &str) -> Option<String> {
    let d: Vec<u8> = upce.bytes().collect();
    if d.len() != 8 || !d.iter().all(u8::is_ascii_digit) || !matches!(d[0], b'0' | b'1') {
        return None;
    }
    let x = &d[1..7];
    let body: [u8; 10] = match x[5] {
        b'0'..=b'2' => [x[0], x[1], x[5], b'0', b'0', b'0', b'0', x[2], x[3], x[4]],
        b'3' => [x[0], x[1], x[2], b'0', b'0', b'0', b'0', b'0', x[3], x[4]],
        b'4' => [x[0], x[1], x[2], x[3], b'0', b'0', b'0', b'0', b'0', x[4]],
        _ => [x[0], x[1], x[2], x[3], x[4], b'0', b'0', b'0', b'0', x[5]],
    };
    let mut out = String::with_capacity(12);
    out.push(char::from(d[0]));
    out.extend(body.iter().map(|&b| char::from(b)));
    out.push(char::from(d[7]));
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn upce_expands_to_the_upca_whose_check_digit_it_carries() {
        // 0 132621 1 abbreviates 0 13100 00262 1 (rule for a last digit of 0-2).
        assert_eq!(
            super::upce_to_upca("01326211").as_deref(),
            Some("013100002621")
        );
        assert!(super::check_digit_ok("013100002621"));
        // Last digit 3, 4 and 5-9.
        assert_eq!(
            super::upce_to_upca("04252633").as_deref(),
            Some("042500000263")
        );
        assert_eq!(
            super::upce_to_upca("01234543").as_deref(),
            Some("012340000053")
        );
        assert_eq!(
            super::upce_to_upca("01234567").as_deref(),
            Some("012345000067")
        );
        for bad in [
            "",
            "0123456",
            "012345678",
            "21234567",
            "0123456x",
            "０１２３４５６７",
        ] {
            assert_eq!(super::upce_to_upca(bad), None, "{bad:?}");
        }
    }

    use super::*;

    #[test]
    fn normalises_and_checks() {
        assert_eq!(to_gtin14("4006381333931"), "04006381333931");
        assert!(check_digit_ok("4006381333931"));
        assert!(!check_digit_ok("4006381333932"));
        // The Apple example quoted in DOMAIN.md 1.13 fails its check digit (0 expected, 5 printed).
        assert!(!check_digit_ok("0195949038445"));
        assert!(!check_digit_ok(""));
    }
}
