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
                Some("0.4.0.127.0.7.1.1.4.1.1") => MessageDigest::sha1(),
                Some("0.4.0.127.0.7.1.1.4.1.2") => MessageDigest::sha224(),
                Some("0.4.0.127.0.7.1.1.4.1.3") => MessageDigest::sha256(),
                Some("0.4.0.127.0.7.1.1.4.1.4") => MessageDigest::sha384(),
                Some("0.4.0.127.0.7.1.1.4.1.5") => MessageDigest::sha512(),
                Some(other) => {
                    return Err(ChipError::Unsupported(format!("AA algorithm {other}")));
                }
                // No ActiveAuthenticationInfo: the hash that matches the curve's size.
                None => match ec.group().order_bits() {
                    ..=160 => MessageDigest::sha1(),
                    161..=224 => MessageDigest::sha224(),
                    225..=256 => MessageDigest::sha256(),
                    257..=384 => MessageDigest::sha384(),
                    _ => MessageDigest::sha512(),
                },
            };
            let sig = match keys::plain_sig(signature) {
                Some(s) => s,
                None => match openssl::ecdsa::EcdsaSig::from_der(signature) {
                    Ok(s) => s,
                    Err(_) => return Ok(false),
                },
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
