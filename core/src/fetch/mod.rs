//! One-way IMAP sync into a local Maildir, like offlineimap pulling mail: only what is new is
//! fetched, in one streamed `UID FETCH last+1:*`. Messages land in the Maildir in batches (one
//! data sync and one folder sync a batch, [`SyncLimits`]) before the folder's state — its
//! UIDVALIDITY and last UID — is saved, so a sync that is killed at any point resumes without
//! losing or repeating a message: the next run finds what the cut-short batch linked already.
//! No response holds more than a chunk of a message; a larger one is fetched in pieces.
//!
//! * Connection: IMAPS (`imaps://`, 993) or STARTTLS (`imap://`, 143; required unless plaintext
//!   is allowed), rustls with certificate verification and an optional extra CA; LOGIN or
//!   AUTHENTICATE PLAIN.
//! * Servers: replicas of one account are tried in order, the first that answers is used
//!   ([`Fetcher::connect_any`]); a dead one costs at most its connect timeout.
//! * Names: a fetched message is named `imap-<user>-<folder>-<uidvalidity>-<uid>` in the
//!   Maildir (the parts hashed), so the batch that may have landed just before a crash is
//!   recognised. A lock file next to the state keeps two syncs of one folder from running at
//!   once.
//! * UIDVALIDITY change: the server renumbered the folder; everything is fetched again and a
//!   message whose bytes are already in the Maildir (SHA-256) is skipped.
//! * IDLE: [`Fetcher::idle`] waits until the server reports new mail (or a timeout).
//! * Flags: one-way by default (messages arrive without their flags); [`FlagMode::TwoWay`]
//!   syncs them both ways, see [`flags`] for the rule.
//! * A folder whose UIDNEXT says nothing arrived costs its SELECT and no FETCH.
//!
//! The IMAP client is `async-imap` (maintained, used by Delta Chat, tokio support, IDLE), driven
//! from a small current-thread tokio runtime so the API here is blocking.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::mailbox::{Batch, Maildir, Pending};

pub mod flags;
mod options;
pub use flags::{FlagMode, FlagReport, Flags};
pub use options::SyncOptions;

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
    /// None of the servers answered.
    #[error("no IMAP server answered: {}; check the servers, or retry later", .0.join("; "))]
    Unreachable(Vec<String>),
    /// No OAuth2 token.
    #[error(transparent)]
    Token(#[from] crate::oauth2::OAuth2Error),
    /// The server took too long.
    #[error("timed out ({0}); retry later")]
    Timeout(&'static str),
    /// The Maildir could not be written.
    #[error(transparent)]
    Mailbox(#[from] crate::mailbox::MailboxError),
    /// Another sync of the same folder into the same Maildir is running.
    #[error("another sync of {0} into this Maildir is running; wait for it to finish")]
    Busy(String),
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
            FetchError::Connect { .. }
            | FetchError::Timeout(_)
            | FetchError::Imap { .. }
            | FetchError::Busy(_)
            | FetchError::Unreachable(_) => true,
            FetchError::Mailbox(e) => e.is_transient(),
            FetchError::Token(e) => e.is_transient(),
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
    /// LOGIN or AUTHENTICATE PLAIN (with `oauth2` unset).
    pub auth: ImapAuth,
    /// Log in with an OAuth2 bearer token instead of the password.
    pub oauth2: Option<crate::oauth2::OAuth2>,
    /// An extra CA (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (tests only).
    pub insecure: bool,
    /// Permit a server without STARTTLS.
    pub allow_plaintext: bool,
    /// Time allowed for each response once connected.
    pub timeout: Duration,
    /// Time allowed to connect, finish TLS and be greeted: what a dead server costs before the
    /// next one is tried.
    pub connect_timeout: Duration,
    /// How often a sync commits, and the largest piece of a message held in memory.
    pub limits: SyncLimits,
    /// Whether flags are synced both ways.
    pub flags: FlagMode,
    /// With two-way flags, propagate deletions: a file removed here is expunged on the server,
    /// a message expunged there loses its file here.
    pub expunge: bool,
}

/// How a sync commits its progress and how much of a message it holds in memory.
///
/// Messages are committed into the Maildir in batches (one data sync and one folder sync for
/// the lot), then the folder's state is saved: a kill loses at most one batch of progress, which
/// the next run finds in the Maildir and does not store again. A batch is committed when it
/// holds `batch_messages` messages or `batch_bytes` bytes, or `batch_time` after its first
/// message arrived, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncLimits {
    /// Messages in one batch (default 500).
    pub batch_messages: usize,
    /// Bytes in one batch (default 64 MiB).
    pub batch_bytes: u64,
    /// Longest a batch stays open (default 2 s).
    pub batch_time: Duration,
    /// Messages are fetched in pieces of at most this many bytes, and a larger one is written
    /// to disk piece by piece (default 8 MiB).
    pub chunk_bytes: u32,
}

impl Default for SyncLimits {
    fn default() -> Self {
        SyncLimits {
            batch_messages: 500,
            batch_bytes: 64 << 20,
            batch_time: Duration::from_secs(2),
            chunk_bytes: 8 << 20,
        }
    }
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
    /// The same settings for another server: a replica at `url`.
    pub fn with_url(&self, url: &str) -> Result<Self, FetchError> {
        let other = Self::from_url(url, &self.user, &self.password)?;
        Ok(ImapConfig { host: other.host, port: other.port, implicit_tls: other.implicit_tls, ..self.clone() })
    }

    /// One configuration per URL (replicas of one account, tried in order by
    /// [`Fetcher::connect_any`]), with this one's settings.
    pub fn for_servers(&self, urls: &[String]) -> Result<Vec<Self>, FetchError> {
        urls.iter().map(|u| self.with_url(u)).collect()
    }

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
            oauth2: None,
            ca_file: None,
            insecure: false,
            allow_plaintext: false,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            limits: SyncLimits::default(),
            flags: FlagMode::OneWay,
            expunge: false,
        })
    }
}

