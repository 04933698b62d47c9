//! The admin API of a running `idv serve`: tenants and reviewers managed without a restart.
//! While a server runs, its process holds the embedded database; `idv tenant …` and
//! `idv reviewer …` then ask the server (the address it wrote to `DATA/server.json`, the admin
//! token in `DATA/secrets/admin-token`) instead of opening the file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use axum::extract::Path as UrlPath;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use idv_core::{ErrorCode, Services};
use idv_http::ApiError;
use idv_http::body::JsonBody;
use serde::{Deserialize, Serialize};

/// Where a running server announces its admin address, in the data directory.
const SERVER_FILE: &str = "server.json";

/// The admin token of `data` (created on first use, mode 0600): a secret of its own, never a
/// tenant credential.
pub fn token(data: &Path) -> Result<String> {
    Ok(hex::encode(crate::datadir::secret(data, "admin-token")?))
}

/// What `DATA/server.json` holds.
#[derive(Serialize, Deserialize)]
struct Announced {
    admin_url: String,
    pid: u32,
}

/// Writes `DATA/server.json` for the server listening on `addr`; the returned guard removes it
/// when the server stops.
pub fn announce(data: &Path, addr: std::net::SocketAddr) -> Result<Announcement> {
    // A server bound to every address is reached on loopback.
    let ip = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => std::net::Ipv4Addr::LOCALHOST.into(),
        ip if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    let url = format!("http://{}", std::net::SocketAddr::new(ip, addr.port()));
    let path = data.join(SERVER_FILE);
    let text = serde_json::to_string(&Announced {
        admin_url: url,
        pid: std::process::id(),
    })?;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Announcement(path))
}

/// Removes `DATA/server.json` when dropped.
pub struct Announcement(PathBuf);

impl Drop for Announcement {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The admin routes, behind `Authorization: Bearer TOKEN`.
pub fn routes(state: Services, token: String) -> Router {
    Router::new()
        .route("/admin/v1/tenants", post(create_tenant).get(list_tenants))
        .route(
            "/admin/v1/tenants/{id}",
            get(show_tenant).delete(delete_tenant),
        )
        .route("/admin/v1/tenants/{id}/disable", post(disable_tenant))
        .route("/admin/v1/tenants/{id}/enable", post(enable_tenant))
        .route(
            "/admin/v1/tenants/{id}/retention",
            axum::routing::put(set_retention),
        )
        .route("/admin/v1/tenants/{id}/rotate", post(rotate))
        .route("/admin/v1/sweep", post(sweep))
        .route("/admin/v1/audit", get(operator_audit))
        .route(
            "/admin/v1/reviewers",
            post(create_reviewer).get(list_reviewers),
        )
        .route("/admin/v1/reviewers/{user}/disable", post(disable_reviewer))
        .layer(axum::middleware::from_fn(
            move |headers: HeaderMap, req, next: axum::middleware::Next| {
                let allowed = bearer_matches(&headers, &token);
                async move {
                    if allowed {
                        next.run(req).await
                    } else {
                        ApiError::unauthorized().into_response()
                    }
                }
            },
        ))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTenantRequest {
    name: String,
    callback_url: Option<String>,
}

/// A name an operator gives: 1–100 characters, no control characters.
fn check_name(name: &str) -> Result<&str, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::new(
            ErrorCode::InvalidField,
            "name: 1 to 100 characters, no control characters",
        ));
    }
    Ok(name)
}

