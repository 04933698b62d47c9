//! The audit trail: per tenant, append-only and tamper-evident. Each entry names who did what
//! to which id (never personal data) and carries the SHA-256 of the entry before it, so an
//! edited, removed or reordered entry breaks the chain ([`verify`]).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::records::Table;

/// Audit entries, keyed `TENANT/SEQ` (20 digits, so key order is sequence order).
pub const AUDIT: Table<AuditEntry> = Table::new("audit");
/// Each tenant's last entry, keyed by tenant: where the next one goes.
pub const AUDIT_HEADS: Table<Head> = Table::new("audit_heads");

/// The `prev` of a tenant's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audited action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// 1, 2, 3, … per tenant, without gaps.
    pub seq: u64,
    /// RFC 3339, UTC.
    pub at: String,
    pub tenant: String,
    /// Who: `reviewer:USER`, `api_key`, `link`, `admin`.
    pub actor: String,
    /// What: `reviewer.login`, `case.view`, `case.claim`, `case.decide`,
    /// `certificate.download`, `webhook_secret.rotate`, `webhook_secret.drop_previous`,
    /// `tenant.create`, `reviewer.create`, `verification.delete`.
    pub action: String,
    /// The id acted on (a case, a request, a reviewer), if any.
    pub target: Option<String>,
    /// `hash` of the entry before (`GENESIS` for the first).
    pub prev: String,
    /// SHA-256 (hex) of this entry's other fields as canonical JSON (see [`AuditEntry::digest`]).
    pub hash: String,
}

/// A tenant's last entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

impl AuditEntry {
    /// SHA-256 (hex) of the JSON array `[seq, at, tenant, actor, action, target, prev]`.
    pub fn digest(&self) -> String {
        let fields = serde_json::json!([
            self.seq,
            self.at,
            self.tenant,
            self.actor,
            self.action,
            self.target,
            self.prev
        ]);
        hex::encode(Sha256::digest(fields.to_string().as_bytes()))
    }
}

fn key(tenant: &str, seq: u64) -> String {
    format!("{tenant}/{seq:020}")
}

/// Appends an entry to `tenant`'s trail. Concurrent appends each get their own place: the
/// entry is inserted conditionally at the next sequence number, and a lost race moves on.
pub async fn record(
    records: &dyn idv_store::RecordStore,
    tenant: &str,
    actor: &str,
    action: &str,
    target: Option<&str>,
) -> Result<(), Error> {
    for _ in 0..32 {
        let head = AUDIT_HEADS.get(records, tenant).await?;
        let (seq, prev) = match &head {
            Some(h) => (h.value.seq + 1, h.value.hash.clone()),
            None => (1, GENESIS.to_string()),
        };
        let mut entry = AuditEntry {
            seq,
            at: crate::clock::timestamp(),
            tenant: tenant.to_string(),
            actor: actor.to_string(),
            action: action.to_string(),
            target: target.map(str::to_string),
            prev,
            hash: String::new(),
        };
        entry.hash = entry.digest();
        let ours = match AUDIT.insert(records, &key(tenant, seq), &entry).await {
            Ok(()) => true,
            Err(e) if e.is_conflict() => false,
            Err(e) => return Err(e.into()),
        };
        // Whoever took `seq` (this append, or another that stopped before moving the head):
        // the head moves to it, then a lost race tries the next place.
        let taken = if ours {
            entry
        } else {
            match AUDIT.get(records, &key(tenant, seq)).await? {
                Some(e) => e.value,
                None => continue,
            }
        };
        let moved = Head {
            seq,
            hash: taken.hash,
        };
        let written = match &head {
            Some(h) => {
                AUDIT_HEADS
                    .replace(records, tenant, h.version, &moved)
                    .await
            }
            None => AUDIT_HEADS.insert(records, tenant, &moved).await,
        };
        match written {
            Err(e) if !e.is_conflict() => return Err(e.into()),
            _ if ours => return Ok(()),
            _ => {}
        }
    }
    Err(Error::from(idv_store::conflict(AUDIT.name(), tenant)))
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Broken {
    #[error("entry {seq}: its hash does not match its content (edited)")]
    Edited { seq: u64 },
    #[error("entry {seq}: does not follow the entry before it (removed, inserted or reordered)")]
    Unlinked { seq: u64 },
}

/// Checks a tenant's entries in order: each hash matches its content, each `prev` is the hash
/// before, sequence numbers run without gaps from `first.seq`. An export that starts later
/// (`after=`) is checked from its first entry on.
pub fn verify(entries: &[AuditEntry]) -> Result<(), Broken> {
    let mut before: Option<&AuditEntry> = None;
    for e in entries {
        if e.digest() != e.hash {
            return Err(Broken::Edited { seq: e.seq });
        }
        let linked = match before {
            Some(b) => e.seq == b.seq + 1 && e.prev == b.hash,
            None => e.seq != 1 || e.prev == GENESIS,
        };
        if !linked {
            return Err(Broken::Unlinked { seq: e.seq });
        }
        before = Some(e);
    }
    Ok(())
}

/// `GET /v1/audit` answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// The `after` of the next page, when there is one.
    pub next: Option<u64>,
}

/// The operator's own trail (tenant deletions, which take the tenant's trail with them).
pub const OPERATOR: &str = "_operator";

/// Every entry of `tenant`'s trail (or the operator's, [`OPERATOR`]), oldest first.
pub async fn entries(
    records: &dyn idv_store::RecordStore,
    tenant: &str,
) -> Result<Vec<AuditEntry>, Error> {
    Ok(AUDIT
        .list(records, &format!("{tenant}/"))
        .await?
        .into_iter()
        .map(|(_, e)| e)
        .collect())
}

/// One page of `tenant`'s trail: at most `limit` (1 to 1000) entries after sequence `after`.
pub async fn page(
    records: &dyn idv_store::RecordStore,
    tenant: &str,
    after: u64,
    limit: usize,
) -> Result<AuditPage, Error> {
    let limit = limit.clamp(1, 1000);
    let mut entries: Vec<AuditEntry> = AUDIT
        .list(records, &format!("{tenant}/"))
        .await?
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| e.seq > after)
        .take(limit + 1)
        .collect();
    let next = (entries.len() > limit).then(|| {
        entries.truncate(limit);
        entries.last().map_or(after, |e| e.seq)
    });
    Ok(AuditPage { entries, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    seq,
                    at: format!("2026-12-02T08:00:0{seq}Z"),
                    tenant: "t_1".into(),
                    actor: "reviewer:alice".into(),
                    action: "case.view".into(),
                    target: Some(format!("case-{seq}")),
                    prev: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.digest();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn a_chain_verifies_and_any_change_breaks_it() {
        let c = chain(4);
        assert_eq!(verify(&c), Ok(()));
        assert_eq!(
            verify(&c[2..]),
            Ok(()),
            "a later page checks from its first entry"
        );
        let mut edited = c.clone();
        edited[1].target = Some("case-9".into());
        assert_eq!(verify(&edited), Err(Broken::Edited { seq: 2 }));
        let mut removed = c.clone();
        removed.remove(2);
        assert_eq!(verify(&removed), Err(Broken::Unlinked { seq: 4 }));
        let mut rehashed = c.clone();
        rehashed[1].actor = "admin".into();
        rehashed[1].hash = rehashed[1].digest();
        assert_eq!(verify(&rehashed), Err(Broken::Unlinked { seq: 3 }));
    }
}
