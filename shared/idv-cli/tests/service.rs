//! End to end over HTTP on 127.0.0.1: a real `idv serve` (real models, real images, embedded
//! backends in a temporary data directory), every route of the three dialects, success and
//! failure, and the response shapes of the seeds' examples.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

/// A fixture as standard base64, as LINK clients send images.
fn std64(rel: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(read(rel))
}

const DOC: &str = "documents/synthetic-td3-obama.jpg";
const SELFIE: &str = "faces/face_recognition__obama-720p.jpg";
const OTHER: &str = "faces/face_recognition__knn_train__biden__biden.jpg";
const SPECIMEN: &str = "documents/passport-td3.jpg";
/// A US licence back (California's AAMVA sample payload, expired 2019) photographed turned.
const LICENCE_BACK: &str = "documents/licence-back-ca.jpg";

struct Server {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn idv() -> Command {
    Command::new(env!("CARGO_BIN_EXE_idv"))
}

/// `idv ARGS --data DATA`, which must succeed; its JSON output.
fn idv_json(data: &Path, args: &[&str]) -> Value {
    let out = idv().args(args).arg("--data").arg(data).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn tenant(data: &Path, name: &str) -> Value {
    idv_json(data, &["tenant", "create", name])
}

/// A tenant's Kairos headers.
fn kairos_keys(t: &Value) -> [(&'static str, &str); 2] {
    [
        ("app_id", t["app_id"].as_str().unwrap()),
        ("app_key", t["app_key"].as_str().unwrap()),
    ]
}

fn start(data: &Path) -> Server {
    start_with(data, &[])
}

fn start_with(data: &Path, extra: &[&str]) -> Server {
    start_logging(data, extra, Stdio::null())
}

/// [`start_with`], its log lines to `stderr`.
fn start_logging(data: &Path, extra: &[&str], stderr: Stdio) -> Server {
    let mut child = idv()
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--upload-seconds",
            "3",
            "--data",
        ])
        .arg(data)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("idv listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    Server { child, base, agent }
}

/// A multipart body: (name, Some(file bytes) | None with text).
fn multipart(parts: &[(&str, Part)]) -> (String, Vec<u8>) {
    let boundary = "idv-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, part) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match part {
            Part::File(bytes) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{name}.jpg\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
            Part::Text(t) => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{t}")
                        .as_bytes(),
                );
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

enum Part {
    File(Vec<u8>),
    Text(String),
}

fn file(rel: &str) -> Part {
    Part::File(read(rel))
}

impl Server {
    /// A LINK bearer token for `tenant` (the output of `idv tenant create`).
    fn link_bearer(&self, tenant: &Value) -> String {
        let (st, tok) = self.json(
            "/auth/token",
            &[],
            json!({"user": tenant["link_user"], "password": tenant["link_password"]}),
        );
        assert_eq!(st, 200, "{tok}");
        format!("Bearer {}", tok["token"].as_str().unwrap())
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        ct: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (u16, Value, ureq::http::HeaderMap) {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let req = req.body(body.unwrap_or_default()).unwrap();
        let mut res = self
            .agent
            .run(req)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, json, headers)
    }

    fn send_form(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        parts: &[(&str, Part)],
    ) -> (u16, Value, ureq::http::HeaderMap) {
        let (ct, body) = multipart(parts);
        self.send("POST", path, headers, Some(&ct), Some(body))
    }

    fn form(&self, path: &str, headers: &[(&str, &str)], parts: &[(&str, Part)]) -> (u16, Value) {
        let (ct, body) = multipart(parts);
        let (s, j, _) = self.send("POST", path, headers, Some(&ct), Some(body));
        (s, j)
    }

    fn json(&self, path: &str, headers: &[(&str, &str)], body: Value) -> (u16, Value) {
        let (s, j, _) = self.post_json(path, headers, &body);
        (s, j)
    }

    /// POSTs `body` as JSON; the status, the answer and its headers.
    fn post_json(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> (u16, Value, ureq::http::HeaderMap) {
        self.send(
            "POST",
            path,
            headers,
            Some("application/json"),
            Some(body.to_string().into_bytes()),
        )
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let (s, j, _) = self.send("GET", path, headers, None, None);
        (s, j)
    }

    /// A presigned upload of `bytes` (JPEG) by the tenant of `api_key`; its key.
    fn upload(&self, api_key: &[(&str, &str)], bytes: Vec<u8>) -> Value {
        let (st, up) = self.json("/v1/uploads", api_key, json!({"contentType": "image/jpeg"}));
        assert_eq!(st, 200, "{up}");
        let put = up["url"]
            .as_str()
            .unwrap()
            .strip_prefix(&self.base)
            .unwrap();
        let (st, _, _) = self.send("PUT", put, &[], Some("image/jpeg"), Some(bytes));
        assert_eq!(st, 200);
        up["key"].clone()
    }

    /// A certified LINK verification `id` of the sample passport and selfie (callbacks to
    /// `url`); the PDF of its certificate once issued.
    fn certified(&self, link: &[(&str, &str)], id: &str, url: &str) -> Vec<u8> {
        let (st, v) = self.json(
            "/identity/verify",
            link,
            json!({"id": id, "images": [{"content": std64(DOC), "faceImage": std64(SELFIE)}],
                "certify": true, "certifyCallback": url}),
        );
        assert_eq!(st, 200, "{v}");
        self.certificate(id, link)
    }

    /// The PDF of LINK request `id`'s certificate once issued, waiting up to 90 s.
    fn certificate(&self, id: &str, link: &[(&str, &str)]) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (st, cert) = self.get(&format!("/certificate/{id}"), link);
            if st == 200 {
                return base64::engine::general_purpose::STANDARD
                    .decode(cert["content"].as_str().unwrap())
                    .unwrap();
            }
            assert!(Instant::now() < deadline, "no certificate for {id}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn poll(&self, path: &str, headers: &[(&str, &str)]) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (s, j) = self.get(path, headers);
            assert_eq!(s, 200, "{j}");
            if j["response_code"] == 1 {
                return j;
            }
            assert!(Instant::now() < deadline, "job not done in time");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn codes(decision: &Value) -> Vec<String> {
    decision["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

/// Every key of `shape` is in `value` with the same JSON type, recursively (arrays: first item).
fn same_shape(shape: &Value, value: &Value, at: &str) {
    match (shape, value) {
        (Value::Object(s), Value::Object(v)) => {
            for (k, sv) in s {
                let vv = v
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}.{k} missing in {value}"));
                same_shape(sv, vv, &format!("{at}.{k}"));
            }
        }
        (Value::Array(s), Value::Array(v)) => {
            if let (Some(s0), Some(v0)) = (s.first(), v.first()) {
                same_shape(s0, v0, &format!("{at}[0]"));
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        (Value::Null, _) => {}
        _ => panic!("{at}: expected the type of {shape}, got {value}"),
    }
}

#[test]
fn every_dialect_end_to_end() {
    let dir = std::env::temp_dir().join(format!("idv-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let b = tenant(&dir, "globex");
    let server = start_with(&dir, &["--allow-private-callbacks"]);
    let s = &server;
    let (app_id, app_key) = (
        a["app_id"].as_str().unwrap(),
        a["app_key"].as_str().unwrap(),
    );
    let kairos: &[(&str, &str)] = &[("app_id", app_id), ("app_key", app_key)];
    let kairos_dash: &[(&str, &str)] = &[("app-id", app_id), ("app-key", app_key)];
    let kairos_b: &[(&str, &str)] = &[
        ("app_id", b["app_id"].as_str().unwrap()),
        ("app_key", b["app_key"].as_str().unwrap()),
    ];
    let api_key = a["api_key"].as_str().unwrap();
    let onecall: &[(&str, &str)] = &[("x-api-key", api_key)];

    // Health and headers (the OpenAPI document is checked by tests/openapi_client.py).
    // The CA's CRL, served by idv serve itself, passes through the same middleware.
    for path in ["/health", "/ca.crl"] {
        let (st, _, h) = s.send("GET", path, &[], None, None);
        assert_eq!(st, 200, "{path}");
        assert!(h.contains_key("x-request-id"), "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("strict-transport-security"), "{path}");
    }

    // Kairos async: several jobs at once; the last is still queued when first polled.
    let mut ids = Vec::new();
    for (selfie, doc) in [
        (SELFIE, DOC),
        (OTHER, DOC),
        (SELFIE, SPECIMEN),
        (SELFIE, DOC),
    ] {
        let (st, j) = s.form(
            "/v0.2/full-id-verification",
            kairos,
            &[("selfie", file(selfie)), ("document", file(doc))],
        );
        assert_eq!(st, 200, "{j}");
        ids.push(j["api_req_uid"].as_str().unwrap().to_string());
    }
    let (st, queued) = s.get(&format!("/v0.2/full-id-verification/{}", ids[3]), kairos);
    assert_eq!(st, 200);
    assert_eq!(queued["response_code"], Value::Null, "{queued}");

    let genuine = s.poll(
        &format!("/v0.2/full-id-verification/{}", ids[0]),
        kairos_dash,
    );
    let d = &genuine["response_data"]["decision"];
    assert_eq!(d["reject_score"], 0, "{d}");
    assert_eq!(d["review_score"], 0, "{d}");
    same_shape(
        &json!({
            "api_req_uid": "", "processed_at": "", "requested_at": "", "response_code": 1,
            "response_data": {
                "biometric": {"document": {"faces_predicted": [{"confidence": 1, "delta": {"x": 1, "y": 1}, "top_left": {"x": 1, "y": 1}}], "img": {"height": 1, "width": 1}},
                    "face_match_confidence": 0.1,
                    "selfie": {"faces_liveness": 0.1, "faces_predicted": [], "img": {"height": 1, "width": 1}}},
                "decision": {"details": [], "reject_score": 0, "review_score": 0, "warning_score": 0},
                "document": {"data": {"age": {"value": 1}, "country_iso2": {"value": ""}, "country_iso3": {"value": ""},
                    "dob": {"value": ""}, "dob_day": {"value": 1}, "expiry": {"value": ""}, "first_name": {"value": ""},
                    "last_name": {"value": ""}, "full_name": {"value": ""}, "document_number": {"value": ""},
                    "days_to_expiry": {"value": 1}, "sex": {"value": ""}}}
            }
        }),
        &genuine,
        "full-id-verification",
    );
    // An unknown route reads what the client sends before its 404: a large upload sees the
    // status, not a broken pipe.
    let (st, e, _) = s.send(
        "POST",
        "/v0.3/full-id-verification",
        kairos,
        Some("application/octet-stream"),
        Some(vec![7u8; 30 << 20]),
    );
    assert_eq!((st, e["code"].as_str()), (404, Some("NOT_FOUND")), "{e}");

    // The quick start's URLs: v0.1 submit (both spellings of the id) and poll.
    let (st, j) = s.form(
        "/v0.1/full-id-verification",
        kairos,
        &[("selfie", file(SELFIE)), ("document", file(DOC))],
    );
    assert_eq!(st, 200, "{j}");
    assert_eq!(j["api_req_uid"], j["api_req_uuid"]);
    let quick = s.poll(
        &format!(
            "/v0.1/full-id-verification/{}",
            j["api_req_uuid"].as_str().unwrap()
        ),
        kairos,
    );
    assert_eq!(
        quick["response_data"]["decision"]["reject_score"], 0,
        "{quick}"
    );
    let mismatch = s.poll(&format!("/v0.2/full-id-verification/{}", ids[1]), kairos);
    assert!(
        codes(&mismatch["response_data"]["decision"]).contains(&"FAILED_FACE_MATCH".to_string())
    );
    let specimen = s.poll(&format!("/v0.2/full-id-verification/{}", ids[2]), kairos);
    let c = codes(&specimen["response_data"]["decision"]);
    assert!(
        c.contains(&"FAKE_ID".into()) && c.contains(&"DOCUMENT_EXPIRED".into()),
        "{c:?}"
    );
    let detail = &specimen["response_data"]["decision"]["details"][0];
    same_shape(
        &json!({"code": "", "confidence": 1, "decision": "", "description": ""}),
        detail,
        "detail",
    );

    // Another tenant's id, an unknown id, bad credentials.
    assert_eq!(
        s.get(&format!("/v0.2/full-id-verification/{}", ids[0]), kairos_b)
            .0,
        404
    );
    assert_eq!(s.get("/v0.2/full-id-verification/nope", kairos).0, 404);
    assert_eq!(
        s.get(&format!("/v0.2/full-id-verification/{}", ids[0]), &[])
            .0,
        401
    );
    let wrong: &[(&str, &str)] = &[("app_id", app_id), ("app_key", "wrong")];
    let (st, err) = s.get(&format!("/v0.2/full-id-verification/{}", ids[0]), wrong);
    assert_eq!(st, 401);
    same_shape(
        &json!({"code": "", "message": "", "request_id": ""}),
        &err,
        "error",
    );

    // Bad input: a non-image (415), a 16 MB image (413), a missing field (400), a bad profile.
    let (st, j) = s.form(
        "/v0.2/full-id-verification",
        kairos,
        &[
            ("selfie", Part::File(b"%PDF-1.4 not an image".to_vec())),
            ("document", file(DOC)),
        ],
    );
    assert_eq!(st, 415, "{j}");
    let mut big = read(SELFIE);
    big.resize(16 << 20, 0);
    let (st, j) = s.form(
        "/v0.2/full-id-verification",
        kairos,
        &[("selfie", Part::File(big)), ("document", file(DOC))],
    );
    assert_eq!(st, 413, "{j}");
    let (st, j) = s.form(
        "/v0.2/full-id-verification",
        kairos,
        &[("selfie", file(SELFIE))],
    );
    assert_eq!((st, j["code"].as_str()), (400, Some("MISSING_FIELD")));
    let (st, _) = s.form(
        "/v0.2/full-id-verification",
        kairos,
        &[
            ("selfie", file(SELFIE)),
            ("document", file(DOC)),
            ("profile", Part::Text("nope".into())),
        ],
    );
    assert_eq!(st, 400);

    // Kairos document-only (async) and the synchronous biometric and liveness checks.
    let (st, j) = s.form(
        "/v0.1/document-verification",
        kairos,
        &[("document", file(DOC))],
    );
    assert_eq!(st, 200);
    let doc_id = j["api_req_uuid"].as_str().unwrap().to_string();
    let doc = s.poll(&format!("/v0.1/document-verification/{doc_id}"), kairos);
    assert_eq!(
        doc["response_data"]["document"]["data"]["last_name"]["value"],
        "HASSAN"
    );
    let (st, bio) = s.form(
        "/v0.2/biometric-verification",
        kairos,
        &[
            ("selfie", file(SELFIE)),
            (
                "image",
                file("faces/face_recognition__knn_test__obama_and_biden.jpg"),
            ),
            ("image_multiface", Part::Text("true".into())),
        ],
    );
    assert_eq!(st, 200, "{bio}");
    same_shape(
        &json!({"api_req_uid": "", "processed_at": "", "requested_at": "", "response_code": 1,
            "response_data": {"biometric": {"face_match_confidence": 0.1,
                "image": {"faces_predicted": [{"confidence": 1, "delta": {"x": 1, "y": 1}, "top_left": {"x": 1, "y": 1}}], "img": {"height": 1, "width": 1}},
                "selfie": {"faces_liveness": 0.1, "faces_predicted": [], "img": {"height": 1, "width": 1}}},
                "decision": {"details": [], "reject_score": 0, "review_score": 0, "warning_score": 0}}}),
        &bio,
        "biometric-verification",
    );
    assert!(
        bio["response_data"]["biometric"]["image"]["faces_predicted"]
            .as_array()
            .unwrap()
            .len()
            >= 2
    );
    assert!(
        bio["response_data"]["biometric"]["face_match_confidence"]
            .as_f64()
            .unwrap()
            > 0.9
    );
    let (st, live) = s.form(
        "/v0.2/liveness-verification",
        kairos,
        &[
            ("selfie", file(SELFIE)),
            ("threshold", Part::Text("0.3".into())),
        ],
    );
    assert_eq!(st, 200, "{live}");
    assert!(live["response_data"]["faces_liveness"].is_number());

    // One-call: multipart, base64 and an upload key; the single-purpose endpoints.
    let (st, one) = s.form(
        "/v1/verify-identity",
        onecall,
        &[
            ("documentImage", file(DOC)),
            ("faceImage", file(SELFIE)),
            ("documentType", Part::Text("passport".into())),
        ],
    );
    assert_eq!(st, 200, "{one}");
    same_shape(
        &json!({"verified": true, "overallConfidence": 1.0,
            "document": {"documentType": "", "fullName": "", "firstName": "", "lastName": "", "dateOfBirth": "",
                "gender": "", "nationality": "", "documentNumber": "", "expirationDate": "", "issuingCountry": "", "confidence": 1.0},
            "faceDetection": {"faceDetected": true, "confidence": 1.0},
            "faceMatch": {"isMatch": true, "confidence": 1.0, "threshold": 1.0}}),
        &one,
        "verify-identity",
    );
    assert_eq!(one["verified"], true, "{one}");
    // The selfie's liveness (0–100) is reported beside the detection; a live selfie passes.
    assert!(
        one["faceDetection"]["liveness"].as_f64().unwrap() >= 30.0,
        "{one}"
    );
    let overall = 0.4 * one["document"]["confidence"].as_f64().unwrap()
        + 0.2 * one["faceDetection"]["confidence"].as_f64().unwrap()
        + 0.4 * one["faceMatch"]["confidence"].as_f64().unwrap();
    assert!((overall - one["overallConfidence"].as_f64().unwrap()).abs() < 0.05);

    let (st, up) = s.json("/v1/uploads", onecall, json!({"contentType": "image/jpeg"}));
    assert_eq!(st, 200, "{up}");
    let url = up["url"]
        .as_str()
        .unwrap()
        .strip_prefix(&s.base)
        .unwrap()
        .to_string();
    let (st, _, _) = s.send("PUT", &url, &[], Some("image/jpeg"), Some(read(DOC)));
    assert_eq!(st, 200);
    let (st, _, _) = s.send("PUT", &url, &[], Some("image/png"), Some(read(DOC)));
    assert_eq!(st, 403, "content type other than the signed one");
    let (st, j, _) = s.send("PUT", &url, &[], Some("image/jpeg"), Some(read(SELFIE)));
    assert_eq!((st, &j["code"]), (409, &json!("UPLOAD_USED")), "{j}");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(read(SELFIE));
    let (st, one) = s.json(
        "/v1/verify-identity",
        onecall,
        json!({"documentImage": up["key"], "faceImage": b64, "documentType": "auto"}),
    );
    assert_eq!((st, &one["verified"]), (200, &json!(true)), "{one}");
    // Another tenant cannot read this upload.
    let onecall_b: &[(&str, &str)] = &[("x-api-key", b["api_key"].as_str().unwrap())];
    let (st, _) = s.json(
        "/v1/verify-identity",
        onecall_b,
        json!({"documentImage": up["key"], "faceImage": b64}),
    );
    assert_eq!(st, 403);
    // An expired upload URL is refused.
    let (_, up2) = s.json("/v1/uploads", onecall, json!({"contentType": "image/jpeg"}));
    std::thread::sleep(Duration::from_secs(5));
    let url2 = up2["url"]
        .as_str()
        .unwrap()
        .strip_prefix(&s.base)
        .unwrap()
        .to_string();
    let (st, j, _) = s.send("PUT", &url2, &[], Some("image/jpeg"), Some(read(DOC)));
    assert_eq!(st, 403, "{j}");
    assert!(j["message"].as_str().unwrap().contains("expired"));
    // Partial failure in-band: a selfie without a face still gets a document block.
    let (st, one) = s.form(
        "/v1/verify-identity",
        onecall,
        &[
            ("documentImage", file(DOC)),
            ("faceImage", Part::File(blank_png())),
        ],
    );
    assert_eq!(st, 200, "{one}");
    assert_eq!(one["faceDetection"]["faceDetected"], false);
    assert_eq!(one["document"]["lastName"], "HASSAN");
    assert_eq!(one["verified"], false);
    assert_eq!(
        s.form(
            "/v1/verify-identity",
            &[("x-api-key", "idv_x_y")],
            &[("documentImage", file(DOC))]
        )
        .0,
        401
    );
    let (st, j) = s.form(
        "/v1/verify-identity",
        onecall,
        &[
            ("documentImage", file(DOC)),
            ("faceImage", file(SELFIE)),
            ("documentType", Part::Text("boat".into())),
        ],
    );
    assert_eq!(
        (st, j["code"].as_str()),
        (400, Some("INVALID_DOCUMENT_TYPE"))
    );
    // One-call's seed: an unsupported format is 400 (Kairos answers 415 above).
    let (st, j) = s.form(
        "/v1/verify-identity",
        onecall,
        &[
            (
                "documentImage",
                Part::File(b"%PDF-1.4 not an image".to_vec()),
            ),
            ("faceImage", file(SELFIE)),
        ],
    );
    assert_eq!(
        (st, j["code"].as_str()),
        (400, Some("UNSUPPORTED_MEDIA_TYPE"))
    );
    let (st, scan) = s.form(
        "/v1/document/scan",
        onecall,
        &[("documentImage", file(SPECIMEN))],
    );
    assert_eq!(st, 200);
    assert_eq!(scan["documentNumber"], "L898902C3");
    let (st, det) = s.form(
        "/v1/face/detect",
        onecall,
        &[("image", file("faces/face_recognition__two_people.jpg"))],
    );
    assert_eq!(
        (st, det["faces"].as_array().map(Vec::len)),
        (200, Some(2)),
        "{det}"
    );
    let (st, cmp) = s.form(
        "/v1/face/compare",
        onecall,
        &[("sourceImage", file(SELFIE)), ("targetImage", file(OTHER))],
    );
    assert_eq!((st, &cmp["isMatch"]), (200, &json!(false)), "{cmp}");

    // LINK: token, ping, identity/verify (automatic, manual, certify), errors, certificate.
    let (st, tok) = s.json(
        "/auth/token",
        &[],
        json!({"user": a["link_user"], "password": a["link_password"]}),
    );
    assert_eq!(st, 200, "{tok}");
    same_shape(
        &json!({"token": "", "scopes": [""], "expiresIn": 3600, "token_type": "bearer"}),
        &tok,
        "token",
    );
    assert_eq!(tok["expiresIn"], 3600);
    assert_eq!(
        s.json(
            "/auth/token",
            &[],
            json!({"user": a["link_user"], "password": "x"})
        )
        .0,
        401
    );
    let (st, ping) = s.json("/ping", &[], json!({}));
    assert_eq!(
        (st, &ping["service"], &ping["status"]),
        (200, &json!("KYC API"), &json!("ok"))
    );
    let bearer = format!("Bearer {}", tok["token"].as_str().unwrap());
    let link: &[(&str, &str)] = &[("authorization", &bearer)];
    let (st, v) = s.json(
        "/identity/verify",
        link,
        json!({"id": "req-1", "images": [{"content": std64(DOC), "faceImage": std64(SELFIE)}], "expeditorCountry": "KE", "certify": false, "certifyCallback": ""}),
    );
    assert_eq!(st, 200, "{v}");
    same_shape(
        &json!({"id": "", "idVerification": {"status": "", "process": "", "result": "", "warning": "",
            "fields": [{"type": "", "code": "", "value": "", "description": ""}]}}),
        &v,
        "identity/verify",
    );
    assert_eq!(v["idVerification"]["result"], "Ok", "{v}");
    let field = |v: &Value, code: &str| -> Option<String> {
        v["idVerification"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code)
            .map(|f| f["value"].as_str().unwrap().to_string())
    };
    assert_eq!(field(&v, "TEST_EXPEDITOR_COUNTRY").as_deref(), Some("OK"));
    assert_eq!(field(&v, "NATIONALITY").as_deref(), Some("KEN"));
    let iq = field(&v, "QUALITY_IMAGE_BLURRING").unwrap();
    assert!(iq.starts_with("IQ_GOOD ") && iq.ends_with('%'), "{iq}");
    // A Kenyan passport said to be Spanish: a Warning, with the reason.
    let (st, es) = s.json(
        "/identity/verify",
        link,
        json!({"id": "req-es", "images": [{"content": std64(DOC), "faceImage": std64(SELFIE)}], "expeditorCountry": "ES"}),
    );
    assert_eq!(st, 200, "{es}");
    assert_eq!(es["idVerification"]["result"], "Warning", "{es}");
    assert_eq!(
        field(&es, "TEST_EXPEDITOR_COUNTRY").as_deref(),
        Some("FAIL")
    );
    assert!(
        es["idVerification"]["warning"]
            .as_str()
            .unwrap()
            .contains("expeditorCountry"),
        "{es}"
    );
    // The id is an idempotency key: the same body again gets the same answer; another body
    // with the id is refused; twice at once, one runs and both get its answer.
    let first = json!({"id": "req-1", "images": [{"content": std64(DOC), "faceImage": std64(SELFIE)}], "expeditorCountry": "KE", "certify": false, "certifyCallback": ""});
    let (st, replayed) = s.json("/identity/verify", link, first);
    assert_eq!((st, &replayed), (200, &v));
    let other = json!({"id": "req-1", "images": [{"content": std64(DOC)}]});
    let (st, e) = s.json("/identity/verify", link, other);
    assert_eq!(
        (st, &e["code"], &e["id"]),
        (400, &json!("003"), &json!("req-1")),
        "{e}"
    );
    let twice = json!({"id": "req-twice", "images": [{"content": std64(DOC)}]});
    let answers: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let runs: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| s.json("/identity/verify", link, twice.clone())))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(answers[0].0, 200, "{answers:?}");
    assert_eq!(answers[0], answers[1]);
    let mixed = [
        json!({"id": "req-mixed", "images": [{"content": std64(DOC), "faceImage": std64(SELFIE)}]}),
        json!({"id": "req-mixed", "images": [{"content": std64(DOC), "faceImage": std64(OTHER)}]}),
    ];
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let runs: Vec<_> = mixed
            .iter()
            .map(|body| scope.spawn(|| s.json("/identity/verify", link, body.clone()).0))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [200, 400],
        "one request holds the id, the other is refused"
    );
    let (st, v) = s.json(
        "/identity/verify",
        link,
        json!({"id": "req-2", "images": [{"content": std64(SPECIMEN)}], "expeditorCountry": "UT"}),
    );
    assert_eq!(
        (st, &v["idVerification"]["result"]),
        (200, &json!("NotCorrect")),
        "{v}"
    );
    let (st, v) = s.json(
        "/identity/verify",
        link,
        json!({"id": "req-3", "images": [{"content": std64(DOC), "faceImage": std64(SELFIE)}], "certify": true,
            "certifyCallback": "http://127.0.0.1:9/cb", "manualVerification": true, "manualVerificationCallback": "http://127.0.0.1:9/cb"}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["idVerification"],
        json!({"status": "Processing", "process": "Manual"})
    );
    assert_eq!(v["certification"], json!({"status": "Processing"}));
    let (st, e) = s.json(
        "/identity/verify",
        link,
        json!({"id": "req-4", "images": [{"content": "@@not base64@@"}]}),
    );
    assert_eq!(st, 400);
    assert_eq!(
        e,
        json!({"id": "req-4", "code": "003", "message": "Validation Error: There are images with invalid base64 format"})
    );
    // LINK's seed: a non-image is a 400 `003`; 401 and 404 have no body; JSON in UTF-8.
    let pdf = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4 not an image");
    let (st, e, h) = s.post_json(
        "/identity/verify",
        link,
        &json!({"id": "req-pdf", "images": [{"content": pdf}]}),
    );
    assert_eq!(
        (st, &e["code"], &e["id"]),
        (400, &json!("003"), &json!("req-pdf")),
        "{e}"
    );
    assert_eq!(h["content-type"], "application/json; charset=utf-8");
    let (st, e, h) = s.send("GET", "/certificate/nope", link, None, None);
    assert_eq!((st, &e), (404, &Value::Null));
    assert_eq!(h["content-type"], "application/json; charset=utf-8");
    let (st, e, _) = s.send("GET", "/certificate/nope", &[], None, None);
    assert_eq!((st, &e), (401, &Value::Null));
    // A certificate nobody could receive (no callback, no default URL) is refused up front.
    let (st, e) = s.json(
        "/identity/verify",
        link,
        json!({"id": "req-5", "images": [{"content": std64(DOC)}], "certify": true}),
    );
    assert_eq!((st, &e["code"]), (400, &json!("003")), "{e}");
    assert_eq!(
        s.json(
            "/identity/verify",
            &[("authorization", "Bearer forged.token.x")],
            json!({})
        )
        .0,
        401
    );
    assert_eq!(s.get("/certificate/req-1", link).0, 404);
    assert_eq!(s.get("/certificate/req-1", &[]).0, 401);
}

/// A 400×400 grey PNG: an image without a face.
/// A licence back read from its barcode, in every dialect: type, address, expiry.
#[test]
fn licence_back_barcode_in_every_dialect() {
    let dir = std::env::temp_dir().join(format!("idv-licence-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let server = start(&dir);
    let s = &server;
    let onecall: &[(&str, &str)] = &[("x-api-key", a["api_key"].as_str().unwrap())];
    let (st, scan) = s.form(
        "/v1/document/scan",
        onecall,
        &[
            ("documentImage", file(LICENCE_BACK)),
            ("documentType", Part::Text("drivers_license".into())),
        ],
    );
    assert_eq!(st, 200, "{scan}");
    assert_eq!(scan["documentType"], "drivers_license", "{scan}");
    assert_eq!(scan["lastName"], "HARPER");
    assert_eq!(scan["documentNumber"], "F1485768");
    assert_eq!(scan["dateOfBirth"], "1973-07-05");
    assert_eq!(scan["address"], "671 BLUEBERRY HILL DR, MILPITAS, CA 95035");
    let checks: Vec<&str> = scan["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert!(checks.contains(&"DOCUMENT_EXPIRED"), "{checks:?}");
    assert!(!checks.contains(&"MRZ_NOT_FOUND"), "{checks:?}");

    let kairos: &[(&str, &str)] = &[
        ("app_id", a["app_id"].as_str().unwrap()),
        ("app_key", a["app_key"].as_str().unwrap()),
    ];
    let (st, j) = s.form(
        "/v0.1/document-verification",
        kairos,
        &[("document", file(LICENCE_BACK))],
    );
    assert_eq!(st, 200, "{j}");
    let id = j["api_req_uuid"].as_str().unwrap().to_string();
    let doc = s.poll(&format!("/v0.1/document-verification/{id}"), kairos);
    let d = &doc["response_data"]["document"];
    assert_eq!(d["document_type"], "drivers_license", "{d}");
    assert_eq!(d["data"]["address_city"]["value"], "MILPITAS");
    assert_eq!(d["data"]["vehicle_class"]["value"], "C");
    assert_eq!(d["data"]["issued"]["value"], "2016-02-02");
    assert_eq!(d["data"]["issued"]["source"], "barcode");
    assert_eq!(d["barcode"]["iin"], "636014");

    let (_, tok) = s.json(
        "/auth/token",
        &[],
        json!({"user": a["link_user"], "password": a["link_password"]}),
    );
    let bearer = format!("Bearer {}", tok["token"].as_str().unwrap());
    let (st, v) = s.json(
        "/identity/verify",
        &[("authorization", &bearer)],
        json!({"id": "licence-1", "images": [{"content": std64(LICENCE_BACK)}], "expeditorCountry": "US"}),
    );
    assert_eq!(st, 200, "{v}");
    let field = |code: &str| {
        v["idVerification"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code)
            .map(|f| f["value"].clone())
    };
    assert_eq!(field("TYPE"), Some(json!("DRIVING_LICENSE")), "{v}");
    assert_eq!(field("SURNAME"), Some(json!("HARPER")));
    assert_eq!(field("VEHICLE_CLASS"), Some(json!("C")));
    assert_eq!(field("TEST_EXPIRY_DATE"), Some(json!("FAIL")));
    assert_eq!(field("MRZ"), None);
}

fn blank_png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(400, 400, image::Rgb([128, 128, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn a_job_accepted_before_a_crash_is_finished_after_a_restart() {
    let dir = std::env::temp_dir().join(format!("idv-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let kairos = kairos_keys(&a);
    let mut ids = Vec::new();
    {
        let server = start(&dir);
        for _ in 0..3 {
            let (st, j) = server.form(
                "/v0.2/full-id-verification",
                &kairos,
                &[("selfie", file(SELFIE)), ("document", file(DOC))],
            );
            assert_eq!(st, 200);
            ids.push(j["api_req_uid"].as_str().unwrap().to_string());
        }
        // Killed (SIGKILL) at once, with jobs queued or running.
    }
    let server = start(&dir);
    for id in &ids {
        let done = server.poll(&format!("/v0.2/full-id-verification/{id}"), &kairos);
        assert_eq!(done["response_data"]["decision"]["reject_score"], 0);
    }
}

#[test]
fn the_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("idv-modes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    // A file an earlier version (or a copy) left world-readable is fixed at start.
    let stray = dir.join("blobs/old.bin");
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    std::fs::write(&stray, b"x").unwrap();
    std::fs::set_permissions(&stray, std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = start(&dir);
    // Store images (a Kairos job keeps its inputs) and a finished result.
    let kairos = kairos_keys(&a);
    let (st, j) = server.form(
        "/v0.2/full-id-verification",
        &kairos,
        &[("selfie", file(SELFIE)), ("document", file(DOC))],
    );
    assert_eq!(st, 200, "{j}");
    server.poll(
        &format!(
            "/v0.2/full-id-verification/{}",
            j["api_req_uid"].as_str().unwrap()
        ),
        &kairos,
    );
    let mut stack = vec![dir.clone()];
    let mut files = 0;
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{}", p.display());
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode, 0o600, "{}", p.display());
            files += 1;
        }
    }
    assert!(
        files >= 4,
        "database, secrets, two job images at least ({files})"
    );
}

#[test]
fn sigterm_and_sigint_let_requests_and_jobs_in_flight_finish() {
    let dir = std::env::temp_dir().join(format!("idv-term-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let mut server = start(&dir);
    let onecall = [("x-api-key", a["api_key"].as_str().unwrap())];
    let pid = server.child.id();
    let answer = std::thread::scope(|scope| {
        let s = &server;
        let call = scope.spawn(|| {
            s.form(
                "/v1/verify-identity",
                &onecall,
                &[("documentImage", file(DOC)), ("faceImage", file(SELFIE))],
            )
        });
        // The request is in (a verification takes several hundred ms): SIGTERM now.
        std::thread::sleep(Duration::from_millis(250));
        let killed = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        call.join().unwrap()
    });
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert!(answer.1["overallConfidence"].is_number());
    // Then the process exits by itself, cleanly.
    exits_cleanly(&mut server);

    // SIGINT (Ctrl-C) while a Kairos job runs: the job is finished before the process exits.
    let mut server = start(&dir);
    let kairos = kairos_keys(&a);
    let (st, job) = server.form(
        "/v0.2/full-id-verification",
        &kairos,
        &[("selfie", file(SELFIE)), ("document", file(DOC))],
    );
    assert_eq!(st, 200, "{job}");
    std::thread::sleep(Duration::from_millis(100)); // the worker has taken it
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    exits_cleanly(&mut server);
    // Restarted, the very first poll has the result: it was finished before the exit, not
    // re-run now (a verification takes several hundred ms).
    let server = start(&dir);
    let id = job["api_req_uid"].as_str().unwrap();
    let (st, polled) = server.get(&format!("/v0.2/full-id-verification/{id}"), &kairos);
    assert_eq!(st, 200);
    assert_eq!(polled["response_code"], 1, "{polled}");
}

/// Waits up to 40 s for the server to exit by itself; asserts exit code 0.
fn exits_cleanly(server: &mut Server) {
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(st) = server.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "still running after the signal");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn requests_over_the_tenant_rate_limit_are_refused() {
    let dir = std::env::temp_dir().join(format!("idv-rate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let server = start_with(&dir, &["--rate-limit", "1"]);
    let kairos = kairos_keys(&a);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (st, j, h) = server.send("GET", "/v0.2/full-id-verification/x", &kairos, None, None);
        // Kairos's seed: usage limits are 403.
        if st == 403 {
            assert_eq!(j["code"], "RATE_LIMITED");
            assert_eq!(h["retry-after"], "1");
        }
        statuses.push(st);
    }
    assert_eq!(statuses[0], 404, "{statuses:?}");
    assert!(statuses.contains(&403), "{statuses:?}");
}

#[test]
fn tenants_and_reviewers_created_while_serving_sign_in_at_once() {
    let dir = std::env::temp_dir().join(format!("idv-admin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let server = start(&dir);
    // The server holds the database: the commands go through its admin API.
    let a = tenant(&dir, "Acme Bank");
    let (st, j) = server.get(
        "/v0.2/full-id-verification/00000000-0000-4000-8000-000000000000",
        &kairos_keys(&a),
    );
    assert_eq!(
        st, 404,
        "Kairos keys accepted at once: unknown job, not 401 ({j})"
    );
    server.link_bearer(&a);
    let out = idv()
        .args(["reviewer", "create", "alice", "--tenant"])
        .arg(a["tenant"].as_str().unwrap())
        .arg("--data")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let login = || {
        let body = json!({"user": r["user"], "password": r["password"]});
        let (st, _, h) = server.post_json("/review/login", &[], &body);
        let cookie = h
            .get("set-cookie")
            .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string());
        (st, cookie)
    };
    let (st, cookie) = login();
    assert_eq!(st, 200, "the new reviewer signs in");
    let cookie = cookie.unwrap();
    assert_eq!(
        server.get("/review/api/cases", &[("cookie", &cookie)]).0,
        200
    );
    let cli = |args: &[&str]| idv_json(&dir, args);
    let listed = cli(&[
        "reviewer",
        "list",
        "--tenant",
        a["tenant"].as_str().unwrap(),
    ]);
    assert_eq!(
        listed["reviewers"],
        json!([{"user": r["user"], "disabled": false}])
    );
    // Disabled: the open session and a new sign-in are refused at once.
    cli(&["reviewer", "disable", r["user"].as_str().unwrap()]);
    assert_eq!(
        server.get("/review/api/cases", &[("cookie", &cookie)]).0,
        401
    );
    assert_eq!(login().0, 401);
    let out = idv()
        .args(["tenant", "list", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["tenants"][0]["name"], "Acme Bank", "{list}");
    assert!(!list.to_string().contains(a["app_key"].as_str().unwrap()));
    // Rotation: new secrets under the same ids; the old ones stop at once.
    let out = idv()
        .args(["tenant", "rotate", a["tenant"].as_str().unwrap(), "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotated["app_id"], a["app_id"]);
    assert_ne!(rotated["app_key"], a["app_key"]);
    let job = "/v0.2/full-id-verification/00000000-0000-4000-8000-000000000000";
    assert_eq!(server.get(job, &kairos_keys(&a)).0, 401, "the old key");
    assert_eq!(
        server.get(job, &kairos_keys(&rotated)).0,
        404,
        "the new key"
    );
    let (st, j) = server.json(
        "/auth/token",
        &[],
        json!({"user": a["link_user"], "password": a["link_password"]}),
    );
    assert_eq!(st, 401, "{j}");
    server.link_bearer(&rotated);
    let (st, trail) = server.get(
        "/v1/audit",
        &[("x-api-key", rotated["api_key"].as_str().unwrap())],
    );
    assert_eq!(st, 200, "{trail}");
    assert!(trail.to_string().contains("credentials.rotate"), "{trail}");
    // The admin API wants its own token; a tenant's credentials are not it.
    let body = json!({"name": "intruder"});
    assert_eq!(server.json("/admin/v1/tenants", &[], body.clone()).0, 401);
    let api_key = format!("Bearer {}", a["api_key"].as_str().unwrap());
    let (st, j) = server.json("/admin/v1/tenants", &[("authorization", &api_key)], body);
    assert_eq!((st, &j["code"]), (401, &json!("UNAUTHORIZED")));
    let token = idv()
        .args(["admin", "token", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    let admin = format!("Bearer {}", String::from_utf8_lossy(&token.stdout).trim());
    let (st, j) = server.json(
        "/admin/v1/tenants",
        &[("authorization", &admin)],
        json!({"name": ""}),
    );
    assert_eq!((st, &j["code"]), (400, &json!("INVALID_FIELD")));
    let (st, j) = server.json(
        "/admin/v1/reviewers",
        &[("authorization", &admin)],
        json!({"tenant": "t_unknown", "name": "bob"}),
    );
    assert_eq!((st, &j["code"]), (404, &json!("NOT_FOUND")));
}

/// Every file under `dir` holding `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if std::fs::read(&p)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                found.push(p);
            }
        }
    }
    found
}

#[test]
fn a_deleted_verification_leaves_no_image_or_personal_data_behind() {
    let dir = std::env::temp_dir().join(format!("idv-erase-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let (url, _calls) = receiver();
    let server = start_with(&dir, &["--allow-private-callbacks"]);
    let kairos = kairos_keys(&a);
    let (st, j) = server.form(
        "/v0.2/full-id-verification",
        &kairos,
        &[("selfie", file(SELFIE)), ("document", file(DOC))],
    );
    assert_eq!(st, 200, "{j}");
    let uid = j["api_req_uid"].as_str().unwrap().to_string();
    let done = server.poll(&format!("/v0.2/full-id-verification/{uid}"), &kairos);
    let number = done["response_data"]["document"]["data"]["document_number"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(number.len() >= 6, "{done}");
    let bearer = server.link_bearer(&a);
    let link = [("authorization", bearer.as_str())];
    server.certified(&link, "erase-1", &url);
    // Before: the data directory holds the images and the document number.
    let (doc, selfie) = (read(DOC), read(SELFIE));
    let (doc_part, selfie_part) = (
        &doc[doc.len() / 2..][..64],
        &selfie[selfie.len() / 2..][..64],
    );
    assert!(!files_holding(&dir, doc_part).is_empty());
    assert!(!files_holding(&dir, number.as_bytes()).is_empty());

    // Erased by id, with any of the tenant's credentials: Kairos keys, then a LINK token.
    let path = format!("/v1/verifications/{uid}");
    assert_eq!(server.send("DELETE", &path, &[], None, None).0, 401);
    let other = tenant(&dir, "globex");
    let (st, _, _) = server.send("DELETE", &path, &kairos_keys(&other), None, None);
    assert_eq!(st, 404, "another tenant's id is unknown");
    let (st, tomb, _) = server.send("DELETE", &path, &kairos, None, None);
    assert_eq!(st, 200, "{tomb}");
    assert_eq!(tomb["dialect"], "kairos");
    assert_eq!(tomb["outcome"], "APPROVED", "{tomb}");
    assert_eq!(tomb["inputs"].as_array().unwrap().len(), 2, "{tomb}");
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&doc));
    assert!(
        tomb.to_string().contains(&digest),
        "input hashes kept: {tomb}"
    );
    let (st, again, _) = server.send("DELETE", &path, &kairos, None, None);
    assert_eq!((st, &again), (200, &tomb), "idempotent");
    assert_eq!(
        server
            .get(&format!("/v0.2/full-id-verification/{uid}"), &kairos)
            .0,
        404
    );
    let (st, tomb, _) = server.send("DELETE", "/v1/verifications/erase-1", &link, None, None);
    assert_eq!(st, 200, "{tomb}");
    assert_eq!(tomb["certificate_kept"], true, "{tomb}");
    assert_eq!(server.get("/identity/verify/erase-1", &link).0, 404);
    assert_eq!(
        server.get("/certificate/erase-1", &link).0,
        200,
        "the certificate stays"
    );
    // On request the certificate goes too.
    server.certified(&link, "erase-2", &url);
    let (st, e, _) = server.send(
        "DELETE",
        "/v1/verifications/erase-2?certificate=shred",
        &link,
        None,
        None,
    );
    assert_eq!((st, &e["code"]), (400, &json!("INVALID_FIELD")), "{e}");
    let (st, tomb, _) = server.send(
        "DELETE",
        "/v1/verifications/erase-2?certificate=delete",
        &link,
        None,
        None,
    );
    assert_eq!(
        (st, &tomb["certificate_kept"]),
        (200, &json!(false)),
        "{tomb}"
    );
    assert_eq!(server.get("/certificate/erase-2", &link).0, 404);

    // One-call keeps no result, but its id erases the upload its document came from.
    let api_key = [("x-api-key", a["api_key"].as_str().unwrap())];
    let key = server.upload(&api_key, read(DOC));
    let (st, one) = server.json(
        "/v1/verify-identity",
        &api_key,
        json!({"documentImage": key, "faceImage": std64(SELFIE)}),
    );
    assert_eq!(st, 200, "{one}");
    let vid = one["verificationId"].as_str().unwrap().to_string();
    assert!(
        !files_holding(&dir, doc_part).is_empty(),
        "the upload is kept"
    );
    let path = format!("/v1/verifications/{vid}");
    let (st, tomb, _) = server.send("DELETE", &path, &api_key, None, None);
    assert_eq!((st, &tomb["dialect"]), (200, &json!("onecall")), "{tomb}");
    assert!(
        tomb.to_string().contains(&digest),
        "input hashes kept: {tomb}"
    );
    let (st, again, _) = server.send("DELETE", &path, &api_key, None, None);
    assert_eq!((st, &again), (200, &tomb), "idempotent");

    // After: no file under the data directory holds an image or the document number.
    for (what, needle) in [
        ("document image", doc_part),
        ("selfie image", selfie_part),
        ("document number", number.as_bytes()),
    ] {
        let left = files_holding(&dir, needle);
        assert!(left.is_empty(), "{what} still in {left:?}");
    }
    let (st, trail) = server.get(
        "/v1/audit",
        &[("x-api-key", a["api_key"].as_str().unwrap())],
    );
    assert_eq!(st, 200);
    let deletions = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "verification.delete")
        .count();
    assert_eq!(deletions, 4, "{trail}");
}

#[test]
fn a_disabled_tenant_is_refused_and_a_deleted_one_leaves_nothing() {
    let dir = std::env::temp_dir().join(format!("idv-tenant-life-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let b = tenant(&dir, "globex");
    let id = a["tenant"].as_str().unwrap();
    let r = idv_json(&dir, &["reviewer", "create", "alice", "--tenant", id]);
    let server = start(&dir);
    let kairos = kairos_keys(&a);
    let (st, j) = server.form(
        "/v0.2/full-id-verification",
        &kairos,
        &[("selfie", file(SELFIE)), ("document", file(DOC))],
    );
    assert_eq!(st, 200, "{j}");
    let uid = j["api_req_uid"].as_str().unwrap().to_string();
    let job = format!("/v0.2/full-id-verification/{uid}");
    server.poll(&job, &kairos);
    let bearer = server.link_bearer(&a);
    let body = json!({"user": r["user"], "password": r["password"]});
    let login = || server.post_json("/review/login", &[], &body);
    let (st, _, h) = login();
    assert_eq!(st, 200);
    let cookie = h["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let doc = read(DOC);
    let doc_part = &doc[doc.len() / 2..][..64];
    assert!(!files_holding(&dir, doc_part).is_empty());

    // Disabled: every credential, a token issued before and an open session are refused.
    let shown = idv_json(&dir, &["tenant", "disable", id]);
    assert_eq!(shown["disabled"], true, "{shown}");
    let disabled = |(st, j): (u16, Value)| {
        assert_eq!((st, &j["code"]), (403, &json!("TENANT_DISABLED")), "{j}");
    };
    disabled(server.get(&job, &kairos));
    disabled(server.get(
        "/v1/audit",
        &[("x-api-key", a["api_key"].as_str().unwrap())],
    ));
    let (st, j) = server.get("/certificate/none", &[("authorization", &bearer)]);
    assert_eq!(st, 403, "a LINK token issued before: {j}");
    let (st, j) = server.json(
        "/auth/token",
        &[],
        json!({"user": a["link_user"], "password": a["link_password"]}),
    );
    assert_eq!(st, 403, "{j}");
    disabled(server.get("/review/api/cases", &[("cookie", &cookie)]));
    assert_eq!(login().0, 403);
    let other = server.get(&job, &kairos_keys(&b));
    assert_eq!(other.0, 404, "another tenant is unaffected: {}", other.1);
    // An enabled tenant is not deleted; enabled again, it works again.
    let out = idv()
        .args(["tenant", "delete", id, "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success(), "--yes is required");
    idv_json(&dir, &["tenant", "enable", id]);
    assert_eq!(server.get(&job, &kairos).0, 200);
    let out = idv()
        .args(["tenant", "delete", id, "--yes", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TENANT_ACTIVE"));

    idv_json(&dir, &["tenant", "disable", id]);
    let deleted = idv_json(&dir, &["tenant", "delete", id, "--yes"]);
    assert!(deleted["blobs"].as_u64().unwrap() >= 2, "{deleted}");
    assert!(deleted["records"].as_u64().unwrap() >= 5, "{deleted}");
    assert_eq!(server.get(&job, &kairos).0, 401, "its credentials are gone");
    let listed = idv_json(&dir, &["tenant", "list"]);
    assert_eq!(listed["tenants"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["tenants"][0]["tenant"], b["tenant"]);
    let left = files_holding(&dir, doc_part);
    assert!(left.is_empty(), "the document image is still in {left:?}");
    // Nothing names it any more but the operator's record of the deletion (below).
    for gone in [
        a["link_user"].as_str().unwrap(),
        a["app_id"].as_str().unwrap(),
    ] {
        let left = files_holding(&dir, gone.as_bytes());
        assert!(left.is_empty(), "{gone} is still in {left:?}");
    }
    // The deletion is in the operator's trail (the tenant's went with it), which verifies.
    let token = idv()
        .args(["admin", "token", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    let admin = format!("Bearer {}", String::from_utf8_lossy(&token.stdout).trim());
    let (st, trail) = server.get("/admin/v1/audit", &[("authorization", &admin)]);
    assert_eq!(st, 200, "{trail}");
    let last = trail["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["action"], &last["target"]),
        (&json!("tenant.delete"), &json!(id))
    );
    let saved = dir
        .parent()
        .unwrap()
        .join(format!("operator-audit-{}.json", std::process::id()));
    let out = audit_verify(&saved, &trail);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `idv audit verify` on `trail` saved as `file`.
fn audit_verify(file: &Path, trail: &Value) -> std::process::Output {
    std::fs::write(file, trail.to_string()).unwrap();
    idv().args(["audit", "verify"]).arg(file).output().unwrap()
}

#[test]
fn retention_purges_images_then_personal_data_and_keeps_decisions() {
    let dir = std::env::temp_dir().join(format!("idv-retention-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let id = a["tenant"].as_str().unwrap();
    let server = start(&dir);
    let cli = |args: &[&str]| idv_json(&dir, args);
    let shown = cli(&["tenant", "show", id]);
    assert_eq!(shown["retention"]["images_days"], 30.0, "defaults: {shown}");
    let set = cli(&[
        "tenant",
        "retention",
        id,
        "--images",
        "1s",
        "--decisions",
        "100d",
    ]);
    assert_eq!(set["retention"]["seconds"]["images_seconds"], 1, "{set}");
    assert_eq!(
        set["retention"]["seconds"]["personal_data_seconds"],
        90 * 86_400,
        "{set}"
    );
    let kairos = kairos_keys(&a);
    let (st, j) = server.form(
        "/v0.2/full-id-verification",
        &kairos,
        &[("selfie", file(SELFIE)), ("document", file(DOC))],
    );
    assert_eq!(st, 200, "{j}");
    let poll = format!(
        "/v0.2/full-id-verification/{}",
        j["api_req_uid"].as_str().unwrap()
    );
    server.poll(&poll, &kairos);
    let doc = read(DOC);
    let doc_part = &doc[doc.len() / 2..][..64];
    assert!(!files_holding(&dir, doc_part).is_empty());
    // A one-call verification whose selfie came from a presigned upload.
    let api_key = [("x-api-key", a["api_key"].as_str().unwrap())];
    let key = server.upload(&api_key, read(SELFIE));
    let (st, one) = server.json(
        "/v1/verify-identity",
        &api_key,
        json!({"documentImage": std64(DOC), "faceImage": key}),
    );
    assert_eq!(st, 200, "{one}");
    let selfie = read(SELFIE);
    let selfie_part = &selfie[selfie.len() / 2..][..64];
    assert!(!files_holding(&dir, selfie_part).is_empty());
    let token = idv()
        .args(["admin", "token", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    let admin = format!("Bearer {}", String::from_utf8_lossy(&token.stdout).trim());
    let sweep = || {
        let (st, r) = server.json("/admin/v1/sweep", &[("authorization", &admin)], json!({}));
        assert_eq!(st, 200, "{r}");
        r
    };
    std::thread::sleep(Duration::from_millis(2100));
    let r = sweep();
    assert_eq!(
        (r["images_purged"].as_u64(), r["erased"].as_u64()),
        (Some(2), Some(0)),
        "{r}"
    );
    assert!(files_holding(&dir, doc_part).is_empty(), "the images went");
    assert!(
        files_holding(&dir, selfie_part).is_empty(),
        "the upload went"
    );
    let kept = server.poll(&poll, &kairos);
    assert_eq!(
        kept["response_data"]["decision"]["reject_score"], 0,
        "the decision stays: {kept}"
    );
    assert_eq!(sweep()["images_purged"], 0, "nothing more to purge");

    // A shorter personal-data period: the verification is erased, its tombstone kept.
    cli(&["tenant", "retention", id, "--personal-data", "1s"]);
    let r = sweep();
    assert_eq!(r["erased"], 2, "{r}");
    assert_eq!(server.get(&poll, &kairos).0, 404);
    let (st, trail) = server.get(
        "/v1/audit",
        &[("x-api-key", a["api_key"].as_str().unwrap())],
    );
    assert_eq!(st, 200);
    for action in ["tenant.retention", "retention.images", "retention.erase"] {
        assert!(
            trail["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == action),
            "{action} not audited: {trail}"
        );
    }
    // Past the decision period the tombstone keeps only the id and its times, even for an
    // approved verification without detail codes.
    cli(&["tenant", "retention", id, "--decisions", "1s"]);
    assert_eq!(sweep()["expired"], 2);
    assert_eq!(sweep()["expired"], 0, "once");
    // Periods that contradict each other are refused, saying why.
    let out = idv()
        .args(["tenant", "retention", id, "--images", "2y", "--data"])
        .arg(&dir)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("INVALID_FIELD"));
}

/// A local HTTP receiver: answers 200 to every request and hands over (headers, body).
fn receiver() -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    let (url, timed) = scripted_receiver(&[]);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (_, head, body) in timed {
            let _ = tx.send((head, body));
        }
    });
    (url, rx)
}

/// A callback receiver on loopback answering its n-th request with `answers[n]` (200 after
/// them); sends (arrival, head, body) of each.
fn scripted_receiver(
    answers: &[u16],
) -> (String, std::sync::mpsc::Receiver<(Instant, String, String)>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/cb", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let answers = answers.to_vec();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut s) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let (head, body) = loop {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break (String::new(), String::new());
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let head = text[..end].to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break (head, text[end + 4..end + 4 + len].to_string());
                    }
                }
            };
            let status = answers.get(n).copied().unwrap_or(200);
            let _ = s.write_all(
                format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            );
            let _ = tx.send((Instant::now(), head, body));
        }
    });
    (url, rx)
}

/// A LINK certificate from `idv serve` started with `extra`; the PDF and the CA (PEM).
fn served_certificate(name: &str, extra: &[&str]) -> (Vec<u8>, String) {
    let dir = std::env::temp_dir().join(format!("idv-pades-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let (url, _calls) = receiver();
    let mut args = vec!["--allow-private-callbacks"];
    args.extend_from_slice(extra);
    let server = start_with(&dir, &args);
    let link = [("authorization", server.link_bearer(&a))];
    let link = [(link[0].0, link[0].1.as_str())];
    let pdf = server.certified(&link, "req-pades", &url);
    let ca = std::fs::read_to_string(dir.join("secrets/certs/ca.pem")).unwrap();
    (pdf, ca)
}

/// The certificates of each `--pades-level`: pdfsig finds the signature valid, the long-term
/// ones carry a DSS (certificates and the CA's CRL, also served at `/ca.crl`) and the
/// archival one a document timestamp. With `IDV_PADES_OUT=DIR` they are written there for
/// pyHanko (`tests/pades.py`, run by `tests/run`).
#[test]
fn certificates_at_every_pades_level() {
    let out = std::env::var_os("IDV_PADES_OUT").map(PathBuf::from);
    for (level, name) in [("b-t", "B-T"), ("b-lt", "B-LT"), ("b-lta", "B-LTA")] {
        let (pdf, ca) = served_certificate(level, &["--pades-level", level]);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/ETSI.CAdES.detached"), "{level}");
        assert_eq!(text.contains("/DSS"), level != "b-t", "{level}");
        assert_eq!(text.contains("/DocTimeStamp"), level == "b-lta", "{level}");
        let file =
            std::env::temp_dir().join(format!("idv-pades-{level}-{}.pdf", std::process::id()));
        std::fs::write(&file, &pdf).unwrap();
        let said = Command::new("pdfsig").arg(&file).output().unwrap();
        let said = String::from_utf8_lossy(&said.stdout);
        assert!(said.contains("Signature is Valid."), "{level}: {said}");
        if let Some(dir) = &out {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(format!("{name}.pdf")), &pdf).unwrap();
            std::fs::write(dir.join(format!("{name}.ca.pem")), &ca).unwrap();
        }
    }
    // The CRL the certificates point at.
    let dir = std::env::temp_dir().join(format!("idv-pades-crl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let server = start(&dir);
    let res = server
        .agent
        .get(format!("{}/ca.crl", server.base))
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/pkix-crl");
    let crl = dir.join("ca.crl");
    let mut res = res;
    std::fs::write(&crl, res.body_mut().read_to_vec().unwrap()).unwrap();
    let ok = Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-verify", "-CAfile"])
        .arg(dir.join("secrets/certs/ca.pem"))
        .arg("-in")
        .arg(&crl)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&ok.stderr).contains("verify OK"),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

/// An RFC 3161 authority over HTTP on loopback that is not idv: `openssl ts -reply` with its
/// own CA, key and configuration under `dir`. Returns its URL and its CA (PEM).
fn external_tsa(dir: &Path) -> (String, String) {
    use std::io::{Read, Write};
    std::fs::create_dir_all(dir).unwrap();
    let pki = idv_certify::generate_dev(None).unwrap();
    std::fs::write(dir.join("tsa.pem"), &pki.tsa_cert).unwrap();
    std::fs::write(dir.join("tsa.key"), &pki.tsa_key).unwrap();
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    let d = dir.display();
    std::fs::write(
        dir.join("tsa.cnf"),
        format!(
            "[ tsa ]\ndefault_tsa = t\n[ t ]\nserial = {d}/serial\nsigner_cert = {d}/tsa.pem\n\
             signer_key = {d}/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\n\
             digests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\n"
        ),
    )
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tsa", listener.local_addr().unwrap());
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break Some(buf[end + 4..end + 4 + len].to_vec());
                }
            };
            let Some(body) = body else { continue };
            std::fs::write(dir.join("q.tsq"), &body).unwrap();
            let ok = Command::new("openssl")
                .args(["ts", "-reply", "-config"])
                .arg(dir.join("tsa.cnf"))
                .arg("-queryfile")
                .arg(dir.join("q.tsq"))
                .arg("-out")
                .arg(dir.join("r.tsr"))
                .output()
                .unwrap()
                .status
                .success();
            let reply = std::fs::read(dir.join("r.tsr")).unwrap_or_default();
            let status = if ok { 200 } else { 500 };
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Type: application/timestamp-reply\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                reply.len()
            );
            let _ = s.write_all(&reply);
        }
    });
    (url, pki.ca_cert)
}

/// The DER of PEM certificate `pem` in uppercase hex, as it appears in a PDF's `/Contents`.
fn cert_hex(pem: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["x509", "-outform", "DER"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(pem.as_bytes())
        .unwrap();
    hex::encode_upper(child.wait_with_output().unwrap().stdout)
}

/// An operator's own signing key (PKCS #12, imported) and an external timestamp authority:
/// the certificate is signed with that key, timestamped by that authority, and valid. With
/// `IDV_PADES_OUT=DIR` it is written there for pyHanko (`BYO.pdf`, both CAs in `BYO.ca.pem`).
#[test]
fn certificates_signed_with_an_imported_key_and_an_external_timestamp() {
    let dir = std::env::temp_dir().join(format!("idv-byo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (tsa_url, tsa_ca) = external_tsa(&dir.join("external-tsa"));
    std::fs::write(dir.join("tsa-ca.pem"), &tsa_ca).unwrap();
    // The operator's PKI: a PKCS #12 file made by openssl.
    let own = idv_certify::generate_dev(None).unwrap();
    for (name, text) in [
        ("own.key", &own.signing_key),
        ("own.pem", &own.signing_cert),
        ("own-ca.pem", &own.ca_cert),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    std::fs::write(dir.join("p12-password"), "correct horse\n").unwrap();
    let made = Command::new("openssl")
        .current_dir(&dir)
        .args([
            "pkcs12",
            "-export",
            "-inkey",
            "own.key",
            "-in",
            "own.pem",
            "-certfile",
            "own-ca.pem",
            "-passout",
            "file:p12-password",
            "-out",
            "own.p12",
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let data = dir.join("data");
    let a = tenant(&data, "acme");
    let wrong = idv()
        .args(["certs", "import", "--p12"])
        .arg(dir.join("own.p12"))
        .arg("--data")
        .arg(&data)
        .env("IDV_P12_PASSWORD", "wrong")
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("password"));
    let p12 = dir.join("own.p12");
    let pw = dir.join("p12-password");
    let imported = idv_json(
        &data,
        &[
            "certs",
            "import",
            "--p12",
            p12.to_str().unwrap(),
            "--password-file",
            pw.to_str().unwrap(),
        ],
    );
    assert!(
        imported["subject"]
            .as_str()
            .unwrap()
            .contains("CN=idv certificate signing")
    );

    let (url, _calls) = receiver();
    let tsa_ca_file = dir.join("tsa-ca.pem");
    let server = start_with(
        &data,
        &[
            "--allow-private-callbacks",
            "--tsa-url",
            &tsa_url,
            "--tsa-ca",
            tsa_ca_file.to_str().unwrap(),
        ],
    );
    let bearer = server.link_bearer(&a);
    let link = [("authorization", bearer.as_str())];
    let pdf = server.certified(&link, "req-byo", &url);
    let text = String::from_utf8_lossy(&pdf);
    // Signed with the imported key's certificate, timestamped by the external authority (its
    // certificate is in the token), not by idv's own.
    assert!(
        text.contains(&cert_hex(&own.signing_cert)),
        "the imported certificate"
    );
    let external = std::fs::read_to_string(dir.join("external-tsa/tsa.pem")).unwrap();
    assert!(
        text.contains(&cert_hex(&external)),
        "the external authority"
    );
    let own_tsa = std::fs::read_to_string(data.join("secrets/certs/tsa.pem")).unwrap();
    assert!(!text.contains(&cert_hex(&own_tsa)), "not idv's authority");
    let file = dir.join("byo.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let said = Command::new("pdfsig").arg(&file).output().unwrap();
    let said = String::from_utf8_lossy(&said.stdout);
    assert!(said.contains("Signature is Valid."), "{said}");
    if let Some(out) = std::env::var_os("IDV_PADES_OUT").map(PathBuf::from) {
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("BYO.pdf"), &pdf).unwrap();
        std::fs::write(out.join("BYO.ca.pem"), format!("{}{tsa_ca}", own.ca_cert)).unwrap();
    }
}

/// With `IDV_DOCS_OUT=DIR`, keeps `pdf` there as `name` (the README's certificate pages are
/// rendered from these).
fn docs_out(name: &str, pdf: &[u8]) {
    if let Some(dir) = std::env::var_os("IDV_DOCS_OUT").map(PathBuf::from) {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), pdf).unwrap();
    }
}

/// An approved and a rejected certificate: the customer's name (not the tenant id), the
/// operator, the requested issuing country and whether it matched, the scores with what they
/// mean, the reject codes, and on every page the request id.
#[test]
fn certificates_name_operator_customer_and_what_the_scores_mean() {
    let dir = std::env::temp_dir().join(format!("idv-cert-pages-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "Acme Bank");
    let (url, _calls) = receiver();
    let server = start_with(
        &dir,
        &[
            "--allow-private-callbacks",
            "--operator-name",
            "Example Identity Services Ltd",
            "--operator-contact",
            "compliance@example.org",
        ],
    );
    let bearer = server.link_bearer(&a);
    let link = [("authorization", bearer.as_str())];
    for (id, doc, selfie, country) in [
        ("req-approved", DOC, SELFIE, "KE"),
        ("req-rejected", SPECIMEN, OTHER, "FR"),
    ] {
        let (st, v) = server.json(
            "/identity/verify",
            &link,
            json!({"id": id, "images": [{"content": std64(doc), "faceImage": std64(selfie)}],
                "expeditorCountry": country, "certify": true, "certifyCallback": url}),
        );
        assert_eq!(st, 200, "{v}");
    }
    let fetch = |id: &str| server.certificate(id, &link);
    for (id, decision, expected) in [
        ("req-approved", "APPROVED", "KE: the document names it"),
        (
            "req-rejected",
            "REJECTED",
            "FR: the document names another country",
        ),
    ] {
        let pdf = fetch(id);
        docs_out(&format!("{}.pdf", decision.to_lowercase()), &pdf);
        let file = dir.join(format!("{id}.pdf"));
        std::fs::write(&file, &pdf).unwrap();
        let out = Command::new("pdftotext")
            .arg(&file)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for needle in [
            &format!("Decision: {decision}"),
            "Issued by Example Identity Services Ltd — compliance@example.org",
            "For Acme Bank",
            expected,
            "How alike the selfie and the document portrait are",
            "rather than a photo, a print or a screen",
            "Digitally signed by idv certificate signing",
            &format!("Request {id}"),
        ] {
            assert!(flat.contains(needle), "{id}: {needle:?} not in {flat}");
        }
        assert!(
            !flat.contains(a["tenant"].as_str().unwrap()),
            "the tenant id is not shown"
        );
        if decision == "REJECTED" {
            assert!(flat.contains("FAILED_FACE_MATCH"), "{flat}");
        }
        let said = Command::new("pdfsig").arg(&file).output().unwrap();
        assert!(String::from_utf8_lossy(&said.stdout).contains("Signature is Valid."));
    }
}

#[test]
fn certify_signs_stores_and_calls_back() {
    let dir = std::env::temp_dir().join(format!("idv-cert-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (url, calls) = receiver();
    let a = tenant(&dir, "acme");
    // globex has a default callback URL: used when a request names none.
    let out = idv()
        .args([
            "tenant",
            "create",
            "globex",
            "--callback-url",
            &url,
            "--data",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    let b: Value = serde_json::from_slice(&out.stdout).unwrap();
    let server = start_with(&dir, &["--allow-private-callbacks"]);
    let (bearer, bearer_b) = (server.link_bearer(&a), server.link_bearer(&b));
    let (st, v) = server.json(
        "/identity/verify",
        &[("authorization", &bearer)],
        json!({"id": "req-cert", "images": [{"content": std64(DOC), "faceImage": std64(SELFIE)}],
            "certify": true, "certifyCallback": url}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["certification"], json!({"status": "Processing"}));
    let (head, body) = calls
        .recv_timeout(Duration::from_secs(90))
        .expect("Certification callback");
    assert!(
        head.to_ascii_lowercase().contains("x-idv-event-id"),
        "{head}"
    );
    let cb: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(cb["id"], "req-cert");
    assert_eq!(cb["service"], "Certification");
    assert_eq!(cb["status"], "Completed");
    let file_url = cb["data"]["urlCertificateFile"].as_str().unwrap();
    assert!(file_url.ends_with("/certificate/req-cert"), "{file_url}");

    let path = file_url.strip_prefix(&server.base).unwrap();
    let (st, cert) = server.get(path, &[("authorization", &bearer)]);
    assert_eq!(st, 200, "{cert}");
    assert_eq!(cert["id"], "req-cert");
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(cert["content"].as_str().unwrap())
        .unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    assert_eq!(server.get(path, &[("authorization", &bearer_b)]).0, 404);
    let file = dir.join("req-cert.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let out = Command::new("pdfsig")
        .arg(&file)
        .output()
        .expect("pdfsig (poppler-utils)");
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.contains("Signature is Valid."), "{out}");
    let text = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("req-cert") && text.contains("APPROVED"),
        "{text}"
    );
    assert!(
        text.contains("CZT****41") && !text.contains("CZT55MY41"),
        "{text}"
    );
    // The models section lists what the verifying process loaded (its models directory).
    assert!(
        text.contains("ppocr_rec.onnx") && text.contains("rapidocr 3.10.0"),
        "{text}"
    );

    // A Kairos job's callback_url gets the finished result, as a poll would.
    let kairos = kairos_keys(&a);
    let (st, j) = server.form(
        "/v0.2/full-id-verification",
        &kairos,
        &[
            ("selfie", self::file(SELFIE)),
            ("document", self::file(DOC)),
            ("callback_url", Part::Text(url.clone())),
        ],
    );
    assert_eq!(st, 200, "{j}");
    let (_, body) = calls
        .recv_timeout(Duration::from_secs(120))
        .expect("Kairos callback");
    let done: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(done["api_req_uid"], j["api_req_uid"], "{done}");
    assert_eq!(done["response_code"], 1);
    let polled = server.poll(
        &format!(
            "/v0.2/full-id-verification/{}",
            j["api_req_uid"].as_str().unwrap()
        ),
        &kairos,
    );
    assert_eq!(polled, done, "the callback carries what a poll returns");
}

/// The README's recipe: HMAC-SHA256 over `"{t}.{body}"` with the webhook secret, compared
/// with each `v1` of `X-Idv-Signature: t=…,v1=…`.
fn signature_ok(secret: &str, header: &str, body: &str) -> bool {
    use hmac::{Hmac, Mac};
    let t = header
        .split(',')
        .find_map(|p| p.strip_prefix("t="))
        .unwrap_or_default();
    header
        .split(',')
        .filter_map(|p| p.strip_prefix("v1="))
        .any(|v1| {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(format!("{t}.{body}").as_bytes());
            let hex: String = mac
                .finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            hex == v1
        })
}

fn header_value(head: &str, name: &str) -> String {
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
        .unwrap_or_default()
}

#[test]
fn a_damaged_or_busy_database_is_named_as_such() {
    let dir = std::env::temp_dir().join(format!("idv-damaged-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    tenant(&dir, "acme");
    let check = || {
        idv()
            .args(["store", "check", "--data"])
            .arg(&dir)
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap()
    };
    let ok = check();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let report: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(report["intact"], true);
    assert_eq!(report["tables"]["tenants"]["count"], 1);

    // Another process holds the database and gives no admin address (a server file lost):
    // said so.
    let server = start(&dir);
    std::fs::remove_file(dir.join("server.json")).unwrap();
    let busy = idv()
        .args(["tenant", "create", "other", "--data"])
        .arg(&dir)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(!busy.status.success());
    let msg = String::from_utf8_lossy(&busy.stderr);
    assert!(msg.contains("in use by another idv process"), "{msg}");
    drop(server);

    // One flipped bit inside a record: the check finds it (page checksums) and fails.
    let db = dir.join("idv.redb");
    let mut bytes = std::fs::read(&db).unwrap();
    let at = bytes
        .windows(15)
        .position(|w| w == b"webhook_secrets")
        .unwrap();
    bytes[at + 3] ^= 0x04;
    std::fs::write(&db, &bytes).unwrap();
    let damaged = check();
    assert!(!damaged.status.success());
    let report: Value = serde_json::from_slice(&damaged.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&damaged.stderr)));
    assert_eq!(report["intact"], false, "{report}");

    // A flipped bit in the file's header: the server refuses to start and says the file is
    // damaged, not that another process has it.
    bytes[64] ^= 0x04;
    std::fs::write(&db, &bytes).unwrap();
    let out = idv()
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(&dir)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(
        msg.contains("is damaged") && msg.contains("idv store check"),
        "{msg}"
    );
    assert!(!msg.contains("another"), "{msg}");
}

/// Unmounts the test's tmpfs when the test ends, pass or fail.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A full disk, then room again, twice: a 96 MB tmpfs (when this process may mount one: root
/// with CAP_SYS_ADMIN) filled to the last byte, then emptied; and a file-size limit set on the
/// running server (`prlimit --fsize`), which fails its database writes too (EFBIG), then
/// lifted. Each time: 507 STORAGE_FULL, not ready, then ready again without a restart.
#[test]
fn a_full_disk_fails_cleanly_and_the_service_recovers() {
    let root = std::env::temp_dir().join(format!("idv-full-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=96m", "idv-test"])
        .arg(&root)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let _unmount = mounted.then(|| Mounted(root.clone()));
    let data = root.join("data");
    let a = tenant(&data, "acme");
    let kairos = kairos_keys(&a);
    let server = start(&data);
    let pid = server.child.id().to_string();
    let submit = || {
        server.send_form(
            "/v0.2/full-id-verification",
            &kairos,
            &[("selfie", file(SELFIE)), ("document", file(DOC))],
        )
    };
    let (st, before, _) = submit();
    assert_eq!(st, 200, "{before}");
    let filler = root.join("filler");
    // A full tmpfs where this process may mount one; a file-size limit everywhere. The first
    // fails the blob writes (ENOSPC), the second the database's too (EFBIG).
    let faults: &[&str] = if mounted {
        &["a full tmpfs", "a file-size limit (prlimit)"]
    } else {
        &["a file-size limit (prlimit)"]
    };
    let fault = |name: &str, on: bool| {
        if name.contains("tmpfs") && on {
            use std::io::Write;
            let mut f = std::fs::File::create(&filler).unwrap();
            let chunk = vec![0u8; 1 << 20];
            while f.write_all(&chunk).is_ok() {}
            while f.write_all(&chunk[..4096]).is_ok() {}
        } else if name.contains("tmpfs") {
            std::fs::remove_file(&filler).unwrap();
        } else {
            let limit = if on {
                "--fsize=4096:unlimited"
            } else {
                "--fsize=unlimited:unlimited"
            };
            let ok = Command::new("prlimit")
                .args(["--pid", &pid, limit])
                .status()
                .unwrap();
            assert!(ok.success(), "prlimit");
        }
    };
    for name in faults {
        fault(name, true);
        let (st, err, headers) = submit();
        assert_eq!(st, 507, "{name}: {err}");
        assert_eq!(err["code"], "STORAGE_FULL");
        assert!(headers.contains_key("retry-after"));
        let (st, ready) = server.get("/ready", &[]);
        assert_eq!(st, 503, "{name}: {ready}");
        assert_eq!(ready["status"], "not_ready");
        println!("{name}: {ready}");
        assert_eq!(server.get("/health", &[]).0, 200);
        // Room again: the same process recovers by itself.
        fault(name, false);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (st, ready) = server.get("/ready", &[]);
            if st == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name}: not ready again: {ready}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let (st, after, _) = submit();
    assert_eq!(st, 200, "{after}");
    for job in [&before, &after] {
        let id = job["api_req_uid"].as_str().unwrap();
        let done = server.poll(&format!("/v0.2/full-id-verification/{id}"), &kairos);
        assert_eq!(done["response_code"], 1);
    }
    // Nothing half-written: no temporary file left among the blobs.
    let mut stack = vec![data.join("blobs")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = e.path();
            assert!(
                !path.to_string_lossy().contains(".tmp-"),
                "left behind: {}",
                path.display()
            );
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    drop(server);
}

#[test]
fn a_retry_keeps_its_time_across_a_crash() {
    let dir = std::env::temp_dir().join(format!("idv-retry-time-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let onecall = [("x-api-key", a["api_key"].as_str().unwrap())];
    // The first attempt fails (503); the schedule puts the next one 10 s (±10 %) later.
    let (url, calls) = scripted_receiver(&[503]);
    let args = ["--allow-private-callbacks", "--callback-schedule", "10,10"];
    let server = start_with(&dir, &args);
    let (st, _, head) = server.post_json(
        "/v1/verify-identity",
        &onecall,
        &json!({"documentImage": std64(DOC), "faceImage": std64(SELFIE), "callbackUrl": url}),
    );
    assert_eq!(st, 200);
    let event = head["x-idv-event-id"].to_str().unwrap().to_string();
    let (first, _, _) = calls
        .recv_timeout(Duration::from_secs(30))
        .expect("first attempt");
    // The record says when the next attempt is due.
    let due = loop {
        let (_, log) = server.get(&format!("/v1/callbacks/{event}"), &onecall);
        if log["status"] == "retrying" {
            assert!(log["next_attempt_at"].is_string(), "{log}");
            break log["next_attempt_ms"].as_u64().unwrap();
        }
        assert!(first.elapsed() < Duration::from_secs(5), "{log}");
        std::thread::sleep(Duration::from_millis(50));
    };
    // Crash (SIGKILL) and restart at once: the message is back on the queue, its time kept.
    drop(server);
    let server = start_with(&dir, &args);
    let (second, head2, _) = calls
        .recv_timeout(Duration::from_secs(40))
        .expect("the retry after the restart");
    let waited = second - first;
    assert!(
        waited >= Duration::from_millis(8_900),
        "retried {waited:?} after the failure: early"
    );
    assert!(waited < Duration::from_secs(20), "retried late: {waited:?}");
    assert_eq!(header_value(&head2, "x-idv-event-id"), event);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(now_ms + 1000 >= due, "delivered before the stored time");
    let (_, log) = server.get(&format!("/v1/callbacks/{event}"), &onecall);
    assert_eq!(log["status"], "delivered", "{log}");
    assert_eq!(log["attempts"].as_array().unwrap().len(), 2, "{log}");
    assert!(
        calls.recv_timeout(Duration::from_secs(2)).is_err(),
        "delivered twice"
    );
}

#[test]
fn a_receiver_that_hangs_does_not_delay_other_tenants() {
    let dir = std::env::temp_dir().join(format!("idv-fair-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let slow = tenant(&dir, "slow");
    let fast = tenant(&dir, "fast");
    // Accepts connections and never answers.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_url = format!("http://{}/cb", hung.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in hung.incoming().flatten() {
            held.push(s);
        }
    });
    let (url, calls) = receiver();
    let server = start_with(&dir, &["--allow-private-callbacks"]);
    let verify = |key: &str, url: &str| {
        let (st, _, head) = server.post_json(
            "/v1/verify-identity",
            &[("x-api-key", key)],
            &json!({"documentImage": std64(DOC), "faceImage": std64(SELFIE), "callbackUrl": url}),
        );
        assert_eq!(st, 200);
        head["x-idv-event-id"].to_str().unwrap().to_string()
    };
    for _ in 0..6 {
        verify(slow["api_key"].as_str().unwrap(), &hung_url);
    }
    let event = verify(fast["api_key"].as_str().unwrap(), &url);
    let queued = Instant::now();
    let (head, _) = calls
        .recv_timeout(Duration::from_secs(30))
        .expect("the other tenant's callback");
    assert_eq!(header_value(&head, "x-idv-event-id"), event);
    // Six attempts of 5 s each at the hung receiver stand before it in the queue.
    assert!(
        queued.elapsed() < Duration::from_secs(3),
        "delayed {:?} by another tenant's receiver",
        queued.elapsed()
    );
}

#[test]
fn callbacks_survive_a_down_receiver_and_a_crash_signed_and_logged() {
    let dir = std::env::temp_dir().join(format!("idv-hooks-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // A port with nothing listening yet: the receiver is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let a = tenant(&dir, "acme");
    let args = [
        "--allow-private-callbacks",
        "--callback-schedule",
        "1,1,1,1,1,1,1,1,1,1",
    ];
    let server = start_with(&dir, &args);
    let onecall = [("x-api-key", a["api_key"].as_str().unwrap())];
    let (st, one) = server.form(
        "/v1/verify-identity",
        &onecall,
        &[
            ("documentImage", file(DOC)),
            ("faceImage", file(SELFIE)),
            ("callbackUrl", Part::Text(url.clone())),
        ],
    );
    assert_eq!(st, 200, "{one}");
    // Let a couple of attempts fail, then kill the process mid-schedule.
    std::thread::sleep(Duration::from_millis(2500));
    drop(server);
    let server = start_with(&dir, &args);
    // The receiver comes up on the same port.
    let (tx, calls) = std::sync::mpsc::channel();
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 65536];
            loop {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len: usize = header_value(&text[..end], "content-length")
                        .parse()
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        let _ = s.write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        );
                        let _ = tx.send((
                            text[..end].to_string(),
                            text[end + 4..end + 4 + len].to_string(),
                        ));
                        break;
                    }
                }
            }
        }
    });
    let (head, body) = calls
        .recv_timeout(Duration::from_secs(60))
        .expect("callback after the restart");
    let got: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(got["verified"], one["verified"]);
    let secret = a["webhook_secret"].as_str().unwrap();
    let sig = header_value(&head, "x-idv-signature");
    assert!(signature_ok(secret, &sig, &body), "{sig}");
    assert!(!signature_ok("whsec_wrong", &sig, &body));
    let event = header_value(&head, "x-idv-event-id");
    assert!(event.starts_with("evt_"));
    // Delivered once: no second delivery of the same event.
    if let Ok((h2, _)) = calls.recv_timeout(Duration::from_secs(3)) {
        assert_ne!(
            header_value(&h2, "x-idv-event-id"),
            event,
            "delivered twice"
        );
    }
    let (st, log) = server.get(&format!("/v1/callbacks/{event}"), &onecall);
    assert_eq!(st, 200, "{log}");
    assert_eq!(log["status"], "delivered");
    let attempts = log["attempts"].as_array().unwrap();
    assert!(attempts.len() >= 2, "{log}");
    assert!(attempts[0]["error"].is_string(), "{log}");
    assert_eq!(attempts.last().unwrap()["status_code"], 200);
    assert!(
        attempts
            .iter()
            .all(|a| a["latency_ms"].is_number() && a["at"].is_string())
    );

    // Rotation: both secrets sign until the previous one is dropped.
    let (st, rot) = server.json("/v1/webhook-secrets/rotate", &onecall, json!({}));
    assert_eq!(st, 200, "{rot}");
    let new_secret = rot["webhook_secret"].as_str().unwrap().to_string();
    let (st, _) = server.form(
        "/v1/verify-identity",
        &onecall,
        &[
            ("documentImage", file(DOC)),
            ("faceImage", file(SELFIE)),
            ("callbackUrl", Part::Text(url.clone())),
        ],
    );
    assert_eq!(st, 200);
    let (head, body) = calls
        .recv_timeout(Duration::from_secs(60))
        .expect("callback after rotation");
    let sig = header_value(&head, "x-idv-signature");
    assert!(
        signature_ok(secret, &sig, &body) && signature_ok(&new_secret, &sig, &body),
        "{sig}"
    );
}

#[test]
fn private_callback_targets_are_refused() {
    let dir = std::env::temp_dir().join(format!("idv-ssrf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let server = start(&dir);
    let onecall = [("x-api-key", a["api_key"].as_str().unwrap())];
    for target in [
        "https://169.254.169.254/latest/meta-data",
        "https://127.0.0.1/cb",
        "https://10.0.0.7/cb",
        "http://example.org/cb",
    ] {
        let (st, j) = server.form(
            "/v1/verify-identity",
            &onecall,
            &[
                ("documentImage", file(DOC)),
                ("faceImage", file(SELFIE)),
                ("callbackUrl", Part::Text(target.into())),
            ],
        );
        assert_eq!(
            (st, j["code"].as_str()),
            (400, Some("INVALID_CALLBACK_URL")),
            "{target}: {j}"
        );
    }
}

#[test]
fn manual_review_claims_decides_and_calls_back() {
    let dir = std::env::temp_dir().join(format!("idv-review-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (url, calls) = receiver();
    let a = tenant(&dir, "acme");
    let b = tenant(&dir, "globex");
    let reviewer = |t: &Value, name: &str| -> Value {
        let out = idv()
            .args([
                "reviewer",
                "create",
                name,
                "--tenant",
                t["tenant"].as_str().unwrap(),
                "--data",
            ])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let (r1, r2, rb) = (
        reviewer(&a, "alice"),
        reviewer(&a, "bob"),
        reviewer(&b, "eve"),
    );
    let server = start_with(&dir, &["--allow-private-callbacks"]);
    let cookie = |r: &Value| -> String {
        let (st, _, h) = server.post_json(
            "/review/login",
            &[],
            &json!({"user": r["user"], "password": r["password"]}),
        );
        assert_eq!(st, 200);
        let set = h["set-cookie"].to_str().unwrap().to_string();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        set.split(';').next().unwrap().to_string()
    };
    let (c1, c2, cb_) = (cookie(&r1), cookie(&r2), cookie(&rb));
    let (st, _, _) = server.post_json(
        "/review/login",
        &[],
        &json!({"user": r1["user"], "password": "nope"}),
    );
    assert_eq!(st, 401);

    let bearer = server.link_bearer(&a);
    let (st, v) = server.json(
        "/identity/verify",
        &[("authorization", &bearer)],
        json!({"id": "case-9", "images": [{"content": std64(DOC), "faceImage": std64(SELFIE)}],
            "manualVerification": true, "manualVerificationCallback": url,
            "certify": true, "certifyCallback": url}),
    );
    assert_eq!(st, 200, "{v}");
    let (st, q) = server.get("/review/api/cases", &[("cookie", &c1)]);
    assert_eq!(st, 200);
    assert_eq!(q["cases"][0]["id"], "case-9", "{q}");
    assert_eq!(server.get("/review/api/cases", &[]).0, 401);
    assert_eq!(
        server
            .get("/review/api/cases/case-9", &[("cookie", &cb_)])
            .0,
        404,
        "another tenant's reviewer"
    );

    // Claims are leases: one reviewer at a time.
    let post = |path: &str, c: &str, body: Value| server.json(path, &[("cookie", c)], body);
    assert_eq!(
        post("/review/api/cases/case-9/claim", &c1, json!({})).0,
        200
    );
    let (st, j) = post("/review/api/cases/case-9/claim", &c2, json!({}));
    assert_eq!((st, j["code"].as_str()), (409, Some("CASE_CLAIMED")));
    // The automatic result is APPROVED; the reviewer finds a forged photo zone.
    let decision = json!({
        "acceptance": {"result": "ACCEPTED"},
        "authenticity": {"result": "NOT_AUTHENTIC", "reasons": ["EVIDENCE_OF_FORGERY_PHOTO_ZONE"]},
        "originality": {"result": "ORIGINAL"}, "validity": {"result": "VALID"},
        "faceAcceptance": {"result": "ACCEPTED"},
        "faceComparisonApproval": "MATCH", "faceLivenessApproval": "LIVE",
    });
    let (st, j) = post("/review/api/cases/case-9/decision", &c2, decision.clone());
    assert_eq!((st, j["code"].as_str()), (409, Some("CLAIM_REQUIRED")));
    let mut bad = decision.clone();
    bad["acceptance"] = json!({"result": "REJECTED", "reasons": ["BLURRY_ISH"]});
    assert_eq!(post("/review/api/cases/case-9/decision", &c1, bad).0, 400);
    let (st, case) = server.get("/review/api/cases/case-9", &[("cookie", &c1)]);
    assert_eq!(st, 200);
    assert_eq!(
        case["extractedData"]["documentAttributes"]["documentNumber"],
        "CZT55MY41"
    );
    let img = &case["images"][0];
    let (st, _, h) = server.send(
        "GET",
        img["url"].as_str().unwrap(),
        &[("cookie", &c1)],
        None,
        None,
    );
    assert_eq!(
        (st, h["content-type"].to_str().unwrap()),
        (200, "image/jpeg")
    );
    assert!(!img["faces"].as_array().unwrap().is_empty(), "portrait box");

    // No certificate before the decision: it states the reviewer's decision.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        calls.try_recv().is_err(),
        "nothing is sent before the decision"
    );
    let (st, sent) = post("/review/api/cases/case-9/decision", &c1, decision);
    assert_eq!(st, 200, "{sent}");
    let (_, body) = calls
        .recv_timeout(Duration::from_secs(60))
        .expect("ManualIDVerification callback");
    let cb: Value = serde_json::from_str(&body).unwrap();
    // The seed's "APPROVED" example, field for field.
    same_shape(
        &json!({"id": "", "service": "ManualIDVerification", "status": "Completed", "data": {
            "documentInfo": {"acceptance": {"result": ""},
                "findings": {"documentApproval": "", "details": {"authenticity": {"result": ""}, "originality": {"result": ""}, "validity": {"result": ""}}},
                "extractedData": {
                    "documentAttributes": {"countryCodeOfIssuance": "", "dateOfExpiry": "", "dateOfIssuance": "", "documentNumber": "", "documentType": "", "issuingAuthority": "", "stateOrProvinceOfIssuance": ""},
                    "personAttributes": {"dateOfBirth": "", "gender": "", "nationalityCode": "", "personalGovernmentId": "", "placeOfBirth": ""},
                    "name": {"firstSurname": "", "fullName": "", "givenNames": "", "secondSurname": "", "surname": ""},
                    "address": {"parsedAddress": {"addressLine1": "", "addressLine2": "", "addressLine3": "", "addressLine4": "", "city": "", "postalCode": "", "stateOrProvince": ""},
                        "unparsedAddress": {"addressLine1": "", "addressLine2": "", "addressLine3": "", "addressLine4": ""}}}},
            "faceComparisonInfo": {"acceptance": {"result": ""}, "findings": {"faceComparisonApproval": "", "faceLivenessApproval": ""}}}}),
        &cb,
        "ManualIDVerification",
    );
    assert_eq!(
        cb["data"]["documentInfo"]["findings"]["documentApproval"],
        "NOT_APPROVED"
    );
    // Then the certificate, saying so.
    let (_, body) = calls
        .recv_timeout(Duration::from_secs(90))
        .expect("Certification callback");
    let cert_cb: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (&cert_cb["service"], &cert_cb["status"]),
        (&json!("Certification"), &json!("Completed"))
    );
    let (st, cert) = server.get("/certificate/case-9", &[("authorization", &bearer)]);
    assert_eq!(st, 200, "{cert}");
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(cert["content"].as_str().unwrap())
        .unwrap();
    let file = dir.join("case-9.pdf");
    std::fs::write(&file, &pdf).unwrap();
    docs_out("manual-review.pdf", &pdf);
    let text = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("NOT_APPROVED") && text.contains("NOT_AUTHENTIC"),
        "{text}"
    );
    assert!(calls.try_recv().is_err(), "one callback each");
    // The audit trail saw all of it, in order, with ids only; `idv audit verify` checks a
    // saved copy and names an edited entry.
    let (st, trail) = server.get(
        "/v1/audit",
        &[("x-api-key", a["api_key"].as_str().unwrap())],
    );
    assert_eq!(st, 200, "{trail}");
    let seen: Vec<(String, String)> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let actor = e["actor"].as_str().unwrap();
            (
                actor.split(':').next().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for wanted in [
        ("admin", "tenant.create"),
        ("admin", "reviewer.create"),
        ("reviewer", "reviewer.login"),
        ("reviewer", "case.claim"),
        ("reviewer", "case.view"),
        ("reviewer", "case.decide"),
        ("link", "certificate.download"),
    ] {
        assert!(
            seen.iter().any(|(a, b)| (a.as_str(), b.as_str()) == wanted),
            "{wanted:?} not in {seen:?}"
        );
    }
    assert!(
        !trail.to_string().contains("globex"),
        "only this tenant's entries"
    );
    let saved = dir.join("audit.json");
    let ok = audit_verify(&saved, &trail);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let mut edited = trail.clone();
    edited["entries"][2]["target"] = json!("case-10");
    let bad = audit_verify(&saved, &edited);
    assert!(!bad.status.success());
    let msg = String::from_utf8_lossy(&bad.stderr);
    assert!(msg.contains("entry 3") && msg.contains("edited"), "{msg}");
    // The request's state, readable back (beyond the seed).
    let (st, now) = server.get("/identity/verify/case-9", &[("authorization", &bearer)]);
    assert_eq!(st, 200, "{now}");
    assert_eq!(
        now["manualVerification"]["documentInfo"]["findings"]["documentApproval"],
        "NOT_APPROVED"
    );
    assert_eq!(now["certification"], "Completed", "{now}");
    assert_eq!(now["answer"]["idVerification"]["process"], "Manual");
    assert_eq!(
        server
            .get("/identity/verify/case-404", &[("authorization", &bearer)])
            .0,
        404
    );

    // A second case rejected, decided in the seed's own `data` shape: the REJECTED callback
    // carries only the acceptances.
    let (st, _) = server.json(
        "/identity/verify",
        &[("authorization", &bearer)],
        json!({"id": "case-10", "images": [{"content": std64(DOC), "faceImage": std64(SELFIE)}],
            "manualVerification": true, "manualVerificationCallback": url}),
    );
    assert_eq!(st, 200);
    assert_eq!(
        post("/review/api/cases/case-10/claim", &c1, json!({})).0,
        200
    );
    let seed_rejected = json!({
        "documentInfo": {"acceptance": {"result": " REJECTED", "reasons": ["GLARE", "OUT_OF_FOCUS"]}},
        "faceComparisonInfo": {"acceptance": {"result": " REJECTED", "reasons": ["MISSING_SELFIE"]}},
    });
    let (st, sent) = post("/review/api/cases/case-10/decision", &c1, seed_rejected);
    assert_eq!(st, 200, "{sent}");
    let (_, body) = calls
        .recv_timeout(Duration::from_secs(60))
        .expect("REJECTED callback");
    let cb: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        cb["data"],
        json!({"documentInfo": {"acceptance": {"result": "REJECTED", "reasons": ["GLARE", "OUT_OF_FOCUS"]}},
            "faceComparisonInfo": {"acceptance": {"result": "REJECTED", "reasons": ["MISSING_SELFIE"]}}})
    );
    // A body that is not a decision: 400 in the usual error envelope.
    let (st, e) = post(
        "/review/api/cases/case-10/decision",
        &c1,
        json!({"nonsense": 1}),
    );
    assert_eq!((st, e["code"].as_str()), (400, Some("INVALID_JSON")), "{e}");
    assert_eq!(
        post("/review/api/cases/case-9/claim", &c1, json!({})).0,
        409,
        "decided"
    );
}

/// Peak resident memory of a process, in MB (Linux `VmHWM`).
fn peak_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024
}

/// Sends `head` then up to `size` bytes of body starting with `start` (chunked when
/// `chunked`) over a raw socket, stopping when the server closes; returns the status line of
/// the response.
fn send_huge(base: &str, head: &str, start: &str, size: usize, chunked: bool) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut reader = stream.try_clone().unwrap();
    // The response may come while the body is still being sent: read it as it arrives.
    let response = std::thread::spawn(move || {
        let mut got = Vec::new();
        let _ = reader.read_to_end(&mut got);
        String::from_utf8_lossy(&got).into_owned()
    });
    stream.write_all(head.as_bytes()).unwrap();
    let mut chunk = vec![b'a'; 1 << 20];
    chunk[..start.len()].copy_from_slice(start.as_bytes());
    let mut sent = 0;
    while sent < size {
        let ok = if chunked {
            stream
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .and_then(|_| stream.write_all(&chunk))
                .and_then(|_| stream.write_all(b"\r\n"))
        } else {
            stream.write_all(&chunk)
        };
        if ok.is_err() {
            break;
        }
        sent += chunk.len();
        chunk[..start.len()].fill(b'a');
    }
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let text = response.join().unwrap();
    text.lines().next().unwrap_or_default().to_string()
}

#[test]
fn bodies_over_the_limit_get_413_without_being_buffered() {
    let dir = std::env::temp_dir().join(format!("idv-huge-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let server = start(&dir);
    // Warm up: one small request, so the baseline includes the server's own buffers.
    assert_eq!(server.get("/health", &[]).0, 200);
    let before = peak_mb(server.child.id());
    let size = 400 << 20;
    // With valid credentials, so the bodies are read up to the limit (without, they are
    // refused before: see `guessing_floods_and_overload_are_bounded`).
    let json_chunked = format!(
        "POST /v1/verify-identity HTTP/1.1\r\nhost: x\r\nx-api-key: {}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        a["api_key"].as_str().unwrap()
    );
    let link_declared = format!(
        "POST /identity/verify HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {size}\r\n\r\n"
    );
    let multipart_chunked = format!(
        "POST /v0.2/full-id-verification HTTP/1.1\r\nhost: x\r\napp_id: {}\r\napp_key: {}\r\n\
         content-type: multipart/form-data; boundary=b\r\ntransfer-encoding: chunked\r\n\r\n",
        a["app_id"].as_str().unwrap(),
        a["app_key"].as_str().unwrap()
    );
    let part = "--b\r\ncontent-disposition: form-data; name=\"selfie\"; filename=\"s.jpg\"\r\n\r\n";
    for (head, start, chunked) in [
        (json_chunked.as_str(), "{\"selfie\": \"", true),
        (link_declared.as_str(), "{\"id\": \"", false),
        (multipart_chunked.as_str(), part, true),
    ] {
        let status = send_huge(&server.base, head, start, size, chunked);
        assert!(status.contains(" 413 "), "{status:?} for {head:?}");
    }
    let grown = peak_mb(server.child.id()).saturating_sub(before);
    // Reading stops at the 64 MB limit; 400 MB buffered would show here.
    assert!(grown < 160, "peak memory grew by {grown} MB");
    eprintln!("three 400 MB bodies refused; peak memory grew by {grown} MB");
}

#[test]
fn guessing_floods_and_overload_are_bounded() {
    let dir = std::env::temp_dir().join(format!("idv-abuse-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let others: Vec<Value> = (0..3).map(|i| tenant(&dir, &format!("t{i}"))).collect();
    let server = start_with(&dir, &["--rate-limit", "0"]);
    let pid = server.child.id();
    assert_eq!(server.get("/health", &[]).0, 200);
    let before = peak_mb(pid);

    // A 60 MB multipart body without credentials: 401, its body read and thrown away, not
    // kept (the limit is 64 MB, so a server reading first would hold all of it).
    let head = "POST /v0.2/full-id-verification HTTP/1.1\r\nhost: x\r\n\
        content-type: multipart/form-data; boundary=b\r\ntransfer-encoding: chunked\r\n\r\n";
    let part = "--b\r\ncontent-disposition: form-data; name=\"selfie\"; filename=\"s.jpg\"\r\n\r\n";
    let status = send_huge(&server.base, head, part, 60 << 20, true);
    assert!(status.contains(" 401 "), "{status}");
    let grown = peak_mb(pid).saturating_sub(before);
    assert!(
        grown < 30,
        "an unauthenticated body grew memory by {grown} MB"
    );

    // An unknown id costs the same argon2 work as a known one with a wrong key (alternated,
    // 8 each: within the principal's failure budget of 10).
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..16 {
        let app_id = if i % 2 == 0 {
            a["app_id"].as_str().unwrap().to_string()
        } else {
            format!("app_00000000000{}", i % 10)
        };
        let t = Instant::now();
        let (st, _) = server.get(
            "/v0.2/full-id-verification/x",
            &[("app_id", &app_id), ("app_key", "wrong")],
        );
        assert_eq!(st, 401);
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        if i % 2 == 0 {
            known.push(ms)
        } else {
            unknown.push(ms)
        }
    }
    // The fastest of each: the other tests running beside this one only ever add time.
    let fastest = |v: Vec<f64>| v.into_iter().fold(f64::INFINITY, f64::min);
    let (known, unknown) = (fastest(known), fastest(unknown));
    eprintln!("401 fastest of 8: known id {known:.1} ms, unknown id {unknown:.1} ms");
    assert!((known - unknown).abs() < 10.0, "{known} vs {unknown} ms");

    // 300 wrong LINK passwords for one user from 16 clients at once: 429s, bounded memory,
    // and the right password works again within seconds.
    let user = a["link_user"].as_str().unwrap();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..16)
            .map(|_| {
                let s = &server;
                scope.spawn(move || {
                    (0..19)
                        .map(|_| {
                            s.json(
                                "/auth/token",
                                &[],
                                json!({"user": user, "password": "guess"}),
                            )
                            .0
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let throttled = statuses.iter().filter(|&&s| s == 429).count();
    assert!(throttled > 200, "only {throttled} of 304 throttled");
    assert!(
        statuses.iter().all(|s| [401, 429, 503].contains(s)),
        "{statuses:?}"
    );
    let grown = peak_mb(pid).saturating_sub(before);
    eprintln!("guessing flood: {throttled}/304 answered 429; peak memory +{grown} MB");
    assert!(grown < 200, "the flood grew memory by {grown} MB");
    let started = Instant::now();
    loop {
        let (st, tok) = server.json(
            "/auth/token",
            &[],
            json!({"user": user, "password": a["link_password"]}),
        );
        if st == 200 {
            assert!(tok["token"].is_string());
            break;
        }
        assert_eq!(st, 429, "{tok}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still locked out"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!(
        "the right password worked {:.1} s after the flood",
        started.elapsed().as_secs_f64()
    );

    // 120 verifications at once from three tenants: each answered within 20 s, with a result
    // or a refusal carrying Retry-After.
    let body = json!({"documentImage": std64(DOC), "faceImage": std64(SELFIE)})
        .to_string()
        .into_bytes();
    let answers: Vec<(u16, bool, Duration)> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..120)
            .map(|i| {
                let (s, body) = (&server, body.clone());
                let key = others[i % 3]["api_key"].as_str().unwrap();
                scope.spawn(move || {
                    let t = Instant::now();
                    let (st, _, h) = s.send(
                        "POST",
                        "/v1/verify-identity",
                        &[("x-api-key", key)],
                        Some("application/json"),
                        Some(body),
                    );
                    (st, h.contains_key("retry-after"), t.elapsed())
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let ok = answers.iter().filter(|a| a.0 == 200).count();
    let slowest = answers.iter().map(|a| a.2).max().unwrap();
    eprintln!(
        "120 at once: {ok} verified, {} refused with Retry-After, slowest answer {slowest:?}",
        answers.len() - ok
    );
    assert!(ok >= 4, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(st, retry, _)| *st == 200 || ([429, 503].contains(st) && *retry)),
        "{answers:?}"
    );
    assert!(slowest < Duration::from_secs(20), "{slowest:?}");
}

#[test]
fn silent_connections_are_closed_while_the_server_keeps_answering() {
    use std::io::{Read, Write};
    let dir = std::env::temp_dir().join(format!("idv-slow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let server = start(&dir);
    let addr = server.base.trim_start_matches("http://").to_string();
    // 1,500 requests that never finish their headers (the defaults: 10 s of silence).
    let opened = Instant::now();
    // Each with the moment it went silent: it must be closed within 15 s of that.
    let mut conns: Vec<(std::net::TcpStream, Instant)> = (0..1500)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.write_all(b"POST /v1/verify-identity HTTP/1.1\r\nhost: x\r\n")
                .unwrap();
            (s, Instant::now())
        })
        .collect();
    let t = Instant::now();
    assert_eq!(server.get("/health", &[]).0, 200);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    for (s, silent_since) in &mut conns {
        let left = Duration::from_secs(15).saturating_sub(silent_since.elapsed());
        s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        let mut buf = [0u8; 512];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break, // closed by the server
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!(
                    "still open {:?} after going silent: {e}",
                    silent_since.elapsed()
                ),
            }
        }
    }
    eprintln!(
        "1,500 silent connections closed within {:?}",
        opened.elapsed()
    );
    // On a new connection: the client's pooled one from the first request has been idle
    // longer than the server's 10 s and was closed, as it should be.
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn json_logs_carry_request_ids_and_no_personal_data() {
    let dir = std::env::temp_dir().join(format!("idv-json-logs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let log = dir.join("log.jsonl");
    let file = std::fs::File::create(&log).unwrap();
    let mut server = start_logging(&dir, &["--log-format", "json"], Stdio::from(file));
    let key = a["api_key"].as_str().unwrap();
    let (st, v, h) = server.post_json(
        "/v1/verify-identity",
        &[("x-api-key", key), ("x-request-id", "req-json-1")],
        &json!({"documentImage": std64(DOC), "faceImage": std64(SELFIE)}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(h["x-request-id"], "req-json-1");
    let (st, _) = server.get("/v1/audit", &[("x-api-key", "idv_nope_wrong")]);
    assert_eq!(st, 401);
    let _ = server.child.kill();
    let _ = server.child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access = lines
        .iter()
        .find(|l| l["fields"]["route"] == "/v1/verify-identity")
        .unwrap_or_else(|| panic!("no access line in\n{text}"));
    assert_eq!(access["fields"]["request_id"], "req-json-1", "{access}");
    assert_eq!(access["fields"]["status"], 200);
    assert!(
        !text.contains(key) && !text.to_uppercase().contains("OBAMA"),
        "{text}"
    );
}

#[test]
fn metrics_show_a_verification_behind_their_token() {
    let dir = std::env::temp_dir().join(format!("idv-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let server = start_with(&dir, &["--metrics-token", "scrape-secret"]);
    let key = a["api_key"].as_str().unwrap();
    let (st, v) = server.json(
        "/v1/verify-identity",
        &[("x-api-key", key)],
        json!({"documentImage": std64(DOC), "faceImage": std64(SELFIE)}),
    );
    assert_eq!(st, 200, "{v}");
    let url = format!("{}/metrics", server.base);
    let res = server.agent.get(&url).call().unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let res = server
        .agent
        .get(&url)
        .header("authorization", "Bearer scrape-secrex")
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let mut res = server
        .agent
        .get(&url)
        .header("authorization", "Bearer scrape-secret")
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let text = res.body_mut().read_to_string().unwrap();
    for line in [
        "idv_requests_total{method=\"POST\",route=\"/v1/verify-identity\",status=\"200\"} 1",
        "idv_request_seconds_bucket{route=\"/v1/verify-identity\",le=\"60\"} 1",
        "idv_request_seconds_bucket{route=\"/v1/verify-identity\",le=\"+Inf\"} 1",
        "idv_request_seconds_count{route=\"/v1/verify-identity\"} 1",
        "idv_verification_seconds_count 1",
        "idv_stage_seconds_count{stage=\"document\"} 1",
        "idv_stage_seconds_count{stage=\"reference_faces\"} 1",
        "idv_stage_seconds_count{stage=\"selfie\"} 1",
        "# TYPE idv_queue_messages gauge",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
    let outcome = v["verified"]
        .as_bool()
        .map(|ok| if ok { "approved" } else { "" });
    if outcome == Some("approved") {
        assert!(
            text.contains("idv_verifications_total{outcome=\"approved\"} 1"),
            "{text}"
        );
    } else {
        assert!(text.contains("idv_verifications_total{outcome="), "{text}");
    }
    // Nothing from the request: not its credentials, not the document's fields.
    assert!(
        !text.contains(key) && !text.to_uppercase().contains("OBAMA"),
        "{text}"
    );
}

/// Every dialect's finished verification carries a signed receipt (`x-idv-receipt`) that
/// `idv receipt verify` checks offline and that survives the verification's deletion; an
/// altered receipt fails. With `IDV_PADES_OUT=DIR` one is written there for the README's
/// Python check (`tests/receipt.py`).
#[test]
fn every_dialect_signs_a_receipt_that_survives_deletion() {
    let dir = std::env::temp_dir().join(format!("idv-receipts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let b = tenant(&dir, "globex");
    let server = start(&dir);
    let verify = |name: &str, jws: &str| -> (bool, Value) {
        let file = dir.join(format!("{name}.jws"));
        std::fs::write(&file, jws).unwrap();
        let out = idv()
            .args(["receipt", "verify"])
            .arg(&file)
            .arg("--data")
            .arg(&dir)
            .output()
            .unwrap();
        let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.success(), v)
    };
    let receipt_of = |h: &ureq::http::HeaderMap| {
        h.get("x-idv-receipt")
            .expect("a receipt header")
            .to_str()
            .unwrap()
            .to_string()
    };
    let doc_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(read(DOC)));

    // One-call.
    let api_key = [("x-api-key", a["api_key"].as_str().unwrap())];
    let (st, one, h) = server.post_json(
        "/v1/verify-identity",
        &api_key,
        &json!({"documentImage": std64(DOC), "faceImage": std64(SELFIE)}),
    );
    assert_eq!(st, 200, "{one}");
    let jws = receipt_of(&h);
    let (ok, r) = verify("onecall", &jws);
    assert!(ok, "{r}");
    let vid = one["verificationId"].as_str().unwrap();
    assert_eq!(r["receipt"]["id"], vid);
    assert_eq!(r["receipt"]["dialect"], "onecall");
    assert_eq!(r["receipt"]["outcome"], "APPROVED");
    assert!(r["receipt"]["scores"]["face_match"].as_f64().unwrap() > 0.5);
    assert!(r.to_string().contains(&doc_sha), "input hashes: {r}");
    assert!(!r.to_string().contains("HASSAN"), "no field read: {r}");
    if let Some(out) = std::env::var_os("IDV_PADES_OUT").map(PathBuf::from) {
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("receipt.jws"), &jws).unwrap();
        std::fs::copy(dir.join("secrets/certs/ca.pem"), out.join("receipt.ca.pem")).unwrap();
    }
    // Altered: the payload says REJECTED.
    let parts: Vec<&str> = jws.split('.').collect();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[1])
        .unwrap();
    let forged = String::from_utf8(payload)
        .unwrap()
        .replace("APPROVED", "REJECTED");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged),
        parts[2]
    );
    assert!(!verify("forged", &forged).0, "an altered receipt fails");
    // Another CA: not trusted.
    let other = dir.join("other-ca.pem");
    std::fs::write(&other, idv_certify::generate_dev(None).unwrap().ca_cert).unwrap();
    let saved = dir.join("onecall.jws");
    let out = idv()
        .args(["receipt", "verify"])
        .arg(&saved)
        .arg("--cert")
        .arg(&other)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not trusted"));

    // Kairos: the done poll carries it.
    let kairos = kairos_keys(&a);
    let (st, j) = server.form(
        "/v0.2/full-id-verification",
        &kairos,
        &[("selfie", file(SELFIE)), ("document", file(DOC))],
    );
    assert_eq!(st, 200, "{j}");
    let uid = j["api_req_uid"].as_str().unwrap().to_string();
    server.poll(&format!("/v0.2/full-id-verification/{uid}"), &kairos);
    let (_, _, h) = server.send(
        "GET",
        &format!("/v0.2/full-id-verification/{uid}"),
        &kairos,
        None,
        None,
    );
    let (ok, r) = verify("kairos", &receipt_of(&h));
    assert!(
        ok && r["receipt"]["dialect"] == "kairos" && r["receipt"]["id"] == uid.as_str(),
        "{r}"
    );

    // Kairos' synchronous biometric verification.
    let (st, bio, h) = server.send_form(
        "/v0.2/biometric-verification",
        &kairos,
        &[("selfie", file(SELFIE)), ("image", file(SELFIE))],
    );
    assert_eq!(st, 200, "{bio}");
    let (ok, r) = verify("biometric", &receipt_of(&h));
    assert!(ok, "{r}");
    assert_eq!(r["receipt"]["inputs"].as_array().unwrap().len(), 2, "{r}");

    // LINK.
    let bearer = server.link_bearer(&a);
    let link = [("authorization", bearer.as_str())];
    let body =
        json!({"id": "rcpt-1", "images": [{"content": std64(DOC), "faceImage": std64(SELFIE)}]});
    let (st, v, h) = server.post_json("/identity/verify", &link, &body);
    assert_eq!(st, 200, "{v}");
    let (ok, r) = verify("link", &receipt_of(&h));
    assert!(ok && r["receipt"]["dialect"] == "link", "{r}");

    // Kept after deletion, for the tenant only.
    let path = format!("/v1/verifications/{vid}");
    assert_eq!(server.send("DELETE", &path, &api_key, None, None).0, 200);
    let (st, kept) = server.get(&format!("/v1/receipts/{vid}"), &api_key);
    assert_eq!((st, kept["receipt"].as_str()), (200, Some(jws.as_str())));
    let (st, _) = server.get(
        &format!("/v1/receipts/{vid}"),
        &[("x-api-key", b["api_key"].as_str().unwrap())],
    );
    assert_eq!(st, 404);
}

/// Active liveness through a session's page API, against idv serve with its models: a clip
/// rendered to follow the server's challenge passes and its first frame becomes the selfie;
/// the same clip again is a reused challenge; a print turned along a fresh challenge fails;
/// the session then verifies with the liveness verdict in its result.
#[test]
fn active_liveness_through_a_session() {
    use idv_vision::active::Challenge;
    use idv_vision::render::{self, Kind, Subject};
    let dir = std::env::temp_dir().join(format!("idv-active-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let a = tenant(&dir, "acme");
    let server = start_with(&dir, &[]);
    let s = &server;
    let key: &[(&str, &str)] = &[("x-api-key", a["api_key"].as_str().unwrap())];
    let (st, session) = s.json(
        "/v1/sessions",
        key,
        json!({"liveness": "active", "document_types": ["passport"]}),
    );
    assert_eq!(st, 201, "{session}");
    let url = session["url"].as_str().unwrap();
    let token = url.rsplit('/').next().unwrap().to_string();
    let page = |p: &str| format!("/s/{token}{p}");

    // The person: the sample selfie's face, lifted onto a head that follows the challenge.
    let engine = idv_vision::FaceEngine::load_default().expect("models");
    let photo = idv_image::decode_rgb(&read(SELFIE), &idv_image::Limits::ANY).unwrap();
    let photo = image::imageops::resize(&photo, 640, 360, image::imageops::FilterType::Triangle);
    let face = idv_vision::main_face(&engine.detect(&photo).unwrap())
        .cloned()
        .unwrap();
    let subject = Subject {
        image: &photo,
        face: &face,
    };
    let challenge = |s: &Server| {
        let (st, c) = s.json(&page("/liveness/challenge"), &[], json!({}));
        assert_eq!(st, 200, "{c}");
        let ch = Challenge {
            neutral_ms: c["neutral_ms"].as_u64().unwrap() as u32,
            steps: serde_json::from_value(c["steps"].clone()).unwrap(),
            flashes: serde_json::from_value(c["colours"].clone()).unwrap(),
        };
        (c["challenge_id"].as_str().unwrap().to_string(), ch)
    };
    let send = |s: &Server, id: &str, frames: &[(u32, image::RgbImage)]| {
        let mut parts = vec![("challenge_id", Part::Text(id.to_string()))];
        for (_, f) in frames {
            let mut jpeg = Vec::new();
            image::DynamicImage::ImageRgb8(f.clone())
                .write_to(
                    &mut std::io::Cursor::new(&mut jpeg),
                    image::ImageFormat::Jpeg,
                )
                .unwrap();
            parts.push(("frames", Part::File(jpeg)));
        }
        let times: Vec<u32> = frames.iter().map(|(t, _)| *t).collect();
        parts.push(("timestamps", Part::Text(json!(times).to_string())));
        let (st, v) = s.form(&page("/liveness/frames"), &[], &parts);
        assert_eq!(st, 200, "{v}");
        v
    };

    let (id, ch) = challenge(s);
    let live = render::clip(Kind::Live, &ch, &subject, &subject, 200);
    let t = Instant::now();
    let v = send(s, &id, &live);
    println!(
        "active liveness over HTTP: {} frames judged in {:.2} s: {v}",
        live.len(),
        t.elapsed().as_secs_f64()
    );
    assert_eq!(v["verdict"], "pass", "{v}");
    let v = send(s, &id, &live);
    assert_eq!(v["findings"], json!(["LIVENESS_CHALLENGE_REUSED"]), "{v}");
    let (id2, ch2) = challenge(s);
    let print = render::clip(Kind::Flat, &ch2, &subject, &subject, 200);
    let v = send(s, &id2, &print);
    assert_eq!(v["verdict"], "fail", "{v}");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .contains(&json!("LIVENESS_CHALLENGE_NOT_FOLLOWED")),
        "{v}"
    );
    // The failed clip replaced the verdict: follow a third challenge, then finish.
    let (id3, ch3) = challenge(s);
    let v = send(
        s,
        &id3,
        &render::clip(Kind::Live, &ch3, &subject, &subject, 200),
    );
    assert_eq!(v["verdict"], "pass", "{v}");
    // A selfie cannot be sent around the challenge.
    let (st, e) = s.json(&page("/uploads"), &[], json!({"name": "selfie"}));
    assert_eq!(st, 400, "{e}");

    let (st, up) = s.json(
        &page("/uploads"),
        &[],
        json!({"name": "document", "document_type": "passport"}),
    );
    assert_eq!(st, 200, "{up}");
    let put = up["url"].as_str().unwrap().strip_prefix(&s.base).unwrap();
    let (st, _, _) = s.send("PUT", put, &[], Some("image/jpeg"), Some(read(DOC)));
    assert_eq!(st, 200);
    let (st, shot) = s.json(&page("/images/document"), &[], json!({"key": up["key"]}));
    assert_eq!((st, &shot["accepted"]), (200, &json!(true)), "{shot}");
    let (st, _) = s.json(&page("/submit"), &[], json!({}));
    assert_eq!(st, 202);
    let sid = session["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let (_, v) = s.get(&format!("/v1/sessions/{sid}"), key);
        if v["status"] != "processing" && v["status"] != "in_progress" {
            break v;
        }
        assert!(Instant::now() < deadline, "{v}");
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(done["result"]["liveness"]["mode"], "active", "{done}");
    assert_eq!(
        done["result"]["liveness"]["active"]["verdict"], "pass",
        "{done}"
    );
    assert_eq!(done["status"], "verified", "{done}");
}

/// The specimen chip's files (tests/fixtures/chip, see make.py there), base64.
fn chip_b64(name: &str) -> String {
    std64(&format!("chip/{name}"))
}

/// The specimen chip's Active Authentication answer to `challenge` (hex): ECDSA P-256 over
/// SHA-256, plain r‖s, as DG14 says.
fn aa_answer(challenge: &str) -> String {
    use openssl::ec::EcKey;
    let key = EcKey::private_key_from_pem(&read("chip/aa-key.pem")).unwrap();
    let digest = openssl::sha::sha256(&hex::decode(challenge).unwrap());
    let sig = openssl::ecdsa::EcdsaSig::sign(&digest, &key).unwrap();
    let mut rs = sig.r().to_vec_padded(32).unwrap();
    rs.extend(sig.s().to_vec_padded(32).unwrap());
    base64::engine::general_purpose::STANDARD.encode(rs)
}

/// The receipt's payload (the JWS's middle part).
fn receipt_payload(h: &ureq::http::HeaderMap) -> Value {
    let jws = h["x-idv-receipt"].to_str().unwrap();
    let mid = jws.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(mid)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn the_chip_in_every_dialect() {
    let dir = std::env::temp_dir().join(format!("idv-chip-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let t = tenant(&dir, "acme");
    let imported = idv()
        .args(["chip", "trust", "import"])
        .arg(fixture("chip/trust/idv-specimen-csca.cer"))
        .arg("--data")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(imported.status.success(), "{imported:?}");
    let s = start_with(&dir, &["--allow-private-callbacks"]);
    let (url, _calls) = receiver();
    let onecall: &[(&str, &str)] = &[("x-api-key", t["api_key"].as_str().unwrap())];
    let challenge = |h: &[(&str, &str)]| -> (String, String) {
        let (st, c, _) = s.send("POST", "/v1/chip/challenge", h, None, None);
        assert_eq!(st, 201, "{c}");
        assert_eq!(c["challenge"].as_str().unwrap().len(), 16);
        (
            c["challenge_id"].as_str().unwrap().to_string(),
            c["challenge"].as_str().unwrap().to_string(),
        )
    };
    let files = |dg1: String| {
        json!({"sod": chip_b64("sod.bin"), "dg1": dg1, "dg2": chip_b64("dg2.bin"),
               "dg14": chip_b64("dg14.bin"), "dg15": chip_b64("dg15.bin")})
    };
    let verify = |chip: Value| {
        let (st, v, h) = s.post_json(
            "/v1/verify-identity",
            onecall,
            &json!({"documentImage": std64(DOC), "faceImage": std64(SELFIE), "chip": chip}),
        );
        assert_eq!(st, 200, "{v}");
        (v, h)
    };

    // A genuine chip with its Active Authentication answer: verified and approved.
    let (id, c) = challenge(onecall);
    let mut genuine = files(chip_b64("dg1.bin"));
    genuine["challenge_id"] = json!(id);
    genuine["aa_signature"] = json!(aa_answer(&c));
    let (v, h) = verify(genuine.clone());
    assert_eq!(v["chip"]["findings"], json!(["CHIP_VERIFIED"]), "{v}");
    assert_eq!(v["chip"]["active_authentication"]["valid"], true);
    assert_eq!(v["chip"]["mrz_match"], true);
    assert!(
        v["chip"]["face_match"]["selfie"].as_f64().unwrap() > 0.8,
        "{v}"
    );
    assert!(
        v["chip"]["face_match"]["portrait"].as_f64().unwrap() > 0.8,
        "{v}"
    );
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["document"]["confidence"], 100.0);
    // DG1's fields, as the state wrote them.
    assert_eq!(v["chip"]["data"]["last_name"]["value"], "HASSAN", "{v}");
    assert_eq!(
        v["chip"]["data"]["document_number"]["value"], "CZT55MY41",
        "{v}"
    );
    let receipt = receipt_payload(&h);
    assert_eq!(receipt["chip"]["verified"], true, "{receipt}");
    assert!(
        receipt["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "chip.sod")
    );

    // The same answer again: the challenge was used once.
    let (v, _) = verify(genuine.clone());
    assert!(
        codes(&v["decision"]).contains(&"CHIP_CLONED".to_string()),
        "{v}"
    );
    assert_eq!(v["verified"], false);

    // An answer to another challenge: a clone (or a replay).
    let (id, _) = challenge(onecall);
    let (_, other) = challenge(onecall);
    let mut replayed = files(chip_b64("dg1.bin"));
    replayed["challenge_id"] = json!(id);
    replayed["aa_signature"] = json!(aa_answer(&other));
    let (v, _) = verify(replayed);
    assert_eq!(v["chip"]["findings"], json!(["CHIP_CLONED"]), "{v}");
    assert_eq!(v["chip"]["active_authentication"]["valid"], false);

    // DG1 edited by one byte: its hash no longer matches the signed one, nor the print.
    let mut dg1 = read("chip/dg1.bin");
    *dg1.last_mut().unwrap() ^= 0x01;
    let (v, _) = verify(files(
        base64::engine::general_purpose::STANDARD.encode(&dg1),
    ));
    let found = codes(&v["decision"]);
    assert!(found.contains(&"CHIP_INVALID".to_string()), "{v}");
    assert!(found.contains(&"CHIP_MRZ_MISMATCH".to_string()), "{v}");
    assert_eq!(
        v["chip"]["passive_authentication"]["errors"],
        json!(["dg_hash_mismatch"])
    );
    // DG1 of another document with this SOD.
    let (v, _) = verify(files(chip_b64("other-dg1.bin")));
    assert!(
        codes(&v["decision"]).contains(&"CHIP_INVALID".to_string()),
        "{v}"
    );
    assert_eq!(v["verified"], false);

    // Bad input: a clear 400, nothing run.
    let (st, e) = s.json(
        "/v1/verify-identity",
        onecall,
        json!({"documentImage": std64(DOC), "faceImage": std64(SELFIE), "chip": {"sod": "%%%"}}),
    );
    assert_eq!(
        (st, e["code"].as_str()),
        (400, Some("INVALID_BASE64")),
        "{e}"
    );
    let (st, e) = s.json(
        "/v1/verify-identity",
        onecall,
        json!({"documentImage": std64(DOC), "faceImage": std64(SELFIE),
               "chip": {"sod": chip_b64("sod.bin"), "aa_signature": "AAAA"}}),
    );
    assert_eq!(
        (st, e["code"].as_str()),
        (400, Some("MISSING_FIELD")),
        "{e}"
    );

    // Kairos: the chip's files as multipart parts, the job verified asynchronously.
    let kairos = kairos_keys(&t);
    let (id, c) = challenge(&kairos);
    let answer = base64::engine::general_purpose::STANDARD
        .decode(aa_answer(&c))
        .unwrap();
    // Submitted with the sample page and selfie, then polled until done.
    let full_id = |chip: Vec<(&str, Part)>| {
        let mut parts = vec![("selfie", file(SELFIE)), ("document", file(DOC))];
        parts.extend(chip);
        let (st, j) = s.form("/v0.2/full-id-verification", &kairos, &parts);
        assert_eq!(st, 200, "{j}");
        let uid = j["api_req_uid"].as_str().unwrap();
        s.poll(&format!("/v0.2/full-id-verification/{uid}"), &kairos)
    };
    let done = full_id(vec![
        ("chip_sod", file("chip/sod.bin")),
        ("chip_dg1", file("chip/dg1.bin")),
        ("chip_dg2", file("chip/dg2.bin")),
        ("chip_dg14", file("chip/dg14.bin")),
        ("chip_dg15", file("chip/dg15.bin")),
        ("chip_challenge_id", Part::Text(id)),
        ("chip_aa_signature", Part::File(answer)),
    ]);
    let chip = &done["response_data"]["chip"];
    assert_eq!(chip["findings"], json!(["CHIP_VERIFIED"]), "{done}");
    assert_eq!(chip["active_authentication"]["valid"], true);
    assert!(
        codes(&done["response_data"]["decision"]).is_empty(),
        "{done}"
    );
    // A DG1 edited by one byte, through Kairos.
    let done = full_id(vec![
        ("chip_sod", file("chip/sod.bin")),
        ("chip_dg1", Part::File(dg1.clone())),
    ]);
    let found = codes(&done["response_data"]["decision"]);
    assert!(found.contains(&"CHIP_INVALID".to_string()), "{done}");
    assert!(found.contains(&"CHIP_MRZ_MISMATCH".to_string()), "{done}");

    // LINK: `nfc` beside the images.
    let bearer = s.link_bearer(&t);
    let link: &[(&str, &str)] = &[("authorization", &bearer)];
    let (id, c) = challenge(link);
    let mut nfc = files(chip_b64("dg1.bin"));
    nfc["challengeId"] = json!(id);
    nfc["aaSignature"] = json!(aa_answer(&c));
    let (st, v) = s.json(
        "/identity/verify",
        link,
        json!({"id": "chip-1", "images": [{"content": std64(DOC), "faceImage": std64(SELFIE)}],
               "nfc": nfc.clone(), "certify": true, "certifyCallback": url}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["nfc"]["findings"], json!(["CHIP_VERIFIED"]), "{v}");
    assert_eq!(v["idVerification"]["result"], "Ok", "{v}");
    // The certificate states the chip.
    let file = dir.join("chip-1.pdf");
    std::fs::write(&file, s.certificate("chip-1", link)).unwrap();
    let out = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    let flat: String = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for needle in [
        "verified (ICAO 9303 Passive Authentication): signed by C=KE, O=idv test, CN=idv specimen DS",
        "its MRZ (DG1) equals the printed one",
        "Active Authentication passed",
    ] {
        assert!(flat.contains(needle), "{needle:?} not in {flat}");
    }
    // The same answer again, under another request id: the challenge was used.
    let (st, v) = s.json(
        "/identity/verify",
        link,
        json!({"id": "chip-3", "images": [{"content": std64(DOC), "faceImage": std64(SELFIE)}],
               "nfc": nfc}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["nfc"]["findings"], json!(["CHIP_CLONED"]), "{v}");
    let (st, v) = s.json(
        "/identity/verify",
        link,
        json!({"id": "chip-2", "images": [{"content": std64(DOC), "faceImage": std64(SELFIE)}],
               "nfc": files(chip_b64("other-dg1.bin"))}),
    );
    assert_eq!(st, 200, "{v}");
    assert!(
        v["nfc"]["findings"]
            .as_array()
            .unwrap()
            .contains(&json!("CHIP_INVALID")),
        "{v}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
