//! The LINK dialect: `/auth/token`, `/ping`, `/identity/verify`, `/certificate/{id}`.
//! Errors are `{id, code, message}` as the seed shows.

pub mod certify;
mod lifecycle;
pub mod records;
pub mod wire;

use std::marker::PhantomData;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use idv_image::Limits;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::dialects::link::records::{LinkRecord, LinkState, Progress, VERIFICATIONS};
use crate::error::ApiError;
use crate::extract;
use idv_core::ErrorCode;
use idv_core::Services;
use idv_core::credentials::Tenant;
use idv_core::images;
use idv_core::services::{self, OwnedInputs};
use wire::{CertificateFile, CertificationStatus, IdVerification, Ping, Token, VerifyAnswer};
pub use wire::{LinkError, charset, id_verification};

/// A LINK token scope.
pub trait Scope: Send + Sync + 'static {
    /// As the token lists it.
    const NAME: &'static str;
}

/// `kyc.idVeriication.auto` (the seed's spelling).
pub struct AutoVerification;

impl Scope for AutoVerification {
    const NAME: &'static str = "kyc.idVeriication.auto";
}

/// `kyc.certification`.
pub struct Certification;

impl Scope for Certification {
    const NAME: &'static str = "kyc.certification";
}

/// The tenant of a request without a body, from a bearer token with scope `S`.
pub struct Bearer<S>(pub Tenant, pub PhantomData<S>);

impl<S: Scope> FromRequestParts<Services> for Bearer<S> {
    type Rejection = LinkError;

    async fn from_request_parts(parts: &mut Parts, state: &Services) -> Result<Self, LinkError> {
        let tenant = extract::bearer(state, &parts.headers, S::NAME).await?;
        Ok(Bearer(tenant, PhantomData))
    }
}

/// A request id in the path, refused in LINK's shape (400 `003`) when it does not parse.
pub struct IdPath(pub String);

impl FromRequestParts<Services> for IdPath {
    type Rejection = LinkError;

    async fn from_request_parts(parts: &mut Parts, state: &Services) -> Result<Self, LinkError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(IdPath(id)),
            Err(e) => Err(LinkError::validation(None, &e.body_text())),
        }
    }
}

/// A JSON body of a verification: its bearer token (scope `S`) checked first, then its place
/// in the verification line taken ([`Services::inference`]), then the body read under the
/// limit and parsed. A request refused either way costs no buffer — its body is read and
/// discarded (bounded), so the client still gets its status — and only an authorised one
/// learns what is wrong with its body.
pub struct BearerJson<S, T> {
    pub tenant: Tenant,
    pub body: T,
    /// SHA-256 (hex) of the body as sent.
    pub sha256: String,
    /// The request's place in the verification line.
    pub place: idv_core::limits::Admitted,
    scope: PhantomData<S>,
}

impl<S: Scope, T: DeserializeOwned> FromRequest<Services> for BearerJson<S, T> {
    type Rejection = LinkError;

    async fn from_request(req: Request, state: &Services) -> Result<Self, LinkError> {
        let (parts, body) = req.into_parts();
        let admitted = extract::bearer(state, &parts.headers, S::NAME)
            .await
            .and_then(|tenant| {
                let place = state.inference.enter(Some(&tenant.0))?;
                Ok((tenant, place))
            });
        let (tenant, place) = match admitted {
            Ok(a) => a,
            Err(e) => {
                crate::body::drain(body, crate::body::MAX_BODY).await;
                return Err(e.into());
            }
        };
        let bytes = axum::body::to_bytes(body, crate::body::MAX_BODY)
            .await
            .map_err(crate::body::body_error)?;
        let body = serde_json::from_slice(&bytes)
            .map_err(|e| LinkError::validation(None, &format!("invalid JSON body: {e}")))?;
        use sha2::Digest;
        Ok(BearerJson {
            tenant,
            body,
            sha256: hex::encode(sha2::Sha256::digest(&bytes)),
            place,
            scope: PhantomData,
        })
    }
}

