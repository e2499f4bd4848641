DELETE FROM pending_events WHERE tenant_id NOT IN (SELECT id FROM tenants);
DELETE FROM events WHERE tenant_id NOT IN (SELECT id FROM tenants);
DELETE FROM request_log WHERE tenant_id NOT IN (SELECT id FROM tenants);
ALTER TABLE pending_events ADD CONSTRAINT pending_events_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
ALTER TABLE events ADD CONSTRAINT events_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
ALTER TABLE request_log ADD CONSTRAINT request_log_tenant_id_fkey
    FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
