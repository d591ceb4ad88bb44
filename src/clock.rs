//! The only place that reads the clocks. Everything else receives time as a parameter.
//!
//! Two clocks, for two purposes: the wall clock for timestamps people read, and a monotonic
//! clock for durations (idle timeouts, repeat windows, gaps between keys). A wall clock that is
//! stepped (NTP at boot, an operator fixing the date) must neither close nor stretch a unit.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Milliseconds on the monotonic clock, from an origin fixed when the process first asks.
/// Only differences between two readings mean anything; they never jump with the wall clock.
pub fn mono_ms() -> i64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    i64::try_from(origin.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// Both clocks read together, so a time on one can be carried onto the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub wall_ms: i64,
    pub mono_ms: i64,
}

impl Now {
    pub fn read() -> Now {
        Now {
            mono_ms: mono_ms(),
            wall_ms: now_ms(),
        }
    }

    /// What to add to a monotonic time to get the wall-clock time it happened at, as the wall
    /// clock reads now (after any step).
    pub fn wall_offset(self) -> i64 {
        self.wall_ms.saturating_sub(self.mono_ms)
    }
}

/// An RFC 3339 UTC timestamp with milliseconds for a Unix time in milliseconds.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 for a civil date, the inverse of `civil_from_days`.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS[.fff]Z` into Unix milliseconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b.len() < 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, m, d) * 86_400_000;
    if b.len() > 10 {
        if !matches!(b.get(10), Some(b'T' | b' ')) || b.len() < 19 {
            return None;
        }
        let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
        ms += (hh * 3600 + mm * 60 + ss) * 1000;
        let rest = text.get(19..)?;
        let rest = match rest.strip_prefix('.') {
            Some(frac) => {
                let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
                let ms_part: String = format!("{digits:0<3}").chars().take(3).collect();
                ms += ms_part.parse::<i64>().ok()?;
                frac.get(digits.len()..)?
            }
            None => rest,
        };
        if !(rest.is_empty() || rest == "Z" || rest == "+00:00") {
            return None;
        }
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_764_060_000_123), "2025-11-25T08:40:00.123Z");
        assert_eq!(
            parse_rfc3339("2025-11-25T08:40:00.123Z"),
            Some(1_764_060_000_123)
        );
        assert_eq!(parse_rfc3339("2025-11-25"), Some(1_764_028_800_000));
        assert_eq!(parse_rfc3339("2025-13-25"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
