//! The LINK dialect: `/auth/token`, `/ping`, `/identity/verify`, `/certificate/{id}`.
//! Errors are `{id, code, message}` as the seed shows.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use idv_image::Limits;
use idv_pipeline::Verification;
use idv_pipeline::decision::Outcome;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth;
use crate::error::ApiError;
use crate::input;
use crate::state::{self, AppState, OwnedInputs};

/// Table of LINK verifications, keyed `TENANT/ID`.
pub const VERIFICATIONS: &str = "link";
/// Queue of certification jobs (processed by the certification function).
pub const CERTIFY_QUEUE: &str = "certify";

/// An error in LINK's shape.
pub struct LinkError {
    status: StatusCode,
    id: Option<String>,
    code: &'static str,
    message: String,
}

impl LinkError {
    fn validation(id: Option<&str>, message: &str) -> LinkError {
        LinkError {
            status: StatusCode::BAD_REQUEST,
            id: id.map(str::to_string),
            code: "003",
            message: format!("Validation Error: {message}"),
        }
    }
}

impl From<ApiError> for LinkError {
    fn from(e: ApiError) -> LinkError {
        LinkError {
            status: e.status(),
            id: None,
            code: if e.status().is_server_error() {
                "001"
            } else {
                e.code.as_str()
            },
            message: e.message,
        }
    }
}

impl IntoResponse for LinkError {
    fn into_response(self) -> Response {
        let mut body = json!({"code": self.code, "message": self.message});
        if let Some(id) = self.id {
            body["id"] = json!(id);
        }
        (self.status, Json(body)).into_response()
    }
}

#[derive(Deserialize)]
pub struct TokenRequest {
    user: Option<String>,
    password: Option<String>,
}

/// `POST /auth/token`.
pub async fn token(
    State(state): State<AppState>,
    body: Option<Json<TokenRequest>>,
) -> Result<Json<Value>, LinkError> {
    let Some(Json(TokenRequest {
        user: Some(user),
        password: Some(password),
    })) = body
    else {
        return Err(LinkError::validation(
            None,
            "user and password are required",
        ));
    };
    let (token, expires) = auth::issue_token(&state, &user, &password)
        .await
        .map_err(|_| LinkError {
            status: StatusCode::UNAUTHORIZED,
            id: None,
            code: "003",
            message: "Validation Error: Invalid credentials".into(),
        })?;
    Ok(Json(json!({
        "token": token, "scopes": auth::SCOPES, "expiresIn": expires, "token_type": "bearer",
    })))
}

