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
use axum::http::{HeaderValue, StatusCode, header};
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

/// A client error answered in plain text or with no body by the framework itself (a path or
/// query that does not parse, a method the route does not take) as idv's error with a stable
/// code; any other response as it is.
async fn plain_rejection(res: Response) -> Response {
    let code = match res.status() {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::InvalidField,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedContentType,
        _ => return res,
    };
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if !plain || res.extensions().get::<ApiError>().is_some() {
        return res;
    }
    let allow = res.headers().get(header::ALLOW).cloned();
    let text = axum::body::to_bytes(res.into_body(), 4096)
        .await
        .unwrap_or_default();
    let message = match String::from_utf8_lossy(&text).trim() {
        "" if code == ErrorCode::MethodNotAllowed => "this route does not take this method".into(),
        "" => "the request is malformed".to_string(),
        t => t.to_string(),
    };
    let mut res = ApiError::new(code, message).into_response();
    if let Some(allow) = allow {
        res.headers_mut().insert(header::ALLOW, allow);
    }
    res
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
    let res = if declared.is_some_and(|n| n > MAX_BODY as u64) {
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
    let mut res = plain_rejection(res).await;
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn answer(app: &axum::Router, req: Request<Body>) -> (u16, serde_json::Value, String) {
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let allow = res
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let v = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, v, allow)
    }

    #[tokio::test]
    async fn paths_queries_and_methods_that_do_not_parse_get_a_stable_code() {
        let dir = std::env::temp_dir().join(format!("idv-http-rejections-{}", std::process::id()));
        let state = crate::dialects::for_tests(&dir);
        let t = idv_core::accounts::create_tenant(state.records.as_ref(), "acme", None)
            .await
            .unwrap();
        let app = crate::router(state);
        let get = |uri: &str| {
            Request::get(uri)
                .header("x-api-key", &t.api_key)
                .header("app_id", &t.app_id)
                .header("app_key", &t.app_key)
                .body(Body::empty())
                .unwrap()
        };
        // A query that does not parse, a path segment that is not UTF-8.
        for uri in ["/v1/audit?limit=many", "/v0.2/full-id-verification/%FF"] {
            let (status, v, _) = answer(&app, get(uri)).await;
            assert_eq!(
                (status, &v["code"]),
                (400, &serde_json::json!("INVALID_FIELD")),
                "{uri}: {v}"
            );
            assert!(v["request_id"].is_string(), "{uri}: {v}");
        }
        // A method the route does not take.
        let req = Request::patch("/health").body(Body::empty()).unwrap();
        let (status, v, allow) = answer(&app, req).await;
        assert_eq!(
            (status, &v["code"]),
            (405, &serde_json::json!("METHOD_NOT_ALLOWED")),
            "{v}"
        );
        assert!(allow.contains("GET"), "{allow}");
        // LINK's routes answer in LINK's shape.
        let login = serde_json::json!({"user": t.link_user, "password": t.link_password});
        let req = Request::post("/auth/token")
            .header("content-type", "application/json")
            .body(Body::from(login.to_string()))
            .unwrap();
        let (_, token, _) = answer(&app, req).await;
        let req = Request::get("/certificate/%FF")
            .header(
                "authorization",
                format!("Bearer {}", token["token"].as_str().unwrap()),
            )
            .body(Body::empty())
            .unwrap();
        let (status, v, _) = answer(&app, req).await;
        assert_eq!(
            (status, &v["code"]),
            (400, &serde_json::json!("003")),
            "{v}"
        );
        // The OpenAPI document promises LINK's 401 no body.
        let doc = serde_json::to_value(crate::openapi_document()).unwrap();
        let r401 = &doc["paths"]["/certificate/{id}"]["get"]["responses"]["401"];
        assert!(r401.is_object() && r401.get("content").is_none(), "{r401}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
