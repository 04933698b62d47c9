//! `idv serve`: every function in one process on the embedded backends — the HTTP API, the
//! admin API, the queue workers and the retention timer — until SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use idv_core::{Config, Services};
use idv_pipeline::Engines;
use idv_store::FileBlobs;

use crate::certs::{certs, crl_url};
use crate::datadir::{open_database, secret};

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
    /// Connections open at once; beyond, a new one closes the connection that has waited
    /// longest for a request (never one being answered), or waits in the kernel's backlog.
    #[arg(long, default_value_t = 4096)]
    max_connections: usize,
    /// Seconds a connection may stay silent (unfinished headers, a stalled upload, an idle
    /// keep-alive) before the server closes it.
    #[arg(long, default_value_t = 10)]
    idle_timeout: u64,
    /// Seconds a request's head (request line and headers) may take from its first byte,
    /// however steadily it trickles.
    #[arg(long, default_value_t = 10)]
    head_timeout: u64,
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
    // The chip's trust store: `idv chip trust import` fills DATA/chip-trust.
    let trust_dir = crate::chip::store_dir(data);
    let chip_trust = if trust_dir.exists() {
        idv_chip::TrustStore::load_dir(&trust_dir)
            .with_context(|| format!("loading the chip trust store {}", trust_dir.display()))?
    } else {
        idv_chip::TrustStore::default()
    };
    tracing::info!(
        cscas = chip_trust.anchors.len(),
        lists = chip_trust.lists.len(),
        "chip trust store loaded"
    );
    Ok(
        Services::builder(blobs.clone(), Arc::new(records), Arc::new(queue), config)
            .engines(Some(engines))
            .chip_trust(Arc::new(chip_trust))
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
        tokio::spawn(idv_core::jobs::sweeps(
            state.clone(),
            std::time::Duration::from_secs(args.sweep_seconds.max(1)),
        ));
        // `idv tenant …` and `idv reviewer …` reach the running server through its admin API.
        let admin_token = crate::admin::token(&args.data)?;
        let _announced = crate::admin::announce(&args.data, addr)?;
        tracing::info!(
            token_file = %args.data.join("secrets").join("admin-token").display(),
            "admin API on /admin/v1 (`idv admin token` prints the token)"
        );
        // The line scripts and tests wait for.
        println!("idv listening on http://{addr}");
        let metrics_token = (args.metrics_token.clone())
            .or_else(|| std::env::var("IDV_METRICS_TOKEN").ok())
            .filter(|t| !t.is_empty());
        if metrics_token.is_none() {
            tracing::warn!(
                "/metrics is open to anyone who reaches this address (request volumes and \
                 outcomes across tenants); set --metrics-token or IDV_METRICS_TOKEN"
            );
        }
        // The CA's CRL, where the certificates it issued say it is (their CRL distribution
        // point): issued afresh on each request, valid a week.
        let pems = certs(&args.data, &crl_url(&public))?;
        let issuer = Arc::new(pems.crl_issuer()?);
        let crl = axum::Router::new().route(
            "/ca.crl",
            axum::routing::get(move || {
                let issuer = issuer.clone();
                async move { ca_crl(&issuer) }
            }),
        );
        let app = idv_http::server_router(state, admin_token, metrics_token, crl)
            .layer(axum::middleware::from_fn(crate::listener::peer))
            .into_make_service_with_connect_info::<crate::listener::Peer>();
        let listener = crate::listener::Guarded::new(
            listener,
            args.max_connections,
            std::time::Duration::from_secs(args.idle_timeout.max(1)),
            std::time::Duration::from_secs(args.head_timeout.max(1)),
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
