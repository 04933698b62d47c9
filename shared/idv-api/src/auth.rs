//! Tenants and their credentials: Kairos `app_id`/`app_key`, one-call `x-api-key`, LINK
//! user/password → bearer token. Secrets are stored as argon2 hashes; tokens are HS256 JWTs.

use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde::Serialize;

use crate::credentials::{
    Claims, Tenant, hash, secret, short_id, sign_jwt, verify_jwt, webhook_secret,
};
use crate::error::{ApiError, on_conflict};
use crate::input::{self, Fields};
use crate::limits::{Admission, Admitted};
use crate::records::{CREDENTIALS, Credential, TENANTS, TenantRecord};
use crate::state::AppState;

/// The LINK token lifetime, seconds.
pub const TOKEN_SECONDS: u64 = 3600;

/// The scopes a LINK token carries (the seed's list, its spelling kept).
pub const SCOPES: [&str; 5] = [
    "kyc.idVeriication.auto",
    "kyc.facecomparison.auto",
    "kyc.idVerification.manual",
    "kyc.facecomparison.manual",
    "kyc.certification",
];

/// A tenant's new credentials, shown once at creation.
#[derive(Debug, Clone, Serialize)]
pub struct NewTenant {
    pub tenant: String,
    pub app_id: String,
    pub app_key: String,
    pub api_key: String,
    pub link_user: String,
    pub link_password: String,
    /// Signs callbacks (`X-Idv-Signature`); rotate with `POST /v1/webhook-secrets/rotate`.
    pub webhook_secret: String,
}

/// Creates tenant `name` with fresh credentials of every dialect.
pub async fn create_tenant(state: &AppState, name: &str) -> Result<NewTenant, ApiError> {
    create_tenant_in(state.records.as_ref(), name, None).await
}

/// [`create_tenant`] on a record store alone (for `idv tenant create`).
pub async fn create_tenant_in(
    records: &dyn idv_store::RecordStore,
    name: &str,
    callback_url: Option<&str>,
) -> Result<NewTenant, ApiError> {
    let id = format!("t_{}", short_id());
    let t = NewTenant {
        tenant: id.clone(),
        app_id: format!("app_{}", short_id()),
        app_key: secret(),
        api_key: format!("idv_{}_{}", short_id(), secret()),
        link_user: format!(
            "{}-{}",
            name.to_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
            short_id()
        ),
        link_password: secret(),
        webhook_secret: webhook_secret(),
    };
    let api_key_id = t.api_key.split('_').nth(1).unwrap_or_default().to_string();
    // A random id: a conflict is a collision, refused like any other store error.
    let tenant = TenantRecord {
        id: id.clone(),
        name: name.to_string(),
        callback_url: callback_url.map(str::to_string),
        webhook_secrets: vec![t.webhook_secret.clone()],
        retention: Default::default(),
        disabled: false,
    };
    TENANTS.insert(records, &id, &tenant).await?;
    crate::audit::record(records, &id, "admin", "tenant.create", None).await?;
    for (key, secret) in [
        (format!("app_id:{}", t.app_id), &t.app_key),
        (format!("api_key:{api_key_id}"), &t.api_key),
        (format!("link_user:{}", t.link_user), &t.link_password),
    ] {
        let value = Credential {
            tenant: id.clone(),
            hash: hash(secret)?,
            disabled: false,
        };
        on_conflict(CREDENTIALS.insert(records, &key, &value).await, || {
            ApiError::internal("credential id collision")
        })?;
    }
    Ok(t)
}

tokio::task_local! {
    /// The address of the client whose request is being handled, where the server knows it
    /// (`idv serve`; set by the request middleware).
    pub static CLIENT: Option<std::net::IpAddr>;
}

async fn check(state: &AppState, key: &str, secret: &str) -> Result<Tenant, ApiError> {
    if let Some(t) = state.verified.get(key, secret) {
        return Ok(t);
    }
    let client = CLIENT.try_with(|c| *c).ok().flatten();
    state.auth.admit(key, client)?;
    let stored = CREDENTIALS.get(state.records.as_ref(), key).await?;
    // An unknown principal costs the same hash as a known one: no telling them apart by time.
    let tenant = stored
        .as_ref()
        .filter(|r| !r.value.disabled)
        .map(|r| r.value.tenant.clone());
    let ok = state
        .auth
        .verify(secret, stored.map(|r| r.value.hash))
        .await?;
    let Some(tenant) = tenant.filter(|_| ok) else {
        state.auth.failed(key, client);
        return Err(ApiError::unauthorized());
    };
    let t = Tenant(tenant);
    state.verified.put(key, secret, &t);
    Ok(t)
}

