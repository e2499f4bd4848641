DROP TRIGGER users_counted_insert;
DROP TRIGGER users_counted_delete;
DROP TRIGGER groups_counted_insert;
DROP TRIGGER groups_counted_delete;
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
ALTER TABLE tenants DROP COLUMN user_set_version;
ALTER TABLE tenants DROP COLUMN group_set_version;
