//! What every idv Lambda function shares. A function's `main` picks one of [`run_http`] (the
//! axum router under `lambda_http`, for API Gateway HTTP API events) or [`run_queue`] (SQS
//! batches, reporting partial failures as `batchItemFailures`).
//!
//! Configuration comes from the environment the SAM template sets: `IDV_BUCKET`,
//! `IDV_TABLE`, `IDV_QUEUE_PREFIX`, `IDV_PUBLIC_URL`, `IDV_MODELS_DIR` (the layer's
//! `/opt/models`), `IDV_JOB_BACKLOG`, `IDV_TSA_POLICY` and `IDV_SECRETS_ARN`: the Secrets
//! Manager secret whose JSON holds `token_secret` and, for certification, `ca_cert`,
//! `signing_cert`, `signing_key`, `tsa_cert`, `tsa_key` (PEM). Secrets are fetched once at
//! start, never passed in the environment. `IDV_AWS_ENDPOINT` points every client at another
//! endpoint (a local AWS-protocol server).

#![deny(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use idv_core::jobs::Next;
use idv_core::{Config, Services};
use lambda_runtime::{Error, LambdaEvent, service_fn};

fn var(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

fn opt(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The values of the function's Secrets Manager secret (`IDV_SECRETS_ARN`).
pub struct Secrets(HashMap<String, String>);

impl Secrets {
    /// Fetches the secret `arn` (a JSON object of strings).
    pub async fn fetch(conf: &aws_config::SdkConfig, arn: &str) -> Result<Secrets, Error> {
        let values = idv_aws::secret_values(conf, arn)
            .await
            .map_err(|e| format!("reading the secret {arn}: {e}"))?;
        Ok(Secrets(values))
    }

    /// The value under `key`, or an error naming the missing key.
    pub fn get(&self, key: &str) -> Result<String, Error> {
        self.0
            .get(key)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| format!("the secret has no {key:?}").into())
    }
}

/// What a function needs besides the stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Load the ONNX models (functions carrying the ONNX Runtime + models layer).
    pub models: bool,
    /// Load the signing keys (the certification function).
    pub signer: bool,
}

/// Where the function's stores are and how it is configured.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Another endpoint for every AWS client (a local AWS-protocol server).
    pub endpoint: Option<String>,
    pub bucket: String,
    pub table: String,
    pub queue_prefix: String,
    pub token_secret: String,
    pub public_url: String,
    pub allow_private_callbacks: bool,
    /// Jobs the queue may hold before submissions are refused (503).
    pub job_backlog: u64,
    /// The receipt-signing key, certificate and chain (PEM), when the secret holds them.
    pub receipt_keys: Option<[String; 3]>,
}

impl Settings {
    /// From the environment the SAM template sets and the function's `secrets`.
    pub fn from_env(secrets: &Secrets) -> Result<Settings, Error> {
        Ok(Settings {
            endpoint: opt("IDV_AWS_ENDPOINT"),
            bucket: var("IDV_BUCKET")?,
            table: var("IDV_TABLE")?,
            queue_prefix: var("IDV_QUEUE_PREFIX")?,
            token_secret: secrets.get("token_secret")?,
            public_url: opt("IDV_PUBLIC_URL").unwrap_or_default(),
            allow_private_callbacks: opt("IDV_ALLOW_PRIVATE_CALLBACKS").as_deref() == Some("1"),
            job_backlog: opt("IDV_JOB_BACKLOG")
                .and_then(|v| v.parse().ok())
                .unwrap_or(100_000),
            receipt_keys: match (secrets.get("signing_key"), secrets.get("signing_cert")) {
                (Ok(key), Ok(cert)) => Some([
                    key,
                    cert,
                    secrets
                        .get("signing_chain")
                        .or_else(|_| secrets.get("ca_cert"))
                        .unwrap_or_default(),
                ]),
                _ => None,
            },
        })
    }
}

