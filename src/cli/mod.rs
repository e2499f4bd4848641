//! The command handlers of the `scimd` binary (not part of the library): each subcommand
//! opens the configured database and calls the same use cases as the admin page.

pub mod admin;
pub mod tenants;
pub mod webhooks;

pub use crate::Options;
