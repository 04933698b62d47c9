//! Active Authentication: the chip's answer to the terminal's challenge, checked with DG15's
//! key (RSA ISO/IEC 9796-2 scheme 1, or ECDSA with the hash DG14 names).

use openssl::bn::BigNum;
use openssl::hash::{MessageDigest, hash};
use openssl::pkey::Id;
use openssl::rsa::Padding;

use crate::ChipError;
use crate::keys;
use crate::lds;

/// Whether `signature` is the chip's answer to `challenge` under DG15's key.
pub fn verify(
    dg15: &[u8],
    dg14: Option<&[u8]>,
    challenge: &[u8],
    signature: &[u8],
) -> Result<bool, ChipError> {
    let key = keys::from_spki(&lds::dg15_key(dg15)?)?;
    match key.id() {
        Id::RSA => {
            let rsa = key.rsa().map_err(|e| ChipError::Crypto(e.to_string()))?;
            Ok(iso9796_2(&rsa, challenge, signature).unwrap_or(false))
        }
        Id::EC => {
            let named = dg14.map(lds::dg14_aa_algorithm).transpose()?.flatten();
            let ec = key.ec_key().map_err(|e| ChipError::Crypto(e.to_string()))?;
            let md = match named.as_deref() {
                Some(oid) => keys::plain_ecdsa_hash(oid)
                    .ok_or_else(|| ChipError::Unsupported(format!("AA algorithm {oid}")))?,
                // No ActiveAuthenticationInfo: the hash that matches the curve's size.
                None => match ec.group().order_bits() {
                    ..=160 => MessageDigest::sha1(),
                    161..=224 => MessageDigest::sha224(),
                    225..=256 => MessageDigest::sha256(),
                    257..=384 => MessageDigest::sha384(),
                    _ => MessageDigest::sha512(),
                },
            };
            // Plain r‖s (BSI TR-03111, what chips answer) is twice the order's length;
            // anything else is read as a DER signature.
            let plain = 2 * ec.group().order_bits().div_ceil(8) as usize;
            let sig = if signature.len() == plain {
                keys::plain_sig(signature)
            } else {
                openssl::ecdsa::EcdsaSig::from_der(signature).ok()
            };
            let Some(sig) = sig else {
                return Ok(false);
            };
            keys::ecdsa(&key, md, challenge, &sig)
        }
        _ => Err(ChipError::Unsupported(
            "a DG15 key that is neither RSA nor EC".into(),
        )),
    }
}

/// ISO/IEC 9796-2 digital signature scheme 1 with partial message recovery: the recovered
/// M1 and the challenge hash to the digest inside the signature.
fn iso9796_2(
    rsa: &openssl::rsa::Rsa<openssl::pkey::Public>,
    challenge: &[u8],
    signature: &[u8],
) -> Result<bool, ChipError> {
    let e = |x: openssl::error::ErrorStack| ChipError::Crypto(x.to_string());
    let k = rsa.size() as usize;
    if signature.len() != k {
        return Ok(false);
    }
    let mut f = vec![0u8; k];
    let n = rsa
        .public_decrypt(signature, &mut f, Padding::NONE)
        .map_err(e)?;
    f.truncate(n);
    // The representative or its complement to the modulus (ISO/IEC 9796-2's choice).
    if f.last().is_some_and(|b| b & 0x0f != 0x0c) {
        let mut c = BigNum::new().map_err(e)?;
        c.checked_sub(rsa.n(), &*BigNum::from_slice(&f).map_err(e)?)
            .map_err(e)?;
        f = c.to_vec_padded(k as i32).map_err(e)?;
    }
    if f.first() != Some(&0x6a) {
        return Ok(false);
    }
    let (md, t) = match f.last() {
        Some(0xbc) => (MessageDigest::sha1(), 1),
        Some(0xcc) => (
            match f.get(f.len().wrapping_sub(2)) {
                Some(0x33) => MessageDigest::sha1(),
                Some(0x34) => MessageDigest::sha256(),
                Some(0x36) => MessageDigest::sha384(),
                Some(0x35) => MessageDigest::sha512(),
                Some(0x38) => MessageDigest::sha224(),
                _ => return Ok(false),
            },
            2,
        ),
        _ => return Ok(false),
    };
    let lh = md.size();
    if f.len() < 1 + lh + t {
        return Ok(false);
    }
    let m1 = &f[1..f.len() - lh - t];
    let d = &f[f.len() - lh - t..f.len() - t];
    let mut m = m1.to_vec();
    m.extend_from_slice(challenge);
    Ok(hash(md, &m).map_err(e)?.as_ref() == d)
}

#[cfg(test)]
mod tests {
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::pkey::{PKey, Private};
    use openssl::rsa::Rsa;

