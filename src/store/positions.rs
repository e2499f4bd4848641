//! Where every 1,000th entry of each tenant's unfiltered list in creation order starts,
//! remembered across requests, so a page deep in the list (`startIndex=K`, Okta "Import Now")
//! seeks there instead of skipping K entries of the index (the skip grew with K: 2.3 ms at
//! K = 50,000 on SQLite, the whole cost of a page at 100,000 users).
//!
//! A remembered start holds while the tenant's set version (`tenant_counters.user_set_version`,
//! `group_set_version`) does: it moves whenever a user or group is added or removed, the only
//! changes that move entries in creation order (on SQLite by the triggers of the add or remove;
//! on PostgreSQL when the numbering pass folds its delta in, and while any delta waits the set
//! has no version and nothing remembered is used). The version is read in the same snapshot as
//! the page, so each replica's memory is checked against the database and never trusted on its
//! own.

use super::predicate::Table;
use super::sql::{Page, Piece, Writer};
use super::{sql_run, TenantId, Tx};
use crate::error::Result;
use diesel::sql_types::BigInt;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// Entries between remembered starts: a page skips at most this many (about 45 µs on SQLite).
/// 100,000 users cost 100 starts, 800 bytes.
const STRIDE: u64 = 1_000;

/// Lists remembered at most; past it the memory starts afresh (each is rebuilt on its next
/// deep page, by as many short steps as it has starts).
const MAX_LISTS: usize = 4_096;

/// Remembered starts per tenant and table.
pub(super) struct Positions {
    stride: u64,
    lists: Mutex<HashMap<(TenantId, Table), Starts>>,
}

struct Starts {
    set_version: i64,
    /// `pks[i]`: the primary key of the entry at 0-based position `(i + 1) * stride`.
    pks: Vec<i64>,
}

