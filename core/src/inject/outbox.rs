//! A durable outbox: messages wait on disk until every recipient is delivered or has failed for
//! good, and a crash at any instant loses none of them.
//!
//! # Storage
//!
//! A spool of one folder per message, in the manner of Maildir: nothing but `rename` makes a
//! change visible, so no reader ever sees half of one, and no process has to be trusted to
//! clean up after itself.
//!
//! ```text
//! DIR/tmp/ID/             being added (not yet queued; removed when found stale)
//! DIR/queue/ID/message.eml  the message, never changed
//! DIR/queue/ID/state.json   envelope, each recipient's state, attempts, next try, last error
//! DIR/failed/ID/            as above, plus delivery-status.txt (RFC 3464 fields per recipient)
//! ```
//!
//! [`Outbox::add`] writes and fsyncs both files in `tmp/ID/`, renames the folder into `queue/`
//! and fsyncs `queue/` before it returns. A state change is a new `state.json` written beside
//! the old one, fsynced and renamed over it. A delivered message's folder is renamed out of
//! `queue/` into `tmp/` and removed there by a second thread while the flush goes on (freeing a
//! file's blocks is the slowest step of a delivery; a folder a kill left in `tmp/` goes at the
//! next flush). Why not an embedded database: a spool needs no dependency, can be
//! read and repaired with `ls` and `cat`, lets any number of processes work on it at once (the
//! embedded stores we considered allow one process), and keeps each message's bytes in one
//! file that is never rewritten.
//!
//! # Concurrency
//!
//! A flusher holds an exclusive `flock` on `message.eml` while it sends that message and checks,
//! once it holds the lock, that the folder is still queued; two processes flushing one outbox
//! therefore never send one message at the same time. The kernel drops the lock when a process
//! dies, so a killed flusher blocks nothing.
//!
//! # Delivery is at least once
//!
//! Messages are handed to the transport in batches of up to 16 (or 8 MiB), so that SMTP can
//! pipeline across them, and their states are updated right after the batch's answers. A crash
//! between a server's `250` and that update sends the message again on the next flush; nothing
//! can be lost, but that window (a batch's round trips and its fsyncs) can cause duplicates. A delivered message's folder leaves `queue/` at once (a
//! killed flusher never sends it again), but `queue/` is synced once for up to 64 of them: only
//! a crash of the whole system in between can bring that many back, to be sent again.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Envelope, InjectError, Receipt, RecipientResult, RecipientStatus, Transport};
use crate::files::{replace_synced, sync_dir, write_synced};

/// Delivered messages whose removal from `queue/` may wait for one sync of the folder.
const SYNC_EVERY: usize = 64;

/// Messages handed to the transport together (SMTP pipelines across them), and the most bytes
/// of them held at once (a larger message goes alone).
const BATCH_MESSAGES: usize = 16;
const BATCH_BYTES: usize = 8 << 20;

/// A due message, locked (the descriptor is `message.eml`) and read, about to be sent.
struct Taken {
    dir: PathBuf,
    lock: File,
    state: MessageState,
    raw: Vec<u8>,
    /// Its pending recipients; `None` when none is left.
    envelope: Option<Envelope>,
}

/// What one flush keeps track of across batches.
struct Run<'a> {
    report: &'a mut FlushReport,
    /// Delivered folders removed since `queue/` was last synced.
    unsynced: &'a mut usize,
    /// Where delivered folders go to be removed.
    gone: std::sync::mpsc::Sender<PathBuf>,
}

/// Why the outbox could not do something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The spool could not be read or written.
    #[error("outbox {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A state file is unreadable; the message is left where it is.
    #[error("outbox {path}: unreadable state ({detail}); inspect or remove the folder")]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// No message with that id.
    #[error("no message {0} in the outbox (see `status`)")]
    NotFound(String),
    /// Another process is sending that message right now.
    #[error("message {0} is being sent by another process; try again when it is done")]
    Busy(String),
    /// The message cannot be queued.
    #[error(transparent)]
    Inject(#[from] InjectError),
}

