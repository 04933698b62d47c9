//! Presigned uploads: each URL handed out is recorded with the credential that asked for it.
//! The local store receives the PUT itself and takes it only while that tenant is enabled and
//! that credential unchanged, once per URL, and only image bytes of the signed type. Every
//! upload, used or not, goes with the tenant's image period.
//!
//! On AWS, S3 receives the PUT: its URL is signed for the content type and `If-None-Match: *`
//! (a second PUT is refused, 412), the bytes are checked as images when a verification reads
//! them, and the bucket's lifecycle rule expires uploads as a backstop to the sweep.

use std::time::Duration;

use idv_store::{BlobKey, PresignedPut};

use crate::error::{Error, ErrorCode};
use crate::records::{CREDENTIALS, RetentionPolicy, UPLOADS, Upload};
use crate::services::Services;

/// The image types an upload may declare.
pub const CONTENT_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/webp", "image/bmp"];

/// How an upload record names a session owner: `session:TENANT/ID`.
const SESSION: &str = "session:";

fn digest(hash: &str) -> String {
    crate::digest::sha256_hex(hash.as_bytes())
}

/// 409 `UPLOAD_USED`.
fn used() -> Error {
    Error::new(
        ErrorCode::UploadUsed,
        "this upload URL already received its image; ask for another",
    )
}

/// Whether the credential that asked for `up` still exists unchanged for `tenant`.
async fn credential_unchanged(
    records: &dyn idv_store::RecordStore,
    tenant: &str,
    up: &Upload,
) -> Result<bool, Error> {
    Ok(CREDENTIALS
        .get(records, &up.credential)
        .await?
        .is_some_and(|c| {
            !c.value.disabled
                && c.value.tenant == tenant
                && digest(&c.value.hash) == up.credential_digest
        }))
}

/// Who asks for an upload URL: the URL lives only as long as they may send images.
pub enum Owner<'a> {
    /// A tenant signed in with this credential (`KIND:ID`).
    Credential(&'a str),
    /// A hosted session (`TENANT/ID`) through its page link (the link's SHA-256).
    Session { key: &'a str, link: &'a str },
}

/// Hands `tenant` (through `owner`) a presigned PUT for one image of type `content_type`: its
/// key and the URL.
pub async fn issue(
    state: &Services,
    tenant: &str,
    owner: Owner<'_>,
    content_type: &str,
) -> Result<(String, PresignedPut), Error> {
    if !CONTENT_TYPES.contains(&content_type) {
        return Err(Error::new(
            ErrorCode::UnsupportedMediaType,
            "contentType must be image/jpeg, image/png, image/webp or image/bmp",
        ));
    }
    let records = state.records.as_ref();
    let (credential, credential_digest) = match owner {
        Owner::Credential(credential) => {
            let cred = CREDENTIALS
                .get(records, credential)
                .await?
                .ok_or_else(Error::unauthorized)?;
            (credential.to_string(), digest(&cred.value.hash))
        }
        Owner::Session { key, link } => (format!("{SESSION}{key}"), link.to_string()),
    };
    let key = format!("{tenant}/uploads/{}", uuid::Uuid::new_v4());
    let upload = Upload {
        issued_at_ms: idv_store::now_ms(),
        credential,
        credential_digest,
        received: false,
    };
    UPLOADS.insert(records, &key, &upload).await?;
    let put = state
        .blobs
        .presign_put(
            &key,
            content_type,
            idv_image::MAX_BYTES as u64,
            Duration::from_secs(state.config.upload_seconds),
        )
        .await?;
    Ok((key, put))
}

