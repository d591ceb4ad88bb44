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

#[cfg(test)]
mod tests {
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
