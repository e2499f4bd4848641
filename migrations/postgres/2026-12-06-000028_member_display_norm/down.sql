-- The member PATCH functions as migrations 000025 and 000026 left them.
DROP FUNCTION scimd_patch_members_many(BIGINT[], TEXT[], TIMESTAMP[], TEXT[], BOOLEAN[], INTEGER[], BOOLEAN[], TEXT[], BIGINT[], TEXT[], TEXT[], INTEGER[], INTEGER[], BIGINT[], INTEGER[], BIGINT[], INTEGER[], INTEGER[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[]);
DROP FUNCTION scimd_apply_member_changes(BIGINT, BIGINT, BOOLEAN[], TEXT[], BIGINT[], TEXT[], TEXT[], BIGINT[]);

CREATE FUNCTION scimd_apply_member_changes(
    p_tenant BIGINT,
    p_group_pk BIGINT,
    p_adds BOOLEAN[],
    p_types TEXT[],
    p_pks BIGINT[],
    p_displays TEXT[],
    p_mark_users BIGINT[]
) RETURNS BOOLEAN[] LANGUAGE plpgsql AS $$
DECLARE
    flags BOOLEAN[] := '{}';
    n BIGINT;
BEGIN
    FOR i IN 1 .. coalesce(cardinality(p_pks), 0) LOOP
        IF p_adds[i] THEN
            -- Re-adding a member changes nothing (RFC 7644 §3.5.2.1).
            IF p_types[i] = 'User' THEN
                INSERT INTO group_members (tenant_id, group_pk, member_type, member_pk, display)
                SELECT p_tenant, p_group_pk, 'User', u.pk, p_displays[i]
                FROM users u WHERE u.tenant_id = p_tenant AND u.pk = p_pks[i]
                FOR KEY SHARE
                ON CONFLICT DO NOTHING;
            ELSE
                INSERT INTO group_members (tenant_id, group_pk, member_type, member_pk, display)
                SELECT p_tenant, p_group_pk, 'Group', x.pk, p_displays[i]
                FROM groups x WHERE x.tenant_id = p_tenant AND x.pk = p_pks[i]
                FOR KEY SHARE
                ON CONFLICT DO NOTHING;
            END IF;
        ELSE
            DELETE FROM group_members m
            WHERE m.tenant_id = p_tenant AND m.group_pk = p_group_pk
              AND m.member_type = p_types[i] AND m.member_pk = p_pks[i];
        END IF;
        GET DIAGNOSTICS n = ROW_COUNT;
        flags := flags || (n > 0);
    END LOOP;
    IF coalesce(cardinality(p_mark_users), 0) > 0 THEN
        UPDATE users SET in_groups = TRUE
        WHERE users.tenant_id = p_tenant AND users.in_groups = FALSE AND users.pk = ANY (p_mark_users);
    END IF;
    RETURN flags;
END $$;

CREATE FUNCTION scimd_patch_members_many(
    p_tenants BIGINT[],
    p_group_ids TEXT[],
    p_nows TIMESTAMP[],
    p_request_ids TEXT[],
    p_any_version BOOLEAN[],
    p_member_ends INTEGER[],
    p_adds BOOLEAN[],
    p_types TEXT[],
    p_pks BIGINT[],
    p_displays TEXT[],
    p_ops INTEGER[],
    p_mark_ends INTEGER[],
    p_mark_users BIGINT[],
    p_version_ends INTEGER[],
    p_versions BIGINT[],
    p_event_ends INTEGER[],
    p_event_ops INTEGER[],
    p_event_ids TEXT[],
    p_event_types TEXT[],
    p_event_resource_types TEXT[],
    p_event_resource_ids TEXT[],
    p_event_data TEXT[]
) RETURNS TABLE (
    patch INTEGER,
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
#variable_conflict use_column
DECLARE
    -- The group of the PATCHes run last, as they left it; `locked`: its row is locked by this
    -- statement, and `written` is the version the row holds.
    g groups%ROWTYPE;
    locked BOOLEAN := FALSE;
    written BIGINT;
    locked_here BOOLEAN;
    was_version BIGINT;
    was_modified TIMESTAMP;
    flags BOOLEAN[];
    m0 INTEGER := 0;
    k0 INTEGER := 0;
    v0 INTEGER := 0;
    e0 INTEGER := 0;
    m1 INTEGER;
    e1 INTEGER;
    ops INTEGER;
    named INTEGER[];
    done INTEGER[];
    whole BOOLEAN;
    kept INTEGER[];
BEGIN
    FOR q IN 1 .. coalesce(cardinality(p_group_ids), 0) LOOP
        m1 := p_member_ends[q];
        e1 := p_event_ends[q];
        IF locked AND NOT (g.tenant_id = p_tenants[q] AND g.id = p_group_ids[q]) THEN
            IF g.version <> written THEN
                UPDATE groups SET version = g.version, last_modified = g.last_modified WHERE groups.pk = g.pk;
            END IF;
            locked := FALSE;
        END IF;
        patch := q;
        locked_here := NOT locked;
        was_version := g.version;
        was_modified := g.last_modified;
        BEGIN
            IF locked_here THEN
                -- FOR NO KEY UPDATE, as an UPDATE of the row would lock it: member adds' FOR
                -- KEY SHARE of the group does not wait for it.
                SELECT * INTO g FROM groups
                WHERE groups.tenant_id = p_tenants[q] AND groups.id = p_group_ids[q]
                FOR NO KEY UPDATE;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'no such group' USING ERRCODE = 'SC404';
                END IF;
                written := g.version;
            END IF;
            IF NOT p_any_version[q] AND NOT (g.version = ANY (p_versions[v0 + 1 : p_version_ends[q]])) THEN
                RAISE EXCEPTION 'If-Match names another version' USING ERRCODE = 'SC412';
            END IF;
            flags := scimd_apply_member_changes(p_tenants[q], g.pk, p_adds[m0 + 1 : m1], p_types[m0 + 1 : m1],
                p_pks[m0 + 1 : m1], p_displays[m0 + 1 : m1], p_mark_users[k0 + 1 : p_mark_ends[q]]);
            -- RFC 7644 §3.14, RFC 7643 §3.1: a new version and lastModified only for a change.
            IF TRUE = ANY (flags) THEN
                g.version := g.version + 1;
                g.last_modified := p_nows[q];
            END IF;
            -- Per operation: how many members it names, how many it changed.
            ops := coalesce((SELECT max(o) FROM unnest(p_ops[m0 + 1 : m1]) AS o), 0);
            named := array_fill(0, ARRAY[ops]);
            done := array_fill(0, ARRAY[ops]);
            FOR i IN 1 .. m1 - m0 LOOP
                named[p_ops[m0 + i]] := named[p_ops[m0 + i]] + 1;
                IF flags[i] THEN
                    done[p_ops[m0 + i]] := done[p_ops[m0 + i]] + 1;
                END IF;
            END LOOP;
            whole := TRUE;
            FOR k IN 1 .. ops LOOP
                whole := whole AND (done[k] = 0 OR done[k] = named[k]);
            END LOOP;
            IF whole THEN
                kept := '{}';
                FOR j IN e0 + 1 .. e1 LOOP
                    IF done[p_event_ops[j]] > 0 THEN
                        kept := kept || j;
                    END IF;
                END LOOP;
                IF cardinality(kept) = e1 - e0 THEN
                    -- Every operation changed all its members (the usual PATCH): as given.
                    PERFORM scimd_append_events(p_tenants[q], p_nows[q], p_request_ids[q],
                        p_event_ids[e0 + 1 : e1], p_event_types[e0 + 1 : e1],
                        p_event_resource_types[e0 + 1 : e1], p_event_resource_ids[e0 + 1 : e1],
                        p_event_data[e0 + 1 : e1]);
                ELSIF cardinality(kept) > 0 THEN
                    PERFORM scimd_append_events(p_tenants[q], p_nows[q], p_request_ids[q],
                        ARRAY(SELECT p_event_ids[j] FROM unnest(kept) AS j ORDER BY j),
                        ARRAY(SELECT p_event_types[j] FROM unnest(kept) AS j ORDER BY j),
                        ARRAY(SELECT p_event_resource_types[j] FROM unnest(kept) AS j ORDER BY j),
                        ARRAY(SELECT p_event_resource_ids[j] FROM unnest(kept) AS j ORDER BY j),
                        ARRAY(SELECT p_event_data[j] FROM unnest(kept) AS j ORDER BY j));
                END IF;
            END IF;
            locked := TRUE;
            outcome := 'done';
            pk := g.pk;
            id := g.id;
            data := g.data;
            version := g.version;
            created_at := g.created_at;
            last_modified := g.last_modified;
            changed := flags;
            appended := whole;
        EXCEPTION
            WHEN SQLSTATE 'SC404' OR SQLSTATE 'SC412' OR deadlock_detected OR serialization_failure
                 OR lock_not_available THEN
                -- The block's changes are undone, the row's lock with them; the variables are
                -- not.
                IF locked_here THEN
                    locked := FALSE;
                ELSE
                    g.version := was_version;
                    g.last_modified := was_modified;
                END IF;
                outcome := CASE SQLSTATE WHEN 'SC404' THEN 'no_group' WHEN 'SC412' THEN 'precondition'
                           ELSE 'conflict' END;
                pk := NULL;
                id := NULL;
                data := NULL;
                version := NULL;
                created_at := NULL;
                last_modified := NULL;
                changed := NULL;
                appended := FALSE;
        END;
        RETURN NEXT;
        EXIT WHEN outcome = 'done' AND NOT appended;
        m0 := m1;
        k0 := p_mark_ends[q];
        v0 := p_version_ends[q];
        e0 := e1;
    END LOOP;
    IF locked AND g.version <> written THEN
        UPDATE groups SET version = g.version, last_modified = g.last_modified WHERE groups.pk = g.pk;
    END IF;
END $$;

DROP TABLE data_backfills;
ALTER TABLE group_members DROP COLUMN display_norm;
