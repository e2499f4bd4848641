DROP TABLE admin_tokens;
DROP TABLE admin_sessions;
DROP TABLE admin_users;
