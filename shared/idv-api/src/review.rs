//! Manual review (LINK `manualVerification`): cases in the tenant's review queue, a reviewer
//! API (list, claim with a lease, decide) behind reviewer credentials, the reviewer console
//! (one static page), and the `ManualIDVerification` callback with the seed's shape.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{self, Claims};
use crate::error::{ApiError, ErrorCode, on_conflict};
use crate::link::VERIFICATIONS;
use crate::state::AppState;
use idv_store::BlobKey;

/// Review cases, keyed `TENANT/ID`.
pub const CASES: &str = "reviews";
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
    idv_store::now_ms() / 1000
}

fn s(v: &Value, name: &str) -> String {
    let x = &v[name]["value"];
    x.as_str()
        .map(str::to_string)
        .or_else(|| x.as_i64().map(|n| n.to_string()))
        .unwrap_or_default()
}

/// LINK's `extractedData`, prefilled from the automatic reading.
pub fn extracted_data(data: &Value, document_type: Option<&str>) -> Value {
    let kind = match document_type {
        Some("passport") | Some("travel_document") => "PASSPORT",
        Some("national_id") | Some("id_card") => "IDENTITY_CARD",
        Some("drivers_license") => "DRIVING_LICENSE",
        Some("visa") => "VISA",
        _ => "",
    };
    // Street lines, then "CITY, STATE POSTCODE" as the last line (as printed on a card).
    let region = [s(data, "address_state"), s(data, "address_postal_code")]
        .into_iter()
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let last_line = [s(data, "address_city"), region]
        .into_iter()
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let lines: Vec<String> = [
        s(data, "address_street"),
        s(data, "address_street2"),
        last_line,
    ]
    .into_iter()
    .filter(|l| !l.is_empty())
    .collect();
    let line = |i: usize| json!(lines.get(i).cloned().unwrap_or_default());
    let address = json!({"addressLine1": line(0), "addressLine2": line(1), "addressLine3": line(2), "addressLine4": ""});
    let mut parsed = address.clone();
    parsed["city"] = json!(s(data, "address_city"));
    parsed["postalCode"] = json!(s(data, "address_postal_code"));
    parsed["stateOrProvince"] = json!(s(data, "address_state"));
    json!({
        "documentAttributes": {
            "countryCodeOfIssuance": s(data, "country_iso3"), "dateOfExpiry": s(data, "expiry"),
            "dateOfIssuance": s(data, "issued"), "documentNumber": s(data, "document_number"),
            "documentType": kind, "issuingAuthority": s(data, "issuing_authority"),
            "stateOrProvinceOfIssuance": if kind == "DRIVING_LICENSE" { s(data, "address_state") } else { String::new() },
        },
        "personAttributes": {
            "dateOfBirth": s(data, "dob"), "gender": s(data, "sex"),
            "nationalityCode": s(data, "nationality_iso3"), "personalGovernmentId": s(data, "personal_number"),
            "placeOfBirth": s(data, "place_of_birth"),
        },
        "name": {
            "firstSurname": s(data, "last_name"), "fullName": s(data, "full_name"),
            "givenNames": s(data, "first_name"), "secondSurname": "", "surname": s(data, "last_name"),
        },
        "address": {"parsedAddress": parsed, "unparsedAddress": address},
    })
}

/// One image of a case: caption, bytes as received, (width, height), face boxes [x, y, w, h].
pub type CaseImage<'a> = (&'a str, Vec<u8>, (u32, u32), Vec<[f32; 4]>);

