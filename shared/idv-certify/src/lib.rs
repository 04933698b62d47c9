//! Certificates of verification that anyone can check offline with standard tools: a PDF
//! rendered with printpdf, signed in an incremental update with a PAdES baseline signature
//! (CAdES detached, `ETSI.CAdES.detached`), the signature timestamped (RFC 3161) by idv's own
//! authority (B-T), and optionally the CA's CRL and the certificates added in a document
//! security store (B-LT).
//!
//! `openssl` has no RFC 3161 bindings, so [`tsa`] declares the few libcrypto `TS_*` functions
//! it needs behind one safe call; nothing shells out to the `openssl` binary.

#[cfg(feature = "sign")]
pub mod cades;
#[cfg(feature = "sign")]
pub mod der;
#[cfg(feature = "sign")]
pub mod keys;
#[cfg(feature = "sign")]
pub mod ltv;
#[cfg(feature = "sign")]
pub mod receipt;
#[cfg(feature = "sign")]
pub mod remote_tsa;
pub mod render;
#[cfg(feature = "sign")]
pub mod sign;
#[cfg(feature = "sign")]
#[allow(unsafe_code)] // libcrypto's TS_* functions (RFC 3161), which openssl does not bind
pub mod tsa;

#[cfg(feature = "sign")]
pub use keys::{DEFAULT_POLICY, Imported, Pems, generate_dev, import_p12, import_pem};
#[cfg(feature = "sign")]
pub use ltv::CrlIssuer;
#[cfg(feature = "sign")]
pub use receipt::verify_receipt;
#[cfg(feature = "sign")]
pub use remote_tsa::RemoteTsa;
pub use render::{Certificate, Issuer, Row, SIGNATURE_BOX, Section, render};
#[cfg(feature = "sign")]
pub use sign::{Level, Signer, Timestamper};
#[cfg(feature = "sign")]
pub use tsa::Tsa;

/// Signs and timestamps a rendered certificate PDF: what the certification worker needs of a
/// [`Signer`] (feature `sign`), so that code holding one does not itself link OpenSSL.
pub trait SignPdf: Send + Sync {
    /// The PDF with its signature (and timestamp) appended as an incremental update;
    /// `signed_at` is the PDF date of signing (`D:YYYYMMDDHHMMSSZ`).
    fn sign_pdf(&self, pdf: Vec<u8>, signed_at: &str) -> Result<Vec<u8>, CertifyError>;

    /// Who signs, as the visible signature names it (the signing certificate's subject).
    fn signer_name(&self) -> String {
        "idv".into()
    }
}

/// A failure to render, sign or timestamp a certificate.
#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    #[cfg(feature = "sign")]
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
