//! How the core's data lifecycle reaches sessions: erasure (images, link and result), image
//! purges, retention and tenant deletion.

use idv_core::records::{Tombstone, remove_prefixed};
use idv_core::sessions::{SESSION_LINKS, SESSIONS};
use idv_core::{Dialect, Error, Seen, Services};
use idv_store::RecordStore;

/// The sessions API.
pub struct Sessions;

#[async_trait::async_trait]
impl Dialect for Sessions {
    async fn verifications(&self, s: &Services, tenant: &str) -> Result<Vec<Seen>, Error> {
        let prefix = format!("{tenant}/");
        let rows = SESSIONS.list(s.records.as_ref(), &prefix).await?;
        Ok(Seen::all(rows, &prefix, |r| Some(r.created_at.as_str())))
    }

    async fn erase(
        &self,
        s: &Services,
        tenant: &str,
        id: &str,
        _keep_certificate: bool,
    ) -> Result<Option<Tombstone>, Error> {
        let records = s.records.as_ref();
        let key = format!("{tenant}/{id}");
        let Some(rec) = SESSIONS.get(records, &key).await? else {
            return Ok(None);
        };
        let rec = rec.value;
        for blob in rec.images.values() {
            s.blobs.delete(blob).await?;
        }
        let result = rec.result.as_ref();
        let tomb = Tombstone {
            id: id.to_string(),
            dialect: "sessions".into(),
            requested_at: Some(rec.created_at.clone()),
            deleted_at: idv_core::clock::timestamp(),
            outcome: result
                .and_then(|r| r["outcome"].as_str())
                .map(|o| o.to_uppercase()),
            codes: result
                .and_then(|r| r["findings"].as_array())
                .map(|f| {
                    f.iter()
                        .filter_map(|d| d["code"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            inputs: rec.inputs.clone(),
            certificate_kept: false,
        };
        records.remove(SESSION_LINKS.name(), &rec.link).await?;
        records.remove(SESSIONS.name(), &key).await?;
        Ok(Some(tomb))
    }

    async fn purge_images(
        &self,
        s: &Services,
        tenant: &str,
        id: &str,
    ) -> Result<Vec<String>, Error> {
        let key = format!("{tenant}/{id}");
        let Some(rec) = SESSIONS.get(s.records.as_ref(), &key).await? else {
            return Ok(Vec::new());
        };
        if !rec.value.images.is_empty() {
            SESSIONS
                .update(s.records.as_ref(), &key, |r| {
                    let had = !r.images.is_empty();
                    r.images.clear();
                    had
                })
                .await?;
        }
        Ok(rec.value.images.into_values().collect())
    }

    async fn delete_tenant(&self, records: &dyn RecordStore, tenant: &str) -> Result<usize, Error> {
        let mut removed = 0;
        for (link, l) in SESSION_LINKS.list(records, "").await? {
            if l.tenant == tenant {
                records.remove(SESSION_LINKS.name(), &link).await?;
                removed += 1;
            }
        }
        Ok(removed + remove_prefixed(records, SESSIONS.name(), &format!("{tenant}/")).await?)
    }
}
