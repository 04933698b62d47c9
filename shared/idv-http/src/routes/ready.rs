//! `GET /ready`: 200 when the process can take work, 503 naming the failing part.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use idv_core::Services;
use idv_core::health::{Readiness, readiness};

/// `GET /ready`: 200 when a probe record and a probe blob can be written, at least one
/// request's worth of disk is free, and every queue worker came round within a minute; 503
/// otherwise, saying which part fails.
#[utoipa::path(get, path = "/ready", tag = "Service",
    responses((status = 200, description = "Ready: storage writes and workers run", body = Readiness),
        (status = 503, description = "Not ready: the failing part is named", body = Readiness)))]
pub async fn ready(State(state): State<Services>) -> Response {
    let body = readiness(&state).await;
    let status = if body.ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
