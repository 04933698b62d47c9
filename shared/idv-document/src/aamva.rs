//! A lenient reader of the AAMVA DL/ID card data in the PDF417 barcode on the back of US and
//! Canadian driving licences and ID cards (AAMVA versions 1–10, and the pre-standard `AAMVA`
//! header).
//!
//! Real payloads bend the standard: separators lost or replaced (`\n` for `\r`, `|`), subfile
//! offsets that do not match, names in one element (`DAA`: `LAST,FIRST,MIDDLE` or
//! `FIRST MIDDLE LAST`) or two (`DCT` = given names), dates as `MMDDCCYY` (US) or `CCYYMMDD`
//! (Canada, version 1), padded values. So this reader does not trust offsets: it finds the
//! header, then takes every line that starts with an element id.

use std::collections::HashMap;

use crate::date::Ymd;

/// Canadian province and territory codes (their cards use `CCYYMMDD` dates and `CAN`).
const PROVINCES: [&str; 13] = [
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
];

/// A postal address as the card holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub street: Option<String>,
    pub street2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    /// US: the 5-digit ZIP; Canada: `A1A 1A1`.
    pub postal_code: Option<String>,
}

/// The holder's data read from an AAMVA payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Aamva {
    /// Issuer identification number (6 digits; `636014` is California).
    pub iin: String,
    /// AAMVA card design standard version (0 for the pre-standard header).
    pub version: u8,
    /// `DL` (driving licence) or `ID` (identification card).
    pub subfile: String,
    pub first_name: Option<String>,
    /// All further given names, space-separated.
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub suffix: Option<String>,
    pub dob: Option<Ymd>,
    pub expiry: Option<Ymd>,
    pub issued: Option<Ymd>,
    pub document_number: Option<String>,
    /// `M`, `F` or `X`.
    pub sex: Option<String>,
    pub address: Address,
    /// ISO alpha-3: `USA` or `CAN`.
    pub country: Option<String>,
    /// Licence class (`DCA`, or `DAR` in version 1); `None` when the card says `NONE`.
    pub vehicle_class: Option<String>,
    /// Names the issuer marked as truncated (`DDE`/`DDF`/`DDG` = `T`).
    pub truncated: Vec<&'static str>,
}

/// Why a payload is not AAMVA card data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AamvaError {
    #[error("no AAMVA header (`ANSI ` or `AAMVA` followed by an issuer number)")]
    NoHeader,
    #[error("the payload holds no data elements")]
    NoElements,
}

/// Collapses runs of white space and trims; `None` when nothing is left.
fn clean(v: &str) -> Option<String> {
    let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
    let v = v.trim_end_matches(',').trim().to_owned();
    (!v.is_empty()).then_some(v)
}

/// `None` also for the placeholders issuers write in empty fields.
fn value(v: &str) -> Option<String> {
    clean(v).filter(|v| !matches!(v.as_str(), "NONE" | "unavl" | "UNAVL" | "----"))
}

/// An 8-digit date, `MMDDCCYY` or `CCYYMMDD` (whichever is a valid date: they cannot both be).
pub fn parse_date(v: &str) -> Option<Ymd> {
    let d: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| d[r].parse::<u32>().ok();
    let valid = |y: u32, m: u32, day: u32| {
        ((1900..=2200).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&day)).then_some(
            Ymd {
                year: y as i32,
                month: m,
                day,
            },
        )
    };
    valid(n(4..8)?, n(0..2)?, n(2..4)?).or_else(|| valid(n(0..4)?, n(4..6)?, n(6..8)?))
}

/// Where the header starts and what follows its fixed part: (iin, version, rest).
fn header(text: &str) -> Option<(String, u8, &str)> {
    let digits = |s: &str, n: usize| -> Option<String> {
        let p: String = s.chars().take(n).collect();
        (p.len() == n && p.bytes().all(|b| b.is_ascii_digit())).then_some(p)
    };
    for tag in ["ANSI ", "ANSI", "AAMVA"] {
        let Some(at) = text.find(tag) else { continue };
        let rest = &text[at + tag.len()..];
        let iin = digits(rest, 6)?;
        let version: u8 = digits(&rest[6..], 2)?.parse().ok()?;
        // Version 1 and earlier: IIN, version, entries. Later: IIN, version, jurisdiction
        // version, entries.
        let skip = if version >= 2 { 12 } else { 10 };
        let rest = rest.get(skip..)?;
        let version = if tag == "AAMVA" { 0 } else { version };
        return Some((iin, version, rest));
    }
    None
}

