//! Callback delivery: one message on the callbacks queue per event, POSTed as JSON until the
//! receiver answers 2xx, at least once. Each attempt is recorded (time, status code, latency);
//! failures are retried on an exponential schedule with jitter (default 8 attempts over about
//! 24 hours), then the message goes to the dead-letter queue. Payloads are signed with the
//! tenant's webhook secret(s) and carry a unique event id for de-duplication.
//!
//! Targets must be https, or http to a loopback address when the service allows private
//! targets (a development setting); a host resolving to a private, link-local or loopback
//! address is refused unless so allowed. Redirects are not followed; at most 64 KB of the
//! response body is read.

use std::time::Duration;

use serde::Serialize;

use crate::clock::timestamp;
use crate::error::{Error, ErrorCode};
use crate::messages::Next;
use crate::messages::{self, CALLBACKS_DEAD_LETTERS, CALLBACKS_QUEUE};
use crate::records::{Attempt, CALLBACKS, CallbackRecord, CallbackStatus, TENANTS};
use crate::services::Config;
use crate::webhooks::{TargetError, check_target, signature};
use idv_store::{JobQueue, RecordStore};

/// Checks a callback URL a request names, before accepting the request (400 if refused).
/// Delivery checks again: where a host resolves can change.
pub async fn check_requested(allow_private: bool, url: Option<&str>) -> Result<(), Error> {
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(());
    };
    let (url, allow) = (url.to_string(), allow_private);
    tokio::task::spawn_blocking(move || check_target(&url, allow).map(drop))
        .await
        .map_err(Error::internal)?
        .map_err(|e| {
            Error::new(
                ErrorCode::InvalidCallbackUrl,
                format!("callback URL refused: {e}"),
            )
        })
}

/// Default delays before attempts 2…8: about 24 hours in all.
pub const DEFAULT_SCHEDULE: [u64; 7] = [30, 120, 600, 1800, 7200, 21600, 54000];

/// The response header that tells a caller the event ids of the callbacks its request will
/// send (comma-separated); each delivery carries its own in the header of the same name.
pub const EVENT_HEADER: &str = "x-idv-event-id";

/// The event id of callback `kind` (`result`, `certification`, `manual`) of `request`:
/// fixed, so it can be told to the caller when the request is accepted, and a callback queued
/// again after a crash is the same event.
pub fn event_id(tenant: &str, request: &str, kind: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{tenant}/{request}/{kind}"));
    format!("evt_{}", &hex::encode(digest)[..32])
}

/// A fresh random event id (a callback no one was told about in advance).
pub fn new_event_id() -> String {
    format!("evt_{}", uuid::Uuid::new_v4().simple())
}

/// Puts callback `event` on the queue (and its record in the store). An event already
/// recorded is not queued again, unless it was never attempted (a crash between the record
/// and the message).
pub async fn enqueue(
    records: &dyn RecordStore,
    queue: &dyn JobQueue,
    tenant: &str,
    event: &str,
    url: &str,
    body: &impl Serialize,
) -> Result<(), Error> {
    let key = format!("{tenant}/{event}");
    let record = CallbackRecord {
        id: event.to_string(),
        url: url.to_string(),
        status: CallbackStatus::Pending,
        created_at: timestamp(),
        attempts: Vec::new(),
        next_attempt_at: None,
        next_attempt_ms: None,
    };
    match CALLBACKS.insert(records, &key, &record).await {
        Ok(()) => {}
        Err(idv_store::StoreError::Conflict { .. }) => {
            let queued_before = CALLBACKS.get(records, &key).await?.is_some_and(|r| {
                r.value.status != CallbackStatus::Pending || !r.value.attempts.is_empty()
            });
            if queued_before {
                return Ok(());
            }
        }
        Err(e) => return Err(e.into()),
    }
    let msg = messages::Callback {
        event_id: event.to_string(),
        tenant: tenant.to_owned(),
        url: url.to_owned(),
        body: serde_json::to_string(body).map_err(Error::internal)?,
    };
    queue.send(CALLBACKS_QUEUE, &messages::encode(&msg)).await?;
    Ok(())
}

/// The tenant's default callback URL, for requests that name none.
pub async fn tenant_default(
    records: &dyn RecordStore,
    tenant: &str,
) -> Result<Option<String>, Error> {
    Ok(TENANTS
        .get(records, tenant)
        .await?
        .and_then(|t| t.value.callback().map(str::to_string)))
}

