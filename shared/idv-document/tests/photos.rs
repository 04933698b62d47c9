//! The document engine on real photos with the real PP-OCR models (run `models/fetch` first).

use std::sync::OnceLock;

use idv_document::{CheckSettings, DocumentEngine, DocumentReport, Ymd};
use image::RgbImage;

fn engine() -> &'static DocumentEngine {
    static ENGINE: OnceLock<DocumentEngine> = OnceLock::new();
    ENGINE.get_or_init(|| DocumentEngine::load_default().expect("models: run models/fetch"))
}

fn fixture(name: &str) -> RgbImage {
    let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    idv_image::decode_rgb(&std::fs::read(&path).unwrap(), &idv_image::Limits::ANY).unwrap()
}

fn read(front: &str, back: Option<&str>) -> DocumentReport {
    let back = back.map(fixture);
    engine()
        .read(
            &fixture(front),
            back.as_ref(),
            &CheckSettings::default(),
            Ymd::parse("2026-11-23").unwrap(),
        )
        .unwrap()
}

fn codes(r: &DocumentReport) -> Vec<&'static str> {
    r.checks.iter().map(|c| c.code).collect()
}

#[test]
fn reads_the_icao_td3_specimen_photo_exactly() {
    let r = read("documents/passport-td3.jpg", None);
    let z = r.mrz.as_ref().expect("MRZ");
    assert_eq!(z.format, "TD3");
    assert_eq!(
        z.lines,
        [
            "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
        ]
    );
    assert!(z.valid);
    assert_eq!(r.data.document_number.as_ref().unwrap().value, "L898902C3");
    assert_eq!(r.data.first_name.as_ref().unwrap().value, "ANNA");
    assert_eq!(r.data.expiry.as_ref().unwrap().value, "2012-04-15");
    assert_eq!(r.model_code().as_deref(), Some("PAUTOP3"));
    let c = codes(&r);
    assert!(
        c.contains(&"FAKE_ID") && c.contains(&"DOCUMENT_EXPIRED"),
        "{c:?}"
    );
    assert!(
        !c.contains(&"GLARE"),
        "a white scan background is not glare: {c:?}"
    );
}

#[test]
fn reads_the_icao_td2_specimen_photo_exactly() {
    let r = read("documents/passport-td2.jpg", None);
    let z = r.mrz.as_ref().expect("MRZ");
    assert_eq!(z.format, "TD2");
    assert_eq!(
        z.lines,
        [
            "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
            "D231458907UTO7408122F1204159<<<<<<<6"
        ]
    );
    assert_eq!(r.model_code().as_deref(), Some("IDUTOC2"));
}

#[test]
fn a_photo_without_a_document_gives_mrz_not_found() {
    let r = read("faces/scikit-image__astronaut.png", None);
    assert!(r.mrz.is_none());
    assert!(codes(&r).contains(&"MRZ_NOT_FOUND"));
}

#[test]
fn the_back_is_read_when_the_front_has_no_mrz() {
    let r = read(
        "faces/scikit-image__astronaut.png",
        Some("documents/passport-td3.jpg"),
    );
    assert_eq!(r.mrz_side, Some("back"));
    assert_eq!(r.data.document_number.as_ref().unwrap().value, "L898902C3");
}

#[test]
fn front_and_back_of_different_documents_mismatch() {
    let r = read(
        "documents/passport-td3.jpg",
        Some("documents/passport-td2.jpg"),
    );
    assert!(
        codes(&r).contains(&"FRONT_BACK_MISMATCH"),
        "{:?}",
        codes(&r)
    );
}

#[test]
fn blur_and_glare_are_measured() {
    let sharp = fixture("documents/passport-td3.jpg");
    let blurred = image::imageops::blur(&sharp, 5.0);
    let q = idv_document::quality::measure(&blurred);
    let settings = CheckSettings::default();
    let c: Vec<_> = idv_document::checks::quality_checks(&q, &settings)
        .iter()
        .map(|c| c.code)
        .collect();
    assert!(c.contains(&"IMAGE_TOO_BLURRY"), "sharpness {}", q.sharpness);
    assert!(idv_document::quality::measure(&sharp).sharpness > settings.blur_threshold);
}

#[test]
fn a_top_line_merged_with_print_above_is_still_read() {
    // Print that touches the first MRZ line from above (here: copies of a text strip, as on
    // documents whose visual zone or a guilloche runs into the MRZ): the detector merges the
    // line and the print into one tall box, and the band is completed at the line pitch.
    let mut img = fixture("documents/passport-td3.jpg");
    let ocr = engine().ocr();
    let band = idv_document::ocr::Ocr::mrz_band(&ocr.line_candidates(&img).unwrap());
    assert_eq!(band.len(), 2);
    let top = band[0];
    let (x0, x1) = (
        (top.cx - top.width / 2.0) as u32,
        (top.cx + top.width / 2.0) as u32,
    );
    let text_h = (0.55 * top.height) as u32;
    let src_y = (top.cy - text_h as f32 / 2.0) as u32;
    for copy in 1..=3 {
        let dst_y = src_y - copy * text_h;
        for y in 0..text_h {
            for x in x0..x1 {
                let p = *img.get_pixel(x + 7 * copy, src_y + y);
                if p[0] < 128 {
                    img.put_pixel(x, dst_y + y, p);
                }
            }
        }
    }
    let merged = idv_document::ocr::Ocr::mrz_band(&ocr.line_candidates(&img).unwrap());
    assert_eq!(merged.len(), 1, "the print above did not merge: {merged:?}");
    let r = engine()
        .read(
            &img,
            None,
            &CheckSettings::default(),
            Ymd::parse("2026-11-23").unwrap(),
        )
        .unwrap();
    let z = r.mrz.as_ref().expect("MRZ");
    assert_eq!(
        z.lines,
        [
            "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
            "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
        ]
    );
}
