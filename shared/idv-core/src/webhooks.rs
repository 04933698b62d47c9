//! Webhook transport: which targets may be called (https, no private addresses), the HTTP
//! client that calls them (rustls, pinned to the vetted addresses, no redirects) and the
//! signature each payload carries.
//!
//! Targets must be https, or http to a loopback address when the service allows private
//! targets (a development setting); a host resolving to a private, link-local or loopback
//! address is refused unless so allowed. Redirects are not followed; at most 64 KB of the
//! response body is read.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// Whether an address is outside the globally reachable Internet: every block of the IANA
/// IPv4 and IPv6 special-purpose registries that is not globally reachable (loopback,
/// private, shared CGNAT, link-local, documentation, benchmarking, multicast, reserved, …),
/// and IPv4 addresses embedded in IPv6 (mapped, translated, compatible, NAT64, 6to4) judged
/// as IPv4.
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
                // IPv4-translated ::ffff:0:a.b.c.d (::ffff:0:0:0/96, SIIT)
                || (s[..6] == [0, 0, 0, 0, 0xffff, 0] && embedded(s[6], s[7]))
                // NAT64 64:ff9b::/96 and the local-use 64:ff9b:1::/48
                || (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] && embedded(s[6], s[7]))
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1)
                || (s[..4] == [0x100, 0, 0, 0]) // discard-only
                || (s[0] == 0x2001 && s[1] < 0x200) // IETF protocol assignments 2001::/23
                || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation
                || (s[0] == 0x2002 && embedded(s[1], s[2])) // 6to4
                || (s[0] == 0x3fff && s[1] < 0x1000) // documentation 3fff::/20
                || s[0] == 0x5f00 // segment routing (SRv6) SIDs 5f00::/16
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
    pub(crate) fn pinned(&self, addrs: Vec<SocketAddr>) -> ureq::Agent {
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
            "::ffff:0:7f00:1",
            "::ffff:0:a00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "100::1",
            "2001:db8::1",
            "2001:10::1",
            "2002:a9fe:a9fe::1",
            "3fff::1",
            "5f00::1",
            "5f00:ffff::1",
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
