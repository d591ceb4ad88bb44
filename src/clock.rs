//! The only place that reads the clocks. Everything else receives time as a parameter. It also
//! formats and parses the RFC 3339 times people read and type, with chrono, so a date that does
//! not exist (30 February) is refused rather than rolled into the next month.
//!
//! Two clocks, for two purposes: the wall clock for timestamps people read, and a monotonic
//! clock for durations (idle timeouts, repeat windows, gaps between keys). A wall clock that is
//! stepped (NTP at boot, an operator fixing the date) must neither close nor stretch a unit.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, SecondsFormat, Utc};

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

/// An RFC 3339 UTC timestamp with milliseconds for a Unix time in milliseconds, such as
/// `2025-11-25T08:40:00.123Z`. Events, exports and `find` print times in exactly this form.
///
/// Times beyond chrono's range (about 262,000 years either side of 1970) are shown as its first
/// or last representable instant; no clock or database holds such a time.
pub fn rfc3339(ms: i64) -> String {
    let time = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or(if ms < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    });
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Why a time given by the user (`--since`, an export's `at`) was refused; names the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{text:?} is not a valid time: {reason} (expected a date such as 2026-11-25 or a UTC time such as 2026-11-25T08:00:00Z)"
)]
pub struct TimeError {
    pub text: String,
    pub reason: String,
}

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time `YYYY-MM-DDTHH:MM:SS[.fff]` followed
/// by `Z`, a numeric offset such as `+02:00`, or nothing (taken as UTC), into Unix milliseconds.
/// `T` may also be a space. Dates and times that do not exist (2025-02-31, 2025-13-01, 24:00:01)
/// are refused with the part that is wrong.
pub fn parse_rfc3339(text: &str) -> Result<i64, TimeError> {
    let refuse = |reason: String| TimeError {
        text: text.to_owned(),
        reason,
    };
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    // chrono's `%Y` and `%m` also take signs, more digits or fewer; the shape is checked here so
    // that only the forms above are accepted, and chrono checks that the date exists.
    if !(digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10))
    {
        return Err(refuse("the date is not in the form YYYY-MM-DD".to_owned()));
    }
    let parsed = if b.len() == 10 {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|date| date.and_time(NaiveTime::MIN).and_utc().timestamp_millis())
    } else {
        if !(matches!(b.get(10), Some(b'T' | b't' | b' '))
            && digits(11..13)
            && b.get(13) == Some(&b':')
            && digits(14..16)
            && b.get(16) == Some(&b':')
            && digits(17..19))
        {
            return Err(refuse(
                "the time is not in the form THH:MM:SS after the date".to_owned(),
            ));
        }
        let zoned = text.ends_with(['Z', 'z'])
            || text
                .len()
                .checked_sub(6)
                .filter(|&at| at >= 19)
                .and_then(|at| text.get(at..))
                .is_some_and(|zone| zone.starts_with(['+', '-']));
        let full = if zoned {
            text.to_owned()
        } else {
            format!("{text}Z")
        };
        DateTime::parse_from_rfc3339(&full).map(|time| time.timestamp_millis())
    };
    parsed.map_err(|err| refuse(out_of_range(text).unwrap_or_else(|| err.to_string())))
}

/// Which field of a well-shaped date or time does not exist, when one does not.
fn out_of_range(text: &str) -> Option<String> {
    let field = |range: std::ops::Range<usize>| text.get(range)?.parse::<u32>().ok();
    let year = text.get(0..4)?.parse::<i32>().ok()?;
    let month = field(5..7)?;
    let Some(name) = u8::try_from(month)
        .ok()
        .and_then(|m| chrono::Month::try_from(m).ok())
    else {
        return Some(format!("there is no month {month} (01 to 12)"));
    };
    let day = field(8..10)?;
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let days = u32::from(first.num_days_in_month());
    if !(1..=days).contains(&day) {
        return Some(format!(
            "{} {year} has no day {day} (it has {days})",
            name.name()
        ));
    }
    for (range, what, max) in [
        (11..13, "hour", 23),
        (14..16, "minute", 59),
        (17..19, "second", 60),
    ] {
        if let Some(value) = field(range)
            && value > max
        {
            return Some(format!("there is no {what} {value} (00 to {max})"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_exactly_as_before() {
        // The form events, exports and `find` have always printed: milliseconds and a Z.
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_764_060_000_123), "2025-11-25T08:40:00.123Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        // Far outside any clock, it still prints a time and does not panic.
        assert!(rfc3339(i64::MAX).ends_with('Z'));
        assert!(rfc3339(i64::MIN).ends_with('Z'));
    }

    #[test]
    fn parses_dates_and_times() {
        assert_eq!(
            parse_rfc3339("2025-11-25T08:40:00.123Z"),
            Ok(1_764_060_000_123)
        );
        assert_eq!(parse_rfc3339("2025-11-25"), Ok(1_764_028_800_000));
        assert_eq!(parse_rfc3339("2025-11-25T08:40:00"), Ok(1_764_060_000_000));
        assert_eq!(parse_rfc3339("2025-11-25 08:40:00Z"), Ok(1_764_060_000_000));
        assert_eq!(
            parse_rfc3339("2025-11-25T08:40:00+00:00"),
            Ok(1_764_060_000_000)
        );
        assert_eq!(
            parse_rfc3339("2025-11-25T10:40:00+02:00"),
            Ok(1_764_060_000_000)
        );
        assert_eq!(
            parse_rfc3339("2025-11-25T08:40:00.1234567Z"),
            Ok(1_764_060_000_123)
        );
        assert_eq!(parse_rfc3339("2024-02-29"), Ok(1_709_164_800_000));
        // Every timestamp the station prints reads back as the same instant.
        for ms in [0, 1_764_060_000_123, -1, 951_782_400_000] {
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Ok(ms));
        }
    }

    #[test]
    fn refuses_dates_and_times_that_do_not_exist() {
        for (text, reason) in [
            ("2025-02-31", "February 2025 has no day 31 (it has 28)"),
            ("2025-02-29", "February 2025 has no day 29 (it has 28)"),
            (
                "2025-04-31T00:00:00Z",
                "April 2025 has no day 31 (it has 30)",
            ),
            ("2025-13-01", "there is no month 13 (01 to 12)"),
            ("2025-00-10", "there is no month 0 (01 to 12)"),
            ("2025-01-00", "January 2025 has no day 0 (it has 31)"),
            ("2025-11-25T24:00:01Z", "there is no hour 24 (00 to 23)"),
            ("2025-11-25T24:00:00", "there is no hour 24 (00 to 23)"),
            ("2025-11-25T08:60:00Z", "there is no minute 60 (00 to 59)"),
            ("2025-11-25T08:00:61Z", "there is no second 61 (00 to 60)"),
        ] {
            let err = parse_rfc3339(text).expect_err(text);
            assert_eq!(err.reason, reason, "{text}");
            let shown = err.to_string();
            assert!(
                shown.starts_with(&format!("{text:?} is not a valid time: ")),
                "{shown}"
            );
        }
        for text in [
            "yesterday",
            "",
            "2025-1-05",
            "+2025-01-05",
            "2025-11-25T8:40:00Z",
            "2025-11-25X08:40:00Z",
            "2025-11-25T08:40:00+2",
            "2025-11-25T08:40:00Zjunk",
            "2025-11-25 ",
            "٢٠٢٥-١١-٢٥",
        ] {
            let err = parse_rfc3339(text).expect_err(text);
            assert!(err.to_string().contains(&format!("{text:?}")), "{err}");
        }
    }
}
