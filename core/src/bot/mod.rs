//! A mailbot that handles every message once.
//!
//! The source is a Maildir (optionally filled from IMAP by [`crate::fetch`] before each cycle).
//! Each message goes through **claim → act → commit**:
//!
//! 1. *claim*: the file is renamed into the source's `.mailwright-processing` folder — a rename,
//!    so two bots cannot both take it, and a message is never in two places;
//! 2. *act*: the first matching rules' actions run in order; outputs are keyed by the message's
//!    SHA-256 (`dir/<hash>/…`, written under a temporary name and renamed), so doing them again
//!    after a crash gives the same result;
//! 3. *commit*: once every action succeeded, a line is appended to the ledger (`ledger.jsonl`
//!    in the state folder, fsynced), then the message moves to the done folder (or where a `move`
//!    action says, with the flags a `flag` action sets).
//!
//! A crash leaves the message in the processing folder; the next run (one bot per state
//! folder, held by a lock) handles it again — or, when the ledger already has its hash, only
//! finishes the commit. A message whose actions fail moves to the quarantine folder with the
//! reason in `quarantine/<file>.json`; it is never silently dropped. Every message and every
//! action is one JSON line in the log.

mod actions;
mod ledger;
pub mod rules;
mod transport;
mod wake;

/// How often `Bot::watch` looks at a Maildir it gets change notifications for, in case one was
/// missed (an NFS share, a full event queue).
pub const WATCH_RESCAN: Duration = Duration::from_secs(30);

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::Limits;
use crate::dissect::sha256_hex;
use crate::mailbox::{Maildir, MaildirEntry};
use crate::parse::{Message, ParseError, Part, SharedMessage};
pub use actions::{ActionError, CHILD_ENV, child_keeps, shell_quote};
use actions::{Failed, expand, kind, planned_files};
use ledger::Ledger;
pub use rules::{Action, Rule, Rules, RulesError};

