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

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;

use crate::auth::{ApiKey, Authed};
use crate::clock::timestamp;
use crate::error::{ApiError, ErrorCode};
use crate::messages::{self, CALLBACKS_DEAD_LETTERS, CALLBACKS_QUEUE};
use crate::records::{Attempt, CALLBACKS, CallbackRecord, CallbackStatus, TENANTS};
use crate::state::AppState;

/// Whether an address is outside the globally reachable Internet: every block of the IANA
/// IPv4 and IPv6 special-purpose registries that is not globally reachable (loopback,
/// private, shared CGNAT, link-local, documentation, benchmarking, multicast, reserved, …),
/// and IPv4 addresses embedded in IPv6 (mapped, compatible, NAT64, 6to4) judged as IPv4.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            let [a, b, c, _] = v.octets();
            a == 0 // "this network"
                || a == 10
                || a == 127
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 169 && b == 254)
                || (a == 172 && (16..32).contains(&b))
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || (a == 192 && b == 0 && c == 2) // TEST-NET-1
                || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated)
                || (a == 192 && b == 168)
                || (a == 198 && (18..20).contains(&b)) // benchmarking
                || (a == 198 && b == 51 && c == 100) // TEST-NET-2
                || (a == 203 && b == 0 && c == 113) // TEST-NET-3
                || a >= 224 // multicast, reserved, broadcast
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            let embedded = |hi: u16, lo: u16| {
                is_private(IpAddr::V4(std::net::Ipv4Addr::new(
                    (hi >> 8) as u8,
                    hi as u8,
                    (lo >> 8) as u8,
                    lo as u8,
                )))
            };
            v.is_unspecified()
                || v.is_loopback()
                || v.to_ipv4_mapped().is_some_and(|m| is_private(IpAddr::V4(m)))
                // IPv4-compatible (deprecated) ::a.b.c.d
                || (s[..6] == [0; 6] && embedded(s[6], s[7]))
                // NAT64 64:ff9b::/96 and the local-use 64:ff9b:1::/48
                || (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && embedded(s[6], s[7]))
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1)
                || (s[..4] == [0x100, 0, 0, 0]) // discard-only
                || (s[0] == 0x2001 && s[1] < 0x200) // IETF protocol assignments 2001::/23
                || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
                || (s[0] == 0x2002 && embedded(s[1], s[2])) // 6to4
                || (s[0] == 0x3fff && s[1] < 0x1000) // documentation 3fff::/20
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] & 0xff00) == 0xff00 // multicast
        }
    }
}

/// Why a callback target is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Never allowed: the URL, its scheme, or where it points.
    #[error("{0}")]
    Refused(String),
    /// The host does not resolve now; it may later (a delivery retries).
    #[error("{0}")]
    Unresolved(String),
}

/// Checks a callback URL: scheme (any case), and where its host (a name, an IPv4 or an IPv6
/// literal) resolves. Returns the vetted addresses: a delivery connects to these only, so a
/// name that resolves elsewhere a moment later (DNS rebinding) is never reached.
pub fn check_target(url: &str, allow_private: bool) -> Result<Vec<SocketAddr>, TargetError> {
    let refused = |m: &str| TargetError::Refused(m.to_string());
    let parsed = url::Url::parse(url.trim()).map_err(|e| refused(&format!("not a URL: {e}")))?;
    let scheme = parsed.scheme(); // lower case
    let port = match scheme {
        "https" => parsed.port().unwrap_or(443),
        "http" if allow_private => parsed.port().unwrap_or(80),
        _ => return Err(refused("callback URLs must use https")),
    };
    let addrs: Vec<SocketAddr> = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => vec![(ip, port).into()],
        Some(url::Host::Ipv6(ip)) => vec![(ip, port).into()],
        Some(url::Host::Domain(name)) => (name, port)
            .to_socket_addrs()
            .map_err(|e| TargetError::Unresolved(format!("cannot resolve the callback host: {e}")))?
            .collect(),
        None => return Err(refused("the callback URL has no host")),
    };
    if addrs.is_empty() {
        return Err(TargetError::Unresolved(
            "the callback host does not resolve".into(),
        ));
    }
    if !allow_private && addrs.iter().any(|a| is_private(a.ip())) {
        return Err(refused("the callback host resolves to a private address"));
    }
    if scheme == "http" && !addrs.iter().all(|a| a.ip().is_loopback()) {
        return Err(refused("plain http is allowed to loopback only"));
    }
    Ok(addrs)
}

