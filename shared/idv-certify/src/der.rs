//! Just enough DER to write CMS signatures and CRLs, and to read the few certificate fields
//! they name (issuer, serial, subject, validity).

/// An element: `tag`, then the length, then `content`.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of already-encoded elements.
pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A SET OF already-encoded elements, in DER order (sorted by their encodings).
pub fn set_of(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x31, &sorted(parts))
}

/// The elements in DER's SET OF order, concatenated.
pub fn sorted(parts: &[&[u8]]) -> Vec<u8> {
    let mut v = parts.to_vec();
    v.sort();
    v.concat()
}

/// `[n]` EXPLICIT (constructed, context-specific) around `inner`.
pub fn explicit(n: u8, inner: &[u8]) -> Vec<u8> {
    tlv(0xa0 | n, inner)
}

/// An OBJECT IDENTIFIER from its dotted form (a constant of this crate; panics on a typo).
pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|a| a.parse().expect("a dotted OID"))
        .collect();
    let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        chunk.reverse();
        body.extend(chunk);
    }
    tlv(0x06, &body)
}

/// An OCTET STRING.
pub fn octets(b: &[u8]) -> Vec<u8> {
    tlv(0x04, b)
}

/// A BIT STRING without unused bits.
pub fn bits(b: &[u8]) -> Vec<u8> {
    let mut content = vec![0];
    content.extend_from_slice(b);
    tlv(0x03, &content)
}

/// A non-negative INTEGER from its big-endian bytes.
pub fn unsigned(be: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = be.iter().copied().skip_while(|&b| b == 0).collect();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|&b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend(trimmed);
    tlv(0x02, &content)
}

/// A small INTEGER.
pub fn int(n: u64) -> Vec<u8> {
    unsigned(&n.to_be_bytes())
}

/// NULL.
pub const NULL: [u8; 2] = [0x05, 0x00];

/// A UTCTime `YYMMDDHHMMSSZ` of a Unix time in 1950–2049 (what RFC 5280 wants there).
pub fn utc_time(unix: i64) -> Vec<u8> {
    let general = time(unix);
    tlv(0x17, &general[4..])
}

/// A GeneralizedTime `YYYYMMDDHHMMSSZ` of a Unix time.
pub fn time(unix: i64) -> Vec<u8> {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let text = format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    tlv(0x18, text.as_bytes())
}

/// One element read: its tag, its whole encoding and its content.
#[derive(Debug, Clone, Copy)]
pub struct Element<'a> {
    pub tag: u8,
    pub whole: &'a [u8],
    pub content: &'a [u8],
}

/// The element at the start of `b` and what follows it; `None` if `b` is not DER.
pub fn read(b: &[u8]) -> Option<(Element<'_>, &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (header, len) = if first < 0x80 {
        (2, first as usize)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let len = b
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |a, &x| (a << 8) | x as usize);
        (2 + n, len)
    };
    let end = header.checked_add(len)?;
    let whole = b.get(..end)?;
    Some((
        Element {
            tag,
            whole,
            content: &whole[header..],
        },
        &b[end..],
    ))
}

/// Every element inside `content`, in order; `None` if it is not a run of DER elements.
pub fn children(mut content: &[u8]) -> Option<Vec<Element<'_>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (e, rest) = read(content)?;
        out.push(e);
        content = rest;
    }
    Some(out)
}

/// The fields of a certificate a signature or a CRL names.
pub struct CertFields<'a> {
    /// The serial number's whole INTEGER element.
    pub serial: &'a [u8],
    /// The issuer's whole Name element.
    pub issuer: &'a [u8],
    /// The subject's whole Name element.
    pub subject: &'a [u8],
}

/// Serial, issuer and subject of DER certificate `cert`.
pub fn cert_fields(cert: &[u8]) -> Option<CertFields<'_>> {
    let (c, _) = read(cert)?;
    let tbs = *children(c.content)?.first()?;
    let fields = children(tbs.content)?;
    // An explicit version ([0]) comes first when present.
    let skip = usize::from(fields.first()?.tag == 0xa0);
    Some(CertFields {
        serial: fields.get(skip)?.whole,
        issuer: fields.get(skip + 2)?.whole,
        subject: fields.get(skip + 4)?.whole,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_der() {
        assert_eq!(
            oid("1.2.840.113549.1.9.16.2.14"),
            [
                0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e
            ]
        );
        assert_eq!(
            oid("2.16.840.1.101.3.4.2.1"),
            [
                0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01
            ]
        );
        assert_eq!(int(0), [0x02, 0x01, 0x00]);
        assert_eq!(int(128), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(unsigned(&[0, 0, 1]), [0x02, 0x01, 0x01]);
        let long = tlv(0x04, &[7; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let (e, rest) = read(&long).unwrap();
        assert_eq!((e.tag, e.content.len(), rest.len()), (0x04, 300, 0));
        assert_eq!(time(0), tlv(0x18, b"19700101000000Z"));
        assert_eq!(time(1_795_435_200), tlv(0x18, b"20261123120000Z"));
        assert_eq!(time(951_782_400), tlv(0x18, b"20000229000000Z"));
        assert_eq!(utc_time(951_782_400), tlv(0x17, b"000229000000Z"));
        // SET OF sorts by encoding.
        assert_eq!(set_of(&[&int(5), &int(1)]), [0x31, 6, 2, 1, 1, 2, 1, 5]);
    }
}
