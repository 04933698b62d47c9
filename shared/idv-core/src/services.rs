//! The services every entry point shares — engines, storage backends, limits, signers — built
//! once by [`Builder`] (the same for `idv serve` and each Lambda function), and the
//! [`Dialect`] trait through which the core reaches each API's own records.

use std::sync::Arc;

use idv_pipeline::{Engines, Inputs, Profile, Verification};
use idv_store::{BlobStore, FileBlobs, JobQueue, RecordStore};

use crate::records::{ModelUsed, Tombstone};

use crate::error::{Error, ErrorCode};
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
    pub webhooks: crate::webhooks::WebhookClient,
    /// Jobs the queue may hold before asynchronous submissions are refused (503).
    pub job_backlog: u64,
}

/// What the routes, the queue workers and the functions share.
#[derive(Clone)]
pub struct Services {
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
    pub beats: Arc<crate::beats::Beats>,
    /// The APIs served, as data lifecycle sees them.
    pub dialects: Arc<[Arc<dyn Dialect>]>,
    /// The CSCAs chips are verified against, loaded once.
    pub chip_trust: Arc<idv_chip::TrustStore>,
}

impl Services {
    /// A builder over these backends and settings, with Lambda's limits (one verification
    /// at a time) until told otherwise.
    pub fn builder(
        blobs: Arc<dyn BlobStore>,
        records: Arc<dyn RecordStore>,
        queue: Arc<dyn JobQueue>,
        config: Config,
    ) -> Builder {
        Builder {
            s: Services {
                engines: None,
                blobs,
                records,
                queue,
                local_uploads: None,
                config: Arc::new(config),
                inference: crate::limits::Admission::new(1, 1, 2),
                intake: crate::limits::Admission::new(1, 1, 2),
                auth: Arc::new(crate::credentials::AuthGuard::new(1, 4)),
                limiter: Arc::new(crate::limits::RateLimiter::new(20.0, 40.0)),
                certifier: None,
                receipts: None,
                verified: Arc::default(),
                beats: Arc::default(),
                dialects: Arc::new([]),
                chip_trust: Arc::default(),
            },
        }
    }

    /// Embedded backends under `dir` (emptied first), no models, no signers: for tests.
    pub fn embedded(dir: &std::path::Path, dialects: Vec<Arc<dyn Dialect>>) -> Services {
        let _ = std::fs::remove_dir_all(dir);
        let records = idv_store::EmbeddedRecords::open(&dir.join("idv.redb")).expect("database");
        let queue = records.queue(10);
        let blobs = Arc::new(FileBlobs::open(&dir.join("blobs"), "http://x", b"k").expect("blobs"));
        let config = Config {
            token_secret: b"t".to_vec(),
            upload_seconds: 60,
            allow_private_callbacks: false,
            callback_schedule: vec![1, 1],
            webhooks: crate::webhooks::WebhookClient::new(None).expect("platform roots"),
            job_backlog: 1000,
        };
        Services::builder(blobs, Arc::new(records), Arc::new(queue), config)
            .verifications(1, 4, 4)
            .intake(1, 4, 4)
            .rate_limit(0.0, 1.0)
            .dialects(dialects)
            .build()
    }

    /// The models this process verifies with, as deployed (file and package).
    pub fn models_used(&self) -> Vec<ModelUsed> {
        self.engines
            .iter()
            .flat_map(|e| &e.models)
            .map(|(file, package)| ModelUsed {
                file: file.clone(),
                package: package.clone(),
            })
            .collect()
    }

    /// Waits in `place` (a request's place in a bounded line, taken before its body was
    /// read) for a running slot: images are decoded and models run while it is held, so at
    /// most the line's running count of requests hold decoded images. `None` (a queued job,
    /// whose queue is its bound) waits in the verification line without a bound.
    pub async fn running(&self, place: Option<Admitted>) -> Result<Running, Error> {
        let place = place.unwrap_or_else(|| self.inference.wait());
        let permit = place.run().await?;
        Ok(Running {
            _permit: permit,
            _place: place,
        })
    }