/// Opens a review case for a verification sent to manual review.
pub async fn open_case(
    state: &AppState,
    tenant: &str,
    id: &str,
    v: &idv_pipeline::Verification,
    images: Vec<CaseImage<'_>>,
) -> Result<(), ApiError> {
    let mut stored = Vec::new();
    for (i, (caption, bytes, (w, h), faces)) in images.into_iter().enumerate() {
        let key = BlobKey::temporary(format!("{tenant}/review/{id}/{i}"))?;
        state
            .blobs
            .put(&key, bytes, "application/octet-stream")
            .await?;
        stored
            .push(json!({"caption": caption, "key": key, "width": w, "height": h, "faces": faces}));
    }
    let (data, kind) = match &v.document {
        Some(Ok(d)) => (
            serde_json::to_value(&d.data).unwrap_or_default(),
            d.document_type,
        ),
        _ => (Value::Null, None),
    };
    let case = json!({
        "id": id, "tenant": tenant, "status": "pending", "received_at": crate::kairos::timestamp(),
        "images": stored,
        "automatic": {
            "outcome": format!("{:?}", v.decision.outcome()).to_uppercase(),
            "decision": v.decision,
            "face_match": match &v.face_match { Some(Ok(m)) => json!(m.confidence), _ => Value::Null },
            "liveness": match &v.selfie { Some(Ok(s)) => json!(s.liveness), _ => Value::Null },
            "data": data,
        },
        "extractedData": extracted_data(&data, kind),
    });
    state
        .records
        .insert(CASES, &format!("{tenant}/{id}"), case)
        .await?;
    Ok(())
}

/// The reviewer of a request: from the `idv_review` cookie.
fn reviewer(state: &AppState, h: &HeaderMap) -> Result<(String, String), ApiError> {
    let token = h
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("idv_review="))
        .ok_or_else(ApiError::unauthorized)?;
    let c =
        auth::verify_jwt(&state.config.token_secret, token).ok_or_else(ApiError::unauthorized)?;
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

#[derive(Deserialize)]
pub struct Login {
    user: String,
    password: String,
}

/// `POST /review/login` → session cookie (8 hours).
pub async fn login(
    State(state): State<AppState>,
    Json(l): Json<Login>,
) -> Result<Response, ApiError> {
    let tenant = auth::check_reviewer(&state, &l.user, &l.password).await?;
    let claims = Claims {
        sub: tenant.0,
        scopes: vec!["review".into(), format!("reviewer:{}", l.user)],
        exp: now() + 8 * 3600,
    };
    let jwt = auth::sign_jwt(&state.config.token_secret, &claims);
    let cookie =
        format!("idv_review={jwt}; HttpOnly; SameSite=Strict; Path=/review; Max-Age=28800");
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({"reviewer": l.user})),
    )
        .into_response())
}

/// `GET /review/api/cases`: the tenant's open cases.
pub async fn list(State(state): State<AppState>, h: HeaderMap) -> Result<Json<Value>, ApiError> {
    let (tenant, me) = reviewer(&state, &h)?;
    let cases: Vec<Value> = state
        .records
        .list(CASES, &format!("{tenant}/"))
        .await?
        .into_iter()
        .map(|(_, r)| r.value)
        .filter(|c| c["status"] != "decided")
        .map(|c| {
            let held = c["lease_until"].as_u64().unwrap_or(0) > now();
            json!({
                "id": c["id"], "received_at": c["received_at"], "automatic": c["automatic"]["outcome"],
                "claimed_by": if held { c["claimed_by"].clone() } else { Value::Null },
                "mine": held && c["claimed_by"] == me.as_str(),
            })
        })
        .collect();
    Ok(Json(json!({"reviewer": me, "cases": cases})))
}

async fn load(state: &AppState, tenant: &str, id: &str) -> Result<idv_store::Record, ApiError> {
    state
        .records
        .get(CASES, &format!("{tenant}/{id}"))
        .await?
        .ok_or_else(|| ApiError::not_found("case"))
}

/// A case not decided yet, or 409 `CASE_DECIDED`.
async fn load_open(
    state: &AppState,
    tenant: &str,
    id: &str,
) -> Result<idv_store::Record, ApiError> {
    let rec = load(state, tenant, id).await?;
    if rec.value["status"] == "decided" {
        return Err(ApiError::new(
            ErrorCode::CaseDecided,
            "the case is already decided",
        ));
    }
    Ok(rec)
}

