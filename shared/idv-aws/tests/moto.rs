//! The storage conformance checks over S3, DynamoDB and SQS on a real AWS-protocol server on
//! loopback (moto's server, started by tests/run; `IDV_AWS_ENDPOINT` names it).

use idv_aws::{DynamoRecords, S3Blobs, SqsQueue};
use idv_store::conformance;

fn endpoint() -> String {
    std::env::var("IDV_AWS_ENDPOINT").expect(
        "IDV_AWS_ENDPOINT must name an S3/DynamoDB/SQS-protocol server (tests/run starts moto)",
    )
}

#[tokio::test]
async fn aws_backends_conform() {
    let conf = idv_aws::config(Some(&endpoint())).await;
    let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let s = idv_aws::create_stack(&conf, &prefix, &[("jobs", 5)])
        .await
        .unwrap();
    conformance::blobs(&S3Blobs::new(&conf, &s.bucket, true), "t").await;
    conformance::records(&DynamoRecords::new(&conf, &s.table), "jobs").await;
    conformance::queue(&SqsQueue::new(&conf, &s.queue_prefix), "jobs").await;
}

#[tokio::test]
async fn retention_comes_from_the_key_type_not_its_text() {
    use idv_store::{BlobKey, BlobStore};
    let conf = idv_aws::config(Some(&endpoint())).await;
    let prefix = format!("r{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let s = idv_aws::create_stack(&conf, &prefix, &[]).await.unwrap();
    let blobs = S3Blobs::new(&conf, &s.bucket, true);
    // A client-chosen id that looks like a certificate path stays evidence.
    let evidence = BlobKey::temporary("t/certify/x/certificates/y/thumb-0.png").unwrap();
    let certificate = BlobKey::kept("t/certificates/req-1.pdf").unwrap();
    for k in [&evidence, &certificate] {
        blobs.put(k, b"x".to_vec(), "image/png").await.unwrap();
    }
    assert_eq!(
        blobs.tags(evidence.as_str()).await.unwrap(),
        [idv_aws::TEMPORARY]
    );
    assert!(blobs.tags(certificate.as_str()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_deleted_blob_leaves_no_version_behind() {
    use idv_store::{BlobKey, BlobStore};
    let conf = idv_aws::config(Some(&endpoint())).await;
    let prefix = format!("d{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let s = idv_aws::create_stack(&conf, &prefix, &[]).await.unwrap();
    let blobs = S3Blobs::new(&conf, &s.bucket, true);
    let key = BlobKey::temporary("t/jobs/j1/document").unwrap();
    let sibling = BlobKey::temporary("t/jobs/j1/document_back").unwrap();
    // Two versions of the key (the bucket is versioned, as the template makes it).
    blobs
        .put(&key, b"first".to_vec(), "image/jpeg")
        .await
        .unwrap();
    blobs
        .put(&key, b"second".to_vec(), "image/jpeg")
        .await
        .unwrap();
    blobs
        .put(&sibling, b"back".to_vec(), "image/jpeg")
        .await
        .unwrap();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let versions = |k: &'static str| {
        let (s3, bucket) = (s3.clone(), s.bucket.clone());
        async move {
            let l = s3
                .list_object_versions()
                .bucket(bucket)
                .prefix(k)
                .send()
                .await
                .unwrap();
            l.versions().iter().filter(|v| v.key() == Some(k)).count()
                + l.delete_markers()
                    .iter()
                    .filter(|m| m.key() == Some(k))
                    .count()
        }
    };
    assert_eq!(versions("t/jobs/j1/document").await, 2);
    blobs.delete(key.as_str()).await.unwrap();
    assert_eq!(
        versions("t/jobs/j1/document").await,
        0,
        "no old version, no marker"
    );
    assert_eq!(blobs.get(key.as_str()).await.unwrap(), None);
    assert_eq!(
        blobs.get(sibling.as_str()).await.unwrap().as_deref(),
        Some(&b"back"[..]),
        "a key sharing the prefix stays"
    );
    blobs.delete(key.as_str()).await.unwrap();
}

/// `PUT` of `body` to `url` (plain http on loopback) with `headers`; the status.
fn put(url: &str, headers: &std::collections::BTreeMap<String, String>, body: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("a loopback http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = std::net::TcpStream::connect(host).unwrap();
    let mut head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
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

#[tokio::test]
async fn a_presigned_upload_takes_one_put() {
    use idv_store::BlobStore;
    let conf = idv_aws::config(Some(&endpoint())).await;
    let prefix = format!("u{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let s = idv_aws::create_stack(&conf, &prefix, &[]).await.unwrap();
    let blobs = S3Blobs::new(&conf, &s.bucket, true);
    let p = blobs
        .presign_put(
            "t/uploads/u1",
            "image/jpeg",
            1 << 20,
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(
        p.headers.get("if-none-match").map(String::as_str),
        Some("*"),
        "{:?}",
        p.headers
    );
    let url = p.url.clone();
    let headers = p.headers.clone();
    let (first, second) = tokio::task::spawn_blocking(move || {
        (
            put(&url, &headers, b"first"),
            put(&url, &headers, b"second"),
        )
    })
    .await
    .unwrap();
    assert_eq!(first, 200);
    assert_eq!(second, 412, "a second PUT must not replace the first");
    assert_eq!(
        blobs.get("t/uploads/u1").await.unwrap().as_deref(),
        Some(&b"first"[..])
    );
}
