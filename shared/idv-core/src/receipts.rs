//! Signed receipts: every finished verification, in every dialect, gets a compact JWS
//! (RFC 7515) over what was decided — request id, tenant, times, outcome and details, scores
//! with the profile's thresholds, SHA-256 of each input, the models used — signed with the
//! certificate-signing key (ES256, or RS256 for an RSA key) and carrying its certificate chain
//! (`x5c`), so anyone can check it offline. It holds no image and no field read, so it
//! survives the deletion of the verification. Signing runs on `ring` (no OpenSSL), so every
//! function can sign.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::records::{InputDigest, ModelUsed, Table};

/// Receipts, keyed `TENANT/ID`.
pub const RECEIPTS: Table<StoredReceipt> = Table::new("receipts");

/// The response header carrying a verification's receipt.
pub const RECEIPT_HEADER: &str = "x-idv-receipt";

/// A receipt as stored.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredReceipt {
    /// The compact JWS.
    pub receipt: String,
}

/// What a receipt states (its JWS payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// Always `idv-receipt/1`.
    pub typ: String,
    /// The id the dialect gave (Kairos `api_req_uid`, LINK `id`, one-call `verificationId`).
    pub id: String,
    /// `kairos`, `link` or `onecall`.
    pub dialect: String,
    pub tenant: String,
    /// The operator issuing it.
    pub issuer: String,
    pub received_at: String,
    pub decided_at: String,
    /// `APPROVED`, `REVIEW` or `REJECTED`.
    pub outcome: String,
    /// Each finding: its code and effect (`reject`, `review`, `warning`).
    pub details: Vec<Detail>,
    pub profile: String,
    pub scores: Scores,
    pub inputs: Vec<InputDigest>,
    pub models: Vec<ModelUsed>,
    /// The chip's verdict, when the document's chip was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chip: Option<crate::records::ChipSummary>,
}

/// One finding of a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detail {
    pub code: String,
    pub decision: String,
}

/// The scores and the profile's thresholds (reject below, review below).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub face_match: Option<f32>,
    pub face_match_thresholds: Option<[f64; 2]>,
    pub liveness: Option<f32>,
    pub liveness_thresholds: Option<[f64; 2]>,
}

/// Why a receipt key cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("receipt signing key: {0}")]
pub struct KeyError(String);

enum Key {
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// Signs receipts with the certificate-signing key.
pub struct ReceiptSigner {
    key: Key,
    /// Base64 DER certificates, the signer's first.
    x5c: Vec<String>,
    rng: SystemRandom,
    /// The operator's name, written as the receipts' issuer.
    pub issuer: String,
}

/// The DER of every PEM block labelled `label` in `pem`.
fn pem_blocks(pem: &str, label: &str) -> Vec<Vec<u8>> {
    let (begin, end) = (
        format!("-----BEGIN {label}-----"),
        format!("-----END {label}-----"),
    );
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(&begin) {
        let body = &rest[start + begin.len()..];
        let Some(stop) = body.find(&end) else { break };
        let b64: String = body[..stop].split_whitespace().collect();
        if let Ok(der) = STANDARD.decode(b64) {
            out.push(der);
        }
        rest = &body[stop + end.len()..];
    }
    out
}

impl ReceiptSigner {
    /// From the signing key (PKCS #8 PEM, EC P-256 or RSA), its certificate and the chain
    /// above it (PEM).
    pub fn from_pem(
        key_pem: &str,
        cert_pem: &str,
        chain_pem: &str,
        issuer: &str,
    ) -> Result<ReceiptSigner, KeyError> {
        let key = pem_blocks(key_pem, "PRIVATE KEY")
            .pop()
            .ok_or_else(|| KeyError("no PKCS #8 PRIVATE KEY block".into()))?;
        let rng = SystemRandom::new();
        let key = match EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key, &rng) {
            Ok(k) => Key::Ecdsa(k),
            Err(_) => Key::Rsa(
                RsaKeyPair::from_pkcs8(&key)
                    .map_err(|e| KeyError(format!("neither EC P-256 nor RSA: {e}")))?,
            ),
        };
        let mut x5c: Vec<String> = pem_blocks(cert_pem, "CERTIFICATE")
            .iter()
            .map(|d| STANDARD.encode(d))
            .collect();
        if x5c.is_empty() {
            return Err(KeyError("no certificate".into()));
        }
        x5c.extend(
            pem_blocks(chain_pem, "CERTIFICATE")
                .iter()
                .map(|d| STANDARD.encode(d)),
        );
        Ok(ReceiptSigner {
            key,
            x5c,
            rng,
            issuer: issuer.to_string(),
        })
    }

