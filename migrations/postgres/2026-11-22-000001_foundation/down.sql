DROP TABLE user_values;
DROP TABLE users;
DROP TABLE credentials;
DROP TABLE tenants;
