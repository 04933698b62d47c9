//! Accounts: tenants created with credentials of every dialect (Kairos `app_id`/`app_key`,
//! one-call `x-api-key`, LINK user/password), their API secrets rotated, and their
//! reviewers. Secrets are stored as argon2 hashes.

use serde::Serialize;

use crate::credentials::{hash, secret, short_id, webhook_secret};
use crate::error::{Error, on_conflict};
use crate::records::{CREDENTIALS, Credential, TENANTS, TenantRecord};

/// A tenant's new credentials, shown once at creation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

/// Creates tenant `name` with fresh credentials of every dialect, and its default callback URL.
pub async fn create_tenant(
    records: &dyn idv_store::RecordStore,
    name: &str,
    callback_url: Option<&str>,
) -> Result<NewTenant, Error> {
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
            signed_out_at_ms: None,
        };
        on_conflict(CREDENTIALS.insert(records, &key, &value).await, || {
            Error::internal("credential id collision")
        })?;
    }
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
) -> Result<NewTenant, Error> {
    let t = TENANTS
        .get(records, tenant)
        .await?
        .ok_or_else(|| Error::not_found("tenant"))?
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
) -> Result<Vec<ReviewerSummary>, Error> {
    Ok(CREDENTIALS
        .list(records, "reviewer:")
        .await?
        .into_iter()
        .filter(|(_, c)| c.tenant == tenant)
        .map(|(k, c)| ReviewerSummary {
            user: k.trim_start_matches("reviewer:").to_string(),
            disabled: c.disabled,
        })
        .collect())
}

/// A reviewer as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewerSummary {
    pub user: String,
    pub disabled: bool,
}

/// A tenant as listed: no secrets.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantSummary {
    pub tenant: String,
    pub name: String,
    pub callback_url: Option<String>,
    pub disabled: bool,
}

/// Every tenant, as listed.
pub async fn tenant_list(
    records: &dyn idv_store::RecordStore,
) -> Result<Vec<TenantSummary>, Error> {
    Ok(TENANTS
        .list(records, "")
        .await?
        .into_iter()
        .map(|(_, t)| TenantSummary {
            tenant: t.id,
            name: t.name,
            callback_url: t.callback_url,
            disabled: t.disabled,
        })
        .collect())
}

/// A tenant as shown: no secrets, with its retention periods.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TenantView {
    pub tenant: String,
    pub name: String,
    pub callback_url: Option<String>,
    pub disabled: bool,
    pub retention: RetentionView,
}

/// A tenant's retention periods, in days and as set (seconds).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RetentionView {
    pub images_days: f64,
    pub personal_data_days: f64,
    pub decisions_days: f64,
    pub seconds: crate::records::RetentionPolicy,
}

/// Tenant `id` as shown, or 404.
pub async fn tenant_view(
    records: &dyn idv_store::RecordStore,
    id: &str,
) -> Result<TenantView, Error> {
    let t = TENANTS
        .get(records, id)
        .await?
        .ok_or_else(|| Error::not_found("tenant"))?
        .value;
    let r = t.retention;
    let days = |s: u64| s as f64 / 86_400.0;
    Ok(TenantView {
        tenant: t.id,
        name: t.name,
        callback_url: t.callback_url,
        disabled: t.disabled,
        retention: RetentionView {
            images_days: days(r.images_seconds),
            personal_data_days: days(r.personal_data_seconds),
            decisions_days: days(r.decisions_seconds),
            seconds: r,
        },
    })
}

/// Disables reviewer `user`: sign-in and sessions already open are refused from now on.
pub async fn disable_reviewer_in(
    records: &dyn idv_store::RecordStore,
    user: &str,
) -> Result<String, Error> {
    let c = CREDENTIALS
        .update(records, &format!("reviewer:{user}"), |c| {
            c.disabled = true;
            true
        })
        .await?
        .ok_or_else(|| Error::not_found("reviewer"))?;
    crate::audit::record(records, &c.tenant, "admin", "reviewer.disable", Some(user)).await?;
    Ok(c.tenant)
}

/// A reviewer's credentials, created by `idv reviewer create`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
) -> Result<NewReviewer, Error> {
    if TENANTS.get(records, tenant).await?.is_none() {
        return Err(Error::not_found("tenant"));
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
        signed_out_at_ms: None,
    };
    let inserted = CREDENTIALS
        .insert(records, &format!("reviewer:{}", r.user), &value)
        .await;
    on_conflict(inserted, || Error::internal("reviewer id collision"))?;
    crate::audit::record(records, tenant, "admin", "reviewer.create", Some(&r.user)).await?;
    Ok(r)
}
