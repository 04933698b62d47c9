//! Every case of the chip fixtures (tests/fixtures/emrtd, from the emrtd-dev set) gives its
//! expected result: the booleans of its expected.json.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use idv_chip::{Chip, TrustStore, verify};
use serde_json::Value;

fn root() -> PathBuf {
    // IDV_EMRTD_DIR evaluates another set of the same layout (e.g. ../shared/data/emrtd-dev).
    std::env::var_os("IDV_EMRTD_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/emrtd"))
}

/// The case's files as `idv chip verify` takes them, and its printed MRZ.
pub fn load(dir: &Path) -> (Chip, Option<String>) {
    let chip = Chip::read_dir(dir).unwrap();
    let mrz = std::fs::read_to_string(dir.join("mrz.txt")).ok();
    (chip, mrz)
}

#[test]
fn every_case_gives_its_expected_result() {
    let t = Instant::now();
    let trust = TrustStore::load_dir(&root().join("trust")).unwrap();
    println!(
        "trust store: {} anchors, {} other certificates in {:.0} ms",
        trust.anchors.len(),
        trust.others.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    for l in &trust.lists {
        println!("  {l:?}");
        assert!(l.signature_valid, "{}: the list's own signature", l.file);
    }
    let mut cases: Vec<_> = std::fs::read_dir(root().join("cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    let mut misses = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let want: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let (chip, mrz) = load(dir);
        let r = verify(&chip, &trust, mrz.as_deref());
        let got = serde_json::to_value(&r).unwrap();
        let mut wrong = Vec::new();
        if want["passive_authentication"] != got["passive_authentication"]["valid"] {
            wrong.push("passive_authentication".to_string());
        }
        let dg: BTreeMap<String, Value> =
            serde_json::from_value(want["dg_hashes"].clone()).unwrap_or_default();
        for (n, v) in &dg {
            if got["data_groups"][n]["hash_valid"] != *v {
                wrong.push(format!("dg{n}"));
            }
        }
        // null in expected.json: not judged.
        if !want["mrz_match"].is_null() && want["mrz_match"] != got["mrz_match"] {
            wrong.push("mrz_match".into());
        }
        let aa = &got["active_authentication"];
        let aa = if aa.is_null() {
            Value::Null
        } else {
            aa["valid"].clone()
        };
        if !want["active_authentication"].is_null() && want["active_authentication"] != aa {
            wrong.push("active_authentication".into());
        }
        println!(
            "{name:36} {} want {} got {:?} {}",
            if wrong.is_empty() { "ok  " } else { "MISS" },
            want["reason"],
            r.passive_authentication
                .errors
                .iter()
                .map(|e| e.code())
                .collect::<Vec<_>>(),
            wrong.join(",")
        );
        if !wrong.is_empty() {
            misses.push(name);
        }
    }
    println!(
        "{} of {} cases as expected",
        cases.len() - misses.len(),
        cases.len()
    );
    assert!(misses.is_empty(), "cases not as expected: {misses:?}");
}

#[test]
fn explicit_curve_keys_of_the_master_lists_map_to_named_curves() {
    use openssl::pkey::Id;
    let trust = TrustStore::load_dir(&root().join("trust")).unwrap();
    let mut curves: BTreeMap<String, usize> = BTreeMap::new();
    let mut unusable = 0;
    for c in trust.anchors.iter().chain(&trust.others) {
        let raw = c.x509.public_key().unwrap();
        if raw.id() != Id::EC {
            continue;
        }
        // Explicit parameters: a SEQUENCE where the curve's OID would be.
        let spki = raw.public_key_to_der().unwrap();
        let explicit = spki
            .windows(9)
            .any(|w| w == [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01])
            && spki[2..]
                .windows(11)
                .position(|w| w[..9] == [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01])
                .is_some_and(|at| spki[2 + at + 9] == 0x30);
        match &c.key {
            Some(k) => {
                let nid = k.ec_key().unwrap().group().curve_name().unwrap();
                let tag = if explicit { "explicit" } else { "named" };
                *curves
                    .entry(format!("{tag} {}", nid.short_name().unwrap()))
                    .or_default() += 1;
            }
            None => unusable += 1,
        }
    }
    println!("{curves:#?} unusable {unusable}");
    for curve in [
        "brainpoolP256r1",
        "brainpoolP384r1",
        "brainpoolP512r1",
        "prime256v1",
    ] {
        assert!(
            curves.contains_key(&format!("explicit {curve}")),
            "no explicit {curve} key mapped"
        );
    }
    assert_eq!(unusable, 0);
}

#[test]
fn cut_or_flipped_sods_give_a_verdict_not_a_panic() {
    let trust = TrustStore::load_dir(&root().join("trust")).unwrap();
    let (chip, mrz) = load(&root().join("cases/real-nz"));
    let sod = chip.sod.clone();
    for cut in (0..sod.len()).step_by(7) {
        let c = Chip {
            sod: sod[..cut].to_vec(),
            ..chip.clone()
        };
        let r = verify(&c, &trust, mrz.as_deref());
        assert!(!r.passive_authentication.valid);
    }
    // Any flip in the signed content or the signature is refused (fields outside them, such
    // as the digestAlgorithms set, are not signed).
    let (chip, _) = load(&root().join("cases/real-fr"));
    let sod = chip.sod.clone();
    let content = idv_chip::cms::read(&sod).unwrap().content;
    let start = sod
        .windows(content.len())
        .position(|w| w == content)
        .unwrap();
    let flips = (start..start + content.len())
        .step_by(5)
        .chain(sod.len() - 40..sod.len());
    for at in flips {
        let mut s = sod.clone();
        s[at] ^= 0x55;
        let r = verify(
            &Chip {
                sod: s,
                ..chip.clone()
            },
            &trust,
            None,
        );
        assert!(!r.passive_authentication.valid, "a flip at {at} verified");
    }
}
