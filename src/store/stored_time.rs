//! `StoredTime`: a timestamp as either backend stores it, written and read back.
//!
//! SQLite keeps a timestamp as text, which Diesel reads by trying chrono format strings in turn
//! (4.5% of the CPU of a page of 100 users, two per user). Text in the layout Diesel writes
//! (`YYYY-MM-DD HH:MM:SS[.fraction]`) is read here by hand; anything else still goes to Diesel.
//! It is written by hand too, in the same layout to the byte: chrono's formatter parses its
//! format string on every call, ~1,300 instructions a timestamp on SQLite's one writer (three
//! per PATCH) and on the request log's.

use super::connection::MultiBackend;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;

#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow, AsExpression)]
#[diesel(sql_type = Timestamp)]
pub(super) struct StoredTime(pub NaiveDateTime);

impl StoredTime {
    /// Stored times are UTC.
    pub fn utc(self) -> DateTime<Utc> {
        self.0.and_utc()
    }
}

impl FromSql<Timestamp, Sqlite> for StoredTime {
    fn from_sql(mut value: <Sqlite as diesel::backend::Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        if let Some(t) = parse_written(value.read_text()) {
            return Ok(StoredTime(t));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(StoredTime)
    }
}

impl FromSql<Timestamp, Pg> for StoredTime {
    fn from_sql(value: <Pg as diesel::backend::Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(StoredTime)
    }
}

impl ToSql<Timestamp, Sqlite> for StoredTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(written(self.0));
        Ok(IsNull::No)
    }
}

