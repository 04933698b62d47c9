//! Checking a signed receipt (a compact JWS from idv) offline: its certificate chain (`x5c`)
//! up to a trusted CA, then its signature by the first certificate (ES256 or RS256).

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509, X509StoreContext};

use crate::CertifyError;

fn b64url(part: &str) -> Result<Vec<u8>, CertifyError> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| CertifyError::Sign(format!("not base64url: {e}")))
}

/// The payload of receipt `jws` once its chain verifies up to a certificate of `trusted_pem`
/// and its signature verifies; an error saying what failed otherwise.
pub fn verify_receipt(jws: &str, trusted_pem: &[u8]) -> Result<serde_json::Value, CertifyError> {
    let bad = |what: &str| CertifyError::Sign(format!("not an idv receipt: {what}"));
    let parts: Vec<&str> = jws.trim().split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err(bad("a compact JWS has three parts"));
    };
    let h: serde_json::Value =
        serde_json::from_slice(&b64url(header)?).map_err(|_| bad("the header is not JSON"))?;
    let certs = h["x5c"]
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| bad("no x5c certificate chain"))?
        .iter()
        .map(|c| {
            use base64::Engine as _;
            let der = base64::engine::general_purpose::STANDARD
                .decode(c.as_str().unwrap_or_default())
                .map_err(|_| bad("an x5c entry is not base64"))?;
            Ok(X509::from_der(&der)?)
        })
        .collect::<Result<Vec<X509>, CertifyError>>()?;
    // The chain, up to the trusted CA.
    let mut store = X509StoreBuilder::new()?;
    for c in X509::stack_from_pem(trusted_pem)? {
        store.add_cert(c)?;
    }
    let store = store.build();
    let mut untrusted = Stack::new()?;
    for c in &certs[1..] {
        untrusted.push(c.clone())?;
    }
    let mut ctx = X509StoreContext::new()?;
    let chained = ctx.init(&store, &certs[0], &untrusted, |c| {
        let ok = c.verify_cert()?;
        Ok(ok.then_some(()).ok_or_else(|| c.error().to_string()))
    })?;
    chained
        .map_err(|e| CertifyError::Sign(format!("the signing certificate is not trusted: {e}")))?;
    // The signature over `header.payload`.
    let signed = format!("{header}.{payload}");
    let sig = b64url(signature)?;
    let key = certs[0].public_key()?;
    let der = match h["alg"].as_str() {
        Some("ES256") if sig.len() == 64 => EcdsaSig::from_private_components(
            BigNum::from_slice(&sig[..32])?,
            BigNum::from_slice(&sig[32..])?,
        )?
        .to_der()?,
        Some("RS256") => sig,
        other => return Err(bad(&format!("algorithm {other:?}"))),
    };
    let mut v = openssl::sign::Verifier::new(MessageDigest::sha256(), &key)?;
    v.update(signed.as_bytes())?;
    if !v.verify(&der).unwrap_or(false) {
        return Err(CertifyError::Sign(
            "the signature does not match: the receipt was altered".into(),
        ));
    }
    serde_json::from_slice(&b64url(payload)?).map_err(|_| bad("the payload is not JSON"))
}
