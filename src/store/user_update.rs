//! The UPDATE of a user's row as a statement each connection prepares once. Diesel never caches
//! an UPDATE it builds, so PostgreSQL parsed and planned this one on every PUT and PATCH.

use super::connection::AnyConnection;
use super::stored_time::StoredTime;
use super::users::{UserKeys, UserWrite};
use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl};

/// Sets the row `pk` of `tenant` to `write` at `version`, only if it is still at `expected`.
pub(super) struct UserUpdate<'a> {
    /// The indexed columns as they are: those `write` leaves alone stay out of the SET.
    pub previous: &'a UserKeys,
    pub write: &'a UserWrite,
    /// `Some` sets a new password; `None` leaves the column out.
    pub password_hash: Option<&'a str>,
    pub version: i64,
    pub last_modified: StoredTime,
    pub tenant: i64,
    pub pk: i64,
    pub expected: i64,
}

/// Which optional columns the UPDATE sets, one bit each: the statement's text depends on
/// these alone.
const SETS_USER_NAME_NORM: u8 = 1;
const SETS_EXTERNAL_ID: u8 = 2;
const SETS_DISPLAY_NAME_NORM: u8 = 4;
const SETS_ACTIVE: u8 = 8;
const SETS_PASSWORD: u8 = 16;

impl UserUpdate<'_> {
    /// How many rows it changed: 0 when the version moved on. Runs as `Shaped::<SETS>` for
    /// the columns it sets, so that Diesel finds the prepared statement by that type: known
    /// only by its text, it was written out and hashed for the statement cache on every PUT
    /// and PATCH, on SQLite's one writer.
    pub(super) fn run(self, conn: &mut AnyConnection) -> QueryResult<usize> {
        macro_rules! shaped {
            ($($sets:literal)*) => {
                match self.sets() {
                    $($sets => match conn {
                        AnyConnection::Sqlite(c) => Shaped::<$sets>(&self).execute(c),
                        AnyConnection::Postgresql(c) => Shaped::<$sets>(&self).execute(c),
                    },)*
                    other => unreachable!("five flags make no {other}"),
                }
            };
        }
        shaped!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31)
    }

    fn sets(&self) -> u8 {
        let (w, was) = (&self.write.keys, self.previous);
        let mut sets = 0;
        for (differs, bit) in [
            (w.user_name_norm != was.user_name_norm, SETS_USER_NAME_NORM),
            (w.external_id != was.external_id, SETS_EXTERNAL_ID),
            (w.display_name_norm != was.display_name_norm, SETS_DISPLAY_NAME_NORM),
            (w.active != was.active, SETS_ACTIVE),
            (self.password_hash.is_some(), SETS_PASSWORD),
        ] {
            if differs {
                sets |= bit;
            }
        }
        sets
    }

    fn walk<'b, DB>(&'b self, sets: u8, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()>
    where
        DB: Backend + HasSqlType<Text> + HasSqlType<Bool> + HasSqlType<BigInt> + HasSqlType<Timestamp>,
        String: ToSql<Text, DB>,
        str: ToSql<Text, DB>,
        Option<String>: ToSql<Nullable<Text>, DB>,
        Option<bool>: ToSql<Nullable<Bool>, DB>,
        i64: ToSql<BigInt, DB>,
        StoredTime: ToSql<Timestamp, DB>,
    {
        let w = &self.write.keys;
        // user_name is not indexed (its normalised form is), so it is always set; an indexed
        // column that has not changed is left out, so its index is not touched.
        out.push_sql("UPDATE users SET user_name = ");
        out.push_bind_param::<Text, String>(&self.write.user_name)?;
        if sets & SETS_USER_NAME_NORM != 0 {
            out.push_sql(", user_name_norm = ");
            out.push_bind_param::<Text, String>(&w.user_name_norm)?;
        }
        if sets & SETS_EXTERNAL_ID != 0 {
            out.push_sql(", external_id = ");
            out.push_bind_param::<Nullable<Text>, Option<String>>(&w.external_id)?;
        }
        if sets & SETS_DISPLAY_NAME_NORM != 0 {
            out.push_sql(", display_name_norm = ");
            out.push_bind_param::<Nullable<Text>, Option<String>>(&w.display_name_norm)?;
        }
        if sets & SETS_ACTIVE != 0 {
            out.push_sql(", active = ");
            out.push_bind_param::<Nullable<Bool>, Option<bool>>(&w.active)?;
        }
        out.push_sql(", data = ");
        out.push_bind_param::<Text, String>(&self.write.data)?;
        out.push_sql(", data_norm = ");
        out.push_bind_param::<Text, String>(&self.write.data_norm)?;
        out.push_sql(", version = ");
        out.push_bind_param::<BigInt, i64>(&self.version)?;
        out.push_sql(", last_modified = ");
        out.push_bind_param::<Timestamp, StoredTime>(&self.last_modified)?;
        if let (true, Some(hash)) = (sets & SETS_PASSWORD != 0, self.password_hash) {
            out.push_sql(", password_hash = ");
            out.push_bind_param::<Text, str>(hash)?;
        }
        out.push_sql(" WHERE tenant_id = ");
        out.push_bind_param::<BigInt, i64>(&self.tenant)?;
        out.push_sql(" AND pk = ");
        out.push_bind_param::<BigInt, i64>(&self.pk)?;
        out.push_sql(" AND version = ");
        out.push_bind_param::<BigInt, i64>(&self.expected)?;
        Ok(())
    }
}

