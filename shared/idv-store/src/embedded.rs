//! Records and queues in one embedded ACID database file (redb): what `idv serve` runs on.
//! Every write is a committed transaction, so an accepted job or callback survives a crash.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::{JobQueue, Message, Record, RecordStore, Result, StoreError, now_ms};

const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");
const MESSAGES: TableDefinition<&str, &[u8]> = TableDefinition::new("messages");

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A redb error as a [`StoreError`]: I/O errors keep their kind (a full disk is
/// [`StoreError::is_full`]), a damaged file is `Corrupt`.
fn db_err(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Io(io) => StoreError::Io(io),
        redb::Error::PreviousIo => {
            StoreError::Unavailable("a write failed; the database is being reopened".into())
        }
        redb::Error::Corrupted(m) => StoreError::Corrupt(format!("the database file: {m}")),
        redb::Error::DatabaseAlreadyOpen => StoreError::InUse,
        e => StoreError::Backend(e.to_string()),
    }
}

fn open(path: &Path) -> Result<Database> {
    if let Some(dir) = path.parent() {
        crate::files::private_dir(dir)?;
    }
    let db = Database::create(path).map_err(db_err)?;
    // Records hold personal data: the owner's only.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let txn = db.begin_write().map_err(db_err)?;
    txn.open_table(RECORDS).map_err(db_err)?;
    txn.open_table(MESSAGES).map_err(db_err)?;
    txn.commit().map_err(db_err)?;
    Ok(db)
}

/// The database file, reopened after an I/O error: redb refuses every transaction after a
/// failed write until the file is opened again, and a disk that was full and has room again
/// must not need a restart.
struct Db {
    path: PathBuf,
    current: RwLock<Option<Arc<Database>>>,
    /// Set by a failed operation: the next one reopens the file first.
    broken: AtomicBool,
}

impl Db {
    fn open(path: &Path) -> Result<Db> {
        Ok(Db {
            path: path.to_path_buf(),
            current: RwLock::new(Some(Arc::new(open(path)?))),
            broken: AtomicBool::new(false),
        })
    }

    /// The open database, reopened first if an earlier operation failed on I/O.
    fn get(&self) -> Result<Arc<Database>> {
        if !self.broken.load(Ordering::Acquire)
            && let Some(db) = self
                .current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        {
            return Ok(db);
        }
        self.reopen()
    }

