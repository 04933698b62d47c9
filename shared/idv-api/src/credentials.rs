//! Credential primitives with no storage: secrets, argon2 hashes, HS256 tokens and the cache
//! of recently verified credentials.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::ApiError;

/// The authenticated tenant of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant(pub String);

/// 24 random bytes, URL-safe base64.
pub fn secret() -> String {
    let mut b = [0u8; 24];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// A new webhook signing secret.
pub fn webhook_secret() -> String {
    format!("whsec_{}", secret())
}

/// 6 random bytes in hex: the public part of an id.
pub fn short_id() -> String {
    let mut b = [0u8; 6];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// The argon2 (default parameters) PHC string of `secret`.
pub fn hash(secret: &str) -> Result<String, ApiError> {
    Argon2::default()
        .hash_password(secret.as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

/// Whether `secret` matches the argon2 PHC string `hash`.
pub fn verify(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
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

    /// The tenant of a credential verified within the last minute.
    pub fn get(&self, key: &str, secret: &str) -> Option<Tenant> {
        let now = idv_store::now_ms() / 1000;
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&Self::digest(key, secret))
            .filter(|(_, at)| now < at + CACHE_SECONDS)
            .map(|(t, _)| Tenant(t.clone()))
    }

    /// Remembers a verified credential.
    pub fn put(&self, key: &str, secret: &str, tenant: &Tenant) {
        let now = idv_store::now_ms() / 1000;
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (_, at)| now < *at + CACHE_SECONDS);
        }
        map.insert(Self::digest(key, secret), (tenant.0.clone(), now));
    }
}

/// The claims of a token: tenant, scopes, expiry (Unix seconds).
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
