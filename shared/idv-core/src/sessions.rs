//! Hosted verification sessions as the core keeps them: a business creates one, its user
//! opens the session's page by an unguessable link, sends a document and a selfie, and the
//! verification runs on the `sessions` queue. The link's token is never stored, only its
//! SHA-256, which keys [`SESSION_LINKS`].

use std::collections::BTreeMap;

use base64::Engine as _;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::records::{InputDigest, Stored, Table};

/// Sessions, keyed `TENANT/ID`.
pub const SESSIONS: Table<Session> = Table::new("sessions");
/// The session of each page link, keyed by the SHA-256 (hex) of the link's token.
pub const SESSION_LINKS: Table<SessionLink> = Table::new("session_links");

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Created; the user has not sent an image yet.
    Created,
    /// The user has sent at least one image.
    InProgress,
    /// The images are in; the verification runs.
    Processing,
    /// Approved.
    Verified,
    /// Neither approved nor rejected: a person should look.
    RequiresReview,
    Rejected,
    /// Its link expired before the user finished.
    Expired,
    /// Canceled by the business.
    Canceled,
}

impl Status {
    /// Whether the user may still send images.
    pub fn open(self) -> bool {
        matches!(self, Status::Created | Status::InProgress)
    }
}

/// A hosted verification session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub created_at: String,
    /// Unix ms after which its link no longer opens.
    pub expires_at_ms: u64,
    /// The business's own id for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Where the page sends the user when done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// Where `session.completed` goes (else the tenant's default callback URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// The document types the user may choose from.
    pub document_types: Vec<String>,
    /// `passive`.
    pub liveness: String,
    /// The page's language, when the business chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    pub status: Status,
    /// SHA-256 (hex) of the page link's token: its key in [`SESSION_LINKS`].
    pub link: String,
    /// The document type the user chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    /// Images accepted so far: `document`, `document_back`, `selfie` → upload key.
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    /// SHA-256 of each image verified.
    #[serde(default)]
    pub inputs: Vec<InputDigest>,
    /// The verification's result, once it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    /// Why the verification could not run, when it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The active liveness challenge last issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<IssuedChallenge>,
    /// The verdict on the last clip sent for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<serde_json::Value>,
}

/// An active liveness challenge as issued: single use, short-lived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedChallenge {
    pub id: String,
    pub challenge: idv_vision::active::Challenge,
    /// Unix ms after which frames for it are refused.
    pub expires_at_ms: u64,
    /// Whether frames were sent for it.
    #[serde(default)]
    pub used: bool,
}

/// A random challenge from the bytes of `random` (at least 13): three sideways turns,
/// alternating from a random side, each lasting 1.1 to 1.7 s at random; ten colours at random
/// (consecutive ones differ). Looking up is not asked: with five landmarks it did not tell a
/// head looking up from one turning sideways on the rendered clips.
pub fn random_challenge(random: &[u8]) -> idv_vision::active::Challenge {
    use idv_vision::active::{PALETTE, Turn};
    let byte = |i: usize| random.get(i).copied().unwrap_or(0) as usize;
    let order = match byte(0) % 2 {
        0 => [Turn::Left, Turn::Right, Turn::Left],
        _ => [Turn::Right, Turn::Left, Turn::Right],
    };
    let durations = [1, 2, 3].map(|i| 1100 + (byte(i) % 7) as u32 * 100);
    let mut colours: Vec<usize> = Vec::new();
    for i in 0..10 {
        let prev = colours.last().copied();
        let mut c = byte(3 + i) % PALETTE.len();
        if Some(c) == prev {
            c = (c + 1 + byte(i) % (PALETTE.len() - 1)) % PALETTE.len();
        }
        colours.push(c);
    }
    idv_vision::active::Challenge::timed(order, durations, &colours)
}

impl Session {
    /// Its status at `now_ms`: an open session past its expiry is [`Status::Expired`].
    pub fn status_at(&self, now_ms: u64) -> Status {
        if self.status.open() && now_ms >= self.expires_at_ms {
            Status::Expired
        } else {
            self.status
        }
    }
}

/// Which session a page link opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionLink {
    pub tenant: String,
    pub id: String,
}

/// A fresh page-link token: 32 random bytes, URL-safe base64 (43 characters).
pub fn token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The key of `token` in [`SESSION_LINKS`].
pub fn link_of(token: &str) -> String {
    crate::digest::sha256_hex(token.as_bytes())
}

/// The session page-link `token` opens, with its `TENANT/ID` key; `None` for a token that is
/// not one (malformed, unknown, or its session erased).
pub async fn by_token(
    records: &dyn idv_store::RecordStore,
    token: &str,
) -> Result<Option<(String, Stored<Session>)>, Error> {
    let well_formed = token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Ok(None);
    }
    let link = link_of(token);
    let Some(l) = SESSION_LINKS.get(records, &link).await? else {
        return Ok(None);
    };
    let key = format!("{}/{}", l.value.tenant, l.value.id);
    Ok(SESSIONS
        .get(records, &key)
        .await?
        .filter(|s| s.value.link == link)
        .map(|s| (key, s)))
}

/// Whether the session at `key` takes images whose URLs were issued to link `link` now.
pub async fn takes_images(
    records: &dyn idv_store::RecordStore,
    key: &str,
    link: &str,
) -> Result<bool, Error> {
    Ok(SESSIONS
        .get(records, key)
        .await?
        .is_some_and(|s| s.value.link == link && s.value.status_at(idv_store::now_ms()).open()))
}