/// A folder's sync state, saved after every batch.
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
    /// The server it came from (`host:port`), of those given.
    pub server: String,
    /// Whether the sync was stopped before it had everything (the rest comes next time).
    pub stopped: bool,
    /// Whether the UIDVALIDITY changed since the last sync.
    pub uidvalidity_changed: bool,
    /// What the two-way flag sync did (two-way flags only).
    pub flags: Option<FlagReport>,
    /// IMAP commands the folder's sync sent, its SELECT included (an unchanged folder: 1).
    pub commands: usize,
    /// The state after the sync.
    pub state: FolderState,
}

pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The connection, plain or TLS, as one type.
pub(crate) struct Conn(Box<dyn Io>);

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

pub(crate) type Session = async_imap::Session<Conn>;

struct PlainAuth(String, String);

impl async_imap::Authenticator for PlainAuth {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        format!("\0{}\0{}", self.0, self.1)
    }
}

/// A logged-in IMAP account that syncs folders into a Maildir.
pub struct Fetcher {
    /// The servers to try, in order; the first that answers is used.
    servers: Vec<ImapConfig>,
    /// The one in use (or last used).
    current: usize,
    runtime: tokio::runtime::Runtime,
    session: Option<Session>,
    /// What each server (by index) can do, asked once.
    caps: HashMap<usize, Caps>,
    maildir: Maildir,
    state_dir: PathBuf,
}

/// The capabilities a two-way sync uses.
#[derive(Debug, Clone, Copy)]
struct Caps {
    condstore: bool,
    uidplus: bool,
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("servers", &self.servers)
            .field("current", &self.current)
            .field("maildir", &self.maildir.path())
            .finish()
    }
}

