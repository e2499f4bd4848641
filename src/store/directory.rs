//! Pages of a tenant's users and groups for the admin page and API: prefix search on the
//! normalised name columns (index range scans on both backends), with membership counts for
//! just the rows on the page.

use super::schema::{group_members, groups, users};
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

/// The upper bound of a prefix range: both backends order these columns bytewise (SQLite's
/// BINARY collation, PostgreSQL's COLLATE "C"), and U+10FFFF is the greatest UTF-8 sequence.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

impl Tx<'_> {
    /// Users whose userName or displayName starts with the prefix, by userName.
    pub fn browse_users(&mut self, tenant: TenantId, page: BrowsePage<'_>) -> Result<(i64, Vec<BrowsedUser>)> {
        let mut query = users::table.filter(users::tenant_id.eq(tenant.0)).into_boxed();
        let mut count = users::table.filter(users::tenant_id.eq(tenant.0)).into_boxed();
        if let Some(p) = page.prefix {
            let end = prefix_end(p);
            let by_user_name = users::user_name_norm.ge(p.to_string()).and(users::user_name_norm.lt(end.clone()));
            // NULL compares as unknown, which WHERE treats as false: the right answer.
            let display = users::display_name_norm.assume_not_null();
            let by_display = display.ge(p.to_string()).and(display.lt(end));
            query = query.filter(by_user_name.clone().or(by_display.clone()));
            count = count.filter(by_user_name.or(by_display));
        }
        let total = count.count().get_result::<i64>(self.conn)?;
        let rows = query
            .select((users::pk, users::id, users::user_name, users::data, users::active))
            .order((users::user_name_norm.asc(), users::pk.asc()))
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
            let range = groups::display_name_norm.ge(p.to_string()).and(groups::display_name_norm.lt(prefix_end(p)));
            query = query.filter(range.clone());
            count = count.filter(range);
        }
        let total = count.count().get_result::<i64>(self.conn)?;
        let rows = query
            .select((groups::pk, groups::id, groups::display_name))
            .order((groups::display_name_norm.asc(), groups::pk.asc()))
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
