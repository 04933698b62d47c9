//! Errors at the HTTP edge: each stable code's status, the envelope every error but LINK's
//! is answered in (`{"code", "message", "request_id"}`; LINK maps it to its own shape), and
//! [`ApiError`], the core's error as a response.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use idv_core::{Error, ErrorCode};

/// The HTTP status the code is answered with.
pub fn status(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        Unauthorized => StatusCode::UNAUTHORIZED,
        TenantDisabled => StatusCode::FORBIDDEN,
        TenantActive => StatusCode::CONFLICT,
        NotFound => StatusCode::NOT_FOUND,
        Conflict => StatusCode::CONFLICT,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ImageTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ImageEmpty => StatusCode::BAD_REQUEST,
        ImageDimensions => StatusCode::BAD_REQUEST,
        ImageCorrupt => StatusCode::BAD_REQUEST,
        UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        UnsupportedContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        InvalidBody => StatusCode::BAD_REQUEST,
        InvalidJson => StatusCode::BAD_REQUEST,
        InvalidMultipart => StatusCode::BAD_REQUEST,
        InvalidField => StatusCode::BAD_REQUEST,
        MissingField => StatusCode::BAD_REQUEST,
        InvalidBase64 => StatusCode::BAD_REQUEST,
        InvalidKey => StatusCode::BAD_REQUEST,
        KeyNotReadable => StatusCode::FORBIDDEN,
        UploadNotFound => StatusCode::BAD_REQUEST,
        UploadRefused => StatusCode::FORBIDDEN,
        UploadUsed => StatusCode::CONFLICT,
        SessionClosed => StatusCode::CONFLICT,
        InvalidCallbackUrl => StatusCode::BAD_REQUEST,
        InvalidDocumentType => StatusCode::BAD_REQUEST,
        UnknownProfile => StatusCode::BAD_REQUEST,
        InvalidDecision => StatusCode::BAD_REQUEST,
        InvalidReason => StatusCode::BAD_REQUEST,
        CaseClaimed => StatusCode::CONFLICT,
        CaseDecided => StatusCode::CONFLICT,
        CaseChanged => StatusCode::CONFLICT,
        ClaimRequired => StatusCode::CONFLICT,
        ModelsUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        InputMissing => StatusCode::INTERNAL_SERVER_ERROR,
        ServerBusy => StatusCode::SERVICE_UNAVAILABLE,
        StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The body of every error but LINK's.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// For people; may change.
    pub message: String,
    /// Also in the `x-request-id` header; quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A core [`Error`] answered to the client with its code's [`status`].
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError(pub Error);

impl ApiError {
    /// An error with `code` and a message safe to show the client.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError(Error::new(code, message))
    }

    /// The HTTP status of the error's code.
    pub fn status(&self) -> StatusCode {
        status(self.0.code)
    }

    pub fn unauthorized() -> ApiError {
        ApiError(Error::unauthorized())
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError(Error::not_found(what))
    }

    /// 500: the detail goes to the log, not to the client.
    pub fn internal(what: impl std::fmt::Display) -> ApiError {
        ApiError(Error::internal(what))
    }
}

impl std::ops::Deref for ApiError {
    type Target = Error;

    fn deref(&self) -> &Error {
        &self.0
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError(e)
    }
}

impl From<idv_store::StoreError> for ApiError {
    fn from(e: idv_store::StoreError) -> ApiError {
        ApiError(e.into())
    }
}

impl From<idv_image::ImageError> for ApiError {
    fn from(e: idv_image::ImageError) -> ApiError {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status(),
            axum::Json(ErrorBody {
                code: self.code,
                message: self.message.clone(),
                request_id: None,
            }),
        )
            .into_response();
        r.extensions_mut().insert(self);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_answers_4xx_or_5xx() {
        for c in ErrorCode::ALL {
            assert!(
                status(*c).is_client_error() || status(*c).is_server_error(),
                "{c}"
            );
        }
    }
}
