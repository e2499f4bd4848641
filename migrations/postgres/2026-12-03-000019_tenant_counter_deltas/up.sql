-- A tenant's POSTs no longer commit one at a time. Every insert of a user or group updated its
-- tenant's counters row at commit (000010, 000011) and held that row's lock until its commit
-- was flushed, so each POST waited for the one before it to be flushed, and no two shared a
-- flush: under 32 concurrent POSTs the waiting (XactLockTableWait, EvalPlanQual) was a fifth of
-- PostgreSQL's CPU, and dropping the trigger took POSTs from 1,443-1,633 to 2,535-3,135/s.
--
-- An insert or delete now adds to a row of deltas of its own: the tenant's row for the
-- PostgreSQL backend that runs it (`slot`, its pid). A backend runs one transaction at a time,
-- so no write waits for another's row. A count is the counters row plus the tenant's deltas,
-- read in one snapshot (store::tenants); the numbering pass, which locks the counters row
-- anyway, moves the deltas into it and bumps a set's version when it moves a change of that
-- set. A reader that sees a set's changes pending knows the set moved since its version, and
-- does not seek by remembered positions (store::positions).
--
-- Rows are updated in place, never inserted and deleted per write: an update that changes no
-- indexed column is HOT, so the reads of a count find a few index entries, where a row per
-- write left tens of thousands of dead ones to step over until vacuum (a first version did:
-- a page of groups after 35,000 POSTs took 3.3 ms of CPU instead of 1.3).
--
-- No foreign key: a tenant's deletion cascades into its users, whose delete trigger adds
-- deltas for a tenant that may already be gone; the pass drops deltas of tenants without
-- counters, and rows of backends that have gone once they hold nothing.
CREATE TABLE tenant_counter_deltas (
    tenant_id BIGINT NOT NULL,
    slot INTEGER NOT NULL,
    users BIGINT NOT NULL DEFAULT 0,
    groups BIGINT NOT NULL DEFAULT 0,
    -- Adds and removes not yet moved: an add and a remove change the set but not its size.
    user_changes BIGINT NOT NULL DEFAULT 0,
    group_changes BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, slot)
) WITH (fillfactor = 50);

DROP TRIGGER users_counted_insert ON users;
DROP TRIGGER groups_counted_insert ON groups;

CREATE OR REPLACE FUNCTION users_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_counter_deltas AS d (tenant_id, slot, users, user_changes)
    VALUES (NEW.tenant_id, pg_backend_pid(), 1, 1)
    ON CONFLICT (tenant_id, slot) DO UPDATE SET users = d.users + 1, user_changes = d.user_changes + 1;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION groups_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_counter_deltas AS d (tenant_id, slot, groups, group_changes)
    VALUES (NEW.tenant_id, pg_backend_pid(), 1, 1)
    ON CONFLICT (tenant_id, slot) DO UPDATE SET groups = d.groups + 1, group_changes = d.group_changes + 1;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION users_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_counter_deltas AS d (tenant_id, slot, users, user_changes)
    SELECT tenant_id, pg_backend_pid(), -count(*), count(*) FROM changed GROUP BY tenant_id
    ON CONFLICT (tenant_id, slot) DO UPDATE
        SET users = d.users + excluded.users, user_changes = d.user_changes + excluded.user_changes;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION groups_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_counter_deltas AS d (tenant_id, slot, groups, group_changes)
    SELECT tenant_id, pg_backend_pid(), -count(*), count(*) FROM changed GROUP BY tenant_id
    ON CONFLICT (tenant_id, slot) DO UPDATE
        SET groups = d.groups + excluded.groups, group_changes = d.group_changes + excluded.group_changes;
    RETURN NULL;
END $$;

-- A POST inserts one user: a row trigger costs it less than a statement's transition table.
CREATE TRIGGER users_counted_insert AFTER INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION users_counted_insert();
CREATE TRIGGER groups_counted_insert AFTER INSERT ON groups
    FOR EACH ROW EXECUTE FUNCTION groups_counted_insert();

