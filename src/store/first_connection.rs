//! How long a PostgreSQL connection is waited for: an attempt no longer than the database
//! wait, a connection whose server has gone silent given up on, and the first connection a
//! store makes waited for while the server cannot be reached, given up on at once when the
//! server answers with a refusal no wait can mend.
//!
//! Through r2d2 alone, a wrong password in the URL made every command line command and the
//! server's start-up wait the whole database wait (30 s by default) and then say "database
//! unavailable", as if PostgreSQL were down: r2d2 retries every failure the same way.

use super::connect_log::{one_line, ConnectLog};
use crate::error::{Error, Result};
use diesel::ConnectionError;
use std::time::{Duration, Instant};

/// The pause before a failed attempt is tried again doubles from this, up to `MOST_PAUSE`.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MOST_PAUSE: Duration = Duration::from_secs(2);

/// Connects with `connect` until it succeeds, it fails for good (`refused_for_good`), or
/// `wait` has passed; `connect` is given what is left of the wait, to give up on an attempt
/// then. The connection made is dropped: it only shows the pool's will work.
pub fn wait_for_first<C>(
    wait: Duration,
    log: &ConnectLog,
    mut connect: impl FnMut(Duration) -> std::result::Result<C, ConnectionError>,
) -> Result<()> {
    let deadline = Instant::now() + wait;
    let mut pause = FIRST_PAUSE;
    loop {
        let error = match connect(deadline.saturating_duration_since(Instant::now())) {
            Ok(_) => {
                log.connected();
                return Ok(());
            }
            Err(e) => e,
        };
        let message = one_line(&error);
        if refused_for_good(&message) {
            return Err(Error::Setup(format!("cannot open the database: {message}")));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Unavailable(message));
        }
        r2d2::HandleError::handle_error(log, error);
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(MOST_PAUSE);
    }
}

/// `url` with libpq's `connect_timeout` at `timeout` in whole seconds (libpq takes 2 at
/// least), unless the URL sets its own.
pub(super) fn with_connect_timeout(url: &str, timeout: Duration) -> String {
    let seconds = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    with_parameter(url.to_string(), "connect_timeout", seconds.max(2))
}

/// The longest an established connection's server may stay silent before the connection is
/// given up on, whatever the database wait.
const SILENCE_MOST: Duration = Duration::from_secs(30);

/// `url` with libpq's TCP keepalives and `tcp_user_timeout` set so that a connection whose
/// server has gone without a word (a failover that moved its address, a network cut, a host
/// powered off: no RST ever arrives) fails within the database `wait` (30 s at most), unless
/// the URL sets them. The kernel's defaults kept such a connection for about 15 minutes with a
/// statement unacknowledged and 2 hours idle; meanwhile it held a database thread and a pool
/// slot, and once every slot was held, scimd answered nothing but 503s. A live server's kernel
/// acknowledges data and probes at once, however long its statements run: no effect on it.
pub(super) fn with_silence_bound(url: String, wait: Duration) -> String {
    let bound = silence_bound(wait);
    let probe_every = (bound.as_secs() / 3).max(1);
    let url = with_parameter(url, "keepalives_idle", probe_every);
    let url = with_parameter(url, "keepalives_interval", probe_every);
    let url = with_parameter(url, "keepalives_count", 3);
    with_parameter(url, "tcp_user_timeout", bound.as_millis())
}

/// How long a connection's other end may stay silent, given the database wait.
fn silence_bound(wait: Duration) -> Duration {
    wait.min(SILENCE_MOST)
}

/// The statements that bound how long a new PostgreSQL session waits, given the database wait.
///
/// A session idle inside its transaction for longer than the silence bound is ended by
/// PostgreSQL, and its locks with it: scimd's own transactions never wait between statements,
/// so one that does belongs to a scimd that was paused or cut off, whose locks would otherwise
/// hold up every other writer of the rows (another replica's, or this one's once it
/// reconnects) for good.
///
/// A lock is waited for as long as the database wait, as SQLite's busy timeout waits for the
/// file's lock: a row another session holds (an operator's open transaction) is then a 503 for
/// the requests that need it, instead of holding their database threads until it is let go,
/// and with every thread held, the requests of every tenant. Migrations set it aside
/// (`migrations::run_migrations`).
pub(super) fn session_bounds(wait: Duration) -> String {
    format!(
        "SET idle_in_transaction_session_timeout = {}; SET lock_timeout = {}",
        silence_bound(wait).as_millis(),
        wait.as_millis()
    )
}