pub(crate) fn imap_err(stage: impl Into<String>) -> impl FnOnce(async_imap::error::Error) -> FetchError {
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
        Self::connect_any(vec![config], maildir)
    }

    /// Connects to the first of `servers` that answers (greets within its connect timeout), in
    /// order — replicas of one account, say. A refused or silent server costs at most its
    /// connect timeout; a server that answers but refuses the login ends the search (the
    /// account is wrong, not the server). [`Fetcher::server`] says which one is used, and every
    /// reconnect starts again from the first.
    ///
    /// The sync state belongs to the user and folder, not the server, so a replica that keeps
    /// UIDVALIDITY and UIDs (Dovecot's dsync and replicator do) continues where the last sync
    /// stopped; a server whose UIDVALIDITY differs is synced by content: everything is fetched
    /// again and a message whose bytes are already in the Maildir is not stored twice.
    pub fn connect_any(servers: Vec<ImapConfig>, maildir: impl Into<PathBuf>) -> Result<Self, FetchError> {
        if servers.is_empty() {
            return Err(FetchError::Config("no IMAP server given".into()));
        }
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
        let (current, session) = runtime.block_on(login_any(&servers))?;
        Ok(Fetcher { servers, current, runtime, session: Some(session), caps: HashMap::new(), maildir, state_dir })
    }

    /// The Maildir a folder syncs into.
    pub fn maildir_for(&self, folder: &str) -> Result<Maildir, FetchError> {
        let Some(local) = local_folder(folder) else {
            return Ok(self.maildir.clone());
        };
        Ok(self.maildir.folder(&local)?)
    }

    /// The account as a short tag for file names: its user, whichever server serves it. A
    /// folder's UIDVALIDITY tells one numbering of its messages from another, so replicas share
    /// a state and a server with other numbers is synced by content.
    fn account_tag(&self) -> String {
        short_hash(&self.servers[0].user)
    }

    fn state_path(&self, folder: &str) -> PathBuf {
        self.state_dir.join(format!("{}-{}.json", self.account_tag(), short_hash(folder)))
    }

    /// The saved state of a folder (zero when never synced).
    pub fn state(&self, folder: &str) -> FolderState {
        let read = |p: PathBuf| std::fs::read(p).ok().and_then(|b| serde_json::from_slice(&b).ok());
        read(self.state_path(folder))
            .or_else(|| {
                // Earlier versions kept one state per user@host.
                self.servers.iter().find_map(|c| {
                    let tag = short_hash(&format!("{}@{}", c.user, c.host));
                    read(self.state_dir.join(format!("{tag}-{}.json", short_hash(folder))))
                })
            })
            .unwrap_or_default()
    }

    /// Fetches what is new in `folder`. `on_message` sees each message's path once it is in the
    /// Maildir (its batch committed, before the state moves past it).
    pub fn sync_folder(&mut self, folder: &str, on_message: impl FnMut(&Path)) -> Result<FolderReport, FetchError> {
        self.sync_folder_until(folder, on_message, &|| false)
    }

    /// [`Fetcher::sync_folder`] that ends early once `stop` says so (a signal, say): the message
    /// in hand is finished, what arrived is committed, and the report says `stopped`. It is
    /// asked between messages and at least every quarter second while the server is quiet.
    pub fn sync_folder_until(
        &mut self,
        folder: &str,
        mut on_message: impl FnMut(&Path),
        stop: &dyn Fn() -> bool,
    ) -> Result<FolderReport, FetchError> {
        let target = self.maildir_for(folder)?;
        let state_path = self.state_path(folder);
        let _lock = lock_folder(&state_path, folder)?;
        let mut state = self.state(folder);
        let prefix = format!("imap-{}-{}-", self.account_tag(), short_hash(folder));
        // What a killed run left in tmp/ (the lock says no other run is writing).
        target.clean_tmp(&prefix)?;
        let config = &self.servers[self.current];
        let (timeout, two_way, expunge, limits) =
            (config.timeout, config.flags == FlagMode::TwoWay, config.expunge, config.limits);
        let caps = match (two_way, self.caps.get(&self.current)) {
            (false, _) => None,
            (true, Some(c)) => Some(*c),
            (true, None) => {
                let session = self.session.as_mut().ok_or(FetchError::Timeout("no session"))?;
                let c = self.runtime.block_on(timed(timeout, "CAPABILITY", session.capabilities()))?;
                let caps = Caps { condstore: c.has_str("CONDSTORE"), uidplus: c.has_str("UIDPLUS") };
                self.caps.insert(self.current, caps);
                Some(caps)
            }
        };
        let session = self.session.as_mut().ok_or(FetchError::Timeout("no session"))?;
        let condstore = caps.is_some_and(|c| c.condstore);
        let mailbox = self
            .runtime
            .block_on(async {
                tokio::time::timeout(timeout, async {
                    if condstore { session.select_condstore(folder).await } else { session.select(folder).await }
                })
                .await
            })
            .map_err(|_| FetchError::Timeout("SELECT"))?
            .map_err(imap_err(format!("SELECT {folder}")))?;
        let validity = mailbox.uid_validity.unwrap_or(0);
        let selected = flags::Selected {
            exists: mailbox.exists,
            uid_next: mailbox.uid_next,
            highest_modseq: mailbox.highest_modseq.filter(|_| condstore),
        };
        let mut report = FolderReport {
            folder: folder.into(),
            maildir: target.path().into(),
            server: self.server(),
            commands: 1,
            ..Default::default()
        };
        let mut known = None;
        if state.uidvalidity != validity {
            // A new UIDVALIDITY renumbers the folder: start again, without storing twice what
            // the Maildir already holds.
            report.uidvalidity_changed = state.uidvalidity != 0;
            if report.uidvalidity_changed {
                known = Some(hashes(&target));
            }
            state = FolderState { uidvalidity: validity, last_uid: 0 };
            save_state_at(&state_path, &state)?;
        }
        let names = format!("{prefix}{validity}-");
        let flag_path = state_path.with_extension("flags.json");
        // Two-way: the flags of what earlier syncs fetched, before anything new arrives.
        let mut base = None;
        if let Some(caps) = caps {
            let saved = flags::FlagState::load(&flag_path, validity);
            let fresh = saved.as_ref().is_none_or(|s| s.through != state.last_uid);
            let sync = flags::FlagSync {
                state: saved.unwrap_or(flags::FlagState { uidvalidity: validity, ..Default::default() }),
                fresh,
                local: flags::scan(target.path(), &names),
                last: state.last_uid,
                selected,
                uidplus: caps.uidplus,
                expunge,
                timeout,
                commands: &mut report.commands,
            };
            let session = self.session.as_mut().ok_or(FetchError::Timeout("no session"))?;
            match self.runtime.block_on(sync.run(session)) {
                Ok((state, flag_report)) => {
                    base = Some(state);
                    report.flags = Some(flag_report);
                }
                Err(e) => {
                    self.session = None;
                    return Err(e);
                }
            }
        }
        let mut landing = Landing {
            target: &target,
            prefix: names,
            state_path: &state_path,
            state,
            limits,
            batch: target.batch(),
            opened: None,
            handled: 0,
            landed: None,
            known,
            two_way,
            arrived: Vec::new(),
            big: BTreeMap::new(),
            fetched: 0,
            skipped: 0,
            on_message: &mut on_message,
            stop,
            stopped: false,
        };
        // UIDNEXT says whether anything can be above the last UID.
        let nothing_new = selected.uid_next.is_some_and(|next| next <= landing.state.last_uid.saturating_add(1));
        let failure = if nothing_new {
            None
        } else {
            report.commands += 1;
            let session = self.session.as_mut().ok_or(FetchError::Timeout("no session"))?;
            self.runtime.block_on(fetch_new(session, timeout, &mut landing)).err()
        };
        report.fetched = landing.fetched;
        report.skipped = landing.skipped;
        report.state = landing.state.clone();
        report.stopped = landing.stopped;
        if let Some(mut base) = base {
            // What arrived joins the base, up to where the state got.
            let through = landing.state.last_uid;
            base.messages.extend(landing.arrived.iter().copied().filter(|(uid, _)| *uid <= through));
            base.through = through;
            base.save(&flag_path)?;
        }
        if report.stopped {
            // The rest of the FETCH response is still on its way.
            self.session = None;
        }
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
        self.idle_until(folder, wait, &|| false)
    }

    /// [`Fetcher::idle`] that also ends, within a quarter second, once `stop` says so (then
    /// `false`; the connection is closed).
    pub fn idle_until(&mut self, folder: &str, wait: Duration, stop: &dyn Fn() -> bool) -> Result<bool, FetchError> {
        let mut session = match self.session.take() {
            Some(s) => s,
            None => {
                let (current, session) = self.runtime.block_on(login_any(&self.servers))?;
                self.current = current;
                session
            }
        };
        let timeout = self.servers[self.current].timeout;
        let result: Result<Option<(bool, Session)>, FetchError> = self.runtime.block_on(async {
            timed(timeout, "SELECT", session.select(folder)).await?;
            let mut handle = session.idle();
            handle.init().await.map_err(imap_err("IDLE"))?;
            let got = {
                let (waiting, _interrupt) = handle.wait_with_timeout(wait);
                let stopping = async {
                    while !stop() {
                        tokio::time::sleep(STOP_POLL).await;
                    }
                };
                tokio::select! {
                    got = waiting => got.map_err(imap_err("IDLE"))?,
                    () = stopping => return Ok(None),
                }
            };
            let news = matches!(got, async_imap::extensions::idle::IdleResponse::NewData(_));
            let session = timed(timeout, "DONE", handle.done()).await?;
            Ok(Some((news, session)))
        });
        match result? {
            Some((news, session)) => {
                self.session = Some(session);
                Ok(news)
            }
            None => Ok(false),
        }
    }

    /// Reconnects if the last command broke the session.
    pub fn reconnect(&mut self) -> Result<(), FetchError> {
        if self.session.is_none() {
            let (current, session) = self.runtime.block_on(login_any(&self.servers))?;
            self.current = current;
            self.session = Some(session);
        }
        Ok(())
    }

    /// The server in use (or last used), as `host:port`.
    pub fn server(&self) -> String {
        let c = &self.servers[self.current];
        format!("{}:{}", c.host, c.port)
    }

    /// Logs out.
    pub fn logout(mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = self.runtime.block_on(async { tokio::time::timeout(Duration::from_secs(5), s.logout()).await });
        }
    }
}

