//! Manual review (LINK `manualVerification`): cases in the tenant's review queue, a reviewer
//! API (list, claim with a lease, decide) behind reviewer credentials, the reviewer console
//! (one static page), and the `ManualIDVerification` callback with the seed's shape.

use idv_document::{DocumentData, Field};
use idv_pipeline::Verification;
use idv_store::{BlobKey, BlobStore, RecordStore};
use serde::{Deserialize, Serialize};

use crate::clock::timestamp;
use crate::error::{Error, ErrorCode, on_conflict};
use crate::records::{
    Address, AddressLines, AutomaticResult, CASES, CaseImage, CaseStatus, DocumentAttributes,
    ExtractedData, Finding, ParsedAddress, PersonAttributes, PersonName, ReviewCase, ReviewOutcome,
};
use crate::services::Services;
/// How long a claim holds a case, seconds.
pub const LEASE_SECONDS: u64 = 900;

/// Document acceptance reasons (the seed's list).
pub const ACCEPTANCE_REASONS: &[&str] = &[
    "GLARE",
    "INCOMPLETE_DOCUMENT",
    "NOT_VISIBLE_FOUR_CORNERS",
    "NOT_VISIBLE_SECURITY_FEATURES",
    "OUT_OF_FOCUS",
    "POOR_CONTRAST",
    "POOR_EXPOSURE",
    "UNCLASSIFIED_DOCUMENT",
    "UNREADABLE_FIELD",
    "UNSUPPORTED_LANGUAGE",
];
/// NOT_AUTHENTIC reasons.
pub const AUTHENTICITY_REASONS: &[&str] = &[
    "EVIDENCE_OF_FORGERY_BIODATA_FONTS",
    "EVIDENCE_OF_FORGERY_MRZ_FONTS",
    "EVIDENCE_OF_FORGERY_NOT_HUMAN_FACE",
    "EVIDENCE_OF_FORGERY_PHOTO_ZONE",
    "EVIDENCE_OF_FORGERY_SIGNATURE",
];
/// NOT_ORIGINAL reasons.
pub const ORIGINALITY_REASONS: &[&str] = &[
    "EVIDENCE_OF_FORGERY_BLACK_AND_WHITE_COPY",
    "EVIDENCE_OF_FORGERY_DOCUMENT_STRUCTURE",
];
/// NOT_VALID reasons.
pub const VALIDITY_REASONS: &[&str] = &[
    "EVIDENCE_OF_FORGERY_MRZ_CHECKSUMS",
    "EXPIRED_OR_INVALIDATED",
];
/// Face-comparison acceptance reasons.
pub const FACE_REASONS: &[&str] = &[
    "MISSING_SELFIE",
    "MISSING_PORTRAIT",
    "NOT_HUMAN_FACE",
    "PARTIALLY_VISIBLE_HUMAN_FACE",
    "PORTRAIT_IS_FAKE",
    "SELFIE_NOT_LIVE",
    "OUT_OF_FOCUS",
    "POOR_CONTRAST",
    "POOR_EXPOSURE",
    "GLARE",
    "FACE_TOO_CLOSE_SELFIE_IMAGE",
    "FACE_TOO_FAR_SELFIE_IMAGE",
    "FACE_ANGLE_TOO_LARGE_SELFIE_IMAGE",
    "QUALITY_TOO_LOW_SELFIE_IMAGE",
    "TOO_MANY_FACES_SELFIE_IMAGE",
];

pub fn now() -> u64 {
    crate::clock::unix()
}

