-- Nothing on SQLite: its one writer runs a PATCH's lookup of the members it adds and their
-- insert with nothing between them. PostgreSQL's scimd_patch_members now locks the members it
-- adds; the migration exists so both backends' migrations keep the same names.
SELECT 1;
