CREATE TABLE main.request_log (
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
) WITHOUT ROWID;
INSERT INTO main.request_log
SELECT l.tenant_id, l.at, l.id, l.method, l.path, l.filter, l.patch_summary, l.client, l.user_agent,
       l.compat, l.status, l.scim_type, l.latency_us, l.resource_ids, l.request_id
FROM activity.request_log l JOIN main.tenants t ON t.id = l.tenant_id;
DROP TABLE activity.request_log;
