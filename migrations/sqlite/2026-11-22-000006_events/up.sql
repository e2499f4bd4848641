-- The outbox: the events of every committed change, written in the change's own transaction.
-- seq is per tenant and gap-free in commit order: each writing transaction takes the next
-- numbers from tenants.event_seq as its last statement, and that row's lock orders
-- concurrent writers of one tenant (SQLite has a single writer anyway).
ALTER TABLE tenants ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE events (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    -- A UUID: the webhook-id consumers deduplicate by. Not indexed: nothing looks an event
    -- up by it, and a random key would cost every write a random index page.
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    resource_type TEXT,
    resource_id TEXT,
    occurred_at TIMESTAMP NOT NULL,
    request_id TEXT,
    -- JSON; never a password, token or other secret.
    data TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