-- Numbers the tenant's committed pending events and moves its committed deltas into its
-- counters; returns how many events it numbered. Looks before it locks, so a pass with nothing
-- to do writes nothing.
CREATE OR REPLACE FUNCTION scimd_number_events(p_tenant BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    last_seq BIGINT;
    moved BIGINT;
    d RECORD;
    user_change BIGINT := 0;
    user_moves BIGINT := 0;
    group_change BIGINT := 0;
    group_moves BIGINT := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pending_events WHERE tenant_id = p_tenant)
       AND NOT EXISTS (SELECT 1 FROM tenant_counter_deltas
                       WHERE tenant_id = p_tenant AND (user_changes <> 0 OR group_changes <> 0)) THEN
        RETURN 0;
    END IF;
    SELECT event_seq INTO last_seq FROM tenant_counters WHERE tenant_id = p_tenant FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        DELETE FROM tenant_counter_deltas WHERE tenant_id = p_tenant;
        IF EXISTS (SELECT 1 FROM pending_events WHERE tenant_id = p_tenant) THEN
            RAISE EXCEPTION 'tenant % has no counters row', p_tenant;
        END IF;
        RETURN 0;
    END IF;
    -- What is moved is subtracted from the row it was read from, in this transaction, so the
    -- counters plus the deltas stay exact whatever a backend adds meanwhile.
    FOR d IN SELECT slot, users, groups, user_changes, group_changes FROM tenant_counter_deltas
             WHERE tenant_id = p_tenant AND (user_changes <> 0 OR group_changes <> 0) LOOP
        UPDATE tenant_counter_deltas SET
            users = users - d.users, groups = groups - d.groups,
            user_changes = user_changes - d.user_changes, group_changes = group_changes - d.group_changes
        WHERE tenant_id = p_tenant AND slot = d.slot;
        user_change := user_change + d.users;
        user_moves := user_moves + d.user_changes;
        group_change := group_change + d.groups;
        group_moves := group_moves + d.group_changes;
    END LOOP;
    -- Rows of backends that have gone, once they hold nothing.
    DELETE FROM tenant_counter_deltas
    WHERE tenant_id = p_tenant AND users = 0 AND groups = 0 AND user_changes = 0 AND group_changes = 0
      AND slot NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL);
    -- A new statement, so a new snapshot: it sees what the pass before this one moved.
    WITH taken AS (
        DELETE FROM pending_events WHERE tenant_id = p_tenant RETURNING *
    )
    INSERT INTO events (tenant_id, seq, id, type, resource_type, resource_id, occurred_at, request_id, data)
    SELECT tenant_id, last_seq + row_number() OVER (ORDER BY pos), id, type, resource_type, resource_id,
           occurred_at, request_id, data
    FROM taken;
    GET DIAGNOSTICS moved = ROW_COUNT;
    UPDATE tenant_counters SET
        event_seq = last_seq + moved,
        user_count = user_count + user_change,
        user_set_version = user_set_version + (user_moves > 0)::int,
        group_count = group_count + group_change,
        group_set_version = group_set_version + (group_moves > 0)::int
    WHERE tenant_id = p_tenant;
    RETURN moved;
END $$;

-- Every tenant's, in tenant order (two passes over several tenants lock their rows in the
-- same order).
CREATE OR REPLACE FUNCTION scimd_number_all_events() RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    t BIGINT;
    moved BIGINT := 0;
BEGIN
    FOR t IN SELECT tenant_id FROM pending_events
             UNION SELECT tenant_id FROM tenant_counter_deltas WHERE user_changes <> 0 OR group_changes <> 0
             ORDER BY tenant_id LOOP
        moved := moved + scimd_number_events(t);
    END LOOP;
    RETURN moved;
END $$;

