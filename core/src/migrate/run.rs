//! Many mailboxes: `jobs` at a time, each job with one connection to each server, sharing one
//! throttle; server push-back and dropped connections cost a backoff and a reconnect (the
//! state makes the mailbox resume where it was); a refused login, a full destination or a
//! failed proof stops that mailbox only.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::copy::{FolderReport, copy_folder};
use super::folders::plan;
use super::state::MailboxState;
use super::store::{Access, Endpoint, Store};
use super::verify::{VerifyReport, verify};
use super::{Mailbox, MigrateError};
use crate::fetch::FetchError;

/// How to run a migration.
#[derive(Debug, Clone)]
pub struct Options {
    /// The source: an IMAP server (its `user` and `password` are each mailbox's) or a Maildir
    /// root.
    pub from: Endpoint,
    /// The destination, likewise.
    pub to: Endpoint,
    /// Where each mailbox's state is kept.
    pub state_dir: PathBuf,
    /// Mailboxes migrated at once (each holds one connection to each server).
    pub jobs: usize,
    /// `--map OLD=NEW` rules (paths with `/`).
    pub maps: Vec<(String, String)>,
    /// Prove each mailbox after copying it.
    pub verify: bool,
    /// Only look: folders, messages and bytes per mailbox, and how long copying would take.
    pub dry_run: bool,
    /// At most this many messages a second, over all jobs.
    pub max_messages_per_second: Option<f64>,
    /// At most this many bytes a second, over all jobs.
    pub max_bytes_per_second: Option<f64>,
    /// Reconnects after push-back or a dropped connection, per mailbox.
    pub retries: u32,
    /// The first wait before a reconnect; it doubles, up to a minute.
    pub backoff: Duration,
}

impl Options {
    /// Defaults: 4 jobs, verify, no throttle, 8 retries from 1 s.
    pub fn new(from: impl Into<Endpoint>, to: impl Into<Endpoint>, state_dir: impl Into<PathBuf>) -> Self {
        Options {
            from: from.into(),
            to: to.into(),
            state_dir: state_dir.into(),
            jobs: 4,
            maps: Vec::new(),
            verify: true,
            dry_run: false,
            max_messages_per_second: None,
            max_bytes_per_second: None,
            retries: 8,
            backoff: Duration::from_secs(1),
        }
    }
}

/// How a mailbox ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MailboxStatus {
    /// Copied (and proven, unless verification was off).
    Ok,
    /// Copied, but the proof found a difference.
    Mismatch,
    /// The destination is full; raise its quota and run again.
    OverQuota,
    /// A server refused the login.
    LoginRefused,
    /// Something else failed (after the retries).
    Failed,
}

/// A message the destination refused (it is missing there).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    /// The source folder.
    pub folder: String,
    /// Its source UID.
    pub uid: u32,
    /// What the server said.
    pub detail: String,
}

/// What happened to one mailbox.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MailboxReport {
    /// Its line in the users file.
    pub line: usize,
    /// The source account.
    pub source_user: String,
    /// The destination account.
    pub dest_user: String,
    /// How it ended.
    pub status: MailboxStatus,
    /// Why, when not `ok`.
    pub error: Option<String>,
    /// Messages appended (over every attempt).
    pub copied: u64,
    /// Bytes appended.
    pub bytes: u64,
    /// Messages in the source folders.
    pub messages: usize,
    /// Source bytes (counted by a dry run only).
    pub source_bytes: u64,
    /// Messages still to copy (a dry run) or left uncopied.
    pub to_copy: usize,
    /// Bytes still to copy (a dry run).
    pub to_copy_bytes: u64,
    /// Per folder, from the last attempt.
    pub folders: Vec<FolderReport>,
    /// Messages the destination refused.
    pub refused: Vec<Refusal>,
    /// The proof, when it ran.
    pub verify: Option<VerifyReport>,
    /// Connections made (1 when nothing went wrong).
    pub attempts: u32,
    /// Wall time.
    pub seconds: f64,
}

impl MailboxReport {
    fn new(mb: &Mailbox) -> Self {
        MailboxReport {
            line: mb.line,
            source_user: mb.source.user.clone(),
            dest_user: mb.dest.user.clone(),
            status: MailboxStatus::Ok,
            error: None,
            copied: 0,
            bytes: 0,
            messages: 0,
            source_bytes: 0,
            to_copy: 0,
            to_copy_bytes: 0,
            folders: Vec::new(),
            refused: Vec::new(),
            verify: None,
            attempts: 0,
            seconds: 0.0,
        }
    }
}

