//! A user's PUT or PATCH worked out from a version of the user read before the write: written
//! with its events only while the user is still at that version. On PostgreSQL the write is one
//! statement, `scimd_update_user` (migration 000015), so a PUT costs two round trips (the read,
//! the write) instead of four (BEGIN, the read, the UPDATE, the events with the COMMIT).

use super::commit::ReadMark;
use super::pool_checkout::write_on_live_pg;
use super::predicate::UserKey;
use super::savepoint::Stopped;
use super::user_args_pg::{bind_all, bind_user_columns, pg_statement, EventArrays, ValueArrays};
use super::user_read::{user_and_groups, UserAndGroups};
use super::users::map_write_error;
use super::{Backend, NewEvent, Store, TenantId, Tx, UserKeys, UserRow, UserWrite};
use crate::error::{Error, Result};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{BigInt, Bool, Timestamp};
use diesel::{QueryResult, RunQueryDsl};
use std::sync::Arc;

/// A user's new state and the events that describe the change, worked out from one version.
#[derive(Debug, Clone)]
pub struct PlannedUserWrite {
    /// What the user put in the indexes at that version.
    pub was: UserKeys,
    pub write: UserWrite,
    /// `Some` sets a new password; `None` keeps the stored one.
    pub password_hash: Option<String>,
    pub events: Vec<NewEvent>,
}

