ALTER TABLE tenants
    ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN user_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN group_count BIGINT NOT NULL DEFAULT 0;
UPDATE tenants SET event_seq = c.event_seq, user_count = c.user_count, group_count = c.group_count
    FROM tenant_counters c WHERE c.tenant_id = tenants.id;
DROP TABLE tenant_counters;

CREATE OR REPLACE FUNCTION users_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET user_count = user_count + 1 WHERE id = NEW.tenant_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION groups_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET group_count = group_count + 1 WHERE id = NEW.tenant_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION users_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET user_count = user_count - n.c
    FROM (SELECT tenant_id, count(*) AS c FROM changed GROUP BY tenant_id) n WHERE tenants.id = n.tenant_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION groups_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET group_count = group_count - n.c
    FROM (SELECT tenant_id, count(*) AS c FROM changed GROUP BY tenant_id) n WHERE tenants.id = n.tenant_id;
    RETURN NULL;
END $$;
