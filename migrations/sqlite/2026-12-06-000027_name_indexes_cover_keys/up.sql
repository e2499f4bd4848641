-- Nothing on SQLite: every index there ends in the row's key (the rowid, which is `pk`), so a
-- list sorted by userName already reads its page's keys from the name's index alone.
-- The migration exists so both backends' migrations keep the same names.
SELECT 1;
