//! One-way IMAP sync into a local Maildir, like offlineimap pulling mail: only what is new is
//! fetched (`UID FETCH last+1:*`), each message lands in the Maildir (synced, linked into
//! `new/`) before the folder's state — its UIDVALIDITY and last UID — is saved, so a sync that
//! is killed at any point resumes without losing or repeating a message.
//!
//! * Connection: IMAPS (`imaps://`, 993) or STARTTLS (`imap://`, 143; required unless plaintext
//!   is allowed), rustls with certificate verification and an optional extra CA; LOGIN or
//!   AUTHENTICATE PLAIN.
//! * Names: a fetched message is named `imap-<account>-<folder>-<uidvalidity>-<uid>` in the
//!   Maildir, so the one message that may have landed just before a crash is recognised.
//! * UIDVALIDITY change: the server renumbered the folder; everything is fetched again and a
//!   message whose bytes are already in the Maildir (SHA-256) is skipped.
//! * IDLE: [`Fetcher::idle`] waits until the server reports new mail (or a timeout).
//!
//! The IMAP client is `async-imap` (maintained, used by Delta Chat, tokio support, IDLE), driven
//! from a small current-thread tokio runtime so the API here is blocking.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::mailbox::Maildir;

/// What went wrong syncing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The configuration is unusable.
    #[error("{0}")]
    Config(String),
    /// No connection.
    #[error("cannot connect to {addr}: {detail}; check the host and port, or retry later")]
    Connect {
        /// Host and port.
        addr: String,
        /// What went wrong.
        detail: String,
    },
    /// TLS failed or the certificate did not verify.
    #[error("TLS with {host} failed: {detail}; trust its CA with --ca-file, or (only for tests) --insecure")]
    Tls {
        /// The server.
        host: String,
        /// What rustls said.
        detail: String,
    },
    /// The server has no STARTTLS and plaintext was not allowed.
    #[error("{0} does not offer STARTTLS; refusing plaintext (allow it with --allow-plaintext)")]
    NoStartTls(String),
    /// Login refused.
    #[error("login refused for {user}: {detail}")]
    Auth {
        /// The user.
        user: String,
        /// What the server said.
        detail: String,
    },
    /// An IMAP command failed.
    #[error("IMAP {stage} failed: {detail}")]
    Imap {
        /// What we were doing.
        stage: String,
        /// What went wrong.
        detail: String,
    },
    /// The server took too long.
    #[error("timed out ({0}); retry later")]
    Timeout(&'static str),
    /// The Maildir could not be written.
    #[error(transparent)]
    Mailbox(#[from] crate::mailbox::MailboxError),
    /// The sync state could not be read or written.
    #[error("{path}: {source}")]
    Local {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

impl FetchError {
    /// Whether trying later may work.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Connect { .. } | FetchError::Timeout(_) | FetchError::Imap { .. } => true,
            FetchError::Mailbox(e) => e.is_transient(),
            _ => false,
        }
    }
}

/// How to log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImapAuth {
    /// `LOGIN user password`.
    #[default]
    Login,
    /// `AUTHENTICATE PLAIN` (RFC 4616).
    Plain,
}

/// The Maildir++ folder (below the account's Maildir) an IMAP folder syncs into; `None` for
/// INBOX, which syncs into the Maildir itself. `Archive/2024` → `Archive.2024`.
pub fn local_folder(folder: &str) -> Option<String> {
    if folder.eq_ignore_ascii_case("INBOX") {
        return None;
    }
    Some(folder.chars().map(|c| if c == '/' { '.' } else { c }).collect())
}

/// Where and how to fetch from.
#[derive(Clone)]
pub struct ImapConfig {
    /// Server host (also the name TLS verifies).
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS from the first byte (imaps) rather than STARTTLS.
    pub implicit_tls: bool,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
    /// LOGIN or AUTHENTICATE PLAIN.
    pub auth: ImapAuth,
    /// An extra CA (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (tests only).
    pub insecure: bool,
    /// Permit a server without STARTTLS.
    pub allow_plaintext: bool,
    /// Time allowed for connecting and for each response.
    pub timeout: Duration,
}

