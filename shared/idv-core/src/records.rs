//! What idv keeps in its record store: one type per table, read and written through a typed
//! [`Table`]. Serde sits at the store's edge only; a record that does not parse is an error,
//! never a silently empty field.

use std::marker::PhantomData;

use idv_document::DocumentData;
use idv_pipeline::decision::DecisionReport;
pub use idv_pipeline::profile::Band;
use idv_store::{RecordStore, StoreError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A table of records of type `T`.
pub struct Table<T> {
    name: &'static str,
    record: PhantomData<fn() -> T>,
}

/// A record as read, with the version a conditional write must name.
#[derive(Debug, Clone)]
pub struct Stored<T> {
    pub value: T,
    pub version: u64,
}

impl<T> Table<T> {
    /// The table called `name`.
    pub const fn new(name: &'static str) -> Table<T> {
        Table {
            name,
            record: PhantomData,
        }
    }

    /// The table's name in the store.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<T: Serialize + DeserializeOwned> Table<T> {
    fn parse(&self, value: serde_json::Value) -> Result<T, Error> {
        serde_json::from_value(value).map_err(|e| {
            Error::internal(format!("a stored {} record does not parse: {e}", self.name))
        })
    }

    fn text(value: &T) -> Result<serde_json::Value, StoreError> {
        serde_json::to_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// The record at `key`.
    pub async fn get(
        &self,
        records: &dyn RecordStore,
        key: &str,
    ) -> Result<Option<Stored<T>>, Error> {
        let Some(r) = records.get(self.name, key).await? else {
            return Ok(None);
        };
        Ok(Some(Stored {
            value: self.parse(r.value)?,
            version: r.version,
        }))
    }

    /// Every record whose key starts with `prefix`, with its key.
    pub async fn list(
        &self,
        records: &dyn RecordStore,
        prefix: &str,
    ) -> Result<Vec<(String, T)>, Error> {
        records
            .list(self.name, prefix)
            .await?
            .into_iter()
            .map(|(k, r)| Ok((k, self.parse(r.value)?)))
            .collect()
    }

    /// Writes a new record; `Err(Conflict)` if `key` exists.
    pub async fn insert(
        &self,
        records: &dyn RecordStore,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        records.insert(self.name, key, Self::text(value)?).await
    }

    /// Replaces the record read at `version`; `Err(Conflict)` if it changed since.
    pub async fn replace(
        &self,
        records: &dyn RecordStore,
        key: &str,
        version: u64,
        value: &T,
    ) -> Result<(), StoreError> {
        records
            .replace(self.name, key, version, Self::text(value)?)
            .await
    }

    /// Reads the record at `key`, lets `change` edit it and writes it back conditionally;
    /// when another writer got in between, reads it again and re-applies `change` (a few
    /// times). `change` returns `false` to leave the record as it is. Returns the record as
    /// written, or `None` when it does not exist or `change` declined.
    pub async fn update(
        &self,
        records: &dyn RecordStore,
        key: &str,
        mut change: impl FnMut(&mut T) -> bool,
    ) -> Result<Option<T>, Error> {
        for _ in 0..8 {
            let Some(mut rec) = self.get(records, key).await? else {
                return Ok(None);
            };
            if !change(&mut rec.value) {
                return Ok(None);
            }
            match self.replace(records, key, rec.version, &rec.value).await {
                Ok(()) => return Ok(Some(rec.value)),
                Err(e) if e.is_conflict() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::from(idv_store::conflict(self.name, key)))
    }
}

/// `APPROVED`, `REVIEW` or `REJECTED`: a verification's outcome as records and certificates
/// spell it.
pub fn outcome_label(v: &idv_pipeline::Verification) -> String {
    format!("{:?}", v.decision.outcome()).to_uppercase()
}

/// Tenants, keyed by tenant id.
pub const TENANTS: Table<TenantRecord> = Table::new("tenants");
/// Hashed credentials, keyed `KIND:ID` (`app_id:…`, `api_key:…`, `link_user:…`, `reviewer:…`).
pub const CREDENTIALS: Table<Credential> = Table::new("credentials");
/// Manual-review cases, keyed `TENANT/ID`.
pub const CASES: Table<ReviewCase> = Table::new("reviews");
/// Callbacks and their delivery attempts, keyed `TENANT/EVENT`.
pub const CALLBACKS: Table<CallbackRecord> = Table::new("callbacks");

/// A tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantRecord {
    pub id: String,
    pub name: String,
    /// Where callbacks go when a request names none.
    pub callback_url: Option<String>,
    /// Secrets signing callbacks, newest first (two while a rotation is under way).
    #[serde(default)]
    pub webhook_secrets: Vec<String>,
    /// How long the tenant's data is kept.
    #[serde(default)]
    pub retention: RetentionPolicy,
    /// Disabled by an operator: every credential refused (403 `TENANT_DISABLED`); work
    /// already accepted finishes.
    #[serde(default)]
    pub disabled: bool,
}

/// How long a tenant's data is kept, in seconds from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RetentionPolicy {
    /// Images (inputs, certificate thumbnails, review-case images). Default 30 days.
    pub images_seconds: u64,
    /// Personal data: then the verification is erased as by `DELETE /v1/verifications/{id}`
    /// (tombstone and certificate kept). Default 90 days.
    pub personal_data_seconds: u64,
    /// Tombstones and certificates (AML record keeping): then both go. Default 5 years.
    pub decisions_seconds: u64,
}

impl Default for RetentionPolicy {
    fn default() -> RetentionPolicy {
        const DAY: u64 = 86_400;
        RetentionPolicy {
            images_seconds: 30 * DAY,
            personal_data_seconds: 90 * DAY,
            decisions_seconds: 5 * 365 * DAY,
        }
    }
}

impl TenantRecord {
    /// The tenant's default callback URL, if set.
    pub fn callback(&self) -> Option<&str> {
        self.callback_url.as_deref().filter(|u| !u.is_empty())
    }
}

/// One credential: its tenant and the argon2 hash of its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    pub tenant: String,
    pub hash: String,
    /// Refused from now on (a reviewer who left); the record stays for the audit trail.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// A reviewer's last sign-out, Unix ms: sessions issued before it are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_out_at_ms: Option<u64>,
}

