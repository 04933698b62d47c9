//! Keys and certificates: a development CA issuing a document-signing certificate and a
//! timestamping certificate (`idv certs init`), and loading them back from PEM.

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Name, X509NameBuilder};

use crate::CertifyError;
use crate::ltv::CrlIssuer;
use crate::sign::{Level, Signer, Timestamper};
use crate::tsa::Tsa;

/// idv's default timestamp policy OID (a private arc; configure your own).
pub const DEFAULT_POLICY: &str = "1.3.6.1.4.1.59999.1.1";

/// PEM files of a signing setup.
pub struct Pems {
    pub ca_cert: String,
    pub ca_key: String,
    pub signing_cert: String,
    pub signing_key: String,
    pub tsa_cert: String,
    pub tsa_key: String,
    /// The certificates above an imported signing certificate (PEM), when it was not issued by
    /// `ca_cert` (`idv certs import`); `None`: the chain is `ca_cert`.
    pub signing_chain: Option<String>,
}

fn key() -> Result<PKey<Private>, CertifyError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

fn name(cn: &str) -> Result<X509Name, CertifyError> {
    let mut b = X509NameBuilder::new()?;
    b.append_entry_by_text("O", "idv development")?;
    b.append_entry_by_text("CN", cn)?;
    Ok(b.build())
}

fn cert(
    subject: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    days: u32,
    configure: impl FnOnce(&mut openssl::x509::X509Builder) -> Result<(), CertifyError>,
) -> Result<X509, CertifyError> {
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    let subject_name = name(subject)?;
    b.set_subject_name(&subject_name)?;
    b.set_issuer_name(issuer.map_or(&subject_name, |(c, _)| c.subject_name()))?;
    b.set_pubkey(key)?;
    let (from, until) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(days)?);
    b.set_not_before(&from)?;
    b.set_not_after(&until)?;
    configure(&mut b)?;
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(issuer.map(|(c, _)| c.as_ref()), None))?;
    b.append_extension(ski)?;
    b.sign(issuer.map_or(key, |(_, k)| k), MessageDigest::sha256())?;
    Ok(b.build())
}

/// A CRL distribution point extension naming `url` (DER written here; the `openssl` crate
/// has no builder for it).
fn crl_distribution_point(url: &str) -> Result<openssl::x509::X509Extension, CertifyError> {
    use crate::der::{seq, tlv};
    // CRLDistributionPoints { DistributionPoint { [0] fullName { [0] GeneralNames { [6] URI } } } }
    let value = seq(&[&seq(&[&tlv(0xa0, &tlv(0xa0, &tlv(0x86, url.as_bytes())))])]);
    let oid = openssl::asn1::Asn1Object::from_str("2.5.29.31")?;
    let octets = openssl::asn1::Asn1OctetString::new_from_bytes(&value)?;
    Ok(openssl::x509::X509Extension::new_from_der(
        &oid, false, &octets,
    )?)
}

/// A new development CA, signing certificate and TSA certificate (EC P-256, 5 years). With
/// `crl_url`, both issued certificates name it as their CRL distribution point (where
/// `idv serve` publishes the CA's CRL), so validators require revocation data for them.
pub fn generate_dev(crl_url: Option<&str>) -> Result<Pems, CertifyError> {
    let ca_key = key()?;
    let ca = cert("idv development CA", &ca_key, None, 3650, |b| {
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
        Ok(())
    })?;
    // An end-entity certificate for signatures; the TSA's also carries timeStamping.
    let leaf = |cn: &str, timestamping: bool| -> Result<(X509, PKey<Private>), CertifyError> {
        let k = key()?;
        let c = cert(cn, &k, Some((&ca, &ca_key)), 1825, |b| {
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .non_repudiation()
                    .build()?,
            )?;
            if timestamping {
                b.append_extension(ExtendedKeyUsage::new().critical().time_stamping().build()?)?;
            }
            if let Some(url) = crl_url {
                b.append_extension(crl_distribution_point(url)?)?;
            }
            Ok(())
        })?;
        Ok((c, k))
    };
    let (signing, signing_key) = leaf("idv certificate signing", false)?;
    let (tsa, tsa_key) = leaf("idv timestamp authority", true)?;
    let pem = |c: &X509| -> Result<String, CertifyError> {
        Ok(String::from_utf8_lossy(&c.to_pem()?).into_owned())
    };
    let key_pem = |k: &PKey<Private>| -> Result<String, CertifyError> {
        Ok(String::from_utf8_lossy(&k.private_key_to_pem_pkcs8()?).into_owned())
    };
    Ok(Pems {
        ca_cert: pem(&ca)?,
        ca_key: key_pem(&ca_key)?,
        signing_cert: pem(&signing)?,
        signing_key: key_pem(&signing_key)?,
        tsa_cert: pem(&tsa)?,
        tsa_key: key_pem(&tsa_key)?,
        signing_chain: None,
    })
}

