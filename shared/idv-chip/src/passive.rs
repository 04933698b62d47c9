//! Passive Authentication: the SOD's signature by its Document Signer, the DSC issued by a
//! CSCA of the trust store and valid at the signing time, the data groups' hashes.

use std::collections::BTreeMap;

use openssl::asn1::Asn1Time;
use serde::Serialize;

use crate::cms;
use crate::keys;
use crate::lds::{LDS_SECURITY_OBJECT, SecurityObject};
use crate::trust::{Cert, TrustStore};

/// Why Passive Authentication failed (stable codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaError {
    MalformedSod,
    UnsupportedAlgorithm,
    ContentDigestMismatch,
    DscNotFound,
    BadSignature,
    CscaNotFound,
    DscNotSignedByCsca,
    DscExpiredAtSigning,
    DscNotYetValidAtSigning,
    CscaExpiredAtSigning,
    DgHashMismatch,
    DgNotInSod,
}

impl PaError {
    /// The code as it appears in JSON and findings.
    pub fn code(self) -> &'static str {
        match self {
            PaError::MalformedSod => "malformed_sod",
            PaError::UnsupportedAlgorithm => "unsupported_algorithm",
            PaError::ContentDigestMismatch => "content_digest_mismatch",
            PaError::DscNotFound => "dsc_not_found",
            PaError::BadSignature => "bad_signature",
            PaError::CscaNotFound => "csca_not_found",
            PaError::DscNotSignedByCsca => "dsc_not_signed_by_csca",
            PaError::DscExpiredAtSigning => "dsc_expired_at_signing",
            PaError::DscNotYetValidAtSigning => "dsc_not_yet_valid_at_signing",
            PaError::CscaExpiredAtSigning => "csca_expired_at_signing",
            PaError::DgHashMismatch => "dg_hash_mismatch",
            PaError::DgNotInSod => "dg_not_in_sod",
        }
    }
}

/// The verdict of Passive Authentication.
#[derive(Debug, Clone, Serialize)]
pub struct Passive {
    pub valid: bool,
    pub errors: Vec<PaError>,
    /// The Document Signer's subject.
    pub signer: Option<String>,
    /// The subject of the CSCA that issued it.
    pub csca: Option<String>,
    /// The SOD's signingTime (`YYYYMMDDHHMMSSZ`), when it has one.
    pub signing_time: Option<String>,
}

/// One data group's hash check.
#[derive(Debug, Clone, Serialize)]
pub struct DataGroup {
    pub hash_valid: bool,
}

/// Passive Authentication's verdict and the data groups' checks.
pub struct Outcome {
    pub passive: Passive,
    pub data_groups: BTreeMap<u32, DataGroup>,
}

/// Verifies an EF.SOD and the data groups given (number → the whole file as read).
pub fn verify(sod: &[u8], dgs: &BTreeMap<u32, Vec<u8>>, trust: &TrustStore) -> Outcome {
    let mut out = Outcome {
        passive: Passive {
            valid: false,
            errors: Vec::new(),
            signer: None,
            csca: None,
            signing_time: None,
        },
        data_groups: BTreeMap::new(),
    };
    let malformed = |mut out: Outcome| {
        out.passive.errors.push(PaError::MalformedSod);
        for n in dgs.keys() {
            out.data_groups.insert(*n, DataGroup { hash_valid: false });
        }
        out
    };
    let Ok(sd) = cms::read(sod) else {
        return malformed(out);
    };
    if sd.content_type != LDS_SECURITY_OBJECT {
        return malformed(out);
    }
    let Ok(lds) = SecurityObject::read(&sd.content) else {
        return malformed(out);
    };
    out.passive.signing_time = sd.signer.signing_time.clone();
    let errors = &mut out.passive.errors;

    // The data groups, against the list as read.
    for (n, file) in dgs {
        let ok = match lds.hashes.get(n) {
            None => {
                errors.push(PaError::DgNotInSod);
                false
            }
            Some(listed) => match keys::hash_with(&lds.hash.oid, file) {
                Ok(h) => {
                    if &h != listed {
                        errors.push(PaError::DgHashMismatch);
                    }
                    &h == listed
                }
                Err(_) => {
                    errors.push(PaError::UnsupportedAlgorithm);
                    false
                }
            },
        };
        out.data_groups.insert(*n, DataGroup { hash_valid: ok });
    }

    match sd.content_holds() {
        Some(true) => {}
        Some(false) => errors.push(PaError::ContentDigestMismatch),
        None => errors.push(PaError::UnsupportedAlgorithm),
    }

    // The Document Signer: embedded, else among the store's plain certificates.
    let embedded: Vec<Cert> = sd
        .certificates
        .iter()
        .filter_map(|c| Cert::read(c).ok())
        .collect();
    let dsc = embedded
        .iter()
        .chain(trust.others.iter())
        .find(|c| c.is(&sd.signer.sid));
    let Some(dsc) = dsc else {
        errors.push(PaError::DscNotFound);
        return finish(out);
    };
    out.passive.signer = Some(dsc.subject_line());
    match dsc.key.as_ref().and_then(|k| sd.signed_with(k)) {
        Some(true) => {}
        Some(false) => errors.push(PaError::BadSignature),
        None => errors.push(PaError::UnsupportedAlgorithm),
    }

    // The CSCA: any anchor that verifies the DSC's signature, both valid at signing time.
    let at = sd
        .signer
        .signing_time
        .as_deref()
        .and_then(|t| Asn1Time::from_str(t).ok());
    let candidates: Vec<&Cert> = trust.issuers_of(dsc).collect();
    if candidates.is_empty() {
        errors.push(PaError::CscaNotFound);
        return finish(out);
    }
    let mut best: Option<Vec<PaError>> = None;
    for csca in candidates.iter().filter(|c| dsc.signed_by(c)) {
        let mut e = Vec::new();
        if let Some(at) = &at {
            if dsc.x509.not_before() > at.as_ref() {
                e.push(PaError::DscNotYetValidAtSigning);
            }
            if dsc.x509.not_after() < at.as_ref() {
                e.push(PaError::DscExpiredAtSigning);
            }
            if csca.x509.not_before() > at.as_ref() || csca.x509.not_after() < at.as_ref() {
                e.push(PaError::CscaExpiredAtSigning);
            }
        }
        if best.as_ref().is_none_or(|b| e.len() < b.len()) {
            out.passive.csca = Some(csca.subject_line());
            let done = e.is_empty();
            best = Some(e);
            if done {
                break;
            }
        }
    }
    match best {
        None => errors.push(PaError::DscNotSignedByCsca),
        Some(e) => errors.extend(e),
    }
    finish(out)
}

fn finish(mut out: Outcome) -> Outcome {
    out.passive.valid = out.passive.errors.is_empty();
    out
}