/// `requested` when the request named a URL, else the tenant's default callback URL.
pub async fn url_or_default(
    records: &dyn RecordStore,
    tenant: &str,
    requested: Option<&str>,
) -> Result<Option<String>, Error> {
    match requested.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => Ok(Some(u.to_string())),
        None => tenant_default(records, tenant).await,
    }
}

/// One delivery attempt of a callback message.
pub async fn deliver(
    records: &dyn RecordStore,
    queue: &dyn JobQueue,
    config: &Config,
    body: &str,
) -> Result<Next, Error> {
    let Some(msg) = messages::decode::<messages::Callback>(CALLBACKS_QUEUE, body) else {
        return Ok(Next::Done);
    };
    let (url, event, tenant) = (msg.url.as_str(), msg.event_id.as_str(), msg.tenant.as_str());
    let key = format!("{tenant}/{event}");
    let Some(rec) = CALLBACKS.get(records, &key).await? else {
        return Ok(Next::Done);
    };
    if !matches!(
        rec.value.status,
        CallbackStatus::Pending | CallbackStatus::Retrying
    ) {
        return Ok(Next::Done); // a redelivered message of a finished callback
    }
    // Never early: a message that comes back before its time (a restart, a queue that caps
    // delays) waits for the rest.
    let now = idv_store::now_ms();
    if let Some(due) = rec.value.next_attempt_ms.filter(|&due| due > now) {
        return Ok(Next::RetryIn(Duration::from_millis(due - now)));
    }
    let secrets = TENANTS
        .get(records, tenant)
        .await?
        .map(|t| t.value.webhook_secrets)
        .unwrap_or_default();
    let payload = msg.body.clone();
    let t = idv_store::now_ms() / 1000;
    let sig = signature(&secrets, t, &payload);
    let (url_s, event_s) = (url.to_string(), event.to_string());
    let allow = config.allow_private_callbacks;
    let client = config.webhooks.clone();
    let started = std::time::Instant::now();
    let result = tokio::task::spawn_blocking(move || -> Result<u16, String> {
        // A host that does not resolve now is a failed attempt, retried on the schedule;
        // only a target that is never allowed ends the callback.
        let vetted = check_target(&url_s, allow).map_err(|e| match e {
            TargetError::Refused(m) => format!("refused: {m}"),
            TargetError::Unresolved(m) => m,
        })?;
        let mut res = client
            .pinned(vetted)
            .post(&url_s)
            .header("content-type", "application/json")
            .header("x-idv-event-id", &event_s)
            .header("x-idv-timestamp", t.to_string())
            .header("x-idv-signature", &sig)
            .send(payload.as_bytes())
            .map_err(|e| e.to_string())?;
        let _ = res.body_mut().with_config().limit(64 * 1024).read_to_vec();
        Ok(res.status().as_u16())
    })
    .await
    // A panic in the HTTP client is a failed attempt like any other.
    .unwrap_or_else(|e| Err(format!("internal error in delivery: {e}")));
    let latency = started.elapsed().as_millis() as u64;
    let mut record = rec.value;
    record.attempts.push(Attempt {
        at: timestamp(),
        status_code: result.as_ref().ok().copied(),
        latency_ms: latency,
        error: result.as_ref().err().cloned(),
    });
    let attempts = record.attempts.len();
    let schedule = &config.callback_schedule;
    (record.next_attempt_at, record.next_attempt_ms) = (None, None);
    let next = match &result {
        Ok(code) if (200..300).contains(code) => {
            record.status = CallbackStatus::Delivered;
            crate::metrics::callback("delivered");
            Next::Done
        }
        Err(e) if e.starts_with("refused") => {
            tracing::warn!(event = %event, "callback target refused");
            record.status = CallbackStatus::Refused;
            crate::metrics::callback("refused");
            Next::Done
        }
        _ if attempts > schedule.len() => {
            tracing::warn!(event = %event, attempts, "callback dead-lettered");
            record.status = CallbackStatus::DeadLettered;
            crate::metrics::callback("dead_lettered");
            queue.send(CALLBACKS_DEAD_LETTERS, body).await?;
            Next::Done
        }
        _ => {
            // Exponential schedule with ±10 % jitter, so retries of many callbacks spread out.
            let base = schedule[attempts - 1] as f64;
            let mut r = [0u8; 1];
            let _ = getrandom_byte(&mut r);
            let jitter = 0.9 + 0.2 * f64::from(r[0]) / 255.0;
            let delay = Duration::from_secs_f64(base * jitter);
            let due = idv_store::now_ms() + delay.as_millis() as u64;
            record.status = CallbackStatus::Retrying;
            crate::metrics::callback("retrying");
            record.next_attempt_at = Some(crate::clock::timestamp_at(due));
            record.next_attempt_ms = Some(due);
            Next::RetryIn(delay)
        }
    };
    // A conflict means another delivery of this message is recording its own attempt: this
    // one fails and the message comes back (at-least-once; receivers dedupe by event id).
    CALLBACKS
        .replace(records, &key, rec.version, &record)
        .await?;
    Ok(next)
}

