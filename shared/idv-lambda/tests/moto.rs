//! The real handlers driven with Lambda events against S3, DynamoDB and SQS on moto's server
//! (tests/run starts it; `IDV_AWS_ENDPOINT` names it): API Gateway v2 HTTP events through the
//! router as `lambda_http` delivers them, SQS events through `handle_batch`, with the messages
//! really sent to and received from SQS and the results really in DynamoDB and S3.

use std::path::Path;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use base64::Engine as _;
use idv_core::Services;
use idv_lambda::Settings;
use serde_json::{Value, json};
use tower::ServiceExt;

fn endpoint() -> String {
    std::env::var("IDV_AWS_ENDPOINT").expect(
        "IDV_AWS_ENDPOINT must name an S3/DynamoDB/SQS-protocol server (tests/run starts moto)",
    )
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures")
            .join(rel),
    )
    .unwrap()
}

/// A Secrets Manager secret holding `values` (JSON); returns its ARN.
async fn put_secret(conf: &aws_config::SdkConfig, values: &Value) -> String {
    let name = format!("idv/test-{}", uuid::Uuid::new_v4().simple());
    aws_sdk_secretsmanager::Client::new(conf)
        .create_secret()
        .name(name)
        .secret_string(values.to_string())
        .send()
        .await
        .unwrap()
        .arn
        .unwrap()
}

/// The stack's storage under a fresh prefix (jobs dead-letter after 2 receives, to keep the
/// test short), its token secret read from Secrets Manager by ARN as a function reads it.
async fn resources(conf: &aws_config::SdkConfig) -> Settings {
    let p = format!("l{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let s = idv_aws::create_stack(
        conf,
        &p,
        &[
            ("jobs", 2),
            ("certify", 5),
            ("callbacks", 12),
            ("sessions", 3),
        ],
    )
    .await
    .unwrap();
    let arn = put_secret(conf, &json!({"token_secret": "test-token-secret"})).await;
    let secrets = idv_lambda::Secrets::fetch(conf, &arn).await.unwrap();
    Settings {
        endpoint: Some(endpoint()),
        bucket: s.bucket,
        table: s.table,
        queue_prefix: s.queue_prefix,
        token_secret: secrets.get("token_secret").unwrap(),
        public_url: "https://idv.example".into(),
        allow_private_callbacks: false,
        job_backlog: 1000,
        receipt_keys: None,
    }
}

/// Built with the certification function's feature (as `cargo test --workspace` builds it).
#[cfg(feature = "certify")]
#[tokio::test]
async fn keys_come_from_secrets_manager_by_arn() {
    let conf = idv_aws::config(Some(&endpoint())).await;
    let pems = idv_certify::generate_dev(None).unwrap();
    let arn = put_secret(
        &conf,
        &json!({
            "token_secret": "s",
            "ca_cert": pems.ca_cert,
            "signing_cert": pems.signing_cert,
            "signing_key": pems.signing_key,
            "tsa_cert": pems.tsa_cert,
            "tsa_key": pems.tsa_key,
        }),
    )
    .await;
    let secrets = idv_lambda::Secrets::fetch(&conf, &arn).await.unwrap();
    assert_eq!(secrets.get("token_secret").unwrap(), "s");
    assert!(
        idv_lambda::signer(&secrets).is_ok(),
        "the signing keys from the secret load"
    );

    let partial = put_secret(&conf, &json!({"token_secret": "s"})).await;
    let secrets = idv_lambda::Secrets::fetch(&conf, &partial).await.unwrap();
    let e = idv_lambda::signer(&secrets).err().unwrap().to_string();
    assert!(e.contains("ca_cert"), "the missing key is named: {e}");
    let e = idv_lambda::Secrets::fetch(
        &conf,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope",
    )
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("reading the secret"), "{e}");
}

