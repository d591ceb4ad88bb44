//! The GS1 element string parsers, raw (`gs1::parse`) and bracketed (`gs1::parse_bracketed`).
//!
//! Properties checked on every accepted string: the canonical raw and bracketed forms parse back
//! to the same elements, the canonical raw form is never longer than the input, and every element
//! whose AI calls for a check digit or a date really has a valid one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanstation::ident::gs1::{self, Element};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(elements) = gs1::parse(text) {
        check_elements(&elements);
        let raw = gs1::to_raw(&elements);
        assert!(
            raw.len() <= text.len(),
            "canonical raw form {raw:?} is longer than the input {text:?}"
        );
        assert_eq!(gs1::parse(&raw).as_ref(), Ok(&elements), "raw form {raw:?}");
        // A value may contain "(12)" where GS1 allows brackets, and the bracketed parser reads
        // that as the start of an element by design, so that round trip is only promised for
        // values without brackets.
        if elements.iter().all(|e| !e.value.contains('(')) {
            let bracketed = gs1::to_bracketed(&elements);
            assert_eq!(
                gs1::parse_bracketed(&bracketed).as_ref(),
                Ok(&elements),
                "bracketed form {bracketed:?}"
            );
        }
    }
    if let Ok(elements) = gs1::parse_bracketed(text) {
        check_elements(&elements);
        let bracketed = gs1::to_bracketed(&elements);
        assert_eq!(
            gs1::parse_bracketed(&bracketed).as_ref(),
            Ok(&elements),
            "bracketed form {bracketed:?}"
        );
        let raw = gs1::to_raw(&elements);
        assert_eq!(gs1::parse(&raw).as_ref(), Ok(&elements), "raw form {raw:?}");
    }
});

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The GS1 mod-10 check digit of `s` holds (its last digit over the others).
fn check_digit_holds(s: &str) -> bool {
    let Some((payload, last)) = s.split_at_checked(s.len().saturating_sub(1)) else {
        return false;
    };
    digits(s) && gs1::check_digit(payload).map(|d| d.to_string()).as_deref() == Some(last)
}

fn valid_yymmdd(s: &str) -> bool {
    if s.len() != 6 || !digits(s) {
        return false;
    }
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u32>().ok());
    let (Some(yy), Some(mm), Some(dd)) = (n(0..2), n(2..4), n(4..6)) else {
        return false;
    };
    let days = match mm {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if yy % 4 == 0 => 29,
        2 => 28,
        _ => return false,
    };
    dd <= days
}

fn check_elements(elements: &[Element]) {
    assert!(!elements.is_empty());
    for e in elements {
        assert_eq!(gs1::ai_title(&e.ai), Some(e.title), "{e:?}");
        assert!(!e.value.is_empty(), "{e:?}");
        assert!(
            e.value.bytes().all(|b| b.is_ascii_graphic()),
            "value outside the GS1 character set: {e:?}"
        );
        let ok = match e.ai.as_str() {
            "00" => e.value.len() == 18 && check_digit_holds(&e.value),
            "01" | "02" => e.value.len() == 14 && check_digit_holds(&e.value),
            "410" | "411" | "412" | "413" | "414" | "415" | "416" | "417" => {
                e.value.len() == 13 && check_digit_holds(&e.value)
            }
            "11" | "12" | "13" | "15" | "16" | "17" => valid_yymmdd(&e.value),
            "8003" => e.value.starts_with('0') && e.value.get(1..14).is_some_and(check_digit_holds),
            "20" | "30" | "37" | "422" => digits(&e.value),
            // 390n-394n (amounts, prices, percentages) are variable-length digits; the other
            // 3nnn measures are fixed at six.
            ai if ai.len() == 4 && ai.starts_with("39") => digits(&e.value),
            ai if ai.len() == 4 && ai.starts_with('3') => e.value.len() == 6 && digits(&e.value),
            _ => true,
        };
        assert!(ok, "accepted element breaks its AI's rules: {e:?}");
    }
}