/// True for a three-letter element id (`DAQ`, `DCS`, `ZCA`, …).
fn is_element_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 3 && b[..3].iter().all(|c| c.is_ascii_uppercase()) && (b[0] == b'D' || b[0] == b'Z')
}

/// Reads an AAMVA payload.
pub fn parse(payload: &str) -> Result<Aamva, AamvaError> {
    let (iin, version, rest) = header(payload).ok_or(AamvaError::NoHeader)?;
    // Subfile designators: type (2 letters) + offset (4 digits) + length (4 digits).
    let mut rest = rest;
    let mut subfile = String::new();
    while rest.len() >= 10
        && rest.as_bytes()[..2].iter().all(|c| c.is_ascii_uppercase())
        && rest.as_bytes()[2..10].iter().all(|c| c.is_ascii_digit())
    {
        if subfile.is_empty() {
            subfile = rest[..2].to_owned();
        }
        rest = &rest[10..];
    }
    // The first subfile's data starts with its type again (`DLDAQ…`), except in some
    // version-1 cards that go straight to the first element.
    if rest.len() >= 5 && (rest.starts_with("DL") || rest.starts_with("ID")) {
        let t = &rest[..2];
        if is_element_id(&rest[2..]) {
            if subfile.is_empty() {
                subfile = t.to_owned();
            }
            rest = &rest[2..];
        }
    }
    if subfile.is_empty() {
        subfile = "DL".into();
    }
    let mut elements: HashMap<String, String> = HashMap::new();
    for line in rest.split(['\n', '\r', '|', '\x1e', '\x1d']) {
        let line = line.trim_start();
        // A jurisdiction subfile starts with its type (`ZCZCA…`).
        let line = if line.len() > 5
            && line.starts_with('Z')
            && line.get(2..).is_some_and(is_element_id)
            && line.as_bytes()[2] == b'Z'
        {
            &line[2..]
        } else {
            line
        };
        if is_element_id(line) && line.is_char_boundary(3) {
            elements
                .entry(line[..3].to_owned())
                .or_insert_with(|| line[3..].to_owned());
        }
    }
    if elements.is_empty() {
        return Err(AamvaError::NoElements);
    }
    let get = |id: &str| elements.get(id).and_then(|v| value(v));
    let mut out = Aamva {
        iin,
        version,
        subfile,
        ..Aamva::default()
    };

    // Names.
    let last = get("DCS").or_else(|| get("DAB"));
    let mut first = get("DAC");
    let mut middle = get("DAD");
    let split_given = |given: &str| -> (Option<String>, Option<String>) {
        let words: Vec<&str> = given.split([',', ' ']).filter(|w| !w.is_empty()).collect();
        (
            words.first().map(|w| (*w).to_owned()),
            (words.len() > 1).then(|| words[1..].join(" ")),
        )
    };
    if first.is_none()
        && let Some(given) = get("DCT")
    {
        (first, middle) = split_given(&given);
    } else if middle.is_none()
        && let Some(f) = first.clone()
        && f.contains(' ')
    {
        (first, middle) = split_given(&f);
    }
    out.last_name = last;
    if out.last_name.is_none()
        && let Some(full) = get("DAA")
    {
        if full.contains(',') {
            // LAST,FIRST,MIDDLE[,SUFFIX] (or LAST,FIRST MIDDLE).
            let parts: Vec<&str> = full.split(',').map(str::trim).collect();
            out.last_name = clean(parts[0]);
            let given = parts
                .get(1..3)
                .map(|p| p.join(" "))
                .unwrap_or_else(|| parts.get(1).map(|p| (*p).to_owned()).unwrap_or_default());
            (first, middle) = split_given(&given);
            out.suffix = parts.get(3).and_then(|s| clean(s));
        } else {
            // FIRST MIDDLE… LAST
            let words: Vec<&str> = full.split_whitespace().collect();
            if words.len() >= 2 {
                first = Some(words[0].to_owned());
                out.last_name = Some(words[words.len() - 1].to_owned());
                middle = (words.len() > 2).then(|| words[1..words.len() - 1].join(" "));
            } else {
                out.last_name = clean(&full);
            }
        }
    }
    out.first_name = first;
    out.middle_name = middle;
    out.suffix = out.suffix.or_else(|| get("DCU")).or_else(|| get("DAE"));
    for (id, name) in [
        ("DDE", "last_name"),
        ("DDF", "first_name"),
        ("DDG", "middle_name"),
    ] {
        if get(id).as_deref() == Some("T") {
            out.truncated.push(name);
        }
    }

    // Dates, number, sex.
    out.dob = get("DBB").and_then(|v| parse_date(&v));
    out.expiry = get("DBA").and_then(|v| parse_date(&v));
    out.issued = get("DBD").and_then(|v| parse_date(&v));
    out.document_number = elements.get("DAQ").and_then(|v| clean(v));
    out.sex = get("DBC").and_then(|v| match v.as_str() {
        "1" | "M" => Some("M".to_owned()),
        "2" | "F" => Some("F".to_owned()),
        "9" | "X" => Some("X".to_owned()),
        _ => None,
    });

    // Address.
    let state = get("DAJ").or_else(|| get("DAO"));
    let canadian = state.as_deref().is_some_and(|s| PROVINCES.contains(&s));
    out.country = get("DCG").filter(|c| c == "USA" || c == "CAN").or_else(|| {
        state
            .as_ref()
            .map(|_| if canadian { "CAN" } else { "USA" }.into())
    });
    let postal = get("DAK").or_else(|| get("DAP")).map(|p| {
        let p: String = p.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        if p.len() >= 5 && p[..5].bytes().all(|b| b.is_ascii_digit()) {
            p[..5].to_owned()
        } else if p.len() == 6 {
            format!("{} {}", &p[..3], &p[3..])
        } else {
            p
        }
    });
    out.address = Address {
        street: get("DAG").or_else(|| get("DAL")),
        street2: get("DAH").or_else(|| get("DAM")),
        city: get("DAI").or_else(|| get("DAN")),
        state,
        postal_code: postal,
    };
    out.vehicle_class = get("DCA").or_else(|| get("DAR"));
    Ok(out)
}

