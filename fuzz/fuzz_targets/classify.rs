//! `ident::classify` on one arbitrary string, with and without a symbology identifier.
//!
//! Beyond "never panics", it checks that classification is deterministic, that a symbology passed
//! in and the same symbology written as a `]Cm` prefix give the same answer, and that every
//! identifier the classifier hands on satisfies its check-digit and shape rules: a valid
//! classification must never carry a value whose check digit fails.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanstation::ident::checksum::{gtin_check_digit, luhn_checksum, luhn_valid, mod97};
use scanstation::ident::{Aim, Classification, IdKind, Kind, MAX_INPUT_LEN, NoTacs, classify};

fuzz_target!(|data: &[u8]| {
    // The first two bytes choose the symbology identifier passed in (most pairs are not valid
    // identifiers, which is the "no symbology" case); the rest is the scanned text.
    let (aim, text) = match data {
        [code, modifier, rest @ ..] => (Aim::new(*code, *modifier), rest),
        _ => (None, data),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };

    let plain = classify(text, None, &NoTacs);
    check(&plain);
    assert_eq!(plain, classify(text, None, &NoTacs), "not deterministic");

    let Some(aim) = aim else {
        return;
    };
    let passed = classify(text, Some(aim), &NoTacs);
    check(&passed);
    let _ = passed.to_json();

    // The same identifier written before the text must be read the same way, as long as the text
    // does not carry its own identifier (which wins), starts with nothing the classifier trims
    // before looking for a prefix, and stays under the length limit with the prefix. Non-ASCII
    // text is left out because its rejection names a byte position in the whole input, which the
    // prefix shifts.
    let leading_blank = text.starts_with([' ', '\r', '\n', '\t']);
    let own_prefix = scanstation::ident::aim::split_aim(text).0.is_some();
    let trimmed_empty = text.trim_matches([' ', '\r', '\n', '\t']).is_empty();
    if text.is_ascii()
        && !leading_blank
        && !own_prefix
        && !trimmed_empty
        && text.len() + 3 <= MAX_INPUT_LEN
    {
        let prefixed = classify(&format!("{aim}{text}"), None, &NoTacs);
        assert_eq!(
            (
                prefixed.kind,
                &prefixed.value,
                &prefixed.rejection,
                &prefixed.identifiers,
                &prefixed.details,
                &prefixed.alternatives,
                &prefixed.control,
            ),
            (
                passed.kind,
                &passed.value,
                &passed.rejection,
                &passed.identifiers,
                &passed.details,
                &passed.alternatives,
                &passed.control,
            ),
            "{aim} passed in and {aim} written as a prefix disagree"
        );
    }
});

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn all_upper_hex(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
}

/// A GTIN of any length whose last digit is its GS1 mod-10 check digit.
fn gtin_ok(s: &str) -> bool {
    let Some((last, payload)) = s.as_bytes().split_last() else {
        return false;
    };
    all_digits(s) && gtin_check_digit(payload) == Some(u32::from(last - b'0'))
}

fn check(c: &Classification) {
    assert_eq!(c.valid(), c.reason_code().is_none());
    if c.kind == Kind::Unknown {
        assert!(!c.valid(), "junk accepted as valid: {c:?}");
    }
    if c.valid() {
        match c.kind {
            Kind::Imei => assert!(
                c.value.len() == 15 && luhn_valid(c.value.as_bytes()),
                "valid IMEI fails its check digit: {c:?}"
            ),
            Kind::Gtin => {
                let g = c.details.gtin14.as_deref().unwrap_or_default();
                assert!(
                    g.len() == 14 && gtin_ok(g),
                    "valid GTIN fails its check: {c:?}"
                );
            }
            _ => {}
        }
    }
    for id in &c.identifiers {
        let (v, k) = (id.value.as_str(), id.key.as_str());
        let ok = match id.kind {
            IdKind::Imei => {
                all_digits(v)
                    && matches!(v.len(), 14..=16)
                    && v.get(..14) == Some(k)
                    && (v.len() != 15 || luhn_valid(v.as_bytes()))
            }
            IdKind::Meid => {
                k.len() == 14
                    && all_upper_hex(k)
                    // The A0 floor binds the hex form only: a decimal MEID is valid whenever
                    // its parts fit 32 and 24 bits (python-stdnum, Data::MEID).
                    && (k >= "A0" || all_digits(v))
                    // A 15-character hex MEID carries a mod-16 Luhn check digit.
                    && (v.len() != 15
                        || !all_upper_hex(v)
                        || luhn_checksum(v.as_bytes(), 16) == Some(0))
                    // An 18 or 19-digit decimal MEID, when it has the 19th (check) digit.
                    && (v.len() != 19 || luhn_valid(v.as_bytes()))
            }
            IdKind::Esn => k.len() == 8 && all_upper_hex(k),
            IdKind::Iccid => {
                v == k
                    && matches!(v.len(), 19 | 20)
                    && all_digits(v)
                    && v.starts_with("89")
                    && luhn_valid(v.as_bytes())
            }
            IdKind::Eid => v == k && v.len() == 32 && mod97(v.as_bytes()) == Some(1),
            IdKind::Gtin => k.len() == 14 && gtin_ok(k),
            IdKind::Serial | IdKind::Part => !v.is_empty() && !k.is_empty(),
        };
        assert!(ok, "identifier breaks its rules: {id:?} in {c:?}");
    }
}
