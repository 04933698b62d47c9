//! `idv certs`: the signing keys in `DATA/secrets/certs` (a development CA created on first
//! use, or imported keys) and the CA's CRL address.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::datadir::write_private;

#[derive(Subcommand)]
pub enum CertsCommand {
    /// Create a development CA, a document-signing certificate and a timestamping certificate
    /// under DATA/secrets/certs (keys mode 0600). `idv serve` does this on first start.
    Init {
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
        /// Where the CA's CRL is published, named in the issued certificates (`idv serve`
        /// serves it at PUBLIC_URL/ca.crl).
        #[arg(long, default_value = "http://127.0.0.1:8080/ca.crl")]
        crl_url: String,
    },
    /// Sign certificates with your own key: a PKCS #12 file (`--p12`, password from
    /// `--password-file` or `IDV_P12_PASSWORD`) or PEM (`--key`, `--cert`, `--chain`). Replaces
    /// the signing key under DATA/secrets/certs (0600); restart `idv serve` to use it.
    Import {
        #[arg(long, conflicts_with_all = ["key", "cert"])]
        p12: Option<PathBuf>,
        #[arg(long)]
        password_file: Option<PathBuf>,
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// The certificates above `--cert` (PEM).
        #[arg(long)]
        chain: Option<PathBuf>,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
}

/// Where `idv serve` at `public_url` publishes the CA's CRL.
pub fn crl_url(public_url: &str) -> String {
    format!("{}/ca.crl", public_url.trim_end_matches('/'))
}

/// The signing PEMs under `data/secrets/certs`, created (development CA) if absent.
/// The signing keys under `DATA/secrets/certs`, created on first use; new certificates name
/// `crl_url` as their CRL distribution point.
pub fn certs(data: &Path, crl_url: &str) -> Result<idv_certify::Pems> {
    let dir = data.join("secrets").join("certs");
    let names = [
        "ca.pem",
        "ca.key",
        "signing.pem",
        "signing.key",
        "tsa.pem",
        "tsa.key",
    ];
    if !dir.join("tsa.key").exists() {
        std::fs::create_dir_all(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        let p = idv_certify::generate_dev(Some(crl_url))?;
        let texts = [
            &p.ca_cert,
            &p.ca_key,
            &p.signing_cert,
            &p.signing_key,
            &p.tsa_cert,
            &p.tsa_key,
        ];
        for (name, text) in names.iter().zip(texts) {
            use std::io::Write;
            // Certificates too: the data directory is the owner's only (copy `ca.pem` out to
            // give it to those who verify).
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(dir.join(name))?
                .write_all(text.as_bytes())?;
        }
        tracing::info!(dir = %dir.display(), "created a development CA and signing/TSA certificates");
    }
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).with_context(|| n.to_string());
    Ok(idv_certify::Pems {
        ca_cert: read("ca.pem")?,
        ca_key: read("ca.key")?,
        signing_cert: read("signing.pem")?,
        signing_key: read("signing.key")?,
        tsa_cert: read("tsa.pem")?,
        tsa_key: read("tsa.key")?,
        // Written by `idv certs import`.
        signing_chain: std::fs::read_to_string(dir.join("signing-chain.pem")).ok(),
    })
}

/// `idv certs init`.
pub fn certs_cmd(cmd: CertsCommand) -> Result<()> {
    match cmd {
        CertsCommand::Init { data, crl_url } => {
            certs(&data, &crl_url)?;
            println!("{}", data.join("secrets").join("certs").display());
        }
        CertsCommand::Import {
            p12,
            password_file,
            key,
            cert,
            chain,
            data,
        } => {
            let read = |p: &Path| std::fs::read(p).with_context(|| p.display().to_string());
            let imported = match (p12, key, cert) {
                (Some(p12), _, _) => {
                    let password = match password_file {
                        Some(f) => String::from_utf8(read(&f)?)?
                            .trim_end_matches('\n')
                            .to_string(),
                        None => std::env::var("IDV_P12_PASSWORD").unwrap_or_default(),
                    };
                    idv_certify::import_p12(&read(&p12)?, &password)
                        .context("reading the PKCS #12 file (is the password right?)")?
                }
                (None, Some(key), Some(cert)) => {
                    let chain = chain.as_deref().map(read).transpose()?.unwrap_or_default();
                    idv_certify::import_pem(&read(&key)?, &read(&cert)?, &chain)?
                }
                _ => anyhow::bail!("give --p12 FILE, or --key and --cert"),
            };
            // The development CA and TSA stay (idv's own timestamps, unless --tsa-url).
            let dir = data.join("secrets").join("certs");
            certs(&data, "http://127.0.0.1:8080/ca.crl")?;
            for (name, text) in [
                ("signing.pem", &imported.cert),
                ("signing.key", &imported.key),
                ("signing-chain.pem", &imported.chain),
            ] {
                write_private(&dir.join(name), text.as_bytes())?;
            }
            println!(
                "{}",
                serde_json::json!({"subject": imported.subject, "dir": dir})
            );
        }
    }
    Ok(())
}