/// Whether a request id can name its records, blobs and URLs as it is: 1–128 ASCII letters,
/// digits, `-`, `_`, `.` or `=`, and not `.` or `..`.
fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.=".contains(&b))
        && id != "."
        && id != ".."
}

/// `POST /auth/token` body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    user: Option<String>,
    password: Option<String>,
}

/// `POST /auth/token`.
#[utoipa::path(post, operation_id = "link_token", path = "/auth/token", tag = "LINK", request_body = TokenRequest, responses((status = 200, description = "A bearer token", body = wire::Token), (status = 401, description = "Invalid credentials (no body)")))]
pub async fn token(
    State(state): State<Services>,
    headers: axum::http::HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Token>, LinkError> {
    // Read by hand: axum's own JSON rejections are plain text, LINK's errors are `003`.
    let body = body.map_err(|e| LinkError::validation(None, &e.body_text()))?;
    let json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    let request = match !json || body.iter().all(u8::is_ascii_whitespace) {
        true => None,
        false => Some(
            serde_json::from_slice::<TokenRequest>(&body)
                .map_err(|e| LinkError::validation(None, &format!("invalid JSON body: {e}")))?,
        ),
    };
    let Some(TokenRequest {
        user: Some(user),
        password: Some(password),
    }) = request
    else {
        return Err(LinkError::validation(
            None,
            "user and password are required",
        ));
    };
    // 401 for wrong credentials; a throttled client keeps its 429 (or 503 when busy).
    let (token, expires_in) =
        idv_core::signin::issue_token(&state, extract::client(), &user, &password).await?;
    Ok(Json(Token {
        token,
        scopes: idv_core::signin::SCOPES,
        expires_in,
        token_type: "bearer",
    }))
}

/// `POST /ping`.
#[utoipa::path(post, operation_id = "link_ping", path = "/ping", tag = "LINK", responses((status = 200, description = "The service is up", body = wire::Ping)))]
pub async fn ping() -> Json<Ping> {
    Json(Ping {
        service: "KYC API",
        status: "ok",
        date: idv_core::clock::link_date(),
    })
}

/// `GET /ping`, as `POST`.
#[utoipa::path(get, operation_id = "link_ping_get", path = "/ping", tag = "LINK", responses((status = 200, description = "The service is up", body = wire::Ping)))]
pub async fn ping_get() -> Json<Ping> {
    ping().await
}

/// One image of `POST /identity/verify`: a document side, and the selfie with it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyImage {
    content: Option<String>,
    face_image: Option<String>,
}

/// `POST /identity/verify` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyRequest {
    id: Option<String>,
    images: Option<Vec<VerifyImage>>,
    expeditor_country: Option<String>,
    #[serde(default)]
    certify: bool,
    certify_callback: Option<String>,
    #[serde(default)]
    manual_verification: bool,
    manual_verification_callback: Option<String>,
    profile: Option<String>,
    /// The document's chip, when the app read it (beyond the seed).
    nfc: Option<Nfc>,
}

/// `nfc` of `POST /identity/verify`: the chip's files as read, base64, and its Active
/// Authentication answer.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Nfc {
    /// EF.SOD (`77…`).
    sod: Option<String>,
    dg1: Option<String>,
    dg2: Option<String>,
    dg14: Option<String>,
    dg15: Option<String>,
    /// From `POST /v1/chip/challenge`.
    challenge_id: Option<String>,
    /// The chip's answer to INTERNAL AUTHENTICATE.
    aa_signature: Option<String>,
}