/// `POST /review/api/cases/{id}/claim`: takes the case for `LEASE_SECONDS`; 409 if another
/// reviewer holds it.
pub async fn claim(
    State(state): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (tenant, me) = reviewer(&state, &h)?;
    let rec = load_open(&state, &tenant, &id).await?;
    let c = &rec.value;
    if c["lease_until"].as_u64().unwrap_or(0) > now() && c["claimed_by"] != me.as_str() {
        return Err(ApiError::new(
            ErrorCode::CaseClaimed,
            "another reviewer holds this case",
        ));
    }
    let mut v = c.clone();
    v["status"] = json!("claimed");
    v["claimed_by"] = json!(me);
    v["lease_until"] = json!(now() + LEASE_SECONDS);
    let claimed = state
        .records
        .replace(CASES, &format!("{tenant}/{id}"), rec.version, v.clone())
        .await;
    on_conflict(claimed, || {
        ApiError::new(ErrorCode::CaseClaimed, "another reviewer took this case")
    })?;
    Ok(Json(
        json!({"id": id, "claimed_by": me, "lease_until": v["lease_until"]}),
    ))
}

/// `GET /review/api/cases/{id}`: everything the case page shows.
pub async fn show(
    State(state): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (tenant, _) = reviewer(&state, &h)?;
    let mut c = load(&state, &tenant, &id).await?.value;
    if let Some(images) = c["images"].as_array_mut() {
        for (i, img) in images.iter_mut().enumerate() {
            img["url"] = json!(format!("/review/api/cases/{id}/images/{i}"));
            img.as_object_mut().map(|o| o.remove("key"));
        }
    }
    c["reasons"] = json!({
        "acceptance": ACCEPTANCE_REASONS, "authenticity": AUTHENTICITY_REASONS,
        "originality": ORIGINALITY_REASONS, "validity": VALIDITY_REASONS, "face": FACE_REASONS,
    });
    Ok(Json(c))
}

/// `GET /review/api/cases/{id}/images/{n}`.
pub async fn image(
    State(state): State<AppState>,
    h: HeaderMap,
    Path((id, n)): Path<(String, usize)>,
) -> Result<Response, ApiError> {
    let (tenant, _) = reviewer(&state, &h)?;
    let c = load(&state, &tenant, &id).await?.value;
    let key = c["images"][n]["key"]
        .as_str()
        .ok_or_else(|| ApiError::not_found("image"))?;
    let bytes = state
        .blobs
        .get(key)
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

/// A finding: result and reasons.
#[derive(Deserialize, Default)]
pub struct Finding {
    pub result: String,
    #[serde(default)]
    pub reasons: Vec<String>,
}

/// The reviewer's decision.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewDecision {
    pub acceptance: Finding,
    pub authenticity: Finding,
    pub originality: Finding,
    pub validity: Finding,
    pub face_acceptance: Finding,
    pub face_comparison_approval: String,
    pub face_liveness_approval: String,
    pub extracted_data: Option<Value>,
}

fn check(f: &Finding, ok: &[&str], allowed: &[&str], what: &str) -> Result<(), ApiError> {
    if !ok.contains(&f.result.as_str()) {
        return Err(ApiError::new(
            ErrorCode::InvalidDecision,
            format!("{what}.result must be one of {ok:?}"),
        ));
    }
    if let Some(r) = f.reasons.iter().find(|r| !allowed.contains(&r.as_str())) {
        return Err(ApiError::new(
            ErrorCode::InvalidReason,
            format!("{what}: unknown reason {r}"),
        ));
    }
    Ok(())
}

fn finding(f: &Finding) -> Value {
    if f.reasons.is_empty() {
        json!({"result": f.result})
    } else {
        json!({"result": f.result, "reasons": f.reasons})
    }
}

