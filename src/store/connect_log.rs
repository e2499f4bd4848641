//! What the server log says while the database cannot be reached: one warning when connecting
//! starts to fail, a summary every `REPEAT` while it goes on, and a line when it works again.
//!
//! r2d2's own handler logged an ERROR of two lines for every failed attempt: each request
//! waiting for a connection and r2d2's retries (every 0.2–15 s) made several a second, 58 in
//! 15 s of a PostgreSQL restart with six requests waiting, and nothing said when it ended.

use diesel::ConnectionError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a failure that goes on is reported again.
const REPEAT: Duration = Duration::from_secs(30);

/// Shared by a store's pools (`connection::pools`), which connect to the same database: a
/// clone shares the state.
#[derive(Debug, Default, Clone)]
pub struct ConnectLog {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// Set while connecting fails: when the first failure was.
    failing_since: Option<Instant>,
    failures: u64,
    /// When the last line about this failure was written.
    reported_at: Option<Instant>,
}

/// What to write for one attempt.
#[derive(Debug, PartialEq)]
enum Report {
    /// Nothing: this is the usual case, and a failure is already reported.
    Nothing,
    FirstFailure,
    StillFailing {
        failures: u64,
        since: Duration,
    },
    Recovered {
        failures: u64,
        after: Duration,
    },
}

impl ConnectLog {
    fn failed_at(&self, now: Instant) -> Report {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.failures += 1;
        let Some(since) = s.failing_since else {
            (s.failing_since, s.reported_at) = (Some(now), Some(now));
            return Report::FirstFailure;
        };
        if s.reported_at.is_some_and(|at| now.saturating_duration_since(at) < REPEAT) {
            return Report::Nothing;
        }
        s.reported_at = Some(now);
        Report::StillFailing { failures: s.failures, since: now.saturating_duration_since(since) }
    }

    fn connected_at(&self, now: Instant) -> Report {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(since) = s.failing_since else { return Report::Nothing };
        let report = Report::Recovered { failures: s.failures, after: now.saturating_duration_since(since) };
        *s = State::default();
        report
    }

    /// A connection was opened.
    pub fn connected(&self) {
        if let Report::Recovered { failures, after } = self.connected_at(Instant::now()) {
            tracing::info!(failed_attempts = failures, after_secs = after.as_secs(), "connected to the database again");
        }
    }
}

/// libpq's messages run over several lines ("…failed: Connection refused\n\tIs the server
/// running…"); a log line is one line.
pub fn one_line(e: &impl std::fmt::Display) -> String {
    e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

impl r2d2::HandleError<ConnectionError> for ConnectLog {
    fn handle_error(&self, error: ConnectionError) {
        match self.failed_at(Instant::now()) {
            Report::FirstFailure => tracing::warn!(
                error = %one_line(&error),
                "cannot connect to the database"
            ),
            Report::StillFailing { failures, since } => tracing::warn!(
                error = %one_line(&error),
                failed_attempts = failures,
                for_secs = since.as_secs(),
                "still cannot connect to the database"
            ),
            Report::Nothing | Report::Recovered { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_reported_once_then_every_repeat_then_its_end() {
        let log = ConnectLog::default();
        let t0 = Instant::now();
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        assert_eq!(log.connected_at(at(0)), Report::Nothing);
        assert_eq!(log.failed_at(at(1)), Report::FirstFailure);
        for s in 2..31 {
            assert_eq!(log.failed_at(at(s)), Report::Nothing, "at {s} s");
        }
        assert_eq!(log.failed_at(at(31)), Report::StillFailing { failures: 31, since: Duration::from_secs(30) });
        assert_eq!(log.failed_at(at(32)), Report::Nothing);
        assert_eq!(log.connected_at(at(40)), Report::Recovered { failures: 32, after: Duration::from_secs(39) });
        assert_eq!(log.connected_at(at(41)), Report::Nothing);
        // A later outage is a new one.
        assert_eq!(log.failed_at(at(50)), Report::FirstFailure);
        assert_eq!(log.connected_at(at(51)), Report::Recovered { failures: 1, after: Duration::from_secs(1) });
    }

    #[test]
    fn a_message_over_several_lines_is_logged_as_one() {
        let e = ConnectionError::BadConnection(
            "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused\n\tIs the server running?\n"
                .into(),
        );
        assert_eq!(
            one_line(&e),
            "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused Is the server running?"
        );
    }
}
