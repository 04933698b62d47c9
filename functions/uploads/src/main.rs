//! Presigned S3 uploads (POST /v1/uploads): the shared router under `lambda_http`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    idv_lambda::run_http(idv_lambda::Needs {
        models: false,
        signer: false,
    })
    .await
}
