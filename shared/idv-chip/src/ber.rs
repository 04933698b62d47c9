//! A small BER reader (definite and indefinite lengths, as chips and master lists write
//! them) and the DER re-encoding of what was read, for the bytes a signature covers.

use crate::ChipError;

/// One TLV as read: its tag bytes, and its content (the raw content when primitive, the
/// children when constructed).
#[derive(Debug, Clone)]
pub struct Tlv<'a> {
    /// The tag's identifier octets (one, or several for high tag numbers).
    pub tag: &'a [u8],
    /// The whole element as it stands in the input (tag, length and content).
    pub raw: &'a [u8],
    /// The content octets of a primitive element; for a constructed one, everything between
    /// its length and its end (without the end-of-contents octets).
    pub content: &'a [u8],
    pub constructed: bool,
}

fn malformed(what: &str) -> ChipError {
    ChipError::Malformed(what.to_string())
}

/// Reads one element at the start of `input`; returns it and the rest.
pub fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), ChipError> {
    read_depth(input, 0)
}

fn read_depth(input: &[u8], depth: usize) -> Result<(Tlv<'_>, &[u8]), ChipError> {
    if depth > 64 {
        return Err(malformed("nested too deep"));
    }
    let first = *input.first().ok_or_else(|| malformed("truncated tag"))?;
    let mut at = 1;
    if first & 0x1f == 0x1f {
        loop {
            let b = *input.get(at).ok_or_else(|| malformed("truncated tag"))?;
            at += 1;
            if b & 0x80 == 0 {
                break;
            }
            if at > 5 {
                return Err(malformed("tag too long"));
            }
        }
    }
    let tag = &input[..at];
    let constructed = first & 0x20 != 0;
    let lb = *input.get(at).ok_or_else(|| malformed("truncated length"))?;
    at += 1;
    if lb == 0x80 {
        if !constructed {
            return Err(malformed("indefinite length on a primitive"));
        }
        // Children until the end-of-contents octets.
        let start = at;
        let mut rest = &input[at..];
        loop {
            if rest.len() >= 2 && rest[0] == 0 && rest[1] == 0 {
                let end = input.len() - rest.len();
                let tlv = Tlv {
                    tag,
                    raw: &input[..end + 2],
                    content: &input[start..end],
                    constructed,
                };
                return Ok((tlv, &rest[2..]));
            }
            if rest.is_empty() {
                return Err(malformed("missing end of contents"));
            }
            let (_, r) = read_depth(rest, depth + 1)?;
            rest = r;
        }
    }
    let len = if lb & 0x80 == 0 {
        lb as usize
    } else {
        let n = (lb & 0x7f) as usize;
        if n > 4 {
            return Err(malformed("length too long"));
        }
        let bytes = input
            .get(at..at + n)
            .ok_or_else(|| malformed("truncated length"))?;
        at += n;
        bytes.iter().fold(0usize, |a, &b| (a << 8) | b as usize)
    };
    let end = at
        .checked_add(len)
        .filter(|&e| e <= input.len())
        .ok_or_else(|| malformed("content runs past the end"))?;
    let tlv = Tlv {
        tag,
        raw: &input[..end],
        content: &input[at..end],
        constructed,
    };
    Ok((tlv, &input[end..]))
}

impl<'a> Tlv<'a> {
    /// The first tag byte (enough for every universal and context tag ICAO uses).
    pub fn tag0(&self) -> u8 {
        self.tag[0]
    }

