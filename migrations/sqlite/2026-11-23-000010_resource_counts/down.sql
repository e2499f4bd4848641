DROP TRIGGER users_counted_insert;
DROP TRIGGER users_counted_delete;
DROP TRIGGER groups_counted_insert;
DROP TRIGGER groups_counted_delete;
ALTER TABLE tenants DROP COLUMN user_count;
ALTER TABLE tenants DROP COLUMN group_count;
