-- Folds what is pending, then puts back 000011's counting triggers and 000014's numbering pass.
SELECT scimd_number_all_events();
DROP TRIGGER users_counted_insert ON users;
DROP TRIGGER groups_counted_insert ON groups;
CREATE OR REPLACE FUNCTION users_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenant_counters SET user_count = user_count + 1, user_set_version = user_set_version + 1
    WHERE tenant_id = NEW.tenant_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION groups_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenant_counters SET group_count = group_count + 1, group_set_version = group_set_version + 1
    WHERE tenant_id = NEW.tenant_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION users_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenant_counters SET user_count = user_count - n.c, user_set_version = user_set_version + 1
    FROM (SELECT tenant_id, count(*) AS c FROM changed GROUP BY tenant_id) n
    WHERE tenant_counters.tenant_id = n.tenant_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION groups_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenant_counters SET group_count = group_count - n.c, group_set_version = group_set_version + 1
    FROM (SELECT tenant_id, count(*) AS c FROM changed GROUP BY tenant_id) n
    WHERE tenant_counters.tenant_id = n.tenant_id;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER users_counted_insert AFTER INSERT ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION users_counted_insert();
CREATE CONSTRAINT TRIGGER groups_counted_insert AFTER INSERT ON groups
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION groups_counted_insert();
CREATE OR REPLACE FUNCTION scimd_number_events(p_tenant BIGINT) RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    last_seq BIGINT;
    moved BIGINT;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pending_events WHERE tenant_id = p_tenant) THEN
        RETURN 0;
    END IF;
    SELECT event_seq INTO last_seq FROM tenant_counters WHERE tenant_id = p_tenant FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'tenant % has no counters row', p_tenant;
    END IF;
    -- A new statement, so a new snapshot: it sees what the pass before this one moved.
    WITH taken AS (
        DELETE FROM pending_events WHERE tenant_id = p_tenant RETURNING *
    )
    INSERT INTO events (tenant_id, seq, id, type, resource_type, resource_id, occurred_at, request_id, data)
    SELECT tenant_id, last_seq + row_number() OVER (ORDER BY pos), id, type, resource_type, resource_id,
           occurred_at, request_id, data
    FROM taken;
    GET DIAGNOSTICS moved = ROW_COUNT;
    UPDATE tenant_counters SET event_seq = last_seq + moved WHERE tenant_id = p_tenant;
    RETURN moved;
END $$;
CREATE OR REPLACE FUNCTION scimd_number_all_events() RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    t BIGINT;
    moved BIGINT := 0;
BEGIN
    FOR t IN SELECT DISTINCT tenant_id FROM pending_events ORDER BY tenant_id LOOP
        moved := moved + scimd_number_events(t);
    END LOOP;
    RETURN moved;
END $$;
DROP TABLE tenant_counter_deltas;
