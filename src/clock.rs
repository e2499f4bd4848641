//! The injected clock: every timestamp scimd writes comes from a `Clock`, so tests can fix time.

use chrono::{DateTime, Datelike, DurationRound, SecondsFormat, TimeDelta, Timelike, Utc};

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
/// Written digit by digit: chrono's `to_rfc3339_opts` took about 700 instructions a time, and
/// a page of 100 users writes 200 (4% of the page); `format` with a pattern took more. Years
/// outside 0–9999 and leap seconds, which scimd's clock never makes, go to chrono.
pub fn format_datetime(t: DateTime<Utc>) -> String {
    // One conversion: each of DateTime's own accessors converts to local time again.
    let (date, time) = (t.naive_utc().date(), t.naive_utc().time());
    let nanos = time.nanosecond();
    if !(0..=9999).contains(&date.year()) || nanos >= 1_000_000_000 {
        return t.to_rfc3339_opts(SecondsFormat::Millis, true);
    }
    let mut out = *b"0000-00-00T00:00:00.000Z";
    for (at, width, mut n) in [
        (0, 4, date.year() as u32),
        (5, 2, date.month()),
        (8, 2, date.day()),
        (11, 2, time.hour()),
        (14, 2, time.minute()),
        (17, 2, time.second()),
        (20, 3, nanos / 1_000_000),
    ] {
        for digit in out[at..at + width].iter_mut().rev() {
            *digit = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    std::str::from_utf8(&out).expect("ASCII digits").to_owned()
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

    proptest::proptest! {
        /// Written as chrono writes it, for any instant chrono holds: years past 9999 and
        /// before 0, and leap seconds, included.
        #[test]
        fn renders_as_chrono_does(secs in -300_000_000_000i64..300_000_000_000, nanos in 0u32..2_000_000_000) {
            if let Some(t) = DateTime::from_timestamp(secs, nanos) {
                proptest::prop_assert_eq!(format_datetime(t), t.to_rfc3339_opts(SecondsFormat::Millis, true));
            }
        }
    }
}
