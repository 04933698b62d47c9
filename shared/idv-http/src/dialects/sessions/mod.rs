//! Hosted verification sessions: the business creates one with its API key and sends its user
//! the link; the user's phone opens idv's page at `/s/{token}`, photographs the document and
//! takes a selfie (each shot looked at by the server, retaken when it cannot be used), and the
//! verification runs on the `sessions` queue; `session.completed` goes to the callback URL.

mod active;
mod jobs;
mod lifecycle;
pub mod wire;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use idv_core::sessions::{SESSION_LINKS, SESSIONS, Session, SessionLink, Status};
use idv_core::{ErrorCode, Services};
use idv_image::Limits;

use crate::body::JsonBody;
use crate::error::ApiError;
use crate::extract::{ApiKey, Authed};
use wire::{CreateSession, PageImage, PageState, PageUpload, SessionView, Shot};

/// The images a session takes.
const IMAGES: [&str; 3] = ["document", "document_back", "selfie"];

/// The scheme and host the caller reached idv by (a TLS proxy's `X-Forwarded-Proto` and
/// `X-Forwarded-Host` first): the base of the page's link.
fn public_base(h: &HeaderMap) -> String {
    let get = |n: &str| {
        h.get(n)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or("").trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let proto = get("x-forwarded-proto").unwrap_or_else(|| "http".into());
    let host = get("x-forwarded-host")
        .or_else(|| get("host"))
        .unwrap_or_else(|| "localhost".into());
    format!("{proto}://{host}")
}

/// 409 `SESSION_CLOSED`.
fn closed() -> ApiError {
    ApiError::new(ErrorCode::SessionClosed, "this session is no longer open")
}

/// The engine's hint for the document type a user chose.
fn hint(document_type: Option<&str>) -> idv_document::Hint {
    match document_type {
        Some("passport") => idv_document::Hint::Passport,
        Some("drivers_license") => idv_document::Hint::DriversLicense,
        Some("id_card") => idv_document::Hint::NationalId,
        _ => idv_document::Hint::Auto,
    }
}

/// Refuses an image name the session does not take: not one of [`IMAGES`], or the selfie of
/// an active session (it comes from the liveness challenge).
fn check_image_name(s: &Session, name: &str) -> Result<(), ApiError> {
    if !IMAGES.contains(&name) {
        return Err(invalid("name must be document, document_back or selfie"));
    }
    if name == "selfie" && s.liveness == "active" {
        return Err(invalid(
            "this session's selfie comes from its liveness challenge (/liveness/challenge)",
        ));
    }
    Ok(())
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidField, message)
}

/// Where the page may send the user: https, or http to loopback where callbacks may be private.
fn check_redirect(url: &str, allow_private: bool) -> Result<(), ApiError> {
    let ok = url.len() <= 2048
        && (url.starts_with("https://")
            || (allow_private
                && ["http://127.0.0.1", "http://localhost", "http://[::1]"]
                    .iter()
                    .any(|p| url.starts_with(p))));
    match ok {
        true => Ok(()),
        false => Err(invalid("redirect_url must be an https URL")),
    }
}

