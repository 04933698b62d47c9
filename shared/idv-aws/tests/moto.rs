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