/// Gives every API credential of `tenant` (Kairos `app_key`, one-call `api_key`, LINK
/// password) a new secret; the ids stay. The old secrets stop working at once where `cache`
/// is this process's (elsewhere within the minute credentials are cached). LINK tokens issued
/// before keep their hour. Reviewers' passwords are not API credentials and are kept.
pub async fn rotate_credentials_in(
    records: &dyn idv_store::RecordStore,
    tenant: &str,
    cache: Option<&crate::credentials::VerifiedCache>,
) -> Result<NewTenant, ApiError> {
    let t = TENANTS
        .get(records, tenant)
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))?
        .value;
    let mut out = NewTenant {
        tenant: tenant.to_string(),
        app_id: String::new(),
        app_key: String::new(),
        api_key: String::new(),
        link_user: String::new(),
        link_password: String::new(),
        webhook_secret: t.webhook_secrets.first().cloned().unwrap_or_default(),
    };
    for (key, c) in CREDENTIALS.list(records, "").await? {
        if c.tenant != tenant {
            continue;
        }
        let fresh = match key.split_once(':') {
            Some(("app_id", id)) => {
                out.app_id = id.to_string();
                out.app_key = secret();
                out.app_key.clone()
            }
            Some(("api_key", id)) => {
                out.api_key = format!("idv_{id}_{}", secret());
                out.api_key.clone()
            }
            Some(("link_user", id)) => {
                out.link_user = id.to_string();
                out.link_password = secret();
                out.link_password.clone()
            }
            _ => continue,
        };
        let hash = hash(&fresh)?;
        CREDENTIALS
            .update(records, &key, |c| {
                c.hash = hash.clone();
                true
            })
            .await?;
    }
    if let Some(cache) = cache {
        cache.forget_tenant(tenant);
    }
    crate::audit::record(records, tenant, "admin", "credentials.rotate", None).await?;
    Ok(out)
}

/// `tenant`'s reviewers: user and whether disabled.
pub async fn reviewers_in(
    records: &dyn idv_store::RecordStore,
    tenant: &str,
) -> Result<Vec<serde_json::Value>, ApiError> {
    Ok(CREDENTIALS
        .list(records, "reviewer:")
        .await?
        .into_iter()
        .filter(|(_, c)| c.tenant == tenant)
        .map(|(k, c)| {
            serde_json::json!({
                "user": k.trim_start_matches("reviewer:"),
                "disabled": c.disabled,
            })
        })
        .collect())
}

/// Disables reviewer `user`: sign-in and sessions already open are refused from now on.
pub async fn disable_reviewer_in(
    records: &dyn idv_store::RecordStore,
    user: &str,
) -> Result<String, ApiError> {
    let c = CREDENTIALS
        .update(records, &format!("reviewer:{user}"), |c| {
            c.disabled = true;
            true
        })
        .await?
        .ok_or_else(|| ApiError::not_found("reviewer"))?;
    crate::audit::record(records, &c.tenant, "admin", "reviewer.disable", Some(user)).await?;
    Ok(c.tenant)
}

/// A reviewer's credentials, created by `idv reviewer create`.
#[derive(Debug, Clone, Serialize)]
pub struct NewReviewer {
    pub tenant: String,
    pub user: String,
    pub password: String,
}

/// Creates reviewer `name` for `tenant` (the console's sign-in, not an API credential).
pub async fn create_reviewer_in(
    records: &dyn idv_store::RecordStore,
    tenant: &str,
    name: &str,
) -> Result<NewReviewer, ApiError> {
    if TENANTS.get(records, tenant).await?.is_none() {
        return Err(ApiError::not_found("tenant"));
    }
    let r = NewReviewer {
        tenant: tenant.to_string(),
        user: format!(
            "{}-{}",
            name.to_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
            short_id()
        ),
        password: secret(),
    };
    let value = Credential {
        tenant: tenant.to_string(),
        hash: hash(&r.password)?,
        disabled: false,
    };
    let inserted = CREDENTIALS
        .insert(records, &format!("reviewer:{}", r.user), &value)
        .await;
    on_conflict(inserted, || ApiError::internal("reviewer id collision"))?;
    crate::audit::record(records, tenant, "admin", "reviewer.create", Some(&r.user)).await?;
    Ok(r)
}