/// An input's name and the SHA-256 of its bytes as received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InputDigest {
    pub name: String,
    pub sha256: String,
}

/// A stored image with its caption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thumbnail {
    pub caption: String,
    pub key: String,
}

/// A model file and the package it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelUsed {
    pub file: String,
    pub package: String,
}

/// The thresholds the verification ran with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub face_match: Band,
    pub liveness: Band,
}

/// What a certificate shows, recorded when the verification is answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertificationMaterial {
    pub received_at: String,
    /// `APPROVED`, `REVIEW` or `REJECTED`.
    pub outcome: String,
    pub decision: DecisionReport,
    pub data: Option<DocumentData>,
    pub face_match: Option<f32>,
    pub liveness: Option<f32>,
    pub profile: String,
    pub thresholds: Option<Thresholds>,
    pub inputs: Vec<InputDigest>,
    pub thumbnails: Vec<Thumbnail>,
    /// The models that produced this result, as deployed where it ran.
    pub models: Vec<ModelUsed>,
    /// The issuing country the request named (LINK `expeditorCountry`).
    #[serde(default)]
    pub expeditor_country: Option<String>,
    /// Whether the document names that country (`None`: not asked, or not read).
    #[serde(default)]
    pub expeditor_matched: Option<bool>,
    /// The chip's verdict, when the document's chip was sent.
    #[serde(default)]
    pub chip: Option<ChipSummary>,
}

/// Where a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Pending,
    Claimed,
    Decided,
}

/// One image of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseImage {
    pub caption: String,
    pub key: String,
    pub width: u32,
    pub height: u32,
    /// Face boxes `[x, y, width, height]` in pixels.
    pub faces: Vec<[f32; 4]>,
}

/// The automatic result shown beside a case.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AutomaticResult {
    /// `APPROVED`, `REVIEW` or `REJECTED`.
    pub outcome: String,
    pub decision: DecisionReport,
    pub face_match: Option<f32>,
    pub liveness: Option<f32>,
    pub data: Option<DocumentData>,
}

/// A manual-review case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewCase {
    pub id: String,
    pub tenant: String,
    pub status: CaseStatus,
    pub received_at: String,
    pub images: Vec<CaseImage>,
    pub automatic: AutomaticResult,
    /// LINK's `extractedData`, prefilled from the automatic reading.
    #[serde(rename = "extractedData")]
    pub extracted_data: ExtractedData,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    /// Unix seconds until which the claim holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ReviewOutcome>,
}

impl ReviewCase {
    /// Whether `who` (or, with `None`, anyone) holds an unexpired claim at `now`.
    pub fn held_by(&self, who: Option<&str>, now: u64) -> bool {
        self.lease_until.unwrap_or(0) > now
            && who.is_none_or(|w| self.claimed_by.as_deref() == Some(w))
    }
}

/// A finding: result and reasons (LINK's shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    pub result: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

