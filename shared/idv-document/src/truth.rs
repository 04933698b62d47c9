//! Ground truth for documents read field by field (`fields` in an evaluation JSON), and the
//! comparison rule "all fields exact": upper case, accents dropped, white space collapsed,
//! spaces and hyphens ignored in numbers and postal codes.

use serde::Deserialize;

use crate::data::DocumentData;

/// A postal address as ground truth gives it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TruthAddress {
    pub street: Option<String>,
    pub street2: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
}

/// The fields a document carries (a key is present only where the document has it).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TruthFields {
    pub first_name: Option<String>,
    pub middle_name: Option<String>,
    pub last_name: Option<String>,
    pub dob: Option<String>,
    pub expiry: Option<String>,
    pub issued: Option<String>,
    pub document_number: Option<String>,
    pub sex: Option<String>,
    pub address: Option<TruthAddress>,
    /// ISO alpha-3 of the issuing country.
    pub country: Option<String>,
    pub vehicle_class: Option<String>,
    pub nationality: Option<String>,
    pub place_of_birth: Option<String>,
    pub issuing_authority: Option<String>,
}

/// One evaluation document's ground truth.
#[derive(Debug, Clone, Deserialize)]
pub struct Truth {
    /// `passport`, `drivers_license`, `id_card`, `national_id`, …
    pub document_type: Option<String>,
    pub fields: TruthFields,
}

/// Drops the accents of Latin letters (the NFKD-and-drop-marks rule for the letters
/// documents use).
fn unaccent(c: char) -> char {
    const FROM: &str = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝŸĆČĐĚŁŃŇŘŚŠŤŮŹŽŻĄĘĞİŞŐŰ";
    const TO: &str = "AAAAAACEEEEIIIINOOOOOOUUUUYYCCDELNNRSSTUZZZAEGISOU";
    FROM.chars()
        .position(|f| f == c)
        .and_then(|i| TO.chars().nth(i))
        .unwrap_or(c)
}

/// The comparison form of a value of field `key`.
pub fn normalise(key: &str, v: &str) -> String {
    let upper: String = v.to_uppercase().chars().map(unaccent).collect();
    let words = upper.split_whitespace().collect::<Vec<_>>().join(" ");
    if key == "document_number" || key == "postal_code" {
        words.chars().filter(|c| *c != ' ' && *c != '-').collect()
    } else {
        words
    }
}

/// One field's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOutcome {
    pub key: &'static str,
    pub expected: String,
    pub got: Option<String>,
    pub exact: bool,
}

/// Compares what was read with the truth, field by field (only fields the truth has).
pub fn compare(data: &DocumentData, truth: &TruthFields) -> Vec<FieldOutcome> {
    let got = |f: &Option<crate::data::Field<String>>| f.as_ref().map(|f| f.value.clone());
    let address = truth.address.clone().unwrap_or_default();
    let pairs: [(&'static str, &Option<String>, Option<String>); 16] = [
        ("first_name", &truth.first_name, got(&data.first_name)),
        ("middle_name", &truth.middle_name, got(&data.middle_name)),
        ("last_name", &truth.last_name, got(&data.last_name)),
        ("dob", &truth.dob, got(&data.dob)),
        ("expiry", &truth.expiry, got(&data.expiry)),
        ("issued", &truth.issued, got(&data.issued)),
        (
            "document_number",
            &truth.document_number,
            got(&data.document_number),
        ),
        ("sex", &truth.sex, got(&data.sex)),
        ("street", &address.street, got(&data.address_street)),
        ("street2", &address.street2, got(&data.address_street2)),
        ("city", &address.city, got(&data.address_city)),
        ("state", &address.state, got(&data.address_state)),
        (
            "postal_code",
            &address.postal_code,
            got(&data.address_postal_code),
        ),
        ("country", &truth.country, got(&data.country_iso3)),
        (
            "vehicle_class",
            &truth.vehicle_class,
            got(&data.vehicle_class),
        ),
        (
            "nationality",
            &truth.nationality,
            got(&data.nationality_iso3),
        ),
    ];
    let more = [
        (
            "place_of_birth",
            &truth.place_of_birth,
            got(&data.place_of_birth),
        ),
        (
            "issuing_authority",
            &truth.issuing_authority,
            got(&data.issuing_authority),
        ),
    ];
    pairs
        .into_iter()
        .chain(more)
        .filter_map(|(key, expected, got)| {
            let expected = expected.as_ref()?;
            let exact = got
                .as_ref()
                .is_some_and(|g| normalise(key, g) == normalise(key, expected));
            Some(FieldOutcome {
                key,
                expected: expected.clone(),
                got,
                exact,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_the_ground_truth_rule() {
        assert_eq!(normalise("document_number", "S-512 887"), "S512887");
        assert_eq!(normalise("postal_code", "N1M 3J6"), "N1M3J6");
        assert_eq!(normalise("last_name", " Müller   José "), "MULLER JOSE");
    }
}