impl Nfc {
    /// The chip as the core reads it (400 `003` when a file is not base64 or too large).
    fn read(&self) -> Result<Option<idv_core::chip::ChipRequest>, idv_core::Error> {
        let mut fields = idv_core::images::Fields::default();
        for (name, v) in [
            ("sod", &self.sod),
            ("dg1", &self.dg1),
            ("dg2", &self.dg2),
            ("dg14", &self.dg14),
            ("dg15", &self.dg15),
            ("challengeId", &self.challenge_id),
            ("aaSignature", &self.aa_signature),
        ] {
            if let Some(v) = v {
                fields.values.insert(
                    format!("nfc.{name}"),
                    idv_core::images::FieldValue::Text(v.clone()),
                );
            }
        }
        idv_core::chip::read_fields(&fields, |p| {
            format!(
                "nfc.{}",
                match p {
                    "challenge_id" => "challengeId",
                    "aa_signature" => "aaSignature",
                    p => p,
                }
            )
        })
    }
}

fn valid_callback(url: &Option<String>) -> bool {
    match url.as_deref().map(str::trim) {
        None | Some("") => true,
        Some(u) => {
            (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= 2048
                && !u.contains(' ')
        }
    }
}

async fn decode_b64(
    id: &str,
    name: &str,
    s: &str,
    limits: Limits,
) -> Result<(Vec<u8>, image::RgbImage), LinkError> {
    let bytes = images::decode_base64(s).ok_or_else(|| {
        LinkError::validation(Some(id), "There are images with invalid base64 format")
    })?;
    images::decode(name, bytes, limits)
        .await
        .map_err(|e| LinkError::from(e).about(id))
}

/// An input kept for the certificate or the review case: caption, bytes, image.
type Kept = (&'static str, Vec<u8>, image::RgbImage);

/// `POST /identity/verify`.
#[utoipa::path(post, operation_id = "link_verify", path = "/identity/verify", tag = "LINK", security(("bearer" = [])), request_body = VerifyRequest, responses((status = 200, description = "The automatic result, or manual review and certification under way. The id is an idempotency key: the same body again gets the same answer; another body with the id gets 400 `003`.", body = wire::VerifyAnswer), (status = 400, description = "Validation error (code 003)", body = wire::LinkError), (status = 409, description = "The first request with this id is still running after 2 minutes", body = wire::LinkError)))]
pub async fn verify(
    State(state): State<Services>,
    request: BearerJson<AutoVerification, VerifyRequest>,
) -> Result<Response, LinkError> {
    let BearerJson {
        tenant,
        body: req,
        sha256,
        place,
        ..
    } = request;
    let id = req
        .id
        .clone()
        .filter(|i| !i.trim().is_empty())
        .ok_or_else(|| LinkError::validation(None, "id is required"))?;
    // Checked once, before anything is stored under it: the id names blobs and URLs.
    if !valid_id(&id) {
        return Err(LinkError::validation(
            None,
            "id: 1 to 128 letters, digits, '-', '_', '.' or '='",
        ));
    }
    let images = req.images.as_deref().unwrap_or_default();
    if images.is_empty() || images.len() > 2 {
        return Err(LinkError::validation(
            Some(&id),
            "images must hold one or two sides",
        ));
    }
    if req
        .expeditor_country
        .as_deref()
        .is_some_and(|c| !c.is_empty() && !(2..=3).contains(&c.len()))
    {
        return Err(LinkError::validation(
            Some(&id),
            "expeditorCountry must be an ISO country code",
        ));
    }
    if !valid_callback(&req.certify_callback) || !valid_callback(&req.manual_verification_callback)
    {
        return Err(LinkError::validation(
            Some(&id),
            "callback URLs must be http(s) URLs",
        ));
    }
    for url in [&req.certify_callback, &req.manual_verification_callback] {
        idv_core::callbacks::check_requested(state.config.allow_private_callbacks, url.as_deref())
            .await
            .map_err(|e| LinkError::validation(Some(&id), &e.message))?;
    }
    // A result that could never be delivered is refused now, not accepted and dropped.
    let unset = |u: &Option<String>| u.as_deref().is_none_or(|u| u.trim().is_empty());
    let needs_default = (req.certify && unset(&req.certify_callback))
        || (req.manual_verification && unset(&req.manual_verification_callback));
    if needs_default
        && idv_core::callbacks::tenant_default(state.records.as_ref(), &tenant.0)
            .await?
            .is_none()
    {
        return Err(LinkError::validation(
            Some(&id),
            "certifyCallback / manualVerificationCallback is required: this account has no default callback URL",
        ));
    }
    let profile = services::profile(req.profile.as_deref())?;
    let mut job = OwnedInputs::new(profile);
    let Some(front) = images[0].content.as_deref() else {
        return Err(LinkError::validation(
            Some(&id),
            "images[0].content is required",
        ));
    };
    let nfc = match &req.nfc {
        Some(n) => n
            .read()
            .map_err(|e| LinkError::validation(Some(&id), &e.message))?,
        None => None,
    };
    // Inputs kept for the certificate (thumbnails and SHA-256), when one is asked for.
    let mut kept: Vec<Kept> = Vec::new();
    let keep = req.certify || req.manual_verification;
    // The receipt's input hashes, whether or not the images are kept.
    let received_at = idv_core::clock::timestamp();
    let mut digests: Vec<idv_core::records::InputDigest> = Vec::new();
    let digest = |name: &str, bytes: &[u8]| idv_core::records::InputDigest {
        name: name.to_string(),
        sha256: idv_core::digest::sha256_hex(bytes),
    };
    // Images are decoded and verified under a running slot: a few requests at once.
    let (_turn, slot) = crate::turn::running(&state, Some(place)).await?;
    let (bytes, img) = decode_b64(&id, "images[0].content", front, Limits::DOCUMENT).await?;
    digests.push(digest("Document front", &bytes));
    if keep {
        kept.push(("Document front", bytes, img.clone()));
    }
    job.document = Some(img);
    if let Some(back) = images.get(1).and_then(|i| i.content.as_deref()) {
        let (bytes, img) = decode_b64(&id, "images[1].content", back, Limits::DOCUMENT).await?;
        digests.push(digest("Document back", &bytes));
        if keep {
            kept.push(("Document back", bytes, img.clone()));
        }
        job.document_back = Some(img);
    }
    if let Some(face) = images.iter().find_map(|i| i.face_image.as_deref()) {
        let (bytes, img) = decode_b64(&id, "faceImage", face, Limits::SELFIE).await?;
        digests.push(digest("Selfie", &bytes));
        if keep {
            kept.push(("Selfie", bytes, img.clone()));
        }
        job.selfie = Some(img);
    }
    // The id is an idempotency key: it is reserved before anything is stored under it, so two
    // requests with one id cannot both run (and mix their evidence). The same body again gets
    // the first answer; another body with the id is refused; a failed request frees the id.
    let key = format!("{}/{id}", tenant.0);
    // The callbacks this request will send, named now (beyond the seed: a header).
    let events: Vec<String> = [
        (req.manual_verification, "manual"),
        (req.certify, "certification"),
    ]
    .into_iter()
    .filter(|(asked, _)| *asked)
    .map(|(_, kind)| idv_core::callbacks::event_id(&tenant.0, &id, kind))
    .collect();
    let with_events = |mut res: Response, receipt: Option<String>| {
        if let Ok(v) = axum::http::HeaderValue::from_str(&events.join(", "))
            && !events.is_empty()
        {
            res.headers_mut()
                .insert(idv_core::callbacks::EVENT_HEADER, v);
        }
        crate::routes::receipts::attach(&mut res, receipt.as_deref());
        res
    };
    let reserved = match reserve(&state, &tenant.0, &key, &id, &sha256).await? {
        Reservation::Reserved(version) => version,
        Reservation::Answered(answer) => {
            let receipt = idv_core::receipts::RECEIPTS
                .get(state.records.as_ref(), &key)
                .await?
                .map(|r| r.value.receipt);
            return Ok(with_events(Json(answer).into_response(), receipt));
        }
    };
    let result = async {
        // The chip's challenge is taken once the id is reserved (a repeated body is answered
        // above without taking it again).
        if let Some(c) = nfc {
            digests.push(digest("Chip EF.SOD", &c.chip.sod));
            job.chip = Some(idv_core::chip::prepare(state.records.as_ref(), &tenant.0, c).await?);
        }
        run_verification(
            &state,
            &slot,
            &tenant.0,
            &id,
            &key,
            reserved,
            &sha256,
            req,
            job,
            kept,
            (&received_at, digests),
        )
        .await
    }
    .await;
    if result.is_err() {
        let freed = VERIFICATIONS
            .update(state.records.as_ref(), &key, |r| {
                r.state == LinkState::Processing && {
                    r.state = LinkState::Failed;
                    true
                }
            })
            .await;
        if let Err(e) = freed {
            tracing::warn!(code = %e.code, "could not free a failed request's id");
        }
    }
    result.map(|(answer, receipt)| with_events(Json(answer).into_response(), receipt))
}

/// What [`reserve`] found.
enum Reservation {
    /// The id is this request's (the version of its placeholder record).
    Reserved(u64),
    /// An earlier request with the same id and body was answered this.
    Answered(Box<RawValue>),
}

/// How long a replay waits for the first request with its id to finish.
const REPLAY_WAIT: Duration = Duration::from_secs(120);

/// Claims `key` for a new request: a record in state `processing`, written only if no
/// request holds the id or the last one with it failed. A request with the same body as the
/// holder's gets the holder's answer (waiting while it runs); another body is refused with
/// `003`.
async fn reserve(
    state: &Services,
    tenant: &str,
    key: &str,
    id: &str,
    sha256: &str,
) -> Result<Reservation, LinkError> {
    let placeholder = LinkRecord::processing(tenant, id, sha256);
    let records = state.records.as_ref();
    let started = Instant::now();
    loop {
        let written = match VERIFICATIONS.get(records, key).await? {
            None => VERIFICATIONS
                .insert(records, key, &placeholder)
                .await
                .map(|()| 1),
            Some(r) if r.value.state == LinkState::Failed => VERIFICATIONS
                .replace(records, key, r.version, &placeholder)
                .await
                .map(|()| r.version + 1),
            Some(r) if r.value.deleted_at.is_some() => {
                return Err(LinkError::validation(
                    Some(id),
                    "id belongs to a verification that was erased",
                ));
            }
            Some(r) if r.value.request_sha256.as_deref() != Some(sha256) => {
                return Err(LinkError::validation(
                    Some(id),
                    "id was already used for a request with another body",
                ));
            }
            Some(r) => match r.value.answer {
                Some(answer) if r.value.state == LinkState::Done => {
                    return Ok(Reservation::Answered(answer));
                }
                _ if started.elapsed() > REPLAY_WAIT => {
                    return Err(ApiError::new(
                        ErrorCode::Conflict,
                        "the first request with this id is still running; retry later",
                    )
                    .into());
                }
                _ => {
                    // The first request with this body is running: wait for its answer.
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    continue;
                }
            },
        };
        match written {
            // Another request took the id in between: look again.
            Err(e) if e.is_conflict() => continue,
            r => return Ok(Reservation::Reserved(r?)),
        }
    }
}

/// The work of `POST /identity/verify` once the request holds its id (`reserved`: the
/// version of its placeholder record).
#[allow(clippy::too_many_arguments)]
async fn run_verification(
    state: &Services,
    slot: &idv_core::services::Running,
    tenant: &str,
    id: &str,
    key: &str,
    reserved: u64,
    sha256: &str,
    req: VerifyRequest,
    job: OwnedInputs,
    kept: Vec<Kept>,
    (received_at, digests): (&str, Vec<idv_core::records::InputDigest>),
) -> Result<(VerifyAnswer, Option<String>), LinkError> {
    let sides = req.images.as_ref().map_or(0, Vec::len);
    let v = state.verify_in(slot, job).await?;
    let receipt = idv_core::receipts::issue(
        state.receipts.as_deref(),
        state.records.as_ref(),
        state.models_used(),
        tenant,
        id,
        "link",
        received_at,
        &v,
        digests,
        None,
    )
    .await?;
    let answer = VerifyAnswer {
        nfc: v.chip.clone(),
        id: id.to_string(),
        id_verification: if req.manual_verification {
            IdVerification::manual()
        } else {
            id_verification(&v, sides, req.expeditor_country.as_deref())
        },
        certification: req.certify.then_some(CertificationStatus {
            status: Progress::Processing,
        }),
    };
    let certification = if req.certify {
        let inputs: Vec<(&str, &[u8], &image::RgbImage)> =
            kept.iter().map(|(n, b, i)| (*n, b.as_slice(), i)).collect();
        let expeditor = req.expeditor_country.as_deref();
        Some(certify::record_material(state, tenant, id, &v, &inputs, expeditor).await?)
    } else {
        None
    };
    let record = LinkRecord {
        state: LinkState::Done,
        answer: Some(serde_json::value::to_raw_value(&answer).map_err(ApiError::internal)?),
        certify: req.certify,
        certify_callback: req.certify_callback,
        manual_verification: req.manual_verification,
        manual_verification_callback: req.manual_verification_callback,
        certification,
        certification_progress: req.certify.then_some(Progress::Processing),
        ..LinkRecord::processing(tenant, id, sha256)
    };
    VERIFICATIONS
        .replace(state.records.as_ref(), key, reserved, &record)
        .await?;
    if req.manual_verification {
        let boxes = |p: Option<&[idv_vision::Face]>| -> Vec<[f32; 4]> {
            p.unwrap_or_default()
                .iter()
                .map(|f| [f.x, f.y, f.width, f.height])
                .collect()
        };
        let doc_faces = match &v.reference_faces {
            Some(Ok(r)) => Some(r.faces.as_slice()),
            _ => None,
        };
        let selfie_faces = v.selfie_report().map(|s| s.faces.faces.as_slice());
        let images = kept
            .into_iter()
            .map(|(caption, bytes, img)| {
                let faces = match caption {
                    "Document front" => boxes(doc_faces),
                    "Selfie" => boxes(selfie_faces),
                    _ => Vec::new(),
                };
                (caption, bytes, img.dimensions(), faces)
            })
            .collect();
        idv_core::review::open_case(
            state.blobs.as_ref(),
            state.records.as_ref(),
            tenant,
            id,
            &v,
            images,
        )
        .await?;
    }
    // With a manual review the certificate states the reviewer's decision: it is queued
    // when the decision is made.
    if req.certify && !req.manual_verification {
        certify::enqueue(state, tenant, id).await?;
    }
    Ok((answer, receipt))
}

/// `GET /identity/verify/{id}` (beyond the seed): the request's answer, its certificate's
/// progress and the reviewer's decision once made.
#[utoipa::path(get, operation_id = "link_verification", path = "/identity/verify/{id}", tag = "LINK", security(("bearer" = [])), params(("id" = String, Path, description = "The request id")), responses((status = 200, description = "Where the request is", body = wire::VerificationState), (status = 404, description = "No such request; no body")))]
pub async fn verification(
    State(state): State<Services>,
    Bearer(tenant, ..): Bearer<AutoVerification>,
    IdPath(id): IdPath,
) -> Result<Json<wire::VerificationState>, LinkError> {
    let key = format!("{}/{id}", tenant.0);
    let rec = VERIFICATIONS
        .get(state.records.as_ref(), &key)
        .await?
        .filter(|r| r.value.deleted_at.is_none())
        .ok_or_else(|| LinkError::from(ApiError::not_found("verification")))?
        .value;
    Ok(Json(wire::VerificationState {
        state: rec.state,
        answer: rec.answer,
        certification: rec.certification_progress,
        manual_verification: rec
            .manual
            .as_ref()
            .map(|o| idv_core::review::ManualCallback::new(&id, o).data),
        id,
    }))
}

/// `GET /certificate/{id}` → `{id, content}` once the certificate exists.
#[utoipa::path(get, operation_id = "link_certificate", path = "/certificate/{id}", tag = "LINK", security(("bearer" = [])), params(("id" = String, Path, description = "The request id")), responses((status = 200, description = "The signed PDF, base64", body = wire::CertificateFile), (status = 404, description = "Not issued (yet); no body")))]
pub async fn certificate(
    State(state): State<Services>,
    Bearer(tenant, ..): Bearer<Certification>,
    IdPath(id): IdPath,
) -> Result<Json<CertificateFile>, LinkError> {
    let key = format!("{}/{id}", tenant.0);
    let not_found = || LinkError::from(ApiError::not_found("certificate"));
    let rec = VERIFICATIONS.get(state.records.as_ref(), &key).await?;
    let cert_key = rec
        .and_then(|r| r.value.certificate_key)
        .ok_or_else(not_found)?;
    let pdf = state.blobs.get(&cert_key).await?.ok_or_else(not_found)?;
    idv_core::audit::record(
        state.records.as_ref(),
        &tenant.0,
        "link",
        "certificate.download",
        Some(&id),
    )
    .await?;
    Ok(Json(CertificateFile {
        id,
        content: base64::engine::general_purpose::STANDARD.encode(pdf),
    }))
}

/// The LINK routes, with its charset.
fn routes() -> utoipa_axum::router::OpenApiRouter<Services> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(token))
        .routes(utoipa_axum::routes!(ping, ping_get))
        .routes(utoipa_axum::routes!(verify))
        .routes(utoipa_axum::routes!(verification))
        .routes(utoipa_axum::routes!(certificate))
        .route_layer(axum::middleware::map_response(charset))
}

