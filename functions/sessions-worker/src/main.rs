//! SQS-triggered verification of hosted sessions whose images are in.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    idv_lambda::run_queue(
        idv_core::messages::SESSIONS_QUEUE,
        idv_lambda::Needs {
            models: true,
            signer: false,
        },
    )
    .await
}
