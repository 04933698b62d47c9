//! The CSCA trust store: master lists (CMS-signed CscaMasterList) and certificates (DER or
//! PEM), loaded once; every CA certificate is an anchor.

use std::path::Path;

use openssl::pkey::{PKey, Public};
use openssl::x509::X509;
use serde::Serialize;

use crate::ChipError;
use crate::ber;
use crate::cms::{self, SignerId};
use crate::keys;

/// The eContentType of a CSCA master list.
const MASTER_LIST: &str = "2.23.136.1.1.2";

/// A certificate with what lookups need.
pub struct Cert {
    pub x509: X509,
    /// Its public key, on its named curve (`None` when the key cannot be used).
    pub key: Option<PKey<Public>>,
    pub ca: bool,
    pub ski: Option<Vec<u8>>,
    pub aki: Option<Vec<u8>>,
    /// The subject and issuer as sets of (attribute OID, value) for order-free matching.
    pub subject: Vec<(String, Vec<u8>)>,
    pub issuer: Vec<(String, Vec<u8>)>,
    /// The serial number without leading zeros.
    pub serial: Vec<u8>,
}

impl Cert {
    /// Reads a certificate as stored (DER; BER re-encoded as DER when openssl refuses it).
    pub fn read(raw: &[u8]) -> Result<Cert, ChipError> {
        let x509 = match X509::from_der(raw) {
            Ok(c) => c,
            Err(_) => {
                let der = ber::read_all(raw)?.to_der(None)?;
                X509::from_der(&der)
                    .map_err(|e| ChipError::Malformed(format!("certificate: {e}")))?
            }
        };
        Cert::new(x509)
    }

    pub fn new(x509: X509) -> Result<Cert, ChipError> {
        let der = x509
            .to_der()
            .map_err(|e| ChipError::Crypto(e.to_string()))?;
        let ext = Extensions::read(&der)?;
        let key = x509.public_key().ok().and_then(|k| keys::named(k).ok());
        let names = |n: &openssl::x509::X509NameRef| -> Result<_, ChipError> {
            name_set(&n.to_der().map_err(|e| ChipError::Crypto(e.to_string()))?)
        };
        let subject = names(x509.subject_name())?;
        let issuer = names(x509.issuer_name())?;
        let serial = x509
            .serial_number()
            .to_bn()
            .map(|b| b.to_vec())
            .unwrap_or_default();
        Ok(Cert {
            key,
            ca: ext.ca,
            ski: x509.subject_key_id().map(|s| s.as_slice().to_vec()),
            aki: ext.aki,
            subject,
            issuer,
            serial,
            x509,
        })
    }

    /// The subject in one line (`C=DE, O=…, CN=…`).
    pub fn subject_line(&self) -> String {
        line(self.x509.subject_name())
    }

    /// Whether the SignerIdentifier names this certificate.
    pub fn is(&self, sid: &SignerId) -> bool {
        match sid {
            SignerId::KeyId(k) => self.ski.as_deref() == Some(k),
            SignerId::IssuerSerial { issuer, serial } => {
                let s: Vec<u8> = serial.iter().copied().skip_while(|&b| b == 0).collect();
                s == self.serial && name_set(issuer).is_ok_and(|n| n == self.issuer)
            }
        }
    }

    /// Whether `issuer` may have signed this certificate (by key identifier, else by name).
    pub fn may_be_issued_by(&self, issuer: &Cert) -> bool {
        match (&self.aki, &issuer.ski) {
            (Some(a), Some(s)) if a == s => true,
            _ => self.issuer == issuer.subject,
        }
    }

    /// Whether this certificate's signature verifies with `issuer`'s key.
    pub fn signed_by(&self, issuer: &Cert) -> bool {
        issuer
            .key
            .as_ref()
            .is_some_and(|k| self.x509.verify(k).unwrap_or(false))
    }
}

