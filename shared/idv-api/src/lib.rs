//! idv's HTTP API: one axum router speaking the Kairos, one-call and LINK dialects over one
//! engine, plus presigned uploads, the OpenAPI document and the async job worker. The same
//! router runs in `idv serve` and under `lambda_http`.

#![deny(clippy::unwrap_used)]

pub mod audit;
pub mod auth;
pub mod callbacks;
pub mod certificate;
pub mod certify;
pub mod clock;
pub mod credentials;
pub mod erase;
pub mod error;
pub mod input;
pub mod kairos;
pub mod limits;
pub mod link;
pub mod messages;
pub mod metrics;
pub mod onecall;
pub mod openapi;
pub mod ready;
pub mod receipts;
pub mod records;
pub mod retention;
pub mod review;
pub mod state;
pub mod tenants;
pub mod turn;
pub mod uploads;

use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use callbacks::Next;
pub use error::{ApiError, ErrorCode};
pub use input::MAX_BODY;
pub use messages::{CALLBACKS_QUEUE, CERTIFY_QUEUE, JOBS_QUEUE};
pub use state::{AppState, Config};

/// Every documented route, each registered with its OpenAPI operation (`routes!`), so the
/// document lists exactly what is served.
fn routes() -> OpenApiRouter<AppState> {
    // Each dialect's routes with its own status conventions.
    let kairos = OpenApiRouter::new()
        .routes(routes!(kairos::full_submit))
        .routes(routes!(kairos::full_poll))
        .routes(routes!(kairos::full_submit_v01))
        .routes(routes!(kairos::full_poll_v01))
        .routes(routes!(kairos::document_submit))
        .routes(routes!(kairos::document_poll))
        .routes(routes!(kairos::biometric_verification))
        .routes(routes!(kairos::liveness_verification))
        .route_layer(middleware::map_response(kairos::statuses));
    let onecall = OpenApiRouter::new()
        .routes(routes!(onecall::verify_identity))
        .routes(routes!(onecall::document_scan))
        .routes(routes!(onecall::face_detect))
        .routes(routes!(onecall::face_compare))
        .route_layer(middleware::map_response(onecall::statuses));
    let link = OpenApiRouter::new()
        .routes(routes!(link::token))
        .routes(routes!(link::ping, link::ping_get))
        .routes(routes!(link::verify))
        .routes(routes!(link::verification))
        .routes(routes!(link::certificate))
        .route_layer(middleware::map_response(link::charset));
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(kairos)
        .merge(onecall)
        .merge(link)
        .routes(routes!(callbacks::show))
        .routes(routes!(callbacks::rotate))
        .routes(routes!(audit::trail))
        .routes(routes!(erase::delete))
        .routes(routes!(receipts::show))
        .routes(routes!(callbacks::drop_previous))
        .routes(routes!(uploads::create))
        .routes(routes!(review::console))
        .routes(routes!(review::login))
        .routes(routes!(review::list))
        .routes(routes!(review::show))
        .routes(routes!(review::claim))
        .routes(routes!(review::decide))
        .routes(routes!(review::image))
        .routes(routes!(openapi::document))
        .routes(routes!(openapi::health))
        .routes(routes!(ready::ready))
}

/// The OpenAPI document of [`router`].
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = routes().into_openapi();
    openapi::add_error_responses(&mut doc);
    doc
}

/// The router with every route of every dialect.
pub fn router(state: AppState) -> Router {
    let (router, mut doc) = routes().split_for_parts();
    openapi::add_error_responses(&mut doc);
    openapi::publish(&doc);
    router
        // Upload keys hold slashes: a wildcard, documented in `openapi::ApiDoc`.
        .route("/v1/uploads/{*key}", put(uploads::receive))
        .fallback(unknown_route)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(envelope))
        .with_state(state)
}

/// 404 for an unknown route, after reading (and dropping) its body up to the body limit: a
/// client still sending would otherwise see a broken pipe instead of the status.
async fn unknown_route(body: axum::body::Body) -> ApiError {
    input::drain(body, MAX_BODY).await;
    ApiError::not_found("route")
}

/// Request id, security headers, request ids in error bodies, and an access log without
/// personal data (method, route, status, time).
async fn envelope(req: Request, next: middleware::Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let matched = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let start = Instant::now();
    // A body declared larger than any route takes is refused before a byte of it is read;
    // undeclared (chunked) bodies meet the same limit as they are read.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // The client's address, where the server knows it, for the sign-in failure budgets.
    let client = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let mut res = if declared.is_some_and(|n| n > MAX_BODY as u64) {
        input::too_large_body().into_response()
    } else {
        let turn = req.extensions().get::<turn::ServerTurn>().cloned();
        // Every line logged while the request runs carries its id.
        let span = tracing::info_span!("request", request_id = %id);
        use tracing::Instrument;
        turn::TURN
            .scope(turn, auth::CLIENT.scope(client, next.run(req)))
            .instrument(span)
            .await
    };
    if let Some(err) = res.extensions().get::<ApiError>().cloned() {
        let status = res.status();
        res = (
            status,
            Json(error::ErrorBody {
                code: err.code,
                message: err.message,
                request_id: Some(id.clone()),
            }),
        )
            .into_response();
        let retry_after = match err.code {
            ErrorCode::RateLimited | ErrorCode::ServerBusy => Some("1"),
            ErrorCode::StorageFull | ErrorCode::StorageUnavailable => Some("10"),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
        }
    }
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=86400; includeSubDomains"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Log the route shape only: ids and upload keys are not personal, but keep lines short.
    let route: String = path.split('/').take(4).collect::<Vec<_>>().join("/");
    tracing::info!(%method, route, status = res.status().as_u16(), ms = start.elapsed().as_millis() as u64, request_id = %id);
    metrics::request(
        method.as_str(),
        &matched,
        res.status().as_u16(),
        start.elapsed(),
    );
    res
}

