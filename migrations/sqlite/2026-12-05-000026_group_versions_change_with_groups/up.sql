-- Nothing on SQLite: PostgreSQL's scimd_patch_members_many changes a group's version only when
-- a PATCH changes its members; SQLite's one writer runs each such PATCH in-process.
-- The migration exists so both backends' migrations keep the same names.
SELECT 1;
