//! Retention: each tenant's [`RetentionPolicy`] applied by a sweep over its verifications.
//! Past the image period a verification's images go; past the personal-data period it is
//! erased as by `DELETE /v1/verifications/{id}` (tombstone kept); past the decision period
//! its tombstone and certificate go too; presigned uploads, used or not, go with the images. `idv serve` sweeps on a timer; every step is in the
//! audit trail (actor `retention`).

use serde::Serialize;

use crate::error::Error;
use crate::records::{CASES, RetentionPolicy, TENANTS, TOMBSTONES};
use crate::services::{Seen, Services};

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SweepReport {
    /// Verifications whose images went.
    pub images_purged: usize,
    /// Verifications erased (personal data).
    pub erased: usize,
    /// Tombstones (and certificates) removed.
    pub expired: usize,
    /// Presigned uploads removed (used or not).
    #[serde(default)]
    pub uploads_purged: usize,
    /// Chip challenges removed unused once expired.
    #[serde(default)]
    pub challenges_expired: usize,
}

/// Applies every tenant's policy at `now_ms`.
pub async fn sweep(state: &Services, now_ms: u64) -> Result<SweepReport, Error> {
    let records = state.records.as_ref();
    let mut report = SweepReport::default();
    for (tenant, t) in TENANTS.list(records, "").await? {
        let policy = t.retention;
        let mut seen: Vec<Seen> = Vec::new();
        for d in state.dialects.iter() {
            seen.extend(d.verifications(state, &tenant).await?);
        }
        let prefix = format!("{tenant}/");
        // Review cases, and erased verifications left only as tombstones, that no dialect
        // lists any more.
        let cases = Seen::all(CASES.list(records, &prefix).await?, &prefix, |c| {
            Some(c.received_at.as_str())
        });
        let tombs = Seen::all(TOMBSTONES.list(records, &prefix).await?, &prefix, |t| {
            t.requested_at.as_deref()
        });
        for s in cases.into_iter().chain(tombs) {
            if !seen.iter().any(|x| x.id == s.id) {
                seen.push(s);
            }
        }
        for s in seen {
            apply(state, &tenant, &s, &policy, now_ms, &mut report).await?;
        }
        report.challenges_expired += crate::chip::sweep(records, &tenant, now_ms).await?;
        let uploads = crate::uploads::sweep(state, &tenant, &policy, now_ms).await?;
        if uploads > 0 {
            report.uploads_purged += uploads;
            crate::audit::record(records, &tenant, "retention", "retention.uploads", None).await?;
        }
    }
    if report.erased + report.expired > 0 {
        records.scrub().await?;
    }
    Ok(report)
}

async fn apply(
    state: &Services,
    tenant: &str,
    s: &Seen,
    policy: &RetentionPolicy,
    now_ms: u64,
    report: &mut SweepReport,
) -> Result<(), Error> {
    let records = state.records.as_ref();
    let age = now_ms.saturating_sub(s.at_ms) / 1000;
    let audit = |action: &'static str| {
        crate::audit::record(records, tenant, "retention", action, Some(&s.id))
    };
    let key = format!("{tenant}/{}", s.id);
    if age >= policy.decisions_seconds {
        let Some(tomb) = TOMBSTONES.get(records, &key).await? else {
            // Erased first (the personal-data period is shorter), removed on the next sweep.
            return erase(state, tenant, s, report, &audit).await;
        };
        // Not bared yet: anything beyond the id and its times is still there (an approved
        // verification has no codes, yet its outcome and input hashes must go too).
        let t = &tomb.value;
        if t.certificate_kept || t.outcome.is_some() || !t.codes.is_empty() || !t.inputs.is_empty()
        {
            for d in state.dialects.iter() {
                d.expire_certificate(state, tenant, &s.id).await?;
            }
            // The receipt states what the tombstone did.
            records
                .remove(crate::receipts::RECEIPTS.name(), &key)
                .await?;
            // What is left of the tombstone: the id and its times.
            let mut bare = tomb.value;
            bare.outcome = None;
            bare.codes.clear();
            bare.inputs.clear();
            bare.certificate_kept = false;
            TOMBSTONES
                .replace(records, &key, tomb.version, &bare)
                .await?;
            report.expired += 1;
            audit("retention.expire").await?;
        }
        return Ok(());
    }
    if age >= policy.personal_data_seconds {
        if TOMBSTONES.get(records, &key).await?.is_none() {
            return erase(state, tenant, s, report, &audit).await;
        }
        return Ok(());
    }
    if age >= policy.images_seconds && crate::erase::purge_images(state, tenant, &s.id).await? > 0 {
        report.images_purged += 1;
        audit("retention.images").await?;
    }
    Ok(())
}

async fn erase<F, Fut>(
    state: &Services,
    tenant: &str,
    s: &Seen,
    report: &mut SweepReport,
    audit: &F,
) -> Result<(), Error>
where
    F: Fn(&'static str) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    if crate::erase::erase(state, tenant, &s.id, true)
        .await?
        .is_some()
    {
        report.erased += 1;
        audit("retention.erase").await?;
    }
    Ok(())
}

/// Seconds in a duration written `30d`, `12h`, `90m`, `45s` or `5y` (365 days).
pub fn parse_duration(text: &str) -> Result<u64, Error> {
    let bad = || {
        Error::new(
            crate::error::ErrorCode::InvalidField,
            format!("{text:?}: a duration is a number and s, m, h, d or y (e.g. 30d)"),
        )
    };
    let t = text.trim();
    let unit = t.chars().last().ok_or_else(bad)?;
    let n: u64 = t[..t.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'y' => 365 * 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

/// A change of retention periods; what is not given stays.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyChange {
    /// e.g. `30d`.
    pub images: Option<String>,
    pub personal_data: Option<String>,
    pub decisions: Option<String>,
}

/// Applies `change` to `tenant`'s policy; the policy as set. Images cannot outlive personal
/// data, nor personal data the decisions.
pub async fn set_policy(
    records: &dyn idv_store::RecordStore,
    tenant: &str,
    change: &PolicyChange,
) -> Result<RetentionPolicy, Error> {
    let current = TENANTS
        .get(records, tenant)
        .await?
        .ok_or_else(|| Error::not_found("tenant"))?
        .value
        .retention;
    let pick = |given: &Option<String>, now: u64| given.as_deref().map_or(Ok(now), parse_duration);
    let policy = RetentionPolicy {
        images_seconds: pick(&change.images, current.images_seconds)?,
        personal_data_seconds: pick(&change.personal_data, current.personal_data_seconds)?,
        decisions_seconds: pick(&change.decisions, current.decisions_seconds)?,
    };
    if policy.images_seconds > policy.personal_data_seconds
        || policy.personal_data_seconds > policy.decisions_seconds
    {
        return Err(Error::new(
            crate::error::ErrorCode::InvalidField,
            "images ≤ personal_data ≤ decisions",
        ));
    }
    TENANTS
        .update(records, tenant, |t| {
            t.retention = policy;
            true
        })
        .await?;
    crate::audit::record(records, tenant, "admin", "tenant.retention", None).await?;
    Ok(policy)
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_with_their_unit() {
        assert_eq!(super::parse_duration("30d").unwrap(), 30 * 86_400);
        assert_eq!(super::parse_duration("2s").unwrap(), 2);
        assert_eq!(super::parse_duration("5y").unwrap(), 5 * 365 * 86_400);
        for bad in ["", "d", "30", "3x", "-1d", "99999999999999999999y"] {
            assert!(super::parse_duration(bad).is_err(), "{bad}");
        }
    }
}