    /// Drops the failed handle (waiting up to 2 s for transactions still holding it) and
    /// opens the file again; redb checks and repairs it on opening.
    fn reopen(&self) -> Result<Arc<Database>> {
        let mut slot = self.current.write().unwrap_or_else(|e| e.into_inner());
        if !self.broken.load(Ordering::Acquire)
            && let Some(db) = slot.clone()
        {
            return Ok(db); // another thread reopened it meanwhile
        }
        if let Some(mut db) = slot.take() {
            let mut waited = 0;
            loop {
                match Arc::try_unwrap(db) {
                    Ok(db) => {
                        drop(db);
                        break;
                    }
                    Err(held) if waited < 200 => {
                        db = held;
                        waited += 1;
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(held) => {
                        *slot = Some(held);
                        return Err(StoreError::Unavailable(
                            "the database is busy; retry".into(),
                        ));
                    }
                }
            }
        }
        let db = Arc::new(open(&self.path)?);
        *slot = Some(db.clone());
        self.broken.store(false, Ordering::Release);
        Ok(db)
    }

    /// Rewrites the file with its live entries only: a fresh file, committed, then renamed
    /// over the old one. redb leaves replaced values in free pages until they are reused
    /// (measured: a 20 kB value stayed in the file after two more commits); after this no byte
    /// of them is left. Every other operation waits meanwhile.
    fn rewrite(&self) -> Result<()> {
        let mut slot = self.current.write().unwrap_or_else(|e| e.into_inner());
        let Some(mut held) = slot.take() else {
            return Err(StoreError::Unavailable("the database is closed".into()));
        };
        // Transactions still holding the handle finish first (5 s at most).
        let mut waited = 0;
        let old = loop {
            match Arc::try_unwrap(held) {
                Ok(db) => break db,
                Err(h) if waited < 1000 => {
                    held = h;
                    waited += 1;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(h) => {
                    *slot = Some(h);
                    return Err(StoreError::Unavailable(
                        "the database is busy; retry".into(),
                    ));
                }
            }
        };
        let fresh = self.path.with_extension("redb.rewrite");
        let _ = std::fs::remove_file(&fresh);
        let copied = (|| -> Result<()> {
            let new = open(&fresh)?;
            let read = old.begin_read().map_err(db_err)?;
            let write = new.begin_write().map_err(db_err)?;
            for def in [RECORDS, MESSAGES] {
                let from = read.open_table(def).map_err(db_err)?;
                let mut to = write.open_table(def).map_err(db_err)?;
                for entry in from.iter().map_err(db_err)? {
                    let (k, v) = entry.map_err(db_err)?;
                    to.insert(k.value(), v.value()).map_err(db_err)?;
                }
            }
            write.commit().map_err(db_err)?;
            Ok(())
        })();
        drop(old);
        let renamed = copied.and_then(|()| {
            std::fs::rename(&fresh, &self.path)?;
            if let Some(dir) = self.path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        });
        if renamed.is_err() {
            let _ = std::fs::remove_file(&fresh);
        }
        // The file at `path` (rewritten, or the old one when the copy failed) serves on.
        let db = Arc::new(open(&self.path)?);
        *slot = Some(db);
        renamed
    }

    /// `e` as a [`StoreError`]; an I/O failure marks the handle for reopening.
    fn failed(&self, e: impl Into<redb::Error>) -> StoreError {
        let e = db_err(e);
        if matches!(e, StoreError::Io(_) | StoreError::Unavailable(_)) {
            self.broken.store(true, Ordering::Release);
        }
        e
    }

    fn begin_write(&self) -> Result<redb::WriteTransaction> {
        self.get()?.begin_write().map_err(|e| self.failed(e))
    }

    fn begin_read(&self) -> Result<redb::ReadTransaction> {
        self.get()?.begin_read().map_err(|e| self.failed(e))
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u64,
    value: serde_json::Value,
}

/// [`RecordStore`] on redb. Clones share the database.
#[derive(Clone)]
pub struct EmbeddedRecords {
    db: Arc<Db>,
}

impl EmbeddedRecords {
    /// Opens (creating if needed) the database file at `path`; see [`EmbeddedRecords::queue`].
    pub fn open(path: &Path) -> Result<EmbeddedRecords> {
        Ok(EmbeddedRecords {
            db: Arc::new(Db::open(path)?),
        })
    }

    /// A queue in the same database file (redb allows one process per file).
    pub fn queue(&self, max_receives: u32) -> EmbeddedQueue {
        EmbeddedQueue::on(self.db.clone(), max_receives)
    }
}

/// Runs a redb transaction on the blocking pool: its commit waits for the disk (fsync), which
/// must not stall the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(backend)?
}

fn record_key(table: &str, key: &str) -> String {
    format!("{table}\u{0}{key}")
}

impl EmbeddedRecords {
    fn get_now(&self, table: &str, key: &str) -> Result<Option<Record>> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(RECORDS).map_err(|e| self.db.failed(e))?;
        let Some(v) = t
            .get(record_key(table, key).as_str())
            .map_err(|e| self.db.failed(e))?
        else {
            return Ok(None);
        };
        let s: Stored =
            serde_json::from_slice(v.value()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Some(Record {
            version: s.version,
            value: s.value,
        }))
    }

    fn write_now(
        &self,
        table: &str,
        key: &str,
        expected: Option<u64>,
        value: serde_json::Value,
    ) -> Result<()> {
        let k = record_key(table, key);
        let txn = self.db.begin_write()?;
        {
            let mut t = txn.open_table(RECORDS).map_err(|e| self.db.failed(e))?;
            let current = match t.get(k.as_str()).map_err(|e| self.db.failed(e))? {
                Some(v) => Some(
                    serde_json::from_slice::<Stored>(v.value())
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?
                        .version,
                ),
                None => None,
            };
            if current != expected {
                return Err(crate::conflict(table, key));
            }
            let stored = Stored {
                version: expected.map_or(1, |v| v + 1),
                value,
            };
            let bytes = serde_json::to_vec(&stored).map_err(backend)?;
            t.insert(k.as_str(), bytes.as_slice())
                .map_err(|e| self.db.failed(e))?;
        }
        txn.commit().map_err(|e| self.db.failed(e))?;
        Ok(())
    }

    fn remove_now(&self, table: &str, key: &str) -> Result<()> {
        let k = record_key(table, key);
        let txn = self.db.begin_write()?;
        {
            let mut t = txn.open_table(RECORDS).map_err(|e| self.db.failed(e))?;
            t.remove(k.as_str()).map_err(|e| self.db.failed(e))?;
        }
        txn.commit().map_err(|e| self.db.failed(e))?;
        Ok(())
    }

    fn list_now(&self, table: &str, prefix: &str) -> Result<Vec<(String, Record)>> {
        let start = record_key(table, prefix);
        let txn = self.db.begin_read()?;
        let t = txn.open_table(RECORDS).map_err(|e| self.db.failed(e))?;
        let mut out = Vec::new();
        for item in t.range(start.as_str()..).map_err(|e| self.db.failed(e))? {
            let (k, v) = item.map_err(|e| self.db.failed(e))?;
            let Some(key) = k
                .value()
                .strip_prefix(&format!("{table}\u{0}"))
                .map(str::to_string)
            else {
                break;
            };
            if !key.starts_with(prefix) {
                break;
            }
            let s: Stored = serde_json::from_slice(v.value())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.push((
                key,
                Record {
                    version: s.version,
                    value: s.value,
                },
            ));
        }
        Ok(out)
    }
}

#[async_trait]
impl RecordStore for EmbeddedRecords {
    async fn get(&self, table: &str, key: &str) -> Result<Option<Record>> {
        let (this, table, key) = (self.clone(), table.to_owned(), key.to_owned());
        blocking(move || this.get_now(&table, &key)).await
    }

