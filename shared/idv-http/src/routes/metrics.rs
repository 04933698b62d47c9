//! `GET /metrics` on `idv serve`: the process's figures in the Prometheus text format, with
//! each queue's depth read at scrape time.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use idv_core::Services;

/// `GET /metrics`, behind `token` if one is set.
pub async fn metrics(state: Services, token: Option<String>, headers: HeaderMap) -> Response {
    if let Some(token) = token
        && !crate::extract::bearer_matches(&headers, &token)
    {
        return (StatusCode::UNAUTHORIZED, "metrics token required\n").into_response();
    }
    let mut gauges = Vec::new();
    for job in crate::jobs() {
        let queue = job.queue();
        if let Ok(depth) = state.queue.depth(queue).await {
            gauges.push(idv_core::metrics::Gauge {
                name: "idv_queue_messages",
                help: "Messages in a queue, waiting or being processed.",
                label: ("queue", queue.to_string()),
                value: depth as f64,
            });
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        idv_core::metrics::render(&gauges),
    )
        .into_response()
}
