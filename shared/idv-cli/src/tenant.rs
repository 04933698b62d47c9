//! `idv tenant`: tenants created, listed, shown, rotated, given retention periods, disabled,
//! enabled and deleted, through the running server's admin API or on the database when no
//! server runs.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Subcommand;

use crate::admin::{Target, block_on, target};

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; prints its credentials (shown once) as JSON. While `idv serve` runs on
    /// DATA, asks it (admin API); the credentials work at once.
    Create {
        name: String,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
        /// Default URL for callbacks when a request names none (LINK certifyCallback).
        #[arg(long)]
        callback_url: Option<String>,
    },
    /// List the tenants (id, name, default callback URL; no secrets) as JSON.
    List {
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
    /// Give the tenant's API credentials new secrets (ids kept); prints them once. The old
    /// ones stop working at once on a running server.
    Rotate {
        tenant: String,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
    /// Show a tenant (no secrets) with its retention periods.
    Show {
        /// The tenant id (`t_…`).
        tenant: String,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
    /// Disable a tenant: its credentials, tokens and reviewers' sessions are refused at once
    /// (403 `TENANT_DISABLED`); work already accepted finishes. Prints the tenant.
    Disable {
        tenant: String,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
    /// Enable a disabled tenant again. Prints the tenant.
    Enable {
        tenant: String,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
    /// Delete a disabled tenant with all its data: images, certificates, records, callbacks,
    /// tombstones, its audit trail. Cannot be undone; `--yes` confirms.
    Delete {
        tenant: String,
        #[arg(long)]
        yes: bool,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
    /// Set a tenant's retention periods (e.g. `--images 30d --personal-data 90d
    /// --decisions 5y`; units s, m, h, d, y); what is not given stays. Prints the tenant.
    Retention {
        tenant: String,
        #[arg(long)]
        images: Option<String>,
        #[arg(long)]
        personal_data: Option<String>,
        #[arg(long)]
        decisions: Option<String>,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
}

/// `idv tenant disable|enable`: the tenant as shown afterwards.
fn set_disabled(data: &Path, tenant: &str, disabled: bool) -> Result<serde_json::Value> {
    let verb = if disabled { "disable" } else { "enable" };
    match target(data)? {
        Target::Server(admin) => admin.call(
            &format!("/admin/v1/tenants/{tenant}/{verb}"),
            Some(serde_json::json!({})),
        ),
        Target::Database(records) => block_on(async {
            idv_core::tenants::set_disabled(&records, tenant, disabled)
                .await
                .map_err(|e| anyhow::anyhow!(e.message.clone()))?;
            json(idv_core::accounts::tenant_view(&records, tenant).await)
        }),
    }
}

/// `idv tenant`.
pub fn tenant(cmd: TenantCommand) -> Result<()> {
    let out = match cmd {
        TenantCommand::Create {
            name,
            data,
            callback_url,
        } => match target(&data)? {
            Target::Server(admin) => admin.call(
                "/admin/v1/tenants",
                Some(serde_json::json!({"name": name, "callback_url": callback_url})),
            )?,
            Target::Database(records) => block_on(async {
                let t = idv_core::accounts::create_tenant(&records, &name, callback_url.as_deref())
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message.clone()))?;
                Ok(serde_json::to_value(t)?)
            })?,
        },
        TenantCommand::Rotate { tenant, data } => match target(&data)? {
            Target::Server(admin) => admin.call(
                &format!("/admin/v1/tenants/{tenant}/rotate"),
                Some(serde_json::json!({})),
            )?,
            Target::Database(records) => block_on(async {
                let t = idv_core::accounts::rotate_credentials_in(&records, &tenant, None)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message.clone()))?;
                Ok(serde_json::to_value(t)?)
            })?,
        },
        TenantCommand::Show { tenant, data } => match target(&data)? {
            Target::Server(admin) => admin.call(&format!("/admin/v1/tenants/{tenant}"), None)?,
            Target::Database(records) => {
                block_on(async { json(idv_core::accounts::tenant_view(&records, &tenant).await) })?
            }
        },
        TenantCommand::Retention {
            tenant,
            images,
            personal_data,
            decisions,
            data,
        } => {
            let change = serde_json::json!({
                "images": images, "personal_data": personal_data, "decisions": decisions,
            });
            match target(&data)? {
                Target::Server(admin) => admin.send(
                    "PUT",
                    &format!("/admin/v1/tenants/{tenant}/retention"),
                    Some(change),
                )?,
                Target::Database(records) => block_on(async {
                    let change = serde_json::from_value(change)?;
                    idv_core::retention::set_policy(&records, &tenant, &change)
                        .await
                        .map_err(|e| anyhow::anyhow!(e.message.clone()))?;
                    json(idv_core::accounts::tenant_view(&records, &tenant).await)
                })?,
            }
        }
        TenantCommand::List { data } => match target(&data)? {
            Target::Server(admin) => admin.call("/admin/v1/tenants", None)?,
            Target::Database(records) => block_on(async {
                json(
                    idv_core::accounts::tenant_list(&records)
                        .await
                        .map(|tenants| serde_json::json!({ "tenants": tenants })),
                )
            })?,
        },
        TenantCommand::Disable { tenant, data } => set_disabled(&data, &tenant, true)?,
        TenantCommand::Enable { tenant, data } => set_disabled(&data, &tenant, false)?,
        TenantCommand::Delete { tenant, yes, data } => {
            if !yes {
                anyhow::bail!(
                    "deleting {tenant} removes all its data for good; run again with --yes"
                );
            }
            match target(&data)? {
                Target::Server(admin) => {
                    admin.send("DELETE", &format!("/admin/v1/tenants/{tenant}"), None)?
                }
                Target::Database(records) => block_on(async {
                    // Upload URLs are never issued here: the blob store only deletes.
                    let blobs =
                        idv_store::FileBlobs::open(&data.join("blobs"), "http://127.0.0.1", &[])?;
                    let deleted =
                        idv_core::tenants::delete(&records, &blobs, &idv_http::dialects(), &tenant)
                            .await
                            .map_err(|e| anyhow::anyhow!(e.message.clone()))?;
                    Ok(serde_json::to_value(deleted)?)
                })?,
            }
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// A core answer as JSON, or its error as a command error.
fn json<T: serde::Serialize>(r: Result<T, idv_core::Error>) -> Result<serde_json::Value> {
    let v = r.map_err(|e| anyhow::anyhow!(e.message))?;
    Ok(serde_json::to_value(v)?)
}
