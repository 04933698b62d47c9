//! Manual review (LINK `manualVerification`): cases in the tenant's review queue, a reviewer
//! API (list, claim with a lease, decide) behind reviewer credentials, the reviewer console
//! (one static page), and the `ManualIDVerification` callback with the seed's shape.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use idv_document::{DocumentData, Field};
use idv_pipeline::Verification;
use idv_store::BlobKey;
use serde::{Deserialize, Serialize};

use crate::auth;
use crate::clock::timestamp;
use crate::credentials::{Claims, sign_jwt, verify_jwt};
use crate::error::{ApiError, ErrorCode, on_conflict};
use crate::input::JsonBody;
use crate::records::{
    Address, AddressLines, AutomaticResult, CASES, CaseImage, CaseStatus, DocumentAttributes,
    ExtractedData, Finding, ParsedAddress, PersonAttributes, PersonName, ReviewCase, ReviewOutcome,
    VERIFICATIONS,
};
use crate::state::AppState;
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

fn now() -> u64 {
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
    state: &AppState,
    tenant: &str,
    id: &str,
    v: &Verification,
    images: Vec<NewImage<'_>>,
) -> Result<(), ApiError> {
    let mut stored = Vec::new();
    for (i, (caption, bytes, (width, height), faces)) in images.into_iter().enumerate() {
        let key = BlobKey::temporary(format!("{tenant}/review/{id}/{i}"))?;
        state
            .blobs
            .put(&key, bytes, "application/octet-stream")
            .await?;
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
        .insert(state.records.as_ref(), &format!("{tenant}/{id}"), &case)
        .await?;
    Ok(())
}

/// The signed-in reviewer of a request (from the `idv_review` session cookie): their tenant
/// and name.
pub struct Reviewer {
    pub tenant: String,
    pub name: String,
}

impl FromRequestParts<AppState> for Reviewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (tenant, name) = reviewer(state, &parts.headers)?;
        // A session outlives nothing: a reviewer disabled since sign-in is refused.
        let key = format!("reviewer:{name}");
        match crate::records::CREDENTIALS
            .get(state.records.as_ref(), &key)
            .await?
        {
            Some(c) if !c.value.disabled && c.value.tenant == tenant => {
                crate::auth::active(state, &tenant).await?;
                Ok(Reviewer { tenant, name })
            }
            _ => Err(ApiError::unauthorized()),
        }
    }
}

fn reviewer(state: &AppState, h: &HeaderMap) -> Result<(String, String), ApiError> {
    let token = h
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("idv_review="))
        .ok_or_else(ApiError::unauthorized)?;
    let c = verify_jwt(&state.config.token_secret, token).ok_or_else(ApiError::unauthorized)?;
    if c.exp <= now() || !c.scopes.iter().any(|s| s == "review") {
        return Err(ApiError::unauthorized());
    }
    let name = c
        .scopes
        .iter()
        .find_map(|s| s.strip_prefix("reviewer:"))
        .unwrap_or_default()
        .to_string();
    Ok((c.sub, name))
}

/// `POST /review/login` body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct Login {
    user: String,
    password: String,
}

/// `POST /review/login` answer (with the session cookie).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Session {
    pub reviewer: String,
}

/// `POST /review/login` → session cookie (8 hours).
#[utoipa::path(post, operation_id = "review_login", path = "/review/login", tag = "Review", request_body = Login, responses((status = 200, description = "Signed in; the session cookie is set", body = Session)))]
pub async fn login(
    State(state): State<AppState>,
    JsonBody(l): JsonBody<Login>,
) -> Result<Response, ApiError> {
    let tenant = auth::check_reviewer(&state, &l.user, &l.password).await?;
    let actor = format!("reviewer:{}", l.user);
    crate::audit::record(
        state.records.as_ref(),
        &tenant.0,
        &actor,
        "reviewer.login",
        None,
    )
    .await?;
    let claims = Claims {
        sub: tenant.0,
        scopes: vec!["review".into(), format!("reviewer:{}", l.user)],
        exp: now() + 8 * 3600,
    };
    let jwt = sign_jwt(&state.config.token_secret, &claims);
    let cookie =
        format!("idv_review={jwt}; HttpOnly; SameSite=Strict; Path=/review; Max-Age=28800");
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(Session { reviewer: l.user }),
    )
        .into_response())
}