impl Pems {
    /// The signer these PEMs describe, timestamping under `policy`: PAdES B-T.
    pub fn signer(&self, policy: &str) -> Result<Signer, CertifyError> {
        self.signer_at(policy, Level::Timestamped)
    }

    /// The CA as the issuer of its CRLs.
    pub fn crl_issuer(&self) -> Result<CrlIssuer, CertifyError> {
        Ok(CrlIssuer {
            cert: X509::from_pem(self.ca_cert.as_bytes())?,
            key: PKey::private_key_from_pem(self.ca_key.as_bytes())?,
        })
    }

    /// The signer these PEMs describe at `level` (B-LT needs the CA's key, to issue CRLs).
    pub fn signer_at(&self, policy: &str, level: Level) -> Result<Signer, CertifyError> {
        let ca = X509::from_pem(self.ca_cert.as_bytes())?;
        let chain = match &self.signing_chain {
            Some(pem) => X509::stack_from_pem(pem.as_bytes())?,
            None => vec![ca],
        };
        let crl_issuer = match level {
            Level::Timestamped => None,
            _ if self.signing_chain.is_some() => {
                return Err(CertifyError::Sign(
                    "PAdES B-LT/B-LTA embed idv's CA's CRL: with an imported signing key use b-t"
                        .into(),
                ));
            }
            Level::LongTerm | Level::Archival if self.ca_key.trim().is_empty() => {
                return Err(CertifyError::Sign(
                    "PAdES B-LT needs the CA's key (ca_key) to issue its CRL".into(),
                ));
            }
            Level::LongTerm | Level::Archival => Some(self.crl_issuer()?),
        };
        Ok(Signer {
            cert: X509::from_pem(self.signing_cert.as_bytes())?,
            key: PKey::private_key_from_pem(self.signing_key.as_bytes())?,
            chain,
            tsa: Timestamper::Own(Tsa {
                cert: X509::from_pem(self.tsa_cert.as_bytes())?,
                key: PKey::private_key_from_pem(self.tsa_key.as_bytes())?,
                policy: policy.to_string(),
            }),
            level,
            crl_issuer,
        })
    }
}

/// A signing key brought by the operator (`idv certs import`), as PEM to store.
pub struct Imported {
    pub cert: String,
    /// PKCS #8.
    pub key: String,
    /// The certificates above `cert`, as given.
    pub chain: String,
    /// The certificate's subject, for the operator to check.
    pub subject: String,
}

/// A signing key and certificate (and chain) from PKCS #12 `der` protected by `password`.
pub fn import_p12(der: &[u8], password: &str) -> Result<Imported, CertifyError> {
    let parsed = openssl::pkcs12::Pkcs12::from_der(der)?.parse2(password)?;
    let (Some(cert), Some(key)) = (parsed.cert, parsed.pkey) else {
        return Err(CertifyError::Sign(
            "the PKCS #12 file holds no certificate with its private key".into(),
        ));
    };
    let chain: Vec<X509> = parsed
        .ca
        .map(|s| s.into_iter().collect())
        .unwrap_or_default();
    imported(cert, key, &chain)
}

/// A signing key, certificate and chain from PEM.
pub fn import_pem(key: &[u8], cert: &[u8], chain: &[u8]) -> Result<Imported, CertifyError> {
    imported(
        X509::from_pem(cert)?,
        PKey::private_key_from_pem(key)?,
        &X509::stack_from_pem(chain)?,
    )
}

fn imported(cert: X509, key: PKey<Private>, chain: &[X509]) -> Result<Imported, CertifyError> {
    if !cert.public_key()?.public_eq(&key) {
        return Err(CertifyError::Sign(
            "the private key does not belong to the certificate".into(),
        ));
    }
    crate::cades::signature_algorithm(&key)?;
    let pem = |c: &X509| -> Result<String, CertifyError> {
        Ok(String::from_utf8_lossy(&c.to_pem()?).into_owned())
    };
    let subject = cert
        .subject_name()
        .entries()
        .map(|e| {
            let name = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_default();
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Imported {
        cert: pem(&cert)?,
        key: String::from_utf8_lossy(&key.private_key_to_pem_pkcs8()?).into_owned(),
        chain: chain.iter().map(pem).collect::<Result<String, _>>()?,
        subject,
    })
}
