//! A page of a list of users or groups with its exact total, read the same way for both.

use super::predicate::{Predicate, SortKey, Table};
use super::{sql, TenantId, Tx};
use crate::error::Result;

/// One page of a list: which resources, in what order, which slice.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub predicate: Predicate,
    pub sort: Option<SortKey>,
    /// 0-based.
    pub offset: u64,
    pub limit: u64,
}

impl ListQuery {
    /// The rows `predicate` selects in creation order, from `offset`.
    pub fn of(predicate: &Predicate, offset: u64, limit: u64) -> Self {
        ListQuery { predicate: predicate.clone(), sort: None, offset, limit }
    }
}

impl Tx<'_> {
    /// The page `q` asks of `table` (its rows as `T`, read as `columns`) and the exact total of
    /// the same WHERE. Without a sort key the order is creation order, which keeps pages stable
    /// while resources are added.
    pub(super) fn list_page<T>(
        &mut self,
        tenant: TenantId,
        table: Table,
        columns: &str,
        q: &ListQuery,
    ) -> Result<(u64, Vec<T>)>
    where
        T: diesel::deserialize::QueryableByName<diesel::sqlite::Sqlite>
            + diesel::deserialize::QueryableByName<diesel::pg::Pg>
            + 'static,
    {
        let (total, set_version) = self.list_total(tenant, table, &q.predicate)?;
        if q.limit == 0 || q.offset >= total {
            return Ok((total, Vec::new()));
        }
        let rows = if q.offset == 0 && total <= q.limit {
            // The whole result is the page (Okta's and Entra's pre-checks by name): one
            // statement with no LIMIT, which SQLite keeps prepared (a bound LIMIT makes SQLite
            // re-prepare the statement on every execution). Truncated in case rows arrived
            // since the count.
            let mut rows = self.load_all(tenant.0, table, columns, &q.predicate, q.sort.as_ref())?;
            rows.truncate(q.limit as usize);
            rows
        } else {
            let mut page =
                sql::Page::new(self.backend(), tenant.0, table, &q.predicate, q.sort.as_ref(), q.offset, q.limit);
            self.seek_remembered(tenant, table, set_version, &mut page)?;
            self.load_page(tenant.0, table, columns, &page)?
        };
        Ok((total, rows))
    }

    /// How many rows of `table` `predicate` selects, and the version of the tenant's set of
    /// them when it is the whole table (`Tx::resource_set`).
    pub(super) fn list_total(
        &mut self,
        tenant: TenantId,
        table: Table,
        predicate: &Predicate,
    ) -> Result<(u64, Option<i64>)> {
        // RFC 7644 §3.4.2: totalResults is exact. Unfiltered (Okta "Import Now" pages), it is
        // the tenant's counter rather than a count of its whole index on every page.
        Ok(match predicate {
            Predicate::Const(true) => {
                let set = self.resource_set(tenant, table)?;
                (set.count, set.version)
            }
            p => (self.count_rows(tenant.0, table, p)?, None),
        })
    }
}
