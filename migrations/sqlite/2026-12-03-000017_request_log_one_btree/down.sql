CREATE TABLE request_log_rowid (
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
    resource_ids TEXT,
    request_id TEXT,
    PRIMARY KEY (tenant_id, at, id)
);
INSERT INTO request_log_rowid
SELECT tenant_id, at, id, method, path, filter, patch_summary, client, user_agent, compat, status,
       scim_type, latency_us, resource_ids, request_id
FROM request_log;
DROP TABLE request_log;
ALTER TABLE request_log_rowid RENAME TO request_log;
CREATE INDEX request_log_at ON request_log (at);