impl fmt::Debug for ImapConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("implicit_tls", &self.implicit_tls)
            .field("user", &self.user)
            .field("password", &"…")
            .finish()
    }
}

impl ImapConfig {
    /// From `imap://HOST[:PORT]` (STARTTLS, 143) or `imaps://HOST[:PORT]` (993).
    pub fn from_url(url: &str, user: &str, password: &str) -> Result<Self, FetchError> {
        let bad = || FetchError::Config(format!("{url:?} is not imap://HOST[:PORT] or imaps://HOST[:PORT]"));
        let (scheme, host, port) = crate::server::server_url(url).ok_or_else(bad)?;
        let (implicit_tls, default_port) = match scheme.as_str() {
            "imap" => (false, 143),
            "imaps" => (true, 993),
            _ => return Err(bad()),
        };
        Ok(ImapConfig {
            host,
            port: port.unwrap_or(default_port),
            implicit_tls,
            user: user.to_string(),
            password: password.to_string(),
            auth: ImapAuth::Login,
            ca_file: None,
            insecure: false,
            allow_plaintext: false,
            timeout: Duration::from_secs(60),
        })
    }
}

/// A folder's sync state, saved after every message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderState {
    /// The folder's UIDVALIDITY when last synced.
    pub uidvalidity: u32,
    /// The highest UID safely in the Maildir.
    pub last_uid: u32,
}

/// What one folder's sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FolderReport {
    /// The IMAP folder.
    pub folder: String,
    /// The Maildir it went into.
    pub maildir: PathBuf,
    /// Messages written.
    pub fetched: usize,
    /// Messages already there (after a crash or a UIDVALIDITY change).
    pub skipped: usize,
    /// Whether the UIDVALIDITY changed since the last sync.
    pub uidvalidity_changed: bool,
    /// The state after the sync.
    pub state: FolderState,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The connection, plain or TLS, as one type.
struct Conn(Box<dyn Io>);

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Conn")
    }
}

impl AsyncRead for Conn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

type Session = async_imap::Session<Conn>;

struct PlainAuth(String, String);

impl async_imap::Authenticator for PlainAuth {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        format!("\0{}\0{}", self.0, self.1)
    }
}

/// A logged-in IMAP account that syncs folders into a Maildir.
pub struct Fetcher {
    config: ImapConfig,
    runtime: tokio::runtime::Runtime,
    session: Option<Session>,
    maildir: Maildir,
    state_dir: PathBuf,
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher").field("config", &self.config).field("maildir", &self.maildir.path()).finish()
    }
}

fn imap_err(stage: impl Into<String>) -> impl FnOnce(async_imap::error::Error) -> FetchError {
    let stage = stage.into();
    move |e| FetchError::Imap { stage, detail: e.to_string() }
}

fn short_hash(s: &str) -> String {
    let h = Sha256::digest(s.as_bytes());
    h[..4].iter().map(|b| format!("{b:02x}")).collect()
}