/// `url` with the query parameter `name=value` appended, unless the URL has `name` already.
fn with_parameter(url: String, name: &str, value: impl std::fmt::Display) -> String {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    if query.split('&').any(|pair| pair.split('=').next() == Some(name)) {
        return url;
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{name}={value}")
}

/// Whether libpq's `message` says the connection was refused for a reason only the operator
/// can mend: credentials, a role or database that does not exist, the server's `pg_hba.conf`,
/// a URL libpq cannot read. Anything else (refused or timed-out connections, a server starting
/// up or shutting down or full, a host name not yet in DNS) may pass and is waited for. The
/// server's half of these messages is in its `lc_messages` language: in another than English
/// none matches, and a refusal is waited for as before.
pub fn refused_for_good(message: &str) -> bool {
    const FOR_GOOD: [&str; 11] = [
        // 28P01 and the other methods' 28000: "password authentication failed for user …",
        // also for a role that does not exist (the server does not say which).
        "authentication failed for user",
        // libpq: the server asked for a password and the URL has none.
        "no password supplied",
        // 28000: a role without LOGIN.
        "is not permitted to log in",
        // 55000: a database that takes no connections (`datallowconn`).
        "is not currently accepting connections",
        "no pg_hba.conf entry",
        "pg_hba.conf rejects connection",
        // 42501: the role lacks CONNECT on the database.
        "permission denied for database",
        // libpq's own reading of the URL.
        "invalid connection option",
        "invalid URI",
        "invalid sslmode value",
        "invalid port number",
    ];
    // 3D000 and 28000 (with `trust` or another method that names the role). Not every message
    // naming a role or a database: "too many connections for role …" passes.
    let missing =
        (message.contains("database \"") || message.contains("role \"")) && message.contains("does not exist");
    missing || FOR_GOOD.iter().any(|said| message.contains(said))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// What libpq said (PostgreSQL 15, `lc_messages` C) for each mistake, and for each
    /// failure that passes.
    #[test]
    fn refusals_are_told_from_failures_that_pass() {
        let server = "connection to server at \"127.0.0.1\", port 5432 failed: ";
        let for_good = [
            format!("{server}FATAL:  password authentication failed for user \"scimd\""),
            format!("{server}FATAL:  database \"nodb\" does not exist"),
            format!("{server}FATAL:  role \"nobody\" does not exist"),
            format!("{server}FATAL:  role \"scimd\" is not permitted to log in"),
            format!("{server}FATAL:  no pg_hba.conf entry for host \"10.0.0.5\", user \"scimd\", database \"scimd\", no encryption"),
            format!("{server}FATAL:  permission denied for database \"scimd\" DETAIL: User does not have CONNECT privilege."),
            format!("{server}FATAL:  database \"template0\" is not currently accepting connections"),
            format!("{server}fe_sendauth: no password supplied"),
            "invalid sslmode value: \"bogus\"".to_string(),
            "invalid URI query parameter: \"bogus\"".to_string(),
            "invalid port number: \"54x\"".to_string(),
        ];
        for message in &for_good {
            assert!(refused_for_good(message), "{message}");
        }
        let passing = [
            format!("{server}Connection refused Is the server running on that host and accepting TCP/IP connections?"),
            format!("{server}FATAL:  the database system is starting up"),
            format!("{server}FATAL:  the database system is shutting down"),
            format!("{server}FATAL:  sorry, too many clients already"),
            format!("{server}FATAL:  too many connections for role \"scimd\""),
            format!("{server}FATAL:  too many connections for database \"scimd\""),
            format!(
                "{server}FATAL:  remaining connection slots are reserved for non-replication superuser connections"
            ),
            format!("{server}server closed the connection unexpectedly"),
            "could not translate host name \"db\" to address: Temporary failure in name resolution".to_string(),
            format!("{server}timeout expired"),
        ];
        for message in &passing {
            assert!(!refused_for_good(message), "{message}");
        }
    }

    #[test]
    fn postgresql_connections_give_up_after_the_wait_unless_the_url_says_otherwise() {
        let second = Duration::from_secs(1);
        let cases = [
            ("postgres://u@h/db", 30 * second, "postgres://u@h/db?connect_timeout=30"),
            ("postgres://u@h/db?sslmode=disable", 30 * second, "postgres://u@h/db?sslmode=disable&connect_timeout=30"),
            ("postgres://u@h/db", Duration::from_millis(2_300), "postgres://u@h/db?connect_timeout=3"),
            ("postgres://u@h/db", Duration::from_millis(300), "postgres://u@h/db?connect_timeout=2"),
            ("postgres://u@h/db", Duration::ZERO, "postgres://u@h/db?connect_timeout=2"),
            ("postgres://u@h/db?connect_timeout=7", 30 * second, "postgres://u@h/db?connect_timeout=7"),
            ("postgres://u@h/db?a=b&connect_timeout=0", 30 * second, "postgres://u@h/db?a=b&connect_timeout=0"),
            // Not the parameter: a database named so keeps its own.
            ("postgres://u@h/connect_timeout=5", 30 * second, "postgres://u@h/connect_timeout=5?connect_timeout=30"),
        ];
        for (url, timeout, want) in cases {
            assert_eq!(with_connect_timeout(url, timeout), want, "{url} {timeout:?}");
        }
    }

    #[test]
    fn a_silent_server_is_given_up_on_within_the_wait_unless_the_url_says_otherwise() {
        let second = Duration::from_secs(1);
        let bounds = "keepalives_idle=10&keepalives_interval=10&keepalives_count=3&tcp_user_timeout=30000";
        let cases = [
            ("postgres://u@h/db".to_string(), 30 * second, format!("postgres://u@h/db?{bounds}")),
            (
                "postgres://u@h/db?sslmode=disable".into(),
                600 * second,
                format!("postgres://u@h/db?sslmode=disable&{bounds}"),
            ),
            (
                "postgres://u@h/db".into(),
                2 * second,
                "postgres://u@h/db?keepalives_idle=1&keepalives_interval=1&keepalives_count=3&tcp_user_timeout=2000"
                    .into(),
            ),
            (
                "postgres://u@h/db".into(),
                12 * second,
                "postgres://u@h/db?keepalives_idle=4&keepalives_interval=4&keepalives_count=3&tcp_user_timeout=12000"
                    .into(),
            ),
            (
                "postgres://u@h/db?tcp_user_timeout=0&keepalives_count=9".into(),
                30 * second,
                "postgres://u@h/db?tcp_user_timeout=0&keepalives_count=9&keepalives_idle=10&keepalives_interval=10"
                    .into(),
            ),
            // A prefix of another parameter's name is not that parameter.
            ("postgres://u@h/db?keepalives=1".into(), 30 * second, format!("postgres://u@h/db?keepalives=1&{bounds}")),
        ];
        for (url, wait, want) in cases {
            assert_eq!(with_silence_bound(url.clone(), wait), want, "{url} {wait:?}");
        }
    }

    #[test]
    fn a_refusal_ends_the_wait_at_once() {
        let tries = Cell::new(0);
        let started = Instant::now();
        let outcome = wait_for_first(Duration::from_secs(600), &ConnectLog::default(), |_| {
            tries.set(tries.get() + 1);
            Err::<(), _>(ConnectionError::BadConnection(
                "connection to server at \"db\", port 5432 failed: FATAL:  password authentication failed for user \"scimd\"\n"
                    .into(),
            ))
        });
        assert_eq!(tries.get(), 1);
        assert!(started.elapsed() < Duration::from_secs(60));
        match outcome {
            Err(Error::Setup(said)) => assert_eq!(
                said,
                "cannot open the database: connection to server at \"db\", port 5432 failed: FATAL: \
                 password authentication failed for user \"scimd\""
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_failure_that_may_pass_is_tried_again_until_it_does_or_the_wait_ends() {
        let tries = Cell::new(0);
        let refused = || {
            ConnectionError::BadConnection(
                "connection to server at \"db\", port 5432 failed: Connection refused".into(),
            )
        };
        let outcome = wait_for_first(Duration::from_secs(600), &ConnectLog::default(), |_| {
            tries.set(tries.get() + 1);
            if tries.get() < 3 {
                Err(refused())
            } else {
                Ok(())
            }
        });
        assert!(outcome.is_ok(), "{outcome:?}");
        assert_eq!(tries.get(), 3);

        // Each attempt is given what is left of the wait.
        let left = std::cell::RefCell::new(Vec::new());
        let outcome = wait_for_first(Duration::from_millis(350), &ConnectLog::default(), |until_deadline| {
            left.borrow_mut().push(until_deadline);
            Err::<(), _>(refused())
        });
        assert!(
            matches!(&outcome, Err(Error::Unavailable(said)) if said.contains("Connection refused")),
            "{outcome:?}"
        );
        // 100, 200, then the 50 ms left: tried at 0, 100, 300 and 350 ms.
        let left = left.into_inner();
        assert!((3..=5).contains(&left.len()), "{left:?}");
        assert!(left[0] <= Duration::from_millis(350) && left[0] > Duration::from_millis(300), "{left:?}");
        assert!(left.windows(2).all(|w| w[1] < w[0]) && left[left.len() - 1] < Duration::from_millis(100), "{left:?}");
    }
}