/// `POST /v1/sessions`: a session and the link to send the user.
#[utoipa::path(post, operation_id = "create_session", path = "/v1/sessions", tag = "Sessions", security(("x_api_key" = [])), request_body = CreateSession, responses((status = 201, description = "The session; send `url` to your user", body = SessionView)))]
pub async fn create(
    State(state): State<Services>,
    Authed(tenant, ..): Authed<ApiKey>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<CreateSession>,
) -> Result<Response, ApiError> {
    if req
        .reference
        .as_ref()
        .is_some_and(|r| r.chars().count() > 200)
    {
        return Err(invalid("reference is at most 200 characters"));
    }
    if let Some(url) = &req.redirect_url {
        check_redirect(url, state.config.allow_private_callbacks)?;
    }
    idv_core::callbacks::check_requested(
        state.config.allow_private_callbacks,
        req.callback_url.as_deref(),
    )
    .await?;
    let document_types = match req.document_types {
        None => wire::DOCUMENT_TYPES.iter().map(|t| t.to_string()).collect(),
        Some(t) if t.is_empty() => return Err(invalid("document_types is empty")),
        Some(t) => {
            if let Some(bad) = t
                .iter()
                .find(|t| !wire::DOCUMENT_TYPES.contains(&t.as_str()))
            {
                return Err(invalid(format!(
                    "document_types: {bad:?} is not passport, id_card or drivers_license"
                )));
            }
            t
        }
    };
    let liveness = match req.liveness.as_deref() {
        None | Some("passive") => "passive",
        Some("active") => "active",
        Some(_) => return Err(invalid("liveness must be \"passive\" or \"active\"")),
    };
    if let Some(l) = &req.locale
        && !wire::LOCALES.contains(&l.as_str())
    {
        return Err(invalid("locale must be en or fr"));
    }
    let expires_in = req.expires_in.unwrap_or(86_400);
    if !(1..=7 * 86_400).contains(&expires_in) {
        return Err(invalid("expires_in is 1 to 604800 seconds"));
    }
    let records = state.records.as_ref();
    let id = format!("ses_{}", uuid::Uuid::new_v4().simple());
    let token = idv_core::sessions::token();
    let link = idv_core::sessions::link_of(&token);
    let now = idv_store::now_ms();
    let session = Session {
        created_at: idv_core::clock::timestamp_at(now),
        expires_at_ms: now + expires_in * 1000,
        reference: req.reference,
        redirect_url: req.redirect_url,
        callback_url: req.callback_url.filter(|u| !u.trim().is_empty()),
        document_types,
        liveness: liveness.into(),
        locale: req.locale,
        status: Status::Created,
        link: link.clone(),
        document_type: None,
        images: Default::default(),
        inputs: Vec::new(),
        result: None,
        completed_at: None,
        last_error: None,
        challenge: None,
        active: None,
    };
    let link_row = SessionLink {
        tenant: tenant.0.clone(),
        id: id.clone(),
    };
    SESSION_LINKS.insert(records, &link, &link_row).await?;
    SESSIONS
        .insert(records, &format!("{}/{id}", tenant.0), &session)
        .await?;
    idv_core::audit::record(records, &tenant.0, "api_key", "session.create", Some(&id)).await?;
    let mut view = SessionView::new(&id, &session, now);
    view.url = Some(format!("{}/s/{token}", public_base(&headers)));
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// The session `id` of `tenant`.
async fn load(
    state: &Services,
    tenant: &str,
    id: &str,
) -> Result<idv_core::records::Stored<Session>, ApiError> {
    SESSIONS
        .get(state.records.as_ref(), &format!("{tenant}/{id}"))
        .await?
        .ok_or_else(|| ApiError::not_found("session"))
}

/// `GET /v1/sessions/{id}`: where the session is, and its result once done.
#[utoipa::path(get, operation_id = "get_session", path = "/v1/sessions/{id}", tag = "Sessions", security(("x_api_key" = [])), params(("id" = String, Path, description = "The session id")), responses((status = 200, description = "The session", body = SessionView)))]
pub async fn show(
    State(state): State<Services>,
    Authed(tenant, ..): Authed<ApiKey>,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, ApiError> {
    let s = load(&state, &tenant.0, &id).await?;
    Ok(Json(SessionView::new(&id, &s.value, idv_store::now_ms())))
}

/// `POST /v1/sessions/{id}/cancel`: closes an open session (its link stops working).
#[utoipa::path(post, operation_id = "cancel_session", path = "/v1/sessions/{id}/cancel", tag = "Sessions", security(("x_api_key" = [])), params(("id" = String, Path, description = "The session id")), responses((status = 200, description = "Canceled", body = SessionView)))]
pub async fn cancel(
    State(state): State<Services>,
    Authed(tenant, ..): Authed<ApiKey>,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, ApiError> {
    let key = format!("{}/{id}", tenant.0);
    load(&state, &tenant.0, &id).await?;
    let now = idv_store::now_ms();
    let done = SESSIONS
        .update(state.records.as_ref(), &key, |s| {
            let open = s.status_at(now).open();
            if open {
                s.status = Status::Canceled;
            }
            open
        })
        .await?;
    let Some(s) = done else {
        return Err(closed());
    };
    idv_core::audit::record(
        state.records.as_ref(),
        &tenant.0,
        "api_key",
        "session.cancel",
        Some(&id),
    )
    .await?;
    Ok(Json(SessionView::new(&id, &s, now)))
}

/// The open session page-link `token` opens: its key and record, or 404 / 409.
async fn open_session(
    state: &Services,
    token: &str,
) -> Result<(String, idv_core::records::Stored<Session>), ApiError> {
    let (key, s) = idv_core::sessions::by_token(state.records.as_ref(), token)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    if !s.value.status_at(idv_store::now_ms()).open() {
        return Err(closed());
    }
    Ok((key, s))
}

/// `GET /s/{token}`: the capture page.
#[utoipa::path(get, operation_id = "session_page", path = "/s/{token}", tag = "Sessions", params(("token" = String, Path, description = "The page link's token")), responses((status = 200, description = "The capture page", content_type = "text/html", body = String)))]
pub async fn page(Path(_token): Path<String>) -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; \
                 media-src 'self' blob: mediastream:; connect-src 'self' https: http:; \
                 form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
            ),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::HeaderName::from_static("permissions-policy"),
                "camera=(self), microphone=()",
            ),
        ],
        Html(include_str!("page.html")),
    )
}

