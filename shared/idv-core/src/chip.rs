//! The document's chip in a verification: the files a request carries (the same in every
//! dialect, under its own field names), the single-use challenges of Active Authentication,
//! and the CSCA trust store the service loads once.

use std::collections::BTreeMap;
use std::sync::Arc;

use idv_chip::{Chip, TrustStore};
use idv_store::{BlobStore, RecordStore};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};
use crate::images::{Fields, decode_base64};
use crate::records::Table;

/// Active Authentication challenges, keyed `TENANT/ID`.
pub const CHIP_CHALLENGES: Table<ChipChallenge> = Table::new("chip_challenges");

/// Seconds a challenge may be answered in (the app reads the chip in a few seconds).
pub const CHALLENGE_SECONDS: u64 = 300;

/// Largest file accepted for EF.SOD, DG1, DG14 and DG15 (real ones are a few kB).
const MAX_SMALL: usize = 64 * 1024;
/// Largest DG2 (a face image; real ones are 10–30 kB).
const MAX_DG2: usize = 1024 * 1024;

/// An issued challenge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChipChallenge {
    /// The 8 bytes, hex.
    pub challenge: String,
    pub expires_at_ms: u64,
    /// Taken (a claim between the conditional write and the record's removal).
    #[serde(default)]
    pub used: bool,
}

/// `POST /v1/chip/challenge`'s answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedChallenge {
    /// Send it back as `challenge_id` with the chip's answer.
    pub challenge_id: String,
    /// The 8 bytes for INTERNAL AUTHENTICATE, hex.
    pub challenge: String,
    pub expires_at: String,
}

/// Issues a challenge to `tenant`.
pub async fn issue_challenge(
    records: &dyn RecordStore,
    tenant: &str,
    now_ms: u64,
) -> Result<IssuedChallenge, Error> {
    let mut b = [0u8; 8];
    OsRng.fill_bytes(&mut b);
    let id = uuid::Uuid::new_v4().to_string();
    let expires_at_ms = now_ms + CHALLENGE_SECONDS * 1000;
    let c = ChipChallenge {
        challenge: hex::encode(b),
        expires_at_ms,
        used: false,
    };
    CHIP_CHALLENGES
        .insert(records, &format!("{tenant}/{id}"), &c)
        .await?;
    Ok(IssuedChallenge {
        challenge_id: id,
        challenge: c.challenge,
        expires_at: crate::clock::timestamp_at(expires_at_ms),
    })
}

/// Takes `tenant`'s challenge `id`: its bytes once, before it expires; else why not.
pub async fn take_challenge(
    records: &dyn RecordStore,
    tenant: &str,
    id: &str,
    now_ms: u64,
) -> Result<Result<Vec<u8>, &'static str>, Error> {
    let key = format!("{tenant}/{id}");
    if id.is_empty() || id.len() > 64 || idv_store::check_key(&key).is_err() {
        return Ok(Err("the challenge is unknown"));
    }
    let Some(c) = CHIP_CHALLENGES.get(records, &key).await? else {
        return Ok(Err("the challenge is unknown or was already used"));
    };
    if c.value.used {
        return Ok(Err("the challenge is unknown or was already used"));
    }
    // Claimed by a conditional write: of two requests with one challenge, one gets it.
    let claimed = ChipChallenge {
        used: true,
        ..c.value.clone()
    };
    match CHIP_CHALLENGES
        .replace(records, &key, c.version, &claimed)
        .await
    {
        Ok(()) => {}
        Err(e) if e.is_conflict() => {
            return Ok(Err("the challenge is unknown or was already used"));
        }
        Err(e) => return Err(e.into()),
    }
    records.remove(CHIP_CHALLENGES.name(), &key).await?;
    if c.value.expires_at_ms <= now_ms {
        return Ok(Err("the challenge expired"));
    }
    Ok(hex::decode(&c.value.challenge).map_err(|_| "the challenge is unknown"))
}

/// Removes `tenant`'s challenges that expired before `now_ms`; how many.
pub async fn sweep(records: &dyn RecordStore, tenant: &str, now_ms: u64) -> Result<usize, Error> {
    let mut n = 0;
    for (key, c) in CHIP_CHALLENGES.list(records, &format!("{tenant}/")).await? {
        if c.expires_at_ms <= now_ms {
            records.remove(CHIP_CHALLENGES.name(), &key).await?;
            n += 1;
        }
    }
    Ok(n)
}