/// One open case in the queue.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseSummary {
    pub id: String,
    pub received_at: String,
    /// The automatic outcome.
    pub automatic: String,
    /// Who holds the claim, if anyone does.
    pub claimed_by: Option<String>,
    /// Whether the signed-in reviewer holds it.
    pub mine: bool,
}

/// `GET /review/api/cases` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseQueue {
    pub reviewer: String,
    pub cases: Vec<CaseSummary>,
}

/// `GET /review/api/cases`: the tenant's open cases.
#[utoipa::path(get, operation_id = "list_cases", path = "/review/api/cases", tag = "Review", security(("review_session" = [])), responses((status = 200, description = "The open cases", body = CaseQueue)))]
pub async fn list(
    State(state): State<AppState>,
    Reviewer { tenant, name: me }: Reviewer,
) -> Result<Json<CaseQueue>, ApiError> {
    let now = now();
    let cases = CASES
        .list(state.records.as_ref(), &format!("{tenant}/"))
        .await?
        .into_iter()
        .map(|(_, c)| c)
        .filter(|c| c.status != CaseStatus::Decided)
        .map(|c| {
            let held = c.held_by(None, now);
            CaseSummary {
                mine: c.held_by(Some(&me), now),
                claimed_by: if held { c.claimed_by } else { None },
                id: c.id,
                received_at: c.received_at,
                automatic: c.automatic.outcome,
            }
        })
        .collect();
    Ok(Json(CaseQueue {
        reviewer: me,
        cases,
    }))
}

async fn load(
    state: &AppState,
    tenant: &str,
    id: &str,
) -> Result<crate::records::Stored<ReviewCase>, ApiError> {
    CASES
        .get(state.records.as_ref(), &format!("{tenant}/{id}"))
        .await?
        .ok_or_else(|| ApiError::not_found("case"))
}

/// A case not decided yet, or 409 `CASE_DECIDED`.
async fn load_open(
    state: &AppState,
    tenant: &str,
    id: &str,
) -> Result<crate::records::Stored<ReviewCase>, ApiError> {
    let rec = load(state, tenant, id).await?;
    if rec.value.status == CaseStatus::Decided {
        return Err(ApiError::new(
            ErrorCode::CaseDecided,
            "the case is already decided",
        ));
    }
    Ok(rec)
}

/// Writes case `id` over the version read; `lost` is the answer when another writer got in
/// between.
async fn save(
    state: &AppState,
    tenant: &str,
    id: &str,
    version: u64,
    case: &ReviewCase,
    lost: impl FnOnce() -> ApiError,
) -> Result<(), ApiError> {
    let key = format!("{tenant}/{id}");
    on_conflict(
        CASES
            .replace(state.records.as_ref(), &key, version, case)
            .await,
        lost,
    )
}

/// `POST /review/api/cases/{id}/claim` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Claimed {
    pub id: String,
    pub claimed_by: String,
    /// Unix seconds until which the claim holds.
    pub lease_until: u64,
}

/// `POST /review/api/cases/{id}/claim`: takes the case for `LEASE_SECONDS`; 409 if another
/// reviewer holds it.
#[utoipa::path(post, operation_id = "claim_case", path = "/review/api/cases/{id}/claim", tag = "Review", security(("review_session" = [])), params(("id" = String, Path)), responses((status = 200, description = "Claimed for 15 minutes", body = Claimed)))]
pub async fn claim(
    State(state): State<AppState>,
    Reviewer { tenant, name: me }: Reviewer,
    Path(id): Path<String>,
) -> Result<Json<Claimed>, ApiError> {
    let rec = load_open(&state, &tenant, &id).await?;
    let now = now();
    if rec.value.held_by(None, now) && !rec.value.held_by(Some(&me), now) {
        return Err(ApiError::new(
            ErrorCode::CaseClaimed,
            "another reviewer holds this case",
        ));
    }
    let mut c = rec.value;
    let lease_until = now + LEASE_SECONDS;
    c.status = CaseStatus::Claimed;
    c.claimed_by = Some(me.clone());
    c.lease_until = Some(lease_until);
    save(&state, &tenant, &id, rec.version, &c, || {
        ApiError::new(ErrorCode::CaseClaimed, "another reviewer took this case")
    })
    .await?;
    let actor = format!("reviewer:{me}");
    crate::audit::record(
        state.records.as_ref(),
        &tenant,
        &actor,
        "case.claim",
        Some(&id),
    )
    .await?;
    Ok(Json(Claimed {
        id,
        claimed_by: me,
        lease_until,
    }))
}

