//! `idv store check`: the embedded database checked without changing it.

use std::path::PathBuf;

use anyhow::Result;

/// `idv store check`: redb's integrity check, then every record and message parsed; exits 1
/// unless everything is readable.
pub fn store_cmd(cmd: StoreCommand) -> Result<()> {
    let StoreCommand::Check { data } = cmd;
    let report = idv_store::check_database(&data.join("idv.redb")).map_err(|e| match e {
        idv_store::StoreError::InUse => {
            anyhow::anyhow!("the database is in use: stop `idv serve` first")
        }
        e => anyhow::anyhow!("{}: {e}", data.join("idv.redb").display()),
    })?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if !report.clean() {
        anyhow::bail!("the database holds damage (see above)");
    }
    Ok(())
}

/// `idv store`.
#[derive(clap::Subcommand)]
pub enum StoreCommand {
    /// Check the data directory's database: page checksums and structure (repaired where redb
    /// can), then every record and queue message parsed. Prints a report (table, count, keys
    /// of unreadable entries); exits 1 on any damage. Run while `idv serve` is stopped.
    Check {
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
}
