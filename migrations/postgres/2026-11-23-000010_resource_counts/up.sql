-- How many users and groups each tenant has, kept exact by triggers in the same transaction as
-- the insert or delete, so an unfiltered list (Okta "Import Now" pages through the whole
-- directory) answers totalResults without counting the tenant's index on every page.
-- Statement-level triggers with transition tables: deleting a tenant's 100,000 users updates
-- the tenant row once, not 100,000 times.
ALTER TABLE tenants
    ADD COLUMN user_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN group_count BIGINT NOT NULL DEFAULT 0;
UPDATE tenants SET
    user_count = (SELECT count(*) FROM users WHERE users.tenant_id = tenants.id),
    group_count = (SELECT count(*) FROM groups WHERE groups.tenant_id = tenants.id);

CREATE FUNCTION users_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET user_count = user_count + n.c
    FROM (SELECT tenant_id, count(*) AS c FROM changed GROUP BY tenant_id) n WHERE tenants.id = n.tenant_id;
    RETURN NULL;
END $$;
CREATE FUNCTION users_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET user_count = user_count - n.c
    FROM (SELECT tenant_id, count(*) AS c FROM changed GROUP BY tenant_id) n WHERE tenants.id = n.tenant_id;
    RETURN NULL;
END $$;
CREATE FUNCTION groups_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET group_count = group_count + n.c
    FROM (SELECT tenant_id, count(*) AS c FROM changed GROUP BY tenant_id) n WHERE tenants.id = n.tenant_id;
    RETURN NULL;
END $$;
CREATE FUNCTION groups_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET group_count = group_count - n.c
    FROM (SELECT tenant_id, count(*) AS c FROM changed GROUP BY tenant_id) n WHERE tenants.id = n.tenant_id;
    RETURN NULL;
END $$;

CREATE TRIGGER users_counted_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_counted_insert();
CREATE TRIGGER users_counted_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_counted_delete();
CREATE TRIGGER groups_counted_insert AFTER INSERT ON groups
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION groups_counted_insert();
CREATE TRIGGER groups_counted_delete AFTER DELETE ON groups
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION groups_counted_delete();
