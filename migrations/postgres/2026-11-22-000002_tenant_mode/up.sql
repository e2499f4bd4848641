-- Per-tenant strict RFC mode: the compatibility layer (src/scim/compat.rs) refuses instead of
-- accepting client quirks.
ALTER TABLE tenants ADD COLUMN strict_rfc BOOLEAN NOT NULL DEFAULT FALSE;
