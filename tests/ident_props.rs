//! Property tests: generated valid identifiers are accepted, every single-digit change is
//! rejected with the check-digit reason, and no input of any shape makes the classifier panic.

use proptest::prelude::*;
use scanstation::ident::{Aim, Kind, NoTacs, checksum, classify, device, reason};

fn digits(len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..10, len)
        .prop_map(|v| v.into_iter().map(|d| char::from(b'0' + d)).collect())
}

fn hex(len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0u32..16, len)
        .prop_map(|v| v.into_iter().map(checksum::hex_char).collect())
}

fn luhn_complete(payload: String) -> String {
    let cd = checksum::luhn_check_digit(payload.as_bytes(), 10).expect("digits");
    format!("{payload}{cd}")
}

fn gtin_complete(payload: String) -> String {
    let cd = checksum::gtin_check_digit(payload.as_bytes()).expect("digits");
    format!("{payload}{cd}")
}

/// Replaces the digit at `pos` with a different digit from the same alphabet.
fn mutate(s: &str, pos: usize, delta: u32, base: u32) -> String {
    s.chars()
        .enumerate()
        .map(|(i, ch)| {
            if i == pos {
                let v = ch.to_digit(base).expect("digit");
                checksum::hex_char((v + 1 + delta % (base - 1)) % base)
            } else {
                ch
            }
        })
        .collect()
}

fn valid_imei() -> impl Strategy<Value = String> {
    digits(14).prop_map(luhn_complete)
}

fn valid_iccid() -> impl Strategy<Value = String> {
    (digits(16), prop::bool::ANY).prop_map(|(d, twenty)| {
        let body = if twenty {
            format!("89{d}0")
        } else {
            format!("89{d}")
        };
        luhn_complete(body)
    })
}

fn valid_eid() -> impl Strategy<Value = String> {
    digits(28).prop_map(|d| {
        let payload = format!("89{d}");
        let cd = device::eid_check_digits(&payload).expect("digits");
        format!("{payload}{cd}")
    })
}

fn valid_meid_hex() -> impl Strategy<Value = String> {
    (0xA0u32..=0xFF, hex(12)).prop_map(|(rr, rest)| {
        let hex14 = format!("{rr:02X}{rest}");
        let cd = device::meid_check_digit(&hex14).expect("hex");
        format!("{hex14}{cd}")
    })
}

fn valid_meid_decimal() -> impl Strategy<Value = String> {
    (0xA0u32..=0xFF, hex(12)).prop_map(|(rr, rest)| {
        let dec = device::meid_hex_to_decimal(&format!("{rr:02X}{rest}")).expect("hex");
        luhn_complete(dec)
    })
}