/// Checks a callback URL a request names, before accepting the request (400 if refused).
/// Delivery checks again: where a host resolves can change.
pub async fn check_requested(state: &AppState, url: Option<&str>) -> Result<(), ApiError> {
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(());
    };
    let (url, allow) = (url.to_string(), state.config.allow_private_callbacks);
    tokio::task::spawn_blocking(move || check_target(&url, allow).map(drop))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            ApiError::new(
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
    state: &AppState,
    tenant: &str,
    event: &str,
    url: &str,
    body: &impl Serialize,
) -> Result<(), ApiError> {
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
    match CALLBACKS
        .insert(state.records.as_ref(), &key, &record)
        .await
    {
        Ok(()) => {}
        Err(idv_store::StoreError::Conflict { .. }) => {
            let queued_before = CALLBACKS
                .get(state.records.as_ref(), &key)
                .await?
                .is_some_and(|r| {
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
        body: serde_json::to_string(body).map_err(ApiError::internal)?,
    };
    state
        .queue
        .send(CALLBACKS_QUEUE, &messages::encode(&msg))
        .await?;
    Ok(())
}

/// The tenant's default callback URL, for requests that name none.
pub async fn tenant_default(state: &AppState, tenant: &str) -> Result<Option<String>, ApiError> {
    Ok(TENANTS
        .get(state.records.as_ref(), tenant)
        .await?
        .and_then(|t| t.value.callback().map(str::to_string)))
}

/// `requested` when the request named a URL, else the tenant's default callback URL.
pub async fn url_or_default(
    state: &AppState,
    tenant: &str,
    requested: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match requested.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => Ok(Some(u.to_string())),
        None => tenant_default(state, tenant).await,
    }
}

/// `X-Idv-Signature`: `t=UNIX,v1=HEX[,v1=HEX]`, one HMAC-SHA256 of `"{t}.{body}"` per
/// active secret (two while a rotation is under way).
pub fn signature(secrets: &[String], t: u64, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut out = format!("t={t}");
    for secret in secrets {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
        mac.update(format!("{t}.{body}").as_bytes());
        let hex = hex::encode(mac.finalize().into_bytes());
        out.push_str(&format!(",v1={hex}"));
    }
    out
}

/// What the worker does with a callback message after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Delivered, refused or given up: acknowledge.
    Done,
    /// Failed: try again after this long.
    RetryIn(Duration),
}

/// One delivery attempt of a callback message.
pub async fn deliver(state: &AppState, body: &str) -> Result<Next, ApiError> {
    let Some(msg) = messages::decode::<messages::Callback>(CALLBACKS_QUEUE, body) else {
        return Ok(Next::Done);
    };
    let (url, event, tenant) = (msg.url.as_str(), msg.event_id.as_str(), msg.tenant.as_str());
    let key = format!("{tenant}/{event}");
    let Some(rec) = CALLBACKS.get(state.records.as_ref(), &key).await? else {
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
        .get(state.records.as_ref(), tenant)
        .await?
        .map(|t| t.value.webhook_secrets)
        .unwrap_or_default();
    let payload = msg.body.clone();
    let t = idv_store::now_ms() / 1000;
    let sig = signature(&secrets, t, &payload);
    let (url_s, event_s) = (url.to_string(), event.to_string());
    let allow = state.config.allow_private_callbacks;
    let client = state.config.webhooks.clone();
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
    let schedule = &state.config.callback_schedule;
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
            state.queue.send(CALLBACKS_DEAD_LETTERS, body).await?;
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
        .replace(state.records.as_ref(), &key, rec.version, &record)
        .await?;
    Ok(next)
}

/// How long one delivery attempt may take, connection to response (a receiver should answer
/// at once and do its work later).
pub const ATTEMPT_DEADLINE: Duration = Duration::from_secs(5);

/// The HTTP client settings of webhook deliveries: rustls, the platform's CA roots (honouring
/// `SSL_CERT_FILE` / `SSL_CERT_DIR`; Mozilla's bundled roots when the platform has none) plus
/// any extra CA (`idv serve --callback-ca`), [`ATTEMPT_DEADLINE`] per attempt, no redirects.
#[derive(Clone)]
pub struct WebhookClient {
    config: ureq::config::Config,
}

/// Why an extra CA file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("callback CA: {0}")]
pub struct CaError(String);

impl WebhookClient {
    /// Trusts the platform's roots and the certificates of `extra_ca_pem` (PEM, any number).
    pub fn new(extra_ca_pem: Option<&[u8]>) -> Result<WebhookClient, CaError> {
        use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};
        let native = rustls_native_certs::load_native_certs().certs;
        let mut certs: Vec<Certificate<'static>> = native
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()).to_owned())
            .collect();
        let platform = !certs.is_empty();
        if let Some(pem) = extra_ca_pem {
            let before = certs.len();
            for item in ureq::tls::parse_pem(pem) {
                if let PemItem::Certificate(c) = item.map_err(|e| CaError(e.to_string()))? {
                    certs.push(c);
                }
            }
            if certs.len() == before {
                return Err(CaError("no PEM certificate in the file".into()));
            }
        }
        let roots = match (platform, extra_ca_pem) {
            // No platform roots and no extra CA: Mozilla's bundled roots.
            (false, None) => RootCerts::WebPki,
            _ => certs.into(),
        };
        let config = ureq::Agent::config_builder()
            .tls_config(
                TlsConfig::builder()
                    .provider(TlsProvider::Rustls)
                    .root_certs(roots)
                    .build(),
            )
            .timeout_global(Some(ATTEMPT_DEADLINE))
            .max_redirects(0)
            .http_status_as_error(false)
            .build();
        Ok(WebhookClient { config })
    }

    /// An agent that connects to `addrs` only, whatever the URL's host resolves to by then
    /// (TLS still verifies the certificate against the URL's host name).
    fn pinned(&self, addrs: Vec<SocketAddr>) -> ureq::Agent {
        ureq::Agent::with_parts(
            self.config.clone(),
            ureq::unversioned::transport::DefaultConnector::new(),
            Pinned(addrs),
        )
    }
}

