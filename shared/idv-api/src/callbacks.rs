//! Callback delivery: one message on the callbacks queue per event, POSTed as JSON until the
//! receiver answers 2xx. A failed attempt leaves the message on the queue, so it is retried
//! after the visibility timeout and dead-lettered after the queue's maximum receives.
//!
//! Targets must be https, or http to a loopback address when the service allows private
//! targets (a development setting); a host resolving to a private, link-local or loopback
//! address is refused unless so allowed. Redirects are not followed; at most 64 KB of the
//! response body is read.

use std::net::{IpAddr, ToSocketAddrs};
use std::time::Duration;

use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// Whether an address is private, loopback, link-local or otherwise not public.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || v.octets()[0] == 100 && (64..128).contains(&v.octets()[1])
        }
        IpAddr::V6(v) => {
            v.is_loopback()
                || v.is_unspecified()
                || (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80
                || v.to_ipv4_mapped()
                    .is_some_and(|m| is_private(IpAddr::V4(m)))
        }
    }
}

/// Checks a callback URL: scheme, and where its host resolves.
pub fn check_target(url: &str, allow_private: bool) -> Result<(), String> {
    let (scheme, rest) = url.split_once("://").ok_or("not a URL")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |x| x.1);
    let default_port = match scheme {
        "https" => 443,
        "http" if allow_private => 80,
        _ => return Err("callback URLs must use https".into()),
    };
    let addrs: Vec<_> = if host_port.starts_with('[') || host_port.contains(':') {
        host_port.to_socket_addrs()
    } else {
        (host_port, default_port).to_socket_addrs()
    }
    .map_err(|e| format!("cannot resolve the callback host: {e}"))?
    .collect();
    if addrs.is_empty() {
        return Err("the callback host does not resolve".into());
    }
    if !allow_private && addrs.iter().any(|a| is_private(a.ip())) {
        return Err("the callback host resolves to a private address".into());
    }
    if scheme == "http" && !addrs.iter().all(|a| a.ip().is_loopback()) {
        return Err("plain http is allowed to loopback only".into());
    }
    Ok(())
}

/// Delivers one callback message; `Ok(true)` when the receiver accepted it, `Ok(false)` when
/// the message should be dropped (malformed or a refused target), `Err` to retry later.
pub async fn deliver(state: &AppState, body: &str) -> Result<bool, ApiError> {
    let msg: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let (Some(url), Some(event)) = (msg["url"].as_str(), msg["event_id"].as_str()) else {
        tracing::warn!("dropping a malformed callback message");
        return Ok(false);
    };
    let url = url.to_string();
    let event = event.to_string();
    let payload = msg["body"].to_string();
    let allow = state.config.allow_private_callbacks;
    let result = tokio::task::spawn_blocking(move || -> Result<u16, String> {
        check_target(&url, allow)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        let mut res = agent
            .post(&url)
            .header("content-type", "application/json")
            .header("x-idv-event-id", &event)
            .send(payload.as_bytes())
            .map_err(|e| e.to_string())?;
        let _ = res.body_mut().with_config().limit(64 * 1024).read_to_vec();
        Ok(res.status().as_u16())
    })
    .await
    .map_err(ApiError::internal)?;
    match result {
        Ok(status) if (200..300).contains(&status) => Ok(true),
        Ok(status) => Err(ApiError::internal(format!("callback answered {status}"))),
        Err(e) if e.contains("private") || e.contains("https") || e.contains("loopback") => {
            tracing::warn!(error = %e, "callback target refused");
            Ok(false)
        }
        Err(e) => Err(ApiError::internal(format!("callback failed: {e}"))),
    }
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
}
