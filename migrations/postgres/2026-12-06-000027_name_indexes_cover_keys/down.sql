DROP INDEX users_tenant_user_name;
CREATE UNIQUE INDEX users_tenant_user_name ON users (tenant_id, user_name_norm);
DROP INDEX groups_tenant_display_name;
CREATE UNIQUE INDEX groups_tenant_display_name ON groups (tenant_id, display_name_norm);
