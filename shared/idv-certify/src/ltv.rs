//! Long-term validation material (PAdES B-LT): a CRL issued by idv's CA, and a document
//! security store (`/DSS`) with the certificates and CRLs a validator needs, appended to a
//! signed PDF as one more incremental update.

use lopdf::{Dictionary, IncrementalDocument, Object, Stream};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use crate::CertifyError;
use crate::cades::{sign, signature_algorithm};
use crate::der::{self, explicit, octets, oid, seq};

/// cRLNumber.
const CRL_NUMBER: &str = "2.5.29.20";
/// authorityKeyIdentifier.
const AUTHORITY_KEY_ID: &str = "2.5.29.35";

/// Who issues CRLs: the CA certificate and its key.
pub struct CrlIssuer {
    pub cert: X509,
    pub key: PKey<Private>,
}

impl CrlIssuer {
    /// A DER CRL revoking nothing, issued at `now` (Unix seconds), next update `days` later,
    /// numbered `now` (increasing).
    pub fn crl(&self, now: i64, days: i64) -> Result<Vec<u8>, CertifyError> {
        let ca = self.cert.to_der()?;
        let subject = der::cert_fields(&ca)
            .ok_or_else(|| CertifyError::Sign("the CA certificate does not parse".into()))?
            .subject;
        let algorithm = signature_algorithm(&self.key)?;
        let mut extensions = vec![seq(&[
            &oid(CRL_NUMBER),
            &octets(&der::int(now.max(0) as u64)),
        ])];
        if let Some(id) = self.cert.subject_key_id() {
            let aki = seq(&[&der::tlv(0x80, id.as_slice())]);
            extensions.push(seq(&[&oid(AUTHORITY_KEY_ID), &octets(&aki)]));
        }
        let ext_refs: Vec<&[u8]> = extensions.iter().map(Vec::as_slice).collect();
        let tbs = seq(&[
            &der::int(1), // v2
            &algorithm,
            subject,
            &der::utc_time(now),
            &der::utc_time(now + days * 86_400),
            &explicit(0, &seq(&ext_refs)),
        ]);
        let signature = sign(&self.key, &tbs)?;
        Ok(seq(&[&tbs, &algorithm, &der::bits(&signature)]))
    }
}

/// `pdf` with a `/DSS` holding `certs` and `crls` (DER), added in an incremental update that
/// leaves the signed bytes as they are.
pub fn add_dss(pdf: Vec<u8>, certs: &[Vec<u8>], crls: &[Vec<u8>]) -> Result<Vec<u8>, CertifyError> {
    let prev = lopdf::Document::load_mem(&pdf)?;
    let root = prev.trailer.get(b"Root")?.as_reference()?;
    let mut inc = IncrementalDocument::create_from(pdf, prev);
    inc.opt_clone_object_to_new_document(root)?;
    let doc = &mut inc.new_document;
    let mut streams = |items: &[Vec<u8>]| -> Vec<Object> {
        items
            .iter()
            .map(|d| Object::Reference(doc.add_object(Stream::new(Dictionary::new(), d.clone()))))
            .collect()
    };
    let mut dss = Dictionary::new();
    dss.set("Certs", Object::Array(streams(certs)));
    dss.set("CRLs", Object::Array(streams(crls)));
    let dss_id = doc.add_object(dss);
    doc.get_object_mut(root)?
        .as_dict_mut()?
        .set("DSS", Object::Reference(dss_id));
    let mut out = Vec::new();
    inc.save_to(&mut out)?;
    Ok(out)
}