/// `GET /s/assets/page.js`: the page's script.
#[utoipa::path(get, operation_id = "session_page_script", path = "/s/assets/page.js", tag = "Sessions", responses((status = 200, description = "The page's script", content_type = "text/javascript", body = String)))]
pub async fn page_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("page.js"),
    )
}

/// `GET /s/assets/page.css`: the page's style sheet.
#[utoipa::path(get, operation_id = "session_page_style", path = "/s/assets/page.css", tag = "Sessions", responses((status = 200, description = "The page's style sheet", content_type = "text/css", body = String)))]
pub async fn page_css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("page.css"),
    )
}

/// `GET /s/{token}/state`: what the page shows (also for a closed session: its status).
#[utoipa::path(get, operation_id = "session_page_state", path = "/s/{token}/state", tag = "Sessions", params(("token" = String, Path, description = "The page link's token")), responses((status = 200, description = "The session as its page sees it", body = PageState)))]
pub async fn page_state(
    State(state): State<Services>,
    Path(token): Path<String>,
) -> Result<Json<PageState>, ApiError> {
    let (_, s) = idv_core::sessions::by_token(state.records.as_ref(), &token)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    Ok(Json(PageState::new(s.value, idv_store::now_ms())))
}

/// `GET /s/{token}/qr.svg`: the page's link as a QR code, for a user who opened it on a
/// computer to continue on their phone.
#[utoipa::path(get, operation_id = "session_page_qr", path = "/s/{token}/qr.svg", tag = "Sessions", params(("token" = String, Path, description = "The page link's token")), responses((status = 200, description = "The link as a QR code", content_type = "image/svg+xml", body = String)))]
pub async fn page_qr(
    State(state): State<Services>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    idv_core::sessions::by_token(state.records.as_ref(), &token)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    let url = format!("{}/s/{token}", public_base(&headers));
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ApiError::from(idv_core::Error::internal(e)))?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// `POST /s/{token}/uploads`: a presigned PUT for one of the session's images.
#[utoipa::path(post, operation_id = "session_page_upload", path = "/s/{token}/uploads", tag = "Sessions", params(("token" = String, Path, description = "The page link's token")), request_body = PageUpload, responses((status = 200, description = "A presigned PUT", body = crate::routes::uploads::Upload)))]
pub async fn page_upload(
    State(state): State<Services>,
    Path(token): Path<String>,
    JsonBody(req): JsonBody<PageUpload>,
) -> Result<Json<crate::routes::uploads::Upload>, ApiError> {
    let (key, s) = open_session(&state, &token).await?;
    check_image_name(&s.value, &req.name)?;
    if let Some(t) = &req.document_type {
        if !s.value.document_types.contains(t) {
            return Err(invalid("document_type is not one this session offers"));
        }
        SESSIONS
            .update(state.records.as_ref(), &key, |s| {
                let changed = s.document_type.as_ref() != Some(t);
                s.document_type = Some(t.clone());
                changed
            })
            .await?;
    }
    let ct = req.content_type.unwrap_or_else(|| "image/jpeg".into());
    let tenant = key.split('/').next().unwrap_or_default();
    let owner = idv_core::uploads::Owner::Session {
        key: &key,
        link: &s.value.link,
    };
    let (upload, p) = idv_core::uploads::issue(&state, tenant, owner, &ct).await?;
    Ok(Json(crate::routes::uploads::Upload {
        key: upload,
        url: p.url,
        method: p.method,
        headers: p.headers,
        expires_at: p.expires_at,
        max_bytes: idv_image::MAX_BYTES as u64,
    }))
}

