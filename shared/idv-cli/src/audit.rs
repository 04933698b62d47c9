//! `idv audit verify`: checks a saved audit trail (the answer of `GET /v1/audit`, or its
//! pages concatenated as one `entries` list) offline.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use idv_core::audit::{AuditEntry, AuditPage};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check a saved `GET /v1/audit` answer: every entry's hash matches its content and links
    /// to the one before, without gaps. Prints the count and the last hash; exits 1 on a
    /// break, naming the first broken entry.
    Verify { file: PathBuf },
}

pub fn run(cmd: AuditCommand) -> Result<()> {
    let AuditCommand::Verify { file } = cmd;
    let text = std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
    let entries: Vec<AuditEntry> = serde_json::from_str::<AuditPage>(&text)
        .map(|p| p.entries)
        .or_else(|_| serde_json::from_str(&text))
        .with_context(|| format!("{}: not an audit trail (GET /v1/audit)", file.display()))?;
    idv_core::audit::verify(&entries)
        .with_context(|| format!("{}: the chain is broken", file.display()))?;
    println!(
        "{}",
        serde_json::json!({
            "verified": true,
            "entries": entries.len(),
            "first_seq": entries.first().map(|e| e.seq),
            "last_seq": entries.last().map(|e| e.seq),
            "head": entries.last().map(|e| e.hash.clone()),
        })
    );
    Ok(())
}