    /// Runs one verification on the blocking pool, in the running slot `_slot`.
    /// Measures the frames of an active liveness clip (`(ms, frame)` in time order) and
    /// judges them against `challenge`, in a running slot.
    pub async fn active_liveness(
        &self,
        _slot: &Running,
        challenge: idv_vision::active::Challenge,
        frames: Vec<(u32, image::RgbImage)>,
    ) -> Result<idv_vision::active::Verdict, Error> {
        let engines = self.engines.clone().ok_or_else(|| {
            Error::new(
                ErrorCode::ModelsUnavailable,
                "this function runs no inference",
            )
        })?;
        tokio::task::spawn_blocking(move || {
            idv_vision::active::measure(&engines.face, &frames)
                .map(|seen| idv_vision::active::judge(&challenge, &seen))
        })
        .await
        .map_err(Error::internal)?
        .map_err(Error::internal)
    }

    pub async fn verify_in(
        &self,
        _slot: &Running,
        job: OwnedInputs,
    ) -> Result<Verification, Error> {
        let engines = self.engines.clone().ok_or_else(|| {
            Error::new(
                ErrorCode::ModelsUnavailable,
                "this function runs no inference",
            )
        })?;
        let trust = self.chip_trust.clone();
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
                chip: job.chip.as_ref().map(|c| idv_pipeline::chip::ChipInput {
                    chip: &c.chip,
                    trust: &trust,
                    aa_refused: c.aa_refused.as_deref(),
                }),
            })
        })
        .await
        .map_err(Error::internal)
        .inspect(crate::metrics::verification)
    }

    /// Runs one verification of a queued job: it waits for a slot however long the line (the
    /// queue is its bound).
    pub async fn verify(&self, job: OwnedInputs) -> Result<Verification, Error> {
        let slot = self.running(None).await?;
        self.verify_in(&slot, job).await
    }
}

/// A running slot of a bounded line ([`AppState::running`]): held while the request's images
/// are decoded and its models run.
pub struct Running {
    _permit: tokio::sync::OwnedSemaphorePermit,
    _place: Admitted,
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
    /// The document's chip, its challenge taken.
    pub chip: Option<crate::chip::PreparedChip>,
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
            chip: None,
        }
    }
}

/// The profile called `name` (default `optimal-v0`), or 400.
pub fn profile(name: Option<&str>) -> Result<Profile, Error> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(idv_pipeline::DEFAULT_PROFILE);
    idv_pipeline::profile::find(name).ok_or_else(|| {
        Error::new(
            ErrorCode::UnknownProfile,
            format!("unknown profile {name:?}; use permissive-v0, optimal-v0 or strict-v0"),
        )
    })
}

/// Builds [`Services`]; see [`Services::builder`].
pub struct Builder {
    s: Services,
}

impl Builder {
    /// The models (`None`: this entry point runs no inference).
    pub fn engines(mut self, engines: Option<Arc<Engines>>) -> Builder {
        self.s.engines = engines;
        self
    }

    /// The embedded blob store, which serves its own upload URLs.
    pub fn local_uploads(mut self, blobs: Arc<FileBlobs>) -> Builder {
        self.s.local_uploads = Some(blobs);
        self
    }

    /// Verifications `running` at once, `waiting` in line, at most `per_tenant` of them one
    /// tenant's.
    pub fn verifications(mut self, running: usize, waiting: usize, per_tenant: usize) -> Builder {
        self.s.inference = crate::limits::Admission::new(running, waiting, per_tenant);
        self
    }

    /// Asynchronous submissions checking their images at once, waiting, per tenant.
    pub fn intake(mut self, running: usize, waiting: usize, per_tenant: usize) -> Builder {
        self.s.intake = crate::limits::Admission::new(running, waiting, per_tenant);
        self
    }

