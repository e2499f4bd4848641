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
ALTER TABLE tenants DROP COLUMN user_set_version, DROP COLUMN group_set_version;
