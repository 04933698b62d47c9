//! idv's storage traits on AWS: [`S3Blobs`] (server-side encryption, presigned PUTs bound to a
//! content type and length), [`DynamoRecords`] (one table, conditional writes on a version
//! attribute, TTL) and [`SqsQueue`] (visibility timeouts, dead-letter queues by redrive policy).
//! The same conformance checks as the embedded backends run over these against an
//! S3/DynamoDB/SQS-protocol server.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use idv_store::{
    BlobKey, BlobStore, JobQueue, Message, PresignedPut, Record, RecordStore, Result, Retention,
    StoreError, check_key,
};
use tokio::sync::Mutex;

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Shared AWS configuration: region and credentials from the environment (Lambda's), or, with
/// an explicit endpoint (a local AWS-protocol server), that endpoint with static development
/// credentials in `us-east-1`.
pub async fn config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(e) = endpoint {
        loader = loader
            .endpoint_url(e)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "idv-local",
                "idv-local",
                None,
                None,
                "idv-local",
            ));
    }
    loader.load().await
}

/// The string values of a Secrets Manager secret holding a JSON object, fetched by its ARN (or
/// name) once at start: keys and token secrets never sit in a function's environment.
pub async fn secret_values(
    conf: &aws_config::SdkConfig,
    arn: &str,
) -> Result<HashMap<String, String>> {
    let out = aws_sdk_secretsmanager::Client::new(conf)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| backend(aws_sdk_secretsmanager::error::DisplayErrorContext(e)))?;
    let text = out
        .secret_string
        .ok_or_else(|| backend("the secret holds no string (a JSON object is expected)"))?;
    let values: HashMap<String, serde_json::Value> = serde_json::from_str(&text)
        .map_err(|e| backend(format!("the secret is not a JSON object: {e}")))?;
    Ok(values
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
        .collect())
}

/// The object tag the bucket's lifecycle rule expires after the retention period.
pub const TEMPORARY: &str = "idv-retention=temporary";

