DROP FUNCTION scimd_patch_members_many(BIGINT[], TEXT[], TIMESTAMP[], TEXT[], BOOLEAN[], INTEGER[], BOOLEAN[], TEXT[], BIGINT[], TEXT[], INTEGER[], INTEGER[], BIGINT[], INTEGER[], BIGINT[], INTEGER[], INTEGER[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[]);
DROP FUNCTION scimd_apply_member_changes(BIGINT, BIGINT, BOOLEAN[], TEXT[], BIGINT[], TEXT[], BIGINT[]);

-- scimd_patch_members as migration 000023 made it, and scimd_patch_members_checked as 000024 did.
CREATE FUNCTION scimd_patch_members(
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
            -- Re-adding a member changes nothing (RFC 7644 §3.5.2.1). A member deleted since
            -- it was looked up is not added: its row is gone, and the lock waits for a
            -- deletion under way to end.
            IF p_types[i] = 'User' THEN
                INSERT INTO group_members (tenant_id, group_pk, member_type, member_pk, display)
                SELECT p_tenant, g.pk, 'User', u.pk, p_displays[i]
                FROM users u WHERE u.tenant_id = p_tenant AND u.pk = p_pks[i]
                FOR KEY SHARE
                ON CONFLICT DO NOTHING;
            ELSE
                INSERT INTO group_members (tenant_id, group_pk, member_type, member_pk, display)
                SELECT p_tenant, g.pk, 'Group', x.pk, p_displays[i]
                FROM groups x WHERE x.tenant_id = p_tenant AND x.pk = p_pks[i]
                FOR KEY SHARE
                ON CONFLICT DO NOTHING;
            END IF;
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

CREATE FUNCTION scimd_patch_members_checked(
    p_tenant BIGINT,
    p_group_id TEXT,
    p_now TIMESTAMP,
    -- As scimd_patch_members takes them: one element per member added or removed.
    p_adds BOOLEAN[],
    p_types TEXT[],
    p_pks BIGINT[],
    p_displays TEXT[],
    p_mark_users BIGINT[],
    -- The operation (1, 2, ...) each element belongs to.
    p_ops INTEGER[],
    p_versions BIGINT[],
    -- The operation each event describes, and the events as scimd_append_events takes them.
    p_event_ops INTEGER[],
    p_request_id TEXT,
    p_event_ids TEXT[],
    p_event_types TEXT[],
    p_event_resource_types TEXT[],
    p_event_resource_ids TEXT[],
    p_event_data TEXT[]
) RETURNS TABLE (
    -- 'done', 'no_group', 'precondition' or 'conflict'; the rest is NULL unless 'done'.
    -- `appended`: the events of what changed (perhaps none) were appended.
    outcome TEXT,
    pk BIGINT,
    id TEXT,
    data TEXT,
    version BIGINT,
    created_at TIMESTAMP,
    last_modified TIMESTAMP,
    changed BOOLEAN[],
    appended BOOLEAN
) LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
    ops INTEGER := coalesce((SELECT max(o) FROM unnest(p_ops) AS o), 0);
    -- Per operation: how many members it names, how many it changed.
    named INTEGER[] := array_fill(0, ARRAY[ops]);
    done INTEGER[] := array_fill(0, ARRAY[ops]);
    whole BOOLEAN := TRUE;
    kept INTEGER[] := '{}';
BEGIN
    SELECT * INTO r
    FROM scimd_patch_members(p_tenant, p_group_id, p_now, p_adds, p_types, p_pks, p_displays, p_mark_users);
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no_group'::TEXT, NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::BIGINT,
            NULL::TIMESTAMP, NULL::TIMESTAMP, NULL::BOOLEAN[], FALSE;
        RETURN;
    END IF;
    IF p_versions IS NOT NULL AND NOT (r.version - 1 = ANY (p_versions)) THEN
        RAISE EXCEPTION 'If-Match names another version' USING ERRCODE = 'SC412';
    END IF;
    FOR i IN 1 .. coalesce(cardinality(p_ops), 0) LOOP
        named[p_ops[i]] := named[p_ops[i]] + 1;
        IF r.changed[i] THEN
            done[p_ops[i]] := done[p_ops[i]] + 1;
        END IF;
    END LOOP;
    FOR k IN 1 .. ops LOOP
        whole := whole AND (done[k] = 0 OR done[k] = named[k]);
    END LOOP;
    IF whole THEN
        FOR j IN 1 .. coalesce(cardinality(p_event_ops), 0) LOOP
            IF done[p_event_ops[j]] > 0 THEN
                kept := kept || j;
            END IF;
        END LOOP;
        IF cardinality(kept) = 0 THEN
            NULL;
        ELSIF cardinality(kept) = cardinality(p_event_ops) THEN
            -- Every operation changed all its members (the usual PATCH): the events as given.
            PERFORM scimd_append_events(p_tenant, p_now, p_request_id, p_event_ids, p_event_types,
                p_event_resource_types, p_event_resource_ids, p_event_data);
        ELSE
            PERFORM scimd_append_events(p_tenant, p_now, p_request_id,
                ARRAY(SELECT p_event_ids[j] FROM unnest(kept) AS j ORDER BY j),
                ARRAY(SELECT p_event_types[j] FROM unnest(kept) AS j ORDER BY j),
                ARRAY(SELECT p_event_resource_types[j] FROM unnest(kept) AS j ORDER BY j),
                ARRAY(SELECT p_event_resource_ids[j] FROM unnest(kept) AS j ORDER BY j),
                ARRAY(SELECT p_event_data[j] FROM unnest(kept) AS j ORDER BY j));
        END IF;
    END IF;
    RETURN QUERY SELECT 'done'::TEXT, r.pk, r.id, r.data, r.version, r.created_at, r.last_modified, r.changed, whole;
EXCEPTION
    WHEN SQLSTATE 'SC412' THEN
        RETURN QUERY SELECT 'precondition'::TEXT, NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::BIGINT,
            NULL::TIMESTAMP, NULL::TIMESTAMP, NULL::BOOLEAN[], FALSE;
    WHEN deadlock_detected OR serialization_failure OR lock_not_available THEN
        RETURN QUERY SELECT 'conflict'::TEXT, NULL::BIGINT, NULL::TEXT, NULL::TEXT, NULL::BIGINT,
            NULL::TIMESTAMP, NULL::TIMESTAMP, NULL::BOOLEAN[], FALSE;
END $$;
