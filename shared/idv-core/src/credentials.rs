//! Credential primitives with no storage: secrets, argon2 hashes, HS256 tokens and the cache
//! of recently verified credentials.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::Error;

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
pub fn hash(secret: &str) -> Result<String, Error> {
    Argon2::default()
        .hash_password(secret.as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

/// Whether `secret` matches the argon2 PHC string `hash` (one-off working memory; sign-ins
/// go through [`AuthGuard::verify`], which reuses it).
pub fn verify(secret: &str, hash: &str) -> bool {
    verify_in(secret, hash, &mut Vec::new())
}

/// Argon2 work and failed sign-ins, bounded: verifications run a few at a time with a short
/// line (beyond it 503 `SERVER_BUSY` at once, never an unbounded pile of 19 MiB hashes), and
/// each principal and each client address has a budget of failures ([`FAILURE_BURST`],
/// [`ADDRESS_FAILURE_BURST`]; beyond it 429 until the budget refills).
pub struct AuthGuard {
    hashing: std::sync::Arc<crate::limits::Admission>,
    /// Argon2's working memory, one block set per running verification, allocated once: a
    /// flood of sign-ins never allocates more (nor leaves 19 MiB in every thread's heap).
    memory: std::sync::Mutex<Vec<Vec<argon2::Block>>>,
    principals: crate::limits::RateLimiter,
    addresses: crate::limits::RateLimiter,
    /// Principals and the addresses they signed in from (SHA-256 of both → Unix seconds of
    /// the last success): a principal whose budget strangers spent still admits these.
    known: std::sync::Mutex<std::collections::HashMap<[u8; 32], u64>>,
}

/// How long a successful sign-in vouches for its address: a client that signed in within
/// this time is not locked out by others' failures on its principal.
pub const KNOWN_CLIENT_SECONDS: u64 = 30 * 86_400;
/// Principal–address pairs remembered at most (32 + 8 bytes each).
const KNOWN_CLIENTS: usize = 100_000;

/// Failed sign-ins a principal may make at once before waiting (then one per second).
pub const FAILURE_BURST: f64 = 10.0;
/// Failed sign-ins a client address may make at once (then three per second): more than a
/// principal, since many people may share one address.
pub const ADDRESS_FAILURE_BURST: f64 = 30.0;

/// 429 for a throttled sign-in, logged by the kind of credential only and at most once every
/// 10 seconds (with how many went unlogged), so a flood does not flood the log.
fn throttled(key: &str) -> Error {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LOGGED_AT: AtomicU64 = AtomicU64::new(0);
    static UNLOGGED: AtomicU64 = AtomicU64::new(0);
    let now = idv_store::now_ms() / 1000;
    let last = LOGGED_AT.load(Ordering::Relaxed);
    if now >= last + 10
        && LOGGED_AT
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        let also = UNLOGGED.swap(0, Ordering::Relaxed);
        tracing::warn!(principal = %key.split(':').next().unwrap_or(""), also_throttled = also, "sign-in throttled after failures");
    } else {
        UNLOGGED.fetch_add(1, Ordering::Relaxed);
    }
    Error::new(
        crate::error::ErrorCode::RateLimited,
        "too many failed sign-ins; retry later",
    )
}

impl AuthGuard {
    /// `at_once` verifications running, `waiting` more in line.
    pub fn new(at_once: usize, waiting: usize) -> AuthGuard {
        // Made now, so the first unknown id is not slower than the rest.
        let _ = unknown_principal_hash();
        AuthGuard {
            hashing: crate::limits::Admission::new(at_once, waiting, usize::MAX),
            memory: std::sync::Mutex::new(Vec::new()),
            principals: crate::limits::RateLimiter::new(1.0, FAILURE_BURST),
            addresses: crate::limits::RateLimiter::new(3.0, ADDRESS_FAILURE_BURST),
            known: Default::default(),
        }
    }

    fn pair(key: &str, client: std::net::IpAddr) -> [u8; 32] {
        use sha2::Digest;
        Sha256::new()
            .chain_update(key.as_bytes())
            .chain_update([0])
            .chain_update(client.to_string().as_bytes())
            .finalize()
            .into()
    }

    /// Refuses (429) an address that spent its failure budget, then a principal that spent
    /// its own — unless this address signed in as it within [`KNOWN_CLIENT_SECONDS`]: failures
    /// from elsewhere do not lock out a client that has not failed itself (its address
    /// budget still bounds it).
    pub fn admit(&self, key: &str, client: Option<std::net::IpAddr>) -> Result<(), Error> {
        // The address first: a client over its budget leaves no entry for what it named.
        self.admit_address(client)?;
        if self.principals.allows(key) {
            return Ok(());
        }
        let now = idv_store::now_ms() / 1000;
        let known = client.is_some_and(|c| {
            self.known
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&Self::pair(key, c))
                .is_some_and(|at| now < at + KNOWN_CLIENT_SECONDS)
        });
        match known {
            true => Ok(()),
            false => Err(throttled(key)),
        }
    }

    /// Remembers that `client` signed in as `key`.
    pub fn succeeded(&self, key: &str, client: Option<std::net::IpAddr>) {
        let Some(c) = client else { return };
        let now = idv_store::now_ms() / 1000;
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= KNOWN_CLIENTS {
            known.retain(|_, at| now < *at + KNOWN_CLIENT_SECONDS);
            if known.len() >= KNOWN_CLIENTS {
                // Full of live entries: the oldest half goes.
                let mut ages: Vec<u64> = known.values().copied().collect();
                let (_, median, _) = ages.select_nth_unstable(KNOWN_CLIENTS / 2);
                let cut = *median;
                known.retain(|_, at| *at > cut);
            }
        }
        known.insert(Self::pair(key, c), now);
    }

    /// Refuses (429) an address that spent its failure budget.
    pub fn admit_address(&self, client: Option<std::net::IpAddr>) -> Result<(), Error> {
        match client.is_some_and(|c| !self.addresses.allows(&c.to_string())) {
            true => Err(throttled("")),
            false => Ok(()),
        }
    }

    /// Counts a failed sign-in against the address alone (it named no possible principal).
    pub fn failed_address(&self, client: Option<std::net::IpAddr>) {
        if let Some(c) = client {
            self.addresses.spend(&c.to_string());
        }
    }

    /// Bytes of the principal names the failure budgets hold (tests).
    #[cfg(test)]
    pub(crate) fn principal_bytes(&self) -> usize {
        self.principals.key_bytes()
    }

    /// Counts a failed sign-in against the principal and the address.
    pub fn failed(&self, key: &str, client: Option<std::net::IpAddr>) {
        self.principals.spend(key);
        if let Some(c) = client {
            self.addresses.spend(&c.to_string());
        }
    }

    /// Runs `secret` against `hash` (or, for an unknown principal, against a fixed hash of
    /// the same cost, so both take as long) on the blocking pool, in the bounded line.
    pub async fn verify(&self, secret: &str, hash: Option<String>) -> Result<bool, Error> {
        let place = self.hashing.enter(None)?;
        let _running = place.run().await?;
        let secret = secret.to_string();
        let mut memory = self
            .memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        let (ok, memory) = tokio::task::spawn_blocking(move || {
            let ok = match &hash {
                Some(h) => verify_in(&secret, h, &mut memory),
                None => {
                    let _ = verify_in(&secret, unknown_principal_hash(), &mut memory);
                    false
                }
            };
            (ok, memory)
        })
        .await
        .map_err(Error::internal)?;
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(memory);
        Ok(ok)
    }
}