/// LINK's `extractedData`, prefilled from the automatic reading.
pub fn extracted_data(data: Option<&DocumentData>, document_type: Option<&str>) -> ExtractedData {
    let kind = match document_type {
        Some("passport") | Some("travel_document") => "PASSPORT",
        Some("national_id") | Some("id_card") => "IDENTITY_CARD",
        Some("drivers_license") => "DRIVING_LICENSE",
        Some("visa") => "VISA",
        _ => "",
    };
    let empty = DocumentData::default();
    let d = data.unwrap_or(&empty);
    let s = |f: &Option<Field<String>>| f.as_ref().map(|f| f.value.clone()).unwrap_or_default();
    // Street lines, then "CITY, STATE POSTCODE" as the last line (as printed on a card).
    let join = |parts: [String; 2], sep: &str| {
        parts
            .into_iter()
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
            .join(sep)
    };
    let region = join([s(&d.address_state), s(&d.address_postal_code)], " ");
    let last_line = join([s(&d.address_city), region], ", ");
    let mut lines = [s(&d.address_street), s(&d.address_street2), last_line]
        .into_iter()
        .filter(|l| !l.is_empty());
    let lines = AddressLines {
        line1: lines.next().unwrap_or_default(),
        line2: lines.next().unwrap_or_default(),
        line3: lines.next().unwrap_or_default(),
        line4: String::new(),
    };
    ExtractedData {
        document_attributes: DocumentAttributes {
            country_code_of_issuance: s(&d.country_iso3),
            date_of_expiry: s(&d.expiry),
            date_of_issuance: s(&d.issued),
            document_number: s(&d.document_number),
            document_type: kind.into(),
            issuing_authority: s(&d.issuing_authority),
            state_or_province_of_issuance: if kind == "DRIVING_LICENSE" {
                s(&d.address_state)
            } else {
                String::new()
            },
        },
        person_attributes: PersonAttributes {
            date_of_birth: s(&d.dob),
            gender: s(&d.sex),
            nationality_code: s(&d.nationality_iso3),
            personal_government_id: s(&d.personal_number),
            place_of_birth: s(&d.place_of_birth),
        },
        name: PersonName {
            first_surname: s(&d.last_name),
            full_name: s(&d.full_name),
            given_names: s(&d.first_name),
            second_surname: String::new(),
            surname: s(&d.last_name),
        },
        address: Address {
            parsed_address: ParsedAddress {
                line1: lines.line1.clone(),
                line2: lines.line2.clone(),
                line3: lines.line3.clone(),
                line4: String::new(),
                city: s(&d.address_city),
                postal_code: s(&d.address_postal_code),
                state_or_province: s(&d.address_state),
            },
            unparsed_address: lines,
        },
    }
}

/// One image of a new case: caption, bytes as received, (width, height), face boxes
/// `[x, y, w, h]`.
pub type NewImage<'a> = (&'a str, Vec<u8>, (u32, u32), Vec<[f32; 4]>);

/// Opens a review case for a verification sent to manual review.
pub async fn open_case(
    blobs: &dyn BlobStore,
    records: &dyn RecordStore,
    tenant: &str,
    id: &str,
    v: &Verification,
    images: Vec<NewImage<'_>>,
) -> Result<(), Error> {
    let mut stored = Vec::new();
    for (i, (caption, bytes, (width, height), faces)) in images.into_iter().enumerate() {
        let key = BlobKey::temporary(format!("{tenant}/review/{id}/{i}"))?;
        blobs.put(&key, bytes, "application/octet-stream").await?;
        stored.push(CaseImage {
            caption: caption.to_string(),
            key: key.to_string(),
            width,
            height,
            faces,
        });
    }
    let report = v.document_report();
    let case = ReviewCase {
        id: id.to_string(),
        tenant: tenant.to_string(),
        status: CaseStatus::Pending,
        received_at: timestamp(),
        images: stored,
        automatic: AutomaticResult {
            outcome: crate::records::outcome_label(v),
            decision: v.decision.clone(),
            face_match: v.face_match_confidence(),
            liveness: v.liveness(),
            data: v.document_data().cloned(),
        },
        extracted_data: extracted_data(v.document_data(), report.and_then(|d| d.document_type)),
        claimed_by: None,
        lease_until: None,
        decided_by: None,
        decided_at: None,
        result: None,
    };
    CASES
        .insert(records, &format!("{tenant}/{id}"), &case)
        .await?;
    Ok(())
}

pub async fn load(
    records: &dyn RecordStore,
    tenant: &str,
    id: &str,
) -> Result<crate::records::Stored<ReviewCase>, Error> {
    CASES
        .get(records, &format!("{tenant}/{id}"))
        .await?
        .ok_or_else(|| Error::not_found("case"))
}

/// A case not decided yet, or 409 `CASE_DECIDED`.
pub async fn load_open(
    records: &dyn RecordStore,
    tenant: &str,
    id: &str,
) -> Result<crate::records::Stored<ReviewCase>, Error> {
    let rec = load(records, tenant, id).await?;
    if rec.value.status == CaseStatus::Decided {
        return Err(Error::new(
            ErrorCode::CaseDecided,
            "the case is already decided",
        ));
    }
    Ok(rec)
}

/// Writes case `id` over the version read; `lost` is the answer when another writer got in
/// between.
pub async fn save(
    records: &dyn RecordStore,
    tenant: &str,
    id: &str,
    version: u64,
    case: &ReviewCase,
    lost: impl FnOnce() -> Error,
) -> Result<(), Error> {
    let key = format!("{tenant}/{id}");
    on_conflict(CASES.replace(records, &key, version, case).await, lost)
}

/// The reviewer's decision (`POST /review/api/cases/{id}/decision` body), as the console sends
/// it. Findings of a part whose acceptance is `REJECTED` are ignored.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewDecision {
    pub acceptance: Finding,
    pub authenticity: Option<Finding>,
    pub originality: Option<Finding>,
    pub validity: Option<Finding>,
    pub face_acceptance: Finding,
    pub face_comparison_approval: Option<String>,
    pub face_liveness_approval: Option<String>,
    /// The fields as corrected by the reviewer; the prefilled ones when absent.
    pub extracted_data: Option<ExtractedData>,
}

