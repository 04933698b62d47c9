//! `GET /openapi.json`: the OpenAPI 3.1 document, built from [`ROUTES`] (the table the
//! end-to-end tests check against the router).

use axum::Json;
use serde_json::{Map, Value, json};

/// How a route authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    None,
    Kairos,
    ApiKey,
    Bearer,
    Signed,
    /// The reviewer console's session cookie (`POST /review/login`).
    Session,
}

/// A body field: name, type, required.
pub type BodyField = (&'static str, &'static str, bool);

/// One route: method, path, auth, summary, body kind and its fields (name, type, required).
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub auth: Auth,
    pub summary: &'static str,
    pub body: Option<(&'static str, &'static [BodyField])>,
}

const MP: &str = "multipart/form-data";
const JS: &str = "application/json";

/// Every route idv serves.
pub const ROUTES: &[Route] = &[
    Route {
        method: "post",
        path: "/v0.2/full-id-verification",
        auth: Auth::Kairos,
        summary: "Kairos: submit a document + selfie verification; answers {api_req_uid} at once",
        body: Some((
            MP,
            &[
                ("selfie", "binary", true),
                ("document", "binary", true),
                ("document_back", "binary", false),
                ("profile", "string", false),
                (
                    "callback_url",
                    "https URL receiving the finished result, signed",
                    false,
                ),
            ],
        )),
    },
    Route {
        method: "get",
        path: "/v0.2/full-id-verification/{id}",
        auth: Auth::Kairos,
        summary: "Kairos: poll a verification (response_code null while queued, 1 when done)",
        body: None,
    },
    Route {
        method: "post",
        path: "/v0.1/document-verification",
        auth: Auth::Kairos,
        summary: "Kairos: submit a document-only verification; answers {api_req_uuid}",
        body: Some((
            MP,
            &[
                ("document", "binary", true),
                ("document_back", "binary", false),
                ("profile", "string", false),
            ],
        )),
    },
    Route {
        method: "get",
        path: "/v0.1/document-verification/{id}",
        auth: Auth::Kairos,
        summary: "Kairos: poll a document verification",
        body: None,
    },
    Route {
        method: "post",
        path: "/v0.2/biometric-verification",
        auth: Auth::Kairos,
        summary: "Kairos: selfie vs photo face match with selfie liveness",
        body: Some((
            MP,
            &[
                ("selfie", "binary", true),
                ("image", "binary", true),
                ("image_multiface", "boolean", false),
                ("profile", "string", false),
            ],
        )),
    },
    Route {
        method: "post",
        path: "/v0.2/liveness-verification",
        auth: Auth::Kairos,
        summary: "Kairos: selfie liveness",
        body: Some((
            MP,
            &[("selfie", "binary", true), ("threshold", "number", false)],
        )),
    },
    Route {
        method: "post",
        path: "/v1/verify-identity",
        auth: Auth::ApiKey,
        summary: "One-call: document scan, face detect and face compare in parallel, with overallConfidence",
        body: Some((
            MP,
            &[
                ("documentImage", "binary|base64|upload key", true),
                ("faceImage", "binary|base64|upload key", true),
                ("documentBackImage", "binary|base64|upload key", false),
                (
                    "documentType",
                    "passport|drivers_license|national_id|auto",
                    false,
                ),
                ("profile", "string", false),
                (
                    "callbackUrl",
                    "https URL receiving the result, signed",
                    false,
                ),
            ],
        )),
    },
    Route {
        method: "post",
        path: "/v1/document/scan",
        auth: Auth::ApiKey,
        summary: "One-call: read a document",
        body: Some((
            MP,
            &[
                ("documentImage", "binary|base64|upload key", true),
                ("documentBackImage", "binary|base64|upload key", false),
                ("documentType", "string", false),
            ],
        )),
    },
    Route {
        method: "post",
        path: "/v1/face/detect",
        auth: Auth::ApiKey,
        summary: "One-call: faces in an image",
        body: Some((MP, &[("image", "binary|base64|upload key", true)])),
    },
    Route {
        method: "post",
        path: "/v1/face/compare",
        auth: Auth::ApiKey,
        summary: "One-call: compare the faces of two images",
        body: Some((
            MP,
            &[
                ("sourceImage", "binary|base64|upload key", true),
                ("targetImage", "binary|base64|upload key", true),
            ],
        )),
    },
    Route {
        method: "get",
        path: "/v1/callbacks/{id}",
        auth: Auth::ApiKey,
        summary: "A callback (event id) and every delivery attempt: time, status code, latency",
        body: None,
    },
    Route {
        method: "post",
        path: "/v1/webhook-secrets/rotate",
        auth: Auth::ApiKey,
        summary: "New webhook signing secret; the previous one stays valid (two signatures) until dropped",
        body: None,
    },
    Route {
        method: "delete",
        path: "/v1/webhook-secrets/previous",
        auth: Auth::ApiKey,
        summary: "End a secret rotation: only the newest secret signs",
        body: None,
    },
    Route {
        method: "post",
        path: "/v1/uploads",
        auth: Auth::ApiKey,
        summary: "Presigned upload: returns {key, url, method, headers, expiresAt, maxBytes}",
        body: Some((
            JS,
            &[(
                "contentType",
                "image/jpeg|image/png|image/webp|image/bmp",
                false,
            )],
        )),
    },
    Route {
        method: "put",
        path: "/v1/uploads/{key}",
        auth: Auth::Signed,
        summary: "Local store: receives a presigned upload (signature, expiry, size, type checked)",
        body: None,
    },
    Route {
        method: "post",
        path: "/auth/token",
        auth: Auth::None,
        summary: "LINK: user/password → bearer token (3600 s) with scopes",
        body: Some((
            JS,
            &[("user", "string", true), ("password", "string", true)],
        )),
    },
    Route {
        method: "post",
        path: "/ping",
        auth: Auth::None,
        summary: "LINK: availability",
        body: None,
    },
    Route {
        method: "post",
        path: "/identity/verify",
        auth: Auth::Bearer,
        summary: "LINK: verify a document (base64 images, optional faceImage), certify, manual review",
        body: Some((
            JS,
            &[
                ("id", "string", true),
                ("images", "array of {content, faceImage}", true),
                ("expeditorCountry", "string", false),
                ("certify", "boolean", false),
                ("certifyCallback", "string", false),
                ("manualVerification", "boolean", false),
                ("manualVerificationCallback", "string", false),
            ],
        )),
    },
    Route {
        method: "get",
        path: "/certificate/{id}",
        auth: Auth::Bearer,
        summary: "LINK: the certificate PDF as base64",
        body: None,
    },
    Route {
        method: "get",
        path: "/review",
        auth: Auth::None,
        summary: "Reviewer console (HTML): sign in, the queue, cases, decisions",
        body: None,
    },
    Route {
        method: "post",
        path: "/review/login",
        auth: Auth::None,
        summary: "Reviewer sign-in: sets the idv_review session cookie (8 h)",
        body: Some((
            JS,
            &[("user", "string", true), ("password", "string", true)],
        )),
    },
    Route {
        method: "get",
        path: "/review/api/cases",
        auth: Auth::Session,
        summary: "Open review cases of the reviewer's tenant",
        body: None,
    },
    Route {
        method: "get",
        path: "/review/api/cases/{id}",
        auth: Auth::Session,
        summary: "A case: images with face boxes, automatic checks and scores, prefilled extractedData",
        body: None,
    },
    Route {
        method: "post",
        path: "/review/api/cases/{id}/claim",
        auth: Auth::Session,
        summary: "Claim a case for 15 minutes (409 if another reviewer holds it)",
        body: None,
    },
    Route {
        method: "post",
        path: "/review/api/cases/{id}/decision",
        auth: Auth::Session,
        summary: "Decide a claimed case; sends the ManualIDVerification callback",
        body: Some((
            JS,
            &[
                ("acceptance", "{result: ACCEPTED|REJECTED, reasons}", true),
                (
                    "authenticity",
                    "{result: AUTHENTIC|NOT_AUTHENTIC, reasons}",
                    true,
                ),
                (
                    "originality",
                    "{result: ORIGINAL|NOT_ORIGINAL, reasons}",
                    true,
                ),
                ("validity", "{result: VALID|NOT_VALID, reasons}", true),
                (
                    "faceAcceptance",
                    "{result: ACCEPTED|REJECTED, reasons}",
                    true,
                ),
                ("faceComparisonApproval", "MATCH|NOT_MATCH", true),
                ("faceLivenessApproval", "LIVE|NOT_LIVE", true),
                ("extractedData", "LINK extractedData, edited", false),
            ],
        )),
    },
    Route {
        method: "get",
        path: "/review/api/cases/{id}/images/{n}",
        auth: Auth::Session,
        summary: "A case image",
        body: None,
    },
    Route {
        method: "get",
        path: "/openapi.json",
        auth: Auth::None,
        summary: "This document",
        body: None,
    },
    Route {
        method: "get",
        path: "/health",
        auth: Auth::None,
        summary: "Liveness of the service",
        body: None,
    },
];

