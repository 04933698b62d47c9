//! A tenant's life after creation: disabled (every credential refused at once, work already
//! accepted finishes), enabled again, or deleted with all its data.

use serde::Serialize;

use crate::error::{Error, ErrorCode};
use crate::records::{CREDENTIALS, TENANTS, TenantRecord};
use crate::services::Dialect;

/// Disables (`true`) or enables `tenant`; audited as `tenant.disable` / `tenant.enable`.
/// Changing it to what it already is changes nothing. The caller forgets the tenant in its
/// credential cache.
pub async fn set_disabled(
    records: &dyn idv_store::RecordStore,
    tenant: &str,
    disabled: bool,
) -> Result<TenantRecord, Error> {
    let mut changed = false;
    let t = TENANTS
        .update(records, tenant, |t| {
            changed = t.disabled != disabled;
            t.disabled = disabled;
            changed
        })
        .await?;
    let t = match t {
        Some(t) => t,
        None => {
            TENANTS
                .get(records, tenant)
                .await?
                .ok_or_else(|| Error::not_found("tenant"))?
                .value
        }
    };
    if changed {
        let action = if disabled {
            "tenant.disable"
        } else {
            "tenant.enable"
        };
        crate::audit::record(records, tenant, "admin", action, None).await?;
        tracing::info!(tenant = %tenant, action, "tenant changed");
    }
    Ok(t)
}

/// What deleting a tenant removed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct DeletedTenant {
    pub tenant: String,
    /// Blobs: images, thumbnails, certificates, uploads.
    pub blobs: usize,
    /// Records: the tenant, its credentials and reviewers, jobs, verifications, review cases,
    /// callbacks, tombstones, receipts, uploads and chip challenges handed out and its audit
    /// trail.
    pub records: usize,
}

/// Tables whose keys start with `TENANT/`.
const PREFIXED: [&str; 7] = [
    crate::receipts::RECEIPTS.name(),
    crate::records::UPLOADS.name(),
    crate::chip::CHIP_CHALLENGES.name(),
    crate::records::CASES.name(),
    crate::records::CALLBACKS.name(),
    crate::records::TOMBSTONES.name(),
    crate::audit::AUDIT.name(),
];

/// Deletes disabled `tenant` and everything it holds: every blob under `TENANT/`, every
/// record of it in every table (its audit trail too), the tenant last — so a deletion cut
/// short is finished by running it again. Refuses an enabled tenant (409 `TENANT_ACTIVE`):
/// disabling first stops new work; messages still queued for it find nothing and are dropped.
pub async fn delete(
    records: &dyn idv_store::RecordStore,
    blobs: &dyn idv_store::BlobStore,
    dialects: &[std::sync::Arc<dyn Dialect>],
    tenant: &str,
) -> Result<DeletedTenant, Error> {
    let t = TENANTS
        .get(records, tenant)
        .await?
        .ok_or_else(|| Error::not_found("tenant"))?;
    if !t.value.disabled {
        return Err(Error::new(
            ErrorCode::TenantActive,
            "disable the tenant before deleting it",
        ));
    }
    let blob_count = blobs.delete_prefix(&format!("{tenant}/")).await?;
    let mut removed = 0;
    let prefix = format!("{tenant}/");
    for table in PREFIXED {
        removed += crate::records::remove_prefixed(records, table, &prefix).await?;
    }
    for (key, c) in CREDENTIALS.list(records, "").await? {
        if c.tenant == tenant {
            records.remove(CREDENTIALS.name(), &key).await?;
            removed += 1;
        }
    }
    for d in dialects {
        removed += d.delete_tenant(records, tenant).await?;
    }
    records
        .remove(crate::audit::AUDIT_HEADS.name(), tenant)
        .await?;
    records.remove(TENANTS.name(), tenant).await?;
    records.scrub().await?;
    // The tenant's own trail went with it: the deletion is in the operator's.
    crate::audit::record(
        records,
        crate::audit::OPERATOR,
        "admin",
        "tenant.delete",
        Some(tenant),
    )
    .await?;
    tracing::info!(tenant = %tenant, blobs = blob_count, records = removed + 1, "tenant deleted");
    Ok(DeletedTenant {
        tenant: tenant.to_string(),
        blobs: blob_count,
        records: removed + 1,
    })
}