/// A name in one line.
pub fn line(n: &openssl::x509::X509NameRef) -> String {
    n.entries()
        .map(|e| {
            let k = e.object().nid().short_name().unwrap_or("?");
            let v = e.data().to_string().unwrap_or_default();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Name (DER) as a sorted list of (attribute OID, value): the same name whatever the
/// order of its RDNs or its string types.
pub fn name_set(der: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ChipError> {
    let mut out = Vec::new();
    for rdn in ber::read_all(der)?.children()? {
        for atv in rdn.children()? {
            let k = atv.children()?;
            if let (Some(oid), Some(v)) = (k.first(), k.get(1)) {
                let value: Vec<u8> = v
                    .bytes()?
                    .trim_ascii()
                    .iter()
                    .map(u8::to_ascii_lowercase)
                    .collect();
                out.push((ber::oid(oid.content), value));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The extensions a trust decision reads.
struct Extensions {
    ca: bool,
    aki: Option<Vec<u8>>,
}

impl Extensions {
    fn read(cert: &[u8]) -> Result<Extensions, ChipError> {
        let mut ext = Extensions {
            ca: false,
            aki: None,
        };
        let c = ber::read_all(cert)?.children()?;
        let tbs = c
            .first()
            .ok_or_else(|| ChipError::Malformed("empty certificate".into()))?;
        let Some(list) = tbs.children()?.into_iter().find(|t| t.tag0() == 0xa3) else {
            return Ok(ext);
        };
        let Some(seq) = list.children()?.into_iter().next() else {
            return Ok(ext);
        };
        for e in seq.children()? {
            let k = e.children()?;
            let Some(oid) = k.first() else { continue };
            let Some(value) = k.last().filter(|v| v.tag0() == 0x04) else {
                continue;
            };
            let inner = ber::read_all(value.content)?;
            match ber::oid(oid.content).as_str() {
                "2.5.29.19" => {
                    ext.ca = inner
                        .children()?
                        .first()
                        .is_some_and(|b| b.tag0() == 0x01 && b.content.first() != Some(&0));
                }
                "2.5.29.35" => {
                    ext.aki = inner
                        .children()?
                        .into_iter()
                        .find(|t| t.tag0() == 0x80)
                        .map(|t| t.content.to_vec());
                }
                _ => {}
            }
        }
        Ok(ext)
    }
}

/// What loading one master list found.
#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    pub file: String,
    pub certificates: usize,
    /// The list's own CMS signature verifies with its signer certificate, which a CSCA of
    /// the list issued.
    pub signature_valid: bool,
    pub signer: Option<String>,
}

/// The anchors (CSCAs and link certificates) and the plain certificates (DSCs for SODs that
/// embed none).
#[derive(Default)]
pub struct TrustStore {
    pub anchors: Vec<Cert>,
    pub others: Vec<Cert>,
    pub lists: Vec<ListReport>,
}

impl TrustStore {
    /// Every `*.ml`, `*.cer`, `*.der`, `*.crt` and `*.pem` file of `dir`.
    pub fn load_dir(dir: &Path) -> Result<TrustStore, ChipError> {
        let mut store = TrustStore::default();
        let mut files: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        for f in files {
            let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
            if matches!(ext, "ml" | "cer" | "der" | "crt" | "pem") {
                let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
                store.add(name, &std::fs::read(&f)?)?;
            }
        }
        Ok(store)
    }

    /// Adds one file's content: a master list, or one or more certificates.
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Result<(), ChipError> {
        if bytes.starts_with(b"-----BEGIN") {
            let certs = X509::stack_from_pem(bytes)
                .map_err(|e| ChipError::Malformed(format!("{name}: {e}")))?;
            for c in certs {
                self.push(Cert::new(c)?);
            }
            return Ok(());
        }
        if let Ok(sd) = cms::read(bytes)
            && sd.content_type == MASTER_LIST
        {
            return self.add_list(name, &sd);
        }
        self.push(Cert::read(bytes).map_err(|e| ChipError::Malformed(format!("{name}: {e}")))?);
        Ok(())
    }

    fn push(&mut self, c: Cert) {
        if c.ca {
            self.anchors.push(c);
        } else {
            self.others.push(c);
        }
    }

    fn add_list(&mut self, name: &str, sd: &cms::SignedData) -> Result<(), ChipError> {
        // CscaMasterList ::= SEQUENCE { version INTEGER, certList SET OF Certificate }
        let list = ber::read_all(&sd.content)?.children()?;
        let certs = list
            .get(1)
            .ok_or_else(|| ChipError::Malformed(format!("{name}: no certList")))?
            .children()?;
        let mut listed = Vec::new();
        for c in certs {
            // A certificate the store cannot read is skipped, not fatal for the list.
            if let Ok(c) = Cert::read(c.raw) {
                listed.push(c);
            }
        }
        let signer = sd
            .certificates
            .iter()
            .filter_map(|c| Cert::read(c).ok())
            .find(|c| c.is(&sd.signer.sid));
        let signature_valid = signer.as_ref().is_some_and(|s| {
            s.key.as_ref().is_some_and(|k| sd.holds(k))
                && listed
                    .iter()
                    .any(|csca| s.may_be_issued_by(csca) && s.signed_by(csca))
        });
        self.lists.push(ListReport {
            file: name.to_string(),
            certificates: listed.len(),
            signature_valid,
            signer: signer.map(|s| s.subject_line()),
        });
        // Every certificate of a master list is a CSCA (or a link certificate), whether or
        // not it says so in basicConstraints.
        self.anchors.extend(listed);
        Ok(())
    }

    /// The anchors that may have issued `cert`.
    pub fn issuers_of<'a>(&'a self, cert: &'a Cert) -> impl Iterator<Item = &'a Cert> + 'a {
        self.anchors.iter().filter(|a| cert.may_be_issued_by(a))
    }
}