impl OutboxError {
    /// Whether trying again later may work: a message another process is sending, a full disk;
    /// not a missing message nor an unreadable state file.
    pub fn is_transient(&self) -> bool {
        match self {
            OutboxError::Io { source, .. } => crate::error::io_is_transient(source),
            OutboxError::Busy(_) => true,
            OutboxError::Corrupt { .. } | OutboxError::NotFound(_) => false,
            OutboxError::Inject(e) => e.is_transient(),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutboxError + '_ {
    move |source| OutboxError::Io { path: path.to_path_buf(), source }
}

/// When to try again, and when to give up.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// The wait after the first temporary failure.
    pub first_delay: Duration,
    /// The longest wait between attempts (the delay doubles up to this).
    pub max_delay: Duration,
    /// How long a message may stay queued; after that a temporary failure is final.
    pub max_age: Duration,
    /// Random spread of each delay, as a fraction (0.2 = ±20 %), so messages that failed
    /// together do not all come back together.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    /// 5 minutes, doubling up to 4 hours, for 5 days (what MTAs commonly do), ±20 %.
    fn default() -> Self {
        RetryPolicy {
            first_delay: Duration::from_secs(300),
            max_delay: Duration::from_secs(4 * 3600),
            max_age: Duration::from_secs(5 * 24 * 3600),
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempts`-th failed attempt.
    pub fn delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(40);
        let base = self.first_delay.saturating_mul(1u32 << doublings.min(31)).min(self.max_delay);
        let spread = self.jitter.clamp(0.0, 1.0) * (2.0 * unit_random() - 1.0);
        base.mul_f64(1.0 + spread)
    }
}

/// Uniform in [0, 1); the system's randomness (never failing on the systems we run on; 0 if it did).
fn unit_random() -> f64 {
    (getrandom::u64().unwrap_or_default() >> 11) as f64 / (1u64 << 53) as f64
}

fn now_nanos() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

fn now_secs() -> f64 {
    now_nanos() as f64 / 1e9
}

/// A queued message's state, as kept in `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageState {
    /// The id (the folder's name).
    pub id: String,
    /// The reverse path.
    pub from: String,
    /// The recipients, each with the last answer it got.
    pub recipients: Vec<RecipientResult>,
    /// When it was added (seconds since the Unix epoch).
    pub created: f64,
    /// Attempts so far.
    pub attempts: u32,
    /// When it is due (seconds since the Unix epoch).
    pub next_try: f64,
    /// The last error, if the last attempt left recipients pending.
    pub last_error: Option<String>,
    /// The message's size in bytes.
    pub size: u64,
}

/// Where a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryState {
    /// Waiting for its next try.
    Queued,
    /// Being sent by some process right now.
    Sending,
    /// Failed for good (some recipients may have been delivered); see its report.
    Failed,
    /// Its state file is unreadable (`last_error` says why); flushes leave it alone.
    Corrupt,
}

/// One line of [`Outbox::status`].
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Where it is.
    pub state: EntryState,
    /// Its state file.
    #[serde(flatten)]
    pub message: MessageState,
    /// Its folder.
    pub path: PathBuf,
}

/// What a flush did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct FlushReport {
    /// Messages whose every recipient is now done, none failed.
    pub delivered: usize,
    /// Messages with recipients left for a later try.
    pub deferred: usize,
    /// Messages that ended with a permanent failure for some recipient.
    pub failed: usize,
    /// Messages skipped because another process was sending them.
    pub busy: usize,
    /// Messages not yet due.
    pub waiting: usize,
    /// Entries skipped because their state is unreadable (what was wrong with each).
    pub corrupt: Vec<String>,
    /// Per message attempted: its id and its state afterwards.
    pub attempted: Vec<MessageState>,
}

/// A durable outbox in a folder. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Outbox {
    root: PathBuf,
    policy: RetryPolicy,
}

const MESSAGE: &str = "message.eml";
const STATE: &str = "state.json";
const REPORT: &str = "delivery-status.txt";

