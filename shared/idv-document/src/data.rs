//! Extracted document data with the names of the Kairos `document.data` block.

use serde::{Deserialize, Serialize};

use crate::aamva::Aamva;
use crate::date::Ymd;
use crate::iso2::ALPHA2;
use crate::zone::Zone;

/// Where a value was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The machine-readable zone.
    Mrz,
    /// A PDF417 symbol.
    Barcode,
    /// The printed fields (visual inspection zone).
    Viz,
}

/// One extracted value and how sure idv is of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Field<T> {
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub value: T,
    /// In [0, 1]: 1 for values covered by a verified check digit.
    pub confidence: f64,
    /// Where it was read.
    pub source: Source,
}

/// The Kairos `document.data` fields idv can fill. `None` fields are not readable here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentData {
    pub first_name: Option<Field<String>>,
    pub middle_name: Option<Field<String>>,
    pub last_name: Option<Field<String>>,
    pub full_name: Option<Field<String>>,
    pub dob: Option<Field<String>>,
    pub dob_day: Option<Field<i64>>,
    pub dob_month: Option<Field<i64>>,
    pub dob_year: Option<Field<i64>>,
    pub age: Option<Field<i64>>,
    pub expiry: Option<Field<String>>,
    pub expiry_day: Option<Field<i64>>,
    pub expiry_month: Option<Field<i64>>,
    pub expiry_year: Option<Field<i64>>,
    pub days_to_expiry: Option<Field<i64>>,
    pub issued: Option<Field<String>>,
    pub issued_day: Option<Field<i64>>,
    pub issued_month: Option<Field<i64>>,
    pub issued_year: Option<Field<i64>>,
    pub days_from_issue: Option<Field<i64>>,
    pub document_number: Option<Field<String>>,
    pub personal_number: Option<Field<String>>,
    pub nationality_full: Option<Field<String>>,
    pub nationality_iso3: Option<Field<String>>,
    pub country_iso2: Option<Field<String>>,
    pub country_iso3: Option<Field<String>>,
    pub country_full: Option<Field<String>>,
    pub sex: Option<Field<String>>,
    pub document_type: Option<Field<String>>,
    pub document_name: Option<Field<String>>,
    pub place_of_birth: Option<Field<String>>,
    /// The holder's address on one line.
    pub address: Option<Field<String>>,
    pub address_street: Option<Field<String>>,
    /// A second street line (apartment, suite), where printed.
    pub address_street2: Option<Field<String>>,
    pub address_city: Option<Field<String>>,
    /// State, province or region code.
    pub address_state: Option<Field<String>>,
    pub address_postal_code: Option<Field<String>>,
    pub issuing_authority: Option<Field<String>>,
    /// Driving-licence class(es).
    pub vehicle_class: Option<Field<String>>,
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
    /// The confidence of every field that was read.
    pub fn confidences(&self) -> Vec<f64> {
        let texts = [
            &self.first_name,
            &self.middle_name,
            &self.last_name,
            &self.full_name,
            &self.dob,
            &self.expiry,
            &self.issued,
            &self.document_number,
            &self.personal_number,
            &self.nationality_full,
            &self.nationality_iso3,
            &self.country_iso2,
            &self.country_iso3,
            &self.country_full,
            &self.sex,
            &self.document_type,
            &self.document_name,
            &self.place_of_birth,
            &self.address,
            &self.address_street,
            &self.address_street2,
            &self.address_city,
            &self.address_state,
            &self.address_postal_code,
            &self.issuing_authority,
            &self.vehicle_class,
        ];
        let nums = [
            &self.dob_day,
            &self.dob_month,
            &self.dob_year,
            &self.age,
            &self.expiry_day,
            &self.expiry_month,
            &self.expiry_year,
            &self.days_to_expiry,
            &self.issued_day,
            &self.issued_month,
            &self.issued_year,
            &self.days_from_issue,
        ];
        let texts = texts.into_iter().flatten().map(|f| f.confidence);
        texts
            .chain(nums.into_iter().flatten().map(|f| f.confidence))
            .collect()
    }

    /// Sets the date field group (`dob`, `expiry` or `issued`) from a date.
    pub(crate) fn set_date(
        &mut self,
        which: &str,
        date: Ymd,
        confidence: f64,
        source: Source,
        today: Ymd,
    ) {
        let text = Some(Field {
            value: date.to_string(),
            confidence,
            source,
        });
        let num = |v: i64| {
            Some(Field {
                value: v,
                confidence,
                source,
            })
        };
        let (y, m, d) = (
            num(date.year.into()),
            num(date.month.into()),
            num(date.day.into()),
        );
        match which {
            "dob" => {
                (self.dob, self.dob_year, self.dob_month, self.dob_day) = (text, y, m, d);
                self.age = num(date.years_until(today).into());
            }
            "expiry" => {
                (
                    self.expiry,
                    self.expiry_year,
                    self.expiry_month,
                    self.expiry_day,
                ) = (text, y, m, d);
                self.days_to_expiry = num(date.days() - today.days());
            }
            _ => {
                (
                    self.issued,
                    self.issued_year,
                    self.issued_month,
                    self.issued_day,
                ) = (text, y, m, d);
                self.days_from_issue = num(today.days() - date.days());
            }
        }
    }

    /// Takes from `other` the descriptive fields this read lacks (address, authority,
    /// classes, place of birth, middle name): a machine-readable source wins where both read.
    pub fn fill_missing(&mut self, other: &DocumentData) {
        for (mine, theirs) in [
            (&mut self.address, &other.address),
            (&mut self.address_street, &other.address_street),
            (&mut self.address_street2, &other.address_street2),
            (&mut self.address_city, &other.address_city),
            (&mut self.address_state, &other.address_state),
            (&mut self.address_postal_code, &other.address_postal_code),
            (&mut self.issuing_authority, &other.issuing_authority),
            (&mut self.vehicle_class, &other.vehicle_class),
            (&mut self.place_of_birth, &other.place_of_birth),
            (&mut self.middle_name, &other.middle_name),
        ] {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
    }

    /// The issuing state of a verified licence line, where nothing else gave it.
    pub fn mark_licence_line(&mut self, l: &crate::licence_line::LicenceLine) {
        let text = |v: &str| {
            Some(Field {
                value: v.to_owned(),
                confidence: 1.0,
                source: Source::Mrz,
            })
        };
        let state = l.issuing_state.as_str();
        if self.country_iso3.is_none() {
            self.country_iso3 = text(state);
            self.country_iso2 = alpha2(state).and_then(text);
            self.country_full = country_name(state).and_then(text);
        }
    }

    /// Fills the fields of an AAMVA barcode (US/Canadian licence or ID card back).
    pub fn from_aamva(a: &Aamva, today: Ymd) -> DocumentData {
        // Error-corrected by the symbol, but not checked against anything else.
        const CONFIDENCE: f64 = 0.98;
        let text = |v: Option<&str>| -> Option<Field<String>> {
            v.map(str::trim).filter(|v| !v.is_empty()).map(|v| Field {
                value: v.to_owned(),
                confidence: CONFIDENCE,
                source: Source::Barcode,
            })
        };
        let mut d = DocumentData {
            first_name: text(a.first_name.as_deref()),
            middle_name: text(a.middle_name.as_deref()),
            last_name: text(a.last_name.as_deref()),
            document_number: text(a.document_number.as_deref()),
            sex: text(a.sex.as_deref()),
            address: text(a.address_line().as_deref()),
            address_street: text(a.address.street.as_deref()),
            address_street2: text(a.address.street2.as_deref()),
            address_city: text(a.address.city.as_deref()),
            address_state: text(a.address.state.as_deref()),
            address_postal_code: text(a.address.postal_code.as_deref()),
            vehicle_class: text(a.vehicle_class.as_deref()),
            issuing_authority: text(a.address.state.as_deref()),
            document_type: text(Some(a.document_type())),
            ..DocumentData::default()
        };
        let full: Vec<&str> = [&a.first_name, &a.middle_name, &a.last_name]
            .into_iter()
            .filter_map(|n| n.as_deref())
            .collect();
        d.full_name = text(Some(&full.join(" ")));
        for (which, date) in [("dob", a.dob), ("expiry", a.expiry), ("issued", a.issued)] {
            if let Some(date) = date {
                d.set_date(which, date, CONFIDENCE, Source::Barcode, today);
            }
        }
        if let Some(c) = a.country.as_deref() {
            d.country_iso3 = text(Some(c));
            d.country_iso2 = alpha2(c).and_then(|n| text(Some(n)));
            d.country_full = country_name(c).and_then(|n| text(Some(n)));
        }
        let kind = if a.document_type() == "id_card" {
            "identification card"
        } else {
            "driving licence"
        };
        let name = match (a.address.state.as_deref(), d.country_full.as_ref()) {
            (Some(s), Some(c)) => format!("{} ({s}) {kind}", c.value),
            _ => kind.to_owned(),
        };
        d.document_name = text(Some(&name));
        d
    }

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
        let text = |v: &str, check: Option<bool>| -> Option<Field<String>> {
            let v = v.trim();
            (!v.is_empty()).then(|| Field {
                value: v.to_owned(),
                confidence: conf(check),
                source: Source::Mrz,
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
            d.set_date("dob", dob, conf(c.birth_date), Source::Mrz, today);
        }
        if let Some(exp) = zone.expiry_date() {
            d.set_date("expiry", exp, conf(c.expiry_date), Source::Mrz, today);
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