/// GTINs with the symbology they are printed in.
fn valid_gtin() -> impl Strategy<Value = (String, &'static str)> {
    prop_oneof![
        digits(7).prop_map(|d| (gtin_complete(d), "]E4")),
        digits(11).prop_map(|d| (gtin_complete(d), "]E0")),
        digits(12).prop_map(|d| (gtin_complete(d), "]E0")),
        digits(13).prop_map(|d| (gtin_complete(d), "]I0")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn imei_valid_and_every_single_digit_change_rejected(imei in valid_imei(), pos in 0usize..15, delta in 0u32..9) {
        let c = classify(&imei, None, &NoTacs);
        prop_assert_eq!((c.kind, c.valid()), (Kind::Imei, true));
        let bad = classify(&mutate(&imei, pos, delta, 10), None, &NoTacs);
        prop_assert_eq!((bad.kind, bad.reason_code()), (Kind::Imei, Some(reason::BAD_CHECK_DIGIT)));
    }

    #[test]
    fn iccid_valid_and_every_single_digit_change_rejected(iccid in valid_iccid(), pos in 0usize..20, delta in 0u32..9) {
        let c = classify(&iccid, None, &NoTacs);
        prop_assert_eq!((c.kind, c.valid()), (Kind::Iccid, true));
        let pos = pos % iccid.len();
        let bad = classify(&mutate(&iccid, pos, delta, 10), None, &NoTacs);
        prop_assert!(!bad.valid());
        prop_assert_eq!(bad.reason_code(), Some(reason::BAD_CHECK_DIGIT), "{:?}", bad);
    }

    #[test]
    fn eid_valid_and_every_single_digit_change_rejected(eid in valid_eid(), pos in 0usize..32, delta in 0u32..9) {
        let c = classify(&eid, None, &NoTacs);
        prop_assert_eq!((c.kind, c.valid()), (Kind::Eid, true));
        let bad = classify(&mutate(&eid, pos, delta, 10), None, &NoTacs);
        prop_assert_eq!((bad.kind, bad.reason_code()), (Kind::Eid, Some(reason::BAD_CHECK_DIGIT)));
    }

    #[test]
    fn gtin_valid_and_every_single_digit_change_rejected((gtin, aim) in valid_gtin(), pos in 0usize..14, delta in 0u32..9) {
        let c = classify(&gtin, Aim::parse(aim), &NoTacs);
        prop_assert_eq!((c.kind, c.valid()), (Kind::Gtin, true), "{:?}", c);
        let pos = pos % gtin.len();
        let bad = classify(&mutate(&gtin, pos, delta, 10), Aim::parse(aim), &NoTacs);
        prop_assert_eq!((bad.kind, bad.reason_code()), (Kind::Gtin, Some(reason::BAD_CHECK_DIGIT)));
    }

    #[test]
    fn meid_hex_valid_and_every_single_digit_change_rejected(meid in valid_meid_hex(), pos in 0usize..15, delta in 0u32..15) {
        let c = classify(&meid, None, &NoTacs);
        prop_assert_eq!((c.kind, c.valid()), (Kind::Meid, true), "{:?}", c);
        let changed = mutate(&meid, pos, delta, 16);
        let bad = classify(&changed, None, &NoTacs);
        prop_assert!(!bad.valid() || bad.kind == Kind::Imei, "{:?}", bad);
        if changed.bytes().any(|b| b.is_ascii_alphabetic()) {
            prop_assert_eq!((bad.kind, bad.reason_code()), (Kind::Meid, Some(reason::BAD_CHECK_DIGIT)));
        }
    }

    #[test]
    fn meid_decimal_valid_and_every_single_digit_change_rejected(meid in valid_meid_decimal(), pos in 0usize..19, delta in 0u32..9) {
        let c = classify(&meid, None, &NoTacs);
        prop_assert_eq!((c.kind, c.valid()), (Kind::Meid, true), "{:?}", c);
        let bad = classify(&mutate(&meid, pos, delta, 10), None, &NoTacs);
        prop_assert_eq!(bad.reason_code(), Some(reason::BAD_CHECK_DIGIT), "{:?}", bad);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), code in any::<u8>(), modifier in any::<u8>()) {
        let text = String::from_utf8_lossy(&bytes);
        let c = classify(&text, Aim::new(code, modifier), &NoTacs);
        prop_assert_eq!(c.input.as_str(), text.as_ref());
        prop_assert!(c.valid() || c.reason().is_some_and(|r| !r.is_empty()));
    }

    #[test]
    fn s_plus_any_12_character_apple_serial_loses_its_s(serial in "[A-Z0-9]{12}") {
        // DOMAIN.md 1.11: 12-character Apple serials are checked by charset and length only.
        prop_assume!(serial.bytes().any(|b| b.is_ascii_uppercase()));
        let c = classify(&format!("S{serial}"), None, &NoTacs);
        prop_assert_eq!((c.kind, c.valid(), c.value.as_str()), (Kind::Serial, true, serial.as_str()));
        prop_assert_eq!(c.details.stripped_prefix, Some("S"));
    }

    #[test]
    fn ten_character_serials_starting_with_s_stay_whole(rest in "[A-Z0-9]{9}") {
        // DOMAIN.md 1.13: HP serials such as SGH327SZYD really start with S.
        let whole = format!("S{rest}");
        let c = classify(&whole, None, &NoTacs);
        prop_assert_eq!((c.kind, c.value.as_str()), (Kind::Serial, whole.as_str()));
        prop_assert_eq!(c.details.stripped_prefix, None);
    }

    #[test]
    fn label_like_strings_never_panic(text in "[0-9A-Za-z()\\]\\[>/ \\-\u{1d}\u{1e}\u{04}]{0,80}") {
        let c = classify(&text, None, &NoTacs);
        prop_assert!(c.valid() || c.rejection.is_some());
        let _ = c.to_json();
    }
}