/// Blobs in one S3 bucket.
pub struct S3Blobs {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Blobs {
    /// (key, version id) of the first page of versions and delete markers under `prefix`.
    async fn versions(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let listed = self
            .client
            .list_object_versions()
            .bucket(&self.bucket)
            .prefix(prefix)
            .send()
            .await
            .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        let versions = listed
            .versions()
            .iter()
            .filter_map(|v| Some((v.key()?, v.version_id()?)));
        let markers = listed
            .delete_markers()
            .iter()
            .filter_map(|m| Some((m.key()?, m.version_id()?)));
        Ok(versions
            .chain(markers)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    /// The object's tags as `key=value` pairs (what the bucket's lifecycle rule reads).
    pub async fn tags(&self, key: &str) -> Result<Vec<String>> {
        let out = self
            .client
            .get_object_tagging()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(out
            .tag_set()
            .iter()
            .map(|t| format!("{}={}", t.key(), t.value()))
            .collect())
    }

    /// `path_style` for servers without virtual-host buckets (local ones).
    pub fn new(conf: &aws_config::SdkConfig, bucket: &str, path_style: bool) -> S3Blobs {
        let c = aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(path_style)
            .build();
        S3Blobs {
            client: aws_sdk_s3::Client::from_conf(c),
            bucket: bucket.to_string(),
        }
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, content_type: &str) -> Result<()> {
        let mut req = self.client.put_object();
        if key.retention() == Retention::Temporary {
            // Evidence expires with the bucket's retention rule; certificates outlive it.
            req = req.tagging(TEMPORARY);
        }
        req.bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
            .body(bytes.into())
            .send()
            .await
            .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => Ok(Some(
                o.body
                    .collect()
                    .await
                    .map_err(backend)?
                    .into_bytes()
                    .to_vec(),
            )),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(backend(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    /// Deletes every blob under `prefix`, every version of each: listed again from the start
    /// until nothing is left, each round deleting what it saw (1000 per request).
    async fn delete_prefix(&self, prefix: &str) -> Result<usize> {
        idv_store::check_prefix(prefix)?;
        let mut keys = std::collections::BTreeSet::new();
        loop {
            let versions = self.versions(prefix).await?;
            if versions.is_empty() {
                return Ok(keys.len());
            }
            for chunk in versions.chunks(1000) {
                let objects = chunk
                    .iter()
                    .map(|(k, v)| {
                        aws_sdk_s3::types::ObjectIdentifier::builder()
                            .key(k)
                            .version_id(v)
                            .build()
                            .map_err(backend)
                    })
                    .collect::<Result<Vec<_>>>()?;
                let delete = aws_sdk_s3::types::Delete::builder()
                    .set_objects(Some(objects))
                    .quiet(true)
                    .build()
                    .map_err(backend)?;
                let out = self
                    .client
                    .delete_objects()
                    .bucket(&self.bucket)
                    .delete(delete)
                    .send()
                    .await
                    .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
                if let Some(e) = out.errors().first() {
                    return Err(backend(format!(
                        "deleting {}: {}",
                        e.key().unwrap_or("?"),
                        e.message().unwrap_or("?")
                    )));
                }
            }
            keys.extend(versions.into_iter().map(|(k, _)| k));
        }
    }

    /// Deletes every version of `key` (and its delete markers): on the versioned bucket a
    /// plain delete would keep the bytes as a noncurrent version until the lifecycle rule
    /// expires it, and an erasure must not wait for that.
    async fn delete(&self, key: &str) -> Result<()> {
        check_key(key)?;
        loop {
            let versions: Vec<String> = (self.versions(key).await?.into_iter())
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v)
                .collect();
            if versions.is_empty() {
                return Ok(());
            }
            for v in versions {
                self.client
                    .delete_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .version_id(v)
                    .send()
                    .await
                    .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
            }
        }
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        expires_in: Duration,
    ) -> Result<PresignedPut> {
        check_key(key)?;
        let p = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .tagging(TEMPORARY)
            .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
            // One PUT per URL: a second would replace an image already kept as evidence.
            .if_none_match("*")
            .presigned(
                aws_sdk_s3::presigning::PresigningConfig::expires_in(expires_in)
                    .map_err(backend)?,
            )
            .await
            .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        let _ = max_bytes; // S3 PUT URLs cannot bound a size range; idv checks size on use.
        Ok(PresignedPut {
            url: p.uri().to_string(),
            method: "PUT",
            headers: p
                .headers()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            expires_at: idv_store::now_ms() / 1000 + expires_in.as_secs(),
        })
    }
}

/// Records in one DynamoDB table: partition key `pk` (the record table), sort key `sk` (the
/// key), `version` (number), `value` (JSON text), optional `expires_at` (TTL attribute).
pub struct DynamoRecords {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoRecords {
    pub fn new(conf: &aws_config::SdkConfig, table: &str) -> DynamoRecords {
        DynamoRecords {
            client: aws_sdk_dynamodb::Client::new(conf),
            table: table.to_string(),
        }
    }
}

fn record(item: &HashMap<String, AttributeValue>) -> Result<Record> {
    let version = item
        .get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| StoreError::Corrupt("record without a version".into()))?;
    let value = item
        .get("value")
        .and_then(|v| v.as_s().ok())
        .ok_or_else(|| StoreError::Corrupt("record without a value".into()))?;
    Ok(Record {
        version,
        value: serde_json::from_str(value).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

#[async_trait]
impl RecordStore for DynamoRecords {
    async fn get(&self, table: &str, key: &str) -> Result<Option<Record>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(table.into()))
            .key("sk", AttributeValue::S(key.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        out.item.as_ref().map(record).transpose()
    }

    async fn write(
        &self,
        table: &str,
        key: &str,
        expected: Option<u64>,
        value: serde_json::Value,
    ) -> Result<()> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(table.into()))
            .item("sk", AttributeValue::S(key.into()))
            .item(
                "version",
                AttributeValue::N(expected.map_or(1, |v| v + 1).to_string()),
            )
            .item("value", AttributeValue::S(value.to_string()));
        if let Some(ttl) = value.get("expires_at").and_then(|v| v.as_u64()) {
            req = req.item("expires_at", AttributeValue::N(ttl.to_string()));
        }
        req = match expected {
            None => req.condition_expression("attribute_not_exists(pk)"),
            Some(v) => req
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
        };
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(idv_store::conflict(table, key))
            }
            Err(e) => Err(backend(aws_sdk_dynamodb::error::DisplayErrorContext(e))),
        }
    }

    async fn remove(&self, table: &str, key: &str) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(table.into()))
            .key("sk", AttributeValue::S(key.into()))
            .send()
            .await
            .map_err(|e| backend(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    async fn list(&self, table: &str, prefix: &str) -> Result<Vec<(String, Record)>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            // DynamoDB refuses `begins_with` on an empty string: the whole table then.
            let query = self.client.query().table_name(&self.table);
            let query = if prefix.is_empty() {
                query.key_condition_expression("pk = :t")
            } else {
                query
                    .key_condition_expression("pk = :t AND begins_with(sk, :p)")
                    .expression_attribute_values(":p", AttributeValue::S(prefix.into()))
            };
            let res = query
                .expression_attribute_values(":t", AttributeValue::S(table.into()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| backend(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            for item in res.items() {
                let key = item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                out.push((key, record(item)?));
            }
            match res.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(out)
    }
}

/// Queues in SQS, by name (`PREFIX-NAME`); their dead-letter queues are set by the template's
/// redrive policies.
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    prefix: String,
    urls: Mutex<HashMap<String, String>>,
}

impl SqsQueue {
    pub fn new(conf: &aws_config::SdkConfig, prefix: &str) -> SqsQueue {
        SqsQueue {
            client: aws_sdk_sqs::Client::new(conf),
            prefix: prefix.to_string(),
            urls: Mutex::new(HashMap::new()),
        }
    }

    /// The queue URL of `name` (looked up once).
    pub async fn url(&self, name: &str) -> Result<String> {
        if let Some(u) = self.urls.lock().await.get(name) {
            return Ok(u.clone());
        }
        let full = format!("{}{name}", self.prefix);
        let u = self
            .client
            .get_queue_url()
            .queue_name(&full)
            .send()
            .await
            .map_err(|e| backend(aws_sdk_sqs::error::DisplayErrorContext(e)))?
            .queue_url
            .ok_or_else(|| backend(format!("no URL for queue {full}")))?;
        self.urls.lock().await.insert(name.to_string(), u.clone());
        Ok(u)
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn send(&self, queue: &str, body: &str) -> Result<String> {
        let out = self
            .client
            .send_message()
            .queue_url(self.url(queue).await?)
            .message_body(body)
            .send()
            .await
            .map_err(|e| backend(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(out.message_id.unwrap_or_default())
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Message>> {
        let out = self
            .client
            .receive_message()
            .queue_url(self.url(queue).await?)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(visibility.as_secs().min(43_200) as i32)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount,
            )
            .send()
            .await
            .map_err(|e| backend(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| Message {
                receive_count: m
                    .attributes
                    .as_ref()
                    .and_then(|a| {
                        a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
                    })
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1),
                id: m.message_id.unwrap_or_default(),
                receipt: m.receipt_handle.unwrap_or_default(),
                body: m.body.unwrap_or_default(),
            })
            .collect())
    }

    async fn delete(&self, queue: &str, receipt: &str) -> Result<()> {
        self.client
            .delete_message()
            .queue_url(self.url(queue).await?)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| backend(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    async fn retry_after(&self, queue: &str, receipt: &str, delay: Duration) -> Result<()> {
        self.client
            .change_message_visibility()
            .queue_url(self.url(queue).await?)
            .receipt_handle(receipt)
            .visibility_timeout(delay.as_secs().min(43_200) as i32)
            .send()
            .await
            .map_err(|e| backend(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    async fn depth(&self, queue: &str) -> Result<u64> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(self.url(queue).await?)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| backend(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        let attrs = out.attributes.unwrap_or_default();
        Ok([
            A::ApproximateNumberOfMessages,
            A::ApproximateNumberOfMessagesNotVisible,
        ]
        .iter()
        .filter_map(|a| attrs.get(a)?.parse::<u64>().ok())
        .sum())
    }
}

/// Names of a stack's storage, as the template creates it.
#[derive(Debug, Clone)]
pub struct Stack {
    pub bucket: String,
    pub table: String,
    pub queue_prefix: String,
}

/// Creates what template.yaml creates, under `prefix`, on the endpoint `conf` points at (a
/// local AWS-protocol server for tests and development): the bucket, the records table
/// (`pk`/`sk`) and each queue `(name, maxReceiveCount)` with its `-dlq` and redrive policy.
pub async fn create_stack(
    conf: &aws_config::SdkConfig,
    prefix: &str,
    queues: &[(&str, u32)],
) -> Result<Stack> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    use aws_sdk_sqs::types::QueueAttributeName;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    );
    let stack = Stack {
        bucket: format!("{prefix}-blobs"),
        table: format!("{prefix}-records"),
        queue_prefix: format!("{prefix}-"),
    };
    s3.create_bucket()
        .bucket(&stack.bucket)
        .send()
        .await
        .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
    s3.put_bucket_versioning()
        .bucket(&stack.bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| backend(aws_sdk_s3::error::DisplayErrorContext(e)))?;
    let key = |n: &str, t| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .map_err(backend)
    };
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(backend)
    };
    aws_sdk_dynamodb::Client::new(conf)
        .create_table()
        .table_name(&stack.table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .send()
        .await
        .map_err(|e| backend(aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    let sqs = aws_sdk_sqs::Client::new(conf);
    let sqs_err = |e| backend(aws_sdk_sqs::error::DisplayErrorContext(e));
    for (name, max) in queues {
        let dlq = sqs
            .create_queue()
            .queue_name(format!("{prefix}-{name}-dlq"))
            .send()
            .await
            .map_err(|e| backend(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        let arn = sqs
            .get_queue_attributes()
            .queue_url(dlq.queue_url.unwrap_or_default())
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(sqs_err)?
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .ok_or_else(|| backend("a queue without an ARN"))?;
        sqs.create_queue()
            .queue_name(format!("{prefix}-{name}"))
            .attributes(
                QueueAttributeName::RedrivePolicy,
                format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"{max}"}}"#),
            )
            .send()
            .await
            .map_err(|e| backend(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    }
    Ok(stack)
}