    use super::*;

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        let n = content.len();
        if n < 0x80 {
            v.push(n as u8);
        } else {
            v.extend([0x82, (n >> 8) as u8, n as u8]);
        }
        v.extend(content);
        v
    }

    /// DG15 around a key's SubjectPublicKeyInfo.
    fn dg15_of<T: openssl::pkey::HasPublic>(key: &PKey<T>) -> Vec<u8> {
        tlv(0x6f, &key.public_key_to_der().unwrap())
    }

    /// An ISO/IEC 9796-2 scheme 1 answer to `challenge`, as a chip computes it.
    fn sign_9796(
        rsa: &Rsa<Private>,
        challenge: &[u8],
        md: MessageDigest,
        trailer: &[u8],
    ) -> Vec<u8> {
        let k = rsa.size() as usize;
        let m1: Vec<u8> = (0..k - 1 - md.size() - trailer.len())
            .map(|i| (i * 7) as u8)
            .collect();
        let mut m = m1.clone();
        m.extend_from_slice(challenge);
        let mut f = vec![0x6a];
        f.extend(&m1);
        f.extend(hash(md, &m).unwrap().as_ref());
        f.extend(trailer);
        let mut s = vec![0; k];
        rsa.private_encrypt(&f, &mut s, Padding::NONE).unwrap();
        s
    }

    #[test]
    fn rsa_answers_verify_with_each_trailer_and_only_for_their_challenge() {
        let rsa = Rsa::generate(1024).unwrap();
        let dg15 = dg15_of(&PKey::from_rsa(rsa.clone()).unwrap());
        let challenge = [0x41, 0x1f, 0x00, 0x9c, 0x22, 0x7e, 0x10, 0x03];
        for (md, trailer) in [
            (MessageDigest::sha1(), vec![0xbc]),
            (MessageDigest::sha1(), vec![0x33, 0xcc]),
            (MessageDigest::sha224(), vec![0x38, 0xcc]),
            (MessageDigest::sha256(), vec![0x34, 0xcc]),
            (MessageDigest::sha384(), vec![0x36, 0xcc]),
            (MessageDigest::sha512(), vec![0x35, 0xcc]),
        ] {
            let answer = sign_9796(&rsa, &challenge, md, &trailer);
            assert!(
                verify(&dg15, None, &challenge, &answer).unwrap(),
                "{trailer:02x?}"
            );
            let mut other = challenge;
            other[7] ^= 1;
            assert!(
                !verify(&dg15, None, &other, &answer).unwrap(),
                "{trailer:02x?}"
            );
            let mut flipped = answer.clone();
            flipped[40] ^= 0x10;
            assert!(!verify(&dg15, None, &challenge, &flipped).unwrap());
        }
        // Another chip's key does not verify this chip's answer.
        let answer = sign_9796(&rsa, &challenge, MessageDigest::sha1(), &[0xbc]);
        let stranger = dg15_of(&PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap());
        assert!(!verify(&stranger, None, &challenge, &answer).unwrap());
    }

    #[test]
    fn ec_answers_verify_with_the_hash_dg14_names_on_each_curve() {
        for (curve, algo, md) in [
            (Nid::BRAINPOOL_P256R1, "3", MessageDigest::sha256()),
            (Nid::BRAINPOOL_P384R1, "4", MessageDigest::sha384()),
            (Nid::X9_62_PRIME256V1, "3", MessageDigest::sha256()),
            (Nid::SECP384R1, "4", MessageDigest::sha384()),
            (Nid::BRAINPOOL_P512R1, "5", MessageDigest::sha512()),
        ] {
            let group = EcGroup::from_curve_name(curve).unwrap();
            let key = EcKey::generate(&group).unwrap();
            let dg15 = dg15_of(&PKey::from_ec_key(key.clone()).unwrap());
            // DG14: SET { ActiveAuthenticationInfo { id-AA, 1, ecdsa-plain-SHAx } }
            let oid_aa = [0x06, 0x06, 0x67, 0x81, 0x08, 0x01, 0x01, 0x05];
            let mut plain = vec![
                0x06, 0x0a, 0x04, 0x00, 0x7f, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01,
            ];
            plain.push(algo.parse::<u8>().unwrap());
            let info = tlv(0x30, &[&oid_aa[..], &[0x02, 0x01, 0x01], &plain].concat());
            let dg14 = tlv(0x6e, &tlv(0x31, &info));
            let challenge = [9u8, 8, 7, 6, 5, 4, 3, 2];
            let digest = hash(md, &challenge).unwrap();
            let sig = openssl::ecdsa::EcdsaSig::sign(&digest, &key).unwrap();
            let n = group.order_bits().div_ceil(8) as i32;
            let mut rs = sig.r().to_vec_padded(n).unwrap();
            rs.extend(sig.s().to_vec_padded(n).unwrap());
            assert!(
                verify(&dg15, Some(&dg14), &challenge, &rs).unwrap(),
                "{curve:?}"
            );
            assert!(
                !verify(&dg15, Some(&dg14), &[0; 8], &rs).unwrap(),
                "{curve:?}"
            );
        }
    }
}
