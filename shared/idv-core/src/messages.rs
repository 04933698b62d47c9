//! What travels on the queues: one type per queue, JSON on the wire. A message that does not
//! parse is dropped with a warning by its consumer (retrying cannot fix it).

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

/// Queue of Kairos async jobs ([`Job`]).
pub const JOBS_QUEUE: &str = "jobs";
/// Queue of certifications ([`Certify`]), processed by the certification function.
pub const CERTIFY_QUEUE: &str = "certify";
/// Queue of callbacks to deliver ([`Callback`]).
pub const CALLBACKS_QUEUE: &str = "callbacks";
/// Queue of hosted sessions whose images are in ([`SessionRun`]).
pub const SESSIONS_QUEUE: &str = "sessions";
/// Where callbacks that exhausted their schedule go.
pub const CALLBACKS_DEAD_LETTERS: &str = "callbacks-dlq";

/// On `jobs`: a Kairos async job to run (its inputs are in its record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub job: String,
}

/// On `certify`: a LINK verification to certify.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certify {
    pub tenant: String,
    pub id: String,
}

/// On `sessions`: a hosted session to verify (its images are in its record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRun {
    pub tenant: String,
    pub id: String,
}

/// On `callbacks`: one webhook to deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Callback {
    pub event_id: String,
    pub tenant: String,
    pub url: String,
    /// The JSON payload as sent and signed.
    #[serde(deserialize_with = "json_text")]
    pub body: String,
}

/// The message as queue text.
pub fn encode(message: &impl Serialize) -> String {
    // Structs of strings always serialise.
    serde_json::to_string(message).unwrap_or_default()
}

/// The message of `body`, or `None` (with a warning naming `queue`) when it does not parse.
pub fn decode<T: DeserializeOwned>(queue: &str, body: &str) -> Option<T> {
    let parsed = serde_json::from_str(body);
    if parsed.is_err() {
        tracing::warn!(queue, "dropping a malformed message");
    }
    parsed.ok()
}

/// A payload given as JSON text, or (messages queued by earlier versions) as a JSON value.
fn json_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

/// What the worker does with a message after handling it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Done, refused or given up: acknowledge.
    Done,
    /// Failed: try again after this long.
    RetryIn(Duration),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_read_old_and_new_payloads() {
        let new = Callback {
            event_id: "evt_1".into(),
            tenant: "t".into(),
            url: "https://example.org/cb".into(),
            body: r#"{"id":"x"}"#.into(),
        };
        assert_eq!(
            decode::<Callback>("callbacks", &encode(&new)),
            Some(new.clone())
        );
        let old =
            r#"{"event_id":"evt_1","tenant":"t","url":"https://example.org/cb","body":{"id":"x"}}"#;
        assert_eq!(decode::<Callback>("callbacks", old), Some(new));
        assert_eq!(decode::<Job>("jobs", "{}"), None);
    }
}