/// `POST /s/{token}/images/{name}` `{key}`: the server looks at an uploaded shot; an image it
/// can use becomes the session's `name` image, else the page asks for a retake.
#[utoipa::path(post, operation_id = "session_page_image", path = "/s/{token}/images/{name}", tag = "Sessions", params(("token" = String, Path, description = "The page link's token"), ("name" = String, Path, description = "document, document_back or selfie")), request_body = PageImage, responses((status = 200, description = "Accepted, or what to retake", body = Shot)))]
pub async fn page_image(
    State(state): State<Services>,
    Path((token, name)): Path<(String, String)>,
    JsonBody(req): JsonBody<PageImage>,
) -> Result<Json<Shot>, ApiError> {
    let (key, s) = open_session(&state, &token).await?;
    check_image_name(&s.value, &name)?;
    let tenant = key.split('/').next().unwrap_or_default();
    // Only an upload this session's link asked for.
    let ours = idv_core::records::UPLOADS
        .get(state.records.as_ref(), &req.key)
        .await?
        .filter(|u| {
            req.key.starts_with(&format!("{tenant}/uploads/"))
                && u.value.credential == format!("session:{key}")
                && u.value.credential_digest == s.value.link
        });
    if ours.is_none() {
        return Err(ApiError::new(
            ErrorCode::UploadNotFound,
            "key is not an upload of this session",
        ));
    }
    let bytes = state.blobs.get(&req.key).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::UploadNotFound,
            "nothing was uploaded to this key",
        )
    })?;
    let problem = look(&state, &name, bytes, s.value.document_type.as_deref()).await?;
    if problem.is_none() {
        let now = idv_store::now_ms();
        let kept = SESSIONS
            .update(state.records.as_ref(), &key, |s| {
                if !s.status_at(now).open() {
                    return false;
                }
                s.images.insert(name.clone(), req.key.clone());
                s.status = Status::InProgress;
                true
            })
            .await?;
        if kept.is_none() {
            return Err(closed());
        }
    }
    Ok(Json(Shot {
        accepted: problem.is_none(),
        problem: problem.map(str::to_string),
    }))
}

/// What is wrong with shot `name`, if anything: the document must read (an MRZ, a barcode or
/// printed fields), the selfie must hold one face the liveness model can judge.
async fn look(
    state: &Services,
    name: &str,
    bytes: Vec<u8>,
    document_type: Option<&str>,
) -> Result<Option<&'static str>, ApiError> {
    let selfie = name == "selfie";
    let limits = if selfie {
        Limits::SELFIE
    } else {
        Limits::DOCUMENT
    };
    let Ok((_, img)) = idv_core::images::decode(name, bytes, limits).await else {
        return Ok(Some("IMAGE_UNREADABLE"));
    };
    let mut job = idv_core::services::OwnedInputs::new(idv_core::services::profile(None)?);
    job.document_hint = hint(document_type);
    if selfie {
        job.selfie = Some(img);
    } else {
        job.document = Some(img);
    }
    let (_turn, slot) = crate::turn::running(state, None).await?;
    let v = state.verify_in(&slot, job).await?;
    if selfie {
        let Some(report) = v.selfie_report() else {
            return Ok(Some("NO_FACE"));
        };
        return Ok(match (report.faces.faces.len(), report.capture) {
            (0, _) => Some("NO_FACE"),
            (_, Some(issue)) => Some(issue.code()),
            _ => None,
        });
    }
    let read = v.document_data().is_some_and(|d| {
        d.document_number.is_some() || d.last_name.is_some() || d.full_name.is_some()
    });
    // A back may carry only a barcode or nothing idv reads: it is kept as it is.
    Ok((!read && name == "document").then_some("DOCUMENT_NOT_READ"))
}

