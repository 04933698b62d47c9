//! Scheduled (EventBridge) retention sweep over every tenant.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    idv_lambda::run_sweeps(idv_lambda::Needs {
        models: false,
        signer: false,
    })
    .await
}
