//! `idv serve`, `idv verify`, `idv tenant`: the local service on embedded backends.

use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use idv_core::{Config, Services};
use idv_pipeline::{Engines, Inputs};
use idv_store::{EmbeddedRecords, FileBlobs};

use crate::datadir::secret;
use crate::load_image;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Data directory: database, images, secrets.
    #[arg(long, default_value = "idv-data")]
    data: PathBuf,
    /// Log lines as `text` or `json` (one object per line; lines logged during a request
    /// carry its `request_id`). Never personal data either way.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// Base URL clients reach this server at (for upload URLs); default http://ADDR.
    #[arg(long)]
    public_url: Option<String>,
    /// Seconds a presigned upload URL stays valid.
    #[arg(long, default_value_t = 900)]
    upload_seconds: u64,
    /// Requests per second per tenant (bursts of twice that); 0 disables the limit.
    #[arg(long, default_value_t = 20.0)]
    rate_limit: f64,
    /// Allow callbacks to private/loopback addresses and plain http to loopback (development).
    #[arg(long)]
    allow_private_callbacks: bool,
    /// Seconds before each retry of a failed callback, comma-separated (attempts = count + 1).
    #[arg(long, value_delimiter = ',', default_values_t = idv_core::callbacks::DEFAULT_SCHEDULE)]
    callback_schedule: Vec<u64>,
    /// Connections open at once; the next ones wait in the kernel's backlog.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// Seconds a connection may stay silent (unfinished headers, a stalled upload, an idle
    /// keep-alive) before the server closes it.
    #[arg(long, default_value_t = 10)]
    idle_timeout: u64,
    /// Verifications that run at once (each uses every core through ONNX Runtime's threads).
    /// Default: half the cores (2 to 8), fewer if memory is short (~650 MB each).
    #[arg(long)]
    verifications: Option<usize>,
    /// Verification requests that may wait for one of those; beyond, 503 SERVER_BUSY with
    /// Retry-After at once. A tenant holds at most half of running + waiting (429 beyond).
    /// Default: twice `--verifications`.
    #[arg(long)]
    verification_queue: Option<usize>,
    /// Kairos asynchronous jobs the queue may hold (queued or running); beyond, submissions
    /// get 503 SERVER_BUSY with Retry-After. Submissions check their images one at a time,
    /// two more waiting.
    #[arg(long, default_value_t = 1000)]
    job_backlog: u64,
    /// Also trust this CA (PEM) for https callbacks, beside the platform's roots (a development
    /// or private receiver). `SSL_CERT_FILE` replaces the platform's roots instead.
    #[arg(long)]
    callback_ca: Option<PathBuf>,
    /// Require `Authorization: Bearer TOKEN` on `GET /metrics` (Prometheus text format; or
    /// set `IDV_METRICS_TOKEN`, kept out of the process list); without either the figures are
    /// open to whoever reaches the server.
    #[arg(long)]
    metrics_token: Option<String>,
    /// Seconds between retention sweeps (each tenant's image, personal-data and decision
    /// periods applied; `idv tenant retention` sets them).
    #[arg(long, default_value_t = 3600)]
    sweep_seconds: u64,
    /// Timestamp policy OID of idv's timestamp authority.
    #[arg(long, default_value = idv_certify::DEFAULT_POLICY)]
    tsa_policy: String,
    /// PAdES baseline level of certificates: `b-t` (signed and timestamped), `b-lt` (also the
    /// certificates and a fresh CRL of the CA in the PDF: validation with revocation checking
    /// and no network) or `b-lta` (also a document timestamp over it all).
    #[arg(long, default_value = "b-t", value_parser = ["b-t", "b-lt", "b-lta"])]
    pades_level: String,
    /// Timestamp signatures with this external RFC 3161 authority (http or https) instead of
    /// idv's own; its tokens must chain to `--tsa-ca`. 10 s per request, 3 attempts; when it
    /// fails the certification is retried later, then reported as `Error`.
    #[arg(long, requires = "tsa_ca")]
    tsa_url: Option<String>,
    /// The external authority's CA certificates (PEM).
    #[arg(long, requires = "tsa_url")]
    tsa_ca: Option<PathBuf>,
    /// The operator's legal name, printed on certificates as their issuer.
    #[arg(long, default_value = "idv (self-hosted)")]
    operator_name: String,
    /// How to reach the operator (address, e-mail, web), printed beside the name.
    #[arg(long, default_value = "")]
    operator_contact: String,
}

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
}

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
fn crl_url(public_url: &str) -> String {
    format!("{}/ca.crl", public_url.trim_end_matches('/'))
}

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