impl Outbox {
    /// Opens the outbox at `root`, creating its folders when missing.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, OutboxError> {
        let root = root.into();
        for sub in ["tmp", "queue", "failed"] {
            let p = root.join(sub);
            crate::files::create_private_dir_all(&p).map_err(io_err(&p))?;
        }
        Ok(Outbox { root, policy: RetryPolicy::default() })
    }

    /// Uses `policy` for retries.
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The outbox's folder.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Queues `raw` for the envelope's recipients, due now. Returns its id once the message
    /// and its state are on disk (fsynced) and queued.
    pub fn add(&self, envelope: &Envelope, raw: &[u8]) -> Result<String, OutboxError> {
        let id = new_id();
        let tmp = self.root.join("tmp").join(&id);
        crate::files::create_private_dir(&tmp).map_err(io_err(&tmp))?;
        let now = now_secs();
        let state = MessageState {
            id: id.clone(),
            from: envelope.from().to_string(),
            recipients: envelope
                .to()
                .iter()
                .map(|a| RecipientResult {
                    at: None,
                    ..RecipientResult::new(a.clone(), RecipientStatus::Transient, "")
                })
                .collect(),
            created: now,
            attempts: 0,
            next_try: now,
            last_error: None,
            size: raw.len() as u64,
        };
        let written = (|| {
            write_synced(&tmp.join(MESSAGE), raw)?;
            write_synced(&tmp.join(STATE), &state_bytes(&state))?;
            sync_dir(&tmp)?;
            let dest = self.root.join("queue").join(&id);
            fs::rename(&tmp, &dest)?;
            sync_dir(&self.root.join("queue"))
        })();
        if let Err(e) = written {
            let _ = fs::remove_dir_all(&tmp);
            return Err(OutboxError::Io { path: tmp, source: e });
        }
        Ok(id)
    }

    /// Queues a ready message: the envelope from its From, To, Cc and Bcc headers, and the Bcc
    /// header taken out (as [`Transport::send`] does).
    pub fn add_message(&self, raw: &[u8]) -> Result<String, OutboxError> {
        let msg = crate::parse::Message::parse(raw).map_err(InjectError::from)?;
        let envelope = Envelope::from_message(&msg)?;
        let bytes = super::without_bcc(&msg);
        self.add(&envelope, &bytes)
    }

    /// Every message, queued and failed, oldest first.
    pub fn status(&self) -> Result<Vec<Entry>, OutboxError> {
        let mut out = Vec::new();
        for (sub, state) in [("queue", EntryState::Queued), ("failed", EntryState::Failed)] {
            for dir in self.list(sub)? {
                let (message, state) = match read_state(&dir) {
                    Ok(m) => (m, state),
                    Err(OutboxError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => (placeholder(&dir, e.to_string()), EntryState::Corrupt),
                };
                let state =
                    if state == EntryState::Queued && self.is_locked(&dir) { EntryState::Sending } else { state };
                out.push(Entry { state, message, path: dir });
            }
        }
        out.sort_by(|a, b| a.message.created.total_cmp(&b.message.created).then(a.message.id.cmp(&b.message.id)));
        Ok(out)
    }

    /// Sends every due message through `transport`; see [`FlushReport`].
    pub fn flush(&self, transport: &mut dyn Transport) -> Result<FlushReport, OutboxError> {
        self.flush_due(transport, now_secs())
    }

    /// Sends every message due at `now` (seconds since the Unix epoch).
    pub fn flush_due(&self, transport: &mut dyn Transport, now: f64) -> Result<FlushReport, OutboxError> {
        self.flush_until(transport, now, &|| false)
    }

    /// [`Outbox::flush_due`] that ends early once `stop` says so, asked before each message is
    /// taken: the batch in hand (at most 16 messages) is finished (sent and its states
    /// written), the rest wait for the next flush.
    pub fn flush_until(
        &self,
        transport: &mut dyn Transport,
        now: f64,
        stop: &dyn Fn() -> bool,
    ) -> Result<FlushReport, OutboxError> {
        self.clean_tmp();
        let mut report = FlushReport::default();
        let mut dirs = self.list("queue")?;
        dirs.sort();
        // Delivered folders removed since `queue/` was last synced.
        let mut unsynced = 0;
        let result = std::thread::scope(|scope| {
            // Delivered folders, out of `queue/` already, are removed beside the flush.
            let (gone, removals) = std::sync::mpsc::channel::<PathBuf>();
            scope.spawn(move || {
                for dir in removals {
                    remove_delivered(&dir);
                }
            });
            let mut run = Run { report: &mut report, unsynced: &mut unsynced, gone };
            self.flush_each(transport, now, stop, dirs, &mut run)
        });
        if unsynced > 0 {
            self.sync_queue()?;
        }
        result.map(|()| report)
    }

    fn flush_each(
        &self,
        transport: &mut dyn Transport,
        now: f64,
        stop: &dyn Fn() -> bool,
        dirs: Vec<PathBuf>,
        run: &mut Run<'_>,
    ) -> Result<(), OutboxError> {
        let mut dirs = dirs.into_iter();
        loop {
            // A batch of due messages, locked and read, handed to the transport together.
            let mut batch: Vec<Taken> = Vec::new();
            let mut bytes = 0;
            let mut stopping = false;
            while batch.len() < BATCH_MESSAGES && bytes < BATCH_BYTES {
                if stop() {
                    stopping = true;
                    break;
                }
                let Some(dir) = dirs.next() else { break };
                if let Some(taken) = self.take(dir, now, run.report)? {
                    bytes += taken.raw.len();
                    batch.push(taken);
                }
            }
            if batch.is_empty() {
                return Ok(());
            }
            let items: Vec<(Envelope, &[u8])> =
                batch.iter().filter_map(|t| Some((t.envelope.clone()?, t.raw.as_slice()))).collect();
            let mut results = transport.send_many(&items).into_iter();
            for mut t in batch {
                let result = t.envelope.as_ref().map(|_| {
                    // A transport that gave fewer results: its recipients have failed for now.
                    results.next().unwrap_or_else(|| {
                        Ok(Receipt {
                            transport: "none",
                            destination: String::new(),
                            queue_id: None,
                            recipients: Vec::new(),
                            peer: None,
                            tls: None,
                        })
                    })
                });
                if let Some(delivered) = self.record(&t.dir, &mut t.state, t.envelope.as_ref(), result)? {
                    *run.unsynced += 1;
                    if let Err(unsent) = run.gone.send(delivered) {
                        remove_delivered(&unsent.0);
                    }
                }
                drop(t.lock);
                if *run.unsynced >= SYNC_EVERY {
                    self.sync_queue()?;
                    *run.unsynced = 0;
                }
                let pending = t.state.recipients.iter().any(|r| r.status == RecipientStatus::Transient);
                let failed = t.state.recipients.iter().any(|r| r.status == RecipientStatus::Permanent);
                if pending {
                    run.report.deferred += 1;
                } else if failed {
                    run.report.failed += 1;
                } else {
                    run.report.delivered += 1;
                }
                run.report.attempted.push(t.state);
            }
            if stopping {
                return Ok(());
            }
        }
    }

    /// Locks and reads a queued message if it is due; `None` (counted in the report) when
    /// another process holds it, it is gone, unreadable or not yet due.
    fn take(&self, dir: PathBuf, now: f64, report: &mut FlushReport) -> Result<Option<Taken>, OutboxError> {
        let Some(mut lock) = self.lock(&dir) else {
            report.busy += 1;
            return Ok(None);
        };
        let state = match read_state(&dir) {
            Ok(s) => s,
            Err(OutboxError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => return Ok(None),
            // One bad entry must not hold up the others; `status` shows it.
            Err(e) => {
                report.corrupt.push(e.to_string());
                return Ok(None);
            }
        };
        if state.next_try > now {
            report.waiting += 1;
            return Ok(None);
        }
        // The locked descriptor is the message file itself.
        let mut raw = Vec::new();
        io::Read::read_to_end(&mut lock, &mut raw).map_err(io_err(&dir))?;
        let pending: Vec<String> = state
            .recipients
            .iter()
            .filter(|r| r.status == RecipientStatus::Transient)
            .map(|r| r.address.clone())
            .collect();
        let envelope = if pending.is_empty() { None } else { Some(Envelope::new(state.from.clone(), pending)?) };
        Ok(Some(Taken { dir, lock, state, raw, envelope }))
    }

    /// Syncs `queue/`, making the removal of delivered folders durable.
    fn sync_queue(&self) -> Result<(), OutboxError> {
        let queue = self.root.join("queue");
        sync_dir(&queue).map_err(io_err(&queue))
    }

    /// Takes in the outcome of one attempt at a locked message (`result` of sending it to
    /// `envelope`, its pending recipients; none when nothing was pending); leaves its folder
    /// updated, failed or out of `queue/`. When delivered, where its folder went (to be
    /// removed), and `queue/` must be synced.
    fn record(
        &self,
        dir: &Path,
        state: &mut MessageState,
        envelope: Option<&Envelope>,
        result: Option<Result<Receipt, InjectError>>,
    ) -> Result<Option<PathBuf>, OutboxError> {
        if let (Some(envelope), Some(result)) = (envelope, result) {
            let now = now_secs();
            let outcomes = outcomes(envelope, &result);
            state.attempts += 1;
            let too_old = now - state.created > self.policy.max_age.as_secs_f64();
            let mut last_error = None;
            let mut results: HashMap<String, RecipientResult> = HashMap::new();
            for o in outcomes {
                results.entry(super::address_key(&o.address)).or_insert(o);
            }
            for r in state.recipients.iter_mut().filter(|r| r.status == RecipientStatus::Transient) {
                // A recipient the transport said nothing about (a state written before envelopes
                // were deduplicated, a transport that drops one) has failed for now, so that
                // `max_age` ends it like every other transient failure.
                let o = results.get(&super::address_key(&r.address)).cloned().unwrap_or_else(|| {
                    RecipientResult::new(
                        r.address.clone(),
                        RecipientStatus::Transient,
                        "the transport gave no result for this recipient",
                    )
                });
                apply(r, &o, too_old, state.attempts, now);
                if r.status == RecipientStatus::Transient {
                    last_error = Some(format!("{}: {}", r.address, r.text));
                }
            }
            state.last_error = last_error;
            state.next_try = now + self.policy.delay(state.attempts).as_secs_f64();
        }
        if state.recipients.iter().any(|r| r.status == RecipientStatus::Transient) {
            return write_state(dir, state).map(|()| None);
        }
        if state.recipients.iter().any(|r| r.status == RecipientStatus::Permanent) {
            write_state(dir, state)?;
            write_synced(&dir.join(REPORT), dsn(state).as_bytes()).map_err(io_err(dir))?;
            return self.move_to(dir, "failed").map(|()| None);
        }
        // Delivered: out of the queue (atomic); removed by the caller. `queue/` is synced by the
        // caller, once for many.
        let gone = self.root.join("tmp").join(format!("{}.done", state.id));
        fs::rename(dir, &gone).map_err(io_err(dir))?;
        Ok(Some(gone))
    }

    /// Makes queued messages due now, and puts failed ones back in the queue with their failed
    /// recipients pending again (attempts and age start over). `None`: every message.
    /// Returns how many changed.
    pub fn retry(&self, id: Option<&str>) -> Result<usize, OutboxError> {
        let mut n = 0;
        let now = now_secs();
        for dir in self.select(id)? {
            let Some(_lock) = self.lock(&dir) else {
                if id.is_some() {
                    return Err(OutboxError::Busy(name_of(&dir)));
                }
                continue;
            };
            let mut state = read_state(&dir)?;
            state.next_try = now;
            if dir.parent().is_some_and(|p| p.ends_with("failed")) {
                for r in &mut state.recipients {
                    if r.status == RecipientStatus::Permanent {
                        r.status = RecipientStatus::Transient;
                    }
                }
                state.attempts = 0;
                state.created = now;
                write_state(&dir, &state)?;
                let _ = fs::remove_file(dir.join(REPORT));
                self.move_to(&dir, "queue")?;
            } else {
                write_state(&dir, &state)?;
            }
            n += 1;
        }
        if n == 0
            && let Some(id) = id
        {
            return Err(OutboxError::NotFound(id.to_string()));
        }
        Ok(n)
    }

    /// Removes a message, queued or failed, for good.
    pub fn remove(&self, id: &str) -> Result<(), OutboxError> {
        let dirs = self.select(Some(id))?;
        let Some(dir) = dirs.first() else { return Err(OutboxError::NotFound(id.to_string())) };
        let Some(_lock) = self.lock(dir) else { return Err(OutboxError::Busy(id.to_string())) };
        let gone = self.root.join("tmp").join(format!("{id}.dropped"));
        fs::rename(dir, &gone).map_err(io_err(dir))?;
        let _ = fs::remove_dir_all(&gone);
        Ok(())
    }

    /// The earliest time a queued message is due (seconds since the Unix epoch).
    pub fn next_due(&self) -> Result<Option<f64>, OutboxError> {
        let mut next: Option<f64> = None;
        for dir in self.list("queue")? {
            if let Ok(s) = read_state(&dir) {
                next = Some(next.map_or(s.next_try, |n| n.min(s.next_try)));
            }
        }
        Ok(next)
    }

    /// Flushes until `stop` says so, sleeping until the next message is due or `poll` has
    /// passed (messages added by other processes are seen within `poll`). `stop` is asked
    /// before each message too, so a stop finishes the message in hand and returns.
    pub fn watch(
        &self,
        transport: &mut dyn Transport,
        poll: Duration,
        mut on_flush: impl FnMut(&FlushReport),
        stop: impl Fn() -> bool,
    ) -> Result<(), OutboxError> {
        while !stop() {
            let report = self.flush_until(transport, now_secs(), &stop)?;
            if !report.attempted.is_empty() {
                on_flush(&report);
            }
            let now = now_secs();
            let wait = match self.next_due()? {
                Some(t) if t > now => Duration::from_secs_f64((t - now).min(poll.as_secs_f64())),
                Some(_) if report.busy > 0 || !report.attempted.is_empty() => Duration::from_millis(10),
                _ => poll,
            };
            let until = std::time::Instant::now() + wait;
            while std::time::Instant::now() < until && !stop() {
                std::thread::sleep(Duration::from_millis(50).min(wait));
            }
        }
        Ok(())
    }

    fn list(&self, sub: &str) -> Result<Vec<PathBuf>, OutboxError> {
        let p = self.root.join(sub);
        let mut out = Vec::new();
        for e in fs::read_dir(&p).map_err(io_err(&p))? {
            let e = e.map_err(io_err(&p))?;
            let name = e.file_name();
            if name.to_str().is_some_and(valid_id) {
                out.push(e.path());
            }
        }
        Ok(out)
    }

    fn select(&self, id: Option<&str>) -> Result<Vec<PathBuf>, OutboxError> {
        if let Some(id) = id {
            if !valid_id(id) {
                return Err(OutboxError::NotFound(id.to_string()));
            }
            return Ok(["queue", "failed"].iter().map(|s| self.root.join(s).join(id)).filter(|p| p.is_dir()).collect());
        }
        let mut all = self.list("queue")?;
        all.extend(self.list("failed")?);
        Ok(all)
    }

    /// An exclusive lock on a message, if no one else holds it and it is still where it was.
    fn lock(&self, dir: &Path) -> Option<File> {
        use rustix::fs::{FlockOperation, flock};
        let path = dir.join(MESSAGE);
        let f = File::open(&path).ok()?;
        flock(&f, FlockOperation::NonBlockingLockExclusive).ok()?;
        // Another process may have finished with it and moved it between our open and lock.
        let (a, b) = (f.metadata().ok()?, fs::metadata(&path).ok()?);
        use std::os::unix::fs::MetadataExt;
        (a.ino() == b.ino() && a.dev() == b.dev()).then_some(f)
    }

    fn is_locked(&self, dir: &Path) -> bool {
        use rustix::fs::{FlockOperation, flock};
        match File::open(dir.join(MESSAGE)) {
            Ok(f) => flock(&f, FlockOperation::NonBlockingLockShared).is_err(),
            Err(_) => false,
        }
    }

    fn move_to(&self, dir: &Path, sub: &str) -> Result<(), OutboxError> {
        let dest = self.root.join(sub).join(name_of(dir));
        fs::rename(dir, &dest).map_err(io_err(dir))?;
        sync_dir(&self.root.join(sub)).map_err(io_err(&dest))?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent).map_err(io_err(parent))?;
        }
        Ok(())
    }

    /// Removes what adds and deliveries left in `tmp/` when they were killed (an hour old).
    fn clean_tmp(&self) {
        let Ok(entries) = fs::read_dir(self.root.join("tmp")) else { return };
        for e in entries.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(3600));
            let finished = e.file_name().to_str().is_some_and(|n| n.ends_with(".done") || n.ends_with(".dropped"));
            if old || finished {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Removes a delivered message's folder: what a queued folder holds by name, anything else by
/// the slower walk.
fn remove_delivered(dir: &Path) {
    for f in [STATE, MESSAGE] {
        let _ = fs::remove_file(dir.join(f));
    }
    if fs::remove_dir(dir).is_err() {
        let _ = fs::remove_dir_all(dir);
    }
}

/// A queued recipient's new state after an attempt that answered `o` for it: that answer, except
/// that a transient one after `max_age` ends the recipient (RFC 3463 4.4.7: delivery time expired).
fn apply(r: &mut RecipientResult, o: &RecipientResult, too_old: bool, attempts: u32, now: f64) {
    *r = RecipientResult { address: std::mem::take(&mut r.address), at: Some(now), ..o.clone() };
    if o.status == RecipientStatus::Transient && too_old {
        r.status = RecipientStatus::Permanent;
        r.enhanced_code.get_or_insert_with(|| "4.4.7".into());
        r.text = format!("gave up after {attempts} attempts: {}", o.text);
    }
}

/// Each recipient's outcome of one send, whatever the transport and however it failed.
fn outcomes(envelope: &Envelope, result: &Result<Receipt, InjectError>) -> Vec<RecipientResult> {
    match result {
        Ok(receipt) => receipt.recipients.clone(),
        #[cfg(feature = "smtp")]
        Err(InjectError::Smtp(super::SmtpError::AllRecipientsRefused { recipients }))
        | Err(InjectError::Mx(super::MxError::Undelivered { recipients })) => recipients.clone(),
        Err(e) => {
            let status = if e.is_transient() { RecipientStatus::Transient } else { RecipientStatus::Permanent };
            #[cfg(feature = "smtp")]
            let (code, enhanced_code) = match e {
                InjectError::Smtp(s) => (s.code(), s.enhanced_code().map(str::to_string)),
                _ => (None, None),
            };
            #[cfg(not(feature = "smtp"))]
            let (code, enhanced_code) = (None, None);
            envelope
                .to()
                .iter()
                .map(|a| RecipientResult {
                    code,
                    enhanced_code: enhanced_code.clone(),
                    ..RecipientResult::new(a.clone(), status, e.to_string())
                })
                .collect()
        }
    }
}

/// The delivery-status report of a failed message: RFC 3464 per-recipient fields.
fn dsn(state: &MessageState) -> String {
    let date = |t: f64| mail_builder::headers::date::Date::new(t as i64).to_rfc822();
    let mut out = format!(
        "Reporting-MTA: dns; mailwright\nOriginal-Envelope-Id: {}\nArrival-Date: {}\nAttempts: {}\n",
        state.id,
        date(state.created),
        state.attempts
    );
    for r in &state.recipients {
        let (action, default_status) = match r.status {
            RecipientStatus::Accepted => ("delivered", "2.0.0"),
            RecipientStatus::Permanent => ("failed", "5.0.0"),
            RecipientStatus::Transient => ("delayed", "4.0.0"),
        };
        out.push_str(&format!(
            "\nFinal-Recipient: rfc822; {}\nAction: {action}\nStatus: {}\n",
            r.address,
            r.enhanced_code.as_deref().unwrap_or(default_status)
        ));
        if let Some(h) = &r.host {
            out.push_str(&format!("Remote-MTA: dns; {h}\n"));
        }
        if !r.text.is_empty() {
            let text: String = r.text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            match r.code {
                Some(code) => out.push_str(&format!("Diagnostic-Code: smtp; {code} {text}\n")),
                None => out.push_str(&format!("Diagnostic-Code: X-mailwright; {text}\n")),
            }
        }
        if let Some(t) = r.at {
            out.push_str(&format!("Last-Attempt-Date: {}\n", date(t)));
        }
    }
    out
}

/// What `status` shows for an entry whose state cannot be read.
fn placeholder(dir: &Path, why: String) -> MessageState {
    let created = fs::metadata(dir)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64());
    MessageState {
        id: name_of(dir),
        from: String::new(),
        recipients: Vec::new(),
        created,
        attempts: 0,
        next_try: f64::MAX,
        last_error: Some(why),
        size: fs::metadata(dir.join(MESSAGE)).map_or(0, |m| m.len()),
    }
}