/// What a request said of the chip, read and bounded; `None` when it sent no chip.
pub struct ChipRequest {
    pub chip: Chip,
    pub challenge_id: Option<String>,
}

/// Reads a chip from `fields`, each part base64 (or a multipart file) under
/// `name(part)`; 400 when a part is not base64, too large, or the SOD is missing.
pub fn read_fields(
    fields: &Fields,
    name: impl Fn(&str) -> String,
) -> Result<Option<ChipRequest>, Error> {
    let parts = [
        "sod",
        "dg1",
        "dg2",
        "dg14",
        "dg15",
        "challenge_id",
        "aa_signature",
    ];
    if !parts.iter().any(|p| fields.has(&name(p))) {
        return Ok(None);
    }
    let bytes = |part: &str, max: usize| -> Result<Option<Vec<u8>>, Error> {
        let field = name(part);
        let b = match fields.values.get(&field) {
            None => return Ok(None),
            Some(crate::images::FieldValue::File(b)) => b.clone(),
            Some(crate::images::FieldValue::Text(t)) if t.trim().is_empty() => return Ok(None),
            Some(crate::images::FieldValue::Text(t)) => decode_base64(t).ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidBase64,
                    format!("{field} is not valid base64"),
                )
            })?,
        };
        if b.len() > max {
            return Err(Error::new(
                ErrorCode::InvalidField,
                format!("{field} is larger than {} kB", max / 1024),
            ));
        }
        Ok(Some(b))
    };
    let sod = bytes("sod", MAX_SMALL)?.ok_or_else(|| {
        Error::new(
            ErrorCode::MissingField,
            format!("{} is required with the chip's data groups", name("sod")),
        )
    })?;
    let mut dgs = BTreeMap::new();
    for (n, max) in [
        (1, MAX_SMALL),
        (2, MAX_DG2),
        (14, MAX_SMALL),
        (15, MAX_SMALL),
    ] {
        if let Some(b) = bytes(&format!("dg{n}"), max)? {
            dgs.insert(n, b);
        }
    }
    let challenge_id = fields
        .text(&name("challenge_id"))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let signature = bytes("aa_signature", 1024)?;
    match (&challenge_id, &signature) {
        (Some(_), None) => {
            return Err(Error::new(
                ErrorCode::MissingField,
                format!(
                    "{} is required with {}",
                    name("aa_signature"),
                    name("challenge_id")
                ),
            ));
        }
        (None, Some(_)) => {
            return Err(Error::new(
                ErrorCode::MissingField,
                format!(
                    "{} is required with {} (POST /v1/chip/challenge issues it)",
                    name("challenge_id"),
                    name("aa_signature")
                ),
            ));
        }
        _ => {}
    }
    Ok(Some(ChipRequest {
        chip: Chip {
            sod,
            dgs,
            // The challenge's bytes are filled in when it is taken.
            aa: signature.map(|s| (Vec::new(), s)),
        },
        challenge_id,
    }))
}

/// The chip as the pipeline takes it: the challenge taken (single use) when Active
/// Authentication was asked for; `Err(reason)` when it could not be.
pub async fn prepare(
    records: &dyn RecordStore,
    tenant: &str,
    req: ChipRequest,
) -> Result<PreparedChip, Error> {
    let mut chip = req.chip;
    let mut aa_refused = None;
    if let Some(id) = &req.challenge_id {
        match take_challenge(records, tenant, id, idv_store::now_ms()).await? {
            Ok(bytes) => {
                if let Some(aa) = chip.aa.as_mut() {
                    aa.0 = bytes;
                }
            }
            Err(why) => {
                aa_refused = Some(why.to_string());
                chip.aa = None;
            }
        }
    }
    Ok(PreparedChip { chip, aa_refused })
}

/// A chip ready to verify.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreparedChip {
    #[serde(with = "chip_serde")]
    pub chip: Chip,
    /// Why Active Authentication was asked for and could not be judged.
    pub aa_refused: Option<String>,
}

/// A chip in a queued job (hex, small).
mod chip_serde {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Wire {
        sod: String,
        dgs: BTreeMap<u32, String>,
        aa: Option<(String, String)>,
    }

