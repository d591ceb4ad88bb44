//! The blurred-strip reader (`decode::profile`): random strips in, never a panic, and never a
//! read whose characters fail their symbology's check.
//!
//! The first byte stretches each later byte over 1 to 8 samples (so that random input looks
//! like runs of bars and spaces at some module width); the next two bytes place the locator's
//! bars hint, or leave it out.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanstation::decode::profile::{ProfileFormats, read_profile_near};

fuzz_target!(|data: &[u8]| {
    let [stretch, a, b, rest @ ..] = data else {
        return;
    };
    let stretch = usize::from(stretch % 8) + 1;
    let profile: Vec<f32> = rest
        .iter()
        .flat_map(|&v| std::iter::repeat_n(f32::from(v), stretch))
        .collect();
    let n = profile.len() as f32;
    let bars = (*a != 0).then(|| (f32::from(*a) / 255.0 * n, f32::from(*b) / 255.0 * n));
    let formats = ProfileFormats {
        code128: true,
        ean13: true,
        upca: true,
    };
    if let Some(read) = read_profile_near(&profile, formats, bars) {
        assert!(read.check_passes(), "a read that fails its check: {read:?}");
        assert!(!read.text.is_empty() && read.x0 < read.x1, "{read:?}");
    }
});
