//! Tests of `Store`'s pools: a read that runs only when it would not wait, and PostgreSQL
//! connections that died in the pool replaced on their next use.

use super::*;

#[test]
fn a_read_now_runs_only_when_it_would_not_wait() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}/t.db", dir.path().display()), 1).unwrap();
    // The pool opens connections on demand: `read` opens the one it has.
    store.read(|_| Ok(())).unwrap();
    assert_eq!(store.read_now(|_| Ok(7)).transpose().unwrap(), Some(7));
    let held = store.read.get().unwrap();
    assert!(store.read_now(|_| -> Result<()> { panic!("ran while the only connection was taken") }).is_none());
    drop(held);
    assert_eq!(store.read_now(|_| Ok(8)).transpose().unwrap(), Some(8));
}

#[derive(diesel::QueryableByName)]
struct Pid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

fn backend_pid(tx: &mut Tx<'_>) -> Result<i32> {
    let AnyConnection::Postgresql(pg) = &mut *tx.conn else { unreachable!() };
    Ok(diesel::RunQueryDsl::get_result::<Pid>(diesel::sql_query("SELECT pg_backend_pid() AS pid"), pg)?.pid)
}

/// Ends the server side of these connections and waits until PostgreSQL has let them go.
fn terminate(admin_url: &str, pids: &[i32]) {
    use diesel::connection::SimpleConnection;
    let mut admin = diesel::PgConnection::establish(admin_url).unwrap();
    for pid in pids {
        admin.batch_execute(&format!("SELECT pg_terminate_backend({pid})")).unwrap();
    }
    let list = pids.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    for _ in 0..500 {
        let alive: i64 = diesel::RunQueryDsl::get_result(
            diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
                "(SELECT count(*) FROM pg_stat_activity WHERE pid IN ({list}))"
            ))),
            &mut admin,
        )
        .unwrap();
        if alive == 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("backends {list} did not exit");
}

/// The pool does not test connections on checkout; a connection whose server side ended
/// is replaced when its BEGIN (or a read's one statement) fails, for reads and writes, however
/// many of them died.
#[test]
fn postgres_connections_that_died_in_the_pool_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let (stores, _schema) = test_stores::stores(&dir);
    let Some(store) = stores.iter().find(|s| s.backend() == Backend::Postgres) else { return };
    let admin_url = std::env::var("SCIMD_TEST_POSTGRES_URL").unwrap();

    let first = store.read(backend_pid).unwrap();
    terminate(&admin_url, &[first]);
    let second = store.read(backend_pid).unwrap();
    assert_ne!(first, second);

    terminate(&admin_url, &[second]);
    let third = store.write(backend_pid).unwrap();
    assert_ne!(second, third);

    // Both of the pool's connections dead at once (one nested read holds the other).
    let both = store.read(|outer| Ok((backend_pid(outer)?, store.read(backend_pid)?))).unwrap();
    assert_ne!(both.0, both.1);
    terminate(&admin_url, &[both.0, both.1]);
    let fresh = store.write(backend_pid).unwrap();
    assert!(fresh != both.0 && fresh != both.1);
    assert_eq!(store.read(backend_pid).unwrap(), fresh);

    // A read by one statement, outside a transaction, too.
    terminate(&admin_url, &[fresh]);
    assert!(store.user_and_groups(TenantId(1), predicate::UserKey::Id("nobody"), true).unwrap().is_none());
    assert_ne!(store.read(backend_pid).unwrap(), fresh);

    // A user's write statements (`write_on_live_pg`), with every pooled connection dead.
    let now = chrono::Utc::now();
    let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
    let kill_pool = || {
        let both = store.read(|outer| Ok((backend_pid(outer)?, store.read(backend_pid)?))).unwrap();
        terminate(&admin_url, &[both.0, both.1]);
    };
    let keys = UserKeys {
        user_name_norm: "a".into(),
        external_id: None,
        display_name_norm: None,
        active: Some(true),
        values: Vec::new(),
    };
    let write = UserWrite { user_name: "a".into(), keys, data: "{}".into(), data_norm: "{}".into() };
    let new = NewUser { id: "u1".into(), write: write.clone(), password_hash: None, now };
    kill_pool();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let row = runtime.block_on(store.insert_user(tenant, new, Vec::new(), None)).unwrap();
    kill_pool();
    let planned = PlannedUserWrite { was: write.keys.clone(), write, password_hash: None, events: Vec::new() };
    assert_eq!(store.write_planned_user(tenant, &row, &planned, None, now).unwrap().version, 2);

    // The webhook worker's vacuum of numbered events.
    kill_pool();
    store.vacuum_pending_events().unwrap();
}

/// A detached write commits without its caller waiting, on either backend, and one that
/// fails hands its error to `failed` and leaves nothing behind.
#[test]
fn a_detached_write_commits_or_reports_its_failure() {
    use crate::clock::{Clock, SystemClock};
    let dir = tempfile::tempdir().unwrap();
    let (stores, _schema) = super::test_stores::stores(&dir);
    for store in stores {
        let (done, finished) = std::sync::mpsc::channel();
        let failed = done.clone();
        store.write_detached(
            move |tx| {
                tx.create_tenant("detached", SystemClock.now())?;
                done.send(None).unwrap();
                Ok(())
            },
            move |e| failed.send(Some(e.to_string())).unwrap(),
        );
        let waited = std::time::Duration::from_secs(10);
        assert_eq!(finished.recv_timeout(waited).unwrap(), None);
        // Ran; now committed: a read sees it once the write's commit is done.
        let seen = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            store.read(|tx| tx.tenant_by_name("detached")).unwrap().is_some()
        });
        assert!(seen, "the detached write committed");

        let (reported, report) = std::sync::mpsc::channel();
        store.write_detached(
            |tx| {
                tx.create_tenant("half", SystemClock.now())?;
                tx.create_tenant("detached", SystemClock.now()).map(drop)
            },
            move |e| reported.send(e).unwrap(),
        );
        let error = report.recv_timeout(waited).unwrap();
        assert!(matches!(error, Error::Conflict(_)), "{error:?}");
        assert!(store.read(|tx| tx.tenant_by_name("half")).unwrap().is_none(), "rolled back");
    }
}