    /// The children of a constructed element.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, ChipError> {
        if !self.constructed {
            return Err(malformed("expected a constructed element"));
        }
        let mut out = Vec::new();
        let mut rest = self.content;
        while !rest.is_empty() {
            let (t, r) = read_depth(rest, 1)?;
            out.push(t);
            rest = r;
        }
        Ok(out)
    }

    /// The content of a primitive element, or the concatenated content of a constructed
    /// (BER) string.
    pub fn bytes(&self) -> Result<Vec<u8>, ChipError> {
        if !self.constructed {
            return Ok(self.content.to_vec());
        }
        let mut out = Vec::new();
        for c in self.children()? {
            out.extend(c.bytes()?);
        }
        Ok(out)
    }

    /// Expects this element's first tag byte.
    pub fn expect(self, tag: u8, what: &str) -> Result<Tlv<'a>, ChipError> {
        if self.tag0() == tag {
            Ok(self)
        } else {
            Err(malformed(&format!("expected {what}")))
        }
    }

    /// The element re-encoded in DER lengths (BER strings joined), with `tag` in place of
    /// its own first tag byte when given.
    pub fn to_der(&self, tag: Option<u8>) -> Result<Vec<u8>, ChipError> {
        let mut out = Vec::new();
        let mut t = self.tag.to_vec();
        if let Some(tag) = tag {
            t[0] = tag;
        }
        let content = if self.constructed && !is_string(self.tag0()) {
            let mut c = Vec::new();
            for child in self.children()? {
                c.extend(child.to_der(None)?);
            }
            c
        } else {
            if self.constructed {
                t[0] &= !0x20;
            }
            self.bytes()?
        };
        out.extend(t);
        push_len(&mut out, content.len());
        out.extend(content);
        Ok(out)
    }
}

/// Universal string types that BER may split into constructed pieces.
fn is_string(tag: u8) -> bool {
    matches!(
        tag & !0x20,
        0x03 | 0x04 | 0x0c | 0x13 | 0x16 | 0x17 | 0x18 | 0x1e
    )
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend(&bytes[skip..]);
    }
}

/// Reads a whole input that must hold exactly one element.
pub fn read_all(input: &[u8]) -> Result<Tlv<'_>, ChipError> {
    let (t, rest) = read(input)?;
    if rest.iter().any(|&b| b != 0) {
        return Err(malformed("bytes after the element"));
    }
    Ok(t)
}

/// An OBJECT IDENTIFIER's content in dotted form.
pub fn oid(content: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut v: u64 = 0;
    for (i, &b) in content.iter().enumerate() {
        v = (v << 7) | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            if parts.is_empty() {
                let (a, b) = if v < 40 {
                    (0, v)
                } else if v < 80 {
                    (1, v - 40)
                } else {
                    (2, v - 80)
                };
                parts.push(a.to_string());
                parts.push(b.to_string());
            } else {
                parts.push(v.to_string());
            }
            v = 0;
        } else if i == content.len() - 1 {
            parts.push("?".into());
        }
    }
    parts.join(".")
}

/// A small non-negative INTEGER's value.
pub fn small_int(content: &[u8]) -> Result<u64, ChipError> {
    if content.is_empty() || content.len() > 8 {
        return Err(malformed("integer out of range"));
    }
    Ok(content.iter().fold(0u64, |a, &b| (a << 8) | b as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indefinite_lengths_read_and_re_encode_as_der() {
        // SEQUENCE (indefinite) { OCTET STRING constructed (indefinite) { "ab", "c" }, NULL }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0, 0, 0x05, 0, 0, 0,
        ];
        let t = read_all(&ber).unwrap();
        let kids = t.children().unwrap();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[0].bytes().unwrap(), b"abc");
        assert_eq!(
            t.to_der(None).unwrap(),
            [0x30, 0x07, 0x04, 0x03, b'a', b'b', b'c', 0x05, 0x00]
        );
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        for cut in 0..6 {
            let der = [0x30, 0x82, 0x01, 0x00, 0x04, 0x01];
            assert!(read(&der[..cut]).is_err() || cut == 6);
        }
        assert!(read(&[0x30, 0x80, 0x04, 0x01, 1]).is_err());
    }

    #[test]
    fn oids_print_dotted() {
        assert_eq!(oid(&[0x67, 0x81, 0x08, 0x01, 0x01, 0x01]), "2.23.136.1.1.1");
        assert_eq!(
            oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]),
            "1.2.840.113549.1.7.2"
        );
    }
}