impl Fetcher {
    /// Connects and logs in; `maildir` (created when missing) receives INBOX, other folders go
    /// into its Maildir++ subfolders. The sync state is kept in `maildir/.mailwright-sync/`.
    pub fn connect(config: ImapConfig, maildir: impl Into<PathBuf>) -> Result<Self, FetchError> {
        let root: PathBuf = maildir.into();
        let maildir = Maildir::create(&root)?;
        let state_dir = root.join(".mailwright-sync");
        crate::files::create_private_dir_all(&state_dir)
            .map_err(|source| FetchError::Local { path: state_dir.clone(), source })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| FetchError::Config(format!("cannot start the I/O runtime: {e}")))?;
        let session = runtime.block_on(login(&config))?;
        Ok(Fetcher { config, runtime, session: Some(session), maildir, state_dir })
    }

    /// The Maildir a folder syncs into.
    pub fn maildir_for(&self, folder: &str) -> Result<Maildir, FetchError> {
        let Some(local) = local_folder(folder) else {
            return Ok(self.maildir.clone());
        };
        Ok(self.maildir.folder(&local)?)
    }

    /// The account (`user@host`, the same on any port) as a short tag for file names.
    fn account_tag(&self) -> String {
        short_hash(&format!("{}@{}", self.config.user, self.config.host))
    }

    fn state_path(&self, folder: &str) -> PathBuf {
        self.state_dir.join(format!("{}-{}.json", self.account_tag(), short_hash(folder)))
    }

    /// The saved state of a folder (zero when never synced).
    pub fn state(&self, folder: &str) -> FolderState {
        std::fs::read(self.state_path(folder)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Fetches what is new in `folder`. `on_message` sees each message's path once it is in the
    /// Maildir (before the state moves on).
    pub fn sync_folder(&mut self, folder: &str, mut on_message: impl FnMut(&Path)) -> Result<FolderReport, FetchError> {
        let target = self.maildir_for(folder)?;
        let state_path = self.state_path(folder);
        let mut state = self.state(folder);
        let prefix = format!("imap-{}-{}", self.account_tag(), short_hash(folder));
        let timeout = self.config.timeout;
        let session = self.session.as_mut().ok_or(FetchError::Timeout("no session"))?;
        let mailbox = self
            .runtime
            .block_on(async { tokio::time::timeout(timeout, session.select(folder)).await })
            .map_err(|_| FetchError::Timeout("SELECT"))?
            .map_err(imap_err(format!("SELECT {folder}")))?;
        let validity = mailbox.uid_validity.unwrap_or(0);
        let mut report = FolderReport { folder: folder.into(), maildir: target.path().into(), ..Default::default() };
        let mut landing =
            Landing { target: &target, prefix: format!("{prefix}-{validity}-"), first: true, known: None };
        if state.uidvalidity != validity {
            // A new UIDVALIDITY renumbers the folder: start again, without storing twice what
            // the Maildir already holds.
            report.uidvalidity_changed = state.uidvalidity != 0;
            if report.uidvalidity_changed {
                landing.known = Some(hashes(&target));
            }
            state = FolderState { uidvalidity: validity, last_uid: 0 };
            save_state_at(&state_path, &state)?;
        }
        let mut fetched: Vec<Option<PathBuf>> = Vec::new();
        let session = self.session.as_mut().ok_or(FetchError::Timeout("no session"))?;
        let fetching = fetch_new(session, timeout, (&mut state, &state_path), &mut landing, &mut fetched);
        let failure = self.runtime.block_on(fetching).err();
        for path in &fetched {
            match path {
                Some(path) => {
                    report.fetched += 1;
                    on_message(path);
                }
                None => report.skipped += 1,
            }
        }
        report.state = state;
        match failure {
            Some(e) => {
                self.session = None;
                Err(e)
            }
            None => Ok(report),
        }
    }

    /// Waits (IDLE) on `folder` until the server reports something new or `wait` passes; true
    /// when something happened.
    pub fn idle(&mut self, folder: &str, wait: Duration) -> Result<bool, FetchError> {
        let timeout = self.config.timeout;
        let mut session = match self.session.take() {
            Some(s) => s,
            None => self.runtime.block_on(login(&self.config))?,
        };
        let result: Result<(bool, Session), FetchError> = self.runtime.block_on(async {
            timed(timeout, "SELECT", session.select(folder)).await?;
            let mut handle = session.idle();
            handle.init().await.map_err(imap_err("IDLE"))?;
            let (waiting, _stop) = handle.wait_with_timeout(wait);
            let got = waiting.await.map_err(imap_err("IDLE"))?;
            let news = matches!(got, async_imap::extensions::idle::IdleResponse::NewData(_));
            let session = timed(timeout, "DONE", handle.done()).await?;
            Ok((news, session))
        });
        let (news, session) = result?;
        self.session = Some(session);
        Ok(news)
    }

    /// Reconnects if the last command broke the session.
    pub fn reconnect(&mut self) -> Result<(), FetchError> {
        if self.session.is_none() {
            self.session = Some(self.runtime.block_on(login(&self.config))?);
        }
        Ok(())
    }

    /// Logs out.
    pub fn logout(mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = self.runtime.block_on(async { tokio::time::timeout(Duration::from_secs(5), s.logout()).await });
        }
    }
}