/// An API Gateway HTTP API (v2) event, as Lambda delivers it.
fn apigw(method: &str, path: &str, headers: &[(&str, &str)], body: Option<(&str, &[u8])>) -> Value {
    let mut h = serde_json::Map::new();
    for (k, v) in headers {
        h.insert(k.to_string(), json!(v));
    }
    if let Some((ct, _)) = body {
        h.insert("content-type".into(), json!(ct));
    }
    json!({
        "version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path, "rawQueryString": "",
        "headers": h,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "idv.example", "domainPrefix": "idv",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "test"},
            "requestId": "r", "routeKey": format!("{method} {path}"), "stage": "$default",
            "time": "23/Nov/2026:10:00:00 +0000", "timeEpoch": 1_795_435_200_000u64,
        },
        "body": body.map(|(_, b)| base64::engine::general_purpose::STANDARD.encode(b)),
        "isBase64Encoded": body.is_some(),
    })
}

/// Runs an API Gateway event through the HTTP function's handler (the router).
async fn invoke(state: &Services, event: Value) -> (u16, Value) {
    let (status, body, _) = invoke_headers(state, event).await;
    (status, body)
}

/// [`invoke`], with the response's headers.
async fn invoke_headers(state: &Services, event: Value) -> (u16, Value, axum::http::HeaderMap) {
    let req =
        lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway event");
    let res = idv_http::router(state.clone()).oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    )
}

