//! A user's POST as one write: the user, its index rows and its events. On PostgreSQL that is
//! one statement, `scimd_insert_user` (migration 000016), prepared once per connection: one
//! round trip where a POST took five.

use super::pool_checkout::write_on_live_pg;
use super::user_args_pg::{bind_all, bind_user_columns, pg_statement, EventArrays, ValueArrays};
use super::users::map_write_error;
use super::{Backend, NewEvent, NewUser, Store, TenantId, UserRow};
use crate::error::Result;
use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{BigInt, Text, Timestamp};
use diesel::{QueryResult, RunQueryDsl};

impl Store {
    /// Inserts `new` and appends `events` (RFC 7644 §3.3), as one write that returns once it
    /// is durable.
    pub async fn insert_user(
        &self,
        tenant: TenantId,
        new: NewUser,
        events: Vec<NewEvent>,
        request_id: Option<String>,
    ) -> Result<UserRow> {
        if self.backend == Backend::Sqlite {
            return self
                .write_async(move |tx| {
                    let row = tx.insert_user(tenant, &new)?;
                    tx.append_events(tenant, &events, request_id.as_deref(), new.now)?;
                    Ok(row)
                })
                .await;
        }
        let store = self.clone();
        let insert = move || store.insert_user_pg(tenant, &new, &events, request_id.as_deref());
        self.offload(insert).await
    }

    fn insert_user_pg(
        &self,
        tenant: TenantId,
        new: &NewUser,
        events: &[NewEvent],
        request_id: Option<&str>,
    ) -> Result<UserRow> {
        let statement = InsertUser {
            tenant: tenant.get(),
            new,
            now: new.now.naive_utc(),
            values: ValueArrays::new(&new.write.keys.values),
            events: EventArrays::new(events, request_id),
        };
        // Sent again if its connection was dead: should the first have committed, the second
        // fails on the user's unique id, a 409 for a user that exists, as the client's own
        // retry would get.
        let inserted = write_on_live_pg(&self.write, |pg| statement.clone().get_result::<i64>(pg))?;
        let pk = inserted.map_err(|e| map_write_error(e, &new.write.user_name))?;
        if !events.is_empty() {
            self.events_committed.notify_one();
        }
        Ok(UserRow::inserted(pk, new))
    }
}

/// `SELECT scimd_insert_user(…)` with every value bound: one statement text for every user.
#[derive(Clone)]
struct InsertUser<'a> {
    tenant: i64,
    new: &'a NewUser,
    now: NaiveDateTime,
    values: ValueArrays,
    events: EventArrays<'a>,
}

pg_statement!(InsertUser, BigInt);