    async fn write(
        &self,
        table: &str,
        key: &str,
        expected: Option<u64>,
        value: serde_json::Value,
    ) -> Result<()> {
        let (this, table, key) = (self.clone(), table.to_owned(), key.to_owned());
        blocking(move || this.write_now(&table, &key, expected, value)).await
    }

    async fn list(&self, table: &str, prefix: &str) -> Result<Vec<(String, Record)>> {
        let (this, table, prefix) = (self.clone(), table.to_owned(), prefix.to_owned());
        blocking(move || this.list_now(&table, &prefix)).await
    }

    async fn remove(&self, table: &str, key: &str) -> Result<()> {
        let (this, table, key) = (self.clone(), table.to_owned(), key.to_owned());
        blocking(move || this.remove_now(&table, &key)).await
    }

    /// Rewrites the database file with its live entries only (see `Db::rewrite`): time in
    /// proportion to the file, other operations waiting meanwhile.
    async fn scrub(&self) -> Result<()> {
        let db = self.db.clone();
        blocking(move || db.rewrite()).await
    }
}

#[derive(Serialize, Deserialize)]
struct QueuedMessage {
    id: String,
    body: String,
    visible_at_ms: u64,
    receive_count: u32,
    receipt: String,
}

/// [`JobQueue`] on redb: messages live in the database until deleted; a message received
/// `max_receives` times without being deleted moves to the queue `NAME-dlq`.
#[derive(Clone)]
pub struct EmbeddedQueue {
    db: Arc<Db>,
    max_receives: u32,
    arrived: Arc<Notify>,
}

impl EmbeddedQueue {
    fn on(db: Arc<Db>, max_receives: u32) -> EmbeddedQueue {
        let q = EmbeddedQueue {
            db,
            max_receives,
            arrived: Arc::new(Notify::new()),
        };
        // This process owns the file: messages a crashed process held become visible now.
        if let Err(e) = q.release_all() {
            tracing_free_warn(&format!("could not release held messages: {e}"));
        }
        q
    }

