//! `idv reviewer`: a tenant's reviewers created, listed and disabled, through the running
//! server's admin API or on the database when no server runs.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

use crate::admin::{Target, block_on, target};

#[derive(Subcommand)]
pub enum ReviewerCommand {
    /// Create a reviewer of TENANT's manual-review queue; prints user and password (once).
    /// While `idv serve` runs on DATA, asks it (admin API); they can sign in at once.
    Create {
        name: String,
        /// The tenant id (`t_…`) whose cases the reviewer sees.
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
    /// List TENANT's reviewers (user, disabled) as JSON.
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
    /// Disable a reviewer: sign-in and open sessions are refused from now on.
    Disable {
        user: String,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
}

/// `idv reviewer create`.
pub fn reviewer(cmd: ReviewerCommand) -> Result<()> {
    let (name, tenant, data) = match cmd {
        ReviewerCommand::Create { name, tenant, data } => (name, tenant, data),
        ReviewerCommand::List { tenant, data } => {
            let out = match target(&data)? {
                Target::Server(admin) => {
                    admin.call(&format!("/admin/v1/reviewers?tenant={tenant}"), None)?
                }
                Target::Database(records) => block_on(async {
                    let r = idv_core::accounts::reviewers_in(&records, &tenant)
                        .await
                        .map_err(|e| anyhow::anyhow!(e.message.clone()))?;
                    Ok(serde_json::json!({ "reviewers": r }))
                })?,
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
            return Ok(());
        }
        ReviewerCommand::Disable { user, data } => {
            let out = match target(&data)? {
                Target::Server(admin) => admin.call(
                    &format!("/admin/v1/reviewers/{user}/disable"),
                    Some(serde_json::json!({})),
                )?,
                Target::Database(records) => block_on(async {
                    idv_core::accounts::disable_reviewer_in(&records, &user)
                        .await
                        .map_err(|e| anyhow::anyhow!(e.message.clone()))?;
                    Ok(serde_json::json!({ "user": user, "disabled": true }))
                })?,
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
            return Ok(());
        }
    };
    let created = match target(&data)? {
        Target::Server(admin) => admin.call(
            "/admin/v1/reviewers",
            Some(serde_json::json!({"tenant": tenant, "name": name})),
        )?,
        Target::Database(records) => block_on(async {
            let r = idv_core::accounts::create_reviewer_in(&records, &tenant, &name)
                .await
                .map_err(|e| anyhow::anyhow!(e.message.clone()))?;
            Ok(serde_json::to_value(r)?)
        })?,
    };
    println!("{}", serde_json::to_string_pretty(&created)?);
    Ok(())
}
