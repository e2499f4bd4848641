ALTER TABLE tenants DROP COLUMN strict_rfc;