fn security(a: Auth) -> Value {
    match a {
        Auth::None | Auth::Signed => json!([]),
        Auth::Session => json!([{"review_session": []}]),
        Auth::Kairos => json!([{"app_id": [], "app_key": []}]),
        Auth::ApiKey => json!([{"x-api-key": []}]),
        Auth::Bearer => json!([{"bearer": []}]),
    }
}

/// The OpenAPI document.
pub fn build() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in ROUTES {
        let mut op = json!({
            "summary": r.summary,
            "security": security(r.auth),
            "responses": {
                "200": {"description": "success"},
                "400": {"description": "invalid body or image: {code, message, request_id}"},
                "401": {"description": "missing or invalid credentials"},
                "404": {"description": "unknown id, or another tenant's"},
                "413": {"description": "image over 15 MB or body too large"},
                "415": {"description": "not an image, or an unsupported format"},
            },
        });
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|n| json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            op["parameters"] = json!(params);
        }
        if let Some((ct, fields)) = r.body {
            let props: Map<String, Value> = fields
                .iter()
                .map(|(n, t, _)| (n.to_string(), json!({"type": "string", "description": t})))
                .collect();
            let required: Vec<&str> = fields.iter().filter(|f| f.2).map(|f| f.0).collect();
            let schema = json!({"type": "object", "properties": props, "required": required});
            op["requestBody"] =
                json!({"content": {ct: {"schema": schema}, JS: {"schema": schema}}});
        }
        paths
            .entry(r.path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("object")
            .insert(r.method.to_string(), op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "idv", "version": env!("CARGO_PKG_VERSION"),
            "description": "Self-hosted identity verification speaking the Kairos, one-call and LINK dialects."},
        "components": {"securitySchemes": {
            "app_id": {"type": "apiKey", "in": "header", "name": "app_id"},
            "app_key": {"type": "apiKey", "in": "header", "name": "app_key"},
            "x-api-key": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            "review_session": {"type": "apiKey", "in": "cookie", "name": "idv_review"},
        }},
        "paths": paths,
    })
}

/// `GET /openapi.json`.
pub async fn document() -> Json<Value> {
    Json(build())
}