/// `POST /review/api/cases/{id}/decision`: records the decision (the reviewer must hold the
/// claim) and sends the `ManualIDVerification` callback.
pub async fn decide(
    State(state): State<AppState>,
    h: HeaderMap,
    Path(id): Path<String>,
    Json(d): Json<ReviewDecision>,
) -> Result<Json<Value>, ApiError> {
    let (tenant, me) = reviewer(&state, &h)?;
    check(
        &d.acceptance,
        &["ACCEPTED", "REJECTED"],
        ACCEPTANCE_REASONS,
        "acceptance",
    )?;
    check(
        &d.authenticity,
        &["AUTHENTIC", "NOT_AUTHENTIC"],
        AUTHENTICITY_REASONS,
        "authenticity",
    )?;
    check(
        &d.originality,
        &["ORIGINAL", "NOT_ORIGINAL"],
        ORIGINALITY_REASONS,
        "originality",
    )?;
    check(
        &d.validity,
        &["VALID", "NOT_VALID"],
        VALIDITY_REASONS,
        "validity",
    )?;
    check(
        &d.face_acceptance,
        &["ACCEPTED", "REJECTED"],
        FACE_REASONS,
        "faceAcceptance",
    )?;
    if !["MATCH", "NOT_MATCH"].contains(&d.face_comparison_approval.as_str())
        || !["LIVE", "NOT_LIVE"].contains(&d.face_liveness_approval.as_str())
    {
        return Err(ApiError::new(
            ErrorCode::InvalidDecision,
            "faceComparisonApproval is MATCH|NOT_MATCH, faceLivenessApproval LIVE|NOT_LIVE",
        ));
    }
    let rec = load_open(&state, &tenant, &id).await?;
    let c = &rec.value;
    if c["claimed_by"] != me.as_str() || c["lease_until"].as_u64().unwrap_or(0) <= now() {
        return Err(ApiError::new(
            ErrorCode::ClaimRequired,
            "claim the case before deciding",
        ));
    }
    let approved = d.acceptance.result == "ACCEPTED"
        && d.authenticity.result == "AUTHENTIC"
        && d.originality.result == "ORIGINAL"
        && d.validity.result == "VALID";
    let data = json!({
        "documentInfo": {
            "acceptance": finding(&d.acceptance),
            "findings": {
                "documentApproval": if approved { "APPROVED" } else { "NOT_APPROVED" },
                "details": {
                    "authenticity": finding(&d.authenticity),
                    "originality": finding(&d.originality),
                    "validity": finding(&d.validity),
                },
            },
            "extractedData": d.extracted_data.clone().unwrap_or_else(|| c["extractedData"].clone()),
        },
        "faceComparisonInfo": {
            "acceptance": finding(&d.face_acceptance),
            "findings": {
                "faceComparisonApproval": d.face_comparison_approval,
                "faceLivenessApproval": d.face_liveness_approval,
            },
        },
    });
    let callback =
        json!({"id": id, "service": "ManualIDVerification", "status": "Completed", "data": data});
    let mut v = c.clone();
    v["status"] = json!("decided");
    v["decided_by"] = json!(me);
    v["decided_at"] = json!(crate::kairos::timestamp());
    v["result"] = callback.clone();
    let decided = state
        .records
        .replace(CASES, &format!("{tenant}/{id}"), rec.version, v)
        .await;
    on_conflict(decided, || {
        ApiError::new(ErrorCode::CaseChanged, "the case changed; reload it")
    })?;
    // The verification record and the callback.
    let key = format!("{tenant}/{id}");
    // Re-applied on a conflict: the certificate may be issued meanwhile.
    let updated = crate::state::update(state.records.as_ref(), VERIFICATIONS, &key, |u| {
        u["response"]["idVerification"] = json!({"status": "Completed", "process": "Manual"});
        u["manual"] = callback.clone();
        true
    })
    .await?;
    let url = updated.and_then(|u| {
        u["manualVerificationCallback"]
            .as_str()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    });
    let url = match url {
        Some(u) => Some(u),
        None => state
            .records
            .get("tenants", &tenant)
            .await?
            .and_then(|t| t.value["callback_url"].as_str().map(str::to_string))
            .filter(|u| !u.is_empty()),
    };
    if let Some(url) = url {
        crate::callbacks::enqueue(&state, &tenant, &url, &callback).await?;
    }
    tracing::info!(case = %id, "manual review decided");
    Ok(Json(callback))
}

/// `GET /review`: the reviewer console.
pub async fn console() -> impl IntoResponse {
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'",
        )],
        Html(include_str!("review.html")),
    )
}