/// A resolver that answers the vetted addresses of one delivery.
#[derive(Debug)]
struct Pinned(Vec<SocketAddr>);

impl ureq::unversioned::resolver::Resolver for Pinned {
    fn resolve(
        &self,
        _uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let mut out = self.empty();
        for a in &self.0 {
            if out.try_push(*a).is_err() {
                break;
            }
        }
        if out.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(out)
    }
}

fn getrandom_byte(b: &mut [u8]) -> Result<(), rand_core::Error> {
    use rand_core::RngCore;
    rand_core::OsRng.try_fill_bytes(b)
}

/// `GET /v1/callbacks/{id}`: a callback and its attempts, for its tenant.
#[utoipa::path(get, operation_id = "get_callback", path = "/v1/callbacks/{id}", tag = "Callbacks", security(("x_api_key" = [])), params(("id" = String, Path, description = "The event id (X-Idv-Event-Id)")), responses((status = 200, description = "The callback and its delivery attempts", body = CallbackRecord)))]
pub async fn show(
    State(state): State<AppState>,
    Authed(tenant, ..): Authed<ApiKey>,
    Path(id): Path<String>,
) -> Result<Json<CallbackRecord>, ApiError> {
    let rec = CALLBACKS
        .get(state.records.as_ref(), &format!("{}/{id}", tenant.0))
        .await?
        .ok_or_else(|| ApiError::not_found("callback"))?;
    Ok(Json(rec.value))
}

/// The answer of `POST /v1/webhook-secrets/rotate`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Rotated {
    /// The new secret; shown once.
    pub webhook_secret: String,
    /// Whether the previous secret still signs (until `DELETE /v1/webhook-secrets/previous`).
    pub previous_valid: bool,
}

/// The answer of `DELETE /v1/webhook-secrets/previous`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviousDropped {
    /// Always `false`.
    pub previous_valid: bool,
}

/// `POST /v1/webhook-secrets/rotate`: a new signing secret; the previous one stays valid
/// (both signatures sent) until `DELETE /v1/webhook-secrets/previous`.
#[utoipa::path(post, operation_id = "rotate_webhook_secret", path = "/v1/webhook-secrets/rotate", tag = "Callbacks", security(("x_api_key" = [])), responses((status = 200, description = "A new signing secret; both sign until the previous is dropped", body = Rotated)))]
pub async fn rotate(
    State(state): State<AppState>,
    Authed(tenant, ..): Authed<ApiKey>,
) -> Result<Json<Rotated>, ApiError> {
    let secret = crate::credentials::webhook_secret();
    update_secrets(&state, &tenant.0, |s| {
        s.truncate(1);
        s.insert(0, secret.clone());
    })
    .await?;
    crate::audit::record(
        state.records.as_ref(),
        &tenant.0,
        "api_key",
        "webhook_secret.rotate",
        None,
    )
    .await?;
    Ok(Json(Rotated {
        webhook_secret: secret,
        previous_valid: true,
    }))
}

/// `DELETE /v1/webhook-secrets/previous`: ends a rotation.
#[utoipa::path(delete, operation_id = "drop_previous_webhook_secret", path = "/v1/webhook-secrets/previous", tag = "Callbacks", security(("x_api_key" = [])), responses((status = 200, description = "Only the newest secret signs", body = PreviousDropped)))]
pub async fn drop_previous(
    State(state): State<AppState>,
    Authed(tenant, ..): Authed<ApiKey>,
) -> Result<Json<PreviousDropped>, ApiError> {
    update_secrets(&state, &tenant.0, |s| s.truncate(1)).await?;
    crate::audit::record(
        state.records.as_ref(),
        &tenant.0,
        "api_key",
        "webhook_secret.drop_previous",
        None,
    )
    .await?;
    Ok(Json(PreviousDropped {
        previous_valid: false,
    }))
}

