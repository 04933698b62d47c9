//! CMS SignedData as EF.SOD and master lists carry it (RFC 5652), read as far as ICAO needs.

use crate::ChipError;
use crate::ber::{self, Tlv};
use crate::keys::{self, Algorithm};
use openssl::pkey::{PKey, Public};

const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const SIGNING_TIME: &str = "1.2.840.113549.1.9.5";

/// How a SignerInfo names its certificate.
#[derive(Debug, Clone)]
pub enum SignerId {
    /// The issuer's name (DER) and the serial number (INTEGER content).
    IssuerSerial { issuer: Vec<u8>, serial: Vec<u8> },
    /// The subjectKeyIdentifier.
    KeyId(Vec<u8>),
}

/// The one SignerInfo ICAO allows.
#[derive(Debug, Clone)]
pub struct Signer {
    pub sid: SignerId,
    pub digest: Algorithm,
    /// The signed attributes, DER, as a SET (what the signature covers); `None` when the
    /// signature is over the content itself.
    pub signed_attrs: Option<Vec<u8>>,
    pub content_type: Option<String>,
    pub message_digest: Option<Vec<u8>>,
    /// The signingTime attribute as `YYYYMMDDHHMMSSZ`.
    pub signing_time: Option<String>,
    pub algorithm: Algorithm,
    pub signature: Vec<u8>,
}

/// A SignedData with its encapsulated content.
#[derive(Debug, Clone)]
pub struct SignedData {
    pub content_type: String,
    pub content: Vec<u8>,
    /// The embedded certificates as stored (DER, or BER in some documents).
    pub certificates: Vec<Vec<u8>>,
    pub signer: Signer,
}

fn malformed(what: &str) -> ChipError {
    ChipError::Malformed(what.to_string())
}

/// Reads a ContentInfo holding a SignedData (an EF.SOD's `0x77` wrapper removed first).
pub fn read(input: &[u8]) -> Result<SignedData, ChipError> {
    let mut top = ber::read_all(input)?;
    let wrapped;
    if top.tag0() == 0x77 {
        wrapped = top.children()?;
        top = wrapped
            .into_iter()
            .next()
            .ok_or_else(|| malformed("empty EF.SOD"))?;
    }
    let ci = top.expect(0x30, "a ContentInfo")?.children()?;
    let oid = ci.first().ok_or_else(|| malformed("empty ContentInfo"))?;
    if oid.tag0() != 0x06 || ber::oid(oid.content) != SIGNED_DATA {
        return Err(malformed("not a SignedData"));
    }
    let explicit = ci
        .get(1)
        .ok_or_else(|| malformed("no SignedData"))?
        .children()?;
    let sd = explicit
        .into_iter()
        .next()
        .ok_or_else(|| malformed("no SignedData"))?
        .expect(0x30, "a SignedData")?
        .children()?;
    let mut it = sd.into_iter();
    let _version = it.next().ok_or_else(|| malformed("no version"))?;
    let _digests = it.next().ok_or_else(|| malformed("no digestAlgorithms"))?;
    let encap = it
        .next()
        .ok_or_else(|| malformed("no encapContentInfo"))?
        .expect(0x30, "an encapContentInfo")?
        .children()?;
    let content_type = encap
        .first()
        .filter(|t| t.tag0() == 0x06)
        .map(|t| ber::oid(t.content))
        .ok_or_else(|| malformed("no eContentType"))?;
    let content = match encap.get(1) {
        Some(e) => e
            .children()?
            .first()
            .ok_or_else(|| malformed("empty eContent"))?
            .bytes()?,
        None => return Err(malformed("detached content")),
    };
    let mut certificates = Vec::new();
    let mut signers = None;
    for t in it {
        match t.tag0() {
            0xa0 => {
                for c in t.children()? {
                    certificates.push(c.raw.to_vec());
                }
            }
            0xa1 => {}
            0x31 => signers = Some(t),
            _ => return Err(malformed("unexpected field in SignedData")),
        }
    }
    let signers = signers
        .ok_or_else(|| malformed("no signerInfos"))?
        .children()?;
    let signer = signers
        .first()
        .ok_or_else(|| malformed("no SignerInfo"))
        .and_then(signer)?;
    Ok(SignedData {
        content_type,
        content,
        certificates,
        signer,
    })
}