/// The LINK API: its routes (with its charset), its lifecycle and its certification job.
pub fn api() -> super::Api {
    super::Api {
        dialect: std::sync::Arc::new(lifecycle::Link),
        routes,
        jobs: vec![std::sync::Arc::new(certify::CertifyJob)],
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::extract::Request;
    use tower::ServiceExt;

    #[tokio::test]
    async fn ids_that_cannot_name_storage_are_refused_before_anything_is_kept() {
        let dir = std::env::temp_dir().join(format!("idv-link-id-{}", std::process::id()));
        let state = crate::dialects::for_tests(&dir);
        let t = idv_core::accounts::create_tenant(state.records.as_ref(), "acme", None)
            .await
            .unwrap();
        let app = crate::router(state.clone());
        let login = serde_json::json!({"user": t.link_user, "password": t.link_password});
        let req = Request::post("/auth/token")
            .header("content-type", "application/json")
            .body(Body::from(login.to_string()))
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let token: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let token = token["token"].as_str().unwrap().to_string();
        for id in ["a b", "a/b", "..", &"x".repeat(129)] {
            let body = serde_json::json!({
                "id": id, "manualVerification": true,
                "images": [{"content": "aGk="}],
            });
            let req = Request::post("/identity/verify")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::from(body.to_string()))
                .unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), 400, "{id}");
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(v["code"], "003", "{id}: {v}");
            assert!(v["message"].as_str().unwrap().contains("id:"), "{id}: {v}");
        }
        let kept = super::records::VERIFICATIONS
            .list(state.records.as_ref(), "")
            .await
            .unwrap();
        assert!(kept.is_empty(), "{} records kept", kept.len());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn token_requests_that_do_not_parse_get_links_envelope() {
        let dir = std::env::temp_dir().join(format!("idv-link-token-{}", std::process::id()));
        let app = crate::router(crate::dialects::for_tests(&dir));
        for (ct, body) in [
            ("application/json", "{not json"),
            ("application/json", "[]"),
            ("application/json", r#"{"user": 1}"#),
            ("application/json", ""),
            ("text/plain", "user=a"),
        ] {
            let req = Request::post("/auth/token")
                .header("content-type", ct)
                .body(Body::from(body))
                .unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), 400, "{body}");
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(v["code"], "003", "{body}: {v}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