/// `POST /ping`.
pub async fn ping() -> Json<Value> {
    let date = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] +00:00"
        ))
        .unwrap_or_default();
    Json(json!({"service": "KYC API", "status": "ok", "date": date}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyImage {
    content: Option<String>,
    face_image: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyRequest {
    id: Option<String>,
    images: Option<Vec<VerifyImage>>,
    expeditor_country: Option<String>,
    #[serde(default)]
    certify: bool,
    certify_callback: Option<String>,
    #[serde(default)]
    manual_verification: bool,
    manual_verification_callback: Option<String>,
    profile: Option<String>,
}

fn valid_callback(url: &Option<String>) -> bool {
    match url.as_deref().map(str::trim) {
        None | Some("") => true,
        Some(u) => {
            (u.starts_with("https://") || u.starts_with("http://"))
                && u.len() <= 2048
                && !u.contains(' ')
        }
    }
}

async fn decode_b64(
    id: &str,
    name: &str,
    s: &str,
    limits: Limits,
) -> Result<(Vec<u8>, image::RgbImage), LinkError> {
    let bytes = input::decode_base64(s).ok_or_else(|| {
        LinkError::validation(Some(id), "There are images with invalid base64 format")
    })?;
    input::decode(name, bytes, limits).await.map_err(|e| {
        let mut l = LinkError::from(e);
        l.id = Some(id.to_string());
        l
    })
}

/// `POST /identity/verify`.
pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<VerifyRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, LinkError> {
    let tenant = auth::bearer(&state, &headers, "kyc.idVeriication.auto")?;
    let Json(req) = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            LinkError::from(input::too_large_body())
        } else {
            LinkError::validation(None, &e.body_text())
        }
    })?;
    let id = req
        .id
        .clone()
        .filter(|i| !i.trim().is_empty() && i.len() <= 128)
        .ok_or_else(|| LinkError::validation(None, "id is required"))?;
    let images = req.images.as_deref().unwrap_or_default();
    if images.is_empty() || images.len() > 2 {
        return Err(LinkError::validation(
            Some(&id),
            "images must hold one or two sides",
        ));
    }
    if req
        .expeditor_country
        .as_deref()
        .is_some_and(|c| !c.is_empty() && !(2..=3).contains(&c.len()))
    {
        return Err(LinkError::validation(
            Some(&id),
            "expeditorCountry must be an ISO country code",
        ));
    }
    if !valid_callback(&req.certify_callback) || !valid_callback(&req.manual_verification_callback)
    {
        return Err(LinkError::validation(
            Some(&id),
            "callback URLs must be http(s) URLs",
        ));
    }
    for url in [&req.certify_callback, &req.manual_verification_callback] {
        crate::callbacks::check_requested(&state, url.as_deref())
            .await
            .map_err(|e| LinkError::validation(Some(&id), &e.message))?;
    }
    let profile = state::profile(req.profile.as_deref())?;
    let mut job = OwnedInputs::new(profile);
    let Some(front) = images[0].content.as_deref() else {
        return Err(LinkError::validation(
            Some(&id),
            "images[0].content is required",
        ));
    };
    // Inputs kept for the certificate (thumbnails and SHA-256), when one is asked for.
    let mut kept: Vec<(&str, Vec<u8>, image::RgbImage)> = Vec::new();
    let keep = req.certify || req.manual_verification;
    let (bytes, img) = decode_b64(&id, "images[0].content", front, Limits::DOCUMENT).await?;
    if keep {
        kept.push(("Document front", bytes, img.clone()));
    }
    job.document = Some(img);
    if let Some(back) = images.get(1).and_then(|i| i.content.as_deref()) {
        let (bytes, img) = decode_b64(&id, "images[1].content", back, Limits::DOCUMENT).await?;
        if keep {
            kept.push(("Document back", bytes, img.clone()));
        }
        job.document_back = Some(img);
    }
    if let Some(face) = images.iter().find_map(|i| i.face_image.as_deref()) {
        let (bytes, img) = decode_b64(&id, "faceImage", face, Limits::SELFIE).await?;
        if keep {
            kept.push(("Selfie", bytes, img.clone()));
        }
        job.selfie = Some(img);
    }
    // The id is reserved before anything is stored under it, so two requests with one id
    // cannot both run (and mix their evidence); a failed request frees it for a retry.
    let key = format!("{}/{id}", tenant.0);
    let reserved = reserve(&state, &key, &id).await?;
    let result = run_verification(&state, &tenant.0, &id, &key, reserved, req, job, kept).await;
    if result.is_err() {
        let freed = state::update(state.records.as_ref(), VERIFICATIONS, &key, |r| {
            r["state"] == "processing" && {
                r["state"] = json!("failed");
                true
            }
        })
        .await;
        if let Err(e) = freed {
            tracing::warn!(code = %e.code, "could not free a failed request's id");
        }
    }
    result.map(Json)
}

/// Claims `key` for a new request: a record in state `processing`, written only if no
/// request holds the id or the last one with it failed. Returns the record's version.
async fn reserve(state: &AppState, key: &str, id: &str) -> Result<u64, LinkError> {
    let taken = || LinkError {
        status: StatusCode::CONFLICT,
        id: Some(id.to_string()),
        code: "004",
        message: "Validation Error: a request with this id already exists".into(),
    };
    let placeholder = json!({"id": id, "state": "processing"});
    let existing = state
        .records
        .get(VERIFICATIONS, key)
        .await
        .map_err(ApiError::from)?;
    let written = match existing {
        None => state
            .records
            .insert(VERIFICATIONS, key, placeholder)
            .await
            .map(|()| 1),
        Some(r) if r.value["state"] == "failed" => state
            .records
            .replace(VERIFICATIONS, key, r.version, placeholder)
            .await
            .map(|()| r.version + 1),
        Some(_) => return Err(taken()),
    };
    match written {
        Err(e) if e.is_conflict() => Err(taken()),
        r => Ok(r.map_err(ApiError::from)?),
    }
}

