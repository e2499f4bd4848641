-- A user's POST on PostgreSQL is one statement, `SELECT scimd_insert_user(…)`, run as its own
-- transaction (`store::user_insert`): the user's row, its index rows and the event append, and
-- the new row's pk back. It was five round trips (BEGIN, the INSERT, one per index row, the
-- append with the COMMIT).
CREATE FUNCTION scimd_insert_user(
    p_tenant BIGINT,
    p_id TEXT,
    p_user_name TEXT,
    p_user_name_norm TEXT,
    p_external_id TEXT,
    p_display_name_norm TEXT,
    p_active BOOLEAN,
    p_data TEXT,
    p_data_norm TEXT,
    p_password_hash TEXT,
    p_now TIMESTAMP,
    -- The user's index rows, one array per column, element by element.
    p_value_attrs TEXT[],
    p_value_positions INTEGER[],
    p_value_norms TEXT[],
    p_value_types TEXT[],
    p_value_primaries BOOLEAN[],
    -- The events, as scimd_append_events takes them.
    p_request_id TEXT,
    p_event_ids TEXT[],
    p_event_types TEXT[],
    p_event_resource_types TEXT[],
    p_event_resource_ids TEXT[],
    p_event_data TEXT[]
) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    new_pk BIGINT;
BEGIN
    INSERT INTO users (tenant_id, id, user_name, user_name_norm, external_id, display_name_norm, active,
                       data, data_norm, password_hash, version, created_at, last_modified)
    VALUES (p_tenant, p_id, p_user_name, p_user_name_norm, p_external_id, p_display_name_norm, p_active,
            p_data, p_data_norm, p_password_hash, 1, p_now, p_now)
    RETURNING pk INTO new_pk;
    INSERT INTO user_values (tenant_id, user_pk, attr, position, value_norm, type_norm, is_primary)
    SELECT p_tenant, new_pk, v.attr, v.position, v.value_norm, v.type_norm, v.is_primary
    FROM unnest(p_value_attrs, p_value_positions, p_value_norms, p_value_types, p_value_primaries)
         AS v(attr, position, value_norm, type_norm, is_primary);
    IF cardinality(p_event_ids) > 0 THEN
        PERFORM scimd_append_events(p_tenant, p_now, p_request_id, p_event_ids, p_event_types,
                                    p_event_resource_types, p_event_resource_ids, p_event_data);
    END IF;
    RETURN new_pk;
END
$$;
