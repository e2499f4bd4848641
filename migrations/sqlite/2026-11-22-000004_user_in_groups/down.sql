ALTER TABLE users DROP COLUMN in_groups;
