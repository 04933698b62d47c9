//! Reaching the admin API of a running `idv serve` (its routes are `idv_http::routes::admin`):
//! while a server runs, its process holds the embedded database; `idv tenant …` and
//! `idv reviewer …` then ask the server (the address it wrote to `DATA/server.json`, the admin
//! token in `DATA/secrets/admin-token`) instead of opening the file. Also `idv admin token`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use axum::http::header;
use clap::Subcommand;
use idv_store::EmbeddedRecords;
use serde::{Deserialize, Serialize};

/// Where a running server announces its admin address, in the data directory.
const SERVER_FILE: &str = "server.json";

/// The admin token of `data` (created on first use, mode 0600): a secret of its own, never a
/// tenant credential.
pub fn token(data: &Path) -> Result<String> {
    Ok(hex::encode(crate::datadir::secret(data, "admin-token")?))
}

/// What `DATA/server.json` holds.
#[derive(Serialize, Deserialize)]
struct Announced {
    admin_url: String,
    pid: u32,
}

/// Writes `DATA/server.json` for the server listening on `addr`; the returned guard removes it
/// when the server stops.
pub fn announce(data: &Path, addr: std::net::SocketAddr) -> Result<Announcement> {
    // A server bound to every address is reached on loopback.
    let ip = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => std::net::Ipv4Addr::LOCALHOST.into(),
        ip if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    let url = format!("http://{}", std::net::SocketAddr::new(ip, addr.port()));
    let path = data.join(SERVER_FILE);
    let text = serde_json::to_string(&Announced {
        admin_url: url,
        pid: std::process::id(),
    })?;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Announcement(path))
}

/// Removes `DATA/server.json` when dropped.
pub struct Announcement(PathBuf);

impl Drop for Announcement {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A client of the admin API of the server that holds `data`, if one announced itself.
pub struct Client {
    url: String,
    token: String,
    agent: ureq::Agent,
}

impl Client {
    /// The running server's admin API, or `None` when no server announced itself in `data`.
    pub fn find(data: &Path) -> Result<Option<Client>> {
        let Ok(text) = std::fs::read_to_string(data.join(SERVER_FILE)) else {
            return Ok(None);
        };
        let a: Announced = serde_json::from_str(&text)
            .with_context(|| format!("{} is corrupt", data.join(SERVER_FILE).display()))?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .build()
            .into();
        Ok(Some(Client {
            url: a.admin_url,
            token: token(data)?,
            agent,
        }))
    }

    /// `POST path` with a JSON body (`None`: `GET path`); the answer's JSON, or the server's
    /// error as an error.
    pub fn call(&self, path: &str, body: Option<serde_json::Value>) -> Result<serde_json::Value> {
        self.send(if body.is_some() { "POST" } else { "GET" }, path, body)
    }

    /// `method path` with an optional JSON body, as [`call`](Self::call).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value> {
        let url = format!("{}{path}", self.url);
        let auth = format!("Bearer {}", self.token);
        let res = match body {
            None if method == "DELETE" => self
                .agent
                .delete(&url)
                .header(header::AUTHORIZATION.as_str(), &auth)
                .call(),
            Some(b) if method == "PUT" => self
                .agent
                .put(&url)
                .header(header::AUTHORIZATION.as_str(), &auth)
                .content_type("application/json")
                .send(b.to_string()),
            Some(b) => self
                .agent
                .post(&url)
                .header(header::AUTHORIZATION.as_str(), &auth)
                .content_type("application/json")
                .send(b.to_string()),
            None => self
                .agent
                .get(&url)
                .header(header::AUTHORIZATION.as_str(), &auth)
                .call(),
        };
        let mut res = res.with_context(|| {
            format!(
                "the idv server that holds this data directory does not answer at {}",
                self.url
            )
        })?;
        let status = res.status();
        let value: serde_json::Value = res
            .body_mut()
            .read_to_string()
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .with_context(|| format!("{path}: HTTP {status} without a JSON answer"))?;
        if !status.is_success() {
            anyhow::bail!(
                "the server refused: {} {}",
                value["code"].as_str().unwrap_or("?"),
                value["message"].as_str().unwrap_or("")
            );
        }
        Ok(value)
    }
}

/// `idv admin`.
#[derive(Subcommand)]
pub enum AdminCommand {
    /// Print the admin token of DATA (created on first use; the admin API of `idv serve`
    /// takes it as `Authorization: Bearer TOKEN`).
    Token {
        #[arg(long, default_value = "idv-data")]
        data: PathBuf,
    },
}

/// `idv admin`.
pub fn admin(cmd: AdminCommand) -> Result<()> {
    let AdminCommand::Token { data } = cmd;
    idv_store::private_dir(&data)?;
    println!("{}", crate::admin::token(&data)?);
    Ok(())
}

/// The records of a data directory: its database, or the server that holds it.
pub enum Target {
    Database(EmbeddedRecords),
    Server(Client),
}

/// Opens `data`'s database; when a running `idv serve` holds it, its admin API instead.
pub fn target(data: &Path) -> Result<Target> {
    idv_store::private_dir(data)?;
    match EmbeddedRecords::open(&data.join("idv.redb")) {
        Ok(records) => Ok(Target::Database(records)),
        Err(idv_store::StoreError::InUse) => match Client::find(data)? {
            Some(client) => Ok(Target::Server(client)),
            None => crate::datadir::open_database(data).map(Target::Database),
        },
        // Said as `open_database` says it (damaged, unreadable, …).
        Err(_) => crate::datadir::open_database(data).map(Target::Database),
    }
}

/// Runs `f` on a current-thread runtime.
pub fn block_on<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(f)
}
