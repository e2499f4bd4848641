//! A search at the Base URL root (RFC 7644 §3.4.2, §3.4.3): users and groups in one list,
//! one page across both, in one order when `sortBy` asks for one.

use super::filter::{descending, UserFilters};
use super::group_filter;
use super::group_reads::GroupView;
use super::list;
use super::projection::Projection;
use super::service::{Request, ScimService};
use super::user_page::UserPage;
use crate::error::{Error, Quoted, Result};
use crate::store::{GroupRow, RootListQuery, RootListSide, RootRow, UserGroup, UserRow};
use std::collections::HashSet;

pub struct RootSearch {
    pub total: u64,
    pub start_index: u64,
    /// The page's users, written as they are sent: each run of users between groups with how
    /// many of the page's groups come before it.
    pub user_runs: Vec<(usize, UserPage)>,
    pub groups: Vec<GroupView>,
    pub projection: Projection,
}

impl RootSearch {
    pub fn resources(&self) -> usize {
        self.user_runs.iter().map(|(_, page)| page.users_listed()).sum::<usize>() + self.groups.len()
    }
}

/// A page's users in runs, each after `.0` of the page's groups, and its groups.
type Split = (Vec<(usize, Vec<UserRow>)>, Vec<GroupRow>);

impl ScimService {
    /// A filter only one type understands selects nothing of the other; one neither
    /// understands is a 400. A `sortBy` only one type has sorts the other's resources as
    /// having no value (RFC 7644 §3.4.2.3: last ascending, first descending); one neither has
    /// is a 400.
    pub fn search_all(&self, req: &Request<'_>) -> Result<RootSearch> {
        let (user_projection, group_projection) = (self.user_projection(req), self.projection(req));
        let paging = list::paging(req.params, self.limits, req.compat)?;
        let base_url = &req.scope.base_url;
        let filters = UserFilters::new(&self.registry).at(base_url);
        let (filter, sort_by, sort_order) =
            (req.params.get("filter"), req.params.get("sortBy"), req.params.get("sortOrder"));
        let (user_filter, group_filter) =
            either(filters.predicate(filter, req.compat), group_filter::predicate(filter, req.compat, base_url))?;
        let (user_sort, group_sort) = either(
            filters.root_sort_key(sort_by, sort_order),
            group_filter::root_sort_key(sort_by, sort_order, base_url),
        )?;
        let (user_sort, group_sort) = (user_sort.flatten(), group_sort.flatten());
        if let (Some(u), Some(g)) = (&user_sort, &group_sort) {
            if u.kind != g.kind {
                let by = sort_by.unwrap_or_default();
                return Err(Error::invalid_value(format!(
                    "sortBy {by} has values of different types in users and groups",
                    by = Quoted(by)
                )));
            }
        }
        let query = RootListQuery {
            users: user_filter.map(|predicate| RootListSide { predicate, sort: user_sort }),
            groups: group_filter.map(|predicate| RootListSide { predicate, sort: group_sort }),
            descending: descending(sort_order)?,
            offset: paging.start_index - 1,
            limit: paging.count,
        };
        let tenant = req.scope.tenant;
        let (total, (runs, groups), user_groups, members) = self.store.read(|tx| {
            let listed = tx.list_root(tenant, &query)?;
            let (runs, groups) = split(listed.rows);
            let users: Vec<&UserRow> = runs.iter().flat_map(|(_, rows)| rows).collect();
            let user_groups = self.groups_of(tx, req, &users, &user_projection)?;
            let members = self.first_members(tx, tenant, &groups, &group_projection)?;
            Ok((listed.user_total + listed.group_total, (runs, groups), user_groups, members))
        })?;
        let user_runs = self.user_runs(runs, user_groups, base_url, &user_projection)?;
        Ok(RootSearch {
            total,
            start_index: paging.start_index,
            user_runs,
            groups: self.group_views(&groups, members, req, &group_projection)?,
            projection: group_projection,
        })
    }

    fn user_runs(
        &self,
        runs: Vec<(usize, Vec<UserRow>)>,
        mut user_groups: Vec<UserGroup>,
        base_url: &str,
        projection: &Projection,
    ) -> Result<Vec<(usize, UserPage)>> {
        let mut pages = Vec::with_capacity(runs.len());
        let last = runs.len().saturating_sub(1);
        for (i, (at, rows)) in runs.into_iter().enumerate() {
            let mine = if i == last {
                std::mem::take(&mut user_groups)
            } else {
                let pks: HashSet<i64> = rows.iter().map(|r| r.pk).collect();
                let (mine, rest) = user_groups.into_iter().partition(|g| pks.contains(&g.user_pk));
                user_groups = rest;
                mine
            };
            pages.push((at, self.users_before_groups(rows, mine, base_url, projection.clone())?));
        }
        Ok(pages)
    }
}

/// The parts of both types that are not errors, or the users' error when neither is.
fn either<U, G>(users: Result<U>, groups: Result<G>) -> Result<(Option<U>, Option<G>)> {
    match (users, groups) {
        (Err(e), Err(_)) => Err(e),
        (u, g) => Ok((u.ok(), g.ok())),
    }
}

fn split(rows: Vec<RootRow>) -> Split {
    let (mut runs, mut groups): Split = (Vec::new(), Vec::new());
    for row in rows {
        match row {
            RootRow::Group(g) => groups.push(g),
            RootRow::User(u) => match runs.last_mut() {
                Some((at, run)) if *at == groups.len() => run.push(u),
                _ => runs.push((groups.len(), vec![u])),
            },
        }
    }
    (runs, groups)
}
