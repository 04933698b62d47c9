//! The APIs idv speaks, one folder each: its handlers, wire shapes, forms and its
//! [`Dialect`] for the core's data lifecycle. A new API is a folder beside these and one line
//! in [`all`].

use std::sync::Arc;

use idv_core::jobs::{self, Job};
use idv_core::{Dialect, Services};
use utoipa_axum::router::OpenApiRouter;

pub mod kairos;
pub mod link;
pub mod onecall;
pub mod sessions;

/// One API as the edge serves it.
pub struct Api {
    /// What the core's data lifecycle needs of it.
    pub dialect: Arc<dyn Dialect>,
    /// Builds its routes, each with its OpenAPI operation (built only where they are
    /// served, not for [`dialects`] and [`jobs`]).
    pub routes: fn() -> OpenApiRouter<Services>,
    /// The background jobs it adds.
    pub jobs: Vec<Arc<dyn Job>>,
}

/// Every API served.
fn all() -> [Api; 4] {
    [kairos::api(), onecall::api(), link::api(), sessions::api()]
}

/// Every API's routes.
pub fn routes() -> OpenApiRouter<Services> {
    all()
        .into_iter()
        .fold(OpenApiRouter::new(), |r, api| r.merge((api.routes)()))
}

/// Every API's [`Dialect`], for [`idv_core::Builder::dialects`].
pub fn dialects() -> Vec<Arc<dyn Dialect>> {
    all().into_iter().map(|api| api.dialect).collect()
}

/// Every background job: the core's (callbacks) and each API's (Kairos jobs, LINK
/// certification).
pub fn jobs() -> Vec<Arc<dyn Job>> {
    let mut out: Vec<Arc<dyn Job>> = vec![Arc::new(jobs::Callbacks)];
    out.extend(all().into_iter().flat_map(|api| api.jobs));
    out
}

/// Services on embedded backends under `dir` serving every API (tests).
#[cfg(test)]
pub(crate) fn for_tests(dir: &std::path::Path) -> Services {
    Services::embedded(dir, dialects())
}
