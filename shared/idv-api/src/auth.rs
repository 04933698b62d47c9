//! Tenants and their credentials: Kairos `app_id`/`app_key`, one-call `x-api-key`, LINK
//! user/password → bearer token. Secrets are stored as argon2 hashes; tokens are HS256 JWTs.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

use crate::error::{ApiError, on_conflict};
use crate::state::AppState;

const CREDENTIALS: &str = "credentials";
const TENANTS: &str = "tenants";

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

fn secret() -> String {
    let mut b = [0u8; 24];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// A new webhook signing secret.
pub fn webhook_secret() -> String {
    format!("whsec_{}", secret())
}

fn short_id() -> String {
    let mut b = [0u8; 6];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

fn hash(secret: &str) -> Result<String, ApiError> {
    Argon2::default()
        .hash_password(secret.as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

fn verify(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
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
    records
        .insert(
            TENANTS,
            &id,
            json!({"name": name, "id": id, "callback_url": callback_url,
                "webhook_secrets": [t.webhook_secret]}),
        )
        .await?;
    for (key, secret) in [
        (format!("app_id:{}", t.app_id), &t.app_key),
        (format!("api_key:{api_key_id}"), &t.api_key),
        (format!("link_user:{}", t.link_user), &t.link_password),
    ] {
        let value = json!({"tenant": id, "hash": hash(secret)?});
        on_conflict(records.insert(CREDENTIALS, &key, value).await, || {
            ApiError::internal("credential id collision")
        })?;
    }
    Ok(t)
}

/// Recently verified credentials (SHA-256 of id and secret → tenant), so that argon2 runs
/// once per minute per client rather than on every request. Process memory only.
#[derive(Default)]
pub struct VerifiedCache(std::sync::Mutex<std::collections::HashMap<[u8; 32], (String, u64)>>);

const CACHE_SECONDS: u64 = 60;

impl VerifiedCache {
    fn digest(key: &str, secret: &str) -> [u8; 32] {
        use sha2::Digest;
        Sha256::new()
            .chain_update(key.as_bytes())
            .chain_update([0])
            .chain_update(secret.as_bytes())
            .finalize()
            .into()
    }

    fn get(&self, key: &str, secret: &str) -> Option<Tenant> {
        let now = idv_store::now_ms() / 1000;
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&Self::digest(key, secret))
            .filter(|(_, at)| now < at + CACHE_SECONDS)
            .map(|(t, _)| Tenant(t.clone()))
    }

    fn put(&self, key: &str, secret: &str, tenant: &Tenant) {
        let now = idv_store::now_ms() / 1000;
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (_, at)| now < *at + CACHE_SECONDS);
        }
        map.insert(Self::digest(key, secret), (tenant.0.clone(), now));
    }
}

async fn check(state: &AppState, key: &str, secret: &str) -> Result<Tenant, ApiError> {
    if let Some(t) = state.verified.get(key, secret) {
        return Ok(t);
    }
    let t = check_stored(state, key, secret).await?;
    state.verified.put(key, secret, &t);
    Ok(t)
}

async fn check_stored(state: &AppState, key: &str, secret: &str) -> Result<Tenant, ApiError> {
    let Some(rec) = state.records.get(CREDENTIALS, key).await? else {
        return Err(ApiError::unauthorized());
    };
    let hash = rec.value["hash"].as_str().unwrap_or_default().to_string();
    let secret = secret.to_string();
    // argon2 is deliberately slow: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || verify(&secret, &hash))
        .await
        .map_err(ApiError::internal)?;
    if !ok {
        return Err(ApiError::unauthorized());
    }
    Ok(Tenant(
        rec.value["tenant"].as_str().unwrap_or_default().to_string(),
    ))
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
    if records.get(TENANTS, tenant).await?.is_none() {
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
    let value = json!({"tenant": tenant, "hash": hash(&r.password)?});
    let inserted = records
        .insert(CREDENTIALS, &format!("reviewer:{}", r.user), value)
        .await;
    on_conflict(inserted, || ApiError::internal("reviewer id collision"))?;
    Ok(r)
}

/// Checks a reviewer's user and password; returns their tenant.
pub async fn check_reviewer(
    state: &AppState,
    user: &str,
    password: &str,
) -> Result<Tenant, ApiError> {
    check(state, &format!("reviewer:{user}"), password).await
}

/// The authenticated tenant of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant(pub String);

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
    limited(state, check(state, &format!("app_id:{id}"), key).await?)
}

fn limited(state: &AppState, tenant: Tenant) -> Result<Tenant, ApiError> {
    state.limiter.check(&tenant.0)?;
    Ok(tenant)
}

/// One-call: `x-api-key: idv_ID_SECRET`.
pub async fn api_key(state: &AppState, h: &HeaderMap) -> Result<Tenant, ApiError> {
    let key = header(h, &["x-api-key"]).ok_or_else(ApiError::unauthorized)?;
    let id = key.split('_').nth(1).ok_or_else(ApiError::unauthorized)?;
    limited(state, check(state, &format!("api_key:{id}"), key).await?)
}

/// LINK: user + password → a signed token.
pub async fn issue_token(
    state: &AppState,
    user: &str,
    password: &str,
) -> Result<(String, u64), ApiError> {
    let tenant = check(state, &format!("link_user:{user}"), password).await?;
    let exp = idv_store::now_ms() / 1000 + TOKEN_SECONDS;
    let claims = Claims {
        sub: tenant.0,
        scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        exp,
    };
    Ok((sign_jwt(&state.config.token_secret, &claims), TOKEN_SECONDS))
}

/// LINK: `Authorization: Bearer TOKEN` with `scope`.
pub fn bearer(state: &AppState, h: &HeaderMap, scope: &str) -> Result<Tenant, ApiError> {
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
    limited(state, Tenant(claims.sub))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub scopes: Vec<String>,
    pub exp: u64,
}

fn mac(secret: &[u8], data: &str) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    m.update(data.as_bytes());
    m
}

/// An HS256 JWT of `claims`.
pub fn sign_jwt(secret: &[u8], claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let signed = format!("{header}.{body}");
    let sig = URL_SAFE_NO_PAD.encode(mac(secret, &signed).finalize().into_bytes());
    format!("{signed}.{sig}")
}

/// The claims of a JWT signed by [`sign_jwt`] with `secret`; `None` if it is not one.
pub fn verify_jwt(secret: &[u8], token: &str) -> Option<Claims> {
    let (signed, sig) = token.rsplit_once('.')?;
    let (header, body) = signed.split_once('.')?;
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    mac(secret, signed).verify_slice(&sig).ok()?;
    let h: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if h["alg"] != "HS256" {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_with_their_secret_and_unaltered() {
        let c = Claims {
            sub: "t_1".into(),
            scopes: vec!["a".into()],
            exp: 10,
        };
        let t = sign_jwt(b"k1", &c);
        assert_eq!(verify_jwt(b"k1", &t), Some(c));
        assert_eq!(verify_jwt(b"k2", &t), None);
        let mut forged = t.clone();
        forged.insert(t.find('.').unwrap() + 2, 'x');
        assert_eq!(verify_jwt(b"k1", &forged), None);
        assert_eq!(verify_jwt(b"k1", "nonsense"), None);
    }

    #[test]
    fn password_hashes_verify() {
        let h = hash("s3cret").unwrap();
        assert!(verify("s3cret", &h));
        assert!(!verify("s3cret!", &h));
        assert!(!h.contains("s3cret"));
    }
}
