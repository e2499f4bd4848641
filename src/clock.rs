//! The injected clock: every timestamp scimd writes comes from a `Clock`, so tests can fix time.

use chrono::{DateTime, DurationRound, SecondsFormat, TimeDelta, Utc};

pub trait Clock: Send + Sync + 'static {
    /// Now, truncated to milliseconds: stored and rendered times then compare equal, so a
    /// `meta.lastModified` a client read back means the same instant in a filter.
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        truncate_to_millis(Utc::now())
    }
}

pub fn truncate_to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

/// RFC 7643 §2.3.5 dateTime, as scimd renders it: UTC, milliseconds, `Z`.
/// (Not `format` with a pattern: that parses the pattern on every call, 2% of a page of users.)
pub fn format_datetime(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_utc_with_millis() {
        let t = DateTime::parse_from_rfc3339("2026-11-22T10:20:30.123456+02:00").unwrap().with_timezone(&Utc);
        assert_eq!(format_datetime(truncate_to_millis(t)), "2026-11-22T08:20:30.123Z");
        let whole_second = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").unwrap().with_timezone(&Utc);
        assert_eq!(format_datetime(whole_second), "2026-01-02T03:04:05.000Z");
    }
}
