//! Group reads: a group by id or by name, lists and the root search. A group's head and its
//! first page of members are read in one snapshot, so a group whose members fit in a page is
//! sent as it was at one moment; a larger group's later pages are read as it is sent.
//! A list's groups whose members its own read did not cover have them read as they are sent,
//! with a check that each is still at the version listed.

use super::group::{self, RenderedGroup};
use super::group_filter;
use super::group_members::{MemberFields, MemberPage};
use super::group_service::not_found;
use super::list;
use super::projection::Projection;
use super::service::{Request, ScimService};
use crate::error::Result;
use crate::store::predicate::GroupKey;
use crate::store::{FirstMembers, GroupListQuery, GroupRow, MemberView, TenantId, Tx};

/// A group to send: its head (all but members) and whether to follow it with its members.
pub struct GroupView {
    pub head: RenderedGroup,
    pub pk: i64,
    pub id: String,
    pub version: i64,
    /// The members' sub-attributes to send after the head; `None`: no members.
    pub members: Option<MemberFields>,
    /// Its first page of members, read in the snapshot its head was read in; `None`: read
    /// as the group is sent (after a write, or for a group a list's read did not cover).
    pub first_page: Option<MemberPage>,
}

pub struct GroupList {
    pub total: u64,
    pub start_index: u64,
    pub groups: Vec<GroupView>,
    /// The request's, for a group read again as it is sent (`later_member_pages`).
    pub projection: Projection,
}

/// A group's first page of members read after the list it is on, and its head if the group
/// changed since the list read it.
pub struct LaterPage {
    pub page: MemberPage,
    pub head: Option<RenderedGroup>,
}

impl ScimService {
    fn group_view(&self, row: &GroupRow, req: &Request<'_>, projection: &Projection) -> Result<GroupView> {
        let head = group::render(row, &req.scope.base_url, &self.group_schema(), projection)?;
        Ok(GroupView {
            head,
            pk: row.pk,
            id: row.id.clone(),
            version: row.version,
            members: MemberFields::of(&self.group_schema(), projection),
            first_page: None,
        })
    }

    /// Views of `rows`, the leading ones with the member pages of `read` (`first_members`).
    pub(super) fn group_views(
        &self,
        rows: &[GroupRow],
        read: Option<FirstMembers>,
        req: &Request<'_>,
        projection: &Projection,
    ) -> Result<Vec<GroupView>> {
        let mut views = rows.iter().map(|row| self.group_view(row, req, projection)).collect::<Result<Vec<_>>>()?;
        if let (Some(read), Some(fields)) = (read, views.first().and_then(|v| v.members)) {
            let pks: Vec<i64> = rows.iter().map(|r| r.pk).collect();
            let pages = self.member_pages_of(read, &pks, &req.scope.base_url, fields)?;
            for (view, page) in views.iter_mut().zip(pages) {
                view.first_page = Some(page);
            }
        }
        Ok(views)
    }

    /// The first members of the leading `rows`, read in `tx` (the snapshot `rows` came from)
    /// when `projection` shows members: a group whose members fit in a page is sent as it was
    /// at one moment, so that its `meta.version` (RFC 7644 §3.14) names what the body shows.
    pub(super) fn first_members(
        &self,
        tx: &mut Tx<'_>,
        tenant: TenantId,
        rows: &[GroupRow],
        projection: &Projection,
    ) -> Result<Option<FirstMembers>> {
        if rows.is_empty() || MemberFields::of(&self.group_schema(), projection).is_none() {
            return Ok(None);
        }
        let pks: Vec<i64> = rows.iter().map(|r| r.pk).collect();
        tx.first_members(tenant, &pks, self.member_page_size).map(Some)
    }

    /// The group `key` selects, with its first members when `projection` shows them, by one
    /// statement either way (Entra reads groups with excludedAttributes=members).
    fn group_by_key(&self, req: &Request<'_>, key: GroupKey<'_>, projection: &Projection) -> Result<Vec<GroupView>> {
        let tenant = req.scope.tenant;
        let (rows, read) = if MemberFields::of(&self.group_schema(), projection).is_some() {
            match self.store.group_and_first_members(tenant, key, self.member_page_size)? {
                Some((row, members)) => {
                    let members = members.into_iter().map(|m| (row.pk, m)).collect();
                    (vec![row], Some(FirstMembers { groups: 1, members }))
                }
                None => (Vec::new(), None),
            }
        } else {
            (self.store.group_by_key(tenant, key)?.into_iter().collect(), None)
        };
        self.group_views(&rows, read, req, projection)
    }

    pub fn get_group(&self, req: &Request<'_>, id: &str) -> Result<GroupView> {
        let found = self.group_by_key(req, GroupKey::Id(id), &self.projection(req))?;
        found.into_iter().next().ok_or_else(|| not_found(id))
    }