/// What can stop the bot as a whole (a failing action only quarantines its message).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BotError {
    /// The rules file.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// Another bot works on this state folder.
    #[error("another bot is running with state folder {0}; stop it first")]
    Busy(PathBuf),
    /// Another bot (whatever its state folder) works on this Maildir.
    #[error(
        "another bot is working on Maildir {0}; stop it first (two bots on one Maildir would both act on one message)"
    )]
    MaildirBusy(PathBuf),
    /// The state folder or the ledger could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The source Maildir could not be read or a message could not be moved.
    #[error(transparent)]
    Mailbox(#[from] crate::mailbox::MailboxError),
    /// Fetching from IMAP failed.
    #[cfg(feature = "smtp")]
    #[error(transparent)]
    Fetch(#[from] crate::fetch::FetchError),
    /// The IMAP or SMTP password could not be read.
    #[cfg(feature = "smtp")]
    #[error(transparent)]
    Secret(#[from] crate::secret::SecretError),
    /// The `[transport]` section gives no usable transport.
    #[cfg(feature = "smtp")]
    #[error("[transport]: {0}")]
    Transport(#[from] crate::inject::DestinationError),
    /// The rules ask for what this build leaves out (SMTP and IMAP need the `smtp` feature).
    #[error("{0} needs a build with the `smtp` feature")]
    Unsupported(&'static str),
    /// The `[transport]` outbox could not be opened.
    #[error("[transport]: {0}")]
    Outbox(#[from] crate::inject::OutboxError),
    /// The sender checks (`authenticated` conditions) could not be set up.
    #[cfg(feature = "smtp")]
    #[error("[bot] sender checks: {0}")]
    Auth(#[from] crate::auth::AuthError),
}

impl BotError {
    /// Whether running again later may work: another bot holds a lock, the IMAP server did not
    /// answer, the disk was full.
    pub fn is_transient(&self) -> bool {
        match self {
            BotError::Busy(_) | BotError::MaildirBusy(_) => true,
            BotError::Mailbox(e) => e.is_transient(),
            #[cfg(feature = "smtp")]
            BotError::Fetch(e) => e.is_transient(),
            BotError::Outbox(e) => e.is_transient(),
            BotError::Io { source, .. } => crate::error::io_is_transient(source),
            _ => false,
        }
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> BotError + '_ {
    move |source| BotError::Io { path: path.to_path_buf(), source }
}

/// What a `call` handler returns when it fails: any error; its text becomes the quarantine
/// reason.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// What a `call` action hands its handler.
#[derive(Debug)]
pub struct Call<'a> {
    /// The handler's name in the rule.
    pub handler: &'a str,
    /// The message, parsed once for this cycle (clone the `Arc` to keep it).
    pub message: &'a Arc<SharedMessage>,
    /// The MIME paths of the attachments the rule selected (`2`, `3.1`…).
    pub attachments: &'a [String],
    /// The claimed message's file.
    pub file: &'a Path,
}

type Handler = dyn FnMut(&Call<'_>) -> Result<(), HandlerError> + Send;

/// What one cycle did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RunReport {
    /// Messages handled (all actions done, ledger written).
    pub handled: usize,
    /// Of those, messages no rule matched.
    pub unmatched: usize,
    /// Messages found already in the ledger (a crash after commit): only moved.
    pub already: usize,
    /// Messages moved to quarantine.
    pub quarantined: usize,
    /// Messages left claimed to be tried again next cycle (a program timed out).
    pub retrying: usize,
}

const PROCESSING: &str = "mailwright-processing";

/// The lock file in the source Maildir: one bot per Maildir, whatever the state folders.
pub const MAILDIR_LOCK: &str = "mailwright-bot.lock";

/// One claimed message as a cycle sees it: read once, hashed, parsed once; actions, commit and
/// handlers all use this parse.
pub(crate) struct Claimed<'a> {
    entry: &'a MaildirEntry,
    hash: &'a str,
    shared: Result<Arc<SharedMessage>, ParseError>,
}

impl Claimed<'_> {
    fn message(&self) -> Option<&Message<'_>> {
        self.shared.as_ref().ok().map(|s| s.message())
    }
}

/// Parses a claimed message's bytes (counted in tests: one parse per message per cycle).
fn parse_claimed(raw: Bytes) -> Result<Arc<SharedMessage>, ParseError> {
    #[cfg(test)]
    tests::PARSES.with(|n| n.set(n.get() + 1));
    SharedMessage::new(raw, &Limits::default()).map(Arc::new)
}

/// The bot: rules, a source Maildir, a state folder with ledger and lock.
pub struct Bot {
    rules: Rules,
    source: Maildir,
    state: PathBuf,
    ledger: Ledger,
    dry_run: bool,
    sender: transport::Sender,
    log: Box<dyn FnMut(&Value) + Send>,
    call: Option<Box<Handler>>,
    #[cfg(feature = "smtp")]
    fetcher: Option<crate::fetch::Fetcher>,
    /// The bot's own sender checks, when a rule asks and no server is trusted.
    #[cfg(feature = "smtp")]
    verifier: Option<crate::auth::Verifier>,
    _lock: File,
    _maildir_lock: File,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot").field("source", &self.source.path()).field("state", &self.state).finish()
    }
}

/// The verifier of the bot's own sender checks: `[bot] resolver` and `dns_records`.
#[cfg(feature = "smtp")]
fn own_verifier(settings: &rules::Settings) -> Result<crate::auth::Verifier, BotError> {
    let options = crate::auth::CheckOptions {
        resolvers: settings.resolver.clone(),
        records: settings.dns_records.clone(),
        ..Default::default()
    };
    Ok(options.verifier()?)
}

impl Bot {
    /// A bot for `rules`; takes the state folder's lock and the source Maildir's
    /// ([`MAILDIR_LOCK`]): an error when another bot has either.
    /// With `dry_run` nothing is claimed, written, run or sent: the log says what would happen.
    pub fn new(rules: Rules, dry_run: bool) -> Result<Bot, BotError> {
        let state = rules.bot.state.clone().unwrap_or_else(|| PathBuf::from(".mailwright-bot"));
        crate::files::create_private_dir_all(&state.join("quarantine")).map_err(io_at(&state))?;
        let lock = try_lock(&state.join("lock"))?.ok_or_else(|| BotError::Busy(state.clone()))?;
        let source = Maildir::create(&rules.source.maildir)?;
        let maildir_lock = try_lock(&source.path().join(MAILDIR_LOCK))?
            .ok_or_else(|| BotError::MaildirBusy(source.path().to_path_buf()))?;
        let ledger = Ledger::open(&state.join("ledger.jsonl"), !dry_run)?;
        let sender = transport::Sender::new(rules.transport.as_ref(), dry_run)?;
        #[cfg(feature = "smtp")]
        let verifier = match rules.need_authentication() && rules.bot.trust_authserv.is_none() {
            true => Some(own_verifier(&rules.bot)?),
            false => None,
        };
        #[cfg(not(feature = "smtp"))]
        if rules.need_authentication() && rules.bot.trust_authserv.is_none() {
            return Err(BotError::Unsupported("checking senders (`authenticated`)"));
        }
        Ok(Bot {
            rules,
            source,
            state,
            ledger,
            dry_run,
            sender,
            log: Box::new(|v| println!("{v}")),
            call: None,
            #[cfg(feature = "smtp")]
            fetcher: None,
            #[cfg(feature = "smtp")]
            verifier,
            _lock: lock,
            _maildir_lock: maildir_lock,
        })
    }

    /// Sends the log lines (one JSON object per message and per action) here instead of stdout.
    pub fn on_log(mut self, log: impl FnMut(&Value) + Send + 'static) -> Self {
        self.log = Box::new(log);
        self
    }

    /// Runs `call` actions: the handler gets a [`Call`] (its name, the message as parsed for
    /// this cycle, the selected attachments' paths). An `Err` quarantines the message with its
    /// text.
    pub fn on_call(mut self, handler: impl FnMut(&Call<'_>) -> Result<(), HandlerError> + Send + 'static) -> Self {
        self.call = Some(Box::new(handler));
        self
    }

    /// How many messages the ledger holds.
    pub fn ledger_len(&self) -> usize {
        self.ledger.len()
    }

    /// Syncs from IMAP when the rules name an account, then handles every message in the source
    /// and in the Maildir++ folders the other IMAP folders sync into (in each, first the ones a
    /// crash or a timeout left claimed).
    pub fn run_once(&mut self) -> Result<RunReport, BotError> {
        self.run_until(&|| false)
    }

    /// [`Bot::run_once`] that ends early once `stop` says so, asked before each message: the
    /// message in hand is finished and committed, the rest wait for the next cycle.
    pub fn run_until(&mut self, stop: &dyn Fn() -> bool) -> Result<RunReport, BotError> {
        #[cfg(feature = "smtp")]
        if !self.rules.source.imap.is_empty() && !self.dry_run {
            self.fetch(stop)?;
        }
        let mut report = RunReport::default();
        for home in self.homes()? {
            if stop() {
                break;
            }
            self.run_folder(&home, &mut report, stop)?;
        }
        Ok(report)
    }

    /// The Maildirs messages come from: the source, and with an IMAP source the folder each
    /// other synced IMAP folder goes into.
    fn homes(&self) -> Result<Vec<Maildir>, BotError> {
        #[cfg_attr(not(feature = "smtp"), allow(unused_mut))]
        let mut homes = vec![self.source.clone()];
        #[cfg(feature = "smtp")]
        if !self.rules.source.imap.is_empty() {
            for folder in &self.rules.source.folders {
                if let Some(local) = crate::fetch::local_folder(folder) {
                    homes.push(self.source.folder(&local)?);
                }
            }
        }
        Ok(homes)
    }

    fn run_folder(&mut self, home: &Maildir, report: &mut RunReport, stop: &dyn Fn() -> bool) -> Result<(), BotError> {
        let processing = home.folder(PROCESSING)?;
        // Left claimed by a run that died, or by a program that timed out: handle them again,
        // counting the tries.
        let leftovers: Vec<MaildirEntry> = entries(&processing)?;
        for e in leftovers {
            if stop() {
                return Ok(());
            }
            self.handle(home, &processing, e, true, report)?;
        }
        for e in entries(home)? {
            if stop() {
                return Ok(());
            }
            if self.dry_run {
                self.preview(&e)?;
                continue;
            }
            // Kept in the source after an earlier commit (done = ""): seen and in the ledger.
            // Seen alone proves nothing (a mail client marks what it shows), so the ledger decides.
            if e.has_flag('S') && self.rules.bot.done.is_empty() && self.is_handled(&e)? {
                continue;
            }
            let claimed = match home.move_to(&e, &processing) {
                Ok(c) => c,
                Err(err) if err.is_not_found() => continue,
                Err(err) => return Err(err.into()),
            };
            self.handle(home, &processing, claimed, false, report)?;
        }
        Ok(())
    }

    /// Whether the ledger has this message: by its id, else by its content.
    fn is_handled(&mut self, e: &MaildirEntry) -> Result<bool, BotError> {
        if self.ledger.knows_id(&e.id) {
            return Ok(true);
        }
        let raw = match std::fs::read(&e.path) {
            Ok(r) => r,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(true),
            Err(err) => return Err(BotError::Io { path: e.path.clone(), source: err }),
        };
        let known = self.ledger.contains(&sha256_hex(&raw));
        if known {
            self.ledger.learn_id(&e.id);
        }
        Ok(known)
    }

    /// Runs cycles until `stop` says so (asked before each message too, so a stop finishes the
    /// message in hand and returns). Between cycles the bot waits for mail: with an IMAP
    /// source an IDLE on the first folder, at most `interval`; on a local Maildir a change
    /// notification (inotify on Linux) for a new file, and a look every [`WATCH_RESCAN`] (or
    /// `interval`, if longer) in case one was missed; where notifications are not available, a
    /// look every `interval`.
    pub fn watch(&mut self, interval: Duration, stop: impl Fn() -> bool) -> Result<(), BotError> {
        let waker = wake::Waker::new(self.source.path());
        while !stop() {
            self.run_until(&stop)?;
            if stop() {
                break;
            }
            #[cfg(feature = "smtp")]
            if let Some(f) = self.fetcher.as_mut() {
                let folder = self.rules.source.folders.first().cloned().unwrap_or_else(|| "INBOX".into());
                if f.idle_until(&folder, interval.max(Duration::from_secs(1)), &stop).is_err() {
                    // The next cycle logs in again.
                    self.fetcher = None;
                }
                continue;
            }
            match &waker {
                Some(w) => {
                    w.wait(interval.max(WATCH_RESCAN), &stop);
                }
                None => {
                    let until = Instant::now() + interval;
                    while Instant::now() < until && !stop() {
                        std::thread::sleep(Duration::from_millis(50).min(interval));
                    }
                }
            }
        }
        Ok(())
    }

    #[cfg(feature = "smtp")]
    fn fetch(&mut self, stop: &dyn Fn() -> bool) -> Result<(), BotError> {
        use crate::fetch::Fetcher;
        let s = &self.rules.source;
        // The rules' check makes sure an IMAP source names its user.
        let (false, Some(user)) = (s.imap.is_empty(), &s.user) else { return Ok(()) };
        let folders = if s.folders.is_empty() { vec!["INBOX".to_string()] } else { s.folders.clone() };
        if self.fetcher.is_none() {
            let tokens = s.oauth2_token_file.is_some() || s.oauth2_token_command.is_some();
            let options = crate::fetch::SyncOptions {
                servers: s.imap.clone(),
                user: user.clone(),
                password: if tokens { None } else { Some(crate::secret::read_secret(s.password_file.as_deref())?) },
                ca_file: s.ca_file.clone(),
                auth_plain: s.auth_plain,
                connect_timeout: s.connect_timeout.map(|secs| secs.max(1) as f64),
                oauth2_token_file: s.oauth2_token_file.clone(),
                oauth2_token_command: s.oauth2_token_command.clone(),
                oauth2_mechanism: s.oauth2_mechanism.clone(),
                flags: s.flags.clone(),
                expunge: s.expunge,
                ..Default::default()
            };
            self.fetcher = Some(Fetcher::connect_any(options.configs()?, self.source.path())?);
        }
        for folder in folders {
            let Some(f) = self.fetcher.as_mut() else { break };
            let r = match f.sync_folder_until(&folder, |_| {}, stop) {
                Ok(r) => r,
                Err(e) => {
                    self.fetcher = None;
                    return Err(e.into());
                }
            };
            (self.log)(&json!({
                "event": "fetch", "folder": r.folder, "fetched": r.fetched, "skipped": r.skipped, "server": r.server,
                "flags": r.flags,
            }));
        }
        Ok(())
    }

    /// Dry run: what would happen to one message.
    fn preview(&mut self, e: &MaildirEntry) -> Result<(), BotError> {
        let raw = Bytes::from(std::fs::read(&e.path).map_err(io_at(&e.path))?);
        let hash = sha256_hex(&raw);
        let mut line = json!({"event": "message", "file": e.path, "hash": hash, "dry_run": true});
        let Ok(shared) = parse_claimed(raw) else {
            line["outcome"] = "would quarantine".into();
            (self.log)(&line);
            return Ok(());
        };
        let msg = shared.message();
        line["subject"] = msg.subject().unwrap_or_default().into();
        line["already_handled"] = self.ledger.contains(&hash).into();
        (self.log)(&line);
        let matching = match self.matching(msg, &mut None) {
            Ok(m) => m,
            Err(reason) => {
                line["outcome"] = "would retry".into();
                line["reason"] = reason.into();
                (self.log)(&line);
                return Ok(());
            }
        };
        for (rule, attachments) in matching {
            let files = planned_files(msg, &attachments);
            for a in &rule.actions {
                let mut line = json!({"event": "action", "rule": rule.name, "action": kind(a), "dry_run": true});
                if let Action::Run { command } | Action::Print { command } = a {
                    match expand(command, &files, msg, &e.path, &hash, None) {
                        Ok(c) => line["commands"] = json!(c),
                        Err(reason) => {
                            line["outcome"] = "would quarantine".into();
                            line["reason"] = reason.to_string().into();
                        }
                    }
                } else {
                    line["commands"] = json!([]);
                }
                (self.log)(&line);
            }
        }
        Ok(())
    }

    /// The rules that match `msg`, with the attachments each selects. `Err` (try again later)
    /// when a rule asks who sent the message and DNS could not say now.
    #[allow(clippy::type_complexity)]
    /// `sender` keeps the sender's check (its authenticated domain or none) once it was made.
    fn matching<'m, 'a>(
        &self,
        msg: &'m Message<'a>,
        sender: &mut Option<Option<String>>,
    ) -> Result<Vec<(Rule, Vec<&'m Part<'a>>)>, String> {
        let mut out = Vec::new();
        for r in &self.rules.rules {
            let Some(a) = r.matches(msg) else { continue };
            if r.needs_authentication() {
                if sender.is_none() {
                    *sender = Some(self.authenticated_domain(msg)?);
                }
                if !r.authentication_matches(sender.as_ref().and_then(|d| d.as_deref())) {
                    continue;
                }
            }
            out.push((r.clone(), a));
            if r.stop {
                break;
            }
        }
        Ok(out)
    }

    /// The sender's authenticated domain: the trusted server's word when `trust_authserv` is
    /// set, else the bot's own DKIM/DMARC check. `Err` when DNS gave no answer now.
    #[cfg(feature = "smtp")]
    fn authenticated_domain(&self, msg: &Message<'_>) -> Result<Option<String>, String> {
        if let Some(id) = &self.rules.bot.trust_authserv {
            let [from] = msg.from() else { return Ok(None) };
            let domain = from.address.as_deref().and_then(|a| a.rsplit_once('@')).map(|(_, d)| d.to_ascii_lowercase());
            let trusted = crate::auth::results::trusted(crate::auth::results::of_message(msg), id);
            return Ok(trusted.authenticated_domain(domain.as_deref()).map(str::to_string));
        }
        let Some(v) = &self.verifier else { return Ok(None) };
        let client =
            self.rules.bot.trust_received.as_deref().and_then(|h| crate::auth::client_from_received(msg.raw(), h));
        match v.verify(msg.raw(), client.as_ref()) {
            Ok(r) if r.authenticated_domain().is_none() && r.is_temporary() => {
                Err("the sender could not be checked now (DNS did not answer); trying again later".into())
            }
            Ok(r) => Ok(r.authenticated_domain().map(str::to_string)),
            Err(_) => Ok(None),
        }
    }

    #[cfg(not(feature = "smtp"))]
    fn authenticated_domain(&self, _: &Message<'_>) -> Result<Option<String>, String> {
        Ok(None)
    }

    /// Act and commit one claimed message; a failure quarantines it, a timeout leaves it
    /// claimed for the next cycle. A leftover (a message a crash or a timeout left claimed) is
    /// tried at most `retries` more times, then quarantined: a message that kills the bot
    /// cannot keep it in a crash loop.
    fn handle(
        &mut self,
        home: &Maildir,
        processing: &Maildir,
        e: MaildirEntry,
        leftover: bool,
        report: &mut RunReport,
    ) -> Result<(), BotError> {
        let started = Instant::now();
        let raw = Bytes::from(std::fs::read(&e.path).map_err(io_at(&e.path))?);
        let hash = sha256_hex(&raw);
        if self.ledger.contains(&hash) {
            self.finish(home, processing, &e, &[])?;
            self.forget_tries(&hash);
            report.already += 1;
            (self.log)(&json!({"event": "message", "file": e.id, "hash": hash, "outcome": "already handled"}));
            return Ok(());
        }
        if leftover {
            let tries = self.count_try(&hash)?;
            if tries > self.rules.bot.retries + 1 {
                let reason = format!(
                    "tried {} times without finishing (the bot died or a program timed out each time); not tried again",
                    tries - 1
                );
                return self.quarantined(processing, &e, &hash, &reason, report);
            }
        }
        let claimed = Claimed { entry: &e, hash: &hash, shared: parse_claimed(raw) };
        match self.act(&claimed) {
            Ok(acted) => {
                self.ledger.record(&hash, &e.id, claimed.message(), &acted.rules, &acted.actions)?;
                self.finish(home, processing, &e, &acted.finals)?;
                self.forget_tries(&hash);
                report.handled += 1;
                if acted.rules.is_empty() {
                    report.unmatched += 1;
                }
                (self.log)(&json!({
                    "event": "message", "file": e.id, "hash": hash, "outcome": "handled",
                    "rules": acted.rules, "ms": started.elapsed().as_millis() as u64,
                }));
            }
            Err(Failed { reason, retry: true }) => {
                // Left claimed: the next cycle tries again, as many times as `retries` allows.
                report.retrying += 1;
                (self.log)(
                    &json!({"event": "message", "file": e.id, "hash": hash, "outcome": "will retry", "reason": reason}),
                );
            }
            Err(Failed { reason, retry: false }) => self.quarantined(processing, &e, &hash, &reason, report)?,
        }
        Ok(())
    }

    fn quarantined(
        &mut self,
        processing: &Maildir,
        e: &MaildirEntry,
        hash: &str,
        reason: &str,
        report: &mut RunReport,
    ) -> Result<(), BotError> {
        self.quarantine(processing, e, hash, reason)?;
        self.forget_tries(hash);
        report.quarantined += 1;
        (self.log)(
            &json!({"event": "message", "file": e.id, "hash": hash, "outcome": "quarantined", "reason": reason}),
        );
        Ok(())
    }

    /// Counts one more try of a message and returns how many there were, this one included
    /// (`state/tries/<hash>`, synced before the try). A leftover without a count was tried once.
    fn count_try(&self, hash: &str) -> Result<u32, BotError> {
        let dir = self.state.join("tries");
        let path = dir.join(hash);
        let before = match std::fs::read_to_string(&path) {
            Ok(t) => t.trim().parse::<u32>().unwrap_or(1),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 1,
            Err(e) => return Err(BotError::Io { path, source: e }),
        };
        crate::files::create_private_dir_all(&dir).map_err(io_at(&dir))?;
        let now = before.saturating_add(1);
        crate::files::replace_synced(&path, now.to_string().as_bytes()).map_err(io_at(&path))?;
        Ok(now)
    }

    fn forget_tries(&self, hash: &str) {
        let _ = std::fs::remove_file(self.state.join("tries").join(hash));
    }

    /// Out of the processing folder: where a `move` action says, else the done folder (or the
    /// source's `cur/`, seen, when no done folder is set), with the flags asked for.
    fn finish(
        &self,
        home: &Maildir,
        processing: &Maildir,
        e: &MaildirEntry,
        finals: &[Action],
    ) -> Result<(), BotError> {
        let mut flags = String::from("S");
        let mut target: Option<String> = (!self.rules.bot.done.is_empty()).then(|| self.rules.bot.done.clone());
        for a in finals {
            match a {
                Action::Move { folder } => target = Some(folder.clone()),
                Action::Flag { flags: f } => flags.push_str(f),
                _ => {}
            }
        }
        let dest = match &target {
            Some(folder) => self.source.folder(folder)?,
            None => home.clone(),
        };
        let flagged = processing.set_flags(e, &format!("{}{flags}", e.flags))?;
        processing.move_to(&flagged, &dest)?;
        Ok(())
    }

    fn quarantine(&self, processing: &Maildir, e: &MaildirEntry, hash: &str, reason: &str) -> Result<(), BotError> {
        let q = self.source.folder(&self.rules.bot.quarantine)?;
        let why = self.state.join("quarantine").join(format!("{}.json", e.id));
        let text = json!({"file": e.id, "hash": hash, "reason": reason, "folder": q.path()});
        crate::files::write_synced(&why, format!("{text:#}\n").as_bytes()).map_err(io_at(&why))?;
        processing.move_to(e, &q)?;
        Ok(())
    }
}

fn entries(md: &Maildir) -> Result<Vec<MaildirEntry>, BotError> {
    let mut v: Vec<MaildirEntry> = md.entries()?.collect::<Result<_, _>>()?;
    v.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(v)
}

/// Opens `path` (created 0600) and takes its exclusive lock; `None` when another process has it.
fn try_lock(path: &Path) -> Result<Option<File>, BotError> {
    let f = crate::files::private_file().create(true).truncate(false).write(true).open(path).map_err(io_at(path))?;
    #[cfg(unix)]
    if rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        return Ok(None);
    }
    Ok(Some(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Parses of claimed messages on this thread.
        pub(super) static PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    #[test]
    fn one_parse_per_message_per_cycle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = "[source]\nmaildir = \"Maildir\"\n[transport]\nfrom = \"bot@example.org\"\noutbox = \"out\"\n\
                    [[rule]]\nname = \"all\"\n[[rule.action]]\ntype = \"dissect\"\ndir = \"d\"\n\
                    [[rule.action]]\ntype = \"save\"\ndir = \"s\"\n[[rule.action]]\ntype = \"print\"\n\
                    command = [\"lpr\", \"{file}\"]\n[[rule.action]]\ntype = \"reply\"\ntext = \"got {subject}\"\n\
                    [[rule.action]]\ntype = \"call\"\nhandler = \"h\"\n";
        let rules = Rules::from_toml(text, dir.path()).expect("rules");
        let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
        for i in 0..3 {
            let raw = crate::build::MessageBuilder::new()
                .from("a@example.org")
                .to("bot@example.org")
                .subject(format!("m{i}"))
                .text("see the file")
                .attach_bytes("a.pdf", crate::sample::pdf(&format!("p{i}"), 100, i))
                .build()
                .expect("build");
            md.deliver(&raw).expect("deliver");
        }
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = seen.clone();
        let mut bot = Bot::new(rules, false).expect("bot").on_log(|_| {}).on_call(move |c| {
            keep.lock().expect("lock").push(c.message.clone());
            Ok(())
        });
        PARSES.with(|n| n.set(0));
        let report = bot.run_once().expect("run");
        assert_eq!(report.handled, 3, "{report:?}");
        assert_eq!(PARSES.with(|n| n.get()), 3, "one parse per message for all actions, commit and handler");
        // The handler got the parsed message itself.
        let subjects: Vec<String> =
            seen.lock().expect("lock").iter().map(|m| m.message().subject().unwrap_or_default().to_string()).collect();
        assert_eq!(subjects, ["m0", "m1", "m2"]);
    }
}