impl QueryFragment<Pg> for InsertUser<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT scimd_insert_user(");
        bind_all!(out;
            BigInt => &self.tenant,
            Text => &self.new.id,
        );
        bind_user_columns(&mut out, &self.new.write, &self.new.password_hash)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        self.values.bind(&mut out)?;
        self.events.bind(&mut out)?;
        out.push_sql(")");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::store::schema::{user_values, users};
    use crate::store::test_stores::stores;
    use crate::store::{NewEvent, NewUser, Store, TenantId, UserKeys, UserValueRow, UserWrite};
    use chrono::Utc;
    use diesel::prelude::*;

    fn new_user(id: &str, user_name: &str, emails: &[&str]) -> NewUser {
        let values = emails
            .iter()
            .enumerate()
            .map(|(i, e)| UserValueRow {
                attr: "emails",
                position: i as i32,
                value_norm: Some(e.to_string()),
                type_norm: (i == 0).then(|| "work".into()),
                is_primary: (i == 0).then_some(true),
            })
            .collect();
        let keys = UserKeys {
            user_name_norm: user_name.to_lowercase(),
            external_id: None,
            display_name_norm: Some("d".into()),
            active: Some(true),
            values,
        };
        let data = format!("{{\"userName\":\"{user_name}\"}}");
        let write = UserWrite { user_name: user_name.into(), keys, data, data_norm: "{}".into() };
        NewUser { id: id.into(), write, password_hash: None, now: Utc::now() }
    }

    fn created(id: &str) -> Vec<NewEvent> {
        let data = format!("{{\"id\":\"{id}\"}}");
        vec![NewEvent { event_type: "user.created", resource_type: Some("User"), resource_id: Some(id.into()), data }]
    }

    type Stored = (Vec<(String, bool)>, Vec<(i64, String, i32, Option<String>, Option<bool>)>, Vec<String>, i64);

    /// Users (id, active), index rows (user, value, position, type, primary), events' data, and
    /// the tenant's user count.
    fn stored(store: &Store, tenant: TenantId) -> Stored {
        store.number_events(Some(tenant)).unwrap();
        store
            .read(|tx| {
                let users =
                    users::table.order(users::pk).select((users::id, users::active.assume_not_null())).load(tx.conn)?;
                let values = user_values::table
                    .inner_join(users::table)
                    .order((users::pk, user_values::position))
                    .select((
                        users::pk,
                        user_values::value_norm.assume_not_null(),
                        user_values::position,
                        user_values::type_norm,
                        user_values::is_primary,
                    ))
                    .load(tx.conn)?;
                let events = tx.events_after(tenant, 0, 100)?.into_iter().map(|e| e.data).collect();
                Ok((users, values, events, tx.tenant_stats(tenant)?.users))
            })
            .unwrap()
    }

    /// A POST's user, index rows and event land together, on both backends (PostgreSQL's in
    /// one statement); a second user's userName refuses the whole insert.
    #[test]
    fn an_insert_lands_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (all, _schema) = stores(&dir);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        for store in all {
            let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
            let insert = |new: NewUser| {
                let events = created(&new.id);
                runtime.block_on(store.insert_user(tenant, new, events, Some("req-1".into())))
            };
            let a = insert(new_user("ua", "A", &["a@x.com", "a2@x.com"])).unwrap();
            let b = insert(new_user("ub", "B", &[])).unwrap();
            assert_eq!((a.version, a.id.as_str(), b.id.as_str()), (1, "ua", "ub"));
            assert_ne!(a.pk, b.pk);
            let before = stored(&store, tenant);
            let expected: Stored = (
                vec![("ua".into(), true), ("ub".into(), true)],
                vec![
                    (a.pk, "a@x.com".into(), 0, Some("work".into()), Some(true)),
                    (a.pk, "a2@x.com".into(), 1, None, None),
                ],
                vec!["{\"id\":\"ua\"}".into(), "{\"id\":\"ub\"}".into()],
                2,
            );
            assert_eq!(before, expected, "{:?}", store.backend());

            let taken = insert(new_user("uc", "a", &["c@x.com"]));
            assert!(matches!(&taken, Err(Error::Conflict(m)) if m.contains("userName")), "{taken:?}");
            assert_eq!(stored(&store, tenant), before, "{:?}", store.backend());
        }
    }

    /// `Tx::insert_user` (SQLite's POST, and tests' seeding on both backends) stores every
    /// column as sent, NULLs and false included, and its index rows in order.
    #[test]
    fn a_user_inserted_in_a_transaction_keeps_its_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let (all, _schema) = stores(&dir);
        for store in all {
            let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
            let mut a = new_user("ua", "A", &["a@x.com", "a2@x.com"]);
            a.write.keys.active = None;
            a.write.keys.external_id = Some("e'1".into());
            a.password_hash = Some("$argon2id$x".into());
            let mut b = new_user("ub", "B", &[]);
            (b.write.keys.active, b.write.keys.display_name_norm) = (Some(false), None);
            let (a, b) = store.write(|tx| Ok((tx.insert_user(tenant, &a)?, tx.insert_user(tenant, &b)?))).unwrap();
            assert_eq!((a.version, b.version), (1, 1));
            type Row = (i64, String, Option<bool>, Option<String>, Option<String>, Option<String>);
            let (users, values) = store
                .read(|tx| {
                    let users: Vec<Row> = users::table
                        .order(users::pk)
                        .select((
                            users::pk,
                            users::user_name_norm,
                            users::active,
                            users::external_id,
                            users::display_name_norm,
                            users::password_hash,
                        ))
                        .load(tx.conn)?;
                    let values: Vec<(i64, i32, Option<String>, Option<bool>)> = user_values::table
                        .order((user_values::user_pk, user_values::position))
                        .select((
                            user_values::user_pk,
                            user_values::position,
                            user_values::type_norm,
                            user_values::is_primary,
                        ))
                        .load(tx.conn)?;
                    Ok((users, values))
                })
                .unwrap();
            let expected: Vec<Row> = vec![
                (a.pk, "a".into(), None, Some("e'1".into()), Some("d".into()), Some("$argon2id$x".into())),
                (b.pk, "b".into(), Some(false), None, None, None),
            ];
            assert_eq!(users, expected, "{:?}", store.backend());
            assert_eq!(values, vec![(a.pk, 0, Some("work".into()), Some(true)), (a.pk, 1, None, None)]);
            let taken = store.write(|tx| tx.insert_user(tenant, &new_user("uc", "a", &[])));
            assert!(matches!(&taken, Err(Error::Conflict(m)) if m.contains("userName")), "{taken:?}");
        }
    }
}
