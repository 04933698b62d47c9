//! [`FileBlobs`]: blobs as files under a directory, with HMAC-signed upload URLs that idv
//! itself serves (the local stand-in for S3 presigned PUTs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{BlobKey, BlobStore, PresignedPut, Result, StoreError, check_key, now_ms};

/// Blobs stored as files; writes are atomic (temporary file, then rename).
pub struct FileBlobs {
    root: PathBuf,
    public_base: String,
    secret: Vec<u8>,
}

/// Why a presigned upload was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UploadRefused {
    #[error("the upload URL's signature does not match")]
    BadSignature,
    #[error("the upload URL has expired")]
    Expired,
    #[error("the body is larger than the upload allows")]
    TooLarge,
    #[error("the Content-Type differs from the one the upload was signed for")]
    WrongContentType,
}

/// The query parameters of a local upload URL.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct UploadGrant {
    pub expires: u64,
    pub max: u64,
    #[serde(rename = "type")]
    pub content_type: String,
    pub sig: String,
}

/// Creates `dir` (and its parents) readable by the owner only (0700).
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Makes every directory under `root` 0700 and every file 0600 (data written by an earlier
/// version, or copied in); returns how many it changed.
pub fn restrict_tree(root: &Path) -> std::io::Result<usize> {
    use std::os::unix::fs::PermissionsExt;
    let mut changed = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p)?;
        if meta.file_type().is_symlink() {
            continue;
        }
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        if meta.permissions().mode() & 0o777 != want {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(want))?;
            changed += 1;
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&p)? {
                stack.push(entry?.path());
            }
        }
    }
    Ok(changed)
}

impl FileBlobs {
    /// Blobs under `root`; upload URLs start with `public_base` (e.g. `http://127.0.0.1:8080`)
    /// and are signed with `secret`.
    pub fn open(root: &Path, public_base: &str, secret: &[u8]) -> Result<FileBlobs> {
        private_dir(root)?;
        Ok(FileBlobs {
            root: root.to_path_buf(),
            public_base: public_base.trim_end_matches('/').to_string(),
            secret: secret.to_vec(),
        })
    }

    fn path(&self, key: &str) -> Result<PathBuf> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    fn mac(&self, key: &str, expires: u64, max: u64, content_type: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        mac.update(format!("PUT\n{key}\n{expires}\n{max}\n{content_type}").as_bytes());
        mac
    }

    fn sign(&self, key: &str, expires: u64, max: u64, content_type: &str) -> String {
        hex::encode(
            self.mac(key, expires, max, content_type)
                .finalize()
                .into_bytes(),
        )
    }

    /// Checks an upload to `key` against its grant: signature, expiry, size and content type.
    pub fn check_upload(
        &self,
        key: &str,
        grant: &UploadGrant,
        content_type: &str,
        len: u64,
    ) -> Result<(), UploadRefused> {
        let mac = self.mac(key, grant.expires, grant.max, &grant.content_type);
        let sig = hex::decode(&grant.sig).map_err(|_| UploadRefused::BadSignature)?;
        // verify_slice compares in constant time.
        if mac.verify_slice(&sig).is_err() {
            return Err(UploadRefused::BadSignature);
        }
        if now_ms() / 1000 > grant.expires {
            return Err(UploadRefused::Expired);
        }
        if len > grant.max {
            return Err(UploadRefused::TooLarge);
        }
        if !content_type.eq_ignore_ascii_case(&grant.content_type) {
            return Err(UploadRefused::WrongContentType);
        }
        Ok(())
    }
}

/// Bytes available to this process on the filesystem holding `dir` (statvfs).
pub fn free_bytes(dir: &Path) -> Option<u64> {
    let st = rustix::fs::statvfs(dir).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Files under `dir` (0 when it does not exist).
fn count_files(dir: &Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut n = 0;
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            n += count_files(&entry.path())?;
        } else {
            n += 1;
        }
    }
    Ok(n)
}

