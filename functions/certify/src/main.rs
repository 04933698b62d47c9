//! SQS-triggered certification: render, sign, timestamp, store, call back.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    idv_lambda::run_queue(
        idv_core::CERTIFY_QUEUE,
        idv_lambda::Needs {
            models: false,
            signer: true,
        },
    )
    .await
}
