//! Logging: tracing to stderr, filtered by `RUST_LOG` (default `info`), as text or as one
//! JSON object a line.

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// For a terminal: coloured when stderr is one.
    #[default]
    Text,
    /// One JSON object a line (`timestamp`, `level`, `fields`, `target`, the request's
    /// `span`), for a log collector to read without a pattern.
    Json,
}

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests) is harmless; ignore its error.
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// At most one log line per window for a condition that fails every request while it lasts
/// (the database out of reach): an outage under an IdP's retries would otherwise write a
/// warning per request. The line that is written says how many were not.
pub struct LogThrottle {
    window_ms: u64,
    next_at_ms: std::sync::atomic::AtomicU64,
    suppressed: std::sync::atomic::AtomicU64,
}

impl LogThrottle {
    pub const fn new(window_ms: u64) -> Self {
        use std::sync::atomic::AtomicU64;
        LogThrottle { window_ms, next_at_ms: AtomicU64::new(0), suppressed: AtomicU64::new(0) }
    }

    /// `Some(n)` when this occurrence is to be logged, `n` being how many were not since the
    /// last that was; `None` when it is counted instead.
    pub fn admit_at(&self, now_ms: u64) -> Option<u64> {
        use std::sync::atomic::Ordering::Relaxed;
        let next = self.next_at_ms.load(Relaxed);
        if now_ms >= next && self.next_at_ms.compare_exchange(next, now_ms + self.window_ms, Relaxed, Relaxed).is_ok() {
            return Some(self.suppressed.swap(0, Relaxed));
        }
        self.suppressed.fetch_add(1, Relaxed);
        None
    }

    /// `admit_at` on a monotonic clock that starts with the process.
    pub fn admit(&self) -> Option<u64> {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let start = *START.get_or_init(std::time::Instant::now);
        // 1 so that the first occurrence is past the initial `next_at_ms` of 0 even at start.
        self.admit_at(start.elapsed().as_millis() as u64 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::LogThrottle;

    #[test]
    fn one_line_a_window_and_the_count_of_the_rest() {
        let t = LogThrottle::new(1_000);
        let seen: Vec<Option<u64>> =
            [1, 2, 500, 999, 1_001, 1_002, 5_000, 9_000].iter().map(|&ms| t.admit_at(ms)).collect();
        assert_eq!(seen, [Some(0), None, None, None, Some(3), None, Some(1), Some(0)]);
    }
}
