//! A user's PUT or PATCH worked out from a version of the user read before the write: written
//! with its events only while the user is still at that version. On PostgreSQL the whole
//! write is one message, so a PUT costs two round trips (the read, the write) instead of four
//! (BEGIN, the read, the UPDATE, the events with the COMMIT).

use super::connection;
use super::events::{append_sql_pg, Batch};
use super::sql::Piece;
use super::sql_run::literal_text_pg;
use super::users::map_write_error;
use super::{Backend, NewEvent, Store, TenantId, Tx, UserKeys, UserRow, UserWrite};
use crate::error::Result;
use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::result::{DatabaseErrorKind, Error::DatabaseError};

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
        let PlannedUserWrite { was, write, password_hash, events } = planned;
        let row = self.update_user(tenant, current, was, write, password_hash.as_deref(), now)?;
        self.append_events(tenant, events, request_id, now)?;
        Ok(row)
    }
}

impl Store {
    /// Whether a user's PUT or PATCH is read first and then written by `write_planned_user`
    /// (PostgreSQL), rather than read and written inside one transaction on the writer
    /// (SQLite, whose one writer's page cache is where the user's pages are cheap to read; a
    /// read connection finds its cache stale after every commit).
    pub fn plans_user_writes_first(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// `Tx::write_planned_user` as one write of its own. On PostgreSQL its statements go in
    /// one message, which PostgreSQL runs as one implicit transaction: the user's UPDATE (a
    /// function that fails with SQLSTATE 40001 when the version moved on, rolling the message
    /// back), the user's index rows if they changed, and the event append.
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
        let message = message_pg(tenant, current, planned, request_id, now)?;
        // `on_live` sends it again on another connection if this one turns out dead. Should
        // the first have committed before its connection died, the second fails its version
        // check instead of applying the change twice.
        let (_, sent) = connection::on_live(&self.write, |conn| match conn.batch_execute(&message) {
            Err(e @ DatabaseError(DatabaseErrorKind::ClosedConnection, _)) => Err(e),
            other => Ok(other),
        })?;
        sent.map_err(|e| map_write_error(e, &planned.write.user_name))?;
        if !planned.events.is_empty() {
            self.events_committed.notify_one();
        }
        Ok(super::users::updated_row(current, &planned.write, now))
    }
}

/// The statements of `Store::write_planned_user` on PostgreSQL, with their values as literals
/// (the simple protocol binds nothing).
fn message_pg(
    tenant: TenantId,
    current: &UserRow,
    planned: &PlannedUserWrite,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String> {
    let PlannedUserWrite { was, write, password_hash, events } = planned;
    let k = &write.keys;
    let nullable_bool = |b: Option<bool>| b.map_or(Piece::Sql("NULL::boolean".into()), Piece::Bool);
    let comma = || Piece::Sql(", ".into());
    let mut pieces = vec![
        Piece::Sql("SELECT scimd_update_user(".into()),
        Piece::BigInt(tenant.get()),
        comma(),
        Piece::BigInt(current.pk),
        comma(),
        Piece::BigInt(current.version),
        comma(),
        Piece::BigInt(current.version + 1),
        comma(),
        Piece::Timestamp(now.naive_utc()),
        comma(),
        Piece::Text(write.user_name.clone()),
        comma(),
        Piece::Text(k.user_name_norm.clone()),
        comma(),
        Piece::text_or_null(k.external_id.as_deref()),
        comma(),
        Piece::text_or_null(k.display_name_norm.as_deref()),
        comma(),
        nullable_bool(k.active),
        comma(),
        Piece::Text(write.data.clone()),
        comma(),
        Piece::Text(write.data_norm.clone()),
        comma(),
        Piece::text_or_null(password_hash.as_deref()),
        Piece::Sql(")".into()),
    ];
    if was.values != k.values {
        pieces.push(Piece::Sql("; DELETE FROM user_values WHERE tenant_id = ".into()));
        pieces.push(Piece::BigInt(tenant.get()));
        pieces.push(Piece::Sql(" AND user_pk = ".into()));
        pieces.push(Piece::BigInt(current.pk));
        if !k.values.is_empty() {
            pieces.push(Piece::Sql(
                "; INSERT INTO user_values (tenant_id, user_pk, attr, position, value_norm, type_norm, is_primary) \
                 VALUES "
                    .into(),
            ));
            for (i, v) in k.values.iter().enumerate() {
                let row = [
                    Piece::BigInt(tenant.get()),
                    Piece::BigInt(current.pk),
                    Piece::Text(v.attr.to_string()),
                    Piece::BigInt(i64::from(v.position)),
                    Piece::text_or_null(v.value_norm.as_deref()),
                    Piece::text_or_null(v.type_norm.as_deref()),
                    nullable_bool(v.is_primary),
                ];
                super::sql::push_row(&mut pieces, i == 0, row);
            }
        }
    }
    let mut message = literal_text_pg(&pieces)?;
    if !events.is_empty() {
        message.push_str("; ");
        message.push_str(&append_sql_pg(&Batch { tenant, events, request_id, now })?);
    }
    Ok(message)
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

    /// A user write whose strings need quoting in a literal, with one indexed email.
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
}
