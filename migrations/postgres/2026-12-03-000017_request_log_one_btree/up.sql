-- No index on the request log's time alone: every logged request paid for an entry in it, and
-- pruning now goes tenant by tenant along the primary key (tenant, time, id). (On SQLite the
-- table also becomes its primary key's B-tree; see its migration of this name.)
DROP INDEX request_log_at;