/// What happened to every mailbox.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// In the users file's order.
    pub mailboxes: Vec<MailboxReport>,
    /// Messages appended.
    pub copied: u64,
    /// Bytes appended.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
    /// A dry run's estimate of the copy's duration, from the rate of earlier runs with this
    /// state folder (none yet: `None`).
    pub estimate_seconds: Option<f64>,
}

impl Report {
    /// The exit code: 0 all well; 2 a proof found a difference (or the destination refused a
    /// message); 73 a destination is over quota; 69 a login was refused; 75 something else
    /// failed and a rerun may succeed. The most serious wins, in that order.
    pub fn exit_code(&self) -> i32 {
        let has = |s: MailboxStatus| self.mailboxes.iter().any(|m| m.status == s);
        if has(MailboxStatus::Mismatch) || self.mailboxes.iter().any(|m| !m.refused.is_empty()) {
            2
        } else if has(MailboxStatus::OverQuota) {
            73
        } else if has(MailboxStatus::LoginRefused) {
            69
        } else if has(MailboxStatus::Failed) {
            75
        } else {
            0
        }
    }
}

/// What a run tells as it goes.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A job took a mailbox (its index in the list).
    Started {
        /// Index.
        index: usize,
        /// The mailbox.
        mailbox: &'a Mailbox,
    },
    /// Messages and bytes appended since the last event of this mailbox.
    Progress {
        /// Index.
        index: usize,
        /// Messages.
        messages: usize,
        /// Bytes.
        bytes: u64,
    },
    /// A connection failed or the server pushed back; the job waits and reconnects.
    Retry {
        /// Index.
        index: usize,
        /// Which reconnect this is.
        attempt: u32,
        /// The wait.
        wait: Duration,
        /// What happened.
        error: String,
    },
    /// A mailbox is done.
    Finished {
        /// Index.
        index: usize,
        /// Its report.
        report: &'a MailboxReport,
    },
}

impl Event<'_> {
    /// The event as JSON, as `migrate --json` prints it and the bindings pass it on: an
    /// `event` field (`started`, `progress`, `retry`, `mailbox`) and what it says.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Event::Started { index, mailbox } => serde_json::json!({"event": "started", "index": index,
                "source_user": mailbox.source.user, "dest_user": mailbox.dest.user}),
            Event::Progress { index, messages, bytes } => {
                serde_json::json!({"event": "progress", "index": index, "messages": messages, "bytes": bytes})
            }
            Event::Retry { index, attempt, wait, error } => serde_json::json!({"event": "retry", "index": index,
                "attempt": attempt, "wait": wait.as_secs_f64(), "error": error}),
            Event::Finished { index, report } => {
                let mut v = serde_json::to_value(report).unwrap_or_default();
                v["event"] = "mailbox".into();
                v["index"] = (*index).into();
                v
            }
        }
    }
}

/// Paces messages and bytes over all jobs.
#[derive(Debug)]
pub(crate) struct Throttle {
    messages: Option<f64>,
    bytes: Option<f64>,
    start: Instant,
    /// The earliest next start for a message and for a byte, in seconds since `start`.
    next: Mutex<(f64, f64)>,
}

impl Throttle {
    pub(crate) fn new(messages: Option<f64>, bytes: Option<f64>) -> Self {
        let positive = |v: Option<f64>| v.filter(|r| r.is_finite() && *r > 0.0);
        Throttle {
            messages: positive(messages),
            bytes: positive(bytes),
            start: Instant::now(),
            next: Mutex::new((0.0, 0.0)),
        }
    }

    /// Waits until a message of `size` bytes may go.
    pub(crate) async fn wait(&self, size: u64) {
        if self.messages.is_none() && self.bytes.is_none() {
            return;
        }
        let at = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let now = self.start.elapsed().as_secs_f64();
            let (m, b) = (next.0.max(now), next.1.max(now));
            next.0 = m + self.messages.map_or(0.0, |r| 1.0 / r);
            next.1 = b + self.bytes.map_or(0.0, |r| size as f64 / r);
            m.max(b)
        };
        let wait = at - self.start.elapsed().as_secs_f64();
        if wait > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }
}

