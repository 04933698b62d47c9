//! Digests of what idv receives and keeps.

/// The SHA-256 of `b`, lowercase hex.
pub fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}
