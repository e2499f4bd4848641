SELECT scimd_number_all_events();
DROP FUNCTION scimd_number_all_events();
DROP FUNCTION scimd_number_events(BIGINT);
DROP TABLE pending_events;
CREATE OR REPLACE FUNCTION scimd_append_events(
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
