//! The `idv face` commands as other tools script them: real models, real photos, JSON out.

use std::path::PathBuf;
use std::process::Command;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn idv(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_idv"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "idv {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    // The JSON is the whole output, or its last line (eval).
    serde_json::from_str(&stdout)
        .or_else(|_| serde_json::from_str(stdout.lines().last().unwrap_or_default()))
        .unwrap_or_else(|e| panic!("idv {args:?} printed no JSON ({e}): {stdout}"))
}

fn path(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

#[test]
fn detect_prints_kairos_faces_predicted() {
    let v = idv(&[
        "face",
        "detect",
        &path("faces/face_recognition__two_people.jpg"),
    ]);
    let faces = v["faces"].as_array().unwrap();
    assert_eq!(faces.len(), 2);
    for f in faces {
        assert!(f["confidence"].as_f64().unwrap() > 0.6);
        assert!(f["top_left"]["x"].is_number() && f["top_left"]["y"].is_number());
        assert!(
            f["delta"]["x"].as_f64().unwrap() > 10.0 && f["delta"]["y"].as_f64().unwrap() > 10.0
        );
        assert_eq!(f["landmarks"].as_array().unwrap().len(), 5);
    }
    assert!(v["img"]["width"].as_u64().unwrap() > 0 && v["img"]["height"].as_u64().unwrap() > 0);
}

#[test]
fn compare_and_liveness_print_scores() {
    let v = idv(&[
        "face",
        "compare",
        &path("faces/face-api.js__penny__penny1.png"),
        &path("faces/face-api.js__penny__penny3.png"),
    ]);
    assert!(v["face_match_confidence"].as_f64().unwrap() >= 0.56, "{v}");
    assert_eq!(v["image_a"]["faces_predicted"].as_array().unwrap().len(), 1);
    let v = idv(&["face", "liveness", &path("liveness/image_T1.jpg")]);
    let s = v["faces_liveness"].as_f64().unwrap();
    assert!(s > 0.9, "{v}");
    assert_eq!(v["decision"], "pass", "{v}");
    assert_eq!(v["profile"], "optimal-v0");
    let v = idv(&[
        "face",
        "liveness",
        &path("liveness/image_F2.jpg"),
        "--profile",
        "strict-v0",
    ]);
    assert_eq!(v["decision"], "reject", "{v}");
    assert_eq!(v["details"][0]["code"], "FAILED_SELFIE_LIVENESS", "{v}");
}

#[test]
fn liveness_eval_reports_error_rates_per_source() {
    let dir = std::env::temp_dir().join(format!("idv-live-eval-{}", std::process::id()));
    for (label, source, file) in [
        ("live", "samples", "image_T1.jpg"),
        ("spoof", "samples", "image_F1.jpg"),
        ("spoof", "samples", "image_F2.jpg"),
        ("live", "press", "../faces/face_recognition__obama-720p.jpg"),
    ] {
        let to = dir.join(label).join(source);
        std::fs::create_dir_all(&to).unwrap();
        let from = fixtures().join("liveness").join(file);
        std::fs::copy(&from, to.join(from.file_name().unwrap())).unwrap();
    }
    let plot = dir.join("det.svg");
    let v = idv(&[
        "face",
        "liveness-eval",
        dir.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert_eq!(
        (v["live"].as_u64(), v["attack"].as_u64()),
        (Some(2), Some(2)),
        "{v}"
    );
    assert_eq!(v["sources"]["samples"]["apcer"], 0.0, "{v}");
    assert_eq!(v["sources"]["samples"]["bpcer"], 0.0, "{v}");
    assert!(
        v["eer"].is_number() && v["bpcer_at_apcer_5"].is_number(),
        "{v}"
    );
    assert!(std::fs::read_to_string(&plot).unwrap().contains("APCER"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn eval_reaches_tar_99_at_far_1_percent() {
    let plot = std::env::temp_dir().join(format!("idv-roc-{}.svg", std::process::id()));
    let v = idv(&[
        "face",
        "eval",
        &path("faces/pairs.csv"),
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert_eq!(v["pairs"], 1485);
    assert_eq!(v["failed_to_process"], 0);
    assert!(v["tar_at_far_1e-2"].as_f64().unwrap() >= 0.99, "{v}");
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.contains("<svg") && svg.contains("false accept rate"));
    std::fs::remove_file(plot).ok();
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_idv"))
        .args(["face", "detect", "/nonexistent.jpg"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.jpg"));
}

#[test]
fn verify_with_the_chip_from_the_command_line() {
    let verify = |trust: &str| {
        idv(&[
            "verify",
            "--document",
            &path("documents/synthetic-td3-obama.jpg"),
            "--selfie",
            &path("faces/face_recognition__obama-720p.jpg"),
            "--chip",
            &path("chip"),
            "--chip-trust",
            &path(trust),
        ])
    };
    let out = verify("chip/trust");
    assert_eq!(
        out["chip"]["findings"],
        serde_json::json!(["CHIP_VERIFIED"]),
        "{out}"
    );
    assert_eq!(out["chip"]["mrz_match"], true);
    assert!(out["chip"]["face_match"]["selfie"].as_f64().unwrap() > 0.8);
    // Without a trust store that knows the CSCA, the chip is refused by name.
    let out = verify("emrtd/trust");
    assert_eq!(
        out["chip"]["passive_authentication"]["errors"],
        serde_json::json!(["csca_not_found"]),
        "{out}"
    );
    let codes: Vec<&str> = out["decision"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"CHIP_INVALID"), "{out}");
}
