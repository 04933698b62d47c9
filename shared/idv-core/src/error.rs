//! Errors: one enum of stable codes and the error every service returns. Codes carry no
//! transport status: the HTTP edge maps each to its status.

/// The stable error codes of the API. Clients may match on them; they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, utoipa::ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// Missing or invalid credentials.
    Unauthorized,
    /// The tenant is disabled: its credentials are refused until an operator enables it.
    TenantDisabled,
    /// A tenant is deleted only once disabled.
    TenantActive,
    /// No such route or resource (for this tenant).
    NotFound,
    /// The resource changed while the request ran; safe to retry.
    Conflict,
    /// The tenant's request rate is over its limit (`Retry-After` says when to retry).
    RateLimited,
    /// The request body is over 64 MB.
    BodyTooLarge,
    /// An image is over 15 MB (or over its upload's limit).
    ImageTooLarge,
    /// An image has no bytes.
    ImageEmpty,
    /// An image is smaller or larger than its kind allows.
    ImageDimensions,
    /// An image does not decode.
    ImageCorrupt,
    /// An image (or an upload's content type) is not JPEG, PNG, WebP or BMP.
    UnsupportedMediaType,
    /// The body is neither multipart/form-data nor JSON.
    UnsupportedContentType,
    /// The route does not take this method (`Allow` lists those it takes).
    MethodNotAllowed,
    /// The body could not be read.
    InvalidBody,
    /// The body is not a JSON object.
    InvalidJson,
    /// The multipart body is malformed.
    InvalidMultipart,
    /// A field has a value it cannot take.
    InvalidField,
    /// A required field is missing.
    MissingField,
    /// An image field is not valid base64.
    InvalidBase64,
    /// An upload key is malformed.
    InvalidKey,
    /// An upload key belongs to another tenant.
    KeyNotReadable,
    /// Nothing was uploaded to an upload key.
    UploadNotFound,
    /// A presigned upload URL is unsigned, expired or used for another key or type, or its
    /// tenant or the credential that asked for it is no longer in force.
    UploadRefused,
    /// A presigned upload URL already received its image (each takes one PUT).
    UploadUsed,
    /// A hosted session is no longer open (submitted, finished, expired or canceled).
    SessionClosed,
    /// A callback URL is not https, or points at a private address.
    InvalidCallbackUrl,
    /// `documentType` is not one idv reads.
    InvalidDocumentType,
    /// No profile has this name.
    UnknownProfile,
    /// A review decision is not one of the allowed values.
    InvalidDecision,
    /// A review reason code is not one LINK defines.
    InvalidReason,
    /// Another reviewer holds the case.
    CaseClaimed,
    /// The case is already decided.
    CaseDecided,
    /// The case changed since it was read; reload it.
    CaseChanged,
    /// Decide only a case you have claimed.
    ClaimRequired,
    /// This function runs no inference.
    ModelsUnavailable,
    /// A queued job's image is missing from the blob store.
    InputMissing,
    /// The server is at capacity: nothing was done; retry shortly (`Retry-After`).
    ServerBusy,
    /// The server's storage is full: nothing was stored; retry later (`Retry-After`).
    StorageFull,
    /// The server's storage cannot write right now; retry later (`Retry-After`).
    StorageUnavailable,
    /// An unexpected server error; safe to retry.
    InternalError,
}

impl ErrorCode {
    /// Every code, for documentation.
    pub const ALL: &[ErrorCode] = &[
        ErrorCode::Unauthorized,
        ErrorCode::TenantDisabled,
        ErrorCode::TenantActive,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::RateLimited,
        ErrorCode::BodyTooLarge,
        ErrorCode::ImageTooLarge,
        ErrorCode::ImageEmpty,
        ErrorCode::ImageDimensions,
        ErrorCode::ImageCorrupt,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::UnsupportedContentType,
        ErrorCode::MethodNotAllowed,
        ErrorCode::InvalidBody,
        ErrorCode::InvalidJson,
        ErrorCode::InvalidMultipart,
        ErrorCode::InvalidField,
        ErrorCode::MissingField,
        ErrorCode::InvalidBase64,
        ErrorCode::InvalidKey,
        ErrorCode::KeyNotReadable,
        ErrorCode::UploadNotFound,
        ErrorCode::UploadRefused,
        ErrorCode::UploadUsed,
        ErrorCode::SessionClosed,
        ErrorCode::InvalidCallbackUrl,
        ErrorCode::InvalidDocumentType,
        ErrorCode::UnknownProfile,
        ErrorCode::InvalidDecision,
        ErrorCode::InvalidReason,
        ErrorCode::CaseClaimed,
        ErrorCode::CaseDecided,
        ErrorCode::CaseChanged,
        ErrorCode::ClaimRequired,
        ErrorCode::ModelsUnavailable,
        ErrorCode::InputMissing,
        ErrorCode::ServerBusy,
        ErrorCode::StorageFull,
        ErrorCode::StorageUnavailable,
        ErrorCode::InternalError,
    ];

