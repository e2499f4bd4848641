//! Pages of a tenant's users and groups for the admin page and API: prefix search on the
//! normalised name columns (index range scans on both backends), with membership counts for
//! just the rows on the page.

use super::schema::{group_members, groups, users};
use super::sql::past_prefix;
use super::{TenantId, Tx};
use crate::error::Result;
use diesel::dsl::count_star;
use diesel::prelude::*;
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

impl Tx<'_> {
    /// Users whose userName or displayName starts with the prefix, by userName.
    pub fn browse_users(&mut self, tenant: TenantId, page: BrowsePage<'_>) -> Result<(i64, Vec<BrowsedUser>)> {
        let mut query = users::table.filter(users::tenant_id.eq(tenant.0)).into_boxed();
        let mut count = users::table.filter(users::tenant_id.eq(tenant.0)).into_boxed();
        if let Some(p) = page.prefix {
            let (name, from) = (users::user_name_norm, p.to_string());
            // NULL compares as unknown, which WHERE treats as false: the right answer.
            let display = users::display_name_norm.assume_not_null();
            // The range of the names with the prefix (`sql::past_prefix`), each bound a term of
            // its own so that SQLite seeks both in the index. Past a prefix of nothing but
            // U+10FFFF, every greater name starts with it.
            match past_prefix(p) {
                Some(end) => {
                    let range =
                        name.ge(from.clone()).and(name.lt(end.clone())).or(display.ge(from).and(display.lt(end)));
                    (query, count) = (query.filter(range.clone()), count.filter(range));
                }
                None => {
                    let range = name.ge(from.clone()).or(display.ge(from));
                    (query, count) = (query.filter(range.clone()), count.filter(range));
                }
            }
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
            // As `browse_users`.
            let name = groups::display_name_norm;
            (query, count) = (query.filter(name.ge(p.to_string())), count.filter(name.ge(p.to_string())));
            if let Some(end) = past_prefix(p) {
                (query, count) = (query.filter(name.lt(end.clone())), count.filter(name.lt(end)));
            }
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
