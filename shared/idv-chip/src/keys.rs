//! Public keys as chips and CSCAs write them (EC keys with explicit domain parameters mapped
//! to their named curve) and the signature schemes ICAO 9303 uses.

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint, PointConversionForm};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::{MessageDigest, hash};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Verifier};

use crate::ChipError;
use crate::ber::{self, Tlv};

/// The named curves documents use, tried in turn for a key with explicit parameters.
const CURVES: [Nid; 10] = [
    Nid::BRAINPOOL_P256R1,
    Nid::BRAINPOOL_P384R1,
    Nid::BRAINPOOL_P512R1,
    Nid::BRAINPOOL_P224R1,
    Nid::BRAINPOOL_P320R1,
    Nid::X9_62_PRIME256V1,
    Nid::SECP384R1,
    Nid::SECP521R1,
    Nid::SECP224R1,
    Nid::X9_62_PRIME192V1,
];

fn crypto(e: openssl::error::ErrorStack) -> ChipError {
    ChipError::Crypto(e.to_string())
}

/// A SubjectPublicKeyInfo (DER) as a key, an explicit-parameter EC key moved to its named
/// curve.
pub fn from_spki(der: &[u8]) -> Result<PKey<Public>, ChipError> {
    let key = PKey::public_key_from_der(der).map_err(crypto)?;
    named(key)
}

/// The same key, on its named curve when it is an EC key with explicit parameters.
pub fn named(key: PKey<Public>) -> Result<PKey<Public>, ChipError> {
    if key.id() != Id::EC {
        return Ok(key);
    }
    let ec = key.ec_key().map_err(crypto)?;
    if ec.group().curve_name().is_some() {
        return Ok(key);
    }
    let mut ctx = BigNumContext::new().map_err(crypto)?;
    let comps =
        |g: &openssl::ec::EcGroupRef, ctx: &mut BigNumContext| -> Result<[Vec<u8>; 5], ChipError> {
            let (mut p, mut a, mut b, mut n) = (
                BigNum::new().map_err(crypto)?,
                BigNum::new().map_err(crypto)?,
                BigNum::new().map_err(crypto)?,
                BigNum::new().map_err(crypto)?,
            );
            g.components_gfp(&mut p, &mut a, &mut b, ctx)
                .map_err(crypto)?;
            g.order(&mut n, ctx).map_err(crypto)?;
            let base = match g.generator_opt() {
                Some(pt) => pt
                    .to_bytes(g, PointConversionForm::UNCOMPRESSED, ctx)
                    .map_err(crypto)?,
                None => Vec::new(),
            };
            Ok([p.to_vec(), a.to_vec(), b.to_vec(), n.to_vec(), base])
        };
    let want = comps(ec.group(), &mut ctx)?;
    let point = ec
        .public_key()
        .to_bytes(ec.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)
        .map_err(crypto)?;
    for nid in CURVES {
        let Ok(group) = EcGroup::from_curve_name(nid) else {
            continue;
        };
        if comps(&group, &mut ctx)? == want {
            let p = EcPoint::from_bytes(&group, &point, &mut ctx).map_err(crypto)?;
            let k = EcKey::from_public_key(&group, &p).map_err(crypto)?;
            return PKey::from_ec_key(k).map_err(crypto);
        }
    }
    Err(ChipError::Unsupported(
        "an EC curve that is not a known named curve".into(),
    ))
}

/// A hash algorithm by its OID.
pub fn digest(oid: &str) -> Option<MessageDigest> {
    Some(match oid {
        "1.3.14.3.2.26" => MessageDigest::sha1(),
        "2.16.840.1.101.3.4.2.4" => MessageDigest::sha224(),
        "2.16.840.1.101.3.4.2.1" => MessageDigest::sha256(),
        "2.16.840.1.101.3.4.2.2" => MessageDigest::sha384(),
        "2.16.840.1.101.3.4.2.3" => MessageDigest::sha512(),
        _ => return None,
    })
}

/// An AlgorithmIdentifier: its OID and its parameters' raw bytes.
#[derive(Debug, Clone)]
pub struct Algorithm {
    pub oid: String,
    pub params: Option<Vec<u8>>,
}