/// The UPDATE that sets the optional columns `SETS` names; built only for the `UserUpdate`
/// whose `sets()` is `SETS`.
struct Shaped<'a, const SETS: u8>(&'a UserUpdate<'a>);

/// `Shaped`'s identity in Diesel's cache (`Shaped` itself borrows, so cannot be it).
struct ShapedId<const SETS: u8>;

impl<const SETS: u8> QueryId for Shaped<'_, SETS> {
    type QueryId = ShapedId<SETS>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const SETS: u8> QueryFragment<Sqlite> for Shaped<'_, SETS> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.0.walk(SETS, pass)
    }
}

impl<const SETS: u8> QueryFragment<Pg> for Shaped<'_, SETS> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk(SETS, pass)
    }
}

impl<Conn, const SETS: u8> RunQueryDsl<Conn> for Shaped<'_, SETS> {}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::store::schema::users;
    use crate::store::test_stores::stores;
    use crate::store::{NewUser, UserKeys, UserWrite};
    use chrono::Utc;
    use diesel::prelude::*;

    fn write(user_name: &str, active: Option<bool>, external_id: Option<&str>, display: Option<&str>) -> UserWrite {
        UserWrite {
            user_name: user_name.into(),
            keys: UserKeys {
                user_name_norm: user_name.to_lowercase(),
                external_id: external_id.map(str::to_string),
                display_name_norm: display.map(str::to_lowercase),
                active,
                values: Vec::new(),
            },
            data: format!("{{\"userName\":\"{user_name}\"}}"),
            data_norm: "{}".into(),
        }
    }

    /// A user's whole update: its row, then its index rows.
    fn update_user(
        tx: &mut crate::store::Tx<'_>,
        tenant: crate::store::TenantId,
        current: &crate::store::UserRow,
        previous: &UserKeys,
        w: &UserWrite,
        password_hash: Option<&str>,
        now: chrono::DateTime<Utc>,
    ) -> crate::error::Result<crate::store::UserRow> {
        let row = tx.update_user_row(tenant, current, previous, w, password_hash, now)?;
        tx.update_user_values(tenant, current, previous, w)?;
        Ok(row)
    }

    type Columns = (String, String, Option<bool>, Option<String>, Option<String>, Option<String>, i64);

    /// Every column the UPDATE sets, NULLs included, whichever indexed columns change; the
    /// password only when given; nothing at a stale version.
    #[test]
    fn updates_set_what_changed_keep_the_password_unless_given_and_check_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let (all, _schema) = stores(&dir);
        for store in all {
            let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
            let first = write("A", Some(true), Some("x"), Some("Dee"));
            let new =
                NewUser { id: "u1".into(), write: first.clone(), password_hash: Some("h0".into()), now: Utc::now() };
            let mut row = store.write(|tx| tx.insert_user(tenant, &new)).unwrap();
            let pk = row.pk;
            let columns = |store: &crate::store::Store| {
                store
                    .read(|tx| {
                        Ok(users::table
                            .filter(users::pk.eq(pk))
                            .select((
                                users::user_name,
                                users::user_name_norm,
                                users::active,
                                users::external_id,
                                users::display_name_norm,
                                users::password_hash,
                                users::version,
                            ))
                            .get_result::<Columns>(tx.conn)?)
                    })
                    .unwrap()
            };
            let s = |v: &str| Some(v.to_string());
            let steps: [(UserWrite, Option<&str>, Columns); 5] = [
                // Every indexed column changes, to NULL where it can.
                (write("B", None, None, None), Some("h1"), ("B".into(), "b".into(), None, None, None, s("h1"), 2)),
                // Only the case of userName: its normalised (indexed) form stays.
                (write("b", None, None, None), None, ("b".into(), "b".into(), None, None, None, s("h1"), 3)),
                // From NULL to values.
                (
                    write("b", Some(false), Some("y"), Some("Zed")),
                    None,
                    ("b".into(), "b".into(), Some(false), s("y"), s("zed"), s("h1"), 4),
                ),
                // One at a time.
                (
                    write("b", Some(true), Some("y"), Some("Zed")),
                    None,
                    ("b".into(), "b".into(), Some(true), s("y"), s("zed"), s("h1"), 5),
                ),
                (
                    write("C", Some(true), Some("z"), Some("Zed")),
                    Some("h2"),
                    ("C".into(), "c".into(), Some(true), s("z"), s("zed"), s("h2"), 6),
                ),
            ];
            let mut was = first.keys.clone();
            for (w, password, expected) in steps {
                let now = Utc::now();
                row = store.write(|tx| update_user(tx, tenant, &row, &was, &w, password, now)).unwrap();
                assert_eq!(columns(&store), expected);
                was = w.keys.clone();
            }
            let stale = crate::store::UserRow { version: 2, ..row.clone() };
            let d = write("D", None, None, None);
            let conflict = store.write(|tx| update_user(tx, tenant, &stale, &was, &d, None, Utc::now()));
            assert!(matches!(conflict, Err(Error::WriteConflict)), "{conflict:?}");
            assert_eq!(columns(&store).0, "C");
        }
    }
}
