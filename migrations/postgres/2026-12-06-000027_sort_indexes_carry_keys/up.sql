-- A list sorted by an indexed attribute reads its page's keys from that attribute's index, in
-- the index's order. Without the key (`pk`) in them, PostgreSQL read every skipped row from the
-- table too, and sorted each run of one value again by the key, the list's tie-break
-- (`sortBy=meta.lastModified` at offset 50,000 of 100,000: 77 ms; `sortBy=userName`: 42 ms).
-- With it, an index-only scan in the order wanted (7.5 and 9 ms). SQLite's indexes already end
-- in the key, its rowid. Same names: unique violations are still named for them.
DROP INDEX users_tenant_user_name;
CREATE UNIQUE INDEX users_tenant_user_name ON users (tenant_id, user_name_norm) INCLUDE (pk);
DROP INDEX users_tenant_external_id;
CREATE INDEX users_tenant_external_id ON users (tenant_id, external_id, pk);
DROP INDEX users_tenant_display_name;
CREATE INDEX users_tenant_display_name ON users (tenant_id, display_name_norm, pk);
DROP INDEX users_tenant_last_modified;
CREATE INDEX users_tenant_last_modified ON users (tenant_id, last_modified, pk);
DROP INDEX users_tenant_created;
CREATE INDEX users_tenant_created ON users (tenant_id, created_at, pk);
DROP INDEX groups_tenant_display_name;
CREATE UNIQUE INDEX groups_tenant_display_name ON groups (tenant_id, display_name_norm) INCLUDE (pk);
DROP INDEX groups_tenant_external_id;
CREATE INDEX groups_tenant_external_id ON groups (tenant_id, external_id, pk);
DROP INDEX groups_tenant_last_modified;
CREATE INDEX groups_tenant_last_modified ON groups (tenant_id, last_modified, pk);
DROP INDEX groups_tenant_created;
CREATE INDEX groups_tenant_created ON groups (tenant_id, created_at, pk);