impl Algorithm {
    pub fn read(t: &Tlv<'_>) -> Result<Algorithm, ChipError> {
        let kids = t.children()?;
        let oid = kids
            .first()
            .filter(|k| k.tag0() == 0x06)
            .ok_or_else(|| ChipError::Malformed("algorithm without an OID".into()))?;
        Ok(Algorithm {
            oid: ber::oid(oid.content),
            params: kids.get(1).map(|p| p.raw.to_vec()),
        })
    }
}

/// Hashes `data` with the algorithm of `oid`.
pub fn hash_with(oid: &str, data: &[u8]) -> Result<Vec<u8>, ChipError> {
    let md = digest(oid).ok_or_else(|| ChipError::Unsupported(format!("hash {oid}")))?;
    Ok(hash(md, data).map_err(crypto)?.to_vec())
}

/// The hash of a BSI TR-03111 plain ECDSA algorithm (`ecdsa-plain-SHAx`), as SODs and
/// DG14's ActiveAuthenticationInfo name it.
pub fn plain_ecdsa_hash(oid: &str) -> Option<MessageDigest> {
    Some(match oid {
        "0.4.0.127.0.7.1.1.4.1.1" => MessageDigest::sha1(),
        "0.4.0.127.0.7.1.1.4.1.2" => MessageDigest::sha224(),
        "0.4.0.127.0.7.1.1.4.1.3" => MessageDigest::sha256(),
        "0.4.0.127.0.7.1.1.4.1.4" => MessageDigest::sha384(),
        "0.4.0.127.0.7.1.1.4.1.5" => MessageDigest::sha512(),
        _ => return None,
    })
}

/// The scheme a signature algorithm OID names.
enum Scheme {
    Ecdsa(MessageDigest),
    /// BSI TR-03111 plain r‖s.
    EcdsaPlain(MessageDigest),
    Pkcs1(MessageDigest),
    Pss,
}

fn scheme(sig: &Algorithm, digest_oid: &str) -> Result<Scheme, ChipError> {
    let from_digest =
        || digest(digest_oid).ok_or_else(|| ChipError::Unsupported(format!("hash {digest_oid}")));
    if let Some(md) = plain_ecdsa_hash(&sig.oid) {
        return Ok(Scheme::EcdsaPlain(md));
    }
    Ok(match sig.oid.as_str() {
        "1.2.840.10045.4.1" => Scheme::Ecdsa(MessageDigest::sha1()),
        "1.2.840.10045.4.3.1" => Scheme::Ecdsa(MessageDigest::sha224()),
        "1.2.840.10045.4.3.2" => Scheme::Ecdsa(MessageDigest::sha256()),
        "1.2.840.10045.4.3.3" => Scheme::Ecdsa(MessageDigest::sha384()),
        "1.2.840.10045.4.3.4" => Scheme::Ecdsa(MessageDigest::sha512()),
        // Some SODs name the key type, not the scheme: the hash is the signer's.
        "1.2.840.10045.2.1" => Scheme::Ecdsa(from_digest()?),
        "1.2.840.113549.1.1.1" => Scheme::Pkcs1(from_digest()?),
        "1.2.840.113549.1.1.5" => Scheme::Pkcs1(MessageDigest::sha1()),
        "1.2.840.113549.1.1.14" => Scheme::Pkcs1(MessageDigest::sha224()),
        "1.2.840.113549.1.1.11" => Scheme::Pkcs1(MessageDigest::sha256()),
        "1.2.840.113549.1.1.12" => Scheme::Pkcs1(MessageDigest::sha384()),
        "1.2.840.113549.1.1.13" => Scheme::Pkcs1(MessageDigest::sha512()),
        "1.2.840.113549.1.1.10" => Scheme::Pss,
        other => {
            return Err(ChipError::Unsupported(format!(
                "signature algorithm {other}"
            )));
        }
    })
}