/// The rate of earlier runs, kept in the state folder for dry runs' estimates.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Rate {
    messages: u64,
    bytes: u64,
    seconds: f64,
}

impl Rate {
    fn path(opts: &Options) -> PathBuf {
        opts.state_dir.join("rate.json")
    }

    fn load(opts: &Options) -> Option<Rate> {
        let r: Rate = serde_json::from_slice(&std::fs::read(Self::path(opts)).ok()?).ok()?;
        (r.seconds > 0.0 && r.messages > 0).then_some(r)
    }

    fn estimate(&self, messages: u64, bytes: u64) -> f64 {
        let by_messages = messages as f64 * self.seconds / self.messages as f64;
        let by_bytes = if self.bytes > 0 { bytes as f64 * self.seconds / self.bytes as f64 } else { 0.0 };
        by_messages.max(by_bytes)
    }
}

/// Migrates (or, with `dry_run`, sizes up) every mailbox. An error here is the run's (no state
/// folder, no runtime); a mailbox's failure is in its report.
pub fn run(
    opts: &Options,
    mailboxes: &[Mailbox],
    on_event: &(dyn Fn(&Event<'_>) + Sync),
) -> Result<Report, MigrateError> {
    crate::files::create_private_dir_all(&opts.state_dir)
        .map_err(|e| MigrateError::State { path: opts.state_dir.clone(), detail: e.to_string() })?;
    let start = Instant::now();
    let throttle = Arc::new(Throttle::new(opts.max_messages_per_second, opts.max_bytes_per_second));
    let mailboxes = pool(opts.jobs, mailboxes, on_event, &|runtime, index, mb| {
        runtime.block_on(one(opts, index, mb, &throttle, on_event))
    })?;
    let (copied, bytes) = (mailboxes.iter().map(|m| m.copied).sum(), mailboxes.iter().map(|m| m.bytes).sum());
    let seconds = start.elapsed().as_secs_f64();
    let mut estimate_seconds = None;
    if opts.dry_run {
        let (m, b) =
            (mailboxes.iter().map(|r| r.to_copy as u64).sum(), mailboxes.iter().map(|r| r.to_copy_bytes).sum());
        estimate_seconds = Rate::load(opts).map(|r| r.estimate(m, b));
    } else if copied >= 100 && seconds > 0.0 {
        // Big enough to say something about this pair of servers.
        let rate = Rate { messages: copied, bytes, seconds };
        let _ = crate::files::replace_synced(&Rate::path(opts), &serde_json::to_vec(&rate).unwrap_or_default());
    }
    Ok(Report { mailboxes, copied, bytes, seconds, estimate_seconds })
}

/// Whether a reconnect may help: a dropped or timed-out connection, or a server that says it
/// is busy. A plain NO or BAD (no such folder, say) will say the same again.
fn transient(e: &MigrateError) -> bool {
    let busy = |text: &str| {
        let text = text.to_ascii_uppercase();
        ["[UNAVAILABLE]", "[LIMIT]", "[INUSE]", "[THROTTLED]", "BYE"].iter().any(|c| text.contains(c))
    };
    match e {
        MigrateError::PushBack(_) => true,
        MigrateError::Imap(f) => match f {
            FetchError::Connect { .. } | FetchError::Timeout(_) | FetchError::Unreachable(_) => true,
            FetchError::Imap { detail, .. } => {
                busy(detail) || !(detail.starts_with("no response") || detail.starts_with("bad response"))
            }
            FetchError::Auth { detail, .. } => busy(detail),
            _ => false,
        },
        _ => false,
    }
}

/// One mailbox, from the first connection to the proof.
async fn one(
    opts: &Options,
    index: usize,
    mb: &Mailbox,
    throttle: &Arc<Throttle>,
    on_event: &(dyn Fn(&Event<'_>) + Sync),
) -> MailboxReport {
    let start = Instant::now();
    let mut report = MailboxReport::new(mb);
    let (copied, bytes) = (AtomicU64::new(0), AtomicU64::new(0));
    let tick = |m: usize, b: u64| {
        copied.fetch_add(m as u64, Ordering::Relaxed);
        bytes.fetch_add(b, Ordering::Relaxed);
        on_event(&Event::Progress { index, messages: m, bytes: b });
    };
    let outcome = match MailboxState::open(&opts.state_dir, &mb.source.user, &mb.dest.user) {
        Err(e) => Err(e),
        Ok(mut state) => {
            let mut wait = opts.backoff;
            loop {
                report.attempts += 1;
                let attempt = if opts.dry_run {
                    size_up(opts, mb, &state, &mut report).await
                } else {
                    copy_all(opts, mb, &mut state, throttle, &tick, &mut report).await
                };
                let _ = state.commit();
                match attempt {
                    Err(e) if transient(&e) && report.attempts <= opts.retries => {
                        on_event(&Event::Retry { index, attempt: report.attempts, wait, error: e.to_string() });
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(60));
                    }
                    other => break other,
                }
            }
        }
    };
    report.copied = copied.load(Ordering::Relaxed);
    report.bytes = bytes.load(Ordering::Relaxed);
    let outcome = match outcome {
        Ok(()) if opts.verify && !opts.dry_run => prove(opts, mb, &mut report).await,
        other => other,
    };
    if let Err(e) = outcome {
        report.status = match &e {
            MigrateError::OverQuota(_) => MailboxStatus::OverQuota,
            MigrateError::Imap(FetchError::Auth { .. }) => MailboxStatus::LoginRefused,
            _ => MailboxStatus::Failed,
        };
        report.error = Some(e.to_string());
    } else if report.verify.as_ref().is_some_and(|v| !v.clean()) {
        report.status = MailboxStatus::Mismatch;
    }
    report.seconds = start.elapsed().as_secs_f64();
    report
}

/// Both sides logged in, and the folder plan.
async fn open_both(
    opts: &Options,
    mb: &Mailbox,
    dest: Access,
) -> Result<(Store, Store, Vec<super::Mapping>), MigrateError> {
    let mut src = Store::connect(&opts.from, &mb.source, &opts.state_dir, Access::Read).await?;
    let mut dst = Store::connect(&opts.to, &mb.dest, &opts.state_dir, dest).await?;
    let (from, mut to) = (src.folders().await?, dst.folders().await?);
    let separator = match &dst {
        Store::Maildir(m) => m.separator(),
        Store::Imap(_) => to.iter().find_map(|f| f.separator).unwrap_or('/'),
    };
    if matches!(dst, Store::Maildir(_)) {
        super::folders::standard_specials(&mut to, separator);
    }
    let mut mappings = plan(&from, &to, &opts.maps, separator);
    // INBOX first: it is what users look at first after the switch.
    mappings.sort_by_key(|m| m.rule != "inbox");
    Ok((src, dst, mappings))
}

async fn copy_all(
    opts: &Options,
    mb: &Mailbox,
    state: &mut MailboxState,
    throttle: &Arc<Throttle>,
    tick: super::copy::Tick<'_>,
    report: &mut MailboxReport,
) -> Result<(), MigrateError> {
    let (mut src, mut dst, mappings) = open_both(opts, mb, Access::Write).await?;
    let subscribed = src.subscribed().await?;
    let already = dst.subscribed().await?;
    let mut folders = Vec::with_capacity(mappings.len());
    let mut refused = Vec::new();
    for m in &mappings {
        let r = copy_folder(&mut src, &mut dst, m, state, throttle, tick, &mut refused).await;
        report.refused.append(&mut refused);
        let r = r?;
        if subscribed.contains(&m.from) && !already.contains(&m.to) && m.to != "INBOX" {
            dst.subscribe(&m.to).await?;
        }
        folders.push(r);
    }
    report.messages = folders.iter().map(|f| f.messages).sum();
    report.to_copy = folders.iter().map(|f| f.refused).sum();
    report.folders = folders;
    src.logout().await;
    dst.logout().await;
    Ok(())
}

/// A dry run: what there is, and what is left to copy.
async fn size_up(
    opts: &Options,
    mb: &Mailbox,
    state: &MailboxState,
    report: &mut MailboxReport,
) -> Result<(), MigrateError> {
    let (mut src, dst, mappings) = open_both(opts, mb, Access::Look).await?;
    let mut folders = Vec::new();
    let (mut messages, mut bytes, mut to_copy, mut to_copy_bytes) = (0, 0, 0, 0);
    for m in &mappings {
        let n = src.open(&m.from, false).await?;
        let sizes = if n.exists == 0 { Vec::new() } else { src.sizes().await? };
        let known = state.folders.get(&m.from).filter(|f| f.uidvalidity == n.uidvalidity);
        let left: Vec<&(u32, u64)> =
            sizes.iter().filter(|(uid, _)| known.is_none_or(|f| !f.messages.contains_key(uid))).collect();
        messages += sizes.len();
        bytes += sizes.iter().map(|(_, s)| s).sum::<u64>();
        to_copy += left.len();
        to_copy_bytes += left.iter().map(|(_, s)| s).sum::<u64>();
        folders.push(FolderReport {
            from: m.from.clone(),
            to: m.to.clone(),
            rule: m.rule,
            messages: sizes.len(),
            already: sizes.len() - left.len(),
            ..Default::default()
        });
    }
    (report.messages, report.source_bytes, report.to_copy, report.to_copy_bytes) =
        (messages, bytes, to_copy, to_copy_bytes);
    report.folders = folders;
    src.logout().await;
    dst.logout().await;
    Ok(())
}

/// The proof, on fresh connections (retried like the copy).
async fn prove(opts: &Options, mb: &Mailbox, report: &mut MailboxReport) -> Result<(), MigrateError> {
    let mut wait = opts.backoff;
    let mut tries = 0;
    loop {
        let attempt = async {
            let (mut src, mut dst, mappings) = open_both(opts, mb, Access::Look).await?;
            let v = verify(&mut src, &mut dst, &mappings).await?;
            src.logout().await;
            dst.logout().await;
            Ok::<_, MigrateError>(v)
        }
        .await;
        match attempt {
            Ok(v) => {
                report.verify = Some(v);
                return Ok(());
            }
            Err(e) if transient(&e) && tries < opts.retries => {
                tries += 1;
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(60));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Proves mailboxes without copying anything (`migrate verify`).
pub fn verify_only(
    opts: &Options,
    mailboxes: &[Mailbox],
    on_event: &(dyn Fn(&Event<'_>) + Sync),
) -> Result<Report, MigrateError> {
    let start = Instant::now();
    let mailboxes = pool(opts.jobs, mailboxes, on_event, &|runtime, _, mb| {
        let t = Instant::now();
        let mut report = MailboxReport::new(mb);
        report.attempts = 1;
        match runtime.block_on(prove(opts, mb, &mut report)) {
            Err(e) => {
                report.status = match &e {
                    MigrateError::Imap(FetchError::Auth { .. }) => MailboxStatus::LoginRefused,
                    _ => MailboxStatus::Failed,
                };
                report.error = Some(e.to_string());
            }
            Ok(()) if report.verify.as_ref().is_some_and(|v| !v.clean()) => report.status = MailboxStatus::Mismatch,
            Ok(()) => {}
        }
        report.messages = report.verify.as_ref().map_or(0, |v| v.source);
        report.seconds = t.elapsed().as_secs_f64();
        report
    })?;
    Ok(Report { mailboxes, copied: 0, bytes: 0, seconds: start.elapsed().as_secs_f64(), estimate_seconds: None })
}

/// `jobs` threads, each with its own runtime, taking mailboxes in order.
fn pool(
    jobs: usize,
    mailboxes: &[Mailbox],
    on_event: &(dyn Fn(&Event<'_>) + Sync),
    each: &(dyn Fn(&tokio::runtime::Runtime, usize, &Mailbox) -> MailboxReport + Sync),
) -> Result<Vec<MailboxReport>, MigrateError> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<MailboxReport>>> = Mutex::new(vec![None; mailboxes.len()]);
    let failure: Mutex<Option<MigrateError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(mailboxes.len().max(1)) {
            scope.spawn(|| {
                let runtime = match super::runtime() {
                    Ok(r) => r,
                    Err(e) => {
                        *failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
                        return;
                    }
                };
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(mailbox) = mailboxes.get(index) else { break };
                    on_event(&Event::Started { index, mailbox });
                    let report = each(&runtime, index, mailbox);
                    on_event(&Event::Finished { index, report: &report });
                    results.lock().unwrap_or_else(PoisonError::into_inner)[index] = Some(report);
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(PoisonError::into_inner) {
        return Err(e);
    }
    Ok(results.into_inner().unwrap_or_else(PoisonError::into_inner).into_iter().flatten().collect())
}
