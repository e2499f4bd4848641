DROP INDEX users_tenant_inactive;
CREATE INDEX users_tenant_active ON users (tenant_id, active);