/// A reviewer's decision, as LINK's `ManualIDVerification` callback reports it. A document
/// whose images were `REJECTED` has no findings (nothing was judged), likewise the faces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewOutcome {
    pub acceptance: Finding,
    pub authenticity: Option<Finding>,
    pub originality: Option<Finding>,
    pub validity: Option<Finding>,
    pub extracted_data: Option<ExtractedData>,
    pub face_acceptance: Finding,
    pub face_comparison_approval: Option<String>,
    pub face_liveness_approval: Option<String>,
}

impl ReviewOutcome {
    /// Whether the document's images were accepted for processing.
    pub fn document_accepted(&self) -> bool {
        self.acceptance.result == "ACCEPTED"
    }

    /// Whether the faces were accepted for comparison.
    pub fn faces_accepted(&self) -> bool {
        self.face_acceptance.result == "ACCEPTED"
    }

    /// Whether the document was approved: accepted, authentic, original and valid.
    pub fn document_approved(&self) -> bool {
        let is = |f: &Option<Finding>, ok: &str| f.as_ref().is_some_and(|f| f.result == ok);
        self.document_accepted()
            && is(&self.authenticity, "AUTHENTIC")
            && is(&self.originality, "ORIGINAL")
            && is(&self.validity, "VALID")
    }
}

/// LINK's `extractedData` block.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExtractedData {
    pub document_attributes: DocumentAttributes,
    pub person_attributes: PersonAttributes,
    pub name: PersonName,
    pub address: Address,
}

/// `extractedData.documentAttributes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct DocumentAttributes {
    pub country_code_of_issuance: String,
    pub date_of_expiry: String,
    pub date_of_issuance: String,
    pub document_number: String,
    pub document_type: String,
    pub issuing_authority: String,
    pub state_or_province_of_issuance: String,
}

/// `extractedData.personAttributes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PersonAttributes {
    pub date_of_birth: String,
    pub gender: String,
    pub nationality_code: String,
    pub personal_government_id: String,
    pub place_of_birth: String,
}

/// `extractedData.name`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PersonName {
    pub first_surname: String,
    pub full_name: String,
    pub given_names: String,
    pub second_surname: String,
    pub surname: String,
}

/// `extractedData.address`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub parsed_address: ParsedAddress,
    pub unparsed_address: AddressLines,
}

/// Four address lines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AddressLines {
    #[serde(rename = "addressLine1")]
    pub line1: String,
    #[serde(rename = "addressLine2")]
    pub line2: String,
    #[serde(rename = "addressLine3")]
    pub line3: String,
    #[serde(rename = "addressLine4")]
    pub line4: String,
}

/// The address lines and their parts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ParsedAddress {
    #[serde(rename = "addressLine1")]
    pub line1: String,
    #[serde(rename = "addressLine2")]
    pub line2: String,
    #[serde(rename = "addressLine3")]
    pub line3: String,
    #[serde(rename = "addressLine4")]
    pub line4: String,
    pub city: String,
    pub postal_code: String,
    pub state_or_province: String,
}

/// Where a callback is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    /// Not attempted yet.
    Pending,
    /// An attempt failed; the next one is due at `next_attempt_at`.
    Retrying,
    /// The receiver answered 2xx.
    Delivered,
    /// The target is never allowed (scheme, or a private address); not retried.
    Refused,
    /// Every attempt of the schedule failed; the message is on the dead-letter queue.
    #[serde(alias = "failed")]
    DeadLettered,
    /// Its verification was erased before delivery: never sent.
    Cancelled,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attempt {
    pub at: String,
    /// The receiver's HTTP status; `null` when none came back.
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A callback and its attempts (what `GET /v1/callbacks/{id}` shows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CallbackRecord {
    pub id: String,
    pub url: String,
    pub status: CallbackStatus,
    pub created_at: String,
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due (UTC), while `retrying`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    /// The same in milliseconds since the Unix epoch: no attempt is made before it, even
    /// after a restart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_ms: Option<u64>,
}

/// Removes every record of `table` whose key starts with `prefix`; how many.
pub async fn remove_prefixed(
    records: &dyn RecordStore,
    table: &str,
    prefix: &str,
) -> Result<usize, Error> {
    let keys = records.list(table, prefix).await?;
    for (key, _) in &keys {
        records.remove(table, key).await?;
    }
    Ok(keys.len())
}

/// Tombstones of erased verifications, keyed `TENANT/ID`.
pub const TOMBSTONES: Table<Tombstone> = Table::new("tombstones");

/// What is kept of an erased verification: no image, no personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Tombstone {
    /// The id the dialect gave (Kairos `api_req_uid`, LINK `id`, one-call `verificationId`).
    pub id: String,
    /// `kairos`, `link` or `onecall`.
    pub dialect: String,
    pub requested_at: Option<String>,
    pub deleted_at: String,
    /// The outcome as the dialect said it (`APPROVED`/`REVIEW`/`REJECTED`; LINK `Ok`,
    /// `Warning`, `NotCorrect`), when the verification had finished.
    pub outcome: Option<String>,
    /// The decision's detail codes.
    pub codes: Vec<String>,
    /// SHA-256 of each input image as received.
    pub inputs: Vec<InputDigest>,
    /// Whether the signed certificate is kept (`GET /certificate/{id}`).
    pub certificate_kept: bool,
}

/// A presigned upload handed out, keyed by its blob key `TENANT/uploads/ID`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upload {
    /// Unix ms when the URL was issued.
    pub issued_at_ms: u64,
    /// The credential (`KIND:ID`) that asked for it.
    pub credential: String,
    /// SHA-256 of that credential's hash when it asked: a rotated credential's URLs die.
    pub credential_digest: String,
    /// Whether its one PUT was received.
    #[serde(default)]
    pub received: bool,
}