/// Fetches every message above the folder's last UID into the landing, one at a time; the
/// state is saved after each, so a kill in a large fetch loses no progress. What landed so far
/// is in `fetched` (`None` for a message that was there already) even when this fails.
async fn fetch_new(
    session: &mut Session,
    timeout: Duration,
    (state, state_path): (&mut FolderState, &Path),
    landing: &mut Landing<'_>,
    fetched: &mut Vec<Option<PathBuf>>,
) -> Result<(), FetchError> {
    let range = format!("{}:*", state.last_uid.saturating_add(1));
    let stream = timed(timeout, "UID FETCH", session.uid_fetch(&range, "(UID BODY.PEEK[])")).await?;
    let mut stream = std::pin::pin!(stream);
    while let Some(next) = timed(timeout, "UID FETCH", stream.try_next()).await? {
        let (Some(uid), Some(body)) = (next.uid, next.body()) else { continue };
        // `N:*` includes the highest UID even when it is below N.
        if uid <= state.last_uid {
            continue;
        }
        fetched.push(landing.land(uid, body)?);
        state.last_uid = uid;
        save_state_at(state_path, state)?;
    }
    Ok(())
}

/// Where a folder's messages land: the Maildir, under names made of the account, folder,
/// UIDVALIDITY and UID, so a message fetched twice is stored once.
struct Landing<'m> {
    target: &'m Maildir,
    /// `imap-<account>-<folder>-<uidvalidity>-`; the UID follows.
    prefix: String,
    /// Only the first message of a run can have landed before a crash cut the state short.
    first: bool,
    /// After a UIDVALIDITY change, the digests of what the Maildir holds.
    known: Option<HashSet<[u8; 32]>>,
}

impl Landing<'_> {
    /// Stores the message with `uid`: its path, or `None` when it was there already.
    fn land(&mut self, uid: u32, body: &[u8]) -> Result<Option<PathBuf>, FetchError> {
        let name = format!("{}{uid}", self.prefix);
        let already = std::mem::take(&mut self.first) && self.target.contains(&name)?;
        let dup = || self.known.as_ref().is_some_and(|k| k.contains(&<[u8; 32]>::from(Sha256::digest(body))));
        if already || dup() {
            return Ok(None);
        }
        Ok(self.target.deliver_named(&name, body)?)
    }
}

/// `what` awaited for at most `timeout`; its IMAP error or the timeout as a [`FetchError`].
async fn timed<T>(
    timeout: Duration,
    what: &'static str,
    f: impl std::future::Future<Output = Result<T, async_imap::error::Error>>,
) -> Result<T, FetchError> {
    tokio::time::timeout(timeout, f).await.map_err(|_| FetchError::Timeout(what))?.map_err(imap_err(what))
}

fn save_state_at(path: &Path, state: &FolderState) -> Result<(), FetchError> {
    crate::files::replace_synced(path, &serde_json::to_vec(state).unwrap_or_default())
        .map_err(|source| FetchError::Local { path: path.to_path_buf(), source })
}

/// SHA-256 of every message in a Maildir (used once after a UIDVALIDITY change).
fn hashes(md: &Maildir) -> HashSet<[u8; 32]> {
    let mut out = HashSet::new();
    if let Ok(entries) = md.entries() {
        for e in entries.flatten() {
            if let Ok(raw) = std::fs::read(&e.path) {
                out.insert(<[u8; 32]>::from(Sha256::digest(&raw)));
            }
        }
    }
    out
}