impl ToSql<Timestamp, Pg> for StoredTime {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <NaiveDateTime as ToSql<Timestamp, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<Timestamp, MultiBackend> for StoredTime {
    fn from_sql(value: <MultiBackend as diesel::backend::Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

/// `t` as Diesel writes it for SQLite (`%F %T%.f`: a fraction of three, six or nine digits,
/// whichever shows it exactly, none when whole). Years of other than four digits and leap
/// seconds, which no clock here gives, go to chrono.
fn written(t: NaiveDateTime) -> String {
    let (year, nanos) = (t.year(), t.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return t.format("%F %T%.f").to_string();
    }
    let mut text = String::with_capacity(29);
    push_digits(&mut text, year as u32, 4);
    for (separator, n) in [('-', t.month()), ('-', t.day()), (' ', t.hour()), (':', t.minute()), (':', t.second())] {
        text.push(separator);
        push_digits(&mut text, n, 2);
    }
    let fraction = match nanos {
        0 => None,
        n if n % 1_000_000 == 0 => Some((n / 1_000_000, 3)),
        n if n % 1_000 == 0 => Some((n / 1_000, 6)),
        n => Some((n, 9)),
    };
    if let Some((n, width)) = fraction {
        text.push('.');
        push_digits(&mut text, n, width);
    }
    text
}

/// The last `width` decimal digits of `n`, zero-padded.
fn push_digits(text: &mut String, n: u32, width: u32) {
    for place in (0..width).rev() {
        text.push(char::from(b'0' + (n / 10u32.pow(place) % 10) as u8));
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and one to nine digits of fraction, as Diesel's
/// `%F %T%.f` writes it; `None` for any other text (a leap second included), which the caller
/// hands to Diesel's parser.
fn parse_written(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let fraction = num(20..b.len())?;
            fraction * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let time = NaiveTime::from_hms_nano_opt(num(11..13)?, num(14..16)?, num(17..19)?, nanos)?;
    Some(date.and_time(time))
}

#[cfg(test)]
mod tests {
    use super::{parse_written, written};
    use chrono::{DateTime, NaiveDateTime};
    use proptest::prelude::*;

    /// What chrono's `%F %T%.f` makes of the same text, the format Diesel writes.
    fn chrono(text: &str) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(text, "%F %T%.f").ok()
    }

    #[test]
    fn the_written_layout_reads_as_chrono_reads_it() {
        for text in [
            "2026-12-02 22:15:51.253",
            "2026-12-02 22:15:51",
            "2026-12-02 22:15:51.2",
            "2026-12-02 22:15:51.123456789",
            "2026-12-02 22:15:51.000001",
            "0001-01-01 00:00:00",
            "9999-12-31 23:59:59.999999999",
            "2024-02-29 12:00:00.5",
        ] {
            assert_eq!(parse_written(text), chrono(text), "{text}");
            assert!(parse_written(text).is_some(), "{text}");
        }
        let written = chrono::DateTime::from_timestamp(1_796_000_000, 123_456_000).unwrap().naive_utc();
        assert_eq!(parse_written(&written.format("%F %T%.f").to_string()), Some(written));
    }

    #[test]
    fn other_text_is_left_to_diesel() {
        for text in [
            "",
            "2026-12-02",
            "2026-12-02T22:15:51",
            "2026-12-02 22:15:51Z",
            "2026-12-02 22:15:51+00:00",
            "2026-12-02 22:15:51.",
            "2026-12-02 22:15:51.1234567890",
            "2026-13-02 22:15:51",
            "2025-02-29 22:15:51",
            "2026-12-02 24:00:00",
            "2026-12-02 23:59:60",
            "2026-1a-02 22:15:51",
            "+026-12-02 22:15:51",
            "2459000.5",
            "2026-12-02 22:15:51.25é",
        ] {
            assert_eq!(parse_written(text), None, "{text}");
        }
    }

    /// Diesel's own text for `t` (what every row written before this formatter holds).
    fn diesel(t: NaiveDateTime) -> String {
        t.format("%F %T%.f").to_string()
    }

    fn at(secs: i64, nanos: u32) -> NaiveDateTime {
        DateTime::from_timestamp(secs, nanos).unwrap().naive_utc()
    }

    #[test]
    fn times_are_written_as_diesel_writes_them() {
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31).unwrap().and_hms_nano_opt(23, 59, 59, 1_500_000_000);
        let far = chrono::NaiveDate::from_ymd_opt(12_345, 1, 2).unwrap().and_hms_opt(3, 4, 5);
        let before_zero = chrono::NaiveDate::from_ymd_opt(-1, 1, 2).unwrap().and_hms_opt(3, 4, 5);
        for (t, text) in [
            (at(1_796_000_000, 0), "2026-11-30 00:53:20"),
            (at(1_796_000_000, 253_000_000), "2026-11-30 00:53:20.253"),
            (at(1_796_000_000, 123_456_000), "2026-11-30 00:53:20.123456"),
            (at(1_796_000_000, 1_000), "2026-11-30 00:53:20.000001"),
            (at(1_796_000_000, 123_456_789), "2026-11-30 00:53:20.123456789"),
            (at(1_796_000_000, 1), "2026-11-30 00:53:20.000000001"),
            (at(-62_135_596_800, 0), "0001-01-01 00:00:00"),
            (at(253_402_300_799, 999_999_999), "9999-12-31 23:59:59.999999999"),
            (leap.unwrap(), "2016-12-31 23:59:60.500"),
            (far.unwrap(), "+12345-01-02 03:04:05"),
            (before_zero.unwrap(), "-0001-01-02 03:04:05"),
        ] {
            assert_eq!(written(t), text);
            assert_eq!(written(t), diesel(t), "{text}");
        }
    }

    proptest! {
        /// Any time from year 0 to 9999, to the nanosecond or rounded to the micro- or
        /// millisecond as clocks give them: Diesel's text, and read back by hand to itself.
        #[test]
        fn written_times_match_diesel_and_read_back(
            secs in -62_167_219_200i64..253_402_300_800,
            nanos in 0u32..1_000_000_000,
            round in prop::sample::select(vec![1u32, 1_000, 1_000_000, 1_000_000_000]),
        ) {
            let t = at(secs, nanos / round * round);
            prop_assert_eq!(written(t), diesel(t));
            prop_assert_eq!(parse_written(&written(t)), Some(t));
        }
    }
}