/// RSASSA-PSS parameters: hash, MGF1 hash, salt length (defaults SHA-1, SHA-1, 20).
fn pss_params(params: Option<&[u8]>) -> Result<(MessageDigest, MessageDigest, i32), ChipError> {
    let (mut h, mut mgf, mut salt) = (MessageDigest::sha1(), MessageDigest::sha1(), 20);
    let Some(p) = params else {
        return Ok((h, mgf, salt));
    };
    let seq = ber::read_all(p)?;
    if seq.tag0() != 0x30 {
        return Ok((h, mgf, salt));
    }
    for field in seq.children()? {
        let inner = field.children()?;
        let Some(v) = inner.first() else { continue };
        match field.tag0() {
            0xa0 => {
                let a = Algorithm::read(v)?;
                h = digest(&a.oid).ok_or_else(|| ChipError::Unsupported(a.oid.clone()))?;
            }
            0xa1 => {
                let a = Algorithm::read(v)?;
                if let Some(p) = a.params {
                    let inner = Algorithm::read(&ber::read_all(&p)?)?;
                    mgf = digest(&inner.oid)
                        .ok_or_else(|| ChipError::Unsupported(inner.oid.clone()))?;
                }
            }
            0xa2 => salt = ber::small_int(v.content)? as i32,
            _ => {}
        }
    }
    Ok((h, mgf, salt))
}

/// Whether `signature` by `key` over `data` verifies under the algorithm `sig` (the hash
/// from `digest_oid` when the algorithm does not name one).
pub fn verify(
    key: &PKey<Public>,
    sig: &Algorithm,
    digest_oid: &str,
    data: &[u8],
    signature: &[u8],
) -> Result<bool, ChipError> {
    match scheme(sig, digest_oid)? {
        Scheme::Ecdsa(md) => {
            let Ok(s) = EcdsaSig::from_der(signature) else {
                return Ok(false);
            };
            ecdsa(key, md, data, &s)
        }
        Scheme::EcdsaPlain(md) => {
            let Some(s) = plain_sig(signature) else {
                return Ok(false);
            };
            ecdsa(key, md, data, &s)
        }
        Scheme::Pkcs1(md) => {
            let mut v = Verifier::new(md, key).map_err(crypto)?;
            v.set_rsa_padding(Padding::PKCS1).map_err(crypto)?;
            Ok(v.verify_oneshot(signature, data).unwrap_or(false))
        }
        Scheme::Pss => {
            let (md, mgf, salt) = pss_params(sig.params.as_deref())?;
            let mut v = Verifier::new(md, key).map_err(crypto)?;
            v.set_rsa_padding(Padding::PKCS1_PSS).map_err(crypto)?;
            v.set_rsa_pss_saltlen(RsaPssSaltlen::custom(salt))
                .map_err(crypto)?;
            v.set_rsa_mgf1_md(mgf).map_err(crypto)?;
            Ok(v.verify_oneshot(signature, data).unwrap_or(false))
        }
    }
}

/// A plain r‖s signature (two halves of equal length).
pub fn plain_sig(signature: &[u8]) -> Option<EcdsaSig> {
    if signature.is_empty() || !signature.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = signature.split_at(signature.len() / 2);
    EcdsaSig::from_private_components(BigNum::from_slice(r).ok()?, BigNum::from_slice(s).ok()?).ok()
}