impl Tx<'_> {
    /// Writes `planned` over `current` and appends its events, or `Error::WriteConflict` with
    /// nothing written when the user is no longer at `current`'s version.
    pub fn write_planned_user(
        &mut self,
        tenant: TenantId,
        current: &UserRow,
        planned: &PlannedUserWrite,
        request_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<UserRow> {
        self.write_planned_user_unguarded(tenant, current, planned, request_id, now).map_err(Stopped::into_error)
    }

    /// `write_planned_user`, saying whether it stopped before changing anything (its first
    /// statement, the UPDATE of the user's row, found the version moved on or broke a unique
    /// key) or after (any other failure), for a write run without a savepoint.
    pub fn write_planned_user_unguarded(
        &mut self,
        tenant: TenantId,
        current: &UserRow,
        planned: &PlannedUserWrite,
        request_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> std::result::Result<UserRow, Stopped> {
        let PlannedUserWrite { was, write, password_hash, events } = planned;
        let row =
            self.update_user_row(tenant, current, was, write, password_hash.as_deref(), now).map_err(|e| match e {
                // The version check, and a constraint SQLite checked before it changed a row.
                Error::WriteConflict | Error::Conflict(_) => Stopped::Before(e),
                // An I/O error, a full disk or a busy file may have ended the whole transaction.
                e => Stopped::After(e),
            })?;
        self.update_user_values(tenant, current, was, write).map_err(Stopped::After)?;
        self.append_events(tenant, events, request_id, now).map_err(Stopped::After)?;
        Ok(row)
    }
}

impl Store {
    /// Whether a user's PUT or PATCH is read on a connection of its own and then written by
    /// `write_planned_user` (PostgreSQL), rather than read on the writer between writes
    /// (`user_and_groups_on_writer`) and written by it (SQLite, whose one writer's page cache is
    /// where the user's pages are cheap to read; a read connection finds its cache stale after
    /// every commit).
    pub fn plans_user_writes_first(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// `Tx::write_planned_user` as one write of its own. On PostgreSQL it is one statement, a
    /// transaction by itself, whose function writes nothing and answers false
    /// (`WriteConflict`) when the version moved on.
    pub fn write_planned_user(
        &self,
        tenant: TenantId,
        current: &UserRow,
        planned: &PlannedUserWrite,
        request_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<UserRow> {
        if self.backend == Backend::Sqlite {
            return self.write(|tx| tx.write_planned_user(tenant, current, planned, request_id, now));
        }
        let values_changed = planned.was.values != planned.write.keys.values;
        let statement = UpdateUser {
            tenant: tenant.get(),
            current,
            version: current.version + 1,
            now: now.naive_utc(),
            planned,
            values_changed,
            // Sent only to be written: most writes leave them as they were.
            values: ValueArrays::new(if values_changed { &planned.write.keys.values } else { &[] }),
            events: EventArrays::new(&planned.events, request_id),
        };
        // Sent again if its connection was dead. Should the first have committed, the second
        // fails its version check (nothing written twice); the caller then applies the request
        // to the user as it now is, as the client's own retry would.
        let updated = write_on_live_pg(&self.write, |pg| statement.clone().get_result::<bool>(pg))?;
        if !updated.map_err(|e| map_write_error(e, &planned.write.user_name))? {
            return Err(Error::WriteConflict);
        }
        if !planned.events.is_empty() {
            self.events_committed.notify_one();
        }
        Ok(super::users::updated_row(current, &planned.write, now))
    }

    /// SQLite: the user `id` and its groups (`user_and_groups`), read on the writer between two
    /// writes, for a PUT or PATCH that plans its change off the writer and then writes it with
    /// `write_after_read`. The plan (the stored document parsed, patched, validated and
    /// compared) was a third of the writer's work per PATCH. `None` on PostgreSQL, which reads
    /// on a connection of its own (`plans_user_writes_first`).
    pub async fn user_and_groups_on_writer(
        &self,
        tenant: TenantId,
        id: Arc<str>,
        with_groups: bool,
    ) -> Option<Result<(Option<UserAndGroups>, ReadMark)>> {
        let lane = self.group_commit.as_ref()?;
        let read = move |tx: &mut Tx<'_>| Ok(user_and_groups(tx.conn, tenant, UserKey::Id(&id), with_groups)?);
        Some(lane.read_async(&self.write, read).await)
    }

    /// `write_async` of what was planned from `user_and_groups_on_writer`'s read (`mark`):
    /// `Error::WriteConflict`, with nothing written, if a batch that read may have seen has
    /// failed since. `f` runs without a savepoint of its own and says when it stopped
    /// (`Stopped`); should it stop after its first change, its whole batch is rolled back.
    pub async fn write_after_read<R: Send + 'static>(
        &self,
        mark: ReadMark,
        f: impl FnOnce(&mut Tx<'_>) -> std::result::Result<R, Stopped> + Send + 'static,
    ) -> Result<R> {
        let Some(lane) = &self.group_commit else {
            return Err(Error::internal("a write after a read on the writer, without a writer"));
        };
        let (out, committed) = lane.run_after_read(&self.write, mark, f).await;
        if committed.appended_events {
            self.events_committed.notify_one();
        }
        out
    }
}

/// `SELECT scimd_update_user(…)` with every value bound: one statement text for every change.
#[derive(Clone)]
struct UpdateUser<'a> {
    tenant: i64,
    current: &'a UserRow,
    version: i64,
    now: NaiveDateTime,
    planned: &'a PlannedUserWrite,
    values_changed: bool,
    values: ValueArrays,
    events: EventArrays<'a>,
}

pg_statement!(UpdateUser, Bool);

impl QueryFragment<Pg> for UpdateUser<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT scimd_update_user(");
        bind_all!(out;
            BigInt => &self.tenant,
            BigInt => &self.current.pk,
            BigInt => &self.current.version,
            BigInt => &self.version,
            Timestamp => &self.now,
        );
        bind_user_columns(&mut out, &self.planned.write, &self.planned.password_hash)?;
        out.push_sql(", ");
        out.push_bind_param::<Bool, _>(&self.values_changed)?;
        self.values.bind(&mut out)?;
        self.events.bind(&mut out)?;
        out.push_sql(")");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::PlannedUserWrite;
    use crate::error::Error;
    use crate::store::schema::{user_values, users};
    use crate::store::test_stores::stores;
    use crate::store::{NewEvent, NewUser, Store, TenantId, UserKeys, UserRow, UserValueRow, UserWrite};
    use chrono::Utc;
    use diesel::prelude::*;

    /// A user write with strings a SQL literal would have to escape, and one indexed email.
    fn user_write(user_name: &str, email: &str) -> UserWrite {
        UserWrite {
            user_name: user_name.into(),
            keys: UserKeys {
                user_name_norm: user_name.to_lowercase(),
                external_id: Some("ext-'1'\\".into()),
                display_name_norm: None,
                active: Some(false),
                values: vec![UserValueRow {
                    attr: "emails",
                    position: 0,
                    value_norm: Some(email.into()),
                    type_norm: Some("work".into()),
                    is_primary: None,
                }],
            },
            data: format!("{{\"userName\":\"{user_name}\",\"title\":\"O'Brien \\\\ Co\"}}"),
            data_norm: "{}".into(),
        }
    }

    fn planned(was: &UserWrite, write: UserWrite, password_hash: Option<&str>, event: &str) -> PlannedUserWrite {
        let events = vec![NewEvent {
            event_type: "user.updated",
            resource_type: Some("User"),
            resource_id: Some("u1".into()),
            data: event.into(),
        }];
        PlannedUserWrite { was: was.keys.clone(), write, password_hash: password_hash.map(str::to_string), events }
    }

    type Stored = (String, String, Option<String>, Option<bool>, Option<String>, i64, Vec<Option<String>>, usize);

    /// The user's columns, its indexed emails and how many events the tenant has.
    fn stored(store: &Store, tenant: TenantId, pk: i64) -> Stored {
        store.number_events(Some(tenant)).unwrap();
        store
            .read(|tx| {
                let (name, data, external_id, active, password, version) = users::table
                    .filter(users::pk.eq(pk))
                    .select((
                        users::user_name,
                        users::data,
                        users::external_id,
                        users::active,
                        users::password_hash,
                        users::version,
                    ))
                    .get_result::<(String, String, Option<String>, Option<bool>, Option<String>, i64)>(tx.conn)?;
                let emails = user_values::table
                    .filter(user_values::user_pk.eq(pk))
                    .order(user_values::position)
                    .select(user_values::value_norm)
                    .load(tx.conn)?;
                let events = tx.events_after(tenant, 0, 100)?.len();
                Ok((name, data, external_id, active, password, version, emails, events))
            })
            .unwrap()
    }

    /// What a planned write writes, that it writes nothing from a stale version or over another
    /// user's userName, and that it keeps the password unless given one; on both backends
    /// (PostgreSQL's is the one-message path).
    #[test]
    fn a_planned_write_lands_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (all, _schema) = stores(&dir);
        for store in all {
            let now = Utc::now();
            let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
            let first = user_write("A", "a@x.com");
            let new = |id: &str, write: &UserWrite| NewUser {
                id: id.into(),
                write: write.clone(),
                password_hash: Some("h0".into()),
                now,
            };
            let v1: UserRow = store.write(|tx| tx.insert_user(tenant, &new("u1", &first))).unwrap();
            store.write(|tx| tx.insert_user(tenant, &new("u2", &user_write("Taken", "t@x.com")))).unwrap();

            let second = user_write("B'\\", "b@x.com");
            let v2 = store
                .write_planned_user(tenant, &v1, &planned(&first, second.clone(), Some("h1"), "{\"n\":1}"), None, now)
                .unwrap();
            assert_eq!((v2.version, v2.data.as_str()), (2, second.data.as_str()));
            let after_v2 = stored(&store, tenant, v1.pk);
            let expected = (
                "B'\\".to_string(),
                second.data.clone(),
                Some("ext-'1'\\".to_string()),
                Some(false),
                Some("h1".to_string()),
                2,
                vec![Some("b@x.com".to_string())],
                1,
            );
            assert_eq!(after_v2, expected, "{:?}", store.backend());

            // Worked out from version 1, which is gone: nothing is written, no event appended.
            let stale = store.write_planned_user(
                tenant,
                &v1,
                &planned(&first, user_write("C", "c@x.com"), None, "{}"),
                None,
                now,
            );
            assert!(matches!(stale, Err(Error::WriteConflict)), "{stale:?}");
            // Another user's userName: the user's unique index refuses it, and the whole write.
            let taken = store.write_planned_user(
                tenant,
                &v2,
                &planned(&second, user_write("TAKEN", "d@x.com"), None, "{}"),
                None,
                now,
            );
            assert!(matches!(&taken, Err(Error::Conflict(m)) if m.contains("TAKEN")), "{taken:?}");
            assert_eq!(stored(&store, tenant, v1.pk), after_v2, "{:?}", store.backend());

            // No password given keeps the stored one; the same emails leave their rows alone.
            let third = user_write("B'\\", "b@x.com");
            let v3 = store.write_planned_user(tenant, &v2, &planned(&second, third, None, "{}"), None, now).unwrap();
            assert_eq!(v3.version, 3);
            let after_v3 = stored(&store, tenant, v1.pk);
            assert_eq!((after_v3.4.as_deref(), after_v3.5, &after_v3.6, after_v3.7), (Some("h1"), 3, &expected.6, 2));
        }
    }

    /// Without a savepoint, a planned write says whether it stopped before changing anything (a
    /// stale version, another user's userName: its UPDATE's own failures) or after (its events
    /// could not be appended); after, its whole batch is rolled back, the UPDATE with it.
    #[test]
    fn a_planned_write_without_a_savepoint_says_when_it_stopped() {
        use crate::store::schema::tenant_counters;
        use crate::store::Stopped;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}/t.db", dir.path().display()), 2).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let now = Utc::now();
        let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
        let first = user_write("A", "a@x.com");
        let new =
            |id: &str, write: &UserWrite| NewUser { id: id.into(), write: write.clone(), password_hash: None, now };
        let v1: UserRow = store.write(|tx| tx.insert_user(tenant, &new("u1", &first))).unwrap();
        store.write(|tx| tx.insert_user(tenant, &new("u2", &user_write("Taken", "t@x.com")))).unwrap();
        let stale = UserRow { version: 0, ..v1.clone() };
        let unguarded = |current: &UserRow, plan: &PlannedUserWrite| {
            store.write(|tx| Ok(tx.write_planned_user_unguarded(tenant, current, plan, None, now))).unwrap()
        };

        let outdated = unguarded(&stale, &planned(&first, user_write("C", "c@x.com"), None, "{}"));
        assert!(matches!(outdated, Err(Stopped::Before(Error::WriteConflict))), "{outdated:?}");
        let taken = unguarded(&v1, &planned(&first, user_write("TAKEN", "d@x.com"), None, "{}"));
        assert!(matches!(&taken, Err(Stopped::Before(Error::Conflict(m))) if m.contains("TAKEN")), "{taken:?}");

        // With the tenant's counters gone, its events cannot be numbered: the UPDATE has run.
        store.write(|tx| Ok(diesel::delete(tenant_counters::table).execute(tx.conn).map(drop)?)).unwrap();
        let (found, mark) =
            runtime.block_on(store.user_and_groups_on_writer(tenant, "u1".into(), false)).unwrap().unwrap();
        let current = found.unwrap().row;
        let plan = planned(&first, user_write("B", "b@x.com"), None, "{}");
        let after = runtime.block_on(
            store.write_after_read(mark, move |tx| tx.write_planned_user_unguarded(tenant, &current, &plan, None, now)),
        );
        assert!(matches!(after, Err(Error::Internal(_))), "{after:?}");
        let (name, version) = store
            .read(|tx| {
                Ok(users::table
                    .filter(users::pk.eq(v1.pk))
                    .select((users::user_name, users::version))
                    .first::<(String, i64)>(tx.conn)?)
            })
            .unwrap();
        assert_eq!((name.as_str(), version), ("A", 1), "the batch, its UPDATE with it, was rolled back");
    }
}
