//! The printed-field path: fields of a card front without an MRZ (US/Canadian driving
//! licences and ID cards, EU licences), from its OCR lines.
//!
//! Cards label their fields, with words (`DOB`, `EXP`, `LN`, `Family name`) and, on the
//! AAMVA 2016 and EU designs, with numbers (`1` surname, `2` given names, `3` birth,
//! `4a` issue, `4b` expiry, `4c` authority, `4d`/`5` number, `8` address, `9` classes,
//! `15` sex). A label's value follows it on the line, or stands in the box to its right or
//! just below it. What no label names is found by its place and form: the dates by order
//! (birth < issue < expiry), the name lines above the address, the address by its last line
//! (`CITY, ST 12345`).

mod address;
mod assign;
mod classify;
mod dates;
mod labels;

pub use assign::{Printed, read};
pub use classify::classify;
pub use dates::find_date;

#[cfg(test)]
mod tests {
    use super::address::city_line;
    use super::labels::{Key, mend, phrase_label};
    use super::*;
    use crate::data::Field;
    use crate::date::Ymd;
    use crate::ocr::TextLine;

    #[test]
    fn reads_dates_in_both_orders() {
        assert_eq!(
            find_date("EXP 08/31/2014", true).unwrap().to_string(),
            "2014-08-31"
        );
        assert_eq!(
            find_date("4b. 31.01.2028", false).unwrap().to_string(),
            "2028-01-31"
        );
        assert_eq!(
            find_date("x04/30/2022", true).unwrap().to_string(),
            "2022-04-30"
        );
        assert_eq!(find_date("5'-09\"", true), None);
        assert_eq!(
            find_date("12 AUG/AOÛT 1964", false).unwrap().to_string(),
            "1964-08-12"
        );
        assert_eq!(
            find_date("Geburtstag 03 MÄR 1990", false)
                .unwrap()
                .to_string(),
            "1990-03-03"
        );
    }

    #[test]
    fn knows_bilingual_labels() {
        assert_eq!(phrase_label("NOM / SURNAME"), Some(Key::Last));
        assert_eq!(phrase_label("PRÉNOMS / GIVEN NAMES:"), Some(Key::Given));
        assert_eq!(phrase_label("PRÈNOMS / GIVEN NAMES"), Some(Key::Given));
        assert_eq!(phrase_label("PRÈNOMS / SURNAME"), None);
        assert_eq!(phrase_label("NOM / PRÉNOMS"), None);
        assert_eq!(phrase_label("SAMPLE STREET"), None);
    }

    /// Lines of one column, 40 px apart, their left edges at x = 300 (the title further left).
    fn column(texts: &[&str]) -> Vec<TextLine> {
        texts
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let width = 14.0 * t.len() as f32;
                let x = if k == 0 { 150.0 } else { 300.0 };
                TextLine {
                    text: (*t).to_owned(),
                    confidence: 0.95,
                    bbox: crate::ocr::TextBox {
                        cx: x + width / 2.0,
                        cy: 100.0 + 40.0 * k as f32,
                        width,
                        height: 22.0,
                        angle: 0.0,
                    },
                }
            })
            .collect()
    }

    #[test]
    fn an_eu_licence_without_its_field_numbers_is_read_by_order() {
        let today = Ymd::parse("2026-12-02").unwrap();
        let p = read(
            &column(&[
                "FÜHRERSCHEIN",
                "MUELLER",
                "OLUWASEUN",
                "25.02.1963 BERLIN",
                "06.12.2023",
                "06.12.2033",
                "LANDRATSAMT MUSTERKREIS",
                "GBAM5AVM",
                "~",
                "AM/B",
            ]),
            today,
        );
        let get = |f: &Option<Field<String>>| f.as_ref().map(|f| f.value.clone());
        assert_eq!(get(&p.data.last_name).as_deref(), Some("MUELLER"));
        assert_eq!(get(&p.data.first_name).as_deref(), Some("OLUWASEUN"));
        assert_eq!(get(&p.data.place_of_birth).as_deref(), Some("BERLIN"));
        assert_eq!(
            get(&p.data.issuing_authority).as_deref(),
            Some("LANDRATSAMT MUSTERKREIS")
        );
        assert_eq!(get(&p.data.document_number).as_deref(), Some("GBAM5AVM"));
        assert_eq!(get(&p.data.vehicle_class).as_deref(), Some("AM/B"));
        // The number (5) not read: the categories (9) are not taken for it.
        let p = read(
            &column(&["RIJBEWIJS", "JANSEN", "EVA", "01.02.1990 DELFT", "B/C1"]),
            today,
        );
        assert_eq!(get(&p.data.document_number), None);
        assert_eq!(get(&p.data.vehicle_class).as_deref(), Some("B/C1"));
        // Not a driving licence: no field is taken by its place in a column.
        let p = read(
            &column(&["IDENTITY CARD", "MUELLER", "OLUWASEUN", "25.02.1963 BERLIN"]),
            today,
        );
        assert_eq!(p.data.place_of_birth, None);
    }

    #[test]
    fn a_house_number_starts_the_street_whatever_looks_like_a_label() {
        let today = Ymd::parse("2026-12-02").unwrap();
        let street = |texts: &[&str]| {
            read(&column(texts), today)
                .data
                .address_street
                .map(|f| f.value)
        };
        let card = |street_line: &'static str| {
            [
                "DRIVER LICENSE",
                "1 CORTEZ",
                "2 PABLO LUIS",
                street_line,
                "STRATFORD, CT 06614",
            ]
        };
        // `12` is field number 12, `LN` the surname label.
        assert_eq!(
            street(&card("12 DOGWOOD CT APT B")).as_deref(),
            Some("12 DOGWOOD CT APT B")
        );
        assert_eq!(street(&card("715 MAIN LN")).as_deref(), Some("715 MAIN LN"));
        // The street not read: the given names above the city line are not taken for it.
        assert_eq!(
            street(&[
                "DRIVER LICENSE",
                "1 CORTEZ",
                "2 PABLO LUIS",
                "STRATFORD, CT 06614"
            ]),
            None
        );
    }

    #[test]
    fn mends_slips_inside_names_only() {
        assert_eq!(mend(Key::Given, "KENJ!"), "KENJI");
        assert_eq!(mend(Key::Last, "J0HNSON SM1TH"), "JOHNSON SMITH");
        assert_eq!(mend(Key::Given, "ASTRID MARIA"), "ASTRID MARIA");
        assert_eq!(mend(Key::Number, "J0HN1"), "J0HN1");
        assert_eq!(mend(Key::Last, "12 345"), "12 345");
    }

    #[test]
    fn splits_city_lines() {
        for (line, split) in [
            (
                "NEW CASTLE.DE 19720-0000",
                Some(("NEW CASTLE", "DE", "19720")),
            ),
            (
                "HARRISBURG, PA 17101-0000",
                Some(("HARRISBURG", "PA", "17101")),
            ),
            ("123 MAIN STREET", None),
            ("FERGUS, ON N1M 3J6", Some(("FERGUS", "ON", "N1M 3J6"))),
            (
                "GRND-BAY-WFLD, NB E5K1Y3",
                Some(("GRND-BAY-WFLD", "NB", "E5K 1Y3")),
            ),
            // Six bytes, not six letters: no slicing inside a character.
            ("PARIS, FR ÉÉÉ", None),
        ] {
            let split = split.map(|(c, s, z): (&str, &str, &str)| (c.into(), s.into(), z.into()));
            assert_eq!(city_line(line), split, "{line}");
        }
    }
}
