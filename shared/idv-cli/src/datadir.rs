//! The data directory's private files: secrets created on first use, owner-only.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result};
use idv_store::EmbeddedRecords;
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

/// Writes `bytes` to `path` readable by the owner only (0600), replacing what was there.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The data directory's database, or an error saying what to do: another process holds it,
/// or the file is damaged (check it, restore a backup).
pub fn open_database(data: &Path) -> Result<EmbeddedRecords> {
    let path = data.join("idv.redb");
    EmbeddedRecords::open(&path).map_err(|e| match e {
        idv_store::StoreError::InUse => anyhow::anyhow!(
            "{} is in use by another idv process (one process per data directory): stop it first",
            path.display()
        ),
        idv_store::StoreError::Corrupt(_) => anyhow::anyhow!(
            "{} is damaged ({e}). `idv store check --data {}` reports what is still readable; \
             restore the file from a backup, or move it aside to start empty",
            path.display(),
            data.display()
        ),
        e => anyhow::Error::new(e).context(format!("opening {}", path.display())),
    })
}
