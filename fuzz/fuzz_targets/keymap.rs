//! The wedge keymap and wedge framing (`source::keymap`) on arbitrary key event sequences.
//!
//! Three inputs in one target, chosen by the first byte:
//!
//! - arbitrary key events (any code, any value, any time) played through the keymap and the
//!   framer: no panic, no scan over `max_len`, a cut scan reports a full length over `max_len`,
//!   no empty scan, and the events written in the recorded-event format read back the same and
//!   play the same;
//! - arbitrary text typed with `type_text` and played back: every byte a US keyboard can type
//!   comes back unchanged, as one scan;
//! - arbitrary text read as a recorded-event file: no panic, and what it reads writes back and
//!   reads again the same.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use scanstation::source::keymap::{KeyEvent, format_events, parse_events, play, type_text};

#[derive(Arbitrary, Debug)]
struct Event {
    dt: i32,
    code: u16,
    value: i32,
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => events(rest),
        1 => typed(rest),
        _ => event_file(rest),
    }
});

fn events(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let (Ok(start), Ok(gap), Ok(max_len), Ok(raw)) = (
        i64::arbitrary(&mut u),
        i16::arbitrary(&mut u),
        u8::arbitrary(&mut u),
        Vec::<Event>::arbitrary(&mut u),
    ) else {
        return;
    };
    let max_len = usize::from(max_len);
    let gap = i64::from(gap);
    // Key codes are mostly drawn from the keyboard's range so that the keymap does something.
    let mut at = start;
    let events: Vec<KeyEvent> = raw
        .iter()
        .map(|e| {
            at = at.wrapping_add(i64::from(e.dt));
            KeyEvent {
                at_ms: at,
                code: if e.code & 0x8000 == 0 {
                    e.code % 110
                } else {
                    e.code
                },
                value: if e.value & 0x100 == 0 {
                    e.value.rem_euclid(3)
                } else {
                    e.value
                },
            }
        })
        .collect();
    let scans = play(&events, gap, max_len);
    for s in &scans {
        assert!(s.bytes.len() <= max_len, "scan over max_len: {s:?}");
        match s.too_long {
            Some(len) => assert!(len > max_len && s.bytes.len() == max_len, "{s:?}"),
            None => assert!(!s.bytes.is_empty(), "empty scan: {s:?}"),
        }
    }
    // The kernel sends only the values 0, 1 and 2 for keys, and the event file names only those.
    let kernel: Vec<KeyEvent> = events
        .into_iter()
        .filter(|e| matches!(e.value, 0..=2))
        .collect();
    let text = format_events(&kernel);
    assert_eq!(
        parse_events(&text).as_ref(),
        Ok(&kernel),
        "event file {text}"
    );
}

fn typed(data: &[u8]) {
    let Some((start, text)) = data.split_first_chunk::<8>() else {
        return;
    };
    let start = i64::from_le_bytes(*start);
    // Keep the typing time clear of the end of the clock: one millisecond per key event.
    if start.checked_add(8 * text.len() as i64 + 8).is_none() {
        return;
    }
    let scans: Vec<Vec<u8>> = play(&type_text(text, start), 0, 4096)
        .into_iter()
        .map(|s| s.bytes)
        .collect();
    // A US keyboard types ASCII up to '~' (control bytes as Ctrl combinations), but not DEL.
    let typeable: Vec<u8> = text.iter().copied().filter(|&b| b < 0x7f).collect();
    let expected: Vec<Vec<u8>> = if typeable.is_empty() {
        vec![]
    } else {
        vec![typeable]
    };
    assert_eq!(scans, expected, "typed {text:?}");
}

fn event_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(events) = parse_events(text) else {
        return;
    };
    let written = format_events(&events);
    assert_eq!(parse_events(&written).as_ref(), Ok(&events), "{written}");
    let _ = play(&events, 50, 4096);
}
