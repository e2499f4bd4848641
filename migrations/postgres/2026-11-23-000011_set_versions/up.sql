-- A version of each tenant's set of users and of groups, bumped by the triggers that count
-- them: whenever one is added or removed, never when one is changed. A list in creation order
-- keeps its positions while the version holds, so scimd can remember where every 1,000th
-- position of a tenant's list starts (store::positions) and serve `startIndex=K` without
-- skipping K entries of the index on each page.
ALTER TABLE tenants
    ADD COLUMN user_set_version BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN group_set_version BIGINT NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION users_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET user_count = user_count + 1, user_set_version = user_set_version + 1
    WHERE id = NEW.tenant_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION groups_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET group_count = group_count + 1, group_set_version = group_set_version + 1
    WHERE id = NEW.tenant_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION users_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET user_count = user_count - n.c, user_set_version = user_set_version + 1
    FROM (SELECT tenant_id, count(*) AS c FROM changed GROUP BY tenant_id) n WHERE tenants.id = n.tenant_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION groups_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET group_count = group_count - n.c, group_set_version = group_set_version + 1
    FROM (SELECT tenant_id, count(*) AS c FROM changed GROUP BY tenant_id) n WHERE tenants.id = n.tenant_id;
    RETURN NULL;
END $$;
