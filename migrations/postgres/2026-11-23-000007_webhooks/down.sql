DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
ALTER TABLE tenants DROP COLUMN deleted_at;
