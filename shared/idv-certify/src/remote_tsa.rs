//! An RFC 3161 client: timestamps from an external authority over HTTP(S), each token checked
//! before use — granted, signed by a certificate with the `timeStamping` purpose that chains
//! to the authority's configured roots, over our digest, with our nonce.

use std::time::Duration;

use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509, X509PurposeId};

use crate::CertifyError;
use crate::der::{self, octets, oid, seq};

/// How long one request may take, connection to answer.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests before giving up (a second and a third after 0.5 s and 1 s).
pub const ATTEMPTS: u32 = 3;

/// An external timestamp authority: its URL and the certificates its tokens must chain to.
pub struct RemoteTsa {
    pub url: String,
    /// The authority's root (and intermediate) certificates.
    pub trusted: Vec<X509>,
    agent: ureq::Agent,
}

/// Why one attempt failed, and whether another may succeed.
struct Failure {
    message: String,
    retry: bool,
}

impl RemoteTsa {
    /// The authority at `url` (http or https; https trusts Mozilla's roots), whose tokens
    /// must chain to a certificate of `trusted_pem` (PEM, any number).
    pub fn new(url: &str, trusted_pem: &[u8]) -> Result<RemoteTsa, CertifyError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(CertifyError::Timestamp(format!(
                "the timestamp authority URL must be http(s): {url}"
            )));
        }
        let trusted = X509::stack_from_pem(trusted_pem)?;
        if trusted.is_empty() {
            return Err(CertifyError::Timestamp(
                "no certificate in the timestamp authority's CA file".into(),
            ));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(ATTEMPT_TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Ok(RemoteTsa {
            url: url.to_string(),
            trusted,
            agent,
        })
    }

    /// A checked DER `TimeStampToken` over `sha256`, trying up to [`ATTEMPTS`] times when the
    /// authority cannot be reached or answers 5xx.
    pub fn timestamp(&self, sha256: &[u8; 32]) -> Result<Vec<u8>, CertifyError> {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(500 << (attempt - 1)));
            }
            match self.once(sha256) {
                Ok(token) => return Ok(token),
                Err(f) if f.retry => last = f.message,
                Err(f) => return Err(self.error(&f.message)),
            }
        }
        Err(self.error(&format!("{last} (after {ATTEMPTS} attempts)")))
    }

    fn error(&self, message: &str) -> CertifyError {
        CertifyError::Timestamp(format!("timestamp authority {}: {message}", self.url))
    }

    fn once(&self, sha256: &[u8; 32]) -> Result<Vec<u8>, Failure> {
        let fail = |message: String, retry: bool| Failure { message, retry };
        let mut nonce = [0u8; 8];
        openssl::rand::rand_bytes(&mut nonce).map_err(|e| fail(e.to_string(), false))?;
        nonce[0] &= 0x7f;
        let nonce = der::unsigned(&nonce);
        // TimeStampReq { v1, messageImprint { sha256, digest }, nonce, certReq TRUE }
        let request = seq(&[
            &der::int(1),
            &seq(&[
                &seq(&[&oid(crate::cades::SHA256), &der::NULL]),
                &octets(sha256),
            ]),
            &nonce,
            &[0x01, 0x01, 0xff],
        ]);
        let mut res = self
            .agent
            .post(&self.url)
            .content_type("application/timestamp-query")
            .header("Accept", "application/timestamp-reply")
            .send(&request[..])
            .map_err(|e| fail(format!("no answer: {e}"), true))?;
        let status = res.status().as_u16();
        if status != 200 {
            return Err(fail(format!("HTTP {status}"), status >= 500));
        }
        let body = res
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| fail(format!("reading the answer: {e}"), true))?;
        self.check(&body, sha256, &nonce)
            .map_err(|m| fail(m, false))
    }

    /// The token of DER `TimeStampResp` `body`, once it is granted, verified and ours.
    fn check(&self, body: &[u8], sha256: &[u8; 32], nonce: &[u8]) -> Result<Vec<u8>, String> {
        let bad = |what: &str| format!("the answer is not a timestamp response ({what})");
        let (resp, _) = der::read(body).ok_or_else(|| bad("DER"))?;
        let parts = der::children(resp.content).ok_or_else(|| bad("fields"))?;
        let status_info = der::children(parts.first().ok_or_else(|| bad("status"))?.content)
            .ok_or_else(|| bad("status"))?;
        let status = status_info.first().ok_or_else(|| bad("status"))?.content;
        // granted (0) or grantedWithMods (1).
        if status.len() != 1 || status[0] > 1 {
            return Err(format!(
                "the authority refused the request (PKIStatus {})",
                status
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ));
        }
        let token = parts.get(1).ok_or_else(|| bad("no token"))?.whole.to_vec();
        // Signed by a timeStamping certificate that chains to the configured roots.
        let mut store = X509StoreBuilder::new().map_err(|e| e.to_string())?;
        for c in &self.trusted {
            store.add_cert(c.clone()).map_err(|e| e.to_string())?;
        }
        store
            .set_purpose(X509PurposeId::TIMESTAMP_SIGN)
            .map_err(|e| e.to_string())?;
        let store = store.build();
        let mut cms = CmsContentInfo::from_der(&token).map_err(|e| e.to_string())?;
        let mut tst_info = Vec::new();
        cms.verify(
            None,
            Some(&store),
            None,
            Some(&mut tst_info),
            CMSOptions::BINARY,
        )
        .map_err(|e| format!("the token does not verify against the authority's CA: {e}"))?;
        // TSTInfo { version, policy, messageImprint { alg, digest }, serial, genTime,
        // accuracy?, ordering?, nonce?, … }
        let (info, _) = der::read(&tst_info).ok_or_else(|| bad("TSTInfo"))?;
        let fields = der::children(info.content).ok_or_else(|| bad("TSTInfo fields"))?;
        let imprint = der::children(fields.get(2).ok_or_else(|| bad("imprint"))?.content)
            .ok_or_else(|| bad("imprint"))?;
        if imprint.get(1).map(|d| d.content) != Some(&sha256[..]) {
            return Err("the token is over another digest".into());
        }
        if !fields
            .get(5..)
            .unwrap_or_default()
            .iter()
            .any(|f| f.whole == nonce)
        {
            return Err("the token does not carry our nonce".into());
        }
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;
    use crate::{DEFAULT_POLICY, Tsa, generate_dev};

    /// An HTTP authority on loopback answering each request with `answer(body)`; its URL.
    fn authority(answer: impl Fn(&[u8]) -> (u16, Vec<u8>) + Send + 'static) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/tsa", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let body = loop {
                    let n = s.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        break None;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break Some(buf[end + 4..end + 4 + len].to_vec());
                    }
                };
                let Some(body) = body else { continue };
                let (status, reply) = answer(&body);
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Type: application/timestamp-reply\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    reply.len()
                );
                let _ = s.write_all(&reply);
            }
        });
        url
    }

    fn own_tsa() -> (Tsa, String) {
        let p = generate_dev(None).unwrap();
        let tsa = Tsa {
            cert: X509::from_pem(p.tsa_cert.as_bytes()).unwrap(),
            key: openssl::pkey::PKey::private_key_from_pem(p.tsa_key.as_bytes()).unwrap(),
            policy: DEFAULT_POLICY.into(),
        };
        (tsa, p.ca_cert)
    }

    #[test]
    fn tokens_are_checked_before_use() {
        let (tsa, ca) = own_tsa();
        let tsa = std::sync::Arc::new(tsa);
        let t = tsa.clone();
        let url = authority(move |req| (200, t.reply(req).unwrap()));
        let digest = openssl::sha::sha256(b"signature value");
        let token = RemoteTsa::new(&url, ca.as_bytes())
            .unwrap()
            .timestamp(&digest)
            .unwrap();
        assert_eq!(token[0], 0x30);

        // Another authority's CA: refused, not retried.
        let (_, other_ca) = own_tsa();
        let e = RemoteTsa::new(&url, other_ca.as_bytes())
            .unwrap()
            .timestamp(&digest)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not verify"), "{e}");

        // A token over another request (another digest, no nonce of ours).
        let t = tsa.clone();
        let url = authority(move |_| {
            let other = seq(&[
                &der::int(1),
                &seq(&[
                    &seq(&[&oid(crate::cades::SHA256), &der::NULL]),
                    &octets(&[7; 32]),
                ]),
                &[0x01, 0x01, 0xff],
            ]);
            (200, t.reply(&other).unwrap())
        });
        let e = RemoteTsa::new(&url, ca.as_bytes())
            .unwrap()
            .timestamp(&digest)
            .unwrap_err()
            .to_string();
        assert!(e.contains("another digest"), "{e}");

        // Not a response at all; a client error (not retried).
        let url = authority(|_| (200, b"<html>".to_vec()));
        let e = RemoteTsa::new(&url, ca.as_bytes())
            .unwrap()
            .timestamp(&digest)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a timestamp response"), "{e}");
        let url = authority(|_| (400, Vec::new()));
        let e = RemoteTsa::new(&url, ca.as_bytes())
            .unwrap()
            .timestamp(&digest)
            .unwrap_err()
            .to_string();
        assert!(e.contains("HTTP 400") && !e.contains("attempts"), "{e}");
    }

    #[test]
    fn an_authority_down_is_retried_then_named() {
        let (_, ca) = own_tsa();
        // A port nothing listens on.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/tsa");
        let started = std::time::Instant::now();
        let e = RemoteTsa::new(&url, ca.as_bytes())
            .unwrap()
            .timestamp(&[0; 32])
            .unwrap_err()
            .to_string();
        assert!(e.contains(&url) && e.contains("after 3 attempts"), "{e}");
        assert!(
            started.elapsed() >= Duration::from_millis(1500),
            "backed off"
        );
        let e = RemoteTsa::new("ftp://x", ca.as_bytes()).err().unwrap();
        assert!(e.to_string().contains("http(s)"), "{e}");
    }
}
