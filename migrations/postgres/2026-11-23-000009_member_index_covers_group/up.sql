-- Which groups a user (or group) is in: with group_pk in the index the lookup is covered, and
-- the planner no longer prefers scanning the tenant's whole membership through the primary key
-- (found by bench/scimd-bench: GET /Users/{id} of a member of a 10,000-member group read every
-- membership row of the tenant; 1.6 ms → 0.01 ms per lookup on SQLite).
DROP INDEX group_members_member;
CREATE INDEX group_members_member ON group_members (tenant_id, member_type, member_pk, group_pk);
