-- Webhook endpoints and, per endpoint and tenant, how far delivery has got. Delivery reads the
-- outbox (events) after delivered_seq, so an endpoint never needs its own copy of an event.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    -- NULL: the endpoint receives the events of every tenant.
    tenant_id BIGINT REFERENCES tenants(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    -- whsec_…: kept because every request is signed with it; shown only when created.
    secret TEXT NOT NULL,
    -- Comma-separated event types (`user.created`, `group.*`); NULL: every type.
    event_types TEXT,
    label TEXT,
    created_at TIMESTAMP NOT NULL,
    -- Set when the receiver answered 410 Gone (Standard Webhooks: stop sending).
    disabled_at TIMESTAMP
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id);

CREATE TABLE webhook_deliveries (
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    -- Every event of the tenant up to here was delivered (or is of a type the endpoint skips).
    delivered_seq BIGINT NOT NULL,
    -- Failed attempts at the event after delivered_seq.
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_attempt_at TIMESTAMP,
    last_error TEXT,
    -- Set after the configured number of failed attempts: the events wait for "retry now".
    failing_since TIMESTAMP,
    -- The scimd instance delivering this stream and until when; another instance takes over
    -- only after the lease has run out, so no event is sent twice at the same time.
    lease_owner TEXT,
    lease_until TIMESTAMP,
    PRIMARY KEY (endpoint_id, tenant_id)
);
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id);

-- A deleted tenant whose events some endpoint still has to receive (tenant.deleted last): its
-- data is gone, its name is freed (renamed to name~deleted~id, which no valid name matches),
-- and the row with its events is purged once every stream has caught up.
ALTER TABLE tenants ADD COLUMN deleted_at TIMESTAMP;
