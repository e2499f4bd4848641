DROP TABLE data_backfills;
ALTER TABLE group_members DROP COLUMN display_norm;
