//! API errors: a stable code, an HTTP status and a message safe to show the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to the client as `{"code", "message", "request_id"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unauthorized() -> ApiError {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "missing or invalid credentials",
        )
    }
    pub fn not_found(what: &str) -> ApiError {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("{what} not found"),
        )
    }
    pub fn internal(what: impl std::fmt::Display) -> ApiError {
        // The detail goes to the log (it holds no personal data), not to the client.
        tracing::error!(error = %what, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "unexpected server error; safe to retry",
        )
    }
}

impl From<idv_image::ImageError> for ApiError {
    fn from(e: idv_image::ImageError) -> ApiError {
        ApiError::new(
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST),
            e.code(),
            e.to_string(),
        )
    }
}

impl From<idv_store::StoreError> for ApiError {
    fn from(e: idv_store::StoreError) -> ApiError {
        match e {
            idv_store::StoreError::InvalidKey(_) => {
                ApiError::bad_request("INVALID_KEY", "invalid upload key")
            }
            idv_store::StoreError::Conflict { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "CONFLICT",
                "the resource changed while this request ran; retry",
            ),
            e => ApiError::internal(e),
        }
    }
}

/// The request id, put in error bodies by the middleware.
#[derive(Clone)]
pub struct RequestId(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            axum::Json(json!({"code": self.code, "message": self.message})),
        )
            .into_response();
        r.extensions_mut().insert(self);
        r
    }
}
