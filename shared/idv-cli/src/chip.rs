//! `idv chip`: verify a document's chip from its files, and the CSCA trust store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use idv_chip::{Chip, TrustStore};

#[derive(Subcommand)]
pub enum ChipCommand {
    /// Verify a chip: Passive Authentication of EF.SOD against the trust store, the data
    /// groups' hashes, DG1 against the printed MRZ, Active Authentication. Prints JSON; exits
    /// 0 only when everything given is valid, 1 when something is not.
    Verify {
        /// EF.SOD as read from the chip (`77…`).
        #[arg(long)]
        sod: PathBuf,
        /// A data group as read, `N=FILE` (repeat: `--dg 1=dg1.bin --dg 15=dg15.bin`).
        #[arg(long = "dg", value_parser = parse_dg)]
        dgs: Vec<(u32, PathBuf)>,
        /// The printed MRZ (lines separated by newlines or not at all).
        #[arg(long)]
        mrz: Option<String>,
        /// The 8-byte Active Authentication challenge, in hex.
        #[arg(long, requires = "aa_signature")]
        aa_challenge: Option<String>,
        /// The chip's answer to it (raw bytes).
        #[arg(long, requires = "aa_challenge")]
        aa_signature: Option<PathBuf>,
        /// A trust-store folder (`*.ml` master lists, `*.cer`/`*.der`/`*.pem` certificates);
        /// default: the data directory's store (`idv chip trust import`).
        #[arg(long)]
        trust: Option<PathBuf>,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
    /// The CSCA trust store of the data directory.
    Trust {
        #[command(subcommand)]
        command: TrustCommand,
    },
}

#[derive(Subcommand)]
pub enum TrustCommand {
    /// Add master lists (`.ml`, ICAO/BSI CscaMasterList) and certificates (DER or PEM) to
    /// the store; each is read and checked first, and a master list's own signature is
    /// reported. `idv serve` reads the store when it starts.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
    /// What the store holds: its files, master lists and CSCAs.
    List {
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
}

fn parse_dg(s: &str) -> Result<(u32, PathBuf), String> {
    let (n, f) = s.split_once('=').ok_or("expected N=FILE, e.g. 1=dg1.bin")?;
    let n: u32 = n
        .trim_start_matches(['d', 'D', 'g', 'G'])
        .parse()
        .map_err(|_| format!("{n}: not a data-group number"))?;
    if !(1..=16).contains(&n) {
        return Err(format!("DG{n}: data groups are numbered 1 to 16"));
    }
    Ok((n, PathBuf::from(f)))
}

/// The data directory's trust-store folder.
pub fn store_dir(data: &Path) -> PathBuf {
    data.join("chip-trust")
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

pub fn run(cmd: ChipCommand) -> Result<()> {
    match cmd {
        ChipCommand::Verify {
            sod,
            dgs,
            mrz,
            aa_challenge,
            aa_signature,
            trust,
            data,
        } => {
            let dir = trust.unwrap_or_else(|| store_dir(&data));
            let store = TrustStore::load_dir(&dir)
                .with_context(|| format!("loading the trust store {}", dir.display()))?;
            let mut chip = Chip {
                sod: read(&sod)?,
                dgs: BTreeMap::new(),
                aa: None,
            };
            for (n, f) in dgs {
                chip.dgs.insert(n, read(&f)?);
            }
            if let (Some(c), Some(s)) = (aa_challenge, aa_signature) {
                let c = hex::decode(c.trim()).context("--aa-challenge: not hex")?;
                if c.len() != 8 {
                    bail!("--aa-challenge: {} bytes; ICAO's challenge is 8", c.len());
                }
                chip.aa = Some((c, read(&s)?));
            }
            let report = idv_chip::verify(&chip, &store, mrz.as_deref());
            println!("{}", serde_json::to_string_pretty(&report)?);
            if !report.valid() || report.data_groups.values().any(|d| !d.hash_valid) {
                std::process::exit(1);
            }
            Ok(())
        }
        ChipCommand::Trust {
            command: TrustCommand::Import { files, data },
        } => {
            let dir = store_dir(&data);
            std::fs::create_dir_all(&dir)?;
            for f in files {
                let bytes = read(&f)?;
                let name = f
                    .file_name()
                    .and_then(|n| n.to_str())
                    .context("a file name")?
                    .to_string();
                let mut one = TrustStore::default();
                one.add(&name, &bytes).with_context(|| {
                    format!("{}: not a master list or certificate", f.display())
                })?;
                let ext = if one.lists.is_empty() {
                    if bytes.starts_with(b"-----BEGIN") {
                        "pem"
                    } else {
                        "cer"
                    }
                } else {
                    "ml"
                };
                let stem = Path::new(&name)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("trust");
                let file = format!("{stem}.{ext}");
                let target = dir.join(&file);
                std::fs::write(&target, &bytes)?;
                // The index the AWS functions read the store by (`chip-trust/index`).
                let index = dir.join("index");
                let mut names: Vec<String> = std::fs::read_to_string(&index)
                    .unwrap_or_default()
                    .lines()
                    .map(str::to_string)
                    .collect();
                if !names.contains(&file) {
                    names.push(file);
                }
                std::fs::write(&index, names.join("\n"))?;
                println!(
                    "{}",
                    serde_json::json!({
                        "file": f.display().to_string(),
                        "stored": target.display().to_string(),
                        "cscas": one.anchors.len(),
                        "other_certificates": one.others.len(),
                        "master_list": one.lists.first(),
                    })
                );
            }
            Ok(())
        }
        ChipCommand::Trust {
            command: TrustCommand::List { data },
        } => {
            let dir = store_dir(&data);
            if !dir.exists() {
                bail!(
                    "{} holds no trust store yet: `idv chip trust import FILE…` adds master lists and CSCAs",
                    dir.display()
                );
            }
            let store = TrustStore::load_dir(&dir)?;
            let cscas: Vec<_> = store
                .anchors
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "subject": c.subject_line(),
                        "not_before": c.x509.not_before().to_string(),
                        "not_after": c.x509.not_after().to_string(),
                        "key_id": c.ski.as_deref().map(hex::encode),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "folder": dir.display().to_string(),
                    "master_lists": store.lists,
                    "cscas": cscas.len(),
                    "other_certificates": store.others.len(),
                    "csca_list": cscas,
                }))?
            );
            Ok(())
        }
    }
}
