//! `idv receipt verify`: checks a verification's signed receipt offline.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum ReceiptCommand {
    /// Check a receipt (the `x-idv-receipt` header, or `GET /v1/receipts/{id}`'s answer):
    /// its certificate chain up to the CA, then its signature. Prints what it states; exits 1
    /// when it does not verify.
    Verify {
        /// The receipt: a compact JWS, or the JSON `{"receipt": "…"}`.
        file: PathBuf,
        /// The CA to trust (PEM); default DATA/secrets/certs/ca.pem.
        #[arg(long)]
        cert: Option<PathBuf>,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
}

pub fn run(cmd: ReceiptCommand) -> Result<()> {
    let ReceiptCommand::Verify { file, cert, data } = cmd;
    let text = std::fs::read_to_string(&file).with_context(|| file.display().to_string())?;
    let jws = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["receipt"].as_str().map(str::to_string))
        .unwrap_or_else(|| text.trim().to_string());
    let ca = cert.unwrap_or_else(|| data.join("secrets").join("certs").join("ca.pem"));
    let trusted = std::fs::read(&ca).with_context(|| format!("reading the CA {}", ca.display()))?;
    let payload = idv_certify::verify_receipt(&jws, &trusted)
        .with_context(|| format!("{}: the receipt does not verify", file.display()))?;
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({"verified": true, "receipt": payload}))?
    );
    Ok(())
}
