//! SQS-triggered webhook delivery.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    idv_lambda::run_queue(
        idv_core::CALLBACKS_QUEUE,
        idv_lambda::Needs {
            models: false,
            signer: false,
        },
    )
    .await
}
