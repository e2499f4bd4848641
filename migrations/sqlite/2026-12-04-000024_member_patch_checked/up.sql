-- Nothing on SQLite: PostgreSQL gets a function that runs a PATCH of a group's members alone
-- whole, If-Match and events included, without a savepoint of its own in the group's lane;
-- SQLite's one writer runs the same statements in-process. The migration exists so both
-- backends' migrations keep the same names.
SELECT 1;
