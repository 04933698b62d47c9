//! Hosted verification sessions: their API and the capture page (the page's shot checks run
//! the models).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    idv_lambda::run_http(idv_lambda::Needs {
        models: true,
        signer: false,
    })
    .await
}
