-- A user's PUT or PATCH on PostgreSQL is sent as one message: this UPDATE, the user's index
-- rows if they changed, and the event append, run as one implicit transaction
-- (`store::user_change`). The simple protocol reports no row counts, so a user no longer at
-- the version the change was worked out from is an error here, SQLSTATE 40001, which rolls
-- the whole message back and tells scimd to read the user again and retry.
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
    p_password_hash TEXT
) RETURNS VOID LANGUAGE plpgsql AS $$
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
        RAISE EXCEPTION 'user % of tenant % is no longer at version %', p_pk, p_tenant, p_expected_version
            USING ERRCODE = 'serialization_failure';
    END IF;
END
$$;
