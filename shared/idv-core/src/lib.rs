//! idv's core: everything a verification service does apart from speaking HTTP — services
//! and their builder, records and queue messages, tenants, sign-in, audit, receipts,
//! callbacks, the certificate's layout and signer, review, erasure and retention, and the
//! background jobs. It
//! names no dialect: each API reaches it through [`Dialect`] and [`jobs::Job`].

#![deny(clippy::unwrap_used)]

pub mod accounts;
pub mod audit;
pub mod beats;
pub mod callbacks;
pub mod certificate;
pub mod chip;
pub mod clock;
pub mod credentials;
pub mod digest;
pub mod erase;
pub mod error;
pub mod health;
pub mod images;
pub mod jobs;
pub mod limits;
pub mod messages;
pub mod metrics;
pub mod receipts;
pub mod records;
pub mod retention;
pub mod review;
pub mod services;
pub mod sessions;
pub mod signin;
pub mod tenants;
pub mod uploads;
pub mod webhooks;

pub use error::{Error, ErrorCode};
pub use messages::{CALLBACKS_QUEUE, CERTIFY_QUEUE, JOBS_QUEUE};
pub use services::{Builder, Config, Dialect, Seen, Services};