/// Fetches every message above the folder's last UID into the landing, in one `UID FETCH`
/// streamed as it arrives. Each message is asked for in one piece of at most a chunk; the rest
/// of a larger one is fetched piece by piece after the stream, so no response holds more than a
/// chunk. Whatever was committed stays committed when this fails.
async fn fetch_new(session: &mut Session, timeout: Duration, landing: &mut Landing<'_>) -> Result<(), FetchError> {
    let streamed = stream_new(session, timeout, landing).await;
    let finished = match streamed {
        Ok(()) if landing.stopped => Ok(()),
        Ok(()) => finish_big(session, timeout, landing).await,
        Err(e) => Err(e),
    };
    // Commit what arrived whole, also after a failure: it is progress a retry need not repeat.
    let committed = landing.commit();
    finished.and(committed)
}

async fn stream_new(session: &mut Session, timeout: Duration, landing: &mut Landing<'_>) -> Result<(), FetchError> {
    let chunk = landing.limits.chunk_bytes;
    let range = format!("{}:*", landing.state.last_uid.saturating_add(1));
    let query = if landing.two_way {
        format!("(UID FLAGS BODY.PEEK[]<0.{chunk}>)")
    } else {
        format!("(UID BODY.PEEK[]<0.{chunk}>)")
    };
    let stream = timed(timeout, "UID FETCH", session.uid_fetch(&range, &query)).await?;
    let mut stream = std::pin::pin!(stream);
    let mut answered = Instant::now();
    loop {
        if (landing.stop)() {
            landing.stopped = true;
            return Ok(());
        }
        // Wake for the next response, or earlier to commit a due batch or to ask `stop`.
        let give_up = answered + timeout;
        let wake = [landing.due(), Some(give_up), Some(Instant::now() + STOP_POLL)].into_iter().flatten().min();
        match tokio::time::timeout_at(wake.unwrap_or(give_up).into(), stream.try_next()).await {
            Ok(Ok(Some(next))) => {
                answered = Instant::now();
                let (Some(uid), Some(body)) = (next.uid, next.body()) else { continue };
                let flags = landing.two_way.then(|| {
                    let names: Vec<String> = next.flags().map(|f| flags::flag_name(&f)).collect();
                    Flags::from_imap(names.iter().map(String::as_str))
                });
                landing.land(uid, body, body.len() < chunk as usize, flags)?;
            }
            Ok(Ok(None)) => return Ok(()),
            Ok(Err(e)) => return Err(imap_err("UID FETCH")(e)),
            Err(_) if Instant::now() >= give_up => return Err(FetchError::Timeout("UID FETCH")),
            Err(_) if landing.due().is_some_and(|due| Instant::now() >= due) => landing.commit()?,
            Err(_) => {}
        }
    }
}