/// The work of `POST /identity/verify` once the request holds its id (`reserved`: the
/// version of its placeholder record).
#[allow(clippy::too_many_arguments)]
async fn run_verification(
    state: &AppState,
    tenant: &str,
    id: &str,
    key: &str,
    reserved: u64,
    req: VerifyRequest,
    job: OwnedInputs,
    kept: Vec<(&str, Vec<u8>, image::RgbImage)>,
) -> Result<Value, LinkError> {
    let images = req.images.as_deref().unwrap_or_default();
    let v = state.verify(job).await?;
    let mut response = json!({"id": id});
    if req.manual_verification {
        response["idVerification"] = json!({"status": "Processing", "process": "Manual"});
    } else {
        response["idVerification"] = id_verification(&v, images.len());
    }
    if req.certify {
        response["certification"] = json!({"status": "Processing"});
    }
    let mut record = json!({
        "tenant": tenant, "id": id, "response": response,
        "certify": req.certify, "certifyCallback": req.certify_callback,
        "manualVerification": req.manual_verification,
        "manualVerificationCallback": req.manual_verification_callback,
        "decision": v.decision,
    });
    if req.certify {
        let inputs: Vec<(&str, &[u8], &image::RgbImage)> =
            kept.iter().map(|(n, b, i)| (*n, b.as_slice(), i)).collect();
        record["certification"] =
            crate::certify::record_material(state, tenant, id, &v, &inputs).await?;
    }
    state
        .records
        .replace(VERIFICATIONS, key, reserved, record)
        .await
        .map_err(ApiError::from)?;
    if req.manual_verification {
        let boxes = |p: Option<&[idv_vision::Face]>| -> Vec<[f32; 4]> {
            p.unwrap_or_default()
                .iter()
                .map(|f| [f.x, f.y, f.width, f.height])
                .collect()
        };
        let doc_faces = match &v.reference_faces {
            Some(Ok(r)) => Some(r.faces.as_slice()),
            _ => None,
        };
        let selfie_faces = match &v.selfie {
            Some(Ok(s)) => Some(s.faces.faces.as_slice()),
            _ => None,
        };
        let images = kept
            .into_iter()
            .map(|(caption, bytes, img)| {
                let faces = match caption {
                    "Document front" => boxes(doc_faces),
                    "Selfie" => boxes(selfie_faces),
                    _ => Vec::new(),
                };
                (caption, bytes, img.dimensions(), faces)
            })
            .collect();
        crate::review::open_case(state, tenant, id, &v, images).await?;
    }
    if req.certify {
        let msg = crate::messages::encode(&crate::messages::Certify {
            tenant: tenant.to_owned(),
            id: id.to_owned(),
        });
        state
            .queue
            .send(CERTIFY_QUEUE, &msg)
            .await
            .map_err(ApiError::from)?;
    }
    Ok(response)
}

fn field(kind: &str, code: &str, value: impl Into<String>) -> Value {
    json!({"type": kind, "code": code, "value": value.into(), "description": code})
}