#[async_trait]
impl BlobStore for FileBlobs {
    fn free_bytes(&self) -> Option<u64> {
        free_bytes(&self.root)
    }

    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, _content_type: &str) -> Result<()> {
        let path = self.path(key.as_str())?;
        if let Some(dir) = path.parent() {
            tokio::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .await?;
        }
        // Images and certificates are personal data: created 0600, never readable by others.
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        let written = tmp.clone();
        let stored = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&written)?;
            file.write_all(&bytes)?;
            file.sync_all()
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?;
        // Nothing half-written stays behind (a full disk): the object appears whole or not.
        if let Err(e) = match stored {
            Ok(()) => tokio::fs::rename(&tmp, &path).await,
            Err(e) => Err(e),
        } {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e.into());
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Io(e)),
            _ => Ok(()),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<usize> {
        crate::check_prefix(prefix)?;
        let dir = self.root.join(prefix.trim_end_matches('/'));
        let counted = dir.clone();
        let files = tokio::task::spawn_blocking(move || count_files(&counted))
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))??;
        match tokio::fs::remove_dir_all(&dir).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Io(e)),
            _ => Ok(files),
        }
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        expires_in: Duration,
    ) -> Result<PresignedPut> {
        check_key(key)?;
        let expires = now_ms() / 1000 + expires_in.as_secs();
        let sig = self.sign(key, expires, max_bytes, content_type);
        let ct: String = content_type
            .bytes()
            .map(|b| match b {
                b'/' => "%2F".to_string(),
                b'+' => "%2B".to_string(),
                _ => (b as char).to_string(),
            })
            .collect();
        Ok(PresignedPut {
            url: format!(
                "{}/v1/uploads/{key}?expires={expires}&max={max_bytes}&type={ct}&sig={sig}",
                self.public_base
            ),
            method: "PUT",
            headers: BTreeMap::from([("Content-Type".to_string(), content_type.to_string())]),
            expires_at: expires,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(p: &PresignedPut) -> UploadGrant {
        let q = p.url.split_once('?').unwrap().1;
        let get = |k: &str| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                .unwrap()
                .replace("%2F", "/")
        };
        UploadGrant {
            expires: get("expires").parse().unwrap(),
            max: get("max").parse().unwrap(),
            content_type: get("type"),
            sig: get("sig"),
        }
    }

    #[tokio::test]
    async fn stores_and_checks_uploads() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = FileBlobs::open(dir.path(), "http://127.0.0.1:1", b"k").unwrap();
        blobs
            .put(
                &BlobKey::temporary("t/a.jpg").unwrap(),
                b"abc".to_vec(),
                "image/jpeg",
            )
            .await
            .unwrap();
        assert_eq!(blobs.get("t/a.jpg").await.unwrap().unwrap(), b"abc");
        assert!(blobs.get("t/none").await.unwrap().is_none());
        blobs.delete("t/a.jpg").await.unwrap();
        assert!(blobs.get("t/a.jpg").await.unwrap().is_none());

        let p = blobs
            .presign_put("t/u/1", "image/jpeg", 100, Duration::from_secs(60))
            .await
            .unwrap();
        let g = grant(&p);
        assert_eq!(blobs.check_upload("t/u/1", &g, "image/jpeg", 100), Ok(()));
        assert_eq!(
            blobs.check_upload("t/u/2", &g, "image/jpeg", 10),
            Err(UploadRefused::BadSignature)
        );
        assert_eq!(
            blobs.check_upload("t/u/1", &g, "image/jpeg", 101),
            Err(UploadRefused::TooLarge)
        );
        assert_eq!(
            blobs.check_upload("t/u/1", &g, "image/png", 1),
            Err(UploadRefused::WrongContentType)
        );
        let old = UploadGrant {
            expires: g.expires - 3600,
            sig: blobs.sign("t/u/1", g.expires - 3600, 100, "image/jpeg"),
            ..g.clone()
        };
        assert_eq!(
            blobs.check_upload("t/u/1", &old, "image/jpeg", 1),
            Err(UploadRefused::Expired)
        );
    }
}
