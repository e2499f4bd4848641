//! `scimd admin …`: admin-page accounts and admin API tokens, on the configured database.

use super::Options;
use clap::Subcommand;
use scimd::clock::SystemClock;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an admin-page account (password prompted, or the first line of stdin).
    CreateUser {
        email: String,
        /// Set a new password if the account exists.
        #[arg(long)]
        reset_password: bool,
    },
    /// Admin API tokens for the host app's automation.
    #[command(subcommand)]
    ApiToken(ApiTokenCommand),
}

#[derive(Subcommand)]
pub enum ApiTokenCommand {
    /// Issue a token; it is printed once and stored only as a hash.
    Issue {
        #[arg(long)]
        label: Option<String>,
        /// Print one JSON object {"id", "token"}.
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id.
    Revoke { id: String },
}

pub fn admin(options: &Options, cmd: &AdminCommand) -> scimd::error::Result<()> {
    use scimd::admin::{accounts, api_tokens};
    let store = options.open_store()?;
    let clock = SystemClock;
    match cmd {
        AdminCommand::CreateUser { email, reset_password } => {
            let password = read_new_password()?;
            accounts::create_admin_user(&store, &clock, email, &password, *reset_password)?;
            println!("admin {email} can now sign in at {}/admin", options.public_url());
        }
        AdminCommand::ApiToken(ApiTokenCommand::Issue { label, json }) => {
            let (id, token) = api_tokens::issue(&store, &clock, label.as_deref())?;
            if *json {
                println!("{}", serde_json::json!({"id": id, "token": token}));
            } else {
                println!("Admin API token: {token}");
                println!();
                println!("Send it as 'Authorization: Bearer <token>' to {}/admin/api.", options.public_url());
                println!("It is shown only this once; scimd stores only its hash.");
            }
        }
        AdminCommand::ApiToken(ApiTokenCommand::List { json }) => {
            let rows = api_tokens::list(&store)?;
            let fmt = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(scimd::clock::format_datetime);
            if *json {
                let out: Vec<_> = rows
                    .iter()
                    .map(|t| {
                        serde_json::json!({"id": t.id, "label": t.label,
                            "created_at": scimd::clock::format_datetime(t.created_at),
                            "last_used_at": fmt(t.last_used_at), "revoked": t.revoked})
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(out));
            } else {
                for t in rows {
                    let state = if t.revoked { "revoked" } else { "active" };
                    println!("{}\t{state}\t{}", t.id, t.label.unwrap_or_default());
                }
            }
        }
        AdminCommand::ApiToken(ApiTokenCommand::Revoke { id }) => {
            api_tokens::revoke(&store, &clock, id)?;
            println!("revoked admin API token {id}");
        }
    }
    Ok(())
}

/// A new password: prompted twice without echo on a terminal, else the first line of stdin
/// (for scripts: `echo "$PW" | scimd admin create-user ops@example.com`).
pub fn read_new_password() -> scimd::error::Result<String> {
    use std::io::{BufRead, IsTerminal};
    let io_error = |e: std::io::Error| scimd::error::Error::internal(format!("cannot read the password: {e}"));
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(io_error)?;
        let again = rpassword::prompt_password("Password again: ").map_err(io_error)?;
        if first != again {
            return Err(scimd::error::Error::invalid_value("the passwords differ"));
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(io_error)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}