/// Fetches the rest of each message larger than a chunk, piece by piece, in UID order.
async fn finish_big(session: &mut Session, timeout: Duration, landing: &mut Landing<'_>) -> Result<(), FetchError> {
    let chunk = landing.limits.chunk_bytes;
    // Each stays in `big` until it is complete, so that whatever stops this (an error, a
    // stop) keeps the state below it and the next sync fetches it again.
    while let Some(uid) = landing.big.keys().next().copied() {
        let mut vanished = false;
        loop {
            if (landing.stop)() {
                landing.stopped = true;
                return Ok(());
            }
            let Some(big) = landing.big.get_mut(&uid) else { break };
            let query = format!("(UID BODY.PEEK[]<{}.{chunk}>)", big.file.len());
            let stream = timed(timeout, "UID FETCH", session.uid_fetch(uid.to_string(), &query)).await?;
            let mut stream = std::pin::pin!(stream);
            let mut piece = None;
            while let Some(next) = timed(timeout, "UID FETCH", stream.try_next()).await? {
                if let (Some(u), Some(body)) = (next.uid, next.body())
                    && u == uid
                {
                    piece = Some(body.len());
                    big.write(body)?;
                }
            }
            match piece {
                None => {
                    // Expunged meanwhile: nothing to keep.
                    vanished = true;
                    break;
                }
                Some(n) if n < chunk as usize => break,
                Some(_) => {}
            }
        }
        if let Some(big) = landing.big.remove(&uid) {
            landing.finish(uid, big, vanished)?;
        }
    }
    Ok(())
}