/// `POST /s/{token}/submit`: the images are in; the verification runs.
#[utoipa::path(post, operation_id = "session_page_submit", path = "/s/{token}/submit", tag = "Sessions", params(("token" = String, Path, description = "The page link's token")), responses((status = 202, description = "Queued; the page polls its state", body = PageState)))]
pub async fn page_submit(
    State(state): State<Services>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let (key, s) = open_session(&state, &token).await?;
    for needed in ["document", "selfie"] {
        if !s.value.images.contains_key(needed) {
            return Err(ApiError::new(
                ErrorCode::MissingField,
                format!("the {needed} image is missing"),
            ));
        }
    }
    let now = idv_store::now_ms();
    let queued = SESSIONS
        .update(state.records.as_ref(), &key, |s| {
            let open = s.status_at(now).open();
            if open {
                s.status = Status::Processing;
            }
            open
        })
        .await?;
    let Some(s) = queued else {
        return Err(closed());
    };
    let (tenant, id) = key.split_once('/').unwrap_or_default();
    let msg = idv_core::messages::encode(&idv_core::messages::SessionRun {
        tenant: tenant.to_string(),
        id: id.to_string(),
    });
    state
        .queue
        .send(idv_core::messages::SESSIONS_QUEUE, &msg)
        .await?;
    let view = PageState::new(s, now);
    Ok((StatusCode::ACCEPTED, Json(view)).into_response())
}

fn routes() -> utoipa_axum::router::OpenApiRouter<Services> {
    utoipa_axum::router::OpenApiRouter::new()
        .routes(utoipa_axum::routes!(create))
        .routes(utoipa_axum::routes!(show))
        .routes(utoipa_axum::routes!(cancel))
        .routes(utoipa_axum::routes!(page))
        .routes(utoipa_axum::routes!(page_js))
        .routes(utoipa_axum::routes!(page_css))
        .routes(utoipa_axum::routes!(page_state))
        .routes(utoipa_axum::routes!(page_qr))
        .routes(utoipa_axum::routes!(page_upload))
        .routes(utoipa_axum::routes!(page_image))
        .routes(utoipa_axum::routes!(page_submit))
        .routes(utoipa_axum::routes!(active::challenge))
        .routes(utoipa_axum::routes!(active::frames))
        .routes(utoipa_axum::routes!(active::page_challenge))
        .routes(utoipa_axum::routes!(active::page_frames))
}

