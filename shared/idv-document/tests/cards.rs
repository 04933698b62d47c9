//! Cards without an MRZ through the whole engine (real PP-OCR models): licence fronts read from
//! their printed fields, backs from their barcode, both sides cross-checked. The fixtures are
//! idv's own renders (`synth --fronts`, `synth --backs`) of MIT-licensed AAMVA ground truth.

use std::sync::OnceLock;

use idv_document::truth::{self, Truth};
use idv_document::{CheckSettings, DocumentEngine, DocumentReport, Hint, Source, Ymd};
use image::RgbImage;

fn engine() -> &'static DocumentEngine {
    static ENGINE: OnceLock<DocumentEngine> = OnceLock::new();
    ENGINE.get_or_init(|| DocumentEngine::load_default().expect("models: run models/fetch"))
}

fn path(name: &str) -> String {
    format!(
        "{}/../../tests/fixtures/documents/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn fixture(name: &str) -> RgbImage {
    idv_image::decode_rgb(&std::fs::read(path(name)).unwrap(), &idv_image::Limits::ANY).unwrap()
}

fn read(front: &str, back: Option<&str>, hint: Hint) -> DocumentReport {
    let back = back.map(fixture);
    engine()
        .read_as(
            &fixture(front),
            back.as_ref(),
            &CheckSettings::default(),
            Ymd::parse("2026-11-30").unwrap(),
            hint,
        )
        .unwrap()
}

fn codes(r: &DocumentReport) -> Vec<&'static str> {
    r.checks.iter().map(|c| c.code).collect()
}

/// Every field of the fixture's ground truth, read exactly.
fn assert_fields(r: &DocumentReport, truth_file: &str) {
    let t: Truth =
        serde_json::from_str(&std::fs::read_to_string(path(truth_file)).unwrap()).unwrap();
    let wrong: Vec<_> = truth::compare(&r.data, &t.fields)
        .into_iter()
        .filter(|o| !o.exact)
        .collect();
    assert!(wrong.is_empty(), "{truth_file}: {wrong:?}");
    assert_eq!(r.document_type, t.document_type.as_deref());
}

#[test]
fn a_us_licence_front_is_read_from_its_printed_fields() {
    let r = read("licence-front-us-il.jpg", None, Hint::Auto);
    assert_fields(&r, "licence-front-us-il.json");
    assert!(r.mrz.is_none() && r.barcode.is_none());
    assert_eq!(r.data.last_name.as_ref().unwrap().source, Source::Viz);
    let c = codes(&r);
    assert!(c.contains(&"DOCUMENT_EXPIRED"), "{c:?}");
    assert!(!c.contains(&"MRZ_NOT_FOUND"), "{c:?}");
    assert_eq!(r.model_code().as_deref(), Some("DLUSAF1"));
}

#[test]
fn a_turned_identity_card_front_gives_its_lone_sex_letter() {
    // The lone `F` takes the lines' angle, not its own principal axis (read as `n` before).
    let r = read("idcard-front-rotated.jpg", None, Hint::Auto);
    assert_fields(&r, "idcard-front-rotated.json");
    assert_eq!(r.data.sex.as_ref().map(|f| f.value.as_str()), Some("F"));
}

#[test]
fn an_eu_licence_front_gives_place_of_birth_and_authority() {
    let r = read("licence-front-eu.jpg", None, Hint::DriversLicense);
    assert_fields(&r, "licence-front-eu.json");
    assert_eq!(r.data.place_of_birth.as_ref().unwrap().source, Source::Viz);
    assert!(!codes(&r).contains(&"DOCUMENT_EXPIRED"));
}

#[test]
fn an_eu_licence_line_confirms_the_printed_number_or_disagrees() {
    let r = read(
        "licence-front-eu.jpg",
        Some("licence-back-eu.jpg"),
        Hint::Auto,
    );
    assert_fields(&r, "licence-front-eu.json");
    let line = r.licence_line.as_ref().expect("the back's licence line");
    assert_eq!(line.issuing_state, "IRL");
    let number = r.data.document_number.as_ref().unwrap();
    assert_eq!((number.source, number.confidence), (Source::Mrz, 1.0));
    assert_eq!(r.data.country_iso3.as_ref().unwrap().value, "IRL");
    assert!(r.mrz.is_none());
    assert!(!codes(&r).contains(&"MRZ_NOT_FOUND"), "{:?}", codes(&r));
    // Another licence's back: its line does not hold this card's number.
    let r = read(
        "licence-front-eu.jpg",
        Some("licence-back-eu-other.jpg"),
        Hint::Auto,
    );
    assert!(r.licence_line.is_some());
    assert!(codes(&r).contains(&"VIZ_MRZ_MISMATCH"), "{:?}", codes(&r));
}

#[test]
fn front_and_back_of_one_licence_agree_and_the_barcode_wins() {
    let r = read(
        "licence-front-us-il.jpg",
        Some("licence-back-il.jpg"),
        Hint::Auto,
    );
    assert_fields(&r, "licence-back-il.json");
    let b = r.barcode.as_ref().expect("the back's barcode");
    assert_eq!(b.side, "back");
    assert_eq!(
        r.model_code(),
        Some(format!("DLUSAA{:02}", b.aamva_version))
    );
    assert_eq!(r.data.last_name.as_ref().unwrap().source, Source::Barcode);
    let c = codes(&r);
    assert!(!c.contains(&"FRONT_BACK_MISMATCH"), "{c:?}");
}

#[test]
fn a_back_of_another_licence_is_a_mismatch() {
    let r = read(
        "licence-front-us-il.jpg",
        Some("licence-back-ca.jpg"),
        Hint::Auto,
    );
    let mismatch = r
        .checks
        .iter()
        .find(|c| c.code == "FRONT_BACK_MISMATCH")
        .unwrap_or_else(|| panic!("{:?}", codes(&r)));
    assert!(
        mismatch.description.contains("surname"),
        "{}",
        mismatch.description
    );
}

#[test]
fn a_sample_card_is_flagged_by_its_name() {
    // Georgia's sample barcode names its holder JANICE SAMPLE; California's holder is real-looking.
    let r = read("../pdf417/aamva/GA.png", None, Hint::Auto);
    assert_eq!(r.data.last_name.as_ref().unwrap().value, "SAMPLE");
    assert!(codes(&r).contains(&"FAKE_ID"), "{:?}", codes(&r));
    let r = read("licence-back-ca.jpg", None, Hint::DriversLicense);
    assert!(!codes(&r).contains(&"FAKE_ID"), "{:?}", codes(&r));
}

#[test]
fn a_passport_hint_never_looks_for_a_barcode() {
    let r = read("licence-back-ca.jpg", None, Hint::Passport);
    assert!(r.barcode.is_none());
    assert!(codes(&r).contains(&"MRZ_NOT_FOUND"), "{:?}", codes(&r));
}
