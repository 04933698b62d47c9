//! SQS-triggered inference for Kairos async jobs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    idv_lambda::run_queue(
        idv_core::JOBS_QUEUE,
        idv_lambda::Needs {
            models: true,
            signer: false,
        },
    )
    .await
}
