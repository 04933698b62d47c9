//! What every handler shares: the engines, the storage backends and the configuration.

use std::sync::Arc;

use idv_pipeline::{Engines, Inputs, Profile, Verification};
use idv_store::{BlobStore, FileBlobs, JobQueue, RecordStore};

use crate::error::{ApiError, ErrorCode};
use crate::limits::Admitted;

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
    /// Jobs the queue may hold before asynchronous submissions are refused (503).
    pub job_backlog: u64,
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
    /// Verifications: a few running at once (each already uses the cores), a short line,
    /// a share per tenant; requests beyond it are refused at once.
    pub inference: Arc<crate::limits::Admission>,
    /// Asynchronous submissions while they read and validate their images: bounded like
    /// [`AppState::inference`], apart from it, so queued jobs never wait behind it.
    pub intake: Arc<crate::limits::Admission>,
    /// Password-hash work and failed sign-ins, bounded.
    pub auth: Arc<crate::credentials::AuthGuard>,
    /// Per-tenant request rate limits.
    pub limiter: Arc<crate::limits::RateLimiter>,
    /// Renders and signs certificates; `None` disables certification.
    pub certifier: Option<Arc<crate::certificate::Certifier>>,
    /// Signs each verification's receipt; `None`: no receipts.
    pub receipts: Option<Arc<crate::receipts::ReceiptSigner>>,
    /// Credentials verified in the last minute.
    pub verified: Arc<crate::credentials::VerifiedCache>,
    /// When each queue worker of this process last came round (`GET /ready`).
    pub beats: Arc<crate::ready::Beats>,
}

impl AppState {
    /// Waits in `place` (a request's place in a bounded line, taken before its body was
    /// read) for a running slot: images are decoded and models run while it is held, so at
    /// most the line's running count of requests hold decoded images. `None` (a queued job,
    /// whose queue is its bound) waits in the verification line without a bound.
    pub async fn running(&self, place: Option<Admitted>) -> Result<Running, ApiError> {
        // The client has sent its request: from here the wait is the server's.
        let held = crate::turn::Held::current();
        let place = place.unwrap_or_else(|| self.inference.wait());
        let permit = place.run().await?;
        Ok(Running {
            _permit: permit,
            _place: place,
            _held: held,
        })
    }

    /// Runs one verification on the blocking pool, in the running slot `_slot`.
    pub async fn verify_in(
        &self,
        _slot: &Running,
        job: OwnedInputs,
    ) -> Result<Verification, ApiError> {
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
        .inspect(crate::metrics::verification)
    }

    /// Runs one verification of a queued job: it waits for a slot however long the line (the
    /// queue is its bound).
    pub async fn verify(&self, job: OwnedInputs) -> Result<Verification, ApiError> {
        let slot = self.running(None).await?;
        self.verify_in(&slot, job).await
    }
}

/// A running slot of a bounded line ([`AppState::running`]): held while the request's images
/// are decoded and its models run.
pub struct Running {
    _permit: tokio::sync::OwnedSemaphorePermit,
    _place: Admitted,
    _held: crate::turn::Held,
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
            job_backlog: 1000,
        }),
        inference: crate::limits::Admission::new(1, 4, 4),
        intake: crate::limits::Admission::new(1, 4, 4),
        auth: Arc::new(crate::credentials::AuthGuard::new(1, 4)),
        limiter: Arc::new(crate::limits::RateLimiter::new(0.0, 1.0)),
        certifier: None,
        receipts: None,
        verified: Arc::default(),
        beats: Arc::default(),
    }
}