/// One image of a case as the console shows it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImageView {
    pub caption: String,
    /// `GET` it with the session cookie.
    pub url: String,
    pub width: u32,
    pub height: u32,
    pub faces: Vec<[f32; 4]>,
}

/// The reason codes a decision may give, per finding.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Reasons {
    pub acceptance: &'static [&'static str],
    pub authenticity: &'static [&'static str],
    pub originality: &'static [&'static str],
    pub validity: &'static [&'static str],
    pub face: &'static [&'static str],
}

/// `GET /review/api/cases/{id}` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub id: String,
    pub status: CaseStatus,
    pub received_at: String,
    pub images: Vec<ImageView>,
    pub automatic: AutomaticResult,
    #[serde(rename = "extractedData")]
    pub extracted_data: ExtractedData,
    pub claimed_by: Option<String>,
    pub lease_until: Option<u64>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub result: Option<ReviewOutcome>,
    pub reasons: Reasons,
}

/// `GET /review/api/cases/{id}`: everything the case page shows.
#[utoipa::path(get, operation_id = "get_case", path = "/review/api/cases/{id}", tag = "Review", security(("review_session" = [])), params(("id" = String, Path)), responses((status = 200, description = "A case", body = CaseView)))]
pub async fn show(
    State(state): State<AppState>,
    Reviewer { tenant, name }: Reviewer,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    let c = load(&state, &tenant, &id).await?.value;
    let actor = format!("reviewer:{name}");
    crate::audit::record(
        state.records.as_ref(),
        &tenant,
        &actor,
        "case.view",
        Some(&id),
    )
    .await?;
    let images = c
        .images
        .into_iter()
        .enumerate()
        .map(|(i, img)| ImageView {
            caption: img.caption,
            url: format!("/review/api/cases/{id}/images/{i}"),
            width: img.width,
            height: img.height,
            faces: img.faces,
        })
        .collect();
    Ok(Json(CaseView {
        id: c.id,
        status: c.status,
        received_at: c.received_at,
        images,
        automatic: c.automatic,
        extracted_data: c.extracted_data,
        claimed_by: c.claimed_by,
        lease_until: c.lease_until,
        decided_by: c.decided_by,
        decided_at: c.decided_at,
        result: c.result,
        reasons: Reasons {
            acceptance: ACCEPTANCE_REASONS,
            authenticity: AUTHENTICITY_REASONS,
            originality: ORIGINALITY_REASONS,
            validity: VALIDITY_REASONS,
            face: FACE_REASONS,
        },
    }))
}

/// `GET /review/api/cases/{id}/images/{n}`.
#[utoipa::path(get, operation_id = "case_image", path = "/review/api/cases/{id}/images/{n}", tag = "Review", security(("review_session" = [])), params(("id" = String, Path), ("n" = usize, Path)), responses((status = 200, description = "The image as received", content((ImageBytes = "image/jpeg"), (ImageBytes = "image/png"), (ImageBytes = "image/webp"), (ImageBytes = "image/bmp")))))]
pub async fn image(
    State(state): State<AppState>,
    Reviewer { tenant, name }: Reviewer,
    Path((id, n)): Path<(String, usize)>,
) -> Result<Response, ApiError> {
    let c = load(&state, &tenant, &id).await?.value;
    let (actor, target) = (format!("reviewer:{name}"), format!("{id}/images/{n}"));
    crate::audit::record(
        state.records.as_ref(),
        &tenant,
        &actor,
        "case.image",
        Some(&target),
    )
    .await?;
    let key = c
        .images
        .get(n)
        .map(|i| i.key.clone())
        .ok_or_else(|| ApiError::not_found("image"))?;
    let bytes = state
        .blobs
        .get(&key)
        .await?
        .ok_or_else(|| ApiError::not_found("image"))?;
    let ct = match idv_image::sniff_format(&bytes) {
        Some(image::ImageFormat::Png) => "image/png",
        Some(image::ImageFormat::WebP) => "image/webp",
        Some(image::ImageFormat::Bmp) => "image/bmp",
        _ => "image/jpeg",
    };
    Ok(([(header::CONTENT_TYPE, ct)], bytes).into_response())
}

