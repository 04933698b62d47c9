//! `GET /openapi.json`: the OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! attributes and the wire types' `ToSchema` derives as the router registers them (see
//! [`crate::router`]), so a route cannot be served without being documented.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// What the router does not add: the title, the security schemes, the shared schemas, and the
/// upload PUT (a wildcard route the router registers by hand).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "idv",
        description = "Self-hosted identity verification speaking the Kairos, one-call and LINK dialects. Errors are `{code, message, request_id}` with a stable `code` (LINK's routes answer `{id, code, message}`)."
    ),
    paths(crate::routes::uploads::receive),
    components(schemas(
        crate::error::ErrorBody,
        crate::dialects::link::LinkError,
        crate::dialects::onecall::forms::VerifyJson
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "Kairos", description = "`app_id` + `app_key` headers; async full and document verification with polling"),
        (name = "One-call", description = "`x-api-key`; verify-identity and the single-purpose endpoints, scores 0–100"),
        (name = "LINK", description = "Bearer tokens from `/auth/token`; verify, certify, manual review"),
        (name = "Uploads", description = "Presigned uploads: send the key instead of the image"),
        (name = "Chip", description = "The document's chip: challenges for Active Authentication (the chip's files go with a verification in any dialect)"),
        (name = "Sessions", description = "Hosted verification sessions: create one with `x-api-key`, send your user its link; idv's page takes the photos, `session.completed` brings the result. The `/s/{token}` routes are the page's own"),
        (name = "Callbacks", description = "Delivery records and webhook signing secrets"),
        (name = "Review", description = "The reviewer console and its API (session cookie)"),
        (name = "Data", description = "Erasing a verification's images and personal data"),
        (name = "Audit", description = "The tenant's tamper-evident audit trail (`idv audit verify` checks it)"),
        (name = "Service", description = "Health and this document"),
        (name = "Admin", description = "The operator's API on `idv serve` (`Authorization: Bearer` the admin token, `idv admin token`): tenants, reviewers, retention"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut Document) {
        let c = doc.components.get_or_insert_with(Default::default);
        let header = |name: &str| SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(name)));
        c.add_security_scheme("app_id", header("app_id"));
        c.add_security_scheme("app_key", header("app_key"));
        c.add_security_scheme("x_api_key", header("x-api-key"));
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        c.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "review_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("idv_review"))),
        );
    }
}

/// Gives every operation its error response: `default` with the error body of its dialect.
pub fn add_error_responses(doc: &mut Document) {
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            let link = op.tags.iter().flatten().any(|t| t == "LINK");
            let schema = if link { "LinkError" } else { "ErrorBody" };
            let response = ResponseBuilder::new()
                .description("An error, with a stable code")
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name(schema)))
                        .build(),
                )
                .build();
            op.responses
                .responses
                .entry("default".into())
                .or_insert(response.into());
            if link {
                // LINK's 401 and 404 carry no body (the seed's).
                for (status, what) in [
                    ("401", "Missing, invalid or expired credentials; no body"),
                    ("404", "Not found; no body"),
                ] {
                    op.responses
                        .responses
                        .entry(status.into())
                        .or_insert(ResponseBuilder::new().description(what).build().into());
                }
            }
        }
    }
}

static DOCUMENT: OnceLock<String> = OnceLock::new();

/// Keeps the finished document for [`document`] (the first router built wins; every router
/// builds the same document).
pub fn publish(doc: &Document) {
    DOCUMENT.get_or_init(|| doc.to_json().unwrap_or_default());
}

/// `GET /openapi.json`.
#[utoipa::path(get, operation_id = "openapi_document", path = "/openapi.json", tag = "Service",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object)))]
pub async fn document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.get().cloned().unwrap_or_default(),
    )
}

/// `GET /health` answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// `GET /health`: the process answers.
#[utoipa::path(get, path = "/health", tag = "Service",
    responses((status = 200, description = "The process answers", body = Health)))]
pub async fn health() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}