/// The sessions API: its routes and page, its lifecycle, and the job that verifies.
pub fn api() -> super::Api {
    super::Api {
        dialect: std::sync::Arc::new(lifecycle::Sessions),
        routes,
        jobs: vec![std::sync::Arc::new(jobs::Verify)],
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use serde_json::{Value, json};
    use tower::ServiceExt;

    async fn send(app: &axum::Router, req: Request<Body>) -> (u16, Value) {
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn api(method: &str, uri: &str, key: &str, body: Option<Value>) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("x-api-key", key)
            .header("host", "idv.example")
            .header("x-forwarded-proto", "https")
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap()
    }

    fn page(method: &str, uri: &str, body: Option<Value>) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap()
    }

    #[tokio::test]
    async fn a_session_is_created_opened_canceled_and_erased() {
        let dir = std::env::temp_dir().join(format!("idv-sessions-{}", std::process::id()));
        let state = crate::dialects::for_tests(&dir);
        let records = state.records.as_ref();
        let a = idv_core::accounts::create_tenant(records, "a", None)
            .await
            .unwrap();
        let b = idv_core::accounts::create_tenant(records, "b", None)
            .await
            .unwrap();
        let app = crate::router(state.clone());

        for (body, why) in [
            (json!({"document_types": ["visa"]}), "document_types"),
            (json!({"document_types": []}), "empty"),
            (json!({"liveness": "blinking"}), "liveness"),
            (json!({"expires_in": 0}), "expires_in"),
            (json!({"reference": "x".repeat(201)}), "reference"),
            (json!({"redirect_url": "http://example.com/"}), "https"),
            (json!({"colour": "red"}), "unknown field"),
        ] {
            let (st, e) = send(&app, api("POST", "/v1/sessions", &a.api_key, Some(body))).await;
            assert_eq!(st, 400, "{why}: {e}");
            assert!(e["message"].as_str().unwrap().contains(why), "{why}: {e}");
        }

        let (st, s) = send(
            &app,
            api(
                "POST",
                "/v1/sessions",
                &a.api_key,
                Some(json!({"reference": "r-1", "document_types": ["passport"]})),
            ),
        )
        .await;
        assert_eq!(st, 201, "{s}");
        assert_eq!(s["status"], "created");
        let url = s["url"].as_str().unwrap();
        let token = url.strip_prefix("https://idv.example/s/").unwrap();
        assert_eq!(token.len(), 43);
        let id = s["id"].as_str().unwrap().to_string();

        // Another tenant does not see it; a made-up link opens nothing.
        let (st, _) = send(
            &app,
            api("GET", &format!("/v1/sessions/{id}"), &b.api_key, None),
        )
        .await;
        assert_eq!(st, 404);
        let (st, _) = send(
            &app,
            page("GET", &format!("/s/{}/state", "A".repeat(43)), None),
        )
        .await;
        assert_eq!(st, 404);

        // Its link as a QR code, for a computer to hand over to a phone.
        let res = app
            .clone()
            .oneshot(page("GET", &format!("/s/{token}/qr.svg"), None))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/svg+xml");
        let svg = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        assert!(svg.starts_with(b"<?xml") && svg.ends_with(b"</svg>"));
        let (st, _) = send(
            &app,
            page("GET", &format!("/s/{}/qr.svg", "B".repeat(43)), None),
        )
        .await;
        assert_eq!(st, 404);

        // The page's view.
        let (st, p) = send(&app, page("GET", &format!("/s/{token}/state"), None)).await;
        assert_eq!((st, &p["status"]), (200, &json!("created")), "{p}");
        assert_eq!(p["document_types"], json!(["passport"]));
        let (st, e) = send(&app, page("POST", &format!("/s/{token}/submit"), None)).await;
        assert_eq!((st, &e["code"]), (400, &json!("MISSING_FIELD")), "{e}");

        // An upload URL for the page, refused once the session is canceled.
        let (st, up) = send(
            &app,
            page(
                "POST",
                &format!("/s/{token}/uploads"),
                Some(json!({"name": "document", "document_type": "passport"})),
            ),
        )
        .await;
        assert_eq!(st, 200, "{up}");
        let upload = up["key"].as_str().unwrap().to_string();
        assert!(upload.starts_with(&format!("{}/uploads/", a.tenant)));
        let (st, c) = send(
            &app,
            api(
                "POST",
                &format!("/v1/sessions/{id}/cancel"),
                &a.api_key,
                None,
            ),
        )
        .await;
        assert_eq!((st, &c["status"]), (200, &json!("canceled")), "{c}");
        let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0];
        let put = idv_core::uploads::receive(&state, &upload, "image/jpeg", jpeg).await;
        assert_eq!(put.unwrap_err().code, idv_core::ErrorCode::UploadRefused);
        let (st, e) = send(
            &app,
            api(
                "POST",
                &format!("/v1/sessions/{id}/cancel"),
                &a.api_key,
                None,
            ),
        )
        .await;
        assert_eq!((st, &e["code"]), (409, &json!("SESSION_CLOSED")), "{e}");
        let (st, e) = send(
            &app,
            page(
                "POST",
                &format!("/s/{token}/uploads"),
                Some(json!({"name": "selfie"})),
            ),
        )
        .await;
        assert_eq!((st, &e["code"]), (409, &json!("SESSION_CLOSED")), "{e}");

        // An expired session says so, to the business and to the page.
        let (_, s2) = send(
            &app,
            api(
                "POST",
                "/v1/sessions",
                &a.api_key,
                Some(json!({"expires_in": 1})),
            ),
        )
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let id2 = s2["id"].as_str().unwrap();
        let (_, v) = send(
            &app,
            api("GET", &format!("/v1/sessions/{id2}"), &a.api_key, None),
        )
        .await;
        assert_eq!(v["status"], "expired", "{v}");

        // Erased as a verification: the record and its link go, a tombstone stays.
        let (st, e) = send(
            &app,
            api(
                "DELETE",
                &format!("/v1/verifications/{id}"),
                &a.api_key,
                None,
            ),
        )
        .await;
        assert_eq!(st, 200, "{e}");
        assert_eq!(e["dialect"], "sessions", "{e}");
        let (st, _) = send(
            &app,
            api("GET", &format!("/v1/sessions/{id}"), &a.api_key, None),
        )
        .await;
        assert_eq!(st, 404);
        let (st, _) = send(&app, page("GET", &format!("/s/{token}/state"), None)).await;
        assert_eq!(st, 404);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