fn getrandom_byte(b: &mut [u8]) -> Result<(), rand_core::Error> {
    use rand_core::RngCore;
    rand_core::OsRng.try_fill_bytes(b)
}

/// Gives `tenant` a new webhook signing secret (returned; shown once); the previous one still
/// signs until [`drop_previous_secret`].
pub async fn rotate_secret(
    records: &dyn idv_store::RecordStore,
    tenant: &str,
) -> Result<String, Error> {
    let secret = crate::credentials::webhook_secret();
    update_secrets(records, tenant, |s| {
        s.truncate(1);
        s.insert(0, secret.clone());
    })
    .await?;
    crate::audit::record(records, tenant, "api_key", "webhook_secret.rotate", None).await?;
    Ok(secret)
}

/// Ends a rotation: only the newest secret of `tenant` signs.
pub async fn drop_previous_secret(
    records: &dyn idv_store::RecordStore,
    tenant: &str,
) -> Result<(), Error> {
    update_secrets(records, tenant, |s| s.truncate(1)).await?;
    crate::audit::record(
        records,
        tenant,
        "api_key",
        "webhook_secret.drop_previous",
        None,
    )
    .await
    .map(drop)
}

async fn update_secrets(
    records: &dyn idv_store::RecordStore,
    tenant: &str,
    change: impl Fn(&mut Vec<String>),
) -> Result<(), Error> {
    let updated = TENANTS
        .update(records, tenant, |t| {
            change(&mut t.webhook_secrets);
            true
        })
        .await?;
    updated
        .map(|_| ())
        .ok_or_else(|| Error::not_found("tenant"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_host_that_does_not_resolve_is_retried_not_dropped() {
        let dir = std::env::temp_dir().join(format!("idv-dns-{}", std::process::id()));
        let state = crate::services::Services::embedded(&dir, Vec::new());
        assert!(matches!(
            check_target("https://no-such-host.invalid/cb", false),
            Err(TargetError::Unresolved(_))
        ));
        let event = new_event_id();
        enqueue(
            state.records.as_ref(),
            state.queue.as_ref(),
            "t_1",
            &event,
            "https://no-such-host.invalid/cb",
            &"{}",
        )
        .await
        .unwrap();
        let msg = state
            .queue
            .receive(CALLBACKS_QUEUE, 1, Duration::from_secs(60), Duration::ZERO)
            .await
            .unwrap()
            .remove(0);
        let next = deliver(
            state.records.as_ref(),
            state.queue.as_ref(),
            &state.config,
            &msg.body,
        )
        .await
        .unwrap();
        assert!(matches!(next, Next::RetryIn(_)), "{next:?}");
        let rec = CALLBACKS
            .get(state.records.as_ref(), &format!("t_1/{event}"))
            .await
            .unwrap()
            .unwrap()
            .value;
        assert_eq!(rec.status, CallbackStatus::Retrying);
        assert_eq!(rec.attempts.len(), 1);
        assert!(
            rec.attempts[0]
                .error
                .as_deref()
                .unwrap()
                .contains("resolve")
        );
        // The schedule's first delay is 1 s (±10 %): the next attempt is due then, and a
        // delivery of the same message before it makes no attempt and waits for the rest.
        let due = rec.next_attempt_ms.expect("next attempt time");
        assert!(rec.next_attempt_at.is_some());
        let Next::RetryIn(wait) = deliver(
            state.records.as_ref(),
            state.queue.as_ref(),
            &state.config,
            &msg.body,
        )
        .await
        .unwrap() else {
            panic!("an early delivery must wait");
        };
        assert!(
            wait <= Duration::from_millis(1100) && !wait.is_zero(),
            "{wait:?}"
        );
        let again = CALLBACKS
            .get(state.records.as_ref(), &format!("t_1/{event}"))
            .await
            .unwrap()
            .unwrap()
            .value;
        assert_eq!(again.attempts.len(), 1, "no attempt before {due}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
