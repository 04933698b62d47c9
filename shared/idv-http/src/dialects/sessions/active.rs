//! Active liveness for a session: a random challenge (head turns in a random order, colours
//! flashed on the screen), then the clip the person recorded while following it, judged by
//! `idv_vision::active`. Reachable with the API key (`/v1/sessions/{id}/liveness/…`) and by
//! the page (`/s/{token}/liveness/…`).

use axum::Json;
use axum::extract::{Multipart, Path, State};
use idv_core::sessions::{IssuedChallenge, SESSIONS, Session};
use idv_core::{ErrorCode, Services};
use idv_image::Limits;
use idv_vision::active::{Challenge, Verdict};
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::{ApiKey, Authed};

/// Frames a clip holds at least and at most.
pub const FRAMES: std::ops::RangeInclusive<usize> = 10..=40;
/// Seconds a challenge may be answered after it ends.
const ANSWER_SECONDS: u64 = 60;

/// A challenge as the client follows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChallengeView {
    pub challenge_id: String,
    /// Look straight at the camera until then (ms after you start).
    pub neutral_ms: u32,
    /// The turns, each in its window (ms after you start).
    #[schema(value_type = Vec<Object>)]
    pub steps: Vec<idv_vision::active::Step>,
    /// Show each colour full screen in its window.
    #[schema(value_type = Vec<Object>)]
    pub colours: Vec<idv_vision::active::Flash>,
    pub expires_at: String,
}

/// The verdict on a clip.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClipVerdict {
    /// `pass` or `fail`.
    pub verdict: &'static str,
    /// `LIVENESS_CHALLENGE_NOT_FOLLOWED`, `LIVENESS_FLAT_SURFACE`, `LIVENESS_COLOUR_MISMATCH`,
    /// `LIVENESS_IDENTITY_CHANGED`, `LIVENESS_CHALLENGE_EXPIRED`, `LIVENESS_CHALLENGE_REUSED`.
    pub findings: Vec<&'static str>,
    /// What was measured (absent when the clip was refused before).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub measures: Option<idv_vision::active::Measures>,
}

fn refused(finding: &'static str) -> ClipVerdict {
    ClipVerdict {
        verdict: "fail",
        findings: vec![finding],
        measures: None,
    }
}

/// Issues a fresh challenge to the open session at `key` (the last one stops counting).
async fn issue(state: &Services, key: &str) -> Result<ChallengeView, ApiError> {
    let id = format!("chl_{}", uuid::Uuid::new_v4().simple());
    let random = uuid::Uuid::new_v4();
    let challenge: Challenge = idv_core::sessions::random_challenge(random.as_bytes());
    let now = idv_store::now_ms();
    let expires = now + challenge.duration_ms() as u64 + ANSWER_SECONDS * 1000;
    let issued = IssuedChallenge {
        id: id.clone(),
        challenge: challenge.clone(),
        expires_at_ms: expires,
        used: false,
    };
    let done = SESSIONS
        .update(state.records.as_ref(), key, |s| {
            let open = s.status_at(now).open();
            if open {
                s.challenge = Some(issued.clone());
            }
            open
        })
        .await?;
    if done.is_none() {
        return Err(super::closed());
    }
    Ok(ChallengeView {
        challenge_id: id,
        neutral_ms: challenge.neutral_ms,
        steps: challenge.steps,
        colours: challenge.flashes,
        expires_at: idv_core::clock::timestamp_at(expires),
    })
}

/// Reads a clip: `challenge_id`, `frames` (JPEG, repeated, in order) and `timestamps` (a JSON
/// array of ms since the challenge started, one per frame).
async fn read_clip(mut form: Multipart) -> Result<(String, Vec<Vec<u8>>, Vec<u32>), ApiError> {
    let invalid = |m: &str| ApiError::new(ErrorCode::InvalidField, m.to_string());
    let (mut id, mut frames, mut times) = (None, Vec::new(), None);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::new(ErrorCode::InvalidMultipart, e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| ApiError::new(ErrorCode::InvalidMultipart, e.body_text()))?;
        match name.as_str() {
            "challenge_id" => id = Some(String::from_utf8_lossy(&bytes).trim().to_string()),
            "frames" if frames.len() < *FRAMES.end() => frames.push(bytes.to_vec()),
            "frames" => return Err(invalid("a clip has at most 40 frames")),
            "timestamps" => {
                times = Some(
                    serde_json::from_slice::<Vec<u32>>(&bytes)
                        .map_err(|_| invalid("timestamps is a JSON array of milliseconds"))?,
                )
            }
            _ => return Err(invalid("fields are challenge_id, frames and timestamps")),
        }
    }
    let id = id.ok_or_else(|| ApiError::new(ErrorCode::MissingField, "challenge_id is missing"))?;
    let times =
        times.ok_or_else(|| ApiError::new(ErrorCode::MissingField, "timestamps is missing"))?;
    if !FRAMES.contains(&frames.len()) {
        return Err(invalid("a clip has 10 to 40 frames"));
    }
    if times.len() != frames.len() || times.windows(2).any(|w| w[1] <= w[0]) {
        return Err(invalid("timestamps: one per frame, in increasing order"));
    }
    Ok((id, frames, times))
}