    pub fn serialize<S: serde::Serializer>(c: &Chip, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            sod: hex::encode(&c.sod),
            dgs: c.dgs.iter().map(|(n, b)| (*n, hex::encode(b))).collect(),
            aa: c.aa.as_ref().map(|(a, b)| (hex::encode(a), hex::encode(b))),
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Chip, D::Error> {
        let w = Wire::deserialize(d)?;
        let h = |s: &str| hex::decode(s).map_err(serde::de::Error::custom);
        Ok(Chip {
            sod: h(&w.sod)?,
            dgs: w
                .dgs
                .iter()
                .map(|(n, b)| Ok((*n, h(b)?)))
                .collect::<Result<_, D::Error>>()?,
            aa: match w.aa {
                Some((a, b)) => Some((h(&a)?, h(&b)?)),
                None => None,
            },
        })
    }
}

/// The blob prefix of the trust store on AWS (the bucket), with an `index` listing its files:
/// `idv chip trust import` writes both into DATA/chip-trust, which
/// `aws s3 sync DATA/chip-trust s3://BUCKET/chip-trust/` copies.
pub const TRUST_PREFIX: &str = "chip-trust/";

/// Loads the trust store from blobs (`chip-trust/index`, one file name per line, then each
/// `chip-trust/NAME`); an empty store when there is no index.
pub async fn load_trust(blobs: &dyn BlobStore) -> Result<Arc<TrustStore>, Error> {
    let mut store = TrustStore::default();
    let Some(index) = blobs.get(&format!("{TRUST_PREFIX}index")).await? else {
        return Ok(Arc::new(store));
    };
    for name in String::from_utf8_lossy(&index).lines().map(str::trim) {
        if name.is_empty() {
            continue;
        }
        let key = format!("{TRUST_PREFIX}{name}");
        let bytes = blobs.get(&key).await?.ok_or_else(|| {
            Error::internal(format!("the trust store lists {key}, which is missing"))
        })?;
        store
            .add(name, &bytes)
            .map_err(|e| Error::internal(format!("trust store {key}: {e}")))?;
    }
    Ok(Arc::new(store))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_challenge_is_taken_once_before_it_expires_and_swept_after() {
        let dir = std::env::temp_dir().join(format!("idv-chip-challenges-{}", std::process::id()));
        let s = crate::Services::embedded(&dir, Vec::new());
        let records = s.records.as_ref();
        let now = 1_000_000;
        let c = issue_challenge(records, "acme", now).await.unwrap();
        assert_eq!(c.challenge.len(), 16);
        // Another tenant cannot take it; its tenant can, once.
        let other = take_challenge(records, "globex", &c.challenge_id, now)
            .await
            .unwrap();
        assert!(other.is_err());
        let bytes = take_challenge(records, "acme", &c.challenge_id, now)
            .await
            .unwrap();
        assert_eq!(bytes.unwrap(), hex::decode(&c.challenge).unwrap());
        let again = take_challenge(records, "acme", &c.challenge_id, now)
            .await
            .unwrap();
        assert!(again.is_err());
        // Two requests with one challenge at once: one gets it.
        let raced = issue_challenge(records, "acme", now).await.unwrap();
        let (a, b) = tokio::join!(
            take_challenge(records, "acme", &raced.challenge_id, now),
            take_challenge(records, "acme", &raced.challenge_id, now)
        );
        assert_eq!(
            [a.unwrap().is_ok(), b.unwrap().is_ok()]
                .iter()
                .filter(|x| **x)
                .count(),
            1
        );
        // Past its 5 minutes it is refused, and the sweep removes the ones never used.
        let late = issue_challenge(records, "acme", now).await.unwrap();
        let after = now + CHALLENGE_SECONDS * 1000;
        let expired = take_challenge(records, "acme", &late.challenge_id, after)
            .await
            .unwrap();
        assert_eq!(expired, Err("the challenge expired"));
        issue_challenge(records, "acme", now).await.unwrap();
        issue_challenge(records, "acme", after).await.unwrap();
        assert_eq!(sweep(records, "acme", after).await.unwrap(), 1);
        assert_eq!(
            CHIP_CHALLENGES.list(records, "acme/").await.unwrap().len(),
            1
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