    /// The compact JWS of `receipt`.
    pub fn sign(&self, receipt: &Receipt) -> Result<String, Error> {
        let alg = match self.key {
            Key::Ecdsa(_) => "ES256",
            Key::Rsa(_) => "RS256",
        };
        let header = serde_json::json!({"alg": alg, "typ": "idv-receipt+jws", "x5c": self.x5c});
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(receipt).map_err(Error::internal)?)
        );
        let signature = match &self.key {
            Key::Ecdsa(k) => k
                .sign(&self.rng, signed.as_bytes())
                .map_err(|_| Error::internal("ECDSA signing failed"))?
                .as_ref()
                .to_vec(),
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &self.rng, signed.as_bytes(), &mut sig)
                    .map_err(|_| Error::internal("RSA signing failed"))?;
                sig
            }
        };
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// The receipt of verification `v` (request `id` of `tenant` in `dialect`), signed and stored;
/// `None` where no signing key is configured. `used` is the profile as the request changed
/// it (a threshold of its own), when it did.
#[allow(clippy::too_many_arguments)]
pub async fn issue(
    signer: Option<&ReceiptSigner>,
    records: &dyn idv_store::RecordStore,
    models: Vec<ModelUsed>,
    tenant: &str,
    id: &str,
    dialect: &str,
    received_at: &str,
    v: &idv_pipeline::Verification,
    inputs: Vec<InputDigest>,
    used: Option<&idv_pipeline::Profile>,
) -> Result<Option<String>, Error> {
    let Some(signer) = signer else {
        return Ok(None);
    };
    let profile = used
        .cloned()
        .or_else(|| idv_pipeline::profile::find(&v.profile));
    let receipt = Receipt {
        typ: "idv-receipt/1".into(),
        id: id.to_string(),
        dialect: dialect.to_string(),
        tenant: tenant.to_string(),
        issuer: signer.issuer.clone(),
        received_at: received_at.to_string(),
        decided_at: crate::clock::timestamp(),
        outcome: crate::records::outcome_label(v),
        details: v
            .decision
            .details
            .iter()
            .map(|d| Detail {
                code: d.code.clone(),
                decision: serde_json::to_value(d.decision)
                    .ok()
                    .and_then(|x| x.as_str().map(str::to_string))
                    .unwrap_or_default(),
            })
            .collect(),
        profile: v.profile.clone(),
        scores: Scores {
            face_match: v.face_match_confidence(),
            face_match_thresholds: profile
                .as_ref()
                .map(|p| [p.face_match.reject_below, p.face_match.review_below]),
            liveness: v.liveness(),
            liveness_thresholds: profile
                .as_ref()
                .map(|p| [p.liveness.reject_below, p.liveness.review_below]),
        },
        inputs,
        models,
        chip: crate::records::ChipSummary::of(v),
    };
    let jws = signer.sign(&receipt)?;
    let stored = StoredReceipt {
        receipt: jws.clone(),
    };
    let key = format!("{tenant}/{id}");
    match RECEIPTS.insert(records, &key, &stored).await {
        // A redelivered job: the first receipt stands.
        Err(e) if e.is_conflict() => {
            Ok(RECEIPTS.get(records, &key).await?.map(|r| r.value.receipt))
        }
        Err(e) => Err(e.into()),
        Ok(()) => Ok(Some(jws)),
    }
}
