//! Check-digit algorithms shared by the identifier grammars.
//!
//! Every function takes ASCII digit (or hex digit) bytes that the caller has already checked,
//! and returns `None` instead of panicking when a byte is outside the alphabet.

/// The value of one ASCII digit in base 10 or base 16.
fn digit_value(byte: u8, base: u32) -> Option<u32> {
    let v = (byte as char).to_digit(16)?;
    (v < base).then_some(v)
}

/// The Luhn mod-N checksum of `number` (ISO/IEC 7812 Annex B, generalised to base 16 for MEID).
///
/// A number is valid when its checksum is 0.
/// The doubled value's "digit sum" is `q + r` of `divmod(2v, base)`, as python-stdnum computes it.
pub fn luhn_checksum(number: &[u8], base: u32) -> Option<u32> {
    let mut sum = 0u32;
    for (i, &b) in number.iter().rev().enumerate() {
        let v = digit_value(b, base)?;
        sum += if i % 2 == 1 {
            let d = v * 2;
            d / base + d % base
        } else {
            v
        };
    }
    Some(sum % base)
}

/// The Luhn check digit that makes `payload` + digit valid, as a value in `0..base`.
pub fn luhn_check_digit(payload: &[u8], base: u32) -> Option<u32> {
    // Appending a zero shifts every payload digit one place, which is what the check digit will do.
    let mut sum = 0u32;
    for (i, &b) in payload.iter().rev().enumerate() {
        let v = digit_value(b, base)?;
        sum += if i % 2 == 0 {
            let d = v * 2;
            d / base + d % base
        } else {
            v
        };
    }
    Some((base - sum % base) % base)
}

/// True when `number` (decimal digits, check digit last) passes the decimal Luhn check.
pub fn luhn_valid(number: &[u8]) -> bool {
    luhn_checksum(number, 10) == Some(0)
}

/// The GS1 mod-10 check digit: weights 3, 1, 3, ... from the rightmost payload digit.
pub fn gtin_check_digit(payload: &[u8]) -> Option<u32> {
    let mut sum = 0u32;
    for (i, &b) in payload.iter().rev().enumerate() {
        let v = digit_value(b, 10)?;
        sum += if i % 2 == 0 { v * 3 } else { v };
    }
    Some((10 - sum % 10) % 10)
}

/// The remainder of a long decimal number modulo 97 (ISO 7064 MOD 97-10), without big integers.
pub fn mod97(number: &[u8]) -> Option<u32> {
    let mut rem = 0u32;
    for &b in number {
        rem = (rem * 10 + digit_value(b, 10)?) % 97;
    }
    Some(rem)
}

/// The two check digits of an EID payload of 30 digits: `98 - (payload * 100 mod 97)`.
pub fn mod97_check_digits(payload: &[u8]) -> Option<u32> {
    let rem = mod97(payload)?;
    Some(98 - (rem * 100) % 97)
}

/// The character for a digit value in base 16, uppercase.
pub fn hex_char(v: u32) -> char {
    char::from_digit(v, 16).map_or('?', |c| c.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdnum_luhn_vectors() {
        assert_eq!(luhn_checksum(b"7894", 10), Some(6));
        assert_eq!(luhn_check_digit(b"7894", 10), Some(9));
        assert!(luhn_valid(b"78949"));
    }

    #[test]
    fn gtin_vector() {
        assert_eq!(gtin_check_digit(b"400638133393"), Some(1));
    }

    #[test]
    fn eid_check_digits() {
        assert_eq!(
            mod97_check_digits(b"890490321234512345123456789012"),
            Some(35)
        );
        assert_eq!(mod97(b"89049032123451234512345678901235"), Some(1));
    }

    #[test]
    fn non_digits_are_none_not_panics() {
        assert_eq!(luhn_checksum(b"12a4", 10), None);
        assert_eq!(gtin_check_digit(b"12 4"), None);
        assert_eq!(mod97(b"\xff"), None);
    }
}
