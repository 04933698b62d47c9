//! The LDS files: the LDSSecurityObject the SOD signs, DG1's MRZ, DG2's face image, DG14's
//! Active Authentication algorithm and DG15's key.

use std::collections::BTreeMap;

use crate::ChipError;
use crate::ber;
use crate::keys::Algorithm;

/// The eContentType of an EF.SOD.
pub const LDS_SECURITY_OBJECT: &str = "2.23.136.1.1.1";

/// The data-group hashes the SOD lists.
#[derive(Debug, Clone)]
pub struct SecurityObject {
    pub hash: Algorithm,
    pub hashes: BTreeMap<u32, Vec<u8>>,
}

fn malformed(what: &str) -> ChipError {
    ChipError::Malformed(what.to_string())
}

impl SecurityObject {
    pub fn read(der: &[u8]) -> Result<SecurityObject, ChipError> {
        let seq = ber::read_all(der)?
            .expect(0x30, "an LDSSecurityObject")?
            .children()?;
        let hash = Algorithm::read(seq.get(1).ok_or_else(|| malformed("no hashAlgorithm"))?)?;
        let mut hashes = BTreeMap::new();
        for dg in seq
            .get(2)
            .ok_or_else(|| malformed("no dataGroupHashValues"))?
            .children()?
        {
            let k = dg.children()?;
            let (Some(n), Some(h)) = (k.first(), k.get(1)) else {
                return Err(malformed("short DataGroupHash"));
            };
            let n = ber::small_int(n.content)? as u32;
            hashes.insert(n, h.bytes()?);
        }
        Ok(SecurityObject { hash, hashes })
    }
}

/// The content of the first element tagged `tag` (two-byte tags as `0x5F1F`) found at any
/// depth inside `input`'s outer element.
fn find(input: &[u8], tag: &[u8]) -> Result<Option<Vec<u8>>, ChipError> {
    fn walk(t: &ber::Tlv<'_>, tag: &[u8]) -> Result<Option<Vec<u8>>, ChipError> {
        if t.tag == tag {
            return Ok(Some(t.bytes()?));
        }
        if t.constructed {
            for c in t.children()? {
                if let Some(v) = walk(&c, tag)? {
                    return Ok(Some(v));
                }
            }
        }
        Ok(None)
    }
    walk(&ber::read_all(input)?, tag)
}

/// DG1's MRZ (tag `5F1F` in `61`), as one string without line breaks.
pub fn dg1_mrz(dg1: &[u8]) -> Result<String, ChipError> {
    let top = ber::read_all(dg1)?.expect(0x61, "DG1 (tag 61)")?;
    let mrz = find(top.raw, &[0x5f, 0x1f])?.ok_or_else(|| malformed("DG1 without an MRZ"))?;
    String::from_utf8(mrz).map_err(|_| malformed("DG1's MRZ is not text"))
}

/// The MRZ split into its lines by its length (TD1 3×30, TD2 2×36, TD3 2×44).
pub fn mrz_lines(mrz: &str) -> Vec<String> {
    let width = match mrz.len() {
        90 => 30,
        72 => 36,
        88 => 44,
        _ => return vec![mrz.to_string()],
    };
    mrz.as_bytes()
        .chunks(width)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

/// DG2's first face image: the bytes from the JPEG or JPEG 2000 signature on, inside the
/// biometric data block (`5F2E` or `7F2E`).
pub fn dg2_image(dg2: &[u8]) -> Result<(ImageKind, Vec<u8>), ChipError> {
    ber::read_all(dg2)?.expect(0x75, "DG2 (tag 75)")?;
    let block = match find(dg2, &[0x5f, 0x2e])? {
        Some(b) => b,
        None => find(dg2, &[0x7f, 0x2e])?.ok_or_else(|| malformed("DG2 without a face"))?,
    };
    const JPEG: &[u8] = &[0xff, 0xd8, 0xff];
    const JP2: &[u8] = &[0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20];
    const J2K: &[u8] = &[0xff, 0x4f, 0xff, 0x51];
    for (sig, kind) in [
        (JPEG, ImageKind::Jpeg),
        (JP2, ImageKind::Jpeg2000),
        (J2K, ImageKind::Jpeg2000),
    ] {
        if let Some(at) = block.windows(sig.len()).position(|w| w == sig) {
            return Ok((kind, block[at..].to_vec()));
        }
    }
    Err(malformed("DG2's image is neither JPEG nor JPEG 2000"))
}

/// The encoding of DG2's face image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Jpeg2000,
}

/// DG15's SubjectPublicKeyInfo (tag `6F`).
pub fn dg15_key(dg15: &[u8]) -> Result<Vec<u8>, ChipError> {
    let top = ber::read_all(dg15)?.expect(0x6f, "DG15 (tag 6F)")?;
    let spki = top
        .children()?
        .into_iter()
        .next()
        .ok_or_else(|| malformed("empty DG15"))?;
    spki.to_der(None)
}

/// The ActiveAuthenticationInfo's signature algorithm OID in DG14, if it has one.
pub fn dg14_aa_algorithm(dg14: &[u8]) -> Result<Option<String>, ChipError> {
    const AA_INFO: &str = "2.23.136.1.1.5";
    let top = ber::read_all(dg14)?.expect(0x6e, "DG14 (tag 6E)")?;
    let set = top
        .children()?
        .into_iter()
        .next()
        .ok_or_else(|| malformed("empty DG14"))?;
    for info in set.children()? {
        let k = info.children()?;
        let Some(oid) = k.first().filter(|t| t.tag0() == 0x06) else {
            continue;
        };
        if ber::oid(oid.content) == AA_INFO {
            return Ok(k
                .iter()
                .skip(1)
                .find(|t| t.tag0() == 0x06)
                .map(|t| ber::oid(t.content)));
        }
    }
    Ok(None)
}
