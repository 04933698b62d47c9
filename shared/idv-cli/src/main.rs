//! `idv`: identity verification from the command line.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod admin;
mod alloc;
mod audit;
mod bench;
mod capacity;
mod certs;
mod chip;
mod datadir;
mod document;
mod face;
mod listener;
mod liveness_eval;
mod receipt;
mod reviewer;
mod serve;
mod store;
mod tenant;
mod verify;

#[derive(Parser)]
#[command(name = "idv", version, about = "Self-hostable identity verification")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Face engine: detection, comparison, liveness, evaluation.
    Face {
        #[command(subcommand)]
        command: face::FaceCommand,
    },
    /// Document engine: read the MRZ, extract fields, check the document.
    Document {
        #[command(subcommand)]
        command: document::DocumentCommand,
    },
    /// Run every function in one process on embedded backends (files + redb + queue).
    Serve(Box<serve::ServeArgs>),
    /// Verify a document and selfie without a server; prints the Kairos `response_data`.
    Verify(verify::VerifyArgs),
    /// Reviewers of the manual-review console.
    Reviewer {
        #[command(subcommand)]
        command: reviewer::ReviewerCommand,
    },
    /// The document's chip: verify EF.SOD and data groups; the CSCA trust store.
    Chip {
        #[command(subcommand)]
        command: chip::ChipCommand,
    },
    /// Signing and timestamping certificates.
    Certs {
        #[command(subcommand)]
        command: certs::CertsCommand,
    },
    /// Tenants and their credentials.
    Tenant {
        #[command(subcommand)]
        command: tenant::TenantCommand,
    },
    /// Signed receipts of verifications: check one offline.
    Receipt {
        #[command(subcommand)]
        command: receipt::ReceiptCommand,
    },
    /// The audit trail: check a saved one.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// The admin API of `idv serve`: its token.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// The data directory's database.
    Store {
        #[command(subcommand)]
        command: store::StoreCommand,
    },
    /// Benchmarks that print their figures.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

fn main() -> Result<()> {
    alloc::tune();
    let cli = Cli::parse();
    match cli.command {
        Command::Face { command } => face::run(command),
        Command::Store { command } => store::store_cmd(command),
        Command::Document { command } => document::run(command),
        Command::Bench { command } => bench::run(command),
        Command::Serve(args) => serve::serve(*args),
        Command::Verify(args) => verify::verify(args),
        Command::Tenant { command } => tenant::tenant(command),
        Command::Chip { command } => chip::run(command),
        Command::Certs { command } => certs::certs_cmd(command),
        Command::Reviewer { command } => reviewer::reviewer(command),
        Command::Admin { command } => admin::admin(command),
        Command::Audit { command } => audit::run(command),
        Command::Receipt { command } => receipt::run(command),
    }
}

/// Reads and decodes an image for the command-line tools (no minimum size).
pub fn load_image(path: &PathBuf) -> Result<image::RgbImage> {
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    idv_image::decode_rgb(&bytes, &idv_image::Limits::ANY)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
