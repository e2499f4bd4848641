//! scimd: a SCIM 2.0 service provider (RFC 7643, RFC 7644) for SaaS apps, on SQLite or
//! PostgreSQL. Layers point one way: `http` → `scim` → `store`.

pub mod activity;
pub mod admin;
pub mod auth;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod error;
pub mod http;
pub mod scim;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tenancy;
pub mod webhooks;