/// Where a folder's messages land: batches into the Maildir under names made of the account,
/// folder, UIDVALIDITY and UID, and the folder's state saved after each batch.
struct Landing<'m> {
    target: &'m Maildir,
    /// `imap-<user>-<folder>-<uidvalidity>-`; the UID follows.
    prefix: String,
    state_path: &'m Path,
    state: FolderState,
    limits: SyncLimits,
    batch: Batch,
    /// When the first message of the open batch arrived.
    opened: Option<Instant>,
    /// The highest UID this run has handled (landed in a batch, or found there already).
    handled: u32,
    /// UIDs above the saved state that the Maildir already holds: a batch whose commit a kill
    /// cut short before the state was saved. Listed once, at the first message of a run.
    landed: Option<HashSet<u32>>,
    /// After a UIDVALIDITY change, the digests of what the Maildir holds, and where.
    known: Option<HashMap<[u8; 32], PathBuf>>,
    /// Two-way flags: messages land with their flags, and each UID handled is noted.
    two_way: bool,
    /// The UIDs handled, with their flags when landed with them (two-way).
    arrived: Vec<(u32, Option<Flags>)>,
    /// Messages larger than a chunk, written so far; the state stays below the first of them.
    big: BTreeMap<u32, Big>,
    fetched: usize,
    skipped: usize,
    on_message: &'m mut dyn FnMut(&Path),
    /// Asked between messages: end the sync early.
    stop: &'m dyn Fn() -> bool,
    /// Whether `stop` ended it.
    stopped: bool,
}

/// How often a quiet server's sync or IDLE asks whether to stop.
const STOP_POLL: Duration = Duration::from_millis(250);

/// A message larger than a chunk, being written piece by piece.
struct Big {
    file: Pending,
    digest: Sha256,
    flags: Option<Flags>,
}

impl Big {
    fn write(&mut self, piece: &[u8]) -> Result<(), FetchError> {
        self.digest.update(piece);
        Ok(self.file.write_all(piece)?)
    }
}