fn new_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let n = now_nanos();
    format!(
        "{:013x}-{:05x}-{:04x}-{:08x}",
        n / 1_000_000,
        std::process::id() & 0xfffff,
        SEQ.fetch_add(1, Ordering::Relaxed) & 0xffff,
        (unit_random() * f64::from(u32::MAX)) as u32
    )
}

/// Ids are what [`new_id`] makes: hex digits and dashes, so no id can name another folder.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

fn name_of(dir: &Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn state_bytes(state: &MessageState) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(state).unwrap_or_default();
    v.push(b'\n');
    v
}

fn read_state(dir: &Path) -> Result<MessageState, OutboxError> {
    let p = dir.join(STATE);
    let bytes = fs::read(&p).map_err(io_err(&p))?;
    serde_json::from_slice(&bytes).map_err(|e| OutboxError::Corrupt { path: p, detail: e.to_string() })
}

/// Replaces `state.json` atomically: a synced new file renamed over the old one.
fn write_state(dir: &Path, state: &MessageState) -> Result<(), OutboxError> {
    replace_synced(&dir.join(STATE), &state_bytes(state)).map_err(io_err(dir))
}

/// Queueing as a transport: the message is durable the moment `send_raw` returns; the receipt
/// holds its queue id and no recipient results (those come from [`Outbox::flush`]).
impl Transport for Outbox {
    fn send_raw(&mut self, envelope: &Envelope, raw: &[u8]) -> Result<Receipt, InjectError> {
        let id = self.add(envelope, raw).map_err(|e| match e {
            OutboxError::Inject(e) => e,
            e => InjectError::Outbox(Box::new(e)),
        })?;
        Ok(Receipt {
            transport: "outbox",
            destination: self.path().display().to_string(),
            queue_id: Some(id),
            recipients: Vec::new(),
            peer: None,
            tls: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_ceiling() {
        let p = RetryPolicy {
            first_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(100),
            max_age: Duration::from_secs(1000),
            jitter: 0.2,
        };
        for (attempt, base) in [(1u32, 10.0f64), (2, 20.0), (3, 40.0), (4, 80.0), (5, 100.0), (60, 100.0)] {
            let mut seen = Vec::new();
            for _ in 0..50 {
                let d = p.delay(attempt).as_secs_f64();
                assert!(d >= base * 0.8 - 1e-9 && d <= base * 1.2 + 1e-9, "{attempt}: {d}");
                seen.push(d);
            }
            seen.dedup();
            assert!(seen.len() > 1, "jitter varies the delay");
        }
    }

    #[test]
    fn ids_are_unique_and_safe() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|i| valid_id(i)));
        for bad in ["", "..", "../x", "a/b", "queue", "x.done"] {
            assert!(!valid_id(bad), "{bad}");
        }
    }