/// The records of a data directory: its database, or the server that holds it.
enum Target {
    Database(EmbeddedRecords),
    Server(crate::admin::Client),
}

/// Opens `data`'s database; when a running `idv serve` holds it, its admin API instead.
fn target(data: &Path) -> Result<Target> {
    idv_store::private_dir(data)?;
    match EmbeddedRecords::open(&data.join("idv.redb")) {
        Ok(records) => Ok(Target::Database(records)),
        Err(idv_store::StoreError::InUse) => match crate::admin::Client::find(data)? {
            Some(client) => Ok(Target::Server(client)),
            None => open_database(data).map(Target::Database),
        },
        // Said as `open_database` says it (damaged, unreadable, …).
        Err(_) => open_database(data).map(Target::Database),
    }
}

/// Runs `f` on a current-thread runtime.
fn block_on<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(f)
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

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Print the admin token of DATA (created on first use; the admin API of `idv serve`
    /// takes it as `Authorization: Bearer TOKEN`).
    Token {
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
}

/// `idv admin`.
pub fn admin(cmd: AdminCommand) -> Result<()> {
    let AdminCommand::Token { data } = cmd;
    idv_store::private_dir(&data)?;
    println!("{}", crate::admin::token(&data)?);
    Ok(())
}

/// The signing PEMs under `data/secrets/certs`, created (development CA) if absent.
/// The signing keys under `DATA/secrets/certs`, created on first use; new certificates name
/// `crl_url` as their CRL distribution point.
fn certs(data: &Path, crl_url: &str) -> Result<idv_certify::Pems> {
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

/// Writes `bytes` to `path` readable by the owner only (0600), replacing what was there.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The data directory's database, or an error saying what to do: another process holds it,
/// or the file is damaged (check it, restore a backup).
fn open_database(data: &Path) -> Result<EmbeddedRecords> {
    let path = data.join("idv.redb");
    EmbeddedRecords::open(&path).map_err(|e| match e {
        idv_store::StoreError::InUse => anyhow::anyhow!(
            "{} is in use by another idv process (one process per data directory): stop it first",
            path.display()
        ),
        idv_store::StoreError::Corrupt(_) => anyhow::anyhow!(
            "{} is damaged ({e}). `idv store check --data {}` reports what is still readable; \
             restore the file from a backup, or move it aside to start empty",
            path.display(),
            data.display()
        ),
        e => anyhow::Error::new(e).context(format!("opening {}", path.display())),
    })
}

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

struct Extra {
    verifications: usize,
    verification_queue: usize,
    job_backlog: u64,
    allow_private_callbacks: bool,
    callback_schedule: Vec<u64>,
    callback_ca: Option<PathBuf>,
    tsa_policy: String,
    pades_level: idv_certify::Level,
    /// An external timestamp authority: URL and its CA certificates (PEM).
    remote_tsa: Option<(String, Vec<u8>)>,
    issuer: idv_certify::Issuer,
}

fn state(
    data: &Path,
    public_url: &str,
    upload_seconds: u64,
    rate_limit: f64,
    extra: Extra,
    engines: Arc<Engines>,
) -> Result<Services> {
    idv_store::private_dir(data)?;
    // Everything under the data directory is the owner's only (0700 / 0600): fix what an
    // earlier version or a copy left readable.
    let fixed = idv_store::restrict_tree(data)
        .with_context(|| format!("restricting permissions under {}", data.display()))?;
    if fixed > 0 {
        tracing::warn!(
            fixed,
            "made files under the data directory private (0600/0700)"
        );
    }
    let records = open_database(data)?;
    // Callbacks count their own attempts; jobs and certifications give up after 10 receives.
    let queue = records.queue(10);
    let blobs = Arc::new(FileBlobs::open(
        &data.join("blobs"),
        public_url,
        &secret(data, "upload-key")?,
    )?);
    let pems = certs(data, &crl_url(public_url))?;
    let receipts = idv_core::receipts::ReceiptSigner::from_pem(
        &pems.signing_key,
        &pems.signing_cert,
        pems.signing_chain.as_deref().unwrap_or(&pems.ca_cert),
        &extra.issuer.name,
    )?;
    let certifier = idv_core::certificate::Certifier {
        signer: Arc::new({
            let signer = pems.signer_at(&extra.tsa_policy, extra.pades_level)?;
            match &extra.remote_tsa {
                Some((url, ca)) => signer.with_remote_tsa(idv_certify::RemoteTsa::new(url, ca)?)?,
                None => signer,
            }
        }),
        public_url: public_url.to_string(),
        mask_numbers: true,
        issuer: extra.issuer.clone(),
    };
    let config = Config {
        token_secret: secret(data, "token-key")?,
        upload_seconds,
        allow_private_callbacks: extra.allow_private_callbacks,
        callback_schedule: extra.callback_schedule,
        webhooks: webhooks(extra.callback_ca.as_deref())?,
        job_backlog: extra.job_backlog,
    };
    Ok(
        Services::builder(blobs.clone(), Arc::new(records), Arc::new(queue), config)
            .engines(Some(engines))
            .local_uploads(blobs)
            .receipts(Some(Arc::new(receipts)))
            .certifier(Some(Arc::new(certifier)))
            .verifications(
                extra.verifications,
                extra.verification_queue,
                (extra.verifications + extra.verification_queue).div_ceil(2),
            )
            // Submissions check their images one at a time, two more waiting (each holds its
            // body): the bound `idv bench overload --kairos` measures.
            .intake(1, 2, 2)
            .sign_ins(2, 16)
            .rate_limit(rate_limit, 2.0 * rate_limit)
            .dialects(idv_http::dialects())
            .build(),
    )
}

/// The webhook client, trusting `ca` (PEM) beside the platform's roots.
fn webhooks(ca: Option<&Path>) -> Result<idv_core::webhooks::WebhookClient> {
    let pem = ca
        .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
        .transpose()?;
    Ok(idv_core::webhooks::WebhookClient::new(pem.as_deref())?)
}

/// `idv serve`.
pub fn serve(args: ServeArgs) -> Result<()> {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_format == "json" {
        logs.json()
            .with_current_span(true)
            .with_span_list(false)
            .init();
    } else {
        logs.init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("binding {}", args.addr))?;
        let addr = listener.local_addr()?;
        let public = args.public_url.unwrap_or_else(|| format!("http://{addr}"));
        let engines = Arc::new(
            tokio::task::spawn_blocking(Engines::load_default)
                .await?
                .context("loading the models (run models/fetch)")?,
        );
        let sized = crate::capacity::Machine::measure().verifications();
        let verifications = args.verifications.unwrap_or(sized).max(1);
        let verification_queue = args.verification_queue.unwrap_or(2 * verifications);
        tracing::info!(verifications, verification_queue, "verification line");
        let state = state(
            &args.data,
            &public,
            args.upload_seconds,
            args.rate_limit,
            Extra {
                verifications,
                verification_queue,
                job_backlog: args.job_backlog,
                allow_private_callbacks: args.allow_private_callbacks,
                callback_schedule: args.callback_schedule.clone(),
                callback_ca: args.callback_ca.clone(),
                tsa_policy: args.tsa_policy.clone(),
                issuer: idv_certify::Issuer {
                    name: args.operator_name.clone(),
                    contact: args.operator_contact.clone(),
                },
                remote_tsa: match (&args.tsa_url, &args.tsa_ca) {
                    (Some(url), Some(ca)) => Some((
                        url.clone(),
                        std::fs::read(ca).with_context(|| ca.display().to_string())?,
                    )),
                    _ => None,
                },
                pades_level: match args.pades_level.as_str() {
                    "b-lt" => idv_certify::Level::LongTerm,
                    "b-lta" => idv_certify::Level::Archival,
                    _ => idv_certify::Level::Timestamped,
                },
            },
            engines,
        )?;
        survive_file_size_limits();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let workers = tokio::spawn(idv_core::jobs::run(
            state.clone(),
            idv_http::jobs(),
            stopped,
        ));
        tokio::spawn(sweeps(
            state.clone(),
            std::time::Duration::from_secs(args.sweep_seconds.max(1)),
        ));
        // `idv tenant …` and `idv reviewer …` reach the running server through its admin API.
        let admin_token = crate::admin::token(&args.data)?;
        let admin = crate::admin::routes(state.clone(), admin_token);
        let _announced = crate::admin::announce(&args.data, addr)?;
        tracing::info!(
            token_file = %args.data.join("secrets").join("admin-token").display(),
            "admin API on /admin/v1 (`idv admin token` prints the token)"
        );
        // The line scripts and tests wait for.
        println!("idv listening on http://{addr}");
        let token = (args.metrics_token.clone())
            .or_else(|| std::env::var("IDV_METRICS_TOKEN").ok())
            .filter(|t| !t.is_empty());
        let scraped = state.clone();
        // The CA's CRL, where the certificates it issued say it is (their CRL distribution
        // point): issued afresh on each request, valid a week.
        let pems = certs(&args.data, &crl_url(&public))?;
        let issuer = Arc::new(pems.crl_issuer()?);
        let app = idv_http::router(state)
            .merge(admin)
            .route(
                "/ca.crl",
                axum::routing::get(move || {
                    let issuer = issuer.clone();
                    async move { ca_crl(&issuer) }
                }),
            )
            .route(
                "/metrics",
                axum::routing::get(move |headers: axum::http::HeaderMap| {
                    metrics(scraped.clone(), token.clone(), headers)
                }),
            )
            .layer(axum::middleware::from_fn(crate::listener::peer))
            .into_make_service_with_connect_info::<crate::listener::Peer>();
        let listener = crate::listener::Guarded::new(
            listener,
            args.max_connections,
            std::time::Duration::from_secs(args.idle_timeout.max(1)),
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        // The requests are answered; now the work the queue workers hold.
        let _ = stop.send(true);
        match tokio::time::timeout(SHUTDOWN_GRACE, workers).await {
            Ok(_) => tracing::info!("queue workers finished their running work; exiting"),
            Err(_) => tracing::warn!(
                grace_s = SHUTDOWN_GRACE.as_secs(),
                "grace period over: unfinished work stays queued for the next start"
            ),
        }
        Ok(())
    })
}

/// Retention sweeps every `every`, from one period after the start.
async fn sweeps(state: Services, every: std::time::Duration) {
    loop {
        tokio::time::sleep(every).await;
        match idv_core::retention::sweep(&state, idv_store::now_ms()).await {
            Ok(r) if r.images_purged + r.erased + r.expired > 0 => tracing::info!(
                images_purged = r.images_purged,
                erased = r.erased,
                expired = r.expired,
                "retention sweep"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(
                code = e.code.as_str(),
                "retention sweep failed; retried next period"
            ),
        }
    }
}

/// `GET /ca.crl`: a CRL of the CA revoking nothing, issued now, next update in 7 days (DER,
/// `application/pkix-crl`).
fn ca_crl(issuer: &idv_certify::CrlIssuer) -> axum::response::Response {
    use axum::response::IntoResponse;
    let now = idv_store::now_ms() as i64 / 1000;
    match issuer.crl(now, 7) {
        Ok(der) => (
            [
                (axum::http::header::CONTENT_TYPE, "application/pkix-crl"),
                (axum::http::header::CACHE_CONTROL, "max-age=3600"),
            ],
            der,
        )
            .into_response(),
        Err(e) => idv_http::ApiError::internal(e).into_response(),
    }
}

/// `GET /metrics`: the process's figures and its queues' depths, behind the token if one is
/// set.
async fn metrics(
    state: Services,
    token: Option<String>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(token) = token
        && !crate::admin::bearer_matches(&headers, &token)
    {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            "metrics token required\n",
        )
            .into_response();
    }
    let mut gauges = Vec::new();
    for queue in [
        idv_core::JOBS_QUEUE,
        idv_core::CERTIFY_QUEUE,
        idv_core::CALLBACKS_QUEUE,
    ] {
        if let Ok(depth) = state.queue.depth(queue).await {
            gauges.push(idv_core::metrics::Gauge {
                name: "idv_queue_messages",
                help: "Messages in a queue, waiting or being processed.",
                label: ("queue", queue.to_string()),
                value: depth as f64,
            });
        }
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        idv_core::metrics::render(&gauges),
    )
        .into_response()
}

/// How long a stopping server waits for the queue workers' running work (a verification, a
/// certificate, a callback attempt) after the last request is answered.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// A write past a file-size limit (`ulimit -f`) must fail like a full disk, not kill the
/// process: SIGXFSZ is caught and logged, and the write returns EFBIG.
fn survive_file_size_limits() {
    use tokio::signal::unix::{SignalKind, signal};
    const SIGXFSZ: i32 = 25; // Linux, every architecture idv builds for
    if let Ok(mut s) = signal(SignalKind::from_raw(SIGXFSZ)) {
        tokio::spawn(async move {
            while s.recv().await.is_some() {
                tracing::error!("a write went past the file-size limit");
            }
        });
    }
}

/// Ctrl-C or SIGTERM (what systemd, Docker and Kubernetes send): stop accepting, let the
/// requests in flight finish. Queued work is safe either way: it stays on the queue.
async fn shutdown_signal() {
    let term = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}

/// `idv verify`.
pub fn verify(args: VerifyArgs) -> Result<()> {
    let profile = idv_pipeline::profile::find(&args.profile)
        .with_context(|| format!("unknown profile {:?}", args.profile))?;
    let document = load_image(&args.document)?;
    let back = args.document_back.as_ref().map(load_image).transpose()?;
    let selfie = load_image(&args.selfie)?;
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
    });
    eprintln!("{:?} in {:.0} ms", v.decision.outcome(), v.elapsed_ms);
    println!(
        "{}",
        serde_json::to_string_pretty(&idv_http::dialects::kairos::full_response(&v))?
    );
    Ok(())
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
            crate::admin::tenant_view(&records, tenant)
                .await
                .map_err(|e| anyhow::anyhow!(e.message.clone()))
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
            Target::Database(records) => block_on(async {
                crate::admin::tenant_view(&records, &tenant)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message.clone()))
            })?,
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
                    crate::admin::tenant_view(&records, &tenant)
                        .await
                        .map_err(|e| anyhow::anyhow!(e.message.clone()))
                })?,
            }
        }
        TenantCommand::List { data } => match target(&data)? {
            Target::Server(admin) => admin.call("/admin/v1/tenants", None)?,
            Target::Database(records) => block_on(async {
                crate::admin::tenant_list(&records)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message.clone()))
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
                    let blobs = FileBlobs::open(&data.join("blobs"), "http://127.0.0.1", &[])?;
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
