//! The ISO/IEC 15434 envelope and ANSI MH10.8.2 data identifier parser (`ident::di`).
//!
//! Properties: an accepted envelope written back in canonical form (RS after the header, GS
//! between fields, RS EOT at the end) parses to the same fields; every field is a well-formed
//! data identifier with a non-empty value that occurs in the input; and `split_di` splits a field
//! into two parts that concatenate back to it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanstation::ident::di::{self, DataField, Envelope};
use scanstation::ident::gs1;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(field) = di::split_di(text) {
        check_field(&field, false);
        assert_eq!(format!("{}{}", field.di, field.value), text);
    }
    // Most inputs would fail on the header; half the time supply one so the body gets fuzzed.
    let with_header;
    let text = if text.starts_with('\u{1}') {
        with_header = format!("[)>\u{1e}06\u{1d}{}", text.get(1..).unwrap_or_default());
        with_header.as_str()
    } else if text.starts_with('\u{2}') {
        with_header = format!("[)>\u{1e}05\u{1d}{}", text.get(1..).unwrap_or_default());
        with_header.as_str()
    } else {
        text
    };
    let Ok(envelope) = di::parse_envelope(text) else {
        return;
    };
    let canonical = match &envelope {
        Envelope::Format06(fields) => {
            assert!(!fields.is_empty());
            for f in fields {
                check_field(f, true);
                assert!(
                    text.contains(&format!("{}{}", f.di, f.value)),
                    "field {f:?} is not in the input"
                );
            }
            let body: Vec<String> = fields
                .iter()
                .map(|f| format!("{}{}", f.di, f.value))
                .collect();
            format!("[)>\u{1e}06\u{1d}{}\u{1e}\u{4}", body.join("\u{1d}"))
        }
        Envelope::Format05(elements) => {
            assert!(!elements.is_empty());
            format!("[)>\u{1e}05\u{1d}{}\u{1e}\u{4}", gs1::to_raw(elements))
        }
    };
    assert_eq!(
        di::parse_envelope(&canonical).as_ref(),
        Ok(&envelope),
        "canonical form {canonical:?} of {text:?}"
    );
});

/// `in_envelope`: the field came out of an envelope, so it cannot hold a separator.
fn check_field(f: &DataField, in_envelope: bool) {
    let b = f.di.as_bytes();
    let (letter, digits) = b.split_last().expect("a data identifier is never empty");
    assert!(letter.is_ascii_uppercase(), "{f:?}");
    assert!(
        digits.len() <= 3 && digits.iter().all(u8::is_ascii_digit),
        "{f:?}"
    );
    assert!(!f.value.is_empty(), "{f:?}");
    assert!(
        !in_envelope || !f.value.contains(['\u{1d}', '\u{1e}', '\u{4}']),
        "separator inside a value: {f:?}"
    );
    assert_eq!(
        di::di_title(&f.di).unwrap_or(di::UNLISTED_TITLE),
        f.title,
        "{f:?}"
    );
}
