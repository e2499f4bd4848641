//! `StoredTime`: a resource's `created_at` / `last_modified` as read back from either backend.
//!
//! SQLite keeps a timestamp as text, which Diesel reads by trying chrono format strings in turn
//! (4.5% of the CPU of a page of 100 users, two per user). Text in the layout Diesel writes
//! (`YYYY-MM-DD HH:MM:SS[.fraction]`) is read here by hand; anything else still goes to Diesel.

use super::connection::MultiBackend;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::Sqlite;

#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
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

impl FromSql<Timestamp, MultiBackend> for StoredTime {
    fn from_sql(value: <MultiBackend as diesel::backend::Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
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
    use super::parse_written;
    use chrono::NaiveDateTime;

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
}
