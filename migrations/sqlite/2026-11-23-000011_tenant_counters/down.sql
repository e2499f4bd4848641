DROP TRIGGER users_counted_insert;
DROP TRIGGER users_counted_delete;
DROP TRIGGER groups_counted_insert;
DROP TRIGGER groups_counted_delete;
ALTER TABLE tenants ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN user_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN group_count BIGINT NOT NULL DEFAULT 0;
UPDATE tenants SET
    event_seq = (SELECT event_seq FROM tenant_counters c WHERE c.tenant_id = tenants.id),
    user_count = (SELECT user_count FROM tenant_counters c WHERE c.tenant_id = tenants.id),
    group_count = (SELECT group_count FROM tenant_counters c WHERE c.tenant_id = tenants.id);
DROP TABLE tenant_counters;
CREATE TRIGGER users_counted_insert AFTER INSERT ON users BEGIN
    UPDATE tenants SET user_count = user_count + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER users_counted_delete AFTER DELETE ON users BEGIN
    UPDATE tenants SET user_count = user_count - 1 WHERE id = OLD.tenant_id;
END;
CREATE TRIGGER groups_counted_insert AFTER INSERT ON groups BEGIN
    UPDATE tenants SET group_count = group_count + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER groups_counted_delete AFTER DELETE ON groups BEGIN
    UPDATE tenants SET group_count = group_count - 1 WHERE id = OLD.tenant_id;
END;
