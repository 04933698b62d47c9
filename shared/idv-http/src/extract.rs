//! Extractors: the tenant a request's credentials name (each dialect's headers), and its body
//! read under the limits once those are checked and it has its place in line.

use std::marker::PhantomData;
use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use idv_core::credentials::Tenant;
use idv_core::images::Fields;
use idv_core::limits::{Admission, Admitted};
use idv_core::{ErrorCode, Services, signin};

use crate::body::{MAX_BODY, drain, read_fields};
use crate::error::ApiError;

tokio::task_local! {
    /// The address of the client whose request is being handled, where the server knows it
    /// (`idv serve`; set by the request middleware).
    pub static CLIENT: Option<std::net::IpAddr>;
}

/// The address of the client of the request being handled, where known.
pub fn client() -> Option<IpAddr> {
    CLIENT.try_with(|c| *c).ok().flatten()
}

fn header<'a>(h: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| h.get(*n).and_then(|v| v.to_str().ok()))
}

/// Kairos: `app_id` + `app_key` (or `app-id` + `app-key`).
pub async fn kairos(state: &Services, h: &HeaderMap) -> Result<Tenant, ApiError> {
    let (Some(id), Some(key)) = (
        header(h, &["app_id", "app-id"]),
        header(h, &["app_key", "app-key"]),
    ) else {
        return Err(ApiError::unauthorized());
    };
    let t = signin::check(state, client(), &format!("app_id:{id}"), key).await?;
    Ok(signin::tenant_in_good_standing(state, t).await?)
}

/// One-call: `x-api-key: idv_ID_SECRET`.
pub async fn api_key(state: &Services, h: &HeaderMap) -> Result<Tenant, ApiError> {
    let key = header(h, &["x-api-key"]).ok_or_else(ApiError::unauthorized)?;
    let credential = api_key_credential(h).ok_or_else(ApiError::unauthorized)?;
    let t = signin::check(state, client(), &credential, key).await?;
    Ok(signin::tenant_in_good_standing(state, t).await?)
}

/// The credential (`api_key:ID`) an `x-api-key` header names, checked or not.
pub fn api_key_credential(h: &HeaderMap) -> Option<String> {
    let key = header(h, &["x-api-key"])?;
    Some(format!("api_key:{}", key.split('_').nth(1)?))
}

/// LINK: `Authorization: Bearer TOKEN` with `scope`.
pub async fn bearer(state: &Services, h: &HeaderMap, scope: &str) -> Result<Tenant, ApiError> {
    let token = header(h, &["authorization"])
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .ok_or_else(ApiError::unauthorized)?;
    Ok(signin::bearer(state, token, scope).await?)
}

/// How a dialect's requests name their tenant.
pub trait Credentials: Send + Sync + 'static {
    /// The tenant the headers authenticate (rate-limited), or 401.
    fn check(
        state: &Services,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Tenant, ApiError>> + Send;
}

/// Kairos's `app_id` + `app_key` headers.
pub struct KairosKeys;

impl Credentials for KairosKeys {
    async fn check(state: &Services, headers: &HeaderMap) -> Result<Tenant, ApiError> {
        kairos(state, headers).await
    }
}

/// Any dialect's credentials: `x-api-key`, `app_id` + `app_key`, or a LINK bearer token
/// (any scope), tried in that order by the headers present. Returns the tenant and the kind
/// of credential (`api_key`, `kairos`, `link`) for the audit trail.
pub async fn any(state: &Services, h: &HeaderMap) -> Result<(Tenant, &'static str), ApiError> {
    if h.contains_key("x-api-key") {
        return Ok((api_key(state, h).await?, "api_key"));
    }
    if h.contains_key("app_id") {
        return Ok((kairos(state, h).await?, "kairos"));
    }
    for scope in ["kyc.idVeriication.auto", "kyc.certification"] {
        match bearer(state, h, scope).await {
            Ok(t) => return Ok((t, "link")),
            Err(e) if e.code != ErrorCode::Unauthorized => return Err(e),
            Err(_) => {}
        }
    }
    Err(ApiError::unauthorized())
}

/// Any dialect's credentials ([`any`]).
pub struct AnyDialect;

impl Credentials for AnyDialect {
    async fn check(state: &Services, headers: &HeaderMap) -> Result<Tenant, ApiError> {
        Ok(any(state, headers).await?.0)
    }
}

/// One-call's `x-api-key` header.
pub struct ApiKey;

impl Credentials for ApiKey {
    async fn check(state: &Services, headers: &HeaderMap) -> Result<Tenant, ApiError> {
        api_key(state, headers).await
    }
}

/// The tenant of a request without a body, from its `C` credentials.
pub struct Authed<C>(pub Tenant, pub PhantomData<C>);

impl<C: Credentials> FromRequestParts<Services> for Authed<C> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Services) -> Result<Self, ApiError> {
        Ok(Authed(C::check(state, &parts.headers).await?, PhantomData))
    }
}

/// Which bounded line, if any, a request waits in before its body is read: see [`Form`].
pub trait Line: Send + Sync + 'static {
    /// The line of this kind of request in `state`; `None` reads the body at once.
    fn of(state: &Services) -> Option<&Arc<Admission>>;
}

/// No line: the body is read at once (requests that run no model and hold no image).
pub struct Unbounded;

impl Line for Unbounded {
    fn of(_: &Services) -> Option<&Arc<Admission>> {
        None
    }
}

/// The line of synchronous verifications ([`Services::inference`]).
pub struct Verifications;

impl Line for Verifications {
    fn of(state: &Services) -> Option<&Arc<Admission>> {
        Some(&state.inference)
    }
}

/// The line of asynchronous submissions, which decode their images to validate them
/// ([`Services::intake`]).
pub struct Intake;

impl Line for Intake {
    fn of(state: &Services) -> Option<&Arc<Admission>> {
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

impl<C: Credentials, L: Line> FromRequest<Services> for Form<C, L> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Services) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let admitted = match C::check(state, &parts.headers).await {
            Ok(tenant) => match L::of(state).map(|line| line.enter(Some(&tenant.0))) {
                Some(Err(e)) => Err(ApiError::from(e)),
                Some(Ok(place)) => Ok((tenant, Some(place))),
                None => Ok((tenant, None)),
            },
            Err(e) => Err(e),
        };
        let (tenant, place) = match admitted {
            Ok(a) => a,
            Err(e) => {
                drain(body, MAX_BODY).await;
                return Err(e);
            }
        };
        let fields = read_fields(Request::from_parts(parts, body)).await?;
        Ok(Form {
            tenant,
            fields,
            place,
            credentials: PhantomData,
        })
    }
}

/// Whether `headers` carry `Authorization: Bearer TOKEN`. Every byte is compared, whatever
/// differs first: the time taken tells nothing.
pub fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
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