    /// The code spelled `s` (as [`as_str`](Self::as_str) gives it).
    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// The code as clients see it, e.g. `IMAGE_TOO_LARGE`.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            Unauthorized => "UNAUTHORIZED",
            TenantDisabled => "TENANT_DISABLED",
            TenantActive => "TENANT_ACTIVE",
            NotFound => "NOT_FOUND",
            Conflict => "CONFLICT",
            RateLimited => "RATE_LIMITED",
            BodyTooLarge => "BODY_TOO_LARGE",
            ImageTooLarge => "IMAGE_TOO_LARGE",
            ImageEmpty => "IMAGE_EMPTY",
            ImageDimensions => "IMAGE_DIMENSIONS",
            ImageCorrupt => "IMAGE_CORRUPT",
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            UnsupportedContentType => "UNSUPPORTED_CONTENT_TYPE",
            MethodNotAllowed => "METHOD_NOT_ALLOWED",
            InvalidBody => "INVALID_BODY",
            InvalidJson => "INVALID_JSON",
            InvalidMultipart => "INVALID_MULTIPART",
            InvalidField => "INVALID_FIELD",
            MissingField => "MISSING_FIELD",
            InvalidBase64 => "INVALID_BASE64",
            InvalidKey => "INVALID_KEY",
            KeyNotReadable => "KEY_NOT_READABLE",
            UploadNotFound => "UPLOAD_NOT_FOUND",
            UploadRefused => "UPLOAD_REFUSED",
            UploadUsed => "UPLOAD_USED",
            SessionClosed => "SESSION_CLOSED",
            InvalidCallbackUrl => "INVALID_CALLBACK_URL",
            InvalidDocumentType => "INVALID_DOCUMENT_TYPE",
            UnknownProfile => "UNKNOWN_PROFILE",
            InvalidDecision => "INVALID_DECISION",
            InvalidReason => "INVALID_REASON",
            CaseClaimed => "CASE_CLAIMED",
            CaseDecided => "CASE_DECIDED",
            CaseChanged => "CASE_CHANGED",
            ClaimRequired => "CLAIM_REQUIRED",
            ModelsUnavailable => "MODELS_UNAVAILABLE",
            InputMissing => "INPUT_MISSING",
            ServerBusy => "SERVER_BUSY",
            StorageFull => "STORAGE_FULL",
            StorageUnavailable => "STORAGE_UNAVAILABLE",
            InternalError => "INTERNAL_ERROR",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An error with a stable code and a message safe to show the client.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    /// An error with `code` and a message safe to show the client.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized() -> Error {
        Self::new(ErrorCode::Unauthorized, "missing or invalid credentials")
    }

    pub fn not_found(what: &str) -> Error {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// 500: the detail goes to the log (it holds no personal data), not to the client.
    pub fn internal(what: impl std::fmt::Display) -> Error {
        tracing::error!(error = %what, "internal error");
        Self::new(
            ErrorCode::InternalError,
            "unexpected server error; safe to retry",
        )
    }
}

/// A store `result` whose conflict (someone else wrote first) is answered with `conflict()`;
/// other store errors map as usual.
pub fn on_conflict<T>(
    result: idv_store::Result<T>,
    conflict: impl FnOnce() -> Error,
) -> Result<T, Error> {
    match result {
        Err(e) if e.is_conflict() => Err(conflict()),
        r => Ok(r?),
    }
}

impl From<idv_image::ImageError> for Error {
    fn from(e: idv_image::ImageError) -> Error {
        use idv_image::ImageError as E;
        let code = match e {
            E::Empty => ErrorCode::ImageEmpty,
            E::TooLarge { .. } => ErrorCode::ImageTooLarge,
            E::UnsupportedFormat => ErrorCode::UnsupportedMediaType,
            E::BadDimensions { .. } => ErrorCode::ImageDimensions,
            E::Corrupt(_) => ErrorCode::ImageCorrupt,
        };
        Error::new(code, e.to_string())
    }
}

impl From<idv_store::StoreError> for Error {
    fn from(e: idv_store::StoreError) -> Error {
        match e {
            idv_store::StoreError::InvalidKey(_) => {
                Error::new(ErrorCode::InvalidKey, "invalid upload key")
            }
            idv_store::StoreError::Conflict { .. } => Error::new(
                ErrorCode::Conflict,
                "the resource changed while this request ran; retry",
            ),
            e if e.is_full() => {
                tracing::error!(error = %e, "storage full");
                Error::new(
                    ErrorCode::StorageFull,
                    "the server's storage is full; nothing was stored, retry later",
                )
            }
            idv_store::StoreError::Unavailable(m) => {
                tracing::warn!(error = %m, "storage unavailable");
                Error::new(
                    ErrorCode::StorageUnavailable,
                    "the server's storage cannot write right now; retry later",
                )
            }
            e => Error::internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert_eq!(ErrorCode::parse(c.as_str()), Some(*c));
        }
    }
}
