//! Every ICAO Doc 9303 specimen MRZ (and the Swedish card specimen) parses to its published
//! fields, and its document checks flag it as expired and as a specimen.

use idv_document::{CheckSettings, DocumentData, Ymd, Zone, checks};
use serde_json::Value;

fn specimens() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/mrz/specimens.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_specimen_parses_to_its_expected_fields() {
    let today = Ymd::parse("2026-11-23").unwrap();
    let all = specimens();
    assert!(all.len() >= 4);
    for s in all {
        let lines: Vec<&str> = s["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let e = &s["expected"];
        let zone =
            Zone::read(&lines.join("\n")).unwrap_or_else(|err| panic!("{}: {err}", s["source"]));
        let p = &zone.parsed;
        let what = s["source"].as_str().unwrap();
        assert_eq!(zone.format, s["format"].as_str().unwrap(), "{what}");
        assert_eq!(
            zone.lines, lines,
            "{what}: a valid zone must not be 'repaired'"
        );
        assert!(zone.repairs.is_empty(), "{what}");
        assert_eq!(
            p.document_type,
            e["document_code"].as_str().unwrap(),
            "{what}"
        );
        assert_eq!(
            p.issuing_country,
            e["issuing_state"].as_str().unwrap(),
            "{what}"
        );
        assert_eq!(p.surname, e["surname"].as_str().unwrap(), "{what}");
        assert_eq!(p.given_names, e["given_names"].as_str().unwrap(), "{what}");
        assert_eq!(p.nationality, e["nationality"].as_str().unwrap(), "{what}");
        assert_eq!(p.sex.to_string(), e["sex"].as_str().unwrap(), "{what}");
        assert_eq!(
            zone.birth_date().unwrap().to_string(),
            e["birth_date"].as_str().unwrap(),
            "{what}"
        );
        assert_eq!(
            zone.expiry_date().unwrap().to_string(),
            e["expiry_date"].as_str().unwrap(),
            "{what}"
        );
        assert_eq!(
            zone.valid,
            e["all_check_digits_valid"].as_bool().unwrap(),
            "{what}"
        );
        let data = DocumentData::from_zone(&zone, today);
        assert_eq!(
            data.document_number.as_ref().unwrap().value,
            e["document_number"].as_str().unwrap(),
            "{what}"
        );
        if let Some(pn) = e["personal_number"].as_str() {
            assert_eq!(data.personal_number.as_ref().unwrap().value, pn, "{what}");
        }
        if let Some(opt) = e["optional_data"].as_str() {
            assert_eq!(p.optional_data_1.as_deref(), Some(opt), "{what}");
        }
        let codes: Vec<&str> = checks::zone_checks(&zone, &data, &CheckSettings::default())
            .iter()
            .map(|c| c.code)
            .collect();
        for expected in e["expected_checks"].as_array().unwrap() {
            assert!(
                codes.contains(&expected.as_str().unwrap()),
                "{what}: {codes:?}"
            );
        }
    }
}

#[test]
fn a_wrong_check_digit_is_reported_not_hidden() {
    let all = specimens();
    let lines: Vec<String> = all[0]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect();
    // Change the date-of-birth check digit (TD3 line 2, position 19): 2 -> 3.
    let mut bad = lines.clone();
    bad[1].replace_range(19..20, "3");
    let zone = Zone::read(&bad.join("\n")).unwrap();
    assert!(!zone.valid);
    assert_eq!(zone.checks.birth_date, Some(false));
    let data = DocumentData::from_zone(&zone, Ymd::parse("2026-11-23").unwrap());
    assert!(data.dob.unwrap().confidence < 0.5);
    let codes: Vec<&str> =
        checks::zone_checks(&zone, &DocumentData::default(), &CheckSettings::default())
            .iter()
            .map(|c| c.code)
            .collect();
    assert!(codes.contains(&"MRZ_CHECKSUM_FAILED"), "{codes:?}");
}

#[test]
fn underage_holders_are_flagged_by_the_profile_age() {
    // The TD1 specimen holder was born 1974-08-12: 40 on 2014-09-01.
    let td1 = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<";
    let zone = Zone::read(td1).unwrap();
    let data = DocumentData::from_zone(&zone, Ymd::parse("2014-09-01").unwrap());
    let strict = CheckSettings {
        minimum_age: 41,
        ..CheckSettings::default()
    };
    let codes = |s: &CheckSettings| -> Vec<&'static str> {
        checks::zone_checks(&zone, &data, s)
            .iter()
            .map(|c| c.code)
            .collect()
    };
    assert!(codes(&strict).contains(&"UNDERAGE"));
    assert!(!codes(&CheckSettings::default()).contains(&"UNDERAGE"));
}
