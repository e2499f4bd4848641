-- Nothing on SQLite: PostgreSQL gets a function that runs the PATCHes of group members alone
-- queued in a group's lane at once by one statement; SQLite's one writer runs each in-process.
-- The migration exists so both backends' migrations keep the same names.
SELECT 1;