    fn release_all(&self) -> Result<()> {
        let txn = self.db.begin_write()?;
        {
            let mut t = txn.open_table(MESSAGES).map_err(|e| self.db.failed(e))?;
            let mut held = Vec::new();
            for item in t.iter().map_err(|e| self.db.failed(e))? {
                let (k, v) = item.map_err(|e| self.db.failed(e))?;
                let mut m: QueuedMessage = serde_json::from_slice(v.value())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                // Held by a consumer that is gone (it has a receipt); a deliberately delayed
                // message (`retry_after`) keeps its time.
                if m.visible_at_ms > 0 && !m.receipt.is_empty() {
                    m.visible_at_ms = 0;
                    m.receipt.clear();
                    held.push((k.value().to_string(), m));
                }
            }
            for (k, m) in held {
                let bytes = serde_json::to_vec(&m).map_err(backend)?;
                t.insert(k.as_str(), bytes.as_slice())
                    .map_err(|e| self.db.failed(e))?;
            }
        }
        txn.commit().map_err(|e| self.db.failed(e))?;
        Ok(())
    }

    fn put(&self, queue: &str, body: &str) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        // Keys order by time of arrival within a queue.
        let key = format!("{queue}\u{0}{:020}-{id}", now_ms());
        let m = QueuedMessage {
            id: id.clone(),
            body: body.to_string(),
            visible_at_ms: 0,
            receive_count: 0,
            receipt: String::new(),
        };
        let txn = self.db.begin_write()?;
        {
            let mut t = txn.open_table(MESSAGES).map_err(|e| self.db.failed(e))?;
            let bytes = serde_json::to_vec(&m).map_err(backend)?;
            t.insert(key.as_str(), bytes.as_slice())
                .map_err(|e| self.db.failed(e))?;
        }
        txn.commit().map_err(|e| self.db.failed(e))?;
        self.arrived.notify_waiters();
        Ok(id)
    }

    fn count(&self, queue: &str) -> Result<u64> {
        let prefix = format!("{queue}\u{0}");
        let txn = self.db.begin_read()?;
        let t = txn.open_table(MESSAGES).map_err(|e| self.db.failed(e))?;
        let mut n = 0;
        for item in t.range(prefix.as_str()..).map_err(|e| self.db.failed(e))? {
            let (k, _) = item.map_err(|e| self.db.failed(e))?;
            if !k.value().starts_with(&prefix) {
                break;
            }
            n += 1;
        }
        Ok(n)
    }

    fn take(&self, queue: &str, max: usize, visibility: Duration) -> Result<Vec<Message>> {
        let now = now_ms();
        let prefix = format!("{queue}\u{0}");
        let txn = self.db.begin_write()?;
        let mut out = Vec::new();
        {
            let mut t = txn.open_table(MESSAGES).map_err(|e| self.db.failed(e))?;
            let mut changes = Vec::new();
            for item in t.range(prefix.as_str()..).map_err(|e| self.db.failed(e))? {
                let (k, v) = item.map_err(|e| self.db.failed(e))?;
                if !k.value().starts_with(&prefix) || out.len() + changes.len() >= max * 4 {
                    break;
                }
                let m: QueuedMessage = serde_json::from_slice(v.value())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if m.visible_at_ms <= now {
                    changes.push((k.value().to_string(), m));
                }
            }
            for (key, mut m) in changes {
                if out.len() >= max {
                    break;
                }
                if m.receive_count >= self.max_receives {
                    // Dead letter: move, keeping its id and body.
                    t.remove(key.as_str()).map_err(|e| self.db.failed(e))?;
                    let suffix = key.split_once('\u{0}').map_or("", |x| x.1).to_string();
                    m.visible_at_ms = 0;
                    m.receive_count = 0;
                    let dlq = format!("{queue}-dlq\u{0}{suffix}");
                    let bytes = serde_json::to_vec(&m).map_err(backend)?;
                    t.insert(dlq.as_str(), bytes.as_slice())
                        .map_err(|e| self.db.failed(e))?;
                    continue;
                }
                m.receive_count += 1;
                m.visible_at_ms = now + visibility.as_millis() as u64;
                m.receipt = format!("{key}\u{1}{}", uuid::Uuid::new_v4().simple());
                let bytes = serde_json::to_vec(&m).map_err(backend)?;
                t.insert(key.as_str(), bytes.as_slice())
                    .map_err(|e| self.db.failed(e))?;
                out.push(Message {
                    id: m.id,
                    receipt: m.receipt,
                    body: m.body,
                    receive_count: m.receive_count,
                });
            }
        }
        txn.commit().map_err(|e| self.db.failed(e))?;
        Ok(out)
    }
}

