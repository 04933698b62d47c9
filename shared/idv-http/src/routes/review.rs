//! The reviewer console and its API: sign-in, the queue of open cases, claims, a case with
//! its images, and decisions.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use idv_core::credentials::{Claims, sign_jwt, verify_jwt};
use idv_core::records::{AutomaticResult, CASES, CaseStatus, ExtractedData, ReviewOutcome};
use idv_core::review::{
    ACCEPTANCE_REASONS, AUTHENTICITY_REASONS, DecisionBody, FACE_REASONS, LEASE_SECONDS,
    ManualCallback, ORIGINALITY_REASONS, VALIDITY_REASONS, load, load_open, now, save,
};
use idv_core::{ErrorCode, Services, signin};
use serde::{Deserialize, Serialize};

use crate::body::JsonBody;
use crate::error::ApiError;

/// The signed-in reviewer of a request (from the `idv_review` session cookie): their tenant
/// and name.
pub struct Reviewer {
    pub tenant: String,
    pub name: String,
}

impl FromRequestParts<Services> for Reviewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Services) -> Result<Self, ApiError> {
        let (tenant, name, issued) = reviewer(state, &parts.headers)?;
        // A session outlives nothing: a reviewer disabled or signed out since is refused.
        let key = format!("reviewer:{name}");
        match idv_core::records::CREDENTIALS
            .get(state.records.as_ref(), &key)
            .await?
        {
            Some(c)
                if !c.value.disabled
                    && c.value.tenant == tenant
                    && c.value.signed_out_at_ms.is_none_or(|out| issued > out) =>
            {
                signin::active(state, &tenant).await?;
                Ok(Reviewer { tenant, name })
            }
            _ => Err(ApiError::unauthorized()),
        }
    }
}

/// The tenant, reviewer name and issue time (Unix ms) of a request's session cookie.
fn reviewer(state: &Services, h: &HeaderMap) -> Result<(String, String, u64), ApiError> {
    let token = h
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("idv_review="))
        .ok_or_else(ApiError::unauthorized)?;
    let c = verify_jwt(&state.config.token_secret, token).ok_or_else(ApiError::unauthorized)?;
    if c.exp <= now() || !c.scopes.iter().any(|s| s == "review") {
        return Err(ApiError::unauthorized());
    }
    let name = c
        .scopes
        .iter()
        .find_map(|s| s.strip_prefix("reviewer:"))
        .unwrap_or_default()
        .to_string();
    Ok((c.sub, name, c.iat_ms.unwrap_or(0)))
}

/// `POST /review/login` body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct Login {
    user: String,
    password: String,
}

/// `POST /review/login` answer (with the session cookie).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Session {
    pub reviewer: String,
}

/// `POST /review/login` → session cookie (8 hours).
#[utoipa::path(post, operation_id = "review_login", path = "/review/login", tag = "Review", request_body = Login, responses((status = 200, description = "Signed in; the session cookie is set", body = Session)))]
pub async fn login(
    State(state): State<Services>,
    headers: HeaderMap,
    JsonBody(l): JsonBody<Login>,
) -> Result<Response, ApiError> {
    let tenant =
        signin::check_reviewer(&state, crate::extract::client(), &l.user, &l.password).await?;
    let actor = format!("reviewer:{}", l.user);
    idv_core::audit::record(
        state.records.as_ref(),
        &tenant.0,
        &actor,
        "reviewer.login",
        None,
    )
    .await?;
    let claims = Claims {
        sub: tenant.0,
        scopes: vec!["review".into(), format!("reviewer:{}", l.user)],
        exp: now() + 8 * 3600,
        iat_ms: Some(idv_store::now_ms()),
    };
    let jwt = sign_jwt(&state.config.token_secret, &claims);
    let cookie = format!(
        "idv_review={jwt}; HttpOnly; SameSite=Strict; Path=/review; Max-Age=28800{}",
        secure(&headers)
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(Session { reviewer: l.user }),
    )
        .into_response())
}

/// `; Secure` when the request reached idv through TLS (a proxy saying so in
/// `X-Forwarded-Proto` or `Forwarded`): the browser then never sends the cookie in clear.
fn secure(h: &HeaderMap) -> &'static str {
    let said = |name: &str, find: &dyn Fn(&str) -> bool| {
        h.get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| find(&v.to_ascii_lowercase()))
    };
    let tls = said("x-forwarded-proto", &|v| {
        v.split(',').next().is_some_and(|p| p.trim() == "https")
    }) || said("forwarded", &|v| {
        v.split([';', ',']).any(|p| p.trim() == "proto=https")
    });
    if tls { "; Secure" } else { "" }
}

/// `POST /review/logout` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SignedOut {
    /// Always `true`: whatever the cookie was, no session of it is left.
    pub signed_out: bool,
}