/// Uploads handed out, keyed `TENANT/uploads/ID`.
pub const UPLOADS: Table<Upload> = Table::new("uploads");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_earlier_versions_still_parse() {
        let case: CallbackRecord = serde_json::from_value(serde_json::json!({
            "id": "evt_1", "url": "https://example.org/cb", "status": "pending",
            "created_at": "2026-11-30 10:00:00",
            "attempts": [{"at": "2026-11-30 10:00:01", "status_code": null, "latency_ms": 3, "error": "dns"}],
        }))
        .unwrap();
        assert_eq!(case.attempts[0].error.as_deref(), Some("dns"));
        let tenant: TenantRecord = serde_json::from_value(serde_json::json!({
            "name": "acme", "id": "t_1", "callback_url": null, "webhook_secrets": ["whsec_x"],
        }))
        .unwrap();
        assert_eq!(tenant.callback(), None);
    }

    #[test]
    fn extracted_data_keeps_links_field_names() {
        let mut e = ExtractedData::default();
        e.address.parsed_address.line1 = "1 Main St".into();
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(j["address"]["parsedAddress"]["addressLine1"], "1 Main St");
        assert_eq!(j["address"]["unparsedAddress"]["addressLine4"], "");
        assert_eq!(j["documentAttributes"]["countryCodeOfIssuance"], "");
        assert_eq!(j["name"]["secondSurname"], "");
        let back: ExtractedData = serde_json::from_value(j).unwrap();
        assert_eq!(back, e);
    }
}

/// What a receipt and a certificate state of the chip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChipSummary {
    /// Passive Authentication, DG1 against the print, Active Authentication and DG2's face
    /// all held.
    pub verified: bool,
    /// `CHIP_VERIFIED`, or the findings that failed.
    pub findings: Vec<String>,
    /// The Document Signer's subject.
    pub signer: Option<String>,
    /// The issuing CSCA's subject.
    pub csca: Option<String>,
    pub mrz_match: Option<bool>,
    /// `None`: not asked for.
    pub active_authentication: Option<bool>,
}

impl ChipSummary {
    /// The summary of `v`'s chip, when it had one.
    pub fn of(v: &idv_pipeline::Verification) -> Option<ChipSummary> {
        let c = v.chip.as_ref()?;
        let pa = &c.report.passive_authentication;
        Some(ChipSummary {
            verified: c.verified,
            findings: c.findings.iter().map(|f| f.to_string()).collect(),
            signer: pa.signer.clone(),
            csca: pa.csca.clone(),
            mrz_match: c.report.mrz_match,
            active_authentication: if c.aa_refused.is_some() {
                Some(false)
            } else {
                c.report.active_authentication.as_ref().map(|a| a.valid)
            },
        })
    }

    /// One line for a certificate.
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        if self.verified {
            parts.push(format!(
                "verified (ICAO 9303 Passive Authentication): signed by {}, issued by CSCA {}",
                self.signer.as_deref().unwrap_or("?"),
                self.csca.as_deref().unwrap_or("?")
            ));
        } else {
            parts.push(format!("not verified: {}", self.findings.join(", ")));
        }
        match self.mrz_match {
            Some(true) => parts.push("its MRZ (DG1) equals the printed one".into()),
            Some(false) => parts.push("its MRZ (DG1) differs from the printed one".into()),
            None => {}
        }
        match self.active_authentication {
            Some(true) => parts.push("Active Authentication passed".into()),
            Some(false) => parts.push("Active Authentication failed".into()),
            None => {}
        }
        parts.join("; ")
    }
}
