//! Pages of a tenant's users and groups for the admin page and API: prefix search on the
//! normalised name columns (index range scans on both backends), with membership counts for
//! just the rows on the page.

use super::schema::{group_members, groups, users};
use super::sql::past_prefix;
use super::{TenantId, Tx};
use crate::error::Result;
use diesel::dsl::count_star;
use diesel::dsl::AsExprOf;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct BrowsedUser {
    pub id: String,
    pub user_name: String,
    /// The stored resource (JSON), for the attributes a listing shows.
    pub data: String,
    pub active: Option<bool>,
    pub groups: i64,
}

#[derive(Debug, Clone)]
pub struct BrowsedGroup {
    pub id: String,
    pub display_name: String,
    pub members: i64,
}

/// One page of a prefix search.
#[derive(Debug, Clone, Copy)]
pub struct BrowsePage<'a> {
    /// Already normalised (`scim::normalize`); `None` lists everything.
    pub prefix: Option<&'a str>,
    pub offset: i64,
    pub limit: i64,
}

/// Where the names with `prefix` end (`sql::past_prefix`), and whether they do not: past a
/// prefix of nothing but U+10FFFF every greater name starts with it.
fn prefix_range_end(prefix: &str) -> (String, AsExprOf<bool, Bool>) {
    let end = past_prefix(prefix);
    let unbounded = end.is_none().into_sql::<Bool>();
    (end.unwrap_or_default(), unbounded)
}

impl Tx<'_> {
    /// Users whose userName or displayName starts with the prefix, by userName.
    pub fn browse_users(&mut self, tenant: TenantId, page: BrowsePage<'_>) -> Result<(i64, Vec<BrowsedUser>)> {
        let mut query = users::table.filter(users::tenant_id.eq(tenant.0)).into_boxed();
        let mut count = users::table.filter(users::tenant_id.eq(tenant.0)).into_boxed();
        if let Some(p) = page.prefix {
            let (end, unbounded) = prefix_range_end(p);
            let by_user_name =
                users::user_name_norm.ge(p.to_string()).and(users::user_name_norm.lt(end.clone()).or(unbounded));
            // NULL compares as unknown, which WHERE treats as false: the right answer.
            let display = users::display_name_norm.assume_not_null();
            let by_display = display.ge(p.to_string()).and(display.lt(end).or(unbounded));
            query = query.filter(by_user_name.clone().or(by_display.clone()));
            count = count.filter(by_user_name.or(by_display));
        }
        let total = count.count().get_result::<i64>(self.conn)?;
        // userName is unique in the tenant: no tie to break (see `sql::render`'s sort).
        let rows = query
            .select((users::pk, users::id, users::user_name, users::data, users::active))
            .order(users::user_name_norm.asc())
            .offset(page.offset)
            .limit(page.limit)
            .load::<(i64, String, String, String, Option<bool>)>(self.conn)?;
        let pks: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let counts: HashMap<i64, i64> = group_members::table
            .filter(
                group_members::tenant_id
                    .eq(tenant.0)
                    .and(group_members::member_type.eq("User"))
                    .and(group_members::member_pk.eq_any(&pks)),
            )
            .group_by(group_members::member_pk)
            .select((group_members::member_pk, count_star()))
            .load::<(i64, i64)>(self.conn)?
            .into_iter()
            .collect();
        let users = rows
            .into_iter()
            .map(|(pk, id, user_name, data, active)| BrowsedUser {
                id,
                user_name,
                data,
                active,
                groups: counts.get(&pk).copied().unwrap_or(0),
            })
            .collect();
        Ok((total, users))
    }

    /// Groups whose displayName starts with the prefix, by displayName.
    pub fn browse_groups(&mut self, tenant: TenantId, page: BrowsePage<'_>) -> Result<(i64, Vec<BrowsedGroup>)> {
        let mut query = groups::table.filter(groups::tenant_id.eq(tenant.0)).into_boxed();
        let mut count = groups::table.filter(groups::tenant_id.eq(tenant.0)).into_boxed();
        if let Some(p) = page.prefix {
            let (end, unbounded) = prefix_range_end(p);
            let range =
                groups::display_name_norm.ge(p.to_string()).and(groups::display_name_norm.lt(end).or(unbounded));
            query = query.filter(range.clone());
            count = count.filter(range);
        }
        let total = count.count().get_result::<i64>(self.conn)?;
        let rows = query
            .select((groups::pk, groups::id, groups::display_name))
            .order(groups::display_name_norm.asc())
            .offset(page.offset)
            .limit(page.limit)
            .load::<(i64, String, String)>(self.conn)?;
        let pks: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let counts: HashMap<i64, i64> = group_members::table
            .filter(group_members::tenant_id.eq(tenant.0).and(group_members::group_pk.eq_any(&pks)))
            .group_by(group_members::group_pk)
            .select((group_members::group_pk, count_star()))
            .load::<(i64, i64)>(self.conn)?
            .into_iter()
            .collect();
        let groups = rows
            .into_iter()
            .map(|(pk, id, display_name)| BrowsedGroup {
                id,
                display_name,
                members: counts.get(&pk).copied().unwrap_or(0),
            })
            .collect();
        Ok((total, groups))
    }
}
