-- The PATCHes of group members alone queued in a group's lane at once (store::group_lanes),
-- run by one statement: one round trip for all of them instead of one each. The lane runs a
-- group's changes one at a time, so each round trip was time every PATCH queued behind it
-- waited for (the thirty-first round: ~306 us per PATCH in the lane, of which PostgreSQL ran
-- it for ~180).
--
-- Each PATCH runs as scimd_patch_members_checked runs it alone: its changes, If-Match and
-- events in a block of its own, so one that fails (no group, If-Match, a deadlock) undoes only
-- its own changes. One row per PATCH run, in order. A PATCH that changed some of an
-- operation's members but not all (`appended` false) is the last one run: scimd appends its
-- events before the rest run, so that the events of one group stay in the order of its
-- versions.
--
-- The arrays per PATCH are given once per PATCH; the arrays per member, per If-Match version,
-- per user to mark and per event are those of all PATCHes one after another, and `*_ends`
-- says where each PATCH's elements end (its last element's position, the previous PATCH's
-- end when it has none). `p_any_version`: no If-Match, any version will do.
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
DECLARE
    r RECORD;
    m0 INTEGER := 0;
    k0 INTEGER := 0;
    v0 INTEGER := 0;
    e0 INTEGER := 0;
    m1 INTEGER;
    e1 INTEGER;
BEGIN
    FOR q IN 1 .. coalesce(cardinality(p_group_ids), 0) LOOP
        m1 := p_member_ends[q];
        e1 := p_event_ends[q];
        SELECT * INTO r FROM scimd_patch_members_checked(
            p_tenants[q], p_group_ids[q], p_nows[q],
            p_adds[m0 + 1 : m1], p_types[m0 + 1 : m1], p_pks[m0 + 1 : m1], p_displays[m0 + 1 : m1],
            p_mark_users[k0 + 1 : p_mark_ends[q]],
            p_ops[m0 + 1 : m1],
            CASE WHEN p_any_version[q] THEN NULL ELSE p_versions[v0 + 1 : p_version_ends[q]] END,
            p_event_ops[e0 + 1 : e1], p_request_ids[q],
            p_event_ids[e0 + 1 : e1], p_event_types[e0 + 1 : e1], p_event_resource_types[e0 + 1 : e1],
            p_event_resource_ids[e0 + 1 : e1], p_event_data[e0 + 1 : e1]);
        patch := q;
        outcome := r.outcome;
        pk := r.pk;
        id := r.id;
        data := r.data;
        version := r.version;
        created_at := r.created_at;
        last_modified := r.last_modified;
        changed := r.changed;
        appended := r.appended;
        RETURN NEXT;
        IF r.outcome = 'done' AND NOT r.appended THEN
            RETURN;
        END IF;
        m0 := m1;
        k0 := p_mark_ends[q];
        v0 := p_version_ends[q];
        e0 := e1;
    END LOOP;
END $$;