async fn update_secrets(
    state: &AppState,
    tenant: &str,
    change: impl Fn(&mut Vec<String>),
) -> Result<(), ApiError> {
    let updated = TENANTS
        .update(state.records.as_ref(), tenant, |t| {
            change(&mut t.webhook_secrets);
            true
        })
        .await?;
    updated
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found("tenant"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_targets_are_refused_unless_allowed() {
        assert!(check_target("http://127.0.0.1:9/x", false).is_err());
        assert!(check_target("https://127.0.0.1/x", false).is_err());
        assert!(check_target("https://10.1.2.3/x", false).is_err());
        assert!(check_target("https://[::1]:8443/x", false).is_err());
        assert!(check_target("https://169.254.169.254/latest", false).is_err());
        assert!(check_target("http://127.0.0.1:9/x", true).is_ok());
        assert!(check_target("ftp://example.org/x", true).is_err());
        assert!(is_private("192.168.1.1".parse().unwrap()));
        assert!(!is_private("93.184.216.34".parse().unwrap()));
    }

    #[test]
    fn every_special_purpose_range_is_refused() {
        for ip in [
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.2",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.0.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "100::1",
            "2001:db8::1",
            "2001:10::1",
            "2002:a9fe:a9fe::1",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            let addr: IpAddr = ip.parse().unwrap();
            assert!(is_private(addr), "{ip} is not globally reachable");
            let host = match addr {
                IpAddr::V4(_) => ip.to_string(),
                IpAddr::V6(_) => format!("[{ip}]"),
            };
            assert!(
                check_target(&format!("https://{host}/cb"), false).is_err(),
                "{ip}"
            );
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[tokio::test]
    async fn a_host_that_does_not_resolve_is_retried_not_dropped() {
        let dir = std::env::temp_dir().join(format!("idv-dns-{}", std::process::id()));
        let state = crate::state::for_tests(&dir);
        assert!(matches!(
            check_target("https://no-such-host.invalid/cb", false),
            Err(TargetError::Unresolved(_))
        ));
        let event = new_event_id();
        enqueue(
            &state,
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
        let next = deliver(&state, &msg.body).await.unwrap();
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
        let Next::RetryIn(wait) = deliver(&state, &msg.body).await.unwrap() else {
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

    #[test]
    fn valid_url_forms_are_accepted() {
        // An IPv6 literal without a port, and an upper-case scheme.
        assert!(check_target("https://[2606:4700:4700::1111]/cb", false).is_ok());
        assert!(check_target("HTTPS://93.184.216.34/cb", false).is_ok());
        assert!(check_target("Https://93.184.216.34:8443/cb?x=1", false).is_ok());
        assert!(check_target("https://user@93.184.216.34/cb", false).is_ok());
        assert!(check_target("HTTP://127.0.0.1:9/cb", true).is_ok());
        assert!(check_target("http://93.184.216.34/cb", false).is_err());
        assert!(check_target("not a url", false).is_err());
    }

    #[test]
    fn https_deliveries_run_on_rustls_and_fail_cleanly() {
        // A server that is not TLS: the handshake fails with an error (no panic, as when the
        // client was built for another TLS provider).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::Write;
            for mut s in listener.incoming().flatten().take(1) {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            }
        });
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let res = WebhookClient::new(None)
            .unwrap()
            .pinned(vec![addr])
            .post(&format!("https://127.0.0.1:{port}/cb"))
            .send(&b"{}"[..]);
        assert!(res.is_err(), "{res:?}");
        assert!(
            !rustls_native_certs::load_native_certs().certs.is_empty(),
            "this machine has CA roots; the agent trusts them"
        );
    }

    #[test]
    fn a_delivery_connects_to_the_vetted_address_only() {
        // The URL's name does not resolve at all: the request still reaches the address that
        // was vetted, because the client never resolves the name again.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for mut s in listener.incoming().flatten().take(1) {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n");
            }
        });
        let res = WebhookClient::new(None)
            .unwrap()
            .pinned(vec![addr])
            .post(&format!("http://rebound.invalid:{}/cb", addr.port()))
            .send(&b"{}"[..])
            .unwrap();
        assert_eq!(res.status().as_u16(), 204);
    }

    #[test]
    fn an_extra_ca_must_hold_a_certificate() {
        assert!(WebhookClient::new(Some(b"not a PEM file")).is_err());
    }
}