fn multipart(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let b = "idv-lambda-test";
    let mut body = Vec::new();
    for (name, bytes) in parts {
        body.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

/// Receives from a real SQS queue and wraps the messages as the SQS event Lambda would send.
async fn sqs_event(
    state: &Services,
    queue: &str,
    visibility: u64,
) -> (SqsEvent, Vec<(String, String)>) {
    let msgs = state
        .queue
        .receive(
            queue,
            10,
            Duration::from_secs(visibility),
            Duration::from_secs(2),
        )
        .await
        .unwrap();
    let records: Vec<Value> = msgs
        .iter()
        .map(|m| {
            json!({
                "messageId": m.id, "receiptHandle": m.receipt, "body": m.body,
                "attributes": {"ApproximateReceiveCount": m.receive_count.to_string()},
                "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": "us-east-1",
            })
        })
        .collect();
    let event = serde_json::from_value(json!({"Records": records})).unwrap();
    (event, msgs.into_iter().map(|m| (m.id, m.receipt)).collect())
}

/// Lambda's part: delete the messages the function did not report as failed.
async fn acknowledge(state: &Services, queue: &str, taken: &[(String, String)], failed: &[String]) {
    for (id, receipt) in taken {
        if !failed.contains(id) {
            state.queue.delete(queue, receipt).await.unwrap();
        }
    }
}

/// Submits a Kairos full verification of `doc` and `selfie`; the answer.
async fn submit_job(state: &Services, kairos: &[(&str, &str)], doc: &[u8], selfie: &[u8]) -> Value {
    let (ct, body) = multipart(&[("document", doc), ("selfie", selfie)]);
    let (_, j) = invoke(
        state,
        apigw(
            "POST",
            "/v0.2/full-id-verification",
            kairos,
            Some((&ct, &body)),
        ),
    )
    .await;
    j
}

#[tokio::test]
async fn functions_on_aws_backends() {
    let conf = idv_aws::config(Some(&endpoint())).await;
    #[allow(unused_mut)]
    let mut settings = resources(&conf).await;
    // Receipts signed with a development key, as a secret's signing_key/signing_cert give it.
    #[cfg(feature = "certify")]
    let ca = {
        let p = idv_certify::generate_dev(None).unwrap();
        settings.receipt_keys = Some([p.signing_key, p.signing_cert, p.ca_cert.clone()]);
        p.ca_cert
    };
    // The HTTP functions without models (submit, status), and the two with them.
    let submit = idv_lambda::state(&settings, false, None).await.unwrap();
    let worker = idv_lambda::state(&settings, true, None).await.unwrap();
    let t = idv_core::accounts::create_tenant(submit.records.as_ref(), "acme", None)
        .await
        .unwrap();
    let kairos = [
        ("app_id", t.app_id.as_str()),
        ("app_key", t.app_key.as_str()),
    ];

    // Kairos async: submit → SQS → worker → DynamoDB → status.
    let doc = fixture("documents/synthetic-td3-obama.jpg");
    let selfie = fixture("faces/face_recognition__obama-720p.jpg");
    let (ct, body) = multipart(&[("document", &doc), ("selfie", &selfie)]);
    let (st, j) = invoke(
        &submit,
        apigw(
            "POST",
            "/v0.2/full-id-verification",
            &kairos,
            Some((&ct, &body)),
        ),
    )
    .await;
    assert_eq!(st, 200, "{j}");
    let id = j["api_req_uid"].as_str().unwrap().to_string();
    let status_path = format!("/v0.2/full-id-verification/{id}");
    let (_, queued) = invoke(&submit, apigw("GET", &status_path, &kairos, None)).await;
    assert_eq!(queued["response_code"], Value::Null, "{queued}");

    let (event, taken) = sqs_event(&worker, "jobs", 120).await;
    assert_eq!(taken.len(), 1);
    let first = event.clone();
    let res = idv_lambda::handle_batch(&worker, "jobs", event).await;
    assert!(res.batch_item_failures.is_empty());
    acknowledge(&worker, "jobs", &taken, &[]).await;
    let (st, done, h) = invoke_headers(&submit, apigw("GET", &status_path, &kairos, None)).await;
    assert_eq!(st, 200);
    assert_eq!(done["response_code"], 1, "{done}");
    // Its receipt, signed by the worker function.
    #[cfg(feature = "certify")]
    {
        let jws = h["x-idv-receipt"].to_str().unwrap();
        let r = idv_certify::verify_receipt(jws, ca.as_bytes()).unwrap();
        assert_eq!((&r["dialect"], &r["id"]), (&json!("kairos"), &json!(id)));
    }
    let _ = h;
    assert_eq!(
        done["response_data"]["decision"]["reject_score"], 0,
        "{done}"
    );

    // The same message delivered twice leaves one result.
    let version = worker
        .records
        .get("jobs", &id)
        .await
        .unwrap()
        .unwrap()
        .version;
    let res = idv_lambda::handle_batch(&worker, "jobs", first).await;
    assert!(res.batch_item_failures.is_empty());
    let after = worker.records.get("jobs", &id).await.unwrap().unwrap();
    assert_eq!(
        after.version, version,
        "a redelivered job is not processed again"
    );

    // Erased by id: no image in S3 (no old version either), no response in DynamoDB, a
    // tombstone kept, later polls 404.
    let tenant = &t.tenant;
    let erase = format!("/v1/verifications/{id}");
    let (st, tomb) = invoke(&submit, apigw("DELETE", &erase, &kairos, None)).await;
    assert_eq!(st, 200, "{tomb}");
    assert_eq!(tomb["inputs"].as_array().unwrap().len(), 2, "{tomb}");
    for name in ["document", "selfie"] {
        let key = format!("{tenant}/jobs/{id}/{name}");
        let left = idv_store::BlobStore::get(worker.blobs.as_ref(), &key)
            .await
            .unwrap();
        assert!(left.is_none(), "{key} still stored");
    }
    let record = worker
        .records
        .get("jobs", &id)
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(record["state"], "deleted", "{record}");
    assert_eq!(record["response"], Value::Null, "{record}");
    let number = done["response_data"]["document"]["data"]["document_number"]["value"]
        .as_str()
        .unwrap();
    assert!(!record.to_string().contains(number));
    let (st, _) = invoke(&submit, apigw("GET", &status_path, &kairos, None)).await;
    assert_eq!(st, 404);
    let (st, again) = invoke(&submit, apigw("DELETE", &erase, &kairos, None)).await;
    assert_eq!((st, &again), (200, &tomb));

    // Retention: the scheduled function's sweep purges the images of a job past the tenant's
    // image period and keeps its decision.
    let change = idv_core::retention::PolicyChange {
        images: Some("1s".into()),
        ..Default::default()
    };
    idv_core::retention::set_policy(submit.records.as_ref(), tenant, &change)
        .await
        .unwrap();
    let j = submit_job(&submit, &kairos, &doc, &selfie).await;
    let kept = j["api_req_uid"].as_str().unwrap().to_string();
    let (event, taken) = sqs_event(&worker, "jobs", 120).await;
    let res = idv_lambda::handle_batch(&worker, "jobs", event).await;
    assert!(res.batch_item_failures.is_empty());
    acknowledge(&worker, "jobs", &taken, &[]).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let report = idv_lambda::sweep(&submit).await.unwrap();
    assert_eq!(report["images_purged"], 1, "{report}");
    let key = format!("{tenant}/jobs/{kept}/document");
    let left = idv_store::BlobStore::get(worker.blobs.as_ref(), &key)
        .await
        .unwrap();
    assert!(left.is_none(), "{key} still stored");
    let kept_path = format!("/v0.2/full-id-verification/{kept}");
    let (st, still) = invoke(&submit, apigw("GET", &kept_path, &kairos, None)).await;
    assert_eq!((st, &still["response_code"]), (200, &json!(1)), "{still}");
    idv_core::retention::set_policy(
        submit.records.as_ref(),
        tenant,
        &idv_core::retention::PolicyChange {
            images: Some("30d".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // One-call verify through the verify function.
    let onecall = [("x-api-key", t.api_key.as_str())];
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let body = json!({"documentImage": b64(&doc), "faceImage": b64(&selfie)}).to_string();
    let (st, one, h) = invoke_headers(
        &worker,
        apigw(
            "POST",
            "/v1/verify-identity",
            &onecall,
            Some(("application/json", body.as_bytes())),
        ),
    )
    .await;
    assert_eq!(st, 200, "{one}");
    assert_eq!(one["verified"], true, "{one}");
    #[cfg(feature = "certify")]
    {
        let jws = h["x-idv-receipt"].to_str().unwrap();
        let r = idv_certify::verify_receipt(jws, ca.as_bytes()).unwrap();
        assert_eq!(r["outcome"], "APPROVED");
        // Kept in DynamoDB: the status function serves it.
        let path = format!("/v1/receipts/{}", one["verificationId"].as_str().unwrap());
        let (st, kept) = invoke(&submit, apigw("GET", &path, &onecall, None)).await;
        assert_eq!((st, kept["receipt"].as_str()), (200, Some(jws)));
    }
    let _ = h;

    // A job that fails permanently (its input is gone) ends in the dead-letter queue, with the
    // reason on the job.
    let j = submit_job(&submit, &kairos, &doc, &selfie).await;
    let bad = j["api_req_uid"].as_str().unwrap().to_string();
    let tenant = &t.tenant;
    idv_store::BlobStore::delete(
        worker.blobs.as_ref(),
        &format!("{tenant}/jobs/{bad}/selfie"),
    )
    .await
    .unwrap();
    for _ in 0..2 {
        let (event, taken) = sqs_event(&worker, "jobs", 1).await;
        assert_eq!(taken.len(), 1);
        let res = idv_lambda::handle_batch(&worker, "jobs", event).await;
        let failed: Vec<String> = res
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(failed, [taken[0].0.clone()]);
        acknowledge(&worker, "jobs", &taken, &failed).await;
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    let (_, none) = sqs_event(&worker, "jobs", 1).await;
    assert!(none.is_empty(), "moved out of the jobs queue");
    let (_, dead) = sqs_event(&worker, "jobs-dlq", 30).await;
    assert_eq!(dead.len(), 1, "in the dead-letter queue");
    let rec = worker.records.get("jobs", &bad).await.unwrap().unwrap();
    assert_eq!(
        rec.value["last_error"]["code"], "INPUT_MISSING",
        "{}",
        rec.value
    );

    // Disabled, the tenant is refused; deleted, nothing of it is left in S3 or DynamoDB.
    let left_doc = format!("{tenant}/jobs/{bad}/document");
    assert!(worker.blobs.get(&left_doc).await.unwrap().is_some());
    idv_core::tenants::set_disabled(submit.records.as_ref(), tenant, true)
        .await
        .unwrap();
    submit.verified.forget_tenant(tenant);
    let (st, j) = invoke(&submit, apigw("GET", &kept_path, &kairos, None)).await;
    assert_eq!(st, 403, "{j}");
    assert!(j.to_string().contains("TENANT_DISABLED"), "{j}");
    let deleted = idv_core::tenants::delete(
        submit.records.as_ref(),
        submit.blobs.as_ref(),
        &submit.dialects,
        tenant,
    )
    .await
    .unwrap();
    // The one image retention and erasure left; no version of any key stays.
    assert_eq!(deleted.blobs, 1, "{deleted:?}");
    assert!(worker.blobs.get(&left_doc).await.unwrap().is_none());
    let prefix = format!("{tenant}/");
    assert_eq!(worker.blobs.delete_prefix(&prefix).await.unwrap(), 0);
    for (table, key) in [
        ("tenants", tenant.clone()),
        ("jobs", kept.clone()),
        ("jobs", id.clone()),
        ("tombstones", format!("{tenant}/{id}")),
        ("audit_heads", tenant.clone()),
        ("credentials", format!("app_id:{}", t.app_id)),
    ] {
        let r = worker.records.get(table, &key).await.unwrap();
        assert!(r.is_none(), "{table}/{key} still stored");
    }
    for table in ["audit", "onecall", "tombstones"] {
        let r = worker
            .records
            .list(table, &format!("{tenant}/"))
            .await
            .unwrap();
        assert!(r.is_empty(), "{table}: {r:?}");
    }
    // Elsewhere refused as disabled until the minute's cache runs out, then unknown.
    let (st, _) = invoke(&submit, apigw("GET", &kept_path, &kairos, None)).await;
    assert_eq!(st, 403);
    submit.verified.forget_tenant(tenant);
    let (st, _) = invoke(&submit, apigw("GET", &kept_path, &kairos, None)).await;
    assert_eq!(st, 401, "its credentials are gone");
}

/// `PUT` of `body` to the presigned `url` (moto, plain http on loopback) with `headers`; the
/// status.
fn put(url: &str, headers: &serde_json::Map<String, Value>, body: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("a loopback http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = std::net::TcpStream::connect(host).unwrap();
    let mut head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {}\r\n", v.as_str().unwrap()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A hosted session on the AWS backends: created by the sessions function, its photos PUT to
/// S3 by presigned URLs and looked at from there, verified by the sessions worker from the
/// real SQS queue, its result read back from DynamoDB.
#[tokio::test]
async fn a_session_on_aws_backends() {
    let conf = idv_aws::config(Some(&endpoint())).await;
    let settings = resources(&conf).await;
    let sessions = idv_lambda::state(&settings, true, None).await.unwrap();
    let t = idv_core::accounts::create_tenant(sessions.records.as_ref(), "acme", None)
        .await
        .unwrap();
    let key = [("x-api-key", t.api_key.as_str())];
    let body = json!({"document_types": ["passport"]}).to_string();
    let (st, s) = invoke(
        &sessions,
        apigw(
            "POST",
            "/v1/sessions",
            &key,
            Some(("application/json", body.as_bytes())),
        ),
    )
    .await;
    assert_eq!(st, 201, "{s}");
    let token = s["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let id = s["id"].as_str().unwrap().to_string();
    for (name, file) in [
        ("document", "documents/synthetic-td3-obama.jpg"),
        ("selfie", "faces/face_recognition__obama-720p.jpg"),
    ] {
        let body = json!({"name": name, "document_type": "passport"}).to_string();
        let (st, up) = invoke(
            &sessions,
            apigw(
                "POST",
                &format!("/s/{token}/uploads"),
                &[],
                Some(("application/json", body.as_bytes())),
            ),
        )
        .await;
        assert_eq!(st, 200, "{up}");
        let url = up["url"].as_str().unwrap().to_string();
        let headers = up["headers"].as_object().unwrap().clone();
        let bytes = fixture(file);
        let status = tokio::task::spawn_blocking(move || put(&url, &headers, &bytes))
            .await
            .unwrap();
        assert_eq!(status, 200, "S3 took the {name}");
        let body = json!({"key": up["key"]}).to_string();
        let (st, shot) = invoke(
            &sessions,
            apigw(
                "POST",
                &format!("/s/{token}/images/{name}"),
                &[],
                Some(("application/json", body.as_bytes())),
            ),
        )
        .await;
        assert_eq!(
            (st, &shot["accepted"]),
            (200, &json!(true)),
            "{name}: {shot}"
        );
    }
    let (st, _) = invoke(
        &sessions,
        apigw(
            "POST",
            &format!("/s/{token}/submit"),
            &[],
            Some(("application/json", b"{}")),
        ),
    )
    .await;
    assert_eq!(st, 202);
    let (event, taken) = sqs_event(&sessions, "sessions", 60).await;
    assert_eq!(taken.len(), 1, "the session's message on SQS");
    let res = idv_lambda::handle_batch(&sessions, "sessions", event).await;
    assert!(res.batch_item_failures.is_empty(), "{res:?}");
    acknowledge(&sessions, "sessions", &taken, &[]).await;
    let (st, done) = invoke(
        &sessions,
        apigw("GET", &format!("/v1/sessions/{id}"), &key, None),
    )
    .await;
    assert_eq!(st, 200, "{done}");
    assert_eq!(done["status"], "verified", "{done}");
    assert_eq!(
        done["result"]["document"]["last_name"]["value"], "HASSAN",
        "{done}"
    );
}

/// The chip's trust store comes from the bucket (`chip-trust/index` and its files, as
/// `aws s3 sync DATA/chip-trust` puts them), loaded when a verifying function starts.
#[tokio::test]
async fn a_chip_verified_against_the_trust_store_in_the_bucket() {
    let conf = idv_aws::config(Some(&endpoint())).await;
    let settings = resources(&conf).await;
    let bucket = idv_aws::S3Blobs::new(&conf, &settings.bucket, true);
    for (key, bytes) in [
        (
            "chip-trust/idv-specimen-csca.cer",
            fixture("chip/trust/idv-specimen-csca.cer"),
        ),
        ("chip-trust/index", b"idv-specimen-csca.cer".to_vec()),
    ] {
        idv_store::BlobStore::put(
            &bucket,
            &idv_store::BlobKey::kept(key).unwrap(),
            bytes,
            "application/octet-stream",
        )
        .await
        .unwrap();
    }
    let state = idv_lambda::state(&settings, true, None).await.unwrap();
    assert_eq!(state.chip_trust.anchors.len(), 1);
    let t = idv_core::accounts::create_tenant(state.records.as_ref(), "acme", None)
        .await
        .unwrap();
    let key = [("x-api-key", t.api_key.as_str())];
    let (st, c) = invoke(&state, apigw("POST", "/v1/chip/challenge", &key, None)).await;
    assert_eq!(st, 201, "{c}");
    let b64 = |rel: &str| base64::engine::general_purpose::STANDARD.encode(fixture(rel));
    let body = json!({
        "documentImage": b64("documents/synthetic-td3-obama.jpg"),
        "faceImage": b64("faces/face_recognition__obama-720p.jpg"),
        "chip": {"sod": b64("chip/sod.bin"), "dg1": b64("chip/dg1.bin"), "dg2": b64("chip/dg2.bin")},
    })
    .to_string();
    let (st, v) = invoke(
        &state,
        apigw(
            "POST",
            "/v1/verify-identity",
            &key,
            Some(("application/json", body.as_bytes())),
        ),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["chip"]["findings"], json!(["CHIP_VERIFIED"]), "{v}");
    assert_eq!(v["verified"], true, "{v}");
}