/// A decision body: the console's shape, or the `data` of LINK's `ManualIDVerification`
/// callback as its seed shows it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum DecisionBody {
    Console(ReviewDecision),
    Seed(SeedData),
}

/// The seed's `data`: `documentInfo` and `faceComparisonInfo`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeedData {
    pub document_info: SeedDocumentInfo,
    pub face_comparison_info: SeedFaceInfo,
}

/// The seed's `documentInfo` (findings absent when REJECTED).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeedDocumentInfo {
    pub acceptance: Finding,
    pub findings: Option<SeedDocumentFindings>,
    pub extracted_data: Option<ExtractedData>,
}

/// The seed's `documentInfo.findings` (`documentApproval` is derived from the details).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct SeedDocumentFindings {
    pub details: FindingDetails,
}

/// The seed's `faceComparisonInfo` (findings absent when REJECTED).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct SeedFaceInfo {
    pub acceptance: Finding,
    pub findings: Option<FaceFindings>,
}

impl DecisionBody {
    fn into_decision(self) -> ReviewDecision {
        match self {
            DecisionBody::Console(d) => d,
            DecisionBody::Seed(s) => {
                let details = s.document_info.findings.map(|f| f.details);
                let face = s.face_comparison_info.findings;
                ReviewDecision {
                    acceptance: s.document_info.acceptance,
                    authenticity: details.as_ref().map(|d| d.authenticity.clone()),
                    originality: details.as_ref().map(|d| d.originality.clone()),
                    validity: details.map(|d| d.validity),
                    face_acceptance: s.face_comparison_info.acceptance,
                    face_comparison_approval: face
                        .as_ref()
                        .map(|f| f.face_comparison_approval.clone()),
                    face_liveness_approval: face.map(|f| f.face_liveness_approval),
                    extracted_data: s.document_info.extracted_data,
                }
            }
        }
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidDecision, message)
}

/// `f` with its result trimmed (the seed's example writes `" REJECTED"`), checked against the
/// allowed results and reason codes.
fn check(f: Finding, ok: &[&str], allowed: &[&str], what: &str) -> Result<Finding, Error> {
    let f = Finding {
        result: f.result.trim().to_string(),
        reasons: f.reasons,
    };
    if !ok.contains(&f.result.as_str()) {
        return Err(invalid(format!("{what}.result must be one of {ok:?}")));
    }
    if let Some(r) = f.reasons.iter().find(|r| !allowed.contains(&r.as_str())) {
        return Err(Error::new(
            ErrorCode::InvalidReason,
            format!("{what}: unknown reason {r}"),
        ));
    }
    Ok(f)
}

fn required<T>(v: Option<T>, what: &str) -> Result<T, Error> {
    v.ok_or_else(|| invalid(format!("{what} is required when accepted")))
}

fn one_of(v: Option<String>, ok: &[&str], what: &str) -> Result<String, Error> {
    let v = required(v, what)?.trim().to_string();
    if ok.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(invalid(format!("{what} must be one of {ok:?}")))
    }
}

/// The checked outcome of a decision; `prefilled` stands in for absent extracted data.
fn outcome(d: ReviewDecision, prefilled: &ExtractedData) -> Result<ReviewOutcome, Error> {
    let acceptance = check(
        d.acceptance,
        &["ACCEPTED", "REJECTED"],
        ACCEPTANCE_REASONS,
        "acceptance",
    )?;
    let face_acceptance = check(
        d.face_acceptance,
        &["ACCEPTED", "REJECTED"],
        FACE_REASONS,
        "faceAcceptance",
    )?;
    let mut o = ReviewOutcome {
        acceptance,
        authenticity: None,
        originality: None,
        validity: None,
        extracted_data: None,
        face_acceptance,
        face_comparison_approval: None,
        face_liveness_approval: None,
    };
    if o.document_accepted() {
        let finding = |f: Option<Finding>, ok: &[&str], allowed: &[&str], what: &str| {
            check(required(f, what)?, ok, allowed, what)
        };
        o.authenticity = Some(finding(
            d.authenticity,
            &["AUTHENTIC", "NOT_AUTHENTIC"],
            AUTHENTICITY_REASONS,
            "authenticity",
        )?);
        o.originality = Some(finding(
            d.originality,
            &["ORIGINAL", "NOT_ORIGINAL"],
            ORIGINALITY_REASONS,
            "originality",
        )?);
        o.validity = Some(finding(
            d.validity,
            &["VALID", "NOT_VALID"],
            VALIDITY_REASONS,
            "validity",
        )?);
        o.extracted_data = Some(d.extracted_data.unwrap_or_else(|| prefilled.clone()));
    }
    if o.faces_accepted() {
        o.face_comparison_approval = Some(one_of(
            d.face_comparison_approval,
            &["MATCH", "NOT_MATCH"],
            "faceComparisonApproval",
        )?);
        o.face_liveness_approval = Some(one_of(
            d.face_liveness_approval,
            &["LIVE", "NOT_LIVE"],
            "faceLivenessApproval",
        )?);
    }
    Ok(o)
}