/// Runs every queue worker of the process: async jobs, certification (when a signer is
/// configured) and callbacks. When `stop` turns true, each takes no new message, finishes
/// the ones it holds, and returns; then this returns.
pub async fn run_workers(state: AppState, stop: tokio::sync::watch::Receiver<bool>) {
    let mut loops = vec![
        tokio::spawn(worker(state.clone(), JOBS_QUEUE, 120, stop.clone())),
        tokio::spawn(callback_worker(state.clone(), stop.clone())),
    ];
    if state.certifier.is_some() {
        loops.push(tokio::spawn(worker(
            state.clone(),
            CERTIFY_QUEUE,
            120,
            stop.clone(),
        )));
    }
    for l in loops {
        let _ = l.await;
    }
}

/// Callback deliveries the local worker runs at once, in all and per tenant: a tenant whose
/// receiver hangs holds at most [`CALLBACKS_PER_TENANT`] of them, each for one attempt's
/// deadline, and the others' callbacks go past.
pub const CALLBACKS_IN_FLIGHT: usize = 32;
/// See [`CALLBACKS_IN_FLIGHT`].
pub const CALLBACKS_PER_TENANT: usize = 4;

/// The callbacks queue's loop: each message delivered in a task of its own, at most
/// [`CALLBACKS_IN_FLIGHT`] at once; a message of a tenant that already has
/// [`CALLBACKS_PER_TENANT`] deliveries running goes back to the queue for a second, uncounted.
async fn callback_worker(state: AppState, stop: tokio::sync::watch::Receiver<bool>) {
    // The global slot is taken before a message is received; the admission then only holds
    // each tenant to its share.
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(CALLBACKS_IN_FLIGHT));
    let shares = limits::Admission::new(CALLBACKS_IN_FLIGHT, 0, CALLBACKS_PER_TENANT);
    loop {
        state.beats.beat(CALLBACKS_QUEUE);
        if *stop.borrow() {
            // Wait for the deliveries running (each bounded by its attempt deadline).
            let _ = slots.acquire_many(CALLBACKS_IN_FLIGHT as u32).await;
            return;
        }
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let messages = match state
            .queue
            .receive(
                CALLBACKS_QUEUE,
                1,
                Duration::from_secs(60),
                Duration::from_secs(5),
            )
            .await
        {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(queue = CALLBACKS_QUEUE, error = %e, "queue receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Some(m) = messages.into_iter().next() else {
            continue;
        };
        let tenant = messages::decode::<messages::Callback>(CALLBACKS_QUEUE, &m.body)
            .map(|c| c.tenant)
            .unwrap_or_default();
        let Ok(share) = shares.enter(Some(&tenant)) else {
            if let Err(e) = state
                .queue
                .release(CALLBACKS_QUEUE, &m.receipt, Duration::from_secs(1))
                .await
            {
                tracing::error!(error = %e, "returning a callback to the queue failed");
            }
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            settle(&state, CALLBACKS_QUEUE, &m).await;
            drop((share, slot));
        });
    }
}

/// Processes one received message and acknowledges it, schedules its retry, or leaves it to
/// come back after its visibility timeout.
async fn settle(state: &AppState, queue: &'static str, m: &idv_store::Message) {
    match handle_message(state, queue, &m.body, m.receive_count).await {
        Ok(Next::Done) => {
            if let Err(e) = state.queue.delete(queue, &m.receipt).await {
                tracing::error!(queue, error = %e, "acknowledgement failed");
            }
        }
        Ok(Next::RetryIn(delay)) => {
            if let Err(e) = state.queue.retry_after(queue, &m.receipt, delay).await {
                tracing::error!(queue, error = %e, "scheduling a retry failed");
            }
        }
        Err(e) => {
            tracing::error!(queue, error = %e.message, code = %e.code, attempt = m.receive_count, "message failed; will retry")
        }
    }
}

/// Processes one message of `queue` (received `attempt` times): what every queue consumer
/// runs, the local workers and the SQS-triggered functions alike.
pub async fn handle_message(
    state: &AppState,
    queue: &str,
    body: &str,
    attempt: u32,
) -> Result<Next, ApiError> {
    match queue {
        JOBS_QUEUE => kairos::run_job(state, body, attempt)
            .await
            .map(|_| Next::Done),
        CALLBACKS_QUEUE => callbacks::deliver(state, body).await,
        CERTIFY_QUEUE => {
            let Some(c) = state.certifier.clone() else {
                return Err(ApiError::internal("certification is not configured"));
            };
            match certify::run(state, &c, body).await {
                Ok(()) => Ok(Next::Done),
                // The last attempt: tell the client with an Error callback.
                Err(e) if attempt >= certify::MAX_ATTEMPTS => {
                    certify::failed(state, body, &e).await?;
                    Ok(Next::Done)
                }
                Err(e) => Err(e),
            }
        }
        other => Err(ApiError::internal(format!("no consumer for queue {other}"))),
    }
}

/// One queue's loop: receive, process, acknowledge, until `stop` turns true (what it received
/// is processed first). A message whose processing fails stays on the queue and comes back
/// after `visibility` seconds, then goes to the dead-letter queue.
async fn worker(
    state: AppState,
    queue: &'static str,
    visibility: u64,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        state.beats.beat(queue);
        if *stop.borrow() {
            return;
        }
        let messages = match state
            .queue
            .receive(
                queue,
                2,
                Duration::from_secs(visibility),
                Duration::from_secs(5),
            )
            .await
        {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(queue, error = %e, "queue receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for m in messages {
            settle(&state, queue, &m).await;
        }
    }
}
