//! The synchronous dialects: one-call verify and document/face endpoints, LINK identity/verify, Kairos biometric and liveness: the shared router under `lambda_http`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    idv_lambda::run_http(idv_lambda::Needs {
        models: true,
        signer: false,
    })
    .await
}
