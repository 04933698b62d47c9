//! The barcode path on committed fixtures: ZXing's PDF417 test images (Apache-2.0) and real
//! AAMVA licence payloads with their flat renders (MIT, c0shea/IdParser).

use std::path::{Path, PathBuf};

use idv_document::truth::{self, Truth};
use idv_document::{DocumentData, Ymd, aamva, pdf417};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pdf417")
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext))
        .collect();
    v.sort();
    v
}

/// Bytes as ISO-8859-1 characters (how PDF417 byte compaction reads without an ECI).
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn today() -> Ymd {
    Ymd::parse("2026-11-30").unwrap()
}

#[test]
fn decodes_zxing_pdf417_test_images() {
    let mut exact = 0;
    let mut total = 0;
    for set in ["pdf417-1", "pdf417-2", "pdf417-3"] {
        for png in files(&fixtures().join("zxing").join(set), "png") {
            total += 1;
            let expected = if png.with_extension("txt").exists() {
                std::fs::read_to_string(png.with_extension("txt")).unwrap()
            } else {
                latin1(&std::fs::read(png.with_extension("bin")).unwrap())
            };
            let img = image::open(&png).unwrap().to_luma8();
            match pdf417::decode(&img) {
                Some(s) if s.text == expected => exact += 1,
                other => eprintln!("{}: {:?}", png.display(), other.map(|s| s.text.len())),
            }
        }
    }
    eprintln!("{exact}/{total} decoded exactly");
    assert_eq!(total, 58);
    assert!(exact >= 56, "{exact}/58 decoded exactly");
}

fn truth(json: &Path) -> Truth {
    serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
}

#[test]
fn parses_every_field_of_real_aamva_payloads() {
    let mut all_exact = 0;
    let jsons = files(&fixtures().join("aamva"), "json");
    for json in &jsons {
        let t = truth(json);
        let payload = latin1(&std::fs::read(json.with_extension("txt")).unwrap());
        let a = aamva::parse(&payload).unwrap_or_else(|e| panic!("{}: {e}", json.display()));
        let data = DocumentData::from_aamva(&a, today());
        let outcome = truth::compare(&data, &t.fields);
        let wrong: Vec<_> = outcome.iter().filter(|o| !o.exact).collect();
        if wrong.is_empty() {
            all_exact += 1;
        } else {
            eprintln!("{}: {wrong:?}", json.display());
        }
        assert_eq!(Some(a.document_type()), t.document_type.as_deref());
    }
    eprintln!(
        "{all_exact}/{} payloads with every field exact",
        jsons.len()
    );
    assert_eq!(jsons.len(), 33);
    assert!(all_exact >= 32, "{all_exact}/33");
}

#[test]
fn decodes_and_parses_flat_licence_barcodes() {
    let mut exact = 0;
    let jsons = files(&fixtures().join("aamva"), "json");
    for json in &jsons {
        let payload = latin1(&std::fs::read(json.with_extension("txt")).unwrap());
        let img = image::open(json.with_extension("png")).unwrap().to_luma8();
        let symbol = pdf417::decode(&img).expect("a PDF417 symbol");
        exact += usize::from(symbol.text == payload);
    }
    assert_eq!(exact, jsons.len(), "payload-exact decodes");
}
