//! The routes every dialect shares: uploads, audit, callbacks, receipts, erasure, the reviewer
//! console and readiness; and `idv serve`'s admin API and metrics.

use idv_core::Services;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub mod admin;
pub mod audit;
pub mod callbacks;
pub mod chip;
pub mod erase;
pub mod metrics;
pub mod ready;
pub mod receipts;
pub mod review;
pub mod uploads;

/// The shared routes, each with its OpenAPI operation.
pub fn routes() -> OpenApiRouter<Services> {
    OpenApiRouter::new()
        .routes(routes!(callbacks::show))
        .routes(routes!(callbacks::rotate))
        .routes(routes!(audit::trail))
        .routes(routes!(erase::delete))
        .routes(routes!(receipts::show))
        .routes(routes!(callbacks::drop_previous))
        .routes(routes!(uploads::create))
        .routes(routes!(chip::challenge))
        .routes(routes!(review::console))
        .routes(routes!(review::console_js))
        .routes(routes!(review::console_css))
        .routes(routes!(review::login))
        .routes(routes!(review::logout))
        .routes(routes!(review::list))
        .routes(routes!(review::show))
        .routes(routes!(review::claim))
        .routes(routes!(review::decide))
        .routes(routes!(review::image))
        .routes(routes!(ready::ready))
}