impl EmbeddedQueue {
    /// Applies `change` to the message `receipt` names, in one transaction: keep it (`true`,
    /// with the change) or remove it (`false`). A stale receipt — the message was received
    /// again since — changes nothing.
    /// Makes a received message visible again after `delay`, no longer held (a restart before
    /// then keeps the delay); `uncounted`: this receive does not count towards dead-lettering.
    async fn put_back(&self, receipt: &str, delay: Duration, uncounted: bool) -> Result<()> {
        let visible_at = now_ms() + delay.as_millis() as u64;
        let (this, receipt) = (self.clone(), receipt.to_owned());
        blocking(move || {
            this.with_received(&receipt, |m| {
                m.visible_at_ms = visible_at;
                m.receipt.clear();
                if uncounted {
                    m.receive_count = m.receive_count.saturating_sub(1);
                }
                true
            })
        })
        .await
    }

    fn with_received(
        &self,
        receipt: &str,
        change: impl FnOnce(&mut QueuedMessage) -> bool,
    ) -> Result<()> {
        let Some((key, _)) = receipt.split_once('\u{1}') else {
            return Ok(());
        };
        let txn = self.db.begin_write()?;
        {
            let mut t = txn.open_table(MESSAGES).map_err(|e| self.db.failed(e))?;
            let current = t
                .get(key)
                .map_err(|e| self.db.failed(e))?
                .map(|v| v.value().to_vec());
            if let Some(bytes) = current {
                let mut m: QueuedMessage = serde_json::from_slice(&bytes)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if m.receipt == receipt {
                    if change(&mut m) {
                        let bytes = serde_json::to_vec(&m).map_err(backend)?;
                        t.insert(key, bytes.as_slice())
                            .map_err(|e| self.db.failed(e))?;
                    } else {
                        t.remove(key).map_err(|e| self.db.failed(e))?;
                    }
                }
            }
        }
        txn.commit().map_err(|e| self.db.failed(e))?;
        Ok(())
    }
}

/// The store crate does not log; a failure to release held messages only delays them.
fn tracing_free_warn(msg: &str) {
    eprintln!("idv-store: {msg}");
}

#[async_trait]
impl JobQueue for EmbeddedQueue {
    async fn send(&self, queue: &str, body: &str) -> Result<String> {
        let (this, queue, body) = (self.clone(), queue.to_owned(), body.to_owned());
        blocking(move || this.put(&queue, &body)).await
    }

    async fn receive(
        &self,
        queue: &str,
        max: usize,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Message>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.arrived.notified();
            let (this, name) = (self.clone(), queue.to_owned());
            let got = blocking(move || this.take(&name, max.max(1), visibility)).await?;
            if !got.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(got);
            }
            // Wake on a new message, or poll again soon for ones whose visibility lapsed.
            let _ = tokio::time::timeout(
                Duration::from_millis(250).min(deadline - tokio::time::Instant::now()),
                notified,
            )
            .await;
        }
    }

    async fn retry_after(&self, _queue: &str, receipt: &str, delay: Duration) -> Result<()> {
        self.put_back(receipt, delay, false).await
    }

    async fn release(&self, _queue: &str, receipt: &str, delay: Duration) -> Result<()> {
        self.put_back(receipt, delay, true).await
    }

    async fn delete(&self, _queue: &str, receipt: &str) -> Result<()> {
        let (this, receipt) = (self.clone(), receipt.to_owned());
        blocking(move || this.with_received(&receipt, |_| false)).await
    }

    async fn depth(&self, queue: &str) -> Result<u64> {
        let (this, queue) = (self.clone(), queue.to_owned());
        blocking(move || this.count(&queue)).await
    }
}

/// What [`check_database`] found in a database file.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// Every page's checksum and the file's structure verified (redb's integrity check).
    pub intact: bool,
    /// What the integrity check said when the file is not intact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damage: Option<String>,
    /// Records per table: how many, and the keys of those that no longer parse.
    pub tables: std::collections::BTreeMap<String, TableReport>,
    /// Queue messages per queue, likewise.
    pub queues: std::collections::BTreeMap<String, TableReport>,
}

/// One table's or queue's count and unreadable keys (ids only: no personal data).
#[derive(Debug, Default, Serialize)]
pub struct TableReport {
    pub count: usize,
    pub unreadable: Vec<String>,
}