/// Checks a reviewer's user and password; returns their tenant.
pub async fn check_reviewer(
    state: &AppState,
    user: &str,
    password: &str,
) -> Result<Tenant, ApiError> {
    let tenant = check(state, &format!("reviewer:{user}"), password).await?;
    active(state, &tenant.0).await?;
    Ok(tenant)
}

fn header<'a>(h: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| h.get(*n).and_then(|v| v.to_str().ok()))
}

/// Kairos: `app_id` + `app_key` (or `app-id` + `app-key`).
pub async fn kairos(state: &AppState, h: &HeaderMap) -> Result<Tenant, ApiError> {
    let (Some(id), Some(key)) = (
        header(h, &["app_id", "app-id"]),
        header(h, &["app_key", "app-key"]),
    ) else {
        return Err(ApiError::unauthorized());
    };
    limited(state, check(state, &format!("app_id:{id}"), key).await?).await
}

/// Refuses a tenant that is disabled (403) or gone (401), then one over its request rate.
async fn limited(state: &AppState, tenant: Tenant) -> Result<Tenant, ApiError> {
    active(state, &tenant.0).await?;
    state.limiter.check(&tenant.0)?;
    Ok(tenant)
}

/// Whether `tenant` may use its credentials: 403 `TENANT_DISABLED` once disabled, 401 once
/// deleted. Looked up at most once a minute per process (at once here after a change through
/// this process, see [`crate::credentials::VerifiedCache::forget_tenant`]).
pub async fn active(state: &AppState, tenant: &str) -> Result<(), ApiError> {
    let enabled = match state.verified.tenant_enabled(tenant) {
        Some(e) => e,
        None => {
            let e = TENANTS
                .get(state.records.as_ref(), tenant)
                .await?
                .map(|t| !t.value.disabled);
            state.verified.put_tenant(tenant, e);
            e
        }
    };
    match enabled {
        Some(true) => Ok(()),
        Some(false) => Err(ApiError::new(
            crate::error::ErrorCode::TenantDisabled,
            "this tenant is disabled",
        )),
        None => Err(ApiError::unauthorized()),
    }
}

/// One-call: `x-api-key: idv_ID_SECRET`.
pub async fn api_key(state: &AppState, h: &HeaderMap) -> Result<Tenant, ApiError> {
    let key = header(h, &["x-api-key"]).ok_or_else(ApiError::unauthorized)?;
    let id = key.split('_').nth(1).ok_or_else(ApiError::unauthorized)?;
    limited(state, check(state, &format!("api_key:{id}"), key).await?).await
}

/// LINK: user + password → a signed token.
pub async fn issue_token(
    state: &AppState,
    user: &str,
    password: &str,
) -> Result<(String, u64), ApiError> {
    let tenant = check(state, &format!("link_user:{user}"), password).await?;
    active(state, &tenant.0).await?;
    let exp = idv_store::now_ms() / 1000 + TOKEN_SECONDS;
    let claims = Claims {
        sub: tenant.0,
        scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        exp,
    };
    Ok((sign_jwt(&state.config.token_secret, &claims), TOKEN_SECONDS))
}

/// LINK: `Authorization: Bearer TOKEN` with `scope`.
pub async fn bearer(state: &AppState, h: &HeaderMap, scope: &str) -> Result<Tenant, ApiError> {
    let token = header(h, &["authorization"])
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or_else(ApiError::unauthorized)?;
    let claims =
        verify_jwt(&state.config.token_secret, token).ok_or_else(ApiError::unauthorized)?;
    if claims.exp <= idv_store::now_ms() / 1000 || !claims.scopes.iter().any(|s| s == scope) {
        return Err(ApiError::unauthorized());
    }
    limited(state, Tenant(claims.sub)).await
}

