-- A PATCH of a group's members alone (adds and removes, each member looked up before) as one
-- statement that does all of it or none of it, so that in the group's lane (store::group_lanes)
-- it needs no savepoint: the lane's SAVEPOINT, and the RELEASE that carried the request's
-- event append, were the second of its two round trips, each of which every change queued
-- behind it on the group waited for.
--
-- scimd_patch_members applies the changes; then If-Match (the versions the change may
-- replace, NULL for any: RFC 7644 §3.14) is checked against the version it replaced, and the
-- events are appended. Each operation's event is prepared for the case that every member it
-- names changed, which it states whenever each operation changed all its members or none;
-- otherwise no event is appended and `appended` is false, for scimd to append the events of
-- what did change. A failed If-Match and a deadlock end the function's block, which undoes all
-- of its changes, and are answered as an outcome rather than an error, so that the lane's
-- transaction goes on for the writes beside it.
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
