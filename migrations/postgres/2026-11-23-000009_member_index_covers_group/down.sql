DROP INDEX group_members_member;
CREATE INDEX group_members_member ON group_members (tenant_id, member_type, member_pk);
