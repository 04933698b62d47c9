//! `idv serve`, `idv verify`, `idv tenant`: the local service on embedded backends.

use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use idv_api::{AppState, Config};
use idv_pipeline::{Engines, Inputs};
use idv_store::{EmbeddedRecords, FileBlobs};
use rand_core::{OsRng, RngCore};

use crate::load_image;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Data directory: database, images, secrets.
    #[arg(long, default_value = "idv-data")]
    data: PathBuf,
    /// Base URL clients reach this server at (for upload URLs); default http://ADDR.
    #[arg(long)]
    public_url: Option<String>,
    /// Seconds a presigned upload URL stays valid.
    #[arg(long, default_value_t = 900)]
    upload_seconds: u64,
    /// Requests per second per tenant (bursts of twice that); 0 disables the limit.
    #[arg(long, default_value_t = 20.0)]
    rate_limit: f64,
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
pub enum TenantCommand {
    /// Create a tenant; prints its credentials (shown once) as JSON. Run while `idv serve`
    /// is stopped: the embedded database belongs to one process at a time.
    Create {
        name: String,
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
}

/// A secret kept in the data directory, created with mode 0600 on first use.
fn secret(data: &Path, name: &str) -> Result<Vec<u8>> {
    let path = data.join("secrets").join(name);
    if let Ok(hex) = std::fs::read_to_string(&path) {
        return hex::decode(hex.trim()).with_context(|| format!("{} is corrupt", path.display()));
    }
    std::fs::create_dir_all(path.parent().expect("has parent"))?;
    std::fs::set_permissions(
        path.parent().expect("has parent"),
        std::fs::Permissions::from_mode(0o700),
    )?;
    let mut key = vec![0u8; 32];
    OsRng.fill_bytes(&mut key);
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?
        .write_all(hex::encode(&key).as_bytes())?;
    Ok(key)
}

fn state(
    data: &Path,
    public_url: &str,
    upload_seconds: u64,
    rate_limit: f64,
    engines: Arc<Engines>,
) -> Result<AppState> {
    std::fs::create_dir_all(data)?;
    let records = EmbeddedRecords::open(&data.join("idv.redb")).with_context(|| {
        format!(
            "opening {}: is another idv process using this data directory?",
            data.join("idv.redb").display()
        )
    })?;
    let queue = records.queue(5);
    let blobs = Arc::new(FileBlobs::open(
        &data.join("blobs"),
        public_url,
        &secret(data, "upload-key")?,
    )?);
    Ok(AppState {
        engines,
        blobs: blobs.clone(),
        records: Arc::new(records),
        queue: Arc::new(queue),
        local_uploads: Some(blobs),
        config: Arc::new(Config {
            token_secret: secret(data, "token-key")?,
            upload_seconds,
        }),
        inference: Arc::new(tokio::sync::Semaphore::new(2)),
        limiter: Arc::new(idv_api::limits::RateLimiter::new(
            rate_limit,
            2.0 * rate_limit,
        )),
        verified: Arc::default(),
    })
}

/// `idv serve`.
pub fn serve(args: ServeArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
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
        let state = state(
            &args.data,
            &public,
            args.upload_seconds,
            args.rate_limit,
            engines,
        )?;
        tokio::spawn(idv_api::run_worker(state.clone()));
        // The line scripts and tests wait for.
        println!("idv listening on http://{addr}");
        axum::serve(listener, idv_api::router(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
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
        reference: None,
        selfie: Some(&selfie),
        multiface: false,
        profile: &profile,
        today: idv_document::Ymd::today(),
    });
    eprintln!("{:?} in {:.0} ms", v.decision.outcome(), v.elapsed_ms);
    println!(
        "{}",
        serde_json::to_string_pretty(&idv_api::kairos::full_response(&v))?
    );
    Ok(())
}

/// `idv tenant create`.
pub fn tenant(cmd: TenantCommand) -> Result<()> {
    let TenantCommand::Create { name, data } = cmd;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        // Tenant creation needs no models: a state without engines would be odd, so build
        // only what it uses.
        std::fs::create_dir_all(&data)?;
        let records = EmbeddedRecords::open(&data.join("idv.redb")).with_context(
            || "opening the database: stop `idv serve` first (one process per data directory)",
        )?;
        let t = idv_api::auth::create_tenant_in(&records, &name)
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        println!("{}", serde_json::to_string_pretty(&t)?);
        Ok(())
    })
}