/// How a dialect's requests name their tenant.
pub trait Credentials: Send + Sync + 'static {
    /// The tenant the headers authenticate (rate-limited), or 401.
    fn check(
        state: &AppState,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Tenant, ApiError>> + Send;
}

/// Kairos's `app_id` + `app_key` headers.
pub struct KairosKeys;

impl Credentials for KairosKeys {
    async fn check(state: &AppState, headers: &HeaderMap) -> Result<Tenant, ApiError> {
        kairos(state, headers).await
    }
}

/// Any dialect's credentials: `x-api-key`, `app_id` + `app_key`, or a LINK bearer token
/// (any scope), tried in that order by the headers present. Returns the tenant and the kind
/// of credential (`api_key`, `kairos`, `link`) for the audit trail.
pub async fn any(state: &AppState, h: &HeaderMap) -> Result<(Tenant, &'static str), ApiError> {
    if h.contains_key("x-api-key") {
        return Ok((api_key(state, h).await?, "api_key"));
    }
    if h.contains_key("app_id") {
        return Ok((kairos(state, h).await?, "kairos"));
    }
    for scope in ["kyc.idVeriication.auto", "kyc.certification"] {
        match bearer(state, h, scope).await {
            Ok(t) => return Ok((t, "link")),
            Err(e) if e.code != crate::error::ErrorCode::Unauthorized => return Err(e),
            Err(_) => {}
        }
    }
    Err(ApiError::unauthorized())
}

/// One-call's `x-api-key` header.
pub struct ApiKey;

impl Credentials for ApiKey {
    async fn check(state: &AppState, headers: &HeaderMap) -> Result<Tenant, ApiError> {
        api_key(state, headers).await
    }
}

/// The tenant of a request without a body, from its `C` credentials.
pub struct Authed<C>(pub Tenant, pub PhantomData<C>);

impl<C: Credentials> FromRequestParts<AppState> for Authed<C> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Authed(C::check(state, &parts.headers).await?, PhantomData))
    }
}

/// Which bounded line, if any, a request waits in before its body is read: see [`Form`].
pub trait Line: Send + Sync + 'static {
    /// The line of this kind of request in `state`; `None` reads the body at once.
    fn of(state: &AppState) -> Option<&Arc<Admission>>;
}

/// No line: the body is read at once (requests that run no model and hold no image).
pub struct Unbounded;

impl Line for Unbounded {
    fn of(_: &AppState) -> Option<&Arc<Admission>> {
        None
    }
}

/// The line of synchronous verifications ([`AppState::inference`]).
pub struct Verifications;

impl Line for Verifications {
    fn of(state: &AppState) -> Option<&Arc<Admission>> {
        Some(&state.inference)
    }
}

/// The line of asynchronous submissions, which decode their images to validate them
/// ([`AppState::intake`]).
pub struct Intake;

impl Line for Intake {
    fn of(state: &AppState) -> Option<&Arc<Admission>> {
        Some(&state.intake)
    }
}

/// A multipart or JSON body read under the limits once its `C` credentials are checked and,
/// for work of a bounded line `L`, once the request has its place in that line: a request
/// refused either way costs no buffer — its body is read and discarded (bounded), so the
/// client still gets its status instead of a connection closed while it sends.
pub struct Form<C, L = Unbounded> {
    pub tenant: Tenant,
    pub fields: Fields,
    /// The request's place in line `L` (`None` for [`Unbounded`]).
    pub place: Option<Admitted>,
    credentials: PhantomData<(C, L)>,
}

impl<C: Credentials, L: Line> FromRequest<AppState> for Form<C, L> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let admitted = match C::check(state, &parts.headers).await {
            Ok(tenant) => match L::of(state).map(|line| line.enter(Some(&tenant.0))) {
                Some(Err(e)) => Err(e),
                Some(Ok(place)) => Ok((tenant, Some(place))),
                None => Ok((tenant, None)),
            },
            Err(e) => Err(e),
        };
        let (tenant, place) = match admitted {
            Ok(a) => a,
            Err(e) => {
                input::drain(body, input::MAX_BODY).await;
                return Err(e);
            }
        };
        let fields = input::read_fields(Request::from_parts(parts, body)).await?;
        Ok(Form {
            tenant,
            fields,
            place,
            credentials: PhantomData,
        })
    }
}