    /// Takes batches, answering all but the last message of each.
    struct ShortAnswers(Vec<usize>);

    impl Transport for ShortAnswers {
        fn send_raw(&mut self, _: &Envelope, _: &[u8]) -> Result<Receipt, InjectError> {
            unreachable!("flushes hand over batches")
        }
        fn send_many(&mut self, items: &[(Envelope, &[u8])]) -> Vec<Result<Receipt, InjectError>> {
            self.0.push(items.len());
            let accept = |e: &Envelope| {
                let recipients =
                    e.to().iter().map(|a| RecipientResult::new(a.clone(), RecipientStatus::Accepted, "ok"));
                Ok(Receipt {
                    transport: "test",
                    destination: String::new(),
                    queue_id: None,
                    recipients: recipients.collect(),
                    peer: None,
                    tls: None,
                })
            };
            items[..items.len() - 1].iter().map(|(e, _)| accept(e)).collect()
        }
    }

    #[test]
    fn batches_are_bounded_and_a_missing_answer_leaves_the_message_queued() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = Outbox::open(dir.path().join("out")).expect("outbox");
        for i in 0..40 {
            let env = Envelope::new("a@example.test", [format!("r{i}@example.test")]).expect("envelope");
            outbox.add(&env, format!("Subject: {i}\r\n\r\nx\r\n").as_bytes()).expect("add");
        }
        let mut t = ShortAnswers(Vec::new());
        let r = outbox.flush(&mut t).expect("flush");
        assert_eq!(t.0, vec![16, 16, 8]);
        assert_eq!((r.delivered, r.deferred), (37, 3));
        let left = outbox.status().expect("status");
        assert_eq!(left.len(), 3);
        assert!(left.iter().all(|e| e.message.last_error.as_deref().is_some_and(|m| m.contains("no result"))));
    }
}
