//! `chat-server [serve]`, `chat-server migrate`, `chat-server create-admin`.

use std::sync::Arc;

use anyhow::Context;
use chat_domain::SystemClock;
use chat_server::{app, telemetry, Application, Settings};
use clap::{Parser, Subcommand};

/// The support chat server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP and WebSocket (the default).
    Serve,
    /// Apply the store's migrations, then exit.
    Migrate,
    /// Create an admin account, then exit.
    CreateAdmin {
        /// The admin's username.
        #[arg(long)]
        username: String,
        /// The admin's password (or the CHAT_ADMIN_PASSWORD variable).
        #[arg(long, env = "CHAT_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load()?;
    telemetry::init(&settings.log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            tokio::task::spawn_blocking(move || {
                let choice = app::StoreChoice::from_settings(&settings)?;
                let applied = app::migrate(&choice)?;
                tracing::info!(?applied, "migrations applied");
                anyhow::Ok(())
            })
            .await
            .context("migration task failed")??;
        }
        Command::CreateAdmin { username, password } => {
            tokio::task::spawn_blocking(move || {
                let chat = app::build_chat(&settings, Arc::new(SystemClock))?;
                let user = chat
                    .create_admin(&username, &password)
                    .context("cannot create the admin")?;
                tracing::info!(user_id = %user.id, username = %username, "admin created");
                anyhow::Ok(())
            })
            .await
            .context("create-admin task failed")??;
        }
    }
    Ok(())
}