/// Takes the image PUT to upload `key` (its URL's signature already checked): refused unless
/// the URL was handed out, its tenant is enabled and the credential that asked is unchanged;
/// refused once it has received an image; the bytes must be an image of `content_type`.
pub async fn receive(
    state: &Services,
    key: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Result<(), Error> {
    let records = state.records.as_ref();
    let refused = |why: &str| Error::new(ErrorCode::UploadRefused, why.to_string());
    let Some(up) = UPLOADS.get(records, key).await? else {
        return Err(refused("this upload URL is not in force"));
    };
    let tenant = key.split('/').next().unwrap_or_default();
    crate::signin::active(state, tenant)
        .await
        .map_err(|e| match e.code {
            ErrorCode::TenantDisabled => refused("this upload URL's tenant is disabled"),
            _ => refused("this upload URL is not in force"),
        })?;
    let unchanged = match up.value.credential.strip_prefix(SESSION) {
        Some(session) => {
            crate::sessions::takes_images(records, session, &up.value.credential_digest).await?
        }
        None => credential_unchanged(records, tenant, &up.value).await?,
    };
    if !unchanged {
        return Err(refused(
            "the credential or session that asked for this upload URL is no longer in force",
        ));
    }
    if up.value.received {
        return Err(used());
    }
    let expected = match content_type {
        "image/jpeg" => image::ImageFormat::Jpeg,
        "image/png" => image::ImageFormat::Png,
        "image/webp" => image::ImageFormat::WebP,
        _ => image::ImageFormat::Bmp,
    };
    if idv_image::sniff_format(&bytes) != Some(expected) {
        return Err(Error::new(
            ErrorCode::UnsupportedMediaType,
            format!("the bytes are not a {content_type} image"),
        ));
    }
    // Claimed before the bytes are stored: of two PUTs at once, one stores.
    let claimed = crate::error::on_conflict(
        UPLOADS
            .replace(
                records,
                key,
                up.version,
                &Upload {
                    received: true,
                    ..up.value.clone()
                },
            )
            .await,
        used,
    );
    claimed?;
    if let Err(e) = state
        .blobs
        .put(&BlobKey::temporary(key)?, bytes, content_type)
        .await
    {
        // Nothing stored: the URL may be used again.
        let _ = UPLOADS
            .update(records, key, |u| std::mem::replace(&mut u.received, false))
            .await;
        return Err(e.into());
    }
    Ok(())
}

/// Removes `tenant`'s uploads older than its image period at `now_ms`, used or not (a
/// verification that used one keeps no other copy of it); how many went.
pub async fn sweep(
    state: &Services,
    tenant: &str,
    policy: &RetentionPolicy,
    now_ms: u64,
) -> Result<usize, Error> {
    let records = state.records.as_ref();
    let mut gone = 0;
    for (key, up) in UPLOADS.list(records, &format!("{tenant}/")).await? {
        if now_ms.saturating_sub(up.issued_at_ms) / 1000 < policy.images_seconds {
            continue;
        }
        state.blobs.delete(&key).await?;
        records.remove(UPLOADS.name(), &key).await?;
        gone += 1;
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];

    fn code(r: Result<(), Error>) -> Option<ErrorCode> {
        r.err().map(|e| e.code)
    }

    #[tokio::test]
    async fn an_upload_url_dies_with_its_tenant_or_credential_and_takes_one_image() {
        let dir = std::env::temp_dir().join(format!("idv-uploads-{}", std::process::id()));
        let s = Services::embedded(&dir, Vec::new());
        let records = s.records.as_ref();
        let t = crate::accounts::create_tenant(records, "acme", None)
            .await
            .unwrap();
        let cred = format!("api_key:{}", t.api_key.split('_').nth(1).unwrap());
        let issue = || issue(&s, &t.tenant, Owner::Credential(&cred), "image/jpeg");

        // One image per URL, and only an image of the signed type.
        let (a, _) = issue().await.unwrap();
        let not_image = receive(&s, &a, "image/jpeg", b"<html>".to_vec()).await;
        assert_eq!(code(not_image), Some(ErrorCode::UnsupportedMediaType));
        assert_eq!(
            code(receive(&s, &a, "image/jpeg", JPEG.to_vec()).await),
            None
        );
        let again = receive(&s, &a, "image/jpeg", b"\xFF\xD8\xFFother".to_vec()).await;
        assert_eq!(code(again), Some(ErrorCode::UploadUsed));
        assert_eq!(s.blobs.get(&a).await.unwrap().as_deref(), Some(JPEG));
        // A key never handed out.
        let forged = format!("{}/uploads/made-up", t.tenant);
        let r = receive(&s, &forged, "image/jpeg", JPEG.to_vec()).await;
        assert_eq!(code(r), Some(ErrorCode::UploadRefused));

        // Disabled tenant.
        let (b, _) = issue().await.unwrap();
        crate::tenants::set_disabled(records, &t.tenant, true)
            .await
            .unwrap();
        s.verified.forget_tenant(&t.tenant);
        let r = receive(&s, &b, "image/jpeg", JPEG.to_vec()).await;
        assert_eq!(code(r), Some(ErrorCode::UploadRefused));
        crate::tenants::set_disabled(records, &t.tenant, false)
            .await
            .unwrap();
        s.verified.forget_tenant(&t.tenant);
        assert_eq!(
            code(receive(&s, &b, "image/jpeg", JPEG.to_vec()).await),
            None
        );

        // Rotated credential.
        let (c, _) = issue().await.unwrap();
        crate::accounts::rotate_credentials_in(records, &t.tenant, Some(&s.verified))
            .await
            .unwrap();
        let r = receive(&s, &c, "image/jpeg", JPEG.to_vec()).await;
        assert_eq!(code(r), Some(ErrorCode::UploadRefused));

        // Retention: every upload older than the image period goes, used or not.
        let (unused, _) = issue().await.unwrap();
        let policy = RetentionPolicy::default();
        let later = idv_store::now_ms() + policy.images_seconds * 1000;
        assert_eq!(
            sweep(&s, &t.tenant, &policy, idv_store::now_ms())
                .await
                .unwrap(),
            0
        );
        assert_eq!(sweep(&s, &t.tenant, &policy, later).await.unwrap(), 4);
        assert!(s.blobs.get(&a).await.unwrap().is_none());
        assert!(s.blobs.get(&b).await.unwrap().is_none());
        assert!(UPLOADS.get(records, &unused).await.unwrap().is_none());

        // Deleted tenant: its URLs are refused and nothing is recreated under it.
        let fresh = crate::accounts::rotate_credentials_in(records, &t.tenant, Some(&s.verified))
            .await
            .unwrap();
        let cred = format!("api_key:{}", fresh.api_key.split('_').nth(1).unwrap());
        let (d, _) = super::issue(&s, &t.tenant, Owner::Credential(&cred), "image/jpeg")
            .await
            .unwrap();
        crate::tenants::set_disabled(records, &t.tenant, true)
            .await
            .unwrap();
        crate::tenants::delete(records, s.blobs.as_ref(), &[], &t.tenant)
            .await
            .unwrap();
        s.verified.forget_tenant(&t.tenant);
        let r = receive(&s, &d, "image/jpeg", JPEG.to_vec()).await;
        assert_eq!(code(r), Some(ErrorCode::UploadRefused));
        assert!(!dir.join("blobs").join(&t.tenant).exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
