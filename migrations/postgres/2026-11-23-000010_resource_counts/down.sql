DROP TRIGGER users_counted_insert ON users;
DROP TRIGGER users_counted_delete ON users;
DROP TRIGGER groups_counted_insert ON groups;
DROP TRIGGER groups_counted_delete ON groups;
DROP FUNCTION users_counted_insert();
DROP FUNCTION users_counted_delete();
DROP FUNCTION groups_counted_insert();
DROP FUNCTION groups_counted_delete();
ALTER TABLE tenants DROP COLUMN user_count, DROP COLUMN group_count;
