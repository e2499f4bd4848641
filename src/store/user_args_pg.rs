//! What PostgreSQL's user write functions (`scimd_insert_user`, `scimd_update_user`) take
//! besides the user's columns: its index rows and its events, one bound array per column.

use super::{NewEvent, UserValueRow, UserWrite};
use diesel::pg::Pg;
use diesel::query_builder::AstPass;
use diesel::sql_types::{Array, Bool, Integer, Nullable, Text};
use diesel::QueryResult;

/// Binds each value after the one before, separated by commas.
macro_rules! bind_all {
    ($out:ident; $($sql_type:ty => $value:expr),+ $(,)?) => {{
        let mut first = true;
        $(
            if !std::mem::take(&mut first) {
                $out.push_sql(", ");
            }
            $out.push_bind_param::<$sql_type, _>($value)?;
        )+
    }};
}
pub(super) use bind_all;

/// What a statement of this kind needs besides its `QueryFragment<Pg>`: run on a PostgreSQL
/// connection, answering one `$sql_type`, and prepared once per connection, cached by its
/// text (which never changes: every value is bound).
macro_rules! pg_statement {
    ($name:ident, $sql_type:ty) => {
        impl diesel::query_builder::QueryId for $name<'_> {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }

        impl diesel::query_builder::Query for $name<'_> {
            type SqlType = $sql_type;
        }

        impl diesel::RunQueryDsl<diesel::PgConnection> for $name<'_> {}
    };
}
pub(super) use pg_statement;

/// `, user name, its normalised form, externalId, displayName normalised, active, data, data
/// normalised, password hash`: the user's own columns, in the order both functions take them.
pub(super) fn bind_user_columns<'b>(
    out: &mut AstPass<'_, 'b, Pg>,
    w: &'b UserWrite,
    password_hash: &'b Option<String>,
) -> QueryResult<()> {
    out.push_sql(", ");
    bind_all!(out;
        Text => &w.user_name,
        Text => &w.keys.user_name_norm,
        Nullable<Text> => &w.keys.external_id,
        Nullable<Text> => &w.keys.display_name_norm,
        Nullable<Bool> => &w.keys.active,
        Text => &w.data,
        Text => &w.data_norm,
        Nullable<Text> => password_hash,
    );
    Ok(())
}

/// A user's index rows (`user_values`), column by column.
#[derive(Clone)]
pub(super) struct ValueArrays {
    attrs: Vec<String>,
    positions: Vec<i32>,
    norms: Vec<Option<String>>,
    types: Vec<Option<String>>,
    primaries: Vec<Option<bool>>,
}

impl ValueArrays {
    pub fn new(values: &[UserValueRow]) -> Self {
        ValueArrays {
            attrs: values.iter().map(|v| v.attr.to_string()).collect(),
            positions: values.iter().map(|v| v.position).collect(),
            norms: values.iter().map(|v| v.value_norm.clone()).collect(),
            types: values.iter().map(|v| v.type_norm.clone()).collect(),
            primaries: values.iter().map(|v| v.is_primary).collect(),
        }
    }

    /// `, attrs, positions, values, types, primaries`.
    pub fn bind<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(", ");
        bind_all!(out;
            Array<Text> => &self.attrs,
            Array<Integer> => &self.positions,
            Array<Nullable<Text>> => &self.norms,
            Array<Nullable<Text>> => &self.types,
            Array<Nullable<Bool>> => &self.primaries,
        );
        Ok(())
    }
}

/// Events as `scimd_append_events` takes them, each given a new id.
#[derive(Clone)]
pub(super) struct EventArrays<'a> {
    request_id: Option<&'a str>,
    ids: Vec<String>,
    types: Vec<String>,
    resource_types: Vec<Option<String>>,
    resource_ids: Vec<Option<String>>,
    data: Vec<String>,
}

impl<'a> EventArrays<'a> {
    pub fn new(events: &[NewEvent], request_id: Option<&'a str>) -> Self {
        EventArrays {
            request_id,
            ids: events.iter().map(|_| uuid::Uuid::new_v4().to_string()).collect(),
            types: events.iter().map(|e| e.event_type.to_string()).collect(),
            resource_types: events.iter().map(|e| e.resource_type.map(str::to_string)).collect(),
            resource_ids: events.iter().map(|e| e.resource_id.clone()).collect(),
            data: events.iter().map(|e| e.data.clone()).collect(),
        }
    }

    /// `, request id, ids, types, resource types, resource ids, data`.
    pub fn bind<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(", ");
        bind_all!(out;
            Nullable<Text> => &self.request_id,
            Array<Text> => &self.ids,
            Array<Text> => &self.types,
            Array<Nullable<Text>> => &self.resource_types,
            Array<Nullable<Text>> => &self.resource_ids,
            Array<Text> => &self.data,
        );
        Ok(())
    }
}