async fn create_tenant(
    State(state): State<Services>,
    JsonBody(req): JsonBody<NewTenantRequest>,
) -> Result<Response, ApiError> {
    let name = check_name(&req.name)?;
    idv_core::callbacks::check_requested(&state, req.callback_url.as_deref()).await?;
    let t = idv_core::accounts::create_tenant(
        state.records.as_ref(),
        name,
        req.callback_url.as_deref(),
    )
    .await?;
    tracing::info!(tenant = %t.tenant, "tenant created (admin API)");
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

/// A tenant as listed: no secrets.
#[derive(Serialize)]
pub struct TenantSummary {
    tenant: String,
    name: String,
    callback_url: Option<String>,
    disabled: bool,
}

/// Every tenant, as listed.
pub async fn tenant_list(
    records: &dyn idv_store::RecordStore,
) -> Result<serde_json::Value, ApiError> {
    let tenants = idv_core::records::TENANTS
        .list(records, "")
        .await?
        .into_iter()
        .map(|(_, t)| TenantSummary {
            tenant: t.id,
            name: t.name,
            callback_url: t.callback_url,
            disabled: t.disabled,
        })
        .collect::<Vec<_>>();
    Ok(serde_json::json!({ "tenants": tenants }))
}

/// A tenant as shown: no secrets, with its retention periods.
pub async fn tenant_view(
    records: &dyn idv_store::RecordStore,
    id: &str,
) -> Result<serde_json::Value, ApiError> {
    let t = idv_core::records::TENANTS
        .get(records, id)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?
        .value;
    let r = t.retention;
    Ok(serde_json::json!({
        "tenant": t.id,
        "name": t.name,
        "callback_url": t.callback_url,
        "disabled": t.disabled,
        "retention": {
            "images_days": r.images_seconds as f64 / 86_400.0,
            "personal_data_days": r.personal_data_seconds as f64 / 86_400.0,
            "decisions_days": r.decisions_seconds as f64 / 86_400.0,
            "seconds": r,
        },
    }))
}

async fn show_tenant(
    State(state): State<Services>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    Ok(Json(tenant_view(state.records.as_ref(), &id).await?).into_response())
}

async fn set_retention(
    State(state): State<Services>,
    UrlPath(id): UrlPath<String>,
    JsonBody(change): JsonBody<idv_core::retention::PolicyChange>,
) -> Result<Response, ApiError> {
    idv_core::retention::set_policy(state.records.as_ref(), &id, &change).await?;
    Ok(Json(tenant_view(state.records.as_ref(), &id).await?).into_response())
}

async fn rotate(
    State(state): State<Services>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let t = idv_core::accounts::rotate_credentials_in(
        state.records.as_ref(),
        &id,
        Some(state.verified.as_ref()),
    )
    .await?;
    tracing::info!(tenant = %t.tenant, "credentials rotated (admin API)");
    Ok(Json(t).into_response())
}

/// The operator's audit trail (tenant deletions), in `GET /v1/audit`'s shape.
async fn operator_audit(State(state): State<Services>) -> Result<Response, ApiError> {
    let entries =
        idv_core::audit::entries(state.records.as_ref(), idv_core::audit::OPERATOR).await?;
    Ok(Json(serde_json::json!({ "entries": entries, "next": null })).into_response())
}

async fn sweep(State(state): State<Services>) -> Result<Response, ApiError> {
    let report = idv_core::retention::sweep(&state, idv_store::now_ms()).await?;
    Ok(Json(report).into_response())
}

async fn list_tenants(State(state): State<Services>) -> Result<Response, ApiError> {
    Ok(Json(tenant_list(state.records.as_ref()).await?).into_response())
}

async fn disable_tenant(
    State(state): State<Services>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    set_disabled(&state, &id, true).await
}

async fn enable_tenant(
    State(state): State<Services>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    set_disabled(&state, &id, false).await
}

async fn set_disabled(state: &Services, id: &str, disabled: bool) -> Result<Response, ApiError> {
    idv_core::tenants::set_disabled(state.records.as_ref(), id, disabled).await?;
    // Refused (or accepted again) from the next request on.
    state.verified.forget_tenant(id);
    Ok(Json(tenant_view(state.records.as_ref(), id).await?).into_response())
}

async fn delete_tenant(
    State(state): State<Services>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, ApiError> {
    let deleted = idv_core::tenants::delete(
        state.records.as_ref(),
        state.blobs.as_ref(),
        &state.dialects,
        &id,
    )
    .await?;
    state.verified.forget_tenant(&id);
    Ok(Json(deleted).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewReviewerRequest {
    tenant: String,
    name: String,
}

async fn create_reviewer(
    State(state): State<Services>,
    JsonBody(req): JsonBody<NewReviewerRequest>,
) -> Result<Response, ApiError> {
    let name = check_name(&req.name)?;
    let r =
        idv_core::accounts::create_reviewer_in(state.records.as_ref(), &req.tenant, name).await?;
    tracing::info!(tenant = %r.tenant, "reviewer created (admin API)");
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

#[derive(Deserialize)]
struct ReviewersQuery {
    tenant: String,
}

async fn list_reviewers(
    State(state): State<Services>,
    axum::extract::Query(q): axum::extract::Query<ReviewersQuery>,
) -> Result<Response, ApiError> {
    let reviewers = idv_core::accounts::reviewers_in(state.records.as_ref(), &q.tenant).await?;
    Ok(Json(serde_json::json!({ "reviewers": reviewers })).into_response())
}

async fn disable_reviewer(
    State(state): State<Services>,
    UrlPath(user): UrlPath<String>,
) -> Result<Response, ApiError> {
    let tenant = idv_core::accounts::disable_reviewer_in(state.records.as_ref(), &user).await?;
    // No sign-in from the credential cache either.
    state.verified.forget_tenant(&tenant);
    Ok(Json(serde_json::json!({ "user": user, "disabled": true })).into_response())
}

/// A client of the admin API of the server that holds `data`, if one announced itself.
pub struct Client {
    url: String,
    token: String,
    agent: ureq::Agent,
}

impl Client {
    /// The running server's admin API, or `None` when no server announced itself in `data`.
    pub fn find(data: &Path) -> Result<Option<Client>> {
        let Ok(text) = std::fs::read_to_string(data.join(SERVER_FILE)) else {
            return Ok(None);
        };
        let a: Announced = serde_json::from_str(&text)
            .with_context(|| format!("{} is corrupt", data.join(SERVER_FILE).display()))?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .into();
        Ok(Some(Client {
            url: a.admin_url,
            token: token(data)?,
            agent,
        }))
    }

    /// `POST path` with a JSON body (`None`: `GET path`); the answer's JSON, or the server's
    /// error as an error.
    pub fn call(&self, path: &str, body: Option<serde_json::Value>) -> Result<serde_json::Value> {
        self.send(if body.is_some() { "POST" } else { "GET" }, path, body)
    }

    /// `method path` with an optional JSON body, as [`call`](Self::call).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let url = format!("{}{path}", self.url);
        let auth = format!("Bearer {}", self.token);
        let res = match body {
            None if method == "DELETE" => self
                .agent
                .delete(&url)
                .header(header::AUTHORIZATION.as_str(), &auth)
                .call(),
            Some(b) if method == "PUT" => self
                .agent
                .put(&url)
                .header(header::AUTHORIZATION.as_str(), &auth)
                .content_type("application/json")
                .send(b.to_string()),
            Some(b) => self
                .agent
                .post(&url)
                .header(header::AUTHORIZATION.as_str(), &auth)
                .content_type("application/json")
                .send(b.to_string()),
            None => self
                .agent
                .get(&url)
                .header(header::AUTHORIZATION.as_str(), &auth)
                .call(),
        };
        let mut res = res.with_context(|| {
            format!(
                "the idv server that holds this data directory does not answer at {}",
                self.url
            )
        })?;
        let status = res.status();
        let value: serde_json::Value = res
            .body_mut()
            .read_to_string()
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .with_context(|| format!("{path}: HTTP {status} without a JSON answer"))?;
        if !status.is_success() {
            anyhow::bail!(
                "the server refused: {} {}",
                value["code"].as_str().unwrap_or("?"),
                value["message"].as_str().unwrap_or("")
            );
        }
        Ok(value)
    }
}

/// Whether `headers` carry `Authorization: Bearer TOKEN`. Every byte is compared, whatever
/// differs first: the time taken tells nothing.
pub fn bearer_matches(headers: &axum::http::HeaderMap, token: &str) -> bool {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