impl Landing<'_> {
    /// Takes the message with `uid` (`whole`: not cut at the chunk size) and its flags (asked
    /// for with two-way flags), committing the batch when it is full.
    fn land(&mut self, uid: u32, body: &[u8], whole: bool, flags: Option<Flags>) -> Result<(), FetchError> {
        // `N:*` includes the highest UID even when it is below N.
        if uid <= self.state.last_uid || uid <= self.handled {
            return Ok(());
        }
        self.handled = uid;
        if self.landed().contains(&uid) {
            self.skipped += 1;
            self.note(uid, None);
            return Ok(());
        }
        let name = format!("{}{uid}", self.prefix);
        if whole {
            if self.is_known(Sha256::digest(body).into(), &name) {
                self.skipped += 1;
                self.note(uid, None);
                return Ok(());
            }
            self.opened.get_or_insert_with(Instant::now);
            let mut p = self.target.pending(&name)?;
            p.write_all(body)?;
            if let Some(f) = flags {
                p.set_flags(&f.letters())?;
            }
            self.batch.push(p);
            self.note(uid, flags);
        } else {
            let mut big = Big { file: self.target.pending(&name)?, digest: Sha256::new(), flags };
            big.write(body)?;
            big.file.close();
            self.big.insert(uid, big);
        }
        if self.batch.len() >= self.limits.batch_messages || self.batch.bytes() >= self.limits.batch_bytes {
            self.commit()?;
        }
        Ok(())
    }

    /// A message larger than a chunk is complete (or `vanished` from the server).
    fn finish(&mut self, uid: u32, mut big: Big, vanished: bool) -> Result<(), FetchError> {
        let name = big.file.name().to_string();
        if vanished || self.is_known(big.digest.finalize().into(), &name) {
            self.skipped += usize::from(!vanished);
            if !vanished {
                self.note(uid, None);
            }
            // Nothing to commit for it, but the state may move past it now.
            return self.commit();
        }
        self.opened.get_or_insert_with(Instant::now);
        if let Some(f) = big.flags {
            big.file.set_flags(&f.letters())?;
        }
        self.note(uid, big.flags);
        self.batch.push(big.file);
        if self.batch.len() >= self.limits.batch_messages || self.batch.bytes() >= self.limits.batch_bytes {
            self.commit()?;
        }
        Ok(())
    }

    /// When the open batch is due to be committed, if one is open.
    fn due(&self) -> Option<Instant> {
        self.opened.map(|t| t + self.limits.batch_time)
    }

    /// Commits the batch, tells the caller about each new message, then saves the state: up to
    /// the last UID handled, or below the first message still being written.
    fn commit(&mut self) -> Result<(), FetchError> {
        self.opened = None;
        for path in self.batch.commit()? {
            match path {
                Some(path) => {
                    self.fetched += 1;
                    (self.on_message)(&path);
                }
                None => self.skipped += 1,
            }
        }
        let through = match self.big.first_key_value() {
            Some((first, _)) => self.handled.min(first - 1),
            None => self.handled,
        };
        if through > self.state.last_uid {
            self.state.last_uid = through;
            save_state_at(self.state_path, &self.state)?;
        }
        Ok(())
    }

    /// Whether the Maildir holds these bytes already (after a UIDVALIDITY change). With
    /// two-way flags the file takes `name`, so that its flags are synced under the new UID.
    fn is_known(&mut self, digest: [u8; 32], name: &str) -> bool {
        let Some(path) = self.known.as_mut().and_then(|k| k.remove(&digest)) else { return false };
        if self.two_way {
            let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let renamed = match file.split_once(':') {
                Some((_, info)) => format!("{name}:{info}"),
                None => name.to_string(),
            };
            let _ = std::fs::rename(&path, path.with_file_name(renamed));
        }
        true
    }

    fn note(&mut self, uid: u32, flags: Option<Flags>) {
        if self.two_way {
            self.arrived.push((uid, flags));
        }
    }

    /// The UIDs above the saved state whose names are in the Maildir already.
    fn landed(&mut self) -> &HashSet<u32> {
        let (target, prefix, last) = (self.target, &self.prefix, self.state.last_uid);
        self.landed.get_or_insert_with(|| {
            let mut out = HashSet::new();
            for sub in ["new", "cur"] {
                for e in std::fs::read_dir(target.path().join(sub)).into_iter().flatten().flatten() {
                    let name = e.file_name();
                    let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix.as_str())) else { continue };
                    let digits = rest.split(':').next().unwrap_or_default();
                    if let Ok(uid) = digits.parse::<u32>()
                        && uid > last
                    {
                        out.insert(uid);
                    }
                }
            }
            out
        })
    }
}

/// `what` awaited for at most `timeout`; its IMAP error or the timeout as a [`FetchError`].
pub(crate) async fn timed<T>(
    timeout: Duration,
    what: &'static str,
    f: impl std::future::Future<Output = Result<T, async_imap::error::Error>>,
) -> Result<T, FetchError> {
    tokio::time::timeout(timeout, f).await.map_err(|_| FetchError::Timeout(what))?.map_err(imap_err(what))
}

