//! The integration tests: every test starts its own scimd on port 0 with a fresh database,
//! on SQLite and (with SCIMD_TEST_POSTGRES_URL) on PostgreSQL.

mod helpers;
mod test_db;

mod activity;
mod admin_api;
mod admin_browser;
mod admin_delivery_page;
mod admin_page;
mod auth;
mod cli;
mod cli_startup;
mod cli_webhooks;
mod clients;
mod compression;
mod crash;
mod credentials;
mod database_outage;
mod error_details;
mod errors;
mod events;
mod filter_agreement;
mod filters;
mod group_batches;
mod group_filter_agreement;
mod group_lookup;
mod group_member_filters;
mod group_pages;
mod group_versions;
mod groups;
mod member_display;
mod model;
mod pg_proxy;
mod projection;
mod root_sort;
mod sort_agreement;
mod sort_multi_valued;
mod user_group_filters;
mod user_groups;
mod users_concurrency;
mod users_list;
mod users_write;
mod webhook_receiver;
mod webhook_streams;
mod webhooks;
