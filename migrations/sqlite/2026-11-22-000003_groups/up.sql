-- Groups and their members. Members are rows of integer keys, never a JSON array, so a member
-- is added or removed by touching one row and a 100,000-member group is read in pages.
CREATE TABLE groups (
    pk INTEGER PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    display_name_norm TEXT NOT NULL,
    external_id TEXT,
    -- The group's attributes but id, meta and members, as canonical JSON (the source of
    -- truth), and the same normalised for filters (see users.data_norm).
    data TEXT NOT NULL,
    data_norm TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_modified TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX groups_tenant_id ON groups (tenant_id, id);
CREATE UNIQUE INDEX groups_tenant_display_name ON groups (tenant_id, display_name_norm);
CREATE INDEX groups_tenant_pk ON groups (tenant_id, pk);
CREATE INDEX groups_tenant_external_id ON groups (tenant_id, external_id);
CREATE INDEX groups_tenant_last_modified ON groups (tenant_id, last_modified);
CREATE INDEX groups_tenant_created ON groups (tenant_id, created_at);

-- member_type says which table member_pk points into ('User' or 'Group'); deleting a user or
-- a group deletes the rows naming it in the same transaction.
CREATE TABLE group_members (
    tenant_id BIGINT NOT NULL,
    group_pk BIGINT NOT NULL REFERENCES groups(pk) ON DELETE CASCADE,
    member_type TEXT NOT NULL CHECK (member_type IN ('User', 'Group')),
    member_pk BIGINT NOT NULL,
    -- The display the client sent with the member; never part of its identity.
    display TEXT,
    PRIMARY KEY (tenant_id, group_pk, member_type, member_pk)
);
CREATE INDEX group_members_member ON group_members (tenant_id, member_type, member_pk);
