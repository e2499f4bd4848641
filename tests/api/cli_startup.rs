//! What the command line says when it cannot do its work: settings out of range, a database it
//! cannot open, lock or reach, an address no client can use; and the log format it writes.

use crate::cli::scimd;
use crate::helpers::{Backend, TestDb};
use serde_json::Value;
use std::process::Command;

/// A command waits `--database-wait-secs` for another process's lock on a SQLite file, then
/// fails with a message that says so and writes nothing.
#[test]
fn a_command_on_a_locked_sqlite_file_fails_after_the_database_wait() {
    let db = TestDb::create(Backend::Sqlite).unwrap();
    let (ok, _, err) = scimd(&db, &["migrate"]);
    assert!(ok, "{err}");
    let held = db.hold("UPDATE tenants SET name = name WHERE 0");
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(["tenant", "create", "acme", "--database-wait-secs", "1"])
        .env("SCIMD_DATABASE_URL", db.url())
        .env("RUST_LOG", "off")
        .output()
        .expect("scimd runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("database is unavailable"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(8), "{:?}", started.elapsed());
    held.commit();
    let (ok, out, _) = scimd(&db, &["tenant", "list", "--json"]);
    assert!(ok && out.trim() == "[]", "nothing was written: {out}");
}

/// A setting out of the range it makes sense in is refused as it is parsed (exit status 2,
/// naming it), from a flag or the environment. Some used to panic once serving: a database
/// wait of u64::MAX seconds, zero workers, a retention past the calendar.
#[test]
fn settings_out_of_range_are_refused_before_anything_runs() {
    let run = |args: &[&str], env: Option<(&str, &str)>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_scimd"));
        // Were a value let through, the server would fail to open this and exit, not serve.
        command.args(args).env("SCIMD_DATABASE_URL", "sqlite:///nonexistent/dir/scimd.db");
        if let Some((name, value)) = env {
            command.env(name, value);
        }
        let out = command.output().expect("scimd runs");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let refused = [
        ("--workers", "0"),
        ("--database-wait-secs", "18446744073709551615"),
        ("--database-wait-secs", "0"),
        ("--request-log-retention-days", "999999999999"),
        ("--max-page-size", "0"),
        ("--default-page-size", "0"),
        ("--max-body-bytes", "10"),
        ("--pool-size", "0"),
        ("--webhook-timeout-secs", "0"),
        ("--webhook-retry-base-secs", "86401"),
        ("--webhook-max-attempts", "-3"),
        ("--credential-recheck-secs", "-1"),
        // Base URLs built on these were ones no IdP could call.
        ("--public-url", "scim.example.com"),
        ("--public-url", "https://"),
        ("--public-url", "ftp://scim.example.com"),
        ("--public-url", "https://scim.example.com/?tenant=x"),
        ("--public-url", "https://admin:secret@scim.example.com"),
        // Every interface's address, which no client can reach.
        ("--public-url", "http://0.0.0.0:8080"),
        ("--public-url", "https://[::]/"),
    ];
    for (flag, value) in refused {
        let (code, err) = run(&[&format!("{flag}={value}"), "serve"], None);
        assert_eq!(code, Some(2), "{flag} {value}: {err}");
        assert!(err.contains(flag) && err.contains("invalid value"), "{flag} {value}: {err}");
    }
    let (code, err) = run(&["serve"], Some(("SCIMD_WORKERS", "0")));
    assert_eq!(code, Some(2), "{err}");
    // A database URL that names nothing durable, or a scheme mistyped (its password unsaid).
    for url in ["", "sqlite://", ":memory:", "sqlite://:memory:", "postgress://scimd:hunter2@db/scimd"] {
        let (code, err) = run(&["tenant", "list"], Some(("SCIMD_DATABASE_URL", url)));
        assert_eq!(code, Some(2), "{url:?}: {err}");
        assert!(err.contains("--database-url") && !err.contains("hunter2"), "{url:?}: {err}");
    }
    // In range, the same flags pass (and the server then fails on the database, status 1).
    let in_range = ["--workers", "1", "--request-log-retention-days", "0", "--max-page-size", "100000"];
    let public = ["--public-url", "https://scim.example.com:8443/provisioning/"];
    let (code, err) = run(&[&in_range[..], &public, &["serve"]].concat(), None);
    assert_eq!(code, Some(1), "{err}");
}

/// `--log-format json` (or SCIMD_LOG_FORMAT): every log line one JSON object, for a log
/// collector; text stays the default.
#[test]
fn logs_can_be_written_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    // A fresh database each time: migrations are logged only when they are applied.
    let migrate = |format: Option<&str>| {
        let url = format!("sqlite://{}/{}.db", dir.path().display(), format.unwrap_or("text"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_scimd"));
        command.args(["migrate", "--database-url", &url]).env("RUST_LOG", "info").env_remove("SCIMD_LOG_FORMAT");
        if let Some(format) = format {
            command.env("SCIMD_LOG_FORMAT", format);
        }
        let out = command.output().expect("scimd runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let json = migrate(Some("json"));
    let lines: Vec<Value> =
        json.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert!(
        lines.iter().any(|l| l["level"] == "INFO" && l["fields"]["message"] == "database migrations applied"),
        "{json}"
    );
    let text = migrate(None);
    assert!(
        text.contains("database migrations applied")
            && serde_json::from_str::<Value>(text.lines().next().unwrap()).is_err(),
        "{text}"
    );
}

/// What keeps scimd from starting is said as the operator must fix it, naming the file or
/// the address, with exit status 1: it used to be an "internal error", as if scimd had a bug,
/// and a file that was not a database went unnamed.
#[test]
fn what_keeps_scimd_from_starting_is_said_as_an_operator_must_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let serve = |url: &str, bind: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_scimd"))
            .args(["serve", "--database-url", url, "--bind", bind])
            .env("RUST_LOG", "off")
            .output()
            .expect("scimd runs");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let not_a_database = dir.path().join("notes.db");
    std::fs::write(&not_a_database, "not a database, but a page of notes that is long enough").unwrap();
    let junk_log = dir.path().join("junk.db");
    std::fs::write(dir.path().join("junk.db-activity"), "not a request log either, and long enough").unwrap();
    let missing_dir = dir.path().join("missing").join("scimd.db");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let fresh = format!("sqlite://{}/fresh.db", dir.path().display());
    let cases = [
        (
            format!("sqlite://{}", not_a_database.display()),
            "127.0.0.1:0",
            format!("scimd: cannot open the database {}: file is not a database", not_a_database.display()),
        ),
        (
            format!("sqlite://{}", junk_log.display()),
            "127.0.0.1:0",
            format!("its request log {}-activity: file is not a database", junk_log.display()),
        ),
        (
            format!("sqlite://{}", missing_dir.display()),
            "127.0.0.1:0",
            format!("scimd: cannot open the database {}: unable to open database file", missing_dir.display()),
        ),
        (fresh.clone(), taken.as_str(), format!("scimd: cannot listen on {taken}: ")),
        (fresh, "nonsense", "scimd: cannot listen on nonsense: ".to_string()),
    ];
    for (url, bind, said) in cases {
        let (code, err) = serve(&url, bind);
        assert_eq!(code, Some(1), "{url} {bind}: {err}");
        assert!(err.contains(&said) && !err.contains("internal error"), "{url} {bind}: {err}");
    }
}

/// Listening on every interface (`0.0.0.0`, as in a container) with no public URL, Base URLs
/// would name 0.0.0.0: the commands that print them say so beside them, and say nothing once
/// the public URL is set.
#[test]
fn base_urls_naming_every_interface_come_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_scimd"))
            .args(args)
            .env("SCIMD_DATABASE_URL", format!("sqlite://{}/scimd.db", dir.path().display()))
            .env("SCIMD_BIND", "0.0.0.0:8080")
            .env_remove("SCIMD_PUBLIC_URL")
            .env("RUST_LOG", "off")
            .output()
            .expect("scimd runs");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (out, err) = run(&["tenant", "create", "acme", "--json"]);
    let created: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(created["base_url"], "http://0.0.0.0:8080/scim/v2/acme");
    assert!(err.contains("warning") && err.contains("http://0.0.0.0:8080") && err.contains("--public-url"), "{err}");
    // A script that reads only stdout's JSON is told too.
    let warning = created["base_url_warning"].as_str().unwrap_or_default();
    assert!(warning.contains("http://0.0.0.0:8080") && warning.contains("--public-url"), "{created}");
    for args in [&["tenant", "show", "acme", "--json"][..], &["credential", "issue", "acme", "--json"]] {
        let (out, _) = run(args);
        let shown: Value = serde_json::from_str(&out).unwrap();
        assert!(shown["base_url_warning"].as_str().is_some_and(|w| w.contains("0.0.0.0")), "{args:?}: {out}");
    }
    let (out, err) = run(&["tenant", "show", "acme", "--public-url", "https://scim.example.com"]);
    assert!(out.contains("https://scim.example.com/scim/v2/acme") && err.is_empty(), "{out}{err}");
    let (out, _) = run(&["tenant", "show", "acme", "--json", "--public-url", "https://scim.example.com"]);
    assert!(!out.contains("base_url_warning"), "{out}");
}

/// A PostgreSQL URL the server refuses (a wrong password, a database that does not exist)
/// fails a command and the server's start-up at once, saying what PostgreSQL said and not the
/// password; they used to wait the whole database wait and then call the database unavailable.
/// A server that cannot be reached is still waited for.
#[test]
fn a_postgresql_url_the_server_refuses_fails_at_once() {
    let Some(db) = TestDb::create(Backend::Postgres) else { return };
    let url = db.url();
    let (scheme, rest) = url.split_once("://").unwrap();
    let (credentials, place) = rest.split_once('@').unwrap();
    let user = credentials.split(':').next().unwrap();
    let (host, database_and_options) = place.split_once('/').unwrap();
    let (_, options) = database_and_options.split_once('?').unwrap_or((database_and_options, ""));
    let wrong_password = format!("{scheme}://{user}:hunter2@{place}");
    let no_database = format!("{scheme}://{credentials}@{host}/scimd_no_such_database?{options}");
    let run = |url: &str, args: &[&str], wait: &str| {
        let started = std::time::Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_scimd"))
            .args(args)
            .args(["--database-wait-secs", wait, "--bind", "127.0.0.1:0"])
            .env("SCIMD_DATABASE_URL", url)
            .env("RUST_LOG", "off")
            .output()
            .expect("scimd runs");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned(), started.elapsed())
    };
    let cases = [
        (&wrong_password, "password authentication failed for user"),
        (&no_database, "database \"scimd_no_such_database\" does not exist"),
    ];
    for (url, said) in cases {
        for args in [&["tenant", "list"][..], &["serve"], &["migrate"]] {
            let (code, err, took) = run(url, args, "600");
            assert_eq!(code, Some(1), "{args:?} {url}: {err}");
            assert!(err.contains("scimd: cannot open the database: ") && err.contains(said), "{args:?}: {err}");
            assert!(!err.contains("hunter2") && !err.contains("unavailable"), "{args:?}: {err}");
            // A minute: far under the 600 s wait, far over any start-up.
            assert!(took < std::time::Duration::from_secs(60), "{args:?} took {took:?}");
        }
    }
    // Nothing listens on a port just freed: waited for, the wait given, then unavailable.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let unreachable = format!("{scheme}://{credentials}@127.0.0.1:{free}/{database_and_options}");
    let (code, err, took) = run(&unreachable, &["tenant", "list"], "2");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("database is unavailable") && err.contains("Connection refused"), "{err}");
    assert!(took >= std::time::Duration::from_secs(2), "{took:?}");
}

/// A PostgreSQL server that takes the connection and never answers (stalled behind a proxy,
/// say) holds a command no longer than its database wait: libpq alone waits for ever.
#[test]
fn a_postgresql_server_that_never_answers_is_waited_for_no_longer_than_the_wait() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and holds every connection, saying nothing, until the test ends.
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().map_while(Result::ok).collect();
        drop(held);
    });
    let started = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimd"))
        .args(["tenant", "list", "--database-wait-secs", "3"])
        .env("SCIMD_DATABASE_URL", format!("postgres://scimd:secret@127.0.0.1:{port}/scimd?sslmode=disable"))
        .env("RUST_LOG", "off")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("scimd runs");
    // Killed rather than waited for, should it hang as it did.
    while child.try_wait().unwrap().is_none() && started.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(took < std::time::Duration::from_secs(30), "still waiting after {took:?}");
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("database is unavailable") && err.contains("timeout expired"), "{err}");
    assert!(took >= std::time::Duration::from_secs(3), "{took:?}");
}