#[derive(diesel::QueryableByName)]
struct PkRow {
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

impl Default for Positions {
    fn default() -> Self {
        Positions::with_stride(STRIDE)
    }
}

impl Positions {
    pub(super) fn with_stride(stride: u64) -> Self {
        Positions { stride: stride.max(1), lists: Mutex::default() }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<(TenantId, Table), Starts>> {
        // Nothing panics while the lock is held; a poisoned map is still consistent.
        self.lists.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The first `want` starts known for this set version (fewer when fewer are known).
    fn recall(&self, list: (TenantId, Table), set_version: i64, want: usize) -> Vec<i64> {
        match self.lock().get(&list) {
            Some(s) if s.set_version == set_version => s.pks[..want.min(s.pks.len())].to_vec(),
            _ => Vec::new(),
        }
    }

    /// Keeps `pks` as the starts of this set version, unless a newer version or more starts
    /// of this one are known (versions only grow; a reader may hold an older snapshot).
    fn learn(&self, list: (TenantId, Table), set_version: i64, pks: Vec<i64>) {
        let mut lists = self.lock();
        if let Some(known) = lists.get_mut(&list) {
            let newer = known.set_version > set_version;
            let longer = known.set_version == set_version && known.pks.len() >= pks.len();
            if !(newer || longer) {
                *known = Starts { set_version, pks };
            }
            return;
        }
        if lists.len() >= MAX_LISTS {
            lists.clear();
        }
        lists.insert(list, Starts { set_version, pks });
    }
}

impl Tx<'_> {
    /// Moves an unfiltered page in creation order (`set_version` given: the list is the
    /// tenant's whole set) to start at the nearest remembered entry at or before its offset,
    /// finding and remembering the starts up to there if needed (each a step of `stride`
    /// entries, so the first deep page costs what it did without this). Other pages are left
    /// as they are. Only in read transactions: a write's own uncommitted rows may not be
    /// counted in the set version yet (PostgreSQL counts inserts at commit).
    pub(super) fn seek_remembered(
        &mut self,
        tenant: TenantId,
        table: Table,
        set_version: Option<i64>,
        page: &mut Page<'_>,
    ) -> Result<()> {
        let (Some(positions), Some(set_version)) = (self.positions, set_version) else { return Ok(()) };
        let want = (page.offset / positions.stride) as usize;
        if want == 0 || !page.creation_order || page.from_pk.is_some() {
            return Ok(());
        }
        let list = (tenant, table);
        let mut pks = positions.recall(list, set_version, want);
        let known = pks.len();
        while pks.len() < want {
            let from = pks.last().copied().unwrap_or(i64::MIN);
            match self.pk_after(tenant, table, from, positions.stride)? {
                Some(pk) => pks.push(pk),
                None => break,
            }
        }
        let Some(&from_pk) = pks.last() else { return Ok(()) };
        page.offset -= pks.len() as u64 * positions.stride;
        page.from_pk = Some(from_pk);
        if pks.len() > known {
            positions.learn(list, set_version, pks);
        }
        Ok(())
    }

    /// The primary key `stride` entries after `from` (creation order), if the list is that long.
    fn pk_after(&mut self, tenant: TenantId, table: Table, from: i64, stride: u64) -> Result<Option<i64>> {
        let name = table.name();
        let mut w = Writer::new(self.backend(), tenant.0, table);
        w.sql(&format!("SELECT {name}.pk FROM {name} WHERE {name}.tenant_id = "));
        w.bind(Piece::BigInt(tenant.0));
        w.sql(&format!(" AND {name}.pk >= "));
        w.bind(Piece::BigInt(from));
        // The stride is written into the text: a bound LIMIT or OFFSET makes SQLite prepare
        // the statement again on every run.
        w.sql(&format!(" ORDER BY {name}.pk LIMIT 1 OFFSET {stride}"));
        let rows: Vec<PkRow> = sql_run::load_prepared(self.conn, &w.into_pieces())?;
        Ok(rows.first().map(|r| r.pk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::predicate::Predicate;
    use crate::store::{GroupListQuery, GroupWrite, Store, UserListQuery};
    use chrono::Utc;
    use std::sync::Arc;

    /// The test stores (`store::test_stores`), each remembering every 3rd position.
    fn stores(dir: &tempfile::TempDir) -> (Vec<Store>, Option<crate::store::test_stores::PgSchema>) {
        let (mut stores, schema) = crate::store::test_stores::stores(dir);
        for store in &mut stores {
            store.positions = Arc::new(Positions::with_stride(3));
        }
        (stores, schema)
    }

    fn group(n: usize) -> GroupWrite {
        let name = format!("g{n}");
        GroupWrite {
            display_name: name.clone(),
            display_name_norm: name,
            external_id: None,
            data: "{}".into(),
            data_norm: "{}".into(),
        }
    }

    /// Every page of the group list read with remembered positions, against the same page
    /// read in a write transaction (which never uses them).
    fn assert_every_page_agrees(store: &Store, tenant: TenantId, len: u64) {
        for limit in [1, 2, 5, 100] {
            for offset in 0..len + 2 {
                let q = GroupListQuery { predicate: Predicate::Const(true), sort: None, offset, limit };
                let names = |listed: crate::store::ListedGroups| -> (u64, Vec<String>) {
                    (listed.total, listed.rows.into_iter().map(|r| r.id).collect())
                };
                let remembered = names(store.read(|tx| tx.list_groups(tenant, &q)).unwrap());
                let plain = names(store.write(|tx| tx.list_groups(tenant, &q)).unwrap());
                assert_eq!(remembered, plain, "offset {offset} limit {limit}");
            }
        }
    }

    fn remembered(store: &Store, tenant: TenantId, table: Table) -> usize {
        store.positions.lock().get(&(tenant, table)).map_or(0, |s| s.pks.len())
    }

    #[test]
    fn deep_pages_agree_with_skipping_after_adds_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let (stores, _schema) = stores(&dir);
        for store in stores {
            let now = Utc::now();
            let tenant = store.write(|tx| tx.create_tenant("acme", now)).unwrap().id;
            let other = store.write(|tx| tx.create_tenant("other", now)).unwrap().id;
            let mut rows = Vec::new();
            for n in 0..20 {
                // Another tenant's rows between ours: the steps count this tenant's only.
                store.write(|tx| tx.insert_group(other, &format!("o{n}"), &group(n), now)).unwrap();
                rows.push(store.write(|tx| tx.insert_group(tenant, &format!("a{n:02}"), &group(n), now)).unwrap());
            }
            // On PostgreSQL the adds wait to be folded into the counters (migration 000019):
            // until then the set has no version, and pages are read without remembered starts.
            assert_every_page_agrees(&store, tenant, 20);
            let folded = |store: &Store| store.number_events(None).unwrap();
            folded(&store);
            assert_every_page_agrees(&store, tenant, 20);
            assert_eq!(remembered(&store, tenant, Table::Groups), 6, "starts at 3, 6, …, 18");

            // Removing the first entry moves every later one: the remembered starts must go.
            store.write(|tx| tx.delete_group(tenant, &rows[0])).unwrap();
            assert_every_page_agrees(&store, tenant, 19);
            folded(&store);
            assert_every_page_agrees(&store, tenant, 19);
            store.write(|tx| tx.delete_group(tenant, &rows[10])).unwrap();
            store.write(|tx| tx.insert_group(tenant, "a20", &group(20), now)).unwrap();
            assert_every_page_agrees(&store, tenant, 19);
            folded(&store);
            assert_every_page_agrees(&store, tenant, 19);
            assert_eq!(remembered(&store, tenant, Table::Groups), 6);
            assert_eq!(remembered(&store, other, Table::Groups), 0);
        }
    }

    #[test]
    fn a_reader_of_an_older_set_neither_uses_nor_replaces_newer_starts() {
        let positions = Positions::with_stride(3);
        let list = (TenantId(1), Table::Users);
        positions.learn(list, 5, vec![10, 20]);
        assert_eq!(positions.recall(list, 4, 2), Vec::<i64>::new());
        positions.learn(list, 4, vec![1, 2, 3]);
        assert_eq!(positions.recall(list, 5, 9), vec![10, 20]);
        positions.learn(list, 5, vec![10]);
        assert_eq!(positions.recall(list, 5, 9), vec![10, 20], "fewer starts of the same set");
        positions.learn(list, 6, vec![7]);
        assert_eq!(positions.recall(list, 6, 9), vec![7]);
        assert_eq!(positions.recall(list, 5, 9), Vec::<i64>::new());
    }

    #[test]
    fn users_pages_use_the_same_starts() {
        let dir = tempfile::tempdir().unwrap();
        let store = stores(&dir).0.remove(0);
        let tenant = store.write(|tx| tx.create_tenant("acme", Utc::now())).unwrap().id;
        let mut ids = Vec::new();
        for n in 0..10 {
            let keys = crate::store::UserKeys {
                user_name_norm: format!("u{n}"),
                external_id: None,
                display_name_norm: None,
                active: None,
                values: Vec::new(),
            };
            let write =
                crate::store::UserWrite { user_name: format!("u{n}"), keys, data: "{}".into(), data_norm: "{}".into() };
            let new = crate::store::NewUser { id: format!("u{n}"), write, password_hash: None, now: Utc::now() };
            ids.push(store.write(|tx| tx.insert_user(tenant, &new)).unwrap().id);
        }
        for offset in 0..10 {
            let q = UserListQuery { predicate: Predicate::Const(true), sort: None, offset, limit: 2 };
            let page: Vec<String> =
                store.read(|tx| tx.list_users(tenant, &q)).unwrap().rows.into_iter().map(|r| r.id).collect();
            assert_eq!(page, ids[offset as usize..(offset as usize + 2).min(10)]);
        }
        assert_eq!(remembered(&store, tenant, Table::Users), 3);
    }
}
