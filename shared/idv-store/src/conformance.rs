//! The behaviour every backend must have, as async checks over the traits: the embedded
//! backends run them in this crate's tests, the AWS backends against an S3/DynamoDB/SQS
//! protocol server. Each check panics with a message on a violation.

use std::time::Duration;

use serde_json::json;

use crate::{BlobKey, BlobStore, JobQueue, RecordStore};

/// Blobs: put, get, overwrite, delete, missing keys, invalid keys.
pub async fn blobs(b: &dyn BlobStore, prefix: &str) {
    let key = format!("{prefix}/blob/a.jpg");
    let typed = BlobKey::temporary(&key).unwrap();
    b.put(&typed, b"one".to_vec(), "image/jpeg").await.unwrap();
    assert_eq!(b.get(&key).await.unwrap().as_deref(), Some(&b"one"[..]));
    b.put(&typed, b"two".to_vec(), "image/jpeg").await.unwrap();
    assert_eq!(b.get(&key).await.unwrap().as_deref(), Some(&b"two"[..]));
    assert!(
        b.get(&format!("{prefix}/blob/none"))
            .await
            .unwrap()
            .is_none()
    );
    b.delete(&key).await.unwrap();
    assert!(b.get(&key).await.unwrap().is_none());
    b.delete(&key).await.unwrap(); // deleting twice is fine
    assert!(BlobKey::temporary("../escape").is_err());
    let kept = BlobKey::kept(format!("{prefix}/kept/c.pdf")).unwrap();
    b.put(&kept, b"pdf".to_vec(), "application/pdf")
        .await
        .unwrap();
    assert_eq!(
        b.get(kept.as_str()).await.unwrap().as_deref(),
        Some(&b"pdf"[..])
    );
    // A prefix takes every key under it and nothing beside it.
    for k in ["t/x/1", "t/x/y/2", "t/xz/3"] {
        let typed = BlobKey::temporary(format!("{prefix}/{k}")).unwrap();
        b.put(&typed, b"v".to_vec(), "image/jpeg").await.unwrap();
        b.put(&typed, b"w".to_vec(), "image/jpeg").await.unwrap();
    }
    assert!(
        b.delete_prefix(&format!("{prefix}/t/x")).await.is_err(),
        "no trailing /"
    );
    assert_eq!(b.delete_prefix(&format!("{prefix}/t/x/")).await.unwrap(), 2);
    assert!(b.get(&format!("{prefix}/t/x/1")).await.unwrap().is_none());
    assert!(b.get(&format!("{prefix}/t/x/y/2")).await.unwrap().is_none());
    assert!(b.get(&format!("{prefix}/t/xz/3")).await.unwrap().is_some());
    assert_eq!(b.delete_prefix(&format!("{prefix}/t/x/")).await.unwrap(), 0);
    let p = b
        .presign_put(
            &format!("{prefix}/u/1"),
            "image/png",
            1000,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(p.method, "PUT");
    assert!(p.url.contains("/u/1"), "{}", p.url);
    assert!(p.expires_at > crate::now_ms() / 1000);
}

/// Records: conditional create and update, conflicts as errors, versions, listing by prefix.
pub async fn records(r: &dyn RecordStore, table: &str) {
    r.insert(table, "a", json!({"s": 1})).await.unwrap();
    let e = r.insert(table, "a", json!({"s": 2})).await.unwrap_err();
    assert!(e.is_conflict(), "second insert: {e}");
    r.replace(table, "a", 1, json!({"s": 3})).await.unwrap();
    let e = r.replace(table, "a", 1, json!({"s": 4})).await.unwrap_err();
    assert!(e.is_conflict(), "stale replace: {e}");
    let got = r.get(table, "a").await.unwrap().unwrap();
    assert_eq!((got.version, got.value), (2, json!({"s": 3})));
    assert!(r.get(table, "zz").await.unwrap().is_none());
    // Concurrent writers of one version (or of one new key): exactly one wins.
    let (w1, w2, w3, w4) = tokio::join!(
        r.replace(table, "a", 2, json!({"w": 1})),
        r.replace(table, "a", 2, json!({"w": 2})),
        r.replace(table, "a", 2, json!({"w": 3})),
        r.replace(table, "a", 2, json!({"w": 4})),
    );
    let results = [w1, w2, w3, w4];
    assert_eq!(
        results.iter().filter(|w| w.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|w| w.as_ref().err().is_none_or(|e| e.is_conflict()))
    );
    let winner = results.iter().position(|w| w.is_ok()).unwrap() + 1;
    let got = r.get(table, "a").await.unwrap().unwrap();
    assert_eq!((got.version, got.value), (3, json!({ "w": winner })));
    let (i1, i2) = tokio::join!(
        r.insert(table, "new", json!(1)),
        r.insert(table, "new", json!(2))
    );
    assert!(i1.is_ok() != i2.is_ok(), "{i1:?} {i2:?}");
    r.insert(table, "ab", json!(1)).await.unwrap();
    r.insert(table, "b", json!(1)).await.unwrap();
    let keys: Vec<String> = r
        .list(table, "a")
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(keys, ["a", "ab"]);
    let all: Vec<String> = r
        .list(table, "")
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(
        all,
        ["a", "ab", "b", "new"],
        "an empty prefix lists the whole table"
    );
    r.remove(table, "ab").await.unwrap();
    r.remove(table, "ab").await.unwrap(); // removing twice is fine
    assert!(r.get(table, "ab").await.unwrap().is_none());
    r.insert(table, "ab", json!(2)).await.unwrap();
    assert_eq!(
        r.get(table, "ab").await.unwrap().unwrap().version,
        1,
        "a new record"
    );
    let other = format!("{table}-other");
    assert!(
        r.get(&other, "a").await.unwrap().is_none(),
        "tables are separate"
    );
}

/// Queues: receive, invisibility, redelivery with counts, stale receipts, delete, retry later.
pub async fn queue(q: &dyn JobQueue, name: &str) {
    assert_eq!(q.depth(name).await.unwrap(), 0);
    q.send(name, "one").await.unwrap();
    assert_eq!(q.depth(name).await.unwrap(), 1);
    let vis = Duration::from_secs(2);
    let m = q
        .receive(name, 10, vis, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(
        q.depth(name).await.unwrap(),
        1,
        "a received message still counts"
    );
    assert_eq!((m[0].body.as_str(), m[0].receive_count), ("one", 1));
    assert!(
        q.receive(name, 10, vis, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let again = q
        .receive(name, 10, vis, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].receive_count, 2);
    q.delete(name, &again[0].receipt).await.unwrap();
    assert_eq!(q.depth(name).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        q.receive(name, 10, vis, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );

    q.send(name, "later").await.unwrap();
    let m = q
        .receive(name, 1, Duration::from_secs(60), Duration::from_secs(5))
        .await
        .unwrap();
    q.retry_after(name, &m[0].receipt, Duration::from_secs(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let m = q
        .receive(name, 1, vis, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(m[0].body, "later");
    q.delete(name, &m[0].receipt).await.unwrap();
}
