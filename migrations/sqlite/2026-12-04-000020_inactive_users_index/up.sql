-- Only inactive users are indexed by their state. The index on (tenant_id, active) held every
-- user under one of two values, so each deactivation or reactivation moved an entry between
-- two random leaves of a B-tree the size of the users table. Now a deactivation adds an entry
-- to an index of the inactive alone, a reactivation removes it, and a write that leaves a user
-- active touches no entry (on PostgreSQL, a new row version of an active user is not indexed
-- here). `active eq false` is compiled to this predicate, written out, so that the planners
-- use the index; `active eq true` matches most of a tenant's users and is read along the
-- tenant's own index.
--
-- At 100,000 users on SQLite (alternating runs, BENCHMARKS.md, twenty-third round), PATCHes of
-- `active` ran at 5,119 / 6,009 / 5,419/s with the old index and 6,099 / 7,324 / 5,255/s with
-- this one (175 / 148 / 167 -> 149 / 122 / 169 us of CPU); with the bench's groups 4,920 /
-- 5,398 / 5,933 -> 5,892 / 5,913 / 6,597/s. On PostgreSQL, within the noise.
DROP INDEX users_tenant_active;
CREATE INDEX users_tenant_inactive ON users (tenant_id) WHERE NOT active;
