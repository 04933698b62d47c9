//! Extracted document data with the names of the Kairos `document.data` block.

use serde::Serialize;

use crate::date::Ymd;
use crate::iso2::ALPHA2;
use crate::zone::Zone;

/// One extracted value and how sure idv is of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field<T> {
    pub value: T,
    /// In [0, 1]: 1 for values covered by a verified check digit.
    pub confidence: f64,
    /// Where it was read: `mrz` or `viz` (the visual zone).
    pub source: &'static str,
}

type Text = Option<Field<String>>;
type Num = Option<Field<i64>>;

/// The Kairos `document.data` fields idv can fill. `None` fields are not readable here.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DocumentData {
    pub first_name: Text,
    pub middle_name: Text,
    pub last_name: Text,
    pub full_name: Text,
    pub dob: Text,
    pub dob_day: Num,
    pub dob_month: Num,
    pub dob_year: Num,
    pub age: Num,
    pub expiry: Text,
    pub expiry_day: Num,
    pub expiry_month: Num,
    pub expiry_year: Num,
    pub days_to_expiry: Num,
    pub issued: Text,
    pub issued_day: Num,
    pub issued_month: Num,
    pub issued_year: Num,
    pub days_from_issue: Num,
    pub document_number: Text,
    pub personal_number: Text,
    pub nationality_full: Text,
    pub nationality_iso3: Text,
    pub country_iso2: Text,
    pub country_iso3: Text,
    pub country_full: Text,
    pub sex: Text,
    pub document_type: Text,
    pub document_name: Text,
    pub place_of_birth: Text,
}

/// ISO 3166-1 alpha-2 for an ICAO alpha-3 code (incl. `D` and the British codes).
pub fn alpha2(code: &str) -> Option<&'static str> {
    ALPHA2
        .binary_search_by(|(a3, _)| (*a3).cmp(code))
        .ok()
        .map(|i| ALPHA2[i].1)
}

/// English name of an ICAO state or organisation code.
pub fn country_name(code: &str) -> Option<&'static str> {
    mrz::country_name(code)
}

/// `passport`, `national_id`, `visa` or `travel_document`, from the MRZ document code.
pub fn document_kind(code: &str) -> &'static str {
    match code.chars().next() {
        Some('P') => "passport",
        Some('V') => "visa",
        Some('I') | Some('A') | Some('C') => "national_id",
        _ => "travel_document",
    }
}

impl DocumentData {
    /// Fills the fields the MRZ holds. `today` sets age and days to expiry.
    pub fn from_zone(zone: &Zone, today: Ymd) -> DocumentData {
        let p = &zone.parsed;
        let c = &zone.checks;
        // Covered by a verified check digit: 1.0; uncovered (names, sex, states): 0.9,
        // or 0.95 when the whole zone verified; a failed check: 0.3.
        let conf = |check: Option<bool>| match check {
            Some(true) => 1.0,
            Some(false) => 0.3,
            None if zone.valid => 0.95,
            None => 0.9,
        };
        let text = |v: &str, check: Option<bool>| -> Text {
            let v = v.trim();
            (!v.is_empty()).then(|| Field {
                value: v.to_owned(),
                confidence: conf(check),
                source: "mrz",
            })
        };
        let num = |v: i64, check: Option<bool>| -> Num {
            Some(Field {
                value: v,
                confidence: conf(check),
                source: "mrz",
            })
        };
        let mut d = DocumentData::default();
        let given: Vec<&str> = p.given_names.split_whitespace().collect();
        d.first_name = given.first().and_then(|g| text(g, None));
        d.middle_name = (given.len() > 1)
            .then(|| given[1..].join(" "))
            .and_then(|m| text(&m, None));
        d.last_name = text(&p.surname, None);
        d.full_name = text(&format!("{} {}", p.given_names, p.surname), None);
        if let Some(dob) = zone.birth_date() {
            d.dob = text(&dob.to_string(), c.birth_date);
            d.dob_day = num(dob.day.into(), c.birth_date);
            d.dob_month = num(dob.month.into(), c.birth_date);
            d.dob_year = num(dob.year.into(), c.birth_date);
            d.age = num(dob.years_until(today).into(), c.birth_date);
        }
        if let Some(exp) = zone.expiry_date() {
            d.expiry = text(&exp.to_string(), c.expiry_date);
            d.expiry_day = num(exp.day.into(), c.expiry_date);
            d.expiry_month = num(exp.month.into(), c.expiry_date);
            d.expiry_year = num(exp.year.into(), c.expiry_date);
            d.days_to_expiry = num(exp.days() - today.days(), c.expiry_date);
        }
        let number = p
            .document_number_full
            .as_deref()
            .unwrap_or(&p.document_number);
        d.document_number = text(&number.replace('<', ""), c.document_number);
        d.personal_number = p
            .optional_data_1
            .as_deref()
            .and_then(|v| text(&v.replace('<', ""), c.personal_number.or(c.composite)));
        d.nationality_iso3 = text(&p.nationality, None);
        d.nationality_full = country_name(&p.nationality).and_then(|n| text(n, None));
        d.country_iso3 = text(&p.issuing_country, None);
        d.country_iso2 = alpha2(&p.issuing_country).and_then(|n| text(n, None));
        d.country_full = country_name(&p.issuing_country).and_then(|n| text(n, None));
        d.sex = text(&p.sex.to_string().replace('<', "X"), None);
        let kind = document_kind(&p.document_type);
        d.document_type = text(kind, None);
        let name = match (country_name(&p.issuing_country), kind) {
            (Some(c), "national_id") => format!("{c} identity card"),
            (Some(c), "travel_document") => format!("{c} travel document"),
            (Some(c), k) => format!("{c} {k}"),
            (None, k) => k.to_owned(),
        };
        d.document_name = text(&name, None);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_special_icao_codes_to_alpha2() {
        assert_eq!(alpha2("D"), Some("DE"));
        assert_eq!(alpha2("GBD"), Some("GB"));
        assert_eq!(alpha2("SWE"), Some("SE"));
        assert_eq!(alpha2("UTO"), None);
        assert!(
            ALPHA2.windows(2).all(|w| w[0].0 < w[1].0),
            "table must stay sorted"
        );
    }

    #[test]
    fn fills_kairos_fields_from_the_td1_specimen() {
        let z = Zone::read("I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<").unwrap();
        let d = DocumentData::from_zone(&z, Ymd::parse("2026-01-01").unwrap());
        assert_eq!(d.first_name.unwrap().value, "ANNA");
        assert_eq!(d.middle_name.unwrap().value, "MARIA");
        assert_eq!(d.last_name.unwrap().value, "ERIKSSON");
        assert_eq!(d.dob.unwrap().value, "1974-08-12");
        assert_eq!(d.age.unwrap().value, 51);
        assert_eq!(d.days_to_expiry.unwrap().value, -5009);
        assert_eq!(d.document_number.as_ref().unwrap().value, "D23145890");
        assert_eq!(d.document_number.unwrap().confidence, 1.0);
        assert_eq!(d.document_type.unwrap().value, "national_id");
        assert_eq!(d.sex.unwrap().value, "F");
    }
}