/// The signing keys of the certification function, from its secret.
#[cfg(feature = "certify")]
pub fn signer(secrets: &Secrets) -> Result<Arc<dyn idv_certify::SignPdf>, Error> {
    // B-LT and B-LTA (`IDV_PADES_LEVEL=b-lt|b-lta`) issue CRLs: the secret then holds the
    // CA's key too.
    let level = match opt("IDV_PADES_LEVEL").as_deref() {
        Some("b-lt") => idv_certify::Level::LongTerm,
        Some("b-lta") => idv_certify::Level::Archival,
        _ => idv_certify::Level::Timestamped,
    };
    let pems = idv_certify::Pems {
        ca_cert: secrets.get("ca_cert")?,
        ca_key: match level {
            idv_certify::Level::Timestamped => String::new(),
            _ => secrets.get("ca_key")?,
        },
        signing_cert: secrets.get("signing_cert")?,
        signing_key: secrets.get("signing_key")?,
        tsa_cert: secrets.get("tsa_cert")?,
        tsa_key: secrets.get("tsa_key")?,
        // Your own signing certificate's chain, when another CA issued it.
        signing_chain: secrets.get("signing_chain").ok(),
    };
    let policy = opt("IDV_TSA_POLICY").unwrap_or_else(|| idv_certify::DEFAULT_POLICY.into());
    let signer = pems.signer_at(&policy, level)?;
    // An external RFC 3161 authority (`IDV_TSA_URL`), its CA in the secret (`tsa_ca`).
    let signer = match opt("IDV_TSA_URL") {
        Some(url) => {
            let remote = idv_certify::RemoteTsa::new(&url, secrets.get("tsa_ca")?.as_bytes())?;
            signer.with_remote_tsa(remote)?
        }
        None => signer,
    };
    Ok(Arc::new(signer))
}

/// The signing keys of the certification function (not built in this one).
#[cfg(not(feature = "certify"))]
pub fn signer(_: &Secrets) -> Result<Arc<dyn idv_certify::SignPdf>, Error> {
    Err("this function was built without certificate signing (feature `certify`)".into())
}

/// The service state on the AWS backends, from the environment and the secret it names.
pub async fn state_from_env(needs: Needs) -> Result<Services, Error> {
    let conf = idv_aws::config(opt("IDV_AWS_ENDPOINT").as_deref()).await;
    let secrets = Secrets::fetch(&conf, &var("IDV_SECRETS_ARN")?).await?;
    let signer = if needs.signer {
        Some(signer(&secrets)?)
    } else {
        None
    };
    state(&Settings::from_env(&secrets)?, needs.models, signer).await
}

/// The service state on the AWS backends: models loaded when `models`, certification enabled
/// with `signer`.
pub async fn state(
    s: &Settings,
    models: bool,
    signer: Option<Arc<dyn idv_certify::SignPdf>>,
) -> Result<Services, Error> {
    let conf = idv_aws::config(s.endpoint.as_deref()).await;
    let engines = if models {
        Some(Arc::new(
            tokio::task::spawn_blocking(idv_pipeline::Engines::load_default).await??,
        ))
    } else {
        None
    };
    let receipts = match &s.receipt_keys {
        Some([key, cert, chain]) => Some(Arc::new(idv_core::receipts::ReceiptSigner::from_pem(
            key,
            cert,
            chain,
            &opt("IDV_OPERATOR_NAME").unwrap_or_else(|| "idv (self-hosted)".into()),
        )?)),
        None => None,
    };
    let certifier = signer.map(|signer| {
        Arc::new(idv_core::certificate::Certifier {
            signer,
            public_url: s.public_url.clone(),
            mask_numbers: true,
            issuer: idv_certify::Issuer {
                name: opt("IDV_OPERATOR_NAME").unwrap_or_else(|| "idv (self-hosted)".into()),
                contact: opt("IDV_OPERATOR_CONTACT").unwrap_or_default(),
            },
        })
    });
    let config = Config {
        token_secret: s.token_secret.clone().into_bytes(),
        upload_seconds: 900,
        allow_private_callbacks: s.allow_private_callbacks,
        callback_schedule: idv_core::callbacks::DEFAULT_SCHEDULE.to_vec(),
        // Public receivers: the platform's roots (`SSL_CERT_FILE` to replace them).
        webhooks: idv_core::webhooks::WebhookClient::new(None)?,
        // SQS holds the jobs; the gateway's throttling bounds the rate they arrive at.
        job_backlog: s.job_backlog,
    };
    let blobs = Arc::new(idv_aws::S3Blobs::new(
        &conf,
        &s.bucket,
        s.endpoint.is_some(),
    ));
    // The chip's trust store, from the bucket (`chip-trust/`), loaded once per instance by
    // the functions that verify.
    let chip_trust = match &engines {
        Some(_) => idv_core::chip::load_trust(blobs.as_ref()).await?,
        None => Arc::default(),
    };
    // The builder's limits are Lambda's: one invocation at a time per instance.
    Ok(Services::builder(
        blobs,
        Arc::new(idv_aws::DynamoRecords::new(&conf, &s.table)),
        Arc::new(idv_aws::SqsQueue::new(&conf, &s.queue_prefix)),
        config,
    )
    .engines(engines)
    .chip_trust(chip_trust)
    .receipts(receipts)
    .certifier(certifier)
    .dialects(idv_http::dialects())
    .build())
}