/// `POST /review/logout`: ends the reviewer's sessions (every session they hold, on every
/// device) and clears the cookie. Answers 200 whether or not a session was valid.
#[utoipa::path(post, operation_id = "review_logout", path = "/review/logout", tag = "Review", responses((status = 200, description = "Signed out; the session cookie is cleared", body = SignedOut)))]
pub async fn logout(
    State(state): State<Services>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Ok((tenant, name, _)) = reviewer(&state, &headers) {
        let records = state.records.as_ref();
        let key = format!("reviewer:{name}");
        let out = idv_core::records::CREDENTIALS
            .update(records, &key, |c| {
                if c.tenant != tenant {
                    return false;
                }
                c.signed_out_at_ms = Some(idv_store::now_ms());
                true
            })
            .await?;
        if out.is_some() {
            idv_core::audit::record(records, &tenant, &key, "reviewer.logout", None).await?;
        }
    }
    let cookie = format!(
        "idv_review=; HttpOnly; SameSite=Strict; Path=/review; Max-Age=0{}",
        secure(&headers)
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(SignedOut { signed_out: true }),
    )
        .into_response())
}

/// One open case in the queue.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseSummary {
    pub id: String,
    pub received_at: String,
    /// The automatic outcome.
    pub automatic: String,
    /// Who holds the claim, if anyone does.
    pub claimed_by: Option<String>,
    /// Whether the signed-in reviewer holds it.
    pub mine: bool,
}

/// `GET /review/api/cases` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseQueue {
    pub reviewer: String,
    pub cases: Vec<CaseSummary>,
}

/// `GET /review/api/cases`: the tenant's open cases.
#[utoipa::path(get, operation_id = "list_cases", path = "/review/api/cases", tag = "Review", security(("review_session" = [])), responses((status = 200, description = "The open cases", body = CaseQueue)))]
pub async fn list(
    State(state): State<Services>,
    Reviewer { tenant, name: me }: Reviewer,
) -> Result<Json<CaseQueue>, ApiError> {
    let now = now();
    let cases = CASES
        .list(state.records.as_ref(), &format!("{tenant}/"))
        .await?
        .into_iter()
        .map(|(_, c)| c)
        .filter(|c| c.status != CaseStatus::Decided)
        .map(|c| {
            let held = c.held_by(None, now);
            CaseSummary {
                mine: c.held_by(Some(&me), now),
                claimed_by: if held { c.claimed_by } else { None },
                id: c.id,
                received_at: c.received_at,
                automatic: c.automatic.outcome,
            }
        })
        .collect();
    Ok(Json(CaseQueue {
        reviewer: me,
        cases,
    }))
}

/// `POST /review/api/cases/{id}/claim` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Claimed {
    pub id: String,
    pub claimed_by: String,
    /// Unix seconds until which the claim holds.
    pub lease_until: u64,
}

/// `POST /review/api/cases/{id}/claim`: takes the case for `LEASE_SECONDS`; 409 if another
/// reviewer holds it.
#[utoipa::path(post, operation_id = "claim_case", path = "/review/api/cases/{id}/claim", tag = "Review", security(("review_session" = [])), params(("id" = String, Path)), responses((status = 200, description = "Claimed for 15 minutes", body = Claimed)))]
pub async fn claim(
    State(state): State<Services>,
    Reviewer { tenant, name: me }: Reviewer,
    Path(id): Path<String>,
) -> Result<Json<Claimed>, ApiError> {
    let rec = load_open(state.records.as_ref(), &tenant, &id).await?;
    let now = now();
    if rec.value.held_by(None, now) && !rec.value.held_by(Some(&me), now) {
        return Err(ApiError::new(
            ErrorCode::CaseClaimed,
            "another reviewer holds this case",
        ));
    }
    let mut c = rec.value;
    let lease_until = now + LEASE_SECONDS;
    c.status = CaseStatus::Claimed;
    c.claimed_by = Some(me.clone());
    c.lease_until = Some(lease_until);
    save(
        state.records.as_ref(),
        &tenant,
        &id,
        rec.version,
        &c,
        || idv_core::Error::new(ErrorCode::CaseClaimed, "another reviewer took this case"),
    )
    .await?;
    let actor = format!("reviewer:{me}");
    idv_core::audit::record(
        state.records.as_ref(),
        &tenant,
        &actor,
        "case.claim",
        Some(&id),
    )
    .await?;
    Ok(Json(Claimed {
        id,
        claimed_by: me,
        lease_until,
    }))
}

/// One image of a case as the console shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImageView {
    pub caption: String,
    /// `GET` it with the session cookie.
    pub url: String,
    pub width: u32,
    pub height: u32,
    pub faces: Vec<[f32; 4]>,
}

/// The reason codes a decision may give, per finding.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Reasons {
    pub acceptance: &'static [&'static str],
    pub authenticity: &'static [&'static str],
    pub originality: &'static [&'static str],
    pub validity: &'static [&'static str],
    pub face: &'static [&'static str],
}

/// `GET /review/api/cases/{id}` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub id: String,
    pub status: CaseStatus,
    pub received_at: String,
    pub images: Vec<ImageView>,
    pub automatic: AutomaticResult,
    #[serde(rename = "extractedData")]
    pub extracted_data: ExtractedData,
    pub claimed_by: Option<String>,
    pub lease_until: Option<u64>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub result: Option<ReviewOutcome>,
    pub reasons: Reasons,
}

