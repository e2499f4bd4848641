-- How many users and groups each tenant has, kept exact by triggers in the same transaction as
-- the insert or delete, so an unfiltered list (Okta "Import Now" pages through the whole
-- directory) answers totalResults without counting the tenant's index on every page.
--
-- Inserts are counted by deferred row triggers, which run at commit: the tenant row is then
-- already locked by the event append (tenants.event_seq, the last statement of every write),
-- so counting adds no lock time. Counted at the insert itself, concurrent POSTs held the
-- tenant row for the rest of their transactions and ran 40% slower. Deletes are counted per
-- statement (transition tables), so removing a tenant's 100,000 users updates its row once.
ALTER TABLE tenants
    ADD COLUMN user_count BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN group_count BIGINT NOT NULL DEFAULT 0;
UPDATE tenants SET
    user_count = (SELECT count(*) FROM users WHERE users.tenant_id = tenants.id),
    group_count = (SELECT count(*) FROM groups WHERE groups.tenant_id = tenants.id);

CREATE FUNCTION users_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET user_count = user_count + 1 WHERE id = NEW.tenant_id;
    RETURN NULL;
END $$;
CREATE FUNCTION groups_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET group_count = group_count + 1 WHERE id = NEW.tenant_id;
    RETURN NULL;
END $$;
CREATE FUNCTION users_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET user_count = user_count - n.c
    FROM (SELECT tenant_id, count(*) AS c FROM changed GROUP BY tenant_id) n WHERE tenants.id = n.tenant_id;
    RETURN NULL;
END $$;
CREATE FUNCTION groups_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tenants SET group_count = group_count - n.c
    FROM (SELECT tenant_id, count(*) AS c FROM changed GROUP BY tenant_id) n WHERE tenants.id = n.tenant_id;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER users_counted_insert AFTER INSERT ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION users_counted_insert();
CREATE CONSTRAINT TRIGGER groups_counted_insert AFTER INSERT ON groups
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION groups_counted_insert();
CREATE TRIGGER users_counted_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION users_counted_delete();
CREATE TRIGGER groups_counted_delete AFTER DELETE ON groups
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION groups_counted_delete();
