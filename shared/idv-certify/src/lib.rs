//! Certificates of verification that anyone can check offline with standard tools: a PDF
//! rendered with printpdf, signed with a detached CMS (`adbe.pkcs7.detached`) in an
//! incremental update, and the signature timestamped (RFC 3161) by idv's own authority.
//!
//! `openssl` has no RFC 3161 bindings, so [`tsa`] declares the few libcrypto `TS_*` functions
//! it needs behind one safe call; nothing shells out to the `openssl` binary.

pub mod keys;
pub mod render;
pub mod sign;
pub mod tsa;

pub use keys::{DEFAULT_POLICY, Pems, generate_dev};
pub use render::{Certificate, Row, Section, render};
pub use sign::Signer;
pub use tsa::Tsa;

/// A failure to render, sign or timestamp a certificate.
#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    #[error("openssl: {0}")]
    Openssl(#[from] openssl::error::ErrorStack),
    #[error("PDF: {0}")]
    Pdf(#[from] lopdf::Error),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("signing: {0}")]
    Sign(String),
    #[error("timestamp: {0}")]
    Timestamp(String),
}
