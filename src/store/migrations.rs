//! The schema's migrations, one folder per backend with the same names, embedded in the
//! binary and applied at start-up (and by `scimd migrate`).

use super::activity_file;
use super::backfills;
use super::connection::AnyConnection;
use crate::error::{Error, Result};
use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub(super) const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Held while migrating so replicas starting together on one PostgreSQL take turns.
pub(super) const MIGRATION_LOCK_KEY: i64 = 0x5c1d_0001;

/// The session's own setting (a name with a dot is free for any use) that keeps its
/// `lock_timeout` while migrations run without one.
const SAVED_LOCK_TIMEOUT: &str = "scimd.saved_lock_timeout";

pub fn run_migrations(conn: &mut AnyConnection) -> Result<()> {
    let applied = match conn {
        AnyConnection::Sqlite(c) => {
            activity_file::forget_another_directory_s_log(c)?;
            let result = c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len());
            if result.is_ok() {
                activity_file::recreate_lost_log(c)?;
            }
            migrated(result).and_then(|applied| backfills::run_pending(conn).map(|()| applied))
        }
        AnyConnection::Postgresql(c) => {
            // Migrating, and waiting for another replica's migration to end, take as long as
            // they take: the session's `lock_timeout` (the database wait) is set aside until
            // then, so that a replica does not fail to start because another's migration ran
            // longer than the wait.
            c.batch_execute(&format!(
                "SELECT set_config('{SAVED_LOCK_TIMEOUT}', current_setting('lock_timeout'), false); \
                 SET lock_timeout = 0; SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"
            ))?;
            let result = migrated(c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()));
            // Under the lock: replicas starting together do each backfill once, one after another.
            let result = result.and_then(|applied| backfills::run_pending(conn).map(|()| applied));
            let AnyConnection::Postgresql(c) = conn else { unreachable!("matched as PostgreSQL") };
            c.batch_execute(&format!(
                "SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY}); \
                 SELECT set_config('lock_timeout', current_setting('{SAVED_LOCK_TIMEOUT}'), false)"
            ))?;
            result
        }
    }?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(())
}

fn migrated(result: diesel::migration::Result<usize>) -> Result<usize> {
    result.map_err(|e| Error::internal(format!("migrations failed: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_backends_have_the_same_migration_names() {
        let names = |dir: &str| {
            let mut v: Vec<String> = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert!(!names("sqlite").is_empty());
        assert_eq!(names("sqlite"), names("postgres"));
    }
}