/// Logs as JSON lines when the function's log format is JSON (`LoggingConfig: LogFormat:
/// JSON` sets `AWS_LAMBDA_LOG_FORMAT`) or `IDV_LOG_FORMAT=json`, as text otherwise; and the
/// metrics as CloudWatch embedded-metric lines in `IDV_METRICS_NAMESPACE` (default `idv`).
fn init_logs() {
    let filter =
        || tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"))
        || std::env::var("IDV_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let _ = if json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter())
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter())
            .without_time()
            .try_init()
    };
    let namespace = std::env::var("IDV_METRICS_NAMESPACE").unwrap_or_else(|_| "idv".into());
    idv_core::metrics::emit_emf(&namespace);
}

/// An HTTP function: the router under `lambda_http`.
pub async fn run_http(needs: Needs) -> Result<(), Error> {
    init_logs();
    let state = state_from_env(needs).await?;
    lambda_http::run(idv_http::router(state)).await
}

/// A queue function: each SQS batch through [`handle_batch`].
pub async fn run_queue(queue: &'static str, needs: Needs) -> Result<(), Error> {
    init_logs();
    let state = state_from_env(needs).await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let state = state.clone();
        async move { Ok::<_, Error>(handle_batch(&state, queue, event.payload).await) }
    }))
    .await
}

/// Processes a batch; the messages that failed are reported so that only they come back.
/// A retry the handler schedules (callbacks) sets the message's visibility, then reports it.
pub async fn handle_batch(state: &Services, queue: &str, event: SqsEvent) -> SqsBatchResponse {
    let mut failures = Vec::new();
    let jobs = idv_http::jobs();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let attempt = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let body = record.body.clone().unwrap_or_default();
        match idv_core::jobs::handle(state, &jobs, queue, &body, attempt).await {
            Ok(Next::Done) => {}
            Ok(Next::RetryIn(delay)) => {
                if let Some(receipt) = &record.receipt_handle {
                    let _ = state
                        .queue
                        .retry_after(queue, receipt, delay.min(Duration::from_secs(43_200)))
                        .await;
                }
                failures.push(id);
            }
            Err(e) => {
                tracing::error!(queue, code = %e.code, error = %e.message, attempt, "message failed");
                failures.push(id);
            }
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures
        .into_iter()
        .map(|item_identifier| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = item_identifier;
            f
        })
        .collect();
    response
}

/// A scheduled function: each invocation (an EventBridge event, whatever it holds) runs one
/// retention sweep through [`sweep`].
pub async fn run_sweeps(needs: Needs) -> Result<(), Error> {
    init_logs();
    let state = state_from_env(needs).await?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
        let state = state.clone();
        async move { sweep(&state).await }
    }))
    .await
}

/// One retention sweep at the current time; its report as JSON (also logged).
pub async fn sweep(state: &Services) -> Result<serde_json::Value, Error> {
    let r = idv_core::retention::sweep(state, idv_store::now_ms())
        .await
        .map_err(|e| Error::from(e.to_string()))?;
    tracing::info!(
        images_purged = r.images_purged,
        erased = r.erased,
        expired = r.expired,
        "retention sweep"
    );
    Ok(serde_json::to_value(r)?)
}
