-- The event append as a function: scimd sends it with the COMMIT in one message, where nothing
-- can be bound, and as literal SQL its UPDATE and INSERT were parsed and planned on every write
-- (a sixth of PostgreSQL's CPU under concurrent PUTs). PL/pgSQL plans them once per connection.
-- The tenant's counters row hands out the numbers and stays locked until the commit, which
-- keeps a tenant's events in commit order. Without a counters row the numbers are NULL and the
-- INSERT fails. The events are given one array per column, in the batch's order.
CREATE FUNCTION scimd_append_events(
    p_tenant BIGINT,
    p_occurred_at TIMESTAMP,
    p_request_id TEXT,
    p_ids TEXT[],
    p_types TEXT[],
    p_resource_types TEXT[],
    p_resource_ids TEXT[],
    p_data TEXT[]
) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    last_seq BIGINT;
BEGIN
    UPDATE tenant_counters SET event_seq = event_seq + cardinality(p_ids)
    WHERE tenant_id = p_tenant
    RETURNING event_seq INTO last_seq;
    INSERT INTO events (tenant_id, seq, id, type, resource_type, resource_id, occurred_at, request_id, data)
    SELECT p_tenant, last_seq - cardinality(p_ids) + v.place, v.id, v.type, v.resource_type, v.resource_id,
           p_occurred_at, p_request_id, v.data
    FROM unnest(p_ids, p_types, p_resource_types, p_resource_ids, p_data)
         WITH ORDINALITY AS v(id, type, resource_type, resource_id, data, place);
END $$;
