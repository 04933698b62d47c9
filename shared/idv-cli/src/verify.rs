//! `idv verify`: one verification from the command line, without a server.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use idv_pipeline::{Engines, Inputs};

use crate::load_image;

#[derive(Args)]
pub struct VerifyArgs {
    /// The document's front (or only) side.
    #[arg(long)]
    document: PathBuf,
    /// The document's back (a TD1 ID card's MRZ is there).
    #[arg(long)]
    document_back: Option<PathBuf>,
    /// The selfie.
    #[arg(long)]
    selfie: PathBuf,
    /// permissive-v0, optimal-v0 (default) or strict-v0.
    #[arg(long, default_value = idv_pipeline::DEFAULT_PROFILE)]
    profile: String,
    /// The document's chip: a folder of the files as read (`sod.bin`, `dg1.bin`, `dg2.bin`,
    /// …), verified against `--chip-trust`. With `aa_challenge.hex` and `aa_signature.bin`
    /// there, Active Authentication is checked too: it proves the chip answered that
    /// challenge, not that the challenge was fresh (the service's challenges are).
    #[arg(long)]
    chip: Option<PathBuf>,
    /// The trust store for `--chip` (default: the data directory's, `idv chip trust import`).
    #[arg(long, default_value = "idv-data/chip-trust")]
    chip_trust: PathBuf,
}

/// `idv verify`.
pub fn verify(args: VerifyArgs) -> Result<()> {
    let profile = idv_pipeline::profile::find(&args.profile)
        .with_context(|| format!("unknown profile {:?}", args.profile))?;
    let document = load_image(&args.document)?;
    let back = args.document_back.as_ref().map(load_image).transpose()?;
    let selfie = load_image(&args.selfie)?;
    let chip = match &args.chip {
        Some(dir) => {
            let chip = idv_chip::Chip::read_dir(dir)
                .with_context(|| format!("reading the chip's files in {}", dir.display()))?;
            let trust = idv_chip::TrustStore::load_dir(&args.chip_trust).with_context(|| {
                format!("loading the trust store {}", args.chip_trust.display())
            })?;
            Some((chip, trust))
        }
        None => None,
    };
    let engines = Engines::load_default()?;
    let v = engines.verify(&Inputs {
        document: Some(&document),
        document_back: back.as_ref(),
        document_hint: idv_document::Hint::Auto,
        reference: None,
        selfie: Some(&selfie),
        multiface: false,
        profile: &profile,
        today: idv_document::Ymd::today(),
        chip: chip
            .as_ref()
            .map(|(chip, trust)| idv_pipeline::chip::ChipInput {
                chip,
                trust,
                aa_refused: None,
            }),
    });
    eprintln!("{:?} in {:.0} ms", v.decision.outcome(), v.elapsed_ms);
    println!(
        "{}",
        serde_json::to_string_pretty(&idv_http::dialects::kairos::full_response(&v))?
    );
    Ok(())
}