/// ECDSA over the hash of `data` (a hash longer than the order is truncated, as ECDSA says).
pub fn ecdsa(
    key: &PKey<Public>,
    md: MessageDigest,
    data: &[u8],
    sig: &EcdsaSig,
) -> Result<bool, ChipError> {
    let Ok(ec) = key.ec_key() else {
        return Ok(false);
    };
    let h = hash(md, data).map_err(crypto)?;
    Ok(sig.verify(&h, &ec).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use openssl::ec::{Asn1Flag, EcGroup, EcKey};
    use openssl::pkey::PKey;

    use super::*;

    /// Keys written with explicit domain parameters, as most real DSCs and CSCAs are, come
    /// back on their named curve and verify what the key signed.
    #[test]
    fn explicit_parameter_keys_map_to_their_named_curve() {
        for nid in [
            Nid::BRAINPOOL_P256R1,
            Nid::BRAINPOOL_P384R1,
            Nid::BRAINPOOL_P512R1,
            Nid::BRAINPOOL_P224R1,
            Nid::BRAINPOOL_P320R1,
            Nid::X9_62_PRIME256V1,
            Nid::SECP384R1,
            Nid::SECP521R1,
        ] {
            let mut group = EcGroup::from_curve_name(nid).unwrap();
            let key = EcKey::generate(&group).unwrap();
            group.set_asn1_flag(Asn1Flag::EXPLICIT_CURVE);
            let public = EcKey::from_public_key(&group, key.public_key()).unwrap();
            let spki = PKey::from_ec_key(public)
                .unwrap()
                .public_key_to_der()
                .unwrap();
            // The parameters are a SEQUENCE (explicit), not an OID, in what was written.
            let alg = ber::read_all(&spki).unwrap().children().unwrap()[0]
                .children()
                .unwrap();
            assert_eq!(
                alg[1].tag0(),
                0x30,
                "{nid:?} written with explicit parameters"
            );
            let named = from_spki(&spki).unwrap();
            assert_eq!(named.ec_key().unwrap().group().curve_name(), Some(nid));
            let data = b"signed attributes";
            let sig =
                openssl::ecdsa::EcdsaSig::sign(&hash(MessageDigest::sha256(), data).unwrap(), &key)
                    .unwrap();
            let alg = Algorithm {
                oid: "1.2.840.10045.4.3.2".into(),
                params: None,
            };
            assert!(verify(&named, &alg, "", data, &sig.to_der().unwrap()).unwrap());
        }
    }

    #[test]
    fn rsa_pkcs1_and_pss_verify_and_a_wrong_hash_does_not() {
        use openssl::rsa::Rsa;
        use openssl::sign::Signer;
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let public = PKey::public_key_from_der(&key.public_key_to_der().unwrap()).unwrap();
        let data = b"signed attributes";
        // sha256WithRSAEncryption, and rsaEncryption with the hash from digestAlgorithm.
        let mut s = Signer::new(MessageDigest::sha256(), &key).unwrap();
        let pkcs1 = s.sign_oneshot_to_vec(data).unwrap();
        let named = |oid: &str| Algorithm {
            oid: oid.into(),
            params: None,
        };
        assert!(verify(&public, &named("1.2.840.113549.1.1.11"), "", data, &pkcs1).unwrap());
        assert!(
            verify(
                &public,
                &named("1.2.840.113549.1.1.1"),
                "2.16.840.1.101.3.4.2.1",
                data,
                &pkcs1
            )
            .unwrap()
        );
        assert!(
            !verify(
                &public,
                &named("1.2.840.113549.1.1.1"),
                "1.3.14.3.2.26",
                data,
                &pkcs1
            )
            .unwrap()
        );
        // RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32 (as SG's SOD).
        let mut s = Signer::new(MessageDigest::sha256(), &key).unwrap();
        s.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
        s.set_rsa_pss_saltlen(RsaPssSaltlen::custom(32)).unwrap();
        s.set_rsa_mgf1_md(MessageDigest::sha256()).unwrap();
        let pss = s.sign_oneshot_to_vec(data).unwrap();
        let sha256 = [
            0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
            0x00,
        ];
        let mgf1 = [
            &[
                0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
            ][..],
            &sha256,
        ]
        .concat();
        let mut params = vec![0xa0, sha256.len() as u8];
        params.extend(sha256);
        params.extend([0xa1, mgf1.len() as u8]);
        params.extend(&mgf1);
        params.extend([0xa2, 0x03, 0x02, 0x01, 0x20]);
        let mut seq = vec![0x30, params.len() as u8];
        seq.extend(params);
        let alg = Algorithm {
            oid: "1.2.840.113549.1.1.10".into(),
            params: Some(seq),
        };
        assert!(verify(&public, &alg, "", data, &pss).unwrap());
        assert!(!verify(&public, &alg, "", b"other attributes", &pss).unwrap());
    }
}
