//! The storage conformance checks over S3, DynamoDB and SQS on a real AWS-protocol server on
//! loopback (moto's server, started by tests/run; `IDV_AWS_ENDPOINT` names it).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use idv_aws::{DynamoRecords, S3Blobs, SqsQueue};
use idv_store::conformance;

fn endpoint() -> String {
    std::env::var("IDV_AWS_ENDPOINT").expect(
        "IDV_AWS_ENDPOINT must name an S3/DynamoDB/SQS-protocol server (tests/run starts moto)",
    )
}

/// Creates the bucket, table and queues these tests use, under a fresh prefix.
async fn resources(conf: &aws_config::SdkConfig) -> String {
    let p = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(format!("{p}-blobs"))
        .send()
        .await
        .unwrap();
    let ddb = aws_sdk_dynamodb::Client::new(conf);
    ddb.create_table()
        .table_name(format!("{p}-records"))
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("sk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("sk")
                .key_type(KeyType::Range)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(conf);
    let dlq = sqs
        .create_queue()
        .queue_name(format!("{p}-jobs-dlq"))
        .send()
        .await
        .unwrap();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(dlq.queue_url.unwrap())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    sqs.create_queue()
        .queue_name(format!("{p}-jobs"))
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"5"}}"#),
        )
        .send()
        .await
        .unwrap();
    p
}

#[tokio::test]
async fn aws_backends_conform() {
    let conf = idv_aws::config(Some(&endpoint())).await;
    let p = resources(&conf).await;
    conformance::blobs(&S3Blobs::new(&conf, &format!("{p}-blobs"), true), "t").await;
    conformance::records(&DynamoRecords::new(&conf, &format!("{p}-records")), "jobs").await;
    conformance::queue(&SqsQueue::new(&conf, &format!("{p}-")), "jobs").await;
}
