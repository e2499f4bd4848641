-- Only inactive users are indexed by their state. The index on (tenant_id, active) held every
-- user under one of two values, so each deactivation or reactivation moved an entry between
-- two random leaves of a B-tree the size of the users table: at 100,000 users on SQLite,
-- PATCHes of `active` ran at 5,094 / 5,514 / 5,730/s with it and 5,750 / 7,056 / 7,141/s
-- with no index on it (alternating runs, 175 / 162 / 157 -> 160 / 129 / 128 us of CPU), and
-- at 6,099 / 7,324 / 5,255/s with this one (against 5,119 / 6,009 / 5,419; 175 / 148 / 167 ->
-- 149 / 122 / 169 us). On PostgreSQL, where every update that is not HOT adds an entry to
-- each index, within the noise. Now a deactivation adds an entry to an index of the inactive
-- alone and a reactivation removes it;
-- a write that leaves a user active touches no entry (on PostgreSQL, a new row version of an
-- active user is not indexed here). `active eq false` is compiled to this predicate, written
-- out, so the planners use the index; `active eq true` matches most of a tenant's users and is
-- read along the tenant's own index.
DROP INDEX users_tenant_active;
CREATE INDEX users_tenant_inactive ON users (tenant_id) WHERE NOT active;
