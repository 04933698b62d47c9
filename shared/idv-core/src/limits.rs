//! Limits that keep one client from taking the machine: per-tenant request rates, budgets of
//! failed sign-ins, and bounded queues in front of scarce work (verifications, password
//! hashing) that refuse at once rather than queue without end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, ErrorCode};

/// Keys a bucket map holds at most; beyond, full (idle) buckets are dropped first, so a flood
/// of new keys costs bounded memory.
/// Largest request body: three 15 MB images as base64 (×4/3) plus the JSON around them.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

const MAX_KEYS: usize = 100_000;

/// Token buckets, one per key (a tenant, a principal, a client address), refilled at
/// `per_second` up to `burst`.
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

    /// `key`'s tokens now, after `take` tokens are taken if at least one is there.
    fn tokens(&self, key: &str, take: f64) -> f64 {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, (t, at)| *t + now.duration_since(*at).as_secs_f64() * rate < burst);
            if buckets.len() >= MAX_KEYS {
                buckets.clear();
            }
        }
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second).min(self.burst);
        *at = now;
        let before = *tokens;
        if before >= 1.0 {
            *tokens -= take;
        }
        before
    }

    /// Bytes of the keys held (tests).
    #[cfg(test)]
    pub(crate) fn key_bytes(&self) -> usize {
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.keys().map(String::len).sum()
    }

    /// Whether `key` has a token left (none is taken).
    pub fn allows(&self, key: &str) -> bool {
        self.per_second <= 0.0 || self.tokens(key, 0.0) >= 1.0
    }

    /// Takes a token from `key`'s bucket if there is one.
    pub fn spend(&self, key: &str) {
        if self.per_second > 0.0 {
            self.tokens(key, 1.0);
        }
    }

    /// Takes one request from `tenant`'s bucket, or answers 429 `RATE_LIMITED`.
    pub fn check(&self, tenant: &str) -> Result<(), Error> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        if self.tokens(tenant, 1.0) >= 1.0 {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::RateLimited,
                format!(
                    "rate limit exceeded: {} requests per second",
                    self.per_second
                ),
            ))
        }
    }
}

/// A bounded queue in front of scarce work: `running` at once and `waiting` more in line, a
/// tenant holding at most `per_tenant` of the places; beyond that a request is refused at
/// once (503 `SERVER_BUSY`, or 429 for the tenant over its share) instead of holding its
/// connection and its memory.
pub struct Admission {
    slots: Arc<Semaphore>,
    places: usize,
    taken: AtomicUsize,
    per_tenant: usize,
    tenants: Mutex<HashMap<String, usize>>,
}

/// A place in an [`Admission`]; running once [`Admitted::run`] has its slot.
pub struct Admitted {
    queue: Arc<Admission>,
    tenant: Option<String>,
}

impl Admission {
    /// `running` at once, `waiting` more in line, `per_tenant` places per tenant at most.
    pub fn new(running: usize, waiting: usize, per_tenant: usize) -> Arc<Admission> {
        Arc::new(Admission {
            slots: Arc::new(Semaphore::new(running.max(1))),
            places: running.max(1) + waiting,
            taken: AtomicUsize::new(0),
            per_tenant: per_tenant.max(1),
            tenants: Mutex::new(HashMap::new()),
        })
    }

    /// A place for `tenant`'s work, or the refusal to answer now.
    pub fn enter(self: &Arc<Self>, tenant: Option<&str>) -> Result<Admitted, Error> {
        if self.taken.fetch_add(1, Ordering::AcqRel) >= self.places {
            self.taken.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::new(
                ErrorCode::ServerBusy,
                "the server is at capacity; retry shortly",
            ));
        }
        if let Some(t) = tenant {
            let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
            let n = tenants.entry(t.to_string()).or_default();
            if *n >= self.per_tenant {
                drop(tenants);
                self.taken.fetch_sub(1, Ordering::AcqRel);
                return Err(Error::new(
                    ErrorCode::RateLimited,
                    "this account has its share of the server's capacity in use; retry shortly",
                ));
            }
            *n += 1;
        }
        Ok(Admitted {
            queue: self.clone(),
            tenant: tenant.map(str::to_string),
        })
    }

    /// A place without a bound (queue workers: their queue is the bound).
    pub fn wait(self: &Arc<Self>) -> Admitted {
        self.taken.fetch_add(1, Ordering::AcqRel);
        Admitted {
            queue: self.clone(),
            tenant: None,
        }
    }
}

impl Admitted {
    /// Waits for a running slot; held until the returned permit drops.
    pub async fn run(&self) -> Result<OwnedSemaphorePermit, Error> {
        self.queue
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(Error::internal)
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.queue.taken.fetch_sub(1, Ordering::AcqRel);
        if let Some(t) = &self.tenant {
            let mut tenants = self.queue.tenants.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(n) = tenants.get_mut(t) {
                *n -= 1;
                if *n == 0 {
                    tenants.remove(t);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refuses_then_refills() {
        let l = RateLimiter::new(20.0, 2.0);
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        assert_eq!(l.check("a").unwrap_err().code, ErrorCode::RateLimited);
        assert!(l.check("b").is_ok(), "buckets are per tenant");
        std::thread::sleep(std::time::Duration::from_millis(60));
        assert!(l.check("a").is_ok());
        assert!(RateLimiter::new(0.0, 1.0).check("a").is_ok());
    }

    #[tokio::test]
    async fn admission_refuses_beyond_its_places_and_a_tenants_share() {
        let q = Admission::new(1, 2, 2);
        let a1 = q.enter(Some("a")).unwrap();
        let _a2 = q.enter(Some("a")).unwrap();
        let e = q.enter(Some("a")).err().unwrap();
        assert_eq!(e.code, ErrorCode::RateLimited, "a's share is 2");
        let _b1 = q.enter(Some("b")).unwrap();
        let e = q.enter(Some("b")).err().unwrap();
        assert_eq!(e.code, ErrorCode::ServerBusy, "3 places in all");
        let running = a1.run().await.unwrap();
        drop(running);
        drop(a1);
        assert!(q.enter(Some("c")).is_ok(), "a place came free");
    }

    #[test]
    fn failure_budgets_peek_spend_and_stay_bounded() {
        let l = RateLimiter::new(1.0, 2.0);
        assert!(l.allows("k"));
        l.spend("k");
        l.spend("k");
        assert!(!l.allows("k"), "two failures spent the burst");
        assert!(l.allows("other"));
        for i in 0..(MAX_KEYS + 10) {
            l.spend(&format!("flood-{i}"));
        }
        assert!(l.buckets.lock().unwrap().len() <= MAX_KEYS);
    }
}