/// `GET /review/api/cases/{id}`: everything the case page shows.
#[utoipa::path(get, operation_id = "get_case", path = "/review/api/cases/{id}", tag = "Review", security(("review_session" = [])), params(("id" = String, Path)), responses((status = 200, description = "A case", body = CaseView)))]
pub async fn show(
    State(state): State<Services>,
    Reviewer { tenant, name }: Reviewer,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    let c = load(state.records.as_ref(), &tenant, &id).await?.value;
    let actor = format!("reviewer:{name}");
    idv_core::audit::record(
        state.records.as_ref(),
        &tenant,
        &actor,
        "case.view",
        Some(&id),
    )
    .await?;
    let images = c
        .images
        .into_iter()
        .enumerate()
        .map(|(i, img)| ImageView {
            caption: img.caption,
            url: format!("/review/api/cases/{id}/images/{i}"),
            width: img.width,
            height: img.height,
            faces: img.faces,
        })
        .collect();
    Ok(Json(CaseView {
        id: c.id,
        status: c.status,
        received_at: c.received_at,
        images,
        automatic: c.automatic,
        extracted_data: c.extracted_data,
        claimed_by: c.claimed_by,
        lease_until: c.lease_until,
        decided_by: c.decided_by,
        decided_at: c.decided_at,
        result: c.result,
        reasons: Reasons {
            acceptance: ACCEPTANCE_REASONS,
            authenticity: AUTHENTICITY_REASONS,
            originality: ORIGINALITY_REASONS,
            validity: VALIDITY_REASONS,
            face: FACE_REASONS,
        },
    }))
}

/// `GET /review/api/cases/{id}/images/{n}`.
#[utoipa::path(get, operation_id = "case_image", path = "/review/api/cases/{id}/images/{n}", tag = "Review", security(("review_session" = [])), params(("id" = String, Path), ("n" = usize, Path)), responses((status = 200, description = "The image as received", content((ImageBytes = "image/jpeg"), (ImageBytes = "image/png"), (ImageBytes = "image/webp"), (ImageBytes = "image/bmp")))))]
pub async fn image(
    State(state): State<Services>,
    Reviewer { tenant, name }: Reviewer,
    Path((id, n)): Path<(String, usize)>,
) -> Result<Response, ApiError> {
    let c = load(state.records.as_ref(), &tenant, &id).await?.value;
    let (actor, target) = (format!("reviewer:{name}"), format!("{id}/images/{n}"));
    idv_core::audit::record(
        state.records.as_ref(),
        &tenant,
        &actor,
        "case.image",
        Some(&target),
    )
    .await?;
    let key = c
        .images
        .get(n)
        .map(|i| i.key.clone())
        .ok_or_else(|| ApiError::not_found("image"))?;
    let bytes = state
        .blobs
        .get(&key)
        .await?
        .ok_or_else(|| ApiError::not_found("image"))?;
    let ct = match idv_image::sniff_format(&bytes) {
        Some(image::ImageFormat::Png) => "image/png",
        Some(image::ImageFormat::WebP) => "image/webp",
        Some(image::ImageFormat::Bmp) => "image/bmp",
        _ => "image/jpeg",
    };
    Ok(([(header::CONTENT_TYPE, ct)], bytes).into_response())
}

/// An image's bytes as received (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct ImageBytes(Vec<u8>);
/// `POST /review/api/cases/{id}/decision`: records the decision (the reviewer must hold the
/// claim) and sends the `ManualIDVerification` callback.
#[utoipa::path(post, operation_id = "decide_case", path = "/review/api/cases/{id}/decision", tag = "Review", security(("review_session" = [])), params(("id" = String, Path)), request_body = DecisionBody, responses((status = 200, description = "Decided; the ManualIDVerification callback is on its way", body = ManualCallback)))]
pub async fn decide(
    State(state): State<Services>,
    Reviewer { tenant, name: me }: Reviewer,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<Json<ManualCallback>, ApiError> {
    Ok(Json(
        idv_core::review::decide(&state, &tenant, &me, &id, body).await?,
    ))
}

/// `GET /review`: the reviewer console.
#[utoipa::path(get, operation_id = "review_console", path = "/review", tag = "Review", responses((status = 200, description = "The reviewer console", content_type = "text/html", body = String)))]
pub async fn console() -> impl IntoResponse {
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )],
        Html(include_str!("review.html")),
    )
}

/// `GET /review/console.js`: the console's script (no inline script runs on its page).
#[utoipa::path(get, operation_id = "review_console_script", path = "/review/console.js", tag = "Review", responses((status = 200, description = "The console's script", content_type = "text/javascript", body = String)))]
pub async fn console_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("review.js"),
    )
}

/// `GET /review/console.css`: the console's style sheet.
#[utoipa::path(get, operation_id = "review_console_style", path = "/review/console.css", tag = "Review", responses((status = 200, description = "The console's style sheet", content_type = "text/css", body = String)))]
pub async fn console_css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("review.css"),
    )
}
