-- The request log as one B-tree: its primary key (tenant, time, id) is the table itself
-- (WITHOUT ROWID), and no index on the time alone. Every logged request inserted into three
-- B-trees (the rowid table, the primary key's index, `request_log_at`); pruning now goes
-- tenant by tenant along the primary key, and the admin page's newest-first pages were
-- already a backward scan of it.
CREATE TABLE request_log_keyed (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    id TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    filter TEXT,
    patch_summary TEXT,
    client TEXT NOT NULL,
    user_agent TEXT,
    compat TEXT,
    status INTEGER NOT NULL,
    scim_type TEXT,
    latency_us BIGINT NOT NULL,
    -- Space-separated, with a space at each end, so one id is found with LIKE '% id %'.
    resource_ids TEXT,
    request_id TEXT,
    PRIMARY KEY (tenant_id, at, id)
) WITHOUT ROWID;
INSERT INTO request_log_keyed
SELECT tenant_id, at, id, method, path, filter, patch_summary, client, user_agent, compat, status,
       scim_type, latency_us, resource_ids, request_id
FROM request_log;
DROP TABLE request_log;
ALTER TABLE request_log_keyed RENAME TO request_log;