impl CheckReport {
    /// Every page intact and every value readable.
    pub fn clean(&self) -> bool {
        self.intact
            && self
                .tables
                .values()
                .chain(self.queues.values())
                .all(|t| t.unreadable.is_empty())
    }
}

/// Checks the database file at `path` (not in use by a server) without changing it: redb's
/// integrity check (page checksums, structure) runs on a copy, since it repairs what it can
/// and may give up on what it cannot; then every record and message of the file is read and
/// parsed.
pub fn check_database(path: &Path) -> Result<CheckReport> {
    if !path.exists() {
        return Err(StoreError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} does not exist", path.display()),
        )));
    }
    // Taken first, so a running server's file is refused before anything else.
    let db = match Database::open(path).map_err(db_err) {
        Ok(db) => db,
        // Not even its roots are readable: nothing in it can be listed.
        Err(StoreError::Corrupt(m)) => {
            return Ok(CheckReport {
                intact: false,
                damage: Some(m),
                tables: Default::default(),
                queues: Default::default(),
            });
        }
        Err(e) => return Err(e),
    };
    let copy = path.with_extension(format!("check-{}", uuid::Uuid::new_v4().simple()));
    std::fs::copy(path, &copy)?;
    let verdict = integrity(&copy);
    let _ = std::fs::remove_file(&copy);
    let mut report = CheckReport {
        intact: verdict.is_ok(),
        damage: verdict.err(),
        tables: Default::default(),
        queues: Default::default(),
    };
    let txn = db.begin_read().map_err(db_err)?;
    for (def, records, into) in [
        (RECORDS, true, &mut report.tables),
        (MESSAGES, false, &mut report.queues),
    ] {
        let table = txn.open_table(def).map_err(db_err)?;
        for item in table.iter().map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            let (name, key) = k.value().split_once('\u{0}').unwrap_or(("?", k.value()));
            let entry = into.entry(name.to_string()).or_default();
            entry.count += 1;
            let readable = if records {
                serde_json::from_slice::<Stored>(v.value()).is_ok()
            } else {
                serde_json::from_slice::<QueuedMessage>(v.value()).is_ok()
            };
            if !readable {
                entry.unreadable.push(key.to_string());
            }
        }
    }
    Ok(report)
}