fn signer(si: &Tlv<'_>) -> Result<Signer, ChipError> {
    let mut it = si.children()?.into_iter();
    let _version = it
        .next()
        .ok_or_else(|| malformed("no SignerInfo version"))?;
    let sid = it.next().ok_or_else(|| malformed("no SignerIdentifier"))?;
    let sid = match sid.tag0() {
        0x30 => {
            let k = sid.children()?;
            let (issuer, serial) = match (k.first(), k.get(1)) {
                (Some(i), Some(s)) => (i.to_der(None)?, s.content.to_vec()),
                _ => return Err(malformed("short issuerAndSerialNumber")),
            };
            SignerId::IssuerSerial { issuer, serial }
        }
        0x80 | 0xa0 => SignerId::KeyId(sid.bytes()?),
        _ => return Err(malformed("unknown SignerIdentifier")),
    };
    let digest = Algorithm::read(&it.next().ok_or_else(|| malformed("no digestAlgorithm"))?)?;
    let mut next = it
        .next()
        .ok_or_else(|| malformed("no signatureAlgorithm"))?;
    let mut out = Signer {
        sid,
        digest,
        signed_attrs: None,
        content_type: None,
        message_digest: None,
        signing_time: None,
        algorithm: Algorithm {
            oid: String::new(),
            params: None,
        },
        signature: Vec::new(),
    };
    if next.tag0() == 0xa0 {
        // Signed over as a DER SET OF, not under the [0] tag it is stored with.
        out.signed_attrs = Some(next.to_der(Some(0x31))?);
        for attr in next.children()? {
            let a = attr.children()?;
            let (Some(oid), Some(values)) = (a.first(), a.get(1)) else {
                return Err(malformed("short attribute"));
            };
            let value = values.children()?.into_iter().next();
            let Some(value) = value else { continue };
            match ber::oid(oid.content).as_str() {
                CONTENT_TYPE => out.content_type = Some(ber::oid(value.content)),
                MESSAGE_DIGEST => out.message_digest = Some(value.bytes()?),
                SIGNING_TIME => out.signing_time = time(&value),
                _ => {}
            }
        }
        next = it
            .next()
            .ok_or_else(|| malformed("no signatureAlgorithm"))?;
    }
    out.algorithm = Algorithm::read(&next)?;
    out.signature = it
        .next()
        .ok_or_else(|| malformed("no signature"))?
        .bytes()?;
    Ok(out)
}

/// A UTCTime or GeneralizedTime as `YYYYMMDDHHMMSSZ`.
fn time(t: &Tlv<'_>) -> Option<String> {
    let s = String::from_utf8(t.bytes().ok()?).ok()?;
    let s = s.trim_end_matches('Z');
    let full = match t.tag0() {
        0x17 => {
            let yy: u32 = s.get(0..2)?.parse().ok()?;
            format!("{}{s}", if yy < 50 { "20" } else { "19" })
        }
        0x18 => s.to_string(),
        _ => return None,
    };
    let digits = full.get(0..14).unwrap_or(&full);
    let padded = format!("{digits:0<14}");
    padded
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| format!("{padded}Z"))
}

impl SignedData {
    /// The signed attributes name the content type and its digest (`None`: an unsupported
    /// hash).
    pub fn content_holds(&self) -> Option<bool> {
        let s = &self.signer;
        if s.signed_attrs.is_none() {
            return Some(true);
        }
        let d = keys::hash_with(&s.digest.oid, &self.content).ok()?;
        Some(
            s.content_type.as_deref() == Some(self.content_type.as_str())
                && s.message_digest.as_deref() == Some(d.as_slice()),
        )
    }

    /// The signature verifies with `key` (`None`: the algorithm is unknown).
    pub fn signed_with(&self, key: &PKey<Public>) -> Option<bool> {
        let s = &self.signer;
        let data = s.signed_attrs.as_deref().unwrap_or(&self.content);
        keys::verify(key, &s.algorithm, &s.digest.oid, data, &s.signature).ok()
    }

    /// The signed attributes hold and the signature verifies with `key`.
    pub fn holds(&self, key: &PKey<Public>) -> bool {
        self.content_holds() == Some(true) && self.signed_with(key) == Some(true)
    }
}
