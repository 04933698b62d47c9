//! What every handler shares: the engines, the storage backends and the configuration.

use std::sync::Arc;

use idv_pipeline::{Engines, Inputs, Profile, Verification};
use idv_store::{BlobStore, FileBlobs, JobQueue, RecordStore};
use tokio::sync::Semaphore;

use crate::error::{ApiError, ErrorCode};

/// Service settings.
#[derive(Clone)]
pub struct Config {
    /// Key signing LINK bearer tokens.
    pub token_secret: Vec<u8>,
    /// Seconds a presigned upload URL stays valid.
    pub upload_seconds: u64,
    /// Allow callbacks to private and loopback addresses, and plain http to loopback
    /// (development only).
    pub allow_private_callbacks: bool,
    /// Seconds before each retry of a failed callback (attempts = length + 1).
    pub callback_schedule: Vec<u64>,
    /// The HTTP client settings of webhook deliveries (CA roots, timeouts).
    pub webhooks: crate::callbacks::WebhookClient,
}

/// Shared state of the router and the workers.
#[derive(Clone)]
pub struct AppState {
    /// The models; `None` in functions that run no inference (they answer 503 if asked).
    pub engines: Option<Arc<Engines>>,
    pub blobs: Arc<dyn BlobStore>,
    pub records: Arc<dyn RecordStore>,
    pub queue: Arc<dyn JobQueue>,
    /// The embedded blob store, which serves its own upload URLs (absent on AWS, where S3 does).
    pub local_uploads: Option<Arc<FileBlobs>>,
    pub config: Arc<Config>,
    /// Verifications running at once: each already uses both cores.
    pub inference: Arc<Semaphore>,
    /// Per-tenant request rate limits.
    pub limiter: Arc<crate::limits::RateLimiter>,
    /// Renders and signs certificates; `None` disables certification.
    pub certifier: Option<Arc<crate::certificate::Certifier>>,
    /// Credentials verified in the last minute.
    pub verified: Arc<crate::credentials::VerifiedCache>,
    /// When each queue worker of this process last came round (`GET /ready`).
    pub beats: Arc<crate::ready::Beats>,
}

impl AppState {
    /// Runs one verification on the blocking pool, at most `inference` at a time.
    pub async fn verify(&self, job: OwnedInputs) -> Result<Verification, ApiError> {
        let _permit = self
            .inference
            .clone()
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        let engines = self.engines.clone().ok_or_else(|| {
            ApiError::new(
                ErrorCode::ModelsUnavailable,
                "this function runs no inference",
            )
        })?;
        tokio::task::spawn_blocking(move || {
            engines.verify(&Inputs {
                document: job.document.as_ref(),
                document_back: job.document_back.as_ref(),
                document_hint: job.document_hint,
                reference: job.reference.as_ref(),
                selfie: job.selfie.as_ref(),
                multiface: job.multiface,
                profile: &job.profile,
                today: idv_document::Ymd::today(),
            })
        })
        .await
        .map_err(ApiError::internal)
    }
}

/// [`Inputs`] that own their images, to cross into the blocking pool.
pub struct OwnedInputs {
    pub document: Option<image::RgbImage>,
    pub document_back: Option<image::RgbImage>,
    /// What the caller says the document is (one-call `documentType`).
    pub document_hint: idv_document::Hint,
    pub reference: Option<image::RgbImage>,
    pub selfie: Option<image::RgbImage>,
    pub multiface: bool,
    pub profile: Profile,
}

impl OwnedInputs {
    pub fn new(profile: Profile) -> OwnedInputs {
        OwnedInputs {
            document: None,
            document_back: None,
            document_hint: idv_document::Hint::Auto,
            reference: None,
            selfie: None,
            multiface: false,
            profile,
        }
    }
}

/// The profile called `name` (default `optimal-v0`), or 400.
pub fn profile(name: Option<&str>) -> Result<Profile, ApiError> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(idv_pipeline::DEFAULT_PROFILE);
    idv_pipeline::profile::find(name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnknownProfile,
            format!("unknown profile {name:?}; use permissive-v0, optimal-v0 or strict-v0"),
        )
    })
}

/// A state on embedded backends under `dir`, without models or certification (tests).
#[cfg(test)]
pub(crate) fn for_tests(dir: &std::path::Path) -> AppState {
    let _ = std::fs::remove_dir_all(dir);
    let records = idv_store::EmbeddedRecords::open(&dir.join("idv.redb")).expect("database");
    let queue = records.queue(10);
    let blobs = Arc::new(FileBlobs::open(&dir.join("blobs"), "http://x", b"k").expect("blobs"));
    AppState {
        engines: None,
        blobs,
        records: Arc::new(records),
        queue: Arc::new(queue),
        local_uploads: None,
        config: Arc::new(Config {
            token_secret: b"t".to_vec(),
            upload_seconds: 60,
            allow_private_callbacks: false,
            callback_schedule: vec![1, 1],
            webhooks: crate::callbacks::WebhookClient::new(None).expect("platform roots"),
        }),
        inference: Arc::new(Semaphore::new(1)),
        limiter: Arc::new(crate::limits::RateLimiter::new(0.0, 1.0)),
        certifier: None,
        verified: Arc::default(),
        beats: Arc::default(),
    }
}