/// An image's bytes as received (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct ImageBytes(Vec<u8>);

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

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidDecision, message)
}

/// `f` with its result trimmed (the seed's example writes `" REJECTED"`), checked against the
/// allowed results and reason codes.
fn check(f: Finding, ok: &[&str], allowed: &[&str], what: &str) -> Result<Finding, ApiError> {
    let f = Finding {
        result: f.result.trim().to_string(),
        reasons: f.reasons,
    };
    if !ok.contains(&f.result.as_str()) {
        return Err(invalid(format!("{what}.result must be one of {ok:?}")));
    }
    if let Some(r) = f.reasons.iter().find(|r| !allowed.contains(&r.as_str())) {
        return Err(ApiError::new(
            ErrorCode::InvalidReason,
            format!("{what}: unknown reason {r}"),
        ));
    }
    Ok(f)
}

fn required<T>(v: Option<T>, what: &str) -> Result<T, ApiError> {
    v.ok_or_else(|| invalid(format!("{what} is required when accepted")))
}

fn one_of(v: Option<String>, ok: &[&str], what: &str) -> Result<String, ApiError> {
    let v = required(v, what)?.trim().to_string();
    if ok.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(invalid(format!("{what} must be one of {ok:?}")))
    }
}

/// The checked outcome of a decision; `prefilled` stands in for absent extracted data.
fn outcome(d: ReviewDecision, prefilled: &ExtractedData) -> Result<ReviewOutcome, ApiError> {
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

/// `POST /review/api/cases/{id}/decision`: records the decision (the reviewer must hold the
/// claim) and sends the `ManualIDVerification` callback.
#[utoipa::path(post, operation_id = "decide_case", path = "/review/api/cases/{id}/decision", tag = "Review", security(("review_session" = [])), params(("id" = String, Path)), request_body = DecisionBody, responses((status = 200, description = "Decided; the ManualIDVerification callback is on its way", body = ManualCallback)))]
pub async fn decide(
    State(state): State<AppState>,
    Reviewer { tenant, name: me }: Reviewer,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DecisionBody>,
) -> Result<Json<ManualCallback>, ApiError> {
    let rec = load_open(&state, &tenant, &id).await?;
    let outcome = outcome(body.into_decision(), &rec.value.extracted_data)?;
    if !rec.value.held_by(Some(&me), now()) {
        return Err(ApiError::new(
            ErrorCode::ClaimRequired,
            "claim the case before deciding",
        ));
    }
    let mut c = rec.value;
    c.status = CaseStatus::Decided;
    let actor = format!("reviewer:{me}");
    c.decided_by = Some(me);
    c.decided_at = Some(timestamp());
    c.result = Some(outcome.clone());
    save(&state, &tenant, &id, rec.version, &c, || {
        ApiError::new(ErrorCode::CaseChanged, "the case changed; reload it")
    })
    .await?;
    crate::audit::record(
        state.records.as_ref(),
        &tenant,
        &actor,
        "case.decide",
        Some(&id),
    )
    .await?;
    // The verification record and the callback; re-applied on a conflict: the certificate
    // may be issued meanwhile.
    let updated = VERIFICATIONS
        .update(state.records.as_ref(), &format!("{tenant}/{id}"), |u| {
            u.manual = Some(outcome.clone());
            true
        })
        .await?;
    let certify = updated.as_ref().is_some_and(|u| u.certify);
    let requested = updated.and_then(|u| u.manual_verification_callback);
    let url = crate::callbacks::url_or_default(&state, &tenant, requested.as_deref()).await?;
    let callback = ManualCallback::new(&id, &outcome);
    if let Some(url) = url {
        let event = crate::callbacks::event_id(&tenant, &id, "manual");
        crate::callbacks::enqueue(&state, &tenant, &event, &url, &callback).await?;
    }
    if certify {
        // The certificate states this decision; its callback follows the one above.
        crate::certify::enqueue(&state, &tenant, &id).await?;
    }
    tracing::info!(case = %id, "manual review decided");
    Ok(Json(callback))
}

/// `GET /review`: the reviewer console.
#[utoipa::path(get, operation_id = "review_console", path = "/review", tag = "Review", responses((status = 200, description = "The reviewer console", content_type = "text/html", body = String)))]
pub async fn console() -> impl IntoResponse {
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'",
        )],
        Html(include_str!("review.html")),
    )
}
