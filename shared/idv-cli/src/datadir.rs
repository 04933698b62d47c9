//! The data directory's private files: secrets created on first use, owner-only.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result};
use rand_core::{OsRng, RngCore};

/// A secret kept in the data directory, created with mode 0600 on first use.
pub fn secret(data: &Path, name: &str) -> Result<Vec<u8>> {
    let path = data.join("secrets").join(name);
    if let Ok(hex) = std::fs::read_to_string(&path) {
        return hex::decode(hex.trim()).with_context(|| format!("{} is corrupt", path.display()));
    }
    std::fs::create_dir_all(path.parent().expect("has parent"))?;
    std::fs::set_permissions(
        path.parent().expect("has parent"),
        std::fs::Permissions::from_mode(0o700),
    )?;
    let mut key = vec![0u8; 32];
    OsRng.fill_bytes(&mut key);
    use std::io::Write;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?
        .write_all(hex::encode(&key).as_bytes())?;
    Ok(key)
}