async fn greet(client: &mut async_imap::Client<Conn>, timeout: Duration) -> Result<(), FetchError> {
    match tokio::time::timeout(timeout, client.read_response()).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err(FetchError::Imap { stage: "greeting".into(), detail: "connection closed".into() }),
        Ok(Err(e)) => Err(FetchError::Imap { stage: "greeting".into(), detail: e.to_string() }),
        Err(_) => Err(FetchError::Timeout("greeting")),
    }
}

async fn login(c: &ImapConfig) -> Result<Session, FetchError> {
    let addr = format!("{}:{}", c.host, c.port);
    let tcp = tokio::time::timeout(c.timeout, TcpStream::connect((c.host.as_str(), c.port)))
        .await
        .map_err(|_| FetchError::Timeout("connect"))?
        .map_err(|e| FetchError::Connect { addr: addr.clone(), detail: e.to_string() })?;
    let _ = tcp.set_nodelay(true);
    let tls = || -> Result<_, FetchError> {
        let config = crate::tls::client_config(c.ca_file.as_deref(), c.insecure)
            .map_err(|e| FetchError::Tls { host: c.host.clone(), detail: e.to_string() })?;
        let name = rustls_pki_types::ServerName::try_from(c.host.clone())
            .map_err(|e| FetchError::Tls { host: c.host.clone(), detail: e.to_string() })?;
        Ok((tokio_rustls::TlsConnector::from(Arc::clone(&config)), name))
    };
    let client = if c.implicit_tls {
        let (connector, name) = tls()?;
        let stream = tokio::time::timeout(c.timeout, connector.connect(name, tcp))
            .await
            .map_err(|_| FetchError::Timeout("TLS handshake"))?
            .map_err(|e| FetchError::Tls { host: c.host.clone(), detail: e.to_string() })?;
        let mut client = async_imap::Client::new(Conn(Box::new(stream)));
        greet(&mut client, c.timeout).await?;
        client
    } else {
        let mut client = async_imap::Client::new(Conn(Box::new(tcp)));
        greet(&mut client, c.timeout).await?;
        match tokio::time::timeout(c.timeout, client.run_command_and_check_ok("STARTTLS", None)).await {
            Ok(Ok(())) => {
                let (connector, name) = tls()?;
                let inner = client.into_inner();
                let stream = tokio::time::timeout(c.timeout, connector.connect(name, inner))
                    .await
                    .map_err(|_| FetchError::Timeout("TLS handshake"))?
                    .map_err(|e| FetchError::Tls { host: c.host.clone(), detail: e.to_string() })?;
                async_imap::Client::new(Conn(Box::new(stream)))
            }
            Ok(Err(_)) if c.allow_plaintext => client,
            Ok(Err(_)) => return Err(FetchError::NoStartTls(c.host.clone())),
            Err(_) => return Err(FetchError::Timeout("STARTTLS")),
        }
    };
    let logged = match c.auth {
        ImapAuth::Login => tokio::time::timeout(c.timeout, client.login(&c.user, &c.password)).await,
        ImapAuth::Plain => {
            tokio::time::timeout(c.timeout, client.authenticate("PLAIN", PlainAuth(c.user.clone(), c.password.clone())))
                .await
        }
    };
    match logged {
        Ok(Ok(s)) => Ok(s),
        Ok(Err((e, _))) => Err(FetchError::Auth { user: c.user.clone(), detail: e.to_string() }),
        Err(_) => Err(FetchError::Timeout("login")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c = ImapConfig::from_url("imaps://127.0.0.1", "u", "p").expect("url");
        assert_eq!((c.port, c.implicit_tls), (993, true));
        let c = ImapConfig::from_url("imap://mail.example.test:1143", "u", "p").expect("url");
        assert_eq!((c.host.as_str(), c.port, c.implicit_tls), ("mail.example.test", 1143, false));
        assert!(!format!("{c:?}").contains('p') || !format!("{c:?}").contains("\"p\""));
        for bad in ["http://x", "imap://", "imap://u@x", "imap://x:port"] {
            assert!(ImapConfig::from_url(bad, "u", "p").is_err(), "{bad}");
        }
    }
}