/// Holds the folder's lock file (next to its state) for the length of a sync: two syncs of one
/// folder into one Maildir would race on its state.
fn lock_folder(state_path: &Path, folder: &str) -> Result<std::fs::File, FetchError> {
    let path = state_path.with_extension("lock");
    let file = crate::files::private_file()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| FetchError::Local { path: path.clone(), source })?;
    #[cfg(unix)]
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
        .map_err(|_| FetchError::Busy(folder.to_string()))?;
    #[cfg(not(unix))]
    let _ = folder;
    Ok(file)
}

fn save_state_at(path: &Path, state: &FolderState) -> Result<(), FetchError> {
    crate::files::replace_synced(path, &serde_json::to_vec(state).unwrap_or_default())
        .map_err(|source| FetchError::Local { path: path.to_path_buf(), source })
}

/// SHA-256 of every message in a Maildir, and its file (used once after a UIDVALIDITY change).
fn hashes(md: &Maildir) -> HashMap<[u8; 32], PathBuf> {
    let mut out = HashMap::new();
    if let Ok(entries) = md.entries() {
        for e in entries.flatten() {
            if let Ok(raw) = std::fs::read(&e.path) {
                out.insert(<[u8; 32]>::from(Sha256::digest(&raw)), e.path);
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

/// Logs in to the first server that answers: its index and the session.
async fn login_any(servers: &[ImapConfig]) -> Result<(usize, Session), FetchError> {
    let mut failures = Vec::new();
    for (i, c) in servers.iter().enumerate() {
        match login(c).await {
            Ok(session) => return Ok((i, session)),
            // It answered: the account, not the server, is wrong.
            Err(e @ FetchError::Auth { .. }) => return Err(e),
            Err(e) if servers.len() == 1 => return Err(e),
            Err(e) => failures.push(format!("{}:{}: {e}", c.host, c.port)),
        }
    }
    Err(FetchError::Unreachable(failures))
}

pub(crate) async fn login(c: &ImapConfig) -> Result<Session, FetchError> {
    let client =
        tokio::time::timeout(c.connect_timeout, open(c)).await.map_err(|_| FetchError::Timeout("connect"))??;
    if let Some(o) = &c.oauth2 {
        return login_oauth2(c, o, client).await;
    }
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

/// `AUTHENTICATE XOAUTH2` or `OAUTHBEARER` with a fresh token; when the server refuses it (an
/// expired token looks like that), once more with the token got again.
async fn login_oauth2(
    c: &ImapConfig,
    o: &crate::oauth2::OAuth2,
    mut client: async_imap::Client<Conn>,
) -> Result<Session, FetchError> {
    let mechanism = o.mechanism.unwrap_or(crate::oauth2::Mechanism::XOAuth2);
    let mut last = String::new();
    for _ in 0..2 {
        let token = o.token()?;
        let response = o.initial_response(mechanism, &token, &c.host, c.port);
        let sasl = OAuthSasl { response: Some(response), abort: mechanism.abort() };
        match tokio::time::timeout(c.timeout, client.authenticate(mechanism.name(), sasl)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err((e, back))) => {
                last = e.to_string();
                client = back;
            }
            Err(_) => return Err(FetchError::Timeout("login")),
        }
    }
    Err(FetchError::Auth {
        user: o.user.clone(),
        detail: format!("{} refused the OAuth2 token: {last}", mechanism.name()),
    })
}

/// The client's side of an OAuth2 SASL exchange: the initial response, then (to the server's
/// error challenge) the answer that ends the exchange.
struct OAuthSasl {
    response: Option<Vec<u8>>,
    abort: &'static [u8],
}

impl async_imap::Authenticator for OAuthSasl {
    type Response = Vec<u8>;
    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        self.response.take().unwrap_or_else(|| self.abort.to_vec())
    }
}

/// Connects, greets and secures the connection (everything before the login).
async fn open(c: &ImapConfig) -> Result<async_imap::Client<Conn>, FetchError> {
    let addr = format!("{}:{}", c.host, c.port);
    let tcp = TcpStream::connect((c.host.as_str(), c.port))
        .await
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
    Ok(client)
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
