//! Per-tenant request rate limits: a token bucket per tenant, answered with 429 when empty.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::{ApiError, ErrorCode};

/// Token buckets, one per tenant, refilled at `per_second` up to `burst`.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_second` ≤ 0 disables the limit.
    pub fn new(per_second: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            per_second,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `tenant`'s bucket, or answers 429 `RATE_LIMITED`.
    pub fn check(&self, tenant: &str) -> Result<(), ApiError> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, at) = buckets
            .entry(tenant.to_string())
            .or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "rate limit exceeded: {} requests per second",
                    self.per_second
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn bursts_then_refuses_then_refills() {
        let l = RateLimiter::new(20.0, 2.0);
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        assert_eq!(
            l.check("a").unwrap_err().status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert!(l.check("b").is_ok(), "buckets are per tenant");
        std::thread::sleep(std::time::Duration::from_millis(60));
        assert!(l.check("a").is_ok());
        assert!(RateLimiter::new(0.0, 1.0).check("a").is_ok());
    }
}
