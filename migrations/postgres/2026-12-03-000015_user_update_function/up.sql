-- A user's PUT or PATCH on PostgreSQL is one statement, `SELECT scimd_update_user(…)`, run as
-- its own transaction (`store::user_change`): the UPDATE, the user's index rows if they
-- changed, and the event append. It returns FALSE, having written nothing, when the user is
-- no longer at the version the change was worked out from, and scimd reads the user again and
-- retries (a race that is part of the protocol, so not an error in PostgreSQL's log). It was
-- four round trips (BEGIN, the read, the UPDATE, the append with the COMMIT); the read is now
-- the only other one.
--
-- Every column is set, whether it changed or not: a row version is a new entry in every index
-- unless the update is HOT, and HOT compares the values, not the SET list.
CREATE FUNCTION scimd_update_user(
    p_tenant BIGINT,
    p_pk BIGINT,
    p_expected_version BIGINT,
    p_version BIGINT,
    p_last_modified TIMESTAMP,
    p_user_name TEXT,
    p_user_name_norm TEXT,
    p_external_id TEXT,
    p_display_name_norm TEXT,
    p_active BOOLEAN,
    p_data TEXT,
    p_data_norm TEXT,
    -- NULL keeps the stored password.
    p_password_hash TEXT,
    -- FALSE leaves the user's index rows as they are; TRUE replaces them with these arrays,
    -- one per column, element by element.
    p_values_changed BOOLEAN,
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
) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET
        user_name = p_user_name,
        user_name_norm = p_user_name_norm,
        external_id = p_external_id,
        display_name_norm = p_display_name_norm,
        active = p_active,
        data = p_data,
        data_norm = p_data_norm,
        version = p_version,
        last_modified = p_last_modified,
        password_hash = COALESCE(p_password_hash, password_hash)
    WHERE tenant_id = p_tenant AND pk = p_pk AND version = p_expected_version;
    IF NOT FOUND THEN
        RETURN FALSE;
    END IF;
    IF p_values_changed THEN
        DELETE FROM user_values WHERE tenant_id = p_tenant AND user_pk = p_pk;
        INSERT INTO user_values (tenant_id, user_pk, attr, position, value_norm, type_norm, is_primary)
        SELECT p_tenant, p_pk, v.attr, v.position, v.value_norm, v.type_norm, v.is_primary
        FROM unnest(p_value_attrs, p_value_positions, p_value_norms, p_value_types, p_value_primaries)
             AS v(attr, position, value_norm, type_norm, is_primary);
    END IF;
    IF cardinality(p_event_ids) > 0 THEN
        PERFORM scimd_append_events(p_tenant, p_last_modified, p_request_id, p_event_ids, p_event_types,
                                    p_event_resource_types, p_event_resource_ids, p_event_data);
    END IF;
    RETURN TRUE;
END
$$;
