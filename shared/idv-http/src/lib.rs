//! idv's HTTP edge: one axum router speaking every dialect under `dialects/` over the core's
//! services, plus the shared routes (uploads, audit, callbacks, receipts, erasure, review,
//! readiness), the status table and the OpenAPI document. The same router runs in
//! `idv serve` and under `lambda_http`; handlers extract, call the core, and shape the answer.

#![deny(clippy::unwrap_used)]

pub mod body;
pub mod dialects;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod routes;
pub mod turn;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use body::MAX_BODY;
pub use dialects::{dialects, jobs};
pub use error::ApiError;
use idv_core::{ErrorCode, Services};

/// Every documented route, each registered with its OpenAPI operation (`routes!`), so the
/// document lists exactly what is served.
fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(dialects::routes())
        .merge(routes::routes())
        .routes(routes!(openapi::document))
        .routes(routes!(openapi::health))
}

/// The OpenAPI document of [`router`] and of [`server_router`]'s admin API.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = routes().into_openapi();
    doc.merge(routes::admin::routes().into_openapi());
    openapi::add_error_responses(&mut doc);
    doc
}

/// The router with every route of every dialect (what the Lambda functions serve).
pub fn router(state: Services) -> Router {
    build(state, None)
}

/// [`router`] plus what `idv serve` alone serves: the admin API behind `admin_token`,
/// `/metrics` (behind `metrics_token` when one is set), and the server's `own` routes (its
/// CA's CRL), all behind the same middleware.
pub fn server_router(
    state: Services,
    admin_token: String,
    metrics_token: Option<String>,
    own: Router<Services>,
) -> Router {
    build(state, Some((admin_token, metrics_token, own)))
}

type ServerParts = (String, Option<String>, Router<Services>);

fn build(state: Services, server: Option<ServerParts>) -> Router {
    let (mut router, mut doc) = routes().split_for_parts();
    let (admin, admin_doc) = routes::admin::routes().split_for_parts();
    doc.merge(admin_doc);
    openapi::add_error_responses(&mut doc);
    openapi::publish(&doc);
    if let Some((admin_token, metrics_token, own)) = server {
        let admin = admin.route_layer(middleware::from_fn(
            move |headers: axum::http::HeaderMap, req: Request, next: middleware::Next| {
                let allowed = extract::bearer_matches(&headers, &admin_token);
                async move {
                    match allowed {
                        true => next.run(req).await,
                        false => ApiError::unauthorized().into_response(),
                    }
                }
            },
        ));
        router = router.merge(admin).route(
            "/metrics",
            axum::routing::get(
                move |State(s): State<Services>, headers: axum::http::HeaderMap| {
                    routes::metrics::metrics(s, metrics_token.clone(), headers)
                },
            ),
        );
        router = router.merge(own);
    }
    router
        // Upload keys hold slashes: a wildcard, documented in `openapi::ApiDoc`.
        .route("/v1/uploads/{*key}", put(routes::uploads::receive))
        .fallback(unknown_route)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(envelope))
        .with_state(state)
}

/// 404 for an unknown route, after reading (and dropping) its body up to the body limit: a
/// client still sending would otherwise see a broken pipe instead of the status.
async fn unknown_route(body: axum::body::Body) -> ApiError {
    body::drain(body, MAX_BODY).await;
    ApiError::not_found("route")
}

/// Request id, security headers, request ids in error bodies, and an access log without
/// personal data (method, route, status, time).
async fn envelope(req: Request, next: middleware::Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let matched = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let start = Instant::now();
    // A body declared larger than any route takes is refused before a byte of it is read;
    // undeclared (chunked) bodies meet the same limit as they are read.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // The client's address, where the server knows it, for the sign-in failure budgets.
    let client = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let mut res = if declared.is_some_and(|n| n > MAX_BODY as u64) {
        body::too_large_body().into_response()
    } else {
        let turn = req.extensions().get::<turn::ServerTurn>().cloned();
        // Every line logged while the request runs carries its id.
        let span = tracing::info_span!("request", request_id = %id);
        use tracing::Instrument;
        turn::TURN
            .scope(turn, extract::CLIENT.scope(client, next.run(req)))
            .instrument(span)
            .await
    };
    if let Some(err) = res.extensions().get::<ApiError>().cloned() {
        let status = res.status();
        res = (
            status,
            Json(error::ErrorBody {
                code: err.code,
                message: err.0.message.clone(),
                request_id: Some(id.clone()),
            }),
        )
            .into_response();
        let retry_after = match err.code {
            ErrorCode::RateLimited | ErrorCode::ServerBusy => Some("1"),
            ErrorCode::StorageFull | ErrorCode::StorageUnavailable => Some("10"),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
        }
    }
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=86400; includeSubDomains"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Log the route shape only: ids and upload keys are not personal, but keep lines short.
    let route: String = path.split('/').take(4).collect::<Vec<_>>().join("/");
    tracing::info!(%method, route, status = res.status().as_u16(), ms = start.elapsed().as_millis() as u64, request_id = %id);
    idv_core::metrics::request(
        method.as_str(),
        &matched,
        res.status().as_u16(),
        start.elapsed(),
    );
    res
}
