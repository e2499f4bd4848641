-- scimd_patch_members as migration 000018 made it: members added without a lock.
CREATE OR REPLACE FUNCTION scimd_patch_members(
    p_tenant BIGINT,
    p_group_id TEXT,
    p_now TIMESTAMP,
    -- One element per member added or removed, in the PATCH's order: TRUE adds, FALSE removes.
    p_adds BOOLEAN[],
    p_types TEXT[],
    p_pks BIGINT[],
    p_displays TEXT[],
    -- Users added that are not marked as in a group yet.
    p_mark_users BIGINT[]
) RETURNS TABLE (
    pk BIGINT,
    id TEXT,
    data TEXT,
    version BIGINT,
    created_at TIMESTAMP,
    last_modified TIMESTAMP,
    changed BOOLEAN[]
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    g groups%ROWTYPE;
    flags BOOLEAN[] := '{}';
    n BIGINT;
BEGIN
    UPDATE groups SET version = groups.version + 1, last_modified = p_now
    WHERE groups.tenant_id = p_tenant AND groups.id = p_group_id
    RETURNING * INTO g;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    FOR i IN 1 .. coalesce(cardinality(p_pks), 0) LOOP
        IF p_adds[i] THEN
            -- Re-adding a member changes nothing (RFC 7644 §3.5.2.1).
            INSERT INTO group_members (tenant_id, group_pk, member_type, member_pk, display)
            VALUES (p_tenant, g.pk, p_types[i], p_pks[i], p_displays[i])
            ON CONFLICT DO NOTHING;
        ELSE
            DELETE FROM group_members
            WHERE group_members.tenant_id = p_tenant AND group_members.group_pk = g.pk
              AND group_members.member_type = p_types[i] AND group_members.member_pk = p_pks[i];
        END IF;
        GET DIAGNOSTICS n = ROW_COUNT;
        flags := flags || (n > 0);
    END LOOP;
    IF coalesce(cardinality(p_mark_users), 0) > 0 THEN
        UPDATE users SET in_groups = TRUE
        WHERE users.tenant_id = p_tenant AND users.in_groups = FALSE AND users.pk = ANY (p_mark_users);
    END IF;
    RETURN QUERY SELECT g.pk, g.id, g.data, g.version, g.created_at, g.last_modified, flags;
END
$$;
