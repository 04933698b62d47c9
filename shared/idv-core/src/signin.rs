//! Sign-in: a credential id and secret checked against its argon2 hash (bounded work, failures
//! budgeted per principal and per client address, successes cached for a minute), the
//! tenant's state checked, and LINK's bearer tokens (HS256 JWTs) issued and verified.

use std::net::IpAddr;

use crate::credentials::{Claims, Tenant, sign_jwt, verify_jwt};
use crate::error::{Error, ErrorCode};
use crate::records::{CREDENTIALS, TENANTS};
use crate::services::Services;

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

/// The longest credential `KIND:ID` any credential has (a LINK user is a name of at most 100
/// characters and a short id): a longer one is refused before it is looked up or budgeted.
pub const MAX_CREDENTIAL_ID: usize = 160;
/// The longest secret any credential has (an API key is under 100 characters).
pub const MAX_SECRET: usize = 1024;

/// The tenant of credential `key` (e.g. `app_id:ID`) when `secret` is its secret, or 401;
/// `client` is the caller's address where known, for its failure budget.
pub async fn check(
    state: &Services,
    client: Option<IpAddr>,
    key: &str,
    secret: &str,
) -> Result<Tenant, Error> {
    if key.len() > MAX_CREDENTIAL_ID || secret.len() > MAX_SECRET {
        // Names no credential: only the client's budget is charged, nothing of it is kept.
        state.auth.admit_address(client)?;
        state.auth.failed_address(client);
        return Err(Error::unauthorized());
    }
    if let Some(t) = state.verified.get(key, secret) {
        return Ok(t);
    }
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
        return Err(Error::unauthorized());
    };
    let t = Tenant(tenant);
    state.auth.succeeded(key, client);
    state.verified.put(key, secret, &t);
    Ok(t)
}

/// Checks a reviewer's user and password; returns their tenant.
pub async fn check_reviewer(
    state: &Services,
    client: Option<IpAddr>,
    user: &str,
    password: &str,
) -> Result<Tenant, Error> {
    let tenant = check(state, client, &format!("reviewer:{user}"), password).await?;
    active(state, &tenant.0).await?;
    Ok(tenant)
}

/// Refuses a tenant that is disabled (403) or gone (401), then one over its request rate.
pub async fn tenant_in_good_standing(state: &Services, tenant: Tenant) -> Result<Tenant, Error> {
    active(state, &tenant.0).await?;
    state.limiter.check(&tenant.0)?;
    Ok(tenant)
}

/// Whether `tenant` may use its credentials: 403 `TENANT_DISABLED` once disabled, 401 once
/// deleted. Looked up at most once a minute per process (at once here after a change through
/// this process, see [`crate::credentials::VerifiedCache::forget_tenant`]).
pub async fn active(state: &Services, tenant: &str) -> Result<(), Error> {
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
        Some(false) => Err(Error::new(
            ErrorCode::TenantDisabled,
            "this tenant is disabled",
        )),
        None => Err(Error::unauthorized()),
    }
}

/// LINK: user + password → a signed token.
pub async fn issue_token(
    state: &Services,
    client: Option<IpAddr>,
    user: &str,
    password: &str,
) -> Result<(String, u64), Error> {
    let tenant = check(state, client, &format!("link_user:{user}"), password).await?;
    active(state, &tenant.0).await?;
    let exp = idv_store::now_ms() / 1000 + TOKEN_SECONDS;
    let claims = Claims {
        sub: tenant.0,
        scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        exp,
        iat_ms: None,
    };
    Ok((sign_jwt(&state.config.token_secret, &claims), TOKEN_SECONDS))
}

/// The tenant of LINK bearer token `token` when it is unexpired and carries `scope`, or 401;
/// then as [`tenant_in_good_standing`].
pub async fn bearer(state: &Services, token: &str, scope: &str) -> Result<Tenant, Error> {
    let claims = verify_jwt(&state.config.token_secret, token).ok_or_else(Error::unauthorized)?;
    if claims.exp <= idv_store::now_ms() / 1000 || !claims.scopes.iter().any(|s| s == scope) {
        return Err(Error::unauthorized());
    }
    tenant_in_good_standing(state, Tenant(claims.sub)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn huge_names_are_refused_without_being_kept() {
        let dir = std::env::temp_dir().join(format!("idv-signin-{}", std::process::id()));
        let s = Services::embedded(&dir, Vec::new());
        let client = Some(IpAddr::from([192, 0, 2, 7]));
        let huge = format!("link_user:{}", "a".repeat(1 << 20));
        for _ in 0..5 {
            let e = check(&s, client, &huge, "pw").await.err().unwrap();
            assert_eq!(e.code, ErrorCode::Unauthorized);
        }
        assert!(
            s.auth.principal_bytes() < 1024,
            "a failure budget kept the name"
        );
        // An ordinary unknown name is still budgeted per principal.
        let e = check(&s, client, "link_user:nobody", "pw")
            .await
            .err()
            .unwrap();
        assert_eq!(e.code, ErrorCode::Unauthorized);
        assert!(s.auth.principal_bytes() > 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn failures_from_elsewhere_do_not_lock_out_a_client_that_signed_in() {
        let dir = std::env::temp_dir().join(format!("idv-lockout-{}", std::process::id()));
        let s = Services::embedded(&dir, Vec::new());
        let t = crate::accounts::create_tenant(s.records.as_ref(), "acme", None)
            .await
            .unwrap();
        let key = format!("app_id:{}", t.app_id);
        let real = Some(IpAddr::from([192, 0, 2, 1]));
        check(&s, real, &key, &t.app_key).await.unwrap();
        // Wrong keys from 30 rotating addresses spend the principal's budget.
        for i in 0..30u8 {
            let _ = check(&s, Some(IpAddr::from([198, 51, 100, i])), &key, "wrong").await;
        }
        // The minute's cache of verified credentials gone: a new address is throttled, even
        // with the right key, and the real client still signs in.
        s.verified.forget_tenant(&t.tenant);
        let stranger = Some(IpAddr::from([198, 51, 100, 200]));
        let e = check(&s, stranger, &key, &t.app_key).await.err().unwrap();
        assert_eq!(e.code, ErrorCode::RateLimited, "a new address is throttled");
        assert_eq!(check(&s, real, &key, &t.app_key).await.unwrap().0, t.tenant);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