/// An argon2 hash of a random secret, computed once: what an unknown principal's secret is
/// checked against.
fn unknown_principal_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash(&secret()).unwrap_or_default())
}

/// Whether `secret` matches the argon2 PHC string `hash`, computed in `memory` (grown to the
/// hash's memory cost once, then reused).
fn verify_in(secret: &str, hash: &str, memory: &mut Vec<argon2::Block>) -> bool {
    use argon2::{Algorithm, Params, Version};
    let Ok(h) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(h.algorithm), Params::try_from(&h))
    else {
        return false;
    };
    let version = h
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or_default();
    let (Some(salt), Some(expected)) = (h.salt, h.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    memory.resize(params.block_count(), argon2::Block::default());
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(secret.as_bytes(), salt, &mut out, &mut memory[..])
        .is_ok()
        && argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// Recently verified credentials (SHA-256 of id and secret → tenant), so that argon2 runs
/// once per minute per client rather than on every request, and tenants recently looked up
/// (enabled, disabled or gone). Process memory only.
#[derive(Default)]
pub struct VerifiedCache {
    credentials: std::sync::Mutex<std::collections::HashMap<[u8; 32], (String, u64)>>,
    tenants: std::sync::Mutex<std::collections::HashMap<String, (Option<bool>, u64)>>,
}

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
        let map = self.credentials.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&Self::digest(key, secret))
            .filter(|(_, at)| now < at + CACHE_SECONDS)
            .map(|(t, _)| Tenant(t.clone()))
    }

    /// Forgets every verified credential of `tenant` and whether it is enabled (its secrets
    /// were rotated, or it was disabled, enabled or deleted).
    pub fn forget_tenant(&self, tenant: &str) {
        self.credentials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, (t, _)| t != tenant);
        self.tenants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(tenant);
    }

    /// Whether `tenant` was enabled (`Some(None)`: it did not exist) when looked up within
    /// the last minute; `None` when it was not.
    pub fn tenant_enabled(&self, tenant: &str) -> Option<Option<bool>> {
        let now = idv_store::now_ms() / 1000;
        let map = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        map.get(tenant)
            .filter(|(_, at)| now < at + CACHE_SECONDS)
            .map(|(e, _)| *e)
    }

    /// Remembers whether `tenant` is enabled (`None`: it does not exist).
    pub fn put_tenant(&self, tenant: &str, enabled: Option<bool>) {
        let now = idv_store::now_ms() / 1000;
        let mut map = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (_, at)| now < *at + CACHE_SECONDS);
        }
        map.insert(tenant.to_string(), (enabled, now));
    }

    /// Remembers a verified credential.
    pub fn put(&self, key: &str, secret: &str, tenant: &Tenant) {
        let now = idv_store::now_ms() / 1000;
        let mut map = self.credentials.lock().unwrap_or_else(|e| e.into_inner());
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
    /// When it was issued, Unix ms (reviewer sessions: a sign-out ends those issued before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat_ms: Option<u64>,
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
            iat_ms: None,
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
    fn reused_memory_verifies_like_the_library() {
        let h = hash("s3cret").unwrap();
        let mut memory = Vec::new();
        assert!(verify_in("s3cret", &h, &mut memory));
        assert_eq!(memory.len(), 19 * 1024, "argon2's default cost: 19 MiB");
        assert!(!verify_in("s3cret!", &h, &mut memory));
        assert!(verify_in("s3cret", &h, &mut memory), "the memory is reused");
        assert!(!verify_in("s3cret", "not a hash", &mut memory));
        assert_eq!(verify("s3cret", &h), verify_in("s3cret", &h, &mut memory));
    }

    #[tokio::test]
    async fn failed_sign_ins_are_throttled_per_principal_then_refill() {
        let g = AuthGuard::new(1, 2);
        let client = Some(std::net::IpAddr::from([192, 0, 2, 1]));
        for _ in 0..FAILURE_BURST as usize {
            assert!(g.admit("app_id:a", client).is_ok());
            g.failed("app_id:a", client);
        }
        let e = g.admit("app_id:a", client).unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::RateLimited);
        assert!(g.admit("app_id:b", client).is_ok(), "another principal");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert!(g.admit("app_id:a", client).is_ok(), "one per second again");
        assert!(
            !g.verify("x", None).await.unwrap(),
            "unknown principals never pass"
        );
    }

    #[test]
    fn password_hashes_verify() {
        let h = hash("s3cret").unwrap();
        assert!(verify("s3cret", &h));
        assert!(!verify("s3cret!", &h));
        assert!(!h.contains("s3cret"));
    }
}
