CREATE INDEX request_log_at ON request_log (at);