/// LINK's `ManualIDVerification` callback.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ManualCallback {
    pub id: String,
    /// Always `ManualIDVerification`.
    pub service: &'static str,
    /// Always `Completed`.
    pub status: &'static str,
    pub data: ManualData,
}

/// `data` of the `ManualIDVerification` callback.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManualData {
    pub document_info: DocumentInfo,
    pub face_comparison_info: FaceComparisonInfo,
}

/// `data.documentInfo`: only `acceptance` when the images were REJECTED.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentInfo {
    pub acceptance: Finding,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<DocumentFindings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extracted_data: Option<ExtractedData>,
}

/// `data.documentInfo.findings`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DocumentFindings {
    /// `APPROVED` or `NOT_APPROVED`.
    pub document_approval: &'static str,
    pub details: FindingDetails,
}

/// `data.documentInfo.findings.details`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FindingDetails {
    pub authenticity: Finding,
    pub originality: Finding,
    pub validity: Finding,
}

/// `data.faceComparisonInfo`: only `acceptance` when the faces were REJECTED.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FaceComparisonInfo {
    pub acceptance: Finding,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<FaceFindings>,
}

/// `data.faceComparisonInfo.findings`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FaceFindings {
    pub face_comparison_approval: String,
    pub face_liveness_approval: String,
}

impl ManualCallback {
    /// The callback of request `id` decided as `o`: the seed's APPROVED, NOT_APPROVED or
    /// REJECTED shape.
    pub fn new(id: &str, o: &ReviewOutcome) -> ManualCallback {
        let details = match (&o.authenticity, &o.originality, &o.validity) {
            (Some(a), Some(b), Some(c)) if o.document_accepted() => Some(FindingDetails {
                authenticity: a.clone(),
                originality: b.clone(),
                validity: c.clone(),
            }),
            _ => None,
        };
        let face = match (&o.face_comparison_approval, &o.face_liveness_approval) {
            (Some(c), Some(l)) if o.faces_accepted() => Some(FaceFindings {
                face_comparison_approval: c.clone(),
                face_liveness_approval: l.clone(),
            }),
            _ => None,
        };
        ManualCallback {
            id: id.to_string(),
            service: "ManualIDVerification",
            status: "Completed",
            data: ManualData {
                document_info: DocumentInfo {
                    acceptance: o.acceptance.clone(),
                    findings: details.map(|details| DocumentFindings {
                        document_approval: if o.document_approved() {
                            "APPROVED"
                        } else {
                            "NOT_APPROVED"
                        },
                        details,
                    }),
                    extracted_data: o.extracted_data.clone().filter(|_| o.document_accepted()),
                },
                face_comparison_info: FaceComparisonInfo {
                    acceptance: o.face_acceptance.clone(),
                    findings: face,
                },
            },
        }
    }
}

/// Records reviewer `me`'s decision on case `id` of `tenant` (they must hold its claim), audits
/// it, and lets each dialect act on it (LINK: the `ManualIDVerification` callback, then the
/// certificate); the decision as LINK's callback states it.
pub async fn decide(
    state: &Services,
    tenant: &str,
    me: &str,
    id: &str,
    body: DecisionBody,
) -> Result<ManualCallback, Error> {
    let rec = load_open(state.records.as_ref(), tenant, id).await?;
    let outcome = outcome(body.into_decision(), &rec.value.extracted_data)?;
    if !rec.value.held_by(Some(me), now()) {
        return Err(Error::new(
            ErrorCode::ClaimRequired,
            "claim the case before deciding",
        ));
    }
    let mut c = rec.value;
    c.status = CaseStatus::Decided;
    let actor = format!("reviewer:{me}");
    c.decided_by = Some(me.to_string());
    c.decided_at = Some(timestamp());
    c.result = Some(outcome.clone());
    save(state.records.as_ref(), tenant, id, rec.version, &c, || {
        Error::new(ErrorCode::CaseChanged, "the case changed; reload it")
    })
    .await?;
    crate::audit::record(
        state.records.as_ref(),
        tenant,
        &actor,
        "case.decide",
        Some(id),
    )
    .await?;
    for d in state.dialects.iter() {
        d.review_decided(state, tenant, id, &outcome).await?;
    }
    tracing::info!(case = %id, "manual review decided");
    Ok(ManualCallback::new(id, &outcome))
}
