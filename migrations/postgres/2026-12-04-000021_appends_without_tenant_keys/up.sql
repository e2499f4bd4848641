-- No foreign key from the append-only tables to their tenant: every row inserted into
-- pending_events, events (by the numbering pass) and request_log ran a check that locked the
-- tenant's row FOR KEY SHARE, 12 us each and three or four per PUT (pg_stat_statements, the
-- twenty-third round), every concurrent write of a tenant sharing one row lock.
--
-- Nothing is left behind for a deleted tenant without them: a tenant's deletion deletes these
-- rows itself, in the same transaction and after the tenant's row (Tx::delete_tenant), and
-- every transaction that appends to them holds a lock that deletion waits for first: a user's
-- or a group's row (updated, deleted, or inserted under its own key to the tenant), a
-- credential's, the tenant's row, the counters row a numbering pass locks, or, for the request
-- log, the tenant's row locked FOR KEY SHARE once per batch. Under READ COMMITTED the deletion's
-- later statements see what those transactions committed.
ALTER TABLE pending_events DROP CONSTRAINT pending_events_tenant_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_tenant_id_fkey;
ALTER TABLE request_log DROP CONSTRAINT request_log_tenant_id_fkey;
