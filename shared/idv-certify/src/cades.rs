//! CAdES detached signatures as PAdES baseline wants them (ETSI EN 319 122-1 / 319 142-1):
//! a CMS SignedData whose signed attributes are content-type, message-digest and
//! signing-certificate-v2 — no signing-time (B-B forbids it; the PDF's `/M` holds the time) —
//! and whose signature value is timestamped (`signature-time-stamp`, B-T).
//!
//! OpenSSL's CMS API always adds signing-time, so the structure is written here in DER and
//! only the signature itself is OpenSSL's.

use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey, Private};
use openssl::x509::X509;

use crate::CertifyError;
use crate::der::{self, explicit, octets, oid, seq, set_of};

/// id-signedData.
const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
/// id-data.
const DATA: &str = "1.2.840.113549.1.7.1";
/// SHA-256.
pub const SHA256: &str = "2.16.840.1.101.3.4.2.1";
/// Attribute: content-type.
const CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
/// Attribute: message-digest.
const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
/// Attribute: signing-certificate-v2 (RFC 5035).
const SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
/// Unsigned attribute: signature-time-stamp (RFC 3161 appendix A).
pub const SIGNATURE_TIMESTAMP_TOKEN: &str = "1.2.840.113549.1.9.16.2.14";
/// ecdsa-with-SHA256.
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
/// sha256WithRSAEncryption.
const RSA_SHA256: &str = "1.2.840.113549.1.1.11";

/// An Attribute: `type` and one value.
fn attribute(kind: &str, value: &[u8]) -> Vec<u8> {
    seq(&[&oid(kind), &set_of(&[value])])
}

/// The signature algorithm identifier for `key` (EC P-256/384 or RSA), hashing with SHA-256.
pub fn signature_algorithm(key: &PKey<Private>) -> Result<Vec<u8>, CertifyError> {
    match key.id() {
        Id::EC => Ok(seq(&[&oid(ECDSA_SHA256)])),
        Id::RSA => Ok(seq(&[&oid(RSA_SHA256), &der::NULL])),
        other => Err(CertifyError::Sign(format!(
            "a {other:?} key cannot sign here: use an EC or RSA key"
        ))),
    }
}

/// SHA-256 signature of `data` with `key` (ECDSA: DER `Ecdsa-Sig-Value`; RSA: PKCS #1 v1.5).
pub fn sign(key: &PKey<Private>, data: &[u8]) -> Result<Vec<u8>, CertifyError> {
    let mut s = openssl::sign::Signer::new(MessageDigest::sha256(), key)?;
    s.update(data)?;
    Ok(s.sign_to_vec()?)
}

/// A detached CAdES SignedData over `data` by `cert`/`key` (with `chain` included), its
/// signature value passed to `timestamp` (SHA-256 of the value in, DER `TimeStampToken`
/// out); the DER `ContentInfo`.
pub fn signed_data(
    cert: &X509,
    key: &PKey<Private>,
    chain: &[X509],
    data: &[u8],
    timestamp: impl FnOnce(&[u8; 32]) -> Result<Vec<u8>, CertifyError>,
) -> Result<Vec<u8>, CertifyError> {
    let cert_der = cert.to_der()?;
    let fields = der::cert_fields(&cert_der)
        .ok_or_else(|| CertifyError::Sign("the signing certificate does not parse".into()))?;
    let sha256 = seq(&[&oid(SHA256)]);
    // ESSCertIDv2 { certHash, issuerSerial { GeneralNames { [4] issuer }, serial } }; the
    // hash algorithm is SHA-256, the default, so it is left out.
    let issuer_serial = seq(&[&seq(&[&explicit(4, fields.issuer)]), fields.serial]);
    let cert_id = seq(&[&octets(&openssl::sha::sha256(&cert_der)), &issuer_serial]);
    let signing_certificate = seq(&[&seq(&[&cert_id])]);
    let attrs = [
        attribute(CONTENT_TYPE, &oid(DATA)),
        attribute(MESSAGE_DIGEST, &octets(&openssl::sha::sha256(data))),
        attribute(SIGNING_CERTIFICATE_V2, &signing_certificate),
    ];
    let attr_refs: Vec<&[u8]> = attrs.iter().map(Vec::as_slice).collect();
    // Signed as a SET OF; stored as [0] IMPLICIT with the same content.
    let signed_attrs = set_of(&attr_refs);
    let value = sign(key, &signed_attrs)?;
    let token = timestamp(&openssl::sha::sha256(&value))?;
    let unsigned = attribute(SIGNATURE_TIMESTAMP_TOKEN, &token);
    let signer_info = seq(&[
        &der::int(1),
        &seq(&[fields.issuer, fields.serial]),
        &sha256,
        &der::tlv(0xa0, &der::sorted(&attr_refs)),
        &signature_algorithm(key)?,
        &octets(&value),
        &der::tlv(0xa1, &unsigned),
    ]);
    let mut certs = cert_der.clone();
    for c in chain {
        certs.extend(c.to_der()?);
    }
    let signed = seq(&[
        &der::int(1),
        &set_of(&[&sha256]),
        &seq(&[&oid(DATA)]),
        &der::tlv(0xa0, &certs),
        &set_of(&[&signer_info]),
    ]);
    Ok(seq(&[&oid(SIGNED_DATA), &explicit(0, &signed)]))
}
