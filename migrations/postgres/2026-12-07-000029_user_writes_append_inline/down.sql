-- The functions as 000015 and 000016 made them: each calls scimd_append_events.
CREATE OR REPLACE FUNCTION scimd_update_user(
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

CREATE OR REPLACE FUNCTION scimd_insert_user(
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