/// LINK's `idVerification` block of an automatic verification.
pub fn id_verification(v: &Verification, sides: usize) -> Value {
    let mut fields = Vec::new();
    let mut warning = String::new();
    let result = match &v.document {
        Some(Ok(d)) if d.document_type.is_some() => {
            let data = serde_json::to_value(&d.data).unwrap_or_default();
            let kind = match d.document_type {
                Some("passport") | Some("travel_document") => "PASSPORT",
                Some("visa") => "VISA",
                Some("drivers_license") => "DRIVING_LICENSE",
                _ => "IDENTITY",
            };
            fields.push(field("Normal", "TYPE", kind));
            fields.push(field("Normal", "SIDE", sides.to_string()));
            for (code, name) in [
                ("DOCUMENT_NUMBER", "document_number"),
                ("NAME", "first_name"),
                ("SURNAME", "last_name"),
                ("BIRTH_DATE", "dob"),
                ("EXPIRY_DATE", "expiry"),
                ("SEX", "sex"),
                ("NATIONALITY", "nationality_full"),
                ("ISSUING_STATE", "country_iso3"),
                ("PERSONAL_NUMBER", "personal_number"),
                ("MIDDLE_NAME", "middle_name"),
                ("ISSUE_DATE", "issued"),
                ("ADDRESS", "address"),
                ("PLACE_OF_BIRTH", "place_of_birth"),
                ("ISSUING_AUTHORITY", "issuing_authority"),
                ("VEHICLE_CLASS", "vehicle_class"),
            ] {
                if let Some(s) = data[name]["value"].as_str() {
                    fields.push(field("Normal", code, s));
                } else if let Some(n) = data[name]["value"].as_i64() {
                    fields.push(field("Normal", code, n.to_string()));
                }
            }
            if let Some(z) = &d.mrz {
                fields.push(field("Normal", "MRZ", z.lines.join("\n")));
            }
            let has = |c: &str| v.decision.has(c);
            let test = |ok: bool| if ok { "OK" } else { "FAIL" };
            fields.push(field(
                "Validation",
                "TEST_EXPIRY_DATE",
                test(!has("DOCUMENT_EXPIRED")),
            ));
            if d.mrz.is_some() {
                fields.push(field(
                    "Validation",
                    "TEST_MRZ_CHECKSUMS",
                    test(!has("MRZ_CHECKSUM_FAILED")),
                ));
            }
            fields.push(field("Validation", "TEST_SPECIMEN", test(!has("FAKE_ID"))));
            fields.push(field(
                "Validation",
                "TEST_SIDE_CORRESPONDENCE",
                test(!has("FRONT_BACK_MISMATCH") && !has("VIZ_MRZ_MISMATCH")),
            ));
            fields.push(field(
                "Validation",
                "TEST_MINIMUM_AGE",
                test(!has("UNDERAGE")),
            ));
            if let Some(m) = &v.face_match {
                fields.push(field(
                    "Validation",
                    "TEST_FACE_MATCH",
                    test(m.is_ok() && !has("FAILED_FACE_MATCH")),
                ));
            }
            if let Some(Ok(selfie)) = &v.selfie {
                let live = selfie.liveness.is_some()
                    && selfie.capture.is_none()
                    && !has("FAILED_SELFIE_LIVENESS");
                fields.push(field("Validation", "TEST_LIVENESS", test(live)));
            }
            fields.push(field(
                "Normal",
                "QUALITY_IMAGE_BLURRING",
                format!("SHARPNESS {:.0}", d.quality.sharpness),
            ));
            let authentic = v.decision.outcome() != Outcome::Rejected;
            fields.push(field(
                "Validation",
                "TEST_GLOBAL_AUTHENTICITY_VALUE",
                test(authentic),
            ));
            match v.decision.outcome() {
                Outcome::Approved => "Ok",
                Outcome::Review => {
                    warning = v
                        .decision
                        .details
                        .iter()
                        .map(|d| d.code.as_str())
                        .collect::<Vec<_>>()
                        .join(",");
                    "Warning"
                }
                Outcome::Rejected => {
                    warning = v
                        .decision
                        .details
                        .iter()
                        .filter(|d| d.decision == idv_pipeline::Decision::Reject)
                        .map(|d| d.code.as_str())
                        .collect::<Vec<_>>()
                        .join(",");
                    "NotCorrect"
                }
            }
        }
        _ => {
            warning = "DOCUMENT_NOT_RECOGNIZED".into();
            "NotProcessed"
        }
    };
    json!({"status": "Completed", "process": "Automatic", "result": result, "warning": warning, "fields": fields})
}

/// `GET /certificate/{id}` → `{id, content}` once the certificate exists.
pub async fn certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, LinkError> {
    let tenant = auth::bearer(&state, &headers, "kyc.certification")?;
    let key = format!("{}/{id}", tenant.0);
    let rec = state
        .records
        .get(VERIFICATIONS, &key)
        .await
        .map_err(ApiError::from)?;
    let Some(cert_key) = rec
        .as_ref()
        .and_then(|r| r.value["certificateKey"].as_str())
    else {
        return Err(ApiError::not_found("certificate").into());
    };
    let pdf = state
        .blobs
        .get(cert_key)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| LinkError::from(ApiError::not_found("certificate")))?;
    use base64::Engine as _;
    Ok(Json(
        json!({"id": id, "content": base64::engine::general_purpose::STANDARD.encode(pdf)}),
    ))
}
