//! How the core's data lifecycle reaches one-call verifications: erasure (with the uploads
//! their images came from), image purges, retention and tenant deletion.

use crate::dialects::onecall::records::ONECALL;
use idv_core::records::{Tombstone, remove_prefixed};
use idv_core::{Dialect, Error, Seen, Services};
use idv_store::RecordStore;

/// The one-call dialect.
pub struct OneCall;

#[async_trait::async_trait]
impl Dialect for OneCall {
    async fn verifications(&self, s: &Services, tenant: &str) -> Result<Vec<Seen>, Error> {
        let prefix = format!("{tenant}/");
        let rows = ONECALL.list(s.records.as_ref(), &prefix).await?;
        Ok(Seen::all(rows, &prefix, |r| Some(r.received_at.as_str())))
    }

    async fn erase(
        &self,
        s: &Services,
        tenant: &str,
        id: &str,
        _keep_certificate: bool,
    ) -> Result<Option<Tombstone>, Error> {
        erase_onecall(s, tenant, id).await
    }

    async fn purge_images(
        &self,
        s: &Services,
        tenant: &str,
        id: &str,
    ) -> Result<Vec<String>, Error> {
        let records = s.records.as_ref();
        let key = format!("{tenant}/{id}");
        let Some(rec) = ONECALL.get(records, &key).await? else {
            return Ok(Vec::new());
        };
        if !rec.value.uploads.is_empty() {
            ONECALL
                .update(records, &key, |r| {
                    let had = !r.uploads.is_empty();
                    r.uploads.clear();
                    had
                })
                .await?;
        }
        Ok(rec.value.uploads)
    }

    async fn delete_tenant(&self, records: &dyn RecordStore, tenant: &str) -> Result<usize, Error> {
        remove_prefixed(records, ONECALL.name(), &format!("{tenant}/")).await
    }
}

/// Erases a one-call verification of `tenant`: the uploads its images came from; its record
/// becomes the tombstone.
async fn erase_onecall(
    state: &Services,
    tenant: &str,
    id: &str,
) -> Result<Option<Tombstone>, Error> {
    let records = state.records.as_ref();
    let key = format!("{tenant}/{id}");
    let Some(rec) = ONECALL.get(records, &key).await? else {
        return Ok(None);
    };
    let rec = rec.value;
    for k in &rec.uploads {
        state.blobs.delete(k).await?;
    }
    let tomb = Tombstone {
        id: id.to_string(),
        dialect: "onecall".into(),
        requested_at: Some(rec.received_at),
        deleted_at: idv_core::clock::timestamp(),
        outcome: Some(rec.outcome),
        codes: rec.codes,
        inputs: rec.inputs,
        certificate_kept: false,
    };
    records.remove(ONECALL.name(), &key).await?;
    Ok(Some(tomb))
}