/// Judges a clip for the session at `key`; a passing clip's first frame becomes its selfie.
async fn judge(state: &Services, key: &str, form: Multipart) -> Result<ClipVerdict, ApiError> {
    let records = state.records.as_ref();
    let (id, frames, times) = read_clip(form).await?;
    let now = idv_store::now_ms();
    let session = SESSIONS
        .get(records, key)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    if !session.value.status_at(now).open() {
        return Err(super::closed());
    }
    let Some(issued) = session.value.challenge.clone().filter(|c| c.id == id) else {
        // Not the challenge in force: an old one, or one never issued here.
        return Ok(refused("LIVENESS_CHALLENGE_REUSED"));
    };
    if issued.used {
        return Ok(refused("LIVENESS_CHALLENGE_REUSED"));
    }
    if now > issued.expires_at_ms {
        return Ok(refused("LIVENESS_CHALLENGE_EXPIRED"));
    }
    // Used from here, whatever the clip shows: a challenge answers once.
    let claimed = SESSIONS
        .update(records, key, |s: &mut Session| {
            match s.challenge.as_mut().filter(|c| c.id == id && !c.used) {
                Some(c) => {
                    c.used = true;
                    true
                }
                None => false,
            }
        })
        .await?;
    if claimed.is_none() {
        return Ok(refused("LIVENESS_CHALLENGE_REUSED"));
    }
    let first = frames[0].clone();
    let mut decoded = Vec::with_capacity(frames.len());
    for (t, bytes) in times.iter().zip(frames) {
        let (_, img) = idv_core::images::decode("frames", bytes, Limits::SELFIE).await?;
        decoded.push((*t, img));
    }
    let (_turn, slot) = crate::turn::running(state, None).await?;
    let v: Verdict = state
        .active_liveness(&slot, issued.challenge, decoded)
        .await?;
    let verdict = ClipVerdict {
        verdict: if v.pass { "pass" } else { "fail" },
        findings: v.findings.iter().map(|f| f.code()).collect(),
        measures: Some(v.measures),
    };
    let selfie = format!("{key}/active/{id}.jpg");
    if v.pass {
        state
            .blobs
            .put(
                &idv_store::BlobKey::temporary(&selfie)?,
                first,
                "image/jpeg",
            )
            .await?;
    }
    let stored = serde_json::to_value(&verdict).map_err(idv_core::Error::internal)?;
    SESSIONS
        .update(records, key, |s| {
            s.active = Some(stored.clone());
            if v.pass {
                s.images.insert("selfie".into(), selfie.clone());
                s.status = idv_core::sessions::Status::InProgress;
            }
            true
        })
        .await?;
    Ok(verdict)
}

/// The `TENANT/ID` key of the open page-link `token`'s session.
async fn by_token(state: &Services, token: &str) -> Result<String, ApiError> {
    Ok(idv_core::sessions::by_token(state.records.as_ref(), token)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?
        .0)
}

/// The `TENANT/ID` key of session `id` of `tenant`, if it exists.
async fn by_id(state: &Services, tenant: &str, id: &str) -> Result<String, ApiError> {
    let key = format!("{tenant}/{id}");
    SESSIONS
        .get(state.records.as_ref(), &key)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    Ok(key)
}

/// `POST /v1/sessions/{id}/liveness/challenge`: a fresh challenge (single use).
#[utoipa::path(post, operation_id = "session_liveness_challenge", path = "/v1/sessions/{id}/liveness/challenge", tag = "Sessions", security(("x_api_key" = [])), params(("id" = String, Path, description = "The session id")), responses((status = 200, description = "The challenge to follow", body = ChallengeView)))]
pub async fn challenge(
    State(state): State<Services>,
    Authed(tenant, ..): Authed<ApiKey>,
    Path(id): Path<String>,
) -> Result<Json<ChallengeView>, ApiError> {
    let key = by_id(&state, &tenant.0, &id).await?;
    Ok(Json(issue(&state, &key).await?))
}

/// `POST /v1/sessions/{id}/liveness/frames`: the clip recorded while following the challenge
/// (multipart: `challenge_id`; `frames`, one JPEG per part, 10 to 40, in order; `timestamps`,
/// a JSON array of ms since the challenge started).
#[utoipa::path(post, operation_id = "session_liveness_frames", path = "/v1/sessions/{id}/liveness/frames", tag = "Sessions", security(("x_api_key" = [])), params(("id" = String, Path, description = "The session id")), request_body(content_type = "multipart/form-data", content = String), responses((status = 200, description = "The verdict and its findings", body = ClipVerdict)))]
pub async fn frames(
    State(state): State<Services>,
    Authed(tenant, ..): Authed<ApiKey>,
    Path(id): Path<String>,
    form: Multipart,
) -> Result<Json<ClipVerdict>, ApiError> {
    let key = by_id(&state, &tenant.0, &id).await?;
    Ok(Json(judge(&state, &key, form).await?))
}

/// `POST /s/{token}/liveness/challenge`: the page's challenge.
#[utoipa::path(post, operation_id = "session_page_liveness_challenge", path = "/s/{token}/liveness/challenge", tag = "Sessions", params(("token" = String, Path, description = "The page link's token")), responses((status = 200, description = "The challenge to follow", body = ChallengeView)))]
pub async fn page_challenge(
    State(state): State<Services>,
    Path(token): Path<String>,
) -> Result<Json<ChallengeView>, ApiError> {
    let key = by_token(&state, &token).await?;
    Ok(Json(issue(&state, &key).await?))
}

/// `POST /s/{token}/liveness/frames`: the page's clip.
#[utoipa::path(post, operation_id = "session_page_liveness_frames", path = "/s/{token}/liveness/frames", tag = "Sessions", params(("token" = String, Path, description = "The page link's token")), request_body(content_type = "multipart/form-data", content = String), responses((status = 200, description = "The verdict and its findings", body = ClipVerdict)))]
pub async fn page_frames(
    State(state): State<Services>,
    Path(token): Path<String>,
    form: Multipart,
) -> Result<Json<ClipVerdict>, ApiError> {
    let key = by_token(&state, &token).await?;
    Ok(Json(judge(&state, &key, form).await?))
}
