CREATE TABLE group_members_old (
    tenant_id BIGINT NOT NULL,
    group_pk BIGINT NOT NULL REFERENCES groups(pk) ON DELETE CASCADE,
    member_type TEXT NOT NULL CHECK (member_type IN ('User', 'Group')),
    member_pk BIGINT NOT NULL,
    display TEXT,
    PRIMARY KEY (tenant_id, group_pk, member_type, member_pk)
);
INSERT INTO group_members_old (tenant_id, group_pk, member_type, member_pk, display)
    SELECT tenant_id, group_pk, member_type, member_pk, display FROM group_members;
DROP TABLE group_members;
ALTER TABLE group_members_old RENAME TO group_members;
CREATE INDEX group_members_member ON group_members (tenant_id, member_type, member_pk, group_pk);