/// redb's integrity check of the file at `path` (which it may rewrite): `Err` says what is
/// damaged. A panic inside redb on a badly damaged file counts as damage.
fn integrity(path: &Path) -> std::result::Result<(), String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(|| -> std::result::Result<bool, String> {
        let mut db = Database::open(path).map_err(|e| e.to_string())?;
        db.check_integrity().map_err(|e| e.to_string())
    });
    std::panic::set_hook(hook);
    match outcome {
        Ok(Ok(true)) => Ok(()),
        Ok(Ok(false)) => Err("checksums or structure damaged (repairable in a copy)".into()),
        Ok(Err(e)) => Err(format!("damaged: {e}")),
        Err(_) => Err("damaged beyond redb's repair".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn queue_redelivers_until_deleted_then_dead_letters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let q = EmbeddedRecords::open(&path).unwrap().queue(2);
        q.send("jobs", "one").await.unwrap();
        let short = Duration::from_millis(50);
        let m = q.receive("jobs", 10, short, Duration::ZERO).await.unwrap();
        assert_eq!(m.len(), 1);
        assert!(
            q.receive("jobs", 10, short, Duration::ZERO)
                .await
                .unwrap()
                .is_empty()
        );
        tokio::time::sleep(Duration::from_millis(80)).await;
        let again = q.receive("jobs", 10, short, Duration::ZERO).await.unwrap();
        assert_eq!((again[0].body.as_str(), again[0].receive_count), ("one", 2));
        // The first receipt is stale now.
        q.delete("jobs", &m[0].receipt).await.unwrap();
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(
            q.receive("jobs", 10, short, Duration::ZERO)
                .await
                .unwrap()
                .is_empty()
        );
        let dead = q
            .receive("jobs-dlq", 10, short, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(dead[0].body, "one");
        q.delete("jobs-dlq", &dead[0].receipt).await.unwrap();

        // A message held by a process that dies is visible to the next one at once.
        q.send("jobs", "two").await.unwrap();
        let held = q
            .receive("jobs", 1, Duration::from_secs(600), Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(held.len(), 1);
        drop(q);
        let q = EmbeddedRecords::open(&path).unwrap().queue(2);
        let m = q
            .receive("jobs", 1, short, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(m[0].body, "two");
    }

    #[tokio::test]
    async fn a_retry_delay_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let long = Duration::from_secs(600);
        {
            let q = EmbeddedRecords::open(&path).unwrap().queue(5);
            q.send("cb", "later").await.unwrap();
            q.send("cb", "held").await.unwrap();
            let m = q.receive("cb", 2, long, Duration::ZERO).await.unwrap();
            let later = m.iter().find(|m| m.body == "later").unwrap();
            q.retry_after("cb", &later.receipt, Duration::from_millis(400))
                .await
                .unwrap();
        }
        // Reopened (a restart): the held message is released at once, the delayed one is not.
        let q = EmbeddedRecords::open(&path).unwrap().queue(5);
        let m = q.receive("cb", 2, long, Duration::ZERO).await.unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].body, "held");
        tokio::time::sleep(Duration::from_millis(450)).await;
        let m = q.receive("cb", 2, long, Duration::ZERO).await.unwrap();
        assert_eq!(m[0].body, "later");
    }

    #[tokio::test]
    async fn a_message_can_be_retried_later() {
        let dir = tempfile::tempdir().unwrap();
        let q = EmbeddedRecords::open(&dir.path().join("db"))
            .unwrap()
            .queue(5);
        q.send("cb", "x").await.unwrap();
        let long = Duration::from_secs(600);
        let m = q.receive("cb", 1, long, Duration::ZERO).await.unwrap();
        q.retry_after("cb", &m[0].receipt, Duration::from_millis(50))
            .await
            .unwrap();
        assert!(
            q.receive("cb", 1, long, Duration::ZERO)
                .await
                .unwrap()
                .is_empty()
        );
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(
            q.receive("cb", 1, long, Duration::ZERO).await.unwrap()[0].receive_count,
            2
        );
    }

    #[tokio::test]
    async fn receive_waits_for_a_message() {
        let dir = tempfile::tempdir().unwrap();
        let q = EmbeddedRecords::open(&dir.path().join("db"))
            .unwrap()
            .queue(5);
        let q2 = q.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            q2.send("jobs", "late").await.unwrap();
        });
        let m = q
            .receive("jobs", 1, Duration::from_secs(5), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(m[0].body, "late");
    }
}

#[cfg(test)]
mod scrub_tests {
    use super::*;
    use crate::JobQueue;

    fn copies(path: &Path, needle: &[u8]) -> usize {
        let bytes = std::fs::read(path).unwrap();
        bytes.windows(needle.len()).filter(|w| *w == needle).count()
    }

    #[tokio::test]
    async fn a_replaced_value_leaves_no_bytes_after_a_scrub() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idv.redb");
        let r = EmbeddedRecords::open(&path).unwrap();
        let q = r.queue(10);
        q.send("jobs", "job-1").await.unwrap();
        let secret = serde_json::json!({"number": "X9Z8Y7W6V5", "image": "q".repeat(20_000)});
        r.insert("jobs", "j", secret).await.unwrap();
        r.insert("jobs", "k", serde_json::json!({"x": 1}))
            .await
            .unwrap();
        r.replace("jobs", "j", 1, serde_json::json!({"deleted": true}))
            .await
            .unwrap();
        r.insert("jobs", "l", serde_json::json!({"x": 2}))
            .await
            .unwrap();
        assert_eq!(
            copies(&path, b"X9Z8Y7W6V5"),
            1,
            "redb keeps the old value in free pages"
        );
        r.scrub().await.unwrap();
        assert_eq!(copies(&path, b"X9Z8Y7W6V5"), 0);
        // Everything live is still there, and the store goes on working.
        assert_eq!(r.get("jobs", "j").await.unwrap().unwrap().version, 2);
        assert_eq!(r.list("jobs", "").await.unwrap().len(), 3);
        assert_eq!(q.depth("jobs").await.unwrap(), 1);
        r.insert("jobs", "m", serde_json::json!({"x": 3}))
            .await
            .unwrap();
        assert!(!path.with_extension("redb.rewrite").exists());
    }
}