    /// Password-hash verifications at once and waiting.
    pub fn sign_ins(mut self, at_once: usize, waiting: usize) -> Builder {
        self.s.auth = Arc::new(crate::credentials::AuthGuard::new(at_once, waiting));
        self
    }

    /// Requests per second per tenant, and its bursts (0: no limit).
    pub fn rate_limit(mut self, per_second: f64, burst: f64) -> Builder {
        self.s.limiter = Arc::new(crate::limits::RateLimiter::new(per_second, burst));
        self
    }

    /// Certification (`None`: disabled).
    pub fn certifier(mut self, certifier: Option<Arc<crate::certificate::Certifier>>) -> Builder {
        self.s.certifier = certifier;
        self
    }

    /// Receipt signing (`None`: no receipts).
    pub fn receipts(mut self, signer: Option<Arc<crate::receipts::ReceiptSigner>>) -> Builder {
        self.s.receipts = signer;
        self
    }

    /// The CSCA trust store chips are verified against.
    pub fn chip_trust(mut self, trust: Arc<idv_chip::TrustStore>) -> Builder {
        self.s.chip_trust = trust;
        self
    }

    /// The APIs served.
    pub fn dialects(mut self, dialects: Vec<Arc<dyn Dialect>>) -> Builder {
        self.s.dialects = dialects.into();
        self
    }

    pub fn build(self) -> Services {
        self.s
    }
}

/// One verification of a tenant and when it came (milliseconds since the epoch).
#[derive(Debug, Clone)]
pub struct Seen {
    pub id: String,
    pub at_ms: u64,
}

impl Seen {
    /// The verifications among `rows` of a table keyed `TENANT/ID` (listed under `prefix`,
    /// `TENANT/`), each with when it came as `at` reads it; rows without a time are left out.
    pub fn all<T>(
        rows: Vec<(String, T)>,
        prefix: &str,
        at: impl Fn(&T) -> Option<&str>,
    ) -> Vec<Seen> {
        rows.iter()
            .filter_map(|(key, row)| {
                Some(Seen {
                    id: key.strip_prefix(prefix)?.to_string(),
                    at_ms: crate::clock::parse(at(row)?)?,
                })
            })
            .collect()
    }
}

/// One API idv speaks, as the core sees it: where its verifications are kept, so that
/// erasure and retention reach them without naming its tables. Each dialect implements it
/// beside its routes; [`Builder::dialects`] registers them.
#[async_trait::async_trait]
pub trait Dialect: Send + Sync {
    /// Every verification of `tenant` this dialect keeps, with when it came (retention).
    async fn verifications(&self, s: &Services, tenant: &str) -> Result<Vec<Seen>, Error>;

    /// Erases verification `id` of `tenant` if it is this dialect's: its images and personal
    /// data go; the tombstone is returned (`None`: not this dialect's).
    async fn erase(
        &self,
        s: &Services,
        tenant: &str,
        id: &str,
        keep_certificate: bool,
    ) -> Result<Option<Tombstone>, Error>;

    /// Forgets the images of verification `id` of `tenant` in this dialect's records and
    /// returns their blob keys (the caller deletes them).
    async fn purge_images(
        &self,
        s: &Services,
        tenant: &str,
        id: &str,
    ) -> Result<Vec<String>, Error>;

    /// Removes every record of `tenant` this dialect keeps (its blobs go with the tenant's
    /// prefix); how many.
    async fn delete_tenant(&self, records: &dyn RecordStore, tenant: &str) -> Result<usize, Error>;

    /// Acts on a reviewer's decision on verification `id`, when it is this dialect's.
    async fn review_decided(
        &self,
        _s: &Services,
        _tenant: &str,
        _id: &str,
        _outcome: &crate::records::ReviewOutcome,
    ) -> Result<(), Error> {
        Ok(())
    }

    /// Removes the kept certificate of verification `id` (its decision period is over).
    async fn expire_certificate(
        &self,
        _s: &Services,
        _tenant: &str,
        _id: &str,
    ) -> Result<(), Error> {
        Ok(())
    }
}