impl Aamva {
    /// `drivers_license` or `id_card`.
    pub fn document_type(&self) -> &'static str {
        if self.subfile == "ID" {
            "id_card"
        } else {
            "drivers_license"
        }
    }

    /// The address on one line: street, street 2, city, state postal code.
    pub fn address_line(&self) -> Option<String> {
        let a = &self.address;
        let region = [a.state.as_deref(), a.postal_code.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let parts: Vec<&str> = [a.street.as_deref(), a.street2.as_deref(), a.city.as_deref()]
            .into_iter()
            .flatten()
            .chain((!region.is_empty()).then_some(region.as_str()))
            .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_date_orders() {
        assert_eq!(parse_date("07052019").unwrap().to_string(), "2019-07-05");
        assert_eq!(parse_date("20150101").unwrap().to_string(), "2015-01-01");
        assert_eq!(parse_date("2015010"), None);
        assert_eq!(parse_date("13132019"), None);
    }

    #[test]
    fn reads_a_version_1_name_in_one_element() {
        let a = parse("@\n\x1e\rANSI 6360250101DL00290194DLDAQ26798765\nDAAJOHN ROBERT LEE SMITH\nDAJPA\nDBA20200203\nDBCM\n").unwrap();
        assert_eq!(a.first_name.as_deref(), Some("JOHN"));
        assert_eq!(a.middle_name.as_deref(), Some("ROBERT LEE"));
        assert_eq!(a.last_name.as_deref(), Some("SMITH"));
        assert_eq!(a.document_number.as_deref(), Some("26798765"));
        assert_eq!(a.country.as_deref(), Some("USA"));
        assert_eq!(a.expiry.unwrap().to_string(), "2020-02-03");
        let a = parse("@\n\x1e\rAAMVA6360060101DL00290182DAACORTEZ,PABLO,,JR\nDAJCT\n").unwrap();
        assert_eq!(a.first_name.as_deref(), Some("PABLO"));
        assert_eq!(a.middle_name, None);
        assert_eq!(a.suffix.as_deref(), Some("JR"));
    }

    #[test]
    fn never_panics_on_arbitrary_text() {
        // Deterministic pseudo-random payloads mixing header pieces, separators and
        // multi-byte characters (a decoded symbol can hold any text).
        let pieces = [
            "@\n\x1e\r",
            "ANSI ",
            "AAMVA",
            "636014",
            "0800",
            "DL",
            "ID",
            "00410278",
            "ZC",
            "DAQ",
            "DCS",
            "DAA",
            "Zé",
            "é",
            "\n",
            "|",
            "\r",
            ",",
            "0",
            "12345678",
            "ß",
            "DBB",
            "",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(state % 12) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            let _ = parse(&text);
        }
    }

    #[test]
    fn refuses_text_without_a_header() {
        assert_eq!(parse("hello world"), Err(AamvaError::NoHeader));
    }
}