    /// RFC 7644 §3.4.2 for groups. Members follow each group only if the projection keeps
    /// them (Entra always sends excludedAttributes=members, and then none are read).
    pub fn list_groups(&self, req: &Request<'_>) -> Result<GroupList> {
        let projection = self.projection(req);
        let paging = list::paging(req.params, self.limits, req.compat)?;
        let query = GroupListQuery {
            predicate: group_filter::predicate(req.params.get("filter"), req.compat, &req.scope.base_url)?,
            sort: group_filter::sort_key(req.params.get("sortBy"), req.params.get("sortOrder"))?,
            offset: paging.start_index - 1,
            limit: paging.count,
        };
        let (total, groups) = match query.predicate.group_key() {
            // Okta's and Entra's pre-check before a group push: at most one group, read by its
            // unique key (a list's count and select in a transaction cost twice its
            // instructions). RFC 7644 §3.4.2: totalResults counts it even on a page that
            // starts past it.
            Some(key) if query.offset == 0 && query.limit > 0 => {
                let found = self.group_by_key(req, key, &projection)?;
                (found.len() as u64, found)
            }
            Some(key) => (u64::from(self.store.group_by_key(req.scope.tenant, key)?.is_some()), Vec::new()),
            None => {
                let tenant = req.scope.tenant;
                let (listed, read) = self.store.read(|tx| {
                    let listed = tx.list_groups(tenant, &query)?;
                    let read = self.first_members(tx, tenant, &listed.rows, &projection)?;
                    Ok((listed, read))
                })?;
                (listed.total, self.group_views(&listed.rows, read, req, &projection)?)
            }
        };
        Ok(GroupList { total, start_index: paging.start_index, groups, projection })
    }

    /// The first member pages of the leading groups of `listed` (a list's groups its own read
    /// did not cover), with as many groups as one read covers (`member_pages_of`). They are
    /// read in one snapshot with the groups' versions: a group written since the list read it
    /// would show one version's head with another's members, so it is read again, head and
    /// first page by one statement, and sent as it is now. A group deleted since is sent as
    /// listed, with no members left to show.
    pub fn later_member_pages(
        &self,
        tenant: TenantId,
        base_url: &str,
        listed: &[(i64, &str, i64)],
        fields: MemberFields,
        projection: &Projection,
    ) -> Result<Vec<LaterPage>> {
        let pks: Vec<i64> = listed.iter().map(|&(pk, ..)| pk).collect();
        let run = 1 + pks.windows(2).take_while(|w| w[0] < w[1]).count();
        if let (1, Some(&group)) = (run, listed.first()) {
            // A run of one group (a list sorted by name, say): its first page at the version
            // listed by one statement, rather than a transaction of two.
            return Ok(vec![self.later_page(tenant, base_url, group, fields, projection)?]);
        }
        let (read, versions) = self.store.read(|tx| {
            let read = tx.first_members(tenant, &pks, self.member_page_size)?;
            let versions = tx.group_versions(tenant, &pks[..read.groups])?;
            Ok((read, versions))
        })?;
        let pages = self.member_pages_of(read, &pks, base_url, fields)?;
        let mut later = Vec::with_capacity(pages.len());
        for (page, &group) in pages.into_iter().zip(listed) {
            let (pk, _, version) = group;
            let now = versions.iter().find(|&&(p, _)| p == pk).map(|&(_, v)| v);
            later.push(match now {
                Some(v) if v != version => self.page_as_now(tenant, base_url, group, fields, projection)?,
                _ => LaterPage { page, head: None },
            });
        }
        Ok(later)
    }

    /// Group `pk`'s first page of members if it is still at the version listed, by one
    /// statement that reads none otherwise; else (or when it has none) `page_as_now`.
    fn later_page(
        &self,
        tenant: TenantId,
        base_url: &str,
        group: (i64, &str, i64),
        fields: MemberFields,
        projection: &Projection,
    ) -> Result<LaterPage> {
        let (pk, _, version) = group;
        let size = self.member_page_size;
        let members = self.store.members_page_at(tenant, pk, version, size)?;
        if members.is_empty() {
            return self.page_as_now(tenant, base_url, group, fields, projection);
        }
        Ok(LaterPage { page: MemberPage::of(&members, base_url, fields, members.len() == size)?, head: None })
    }

    /// Group `id`'s head and first page as they are now, by one statement; the head only if
    /// it is no longer at the version listed; no members if the group is gone.
    fn page_as_now(
        &self,
        tenant: TenantId,
        base_url: &str,
        (_, id, version): (i64, &str, i64),
        fields: MemberFields,
        projection: &Projection,
    ) -> Result<LaterPage> {
        let size = self.member_page_size;
        let page = |members: &[MemberView]| MemberPage::of(members, base_url, fields, members.len() == size);
        Ok(match self.store.group_and_first_members(tenant, GroupKey::Id(id), size)? {
            Some((row, members)) => LaterPage {
                head: (row.version != version)
                    .then(|| group::render(&row, base_url, &self.group_schema(), projection))
                    .transpose()?,
                page: page(&members)?,
            },
            None => LaterPage { page: page(&[])?, head: None },
        })
    }
}
