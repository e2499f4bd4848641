-- The request log: what each client did to a tenant, for the admin page and API. Written in
-- batches off the request path; pruned after the retention period. Never holds a secret: no
-- header but the User-Agent, no body but the names of the attributes a PATCH touched.
CREATE TABLE request_log (
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
);
-- Pruning deletes by age across tenants.
CREATE INDEX request_log_at ON request_log (at);
