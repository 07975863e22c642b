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

pub mod rules;

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::build::MessageBuilder;
use crate::dissect::sandbox::Folder;
use crate::dissect::{DissectOptions, sha256_hex};
use crate::inject::{Envelope, Transport};
use crate::mailbox::{Maildir, MaildirEntry};
use crate::parse::{Message, Part};
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
    /// The source, state or ledger could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// Fetching from IMAP failed.
    #[cfg(feature = "smtp")]
    #[error(transparent)]
    Fetch(#[from] crate::fetch::FetchError),
    /// The reply transport could not be set up.
    #[error("transport: {0}")]
    Transport(String),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> BotError + '_ {
    move |source| BotError::Io { path: path.to_path_buf(), source }
}

/// A `call` action's handler: name, message file, selected attachment paths.
type Handler = dyn FnMut(&str, &[u8], &[String]) -> Result<(), String> + Send;

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

/// The bot: rules, a source Maildir, a state folder with ledger and lock.
pub struct Bot {
    rules: Rules,
    source: Maildir,
    state: PathBuf,
    ledger: HashSet<String>,
    /// Maildir ids of handled messages (as the ledger recorded them): a message kept in the
    /// source after its commit (`done = ""`) is known without reading it again.
    handled_ids: HashSet<String>,
    dry_run: bool,
    transport: Option<Box<dyn Transport + Send>>,
    log: Box<dyn FnMut(&Value) + Send>,
    call: Option<Box<Handler>>,
    #[cfg(feature = "smtp")]
    fetcher: Option<crate::fetch::Fetcher>,
    _lock: File,
    _maildir_lock: File,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot").field("source", &self.source.path()).field("state", &self.state).finish()
    }
}

impl Bot {
    /// A bot for `rules`; takes the state folder's lock and the source Maildir's
    /// ([`MAILDIR_LOCK`]): an error when another bot has either.
    /// With `dry_run` nothing is claimed, written, run or sent: the log says what would happen.
    pub fn new(rules: Rules, dry_run: bool) -> Result<Bot, BotError> {
        let state = rules.bot.state.clone().unwrap_or_else(|| PathBuf::from(".mailwright-bot"));
        crate::util::create_private_dir_all(&state.join("quarantine")).map_err(io_at(&state))?;
        let lock = try_lock(&state.join("lock"))?.ok_or_else(|| BotError::Busy(state.clone()))?;
        let source = Maildir::create(&rules.source.maildir).map_err(io_at(&rules.source.maildir))?;
        let maildir_lock = try_lock(&source.path().join(MAILDIR_LOCK))?
            .ok_or_else(|| BotError::MaildirBusy(source.path().to_path_buf()))?;
        let (ledger, handled_ids) = read_ledger(&state.join("ledger.jsonl"), !dry_run)?;
        let transport = match (&rules.transport, dry_run) {
            (Some(t), false) => Some(make_transport(t)?),
            _ => None,
        };
        Ok(Bot {
            rules,
            source,
            state,
            ledger,
            handled_ids,
            dry_run,
            transport,
            log: Box::new(|v| println!("{v}")),
            call: None,
            #[cfg(feature = "smtp")]
            fetcher: None,
            _lock: lock,
            _maildir_lock: maildir_lock,
        })
    }

    /// Sends the log lines (one JSON object per message and per action) here instead of stdout.
    pub fn on_log(mut self, log: impl FnMut(&Value) + Send + 'static) -> Self {
        self.log = Box::new(log);
        self
    }

    /// Runs `call` actions: the handler's name, the claimed message's bytes (as read for this
    /// cycle) and the paths of the attachments the rule selected (`2`, `3.1`…). An `Err`
    /// quarantines the message with its text.
    pub fn on_call(
        mut self,
        handler: impl FnMut(&str, &[u8], &[String]) -> Result<(), String> + Send + 'static,
    ) -> Self {
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
        #[cfg(feature = "smtp")]
        if self.rules.source.imap.is_some() && !self.dry_run {
            self.fetch()?;
        }
        let mut report = RunReport::default();
        for home in self.homes()? {
            self.run_folder(&home, &mut report)?;
        }
        Ok(report)
    }

    /// The Maildirs messages come from: the source, and with an IMAP source the folder each
    /// other synced IMAP folder goes into.
    fn homes(&self) -> Result<Vec<Maildir>, BotError> {
        let mut homes = vec![self.source.clone()];
        #[cfg(feature = "smtp")]
        if self.rules.source.imap.is_some() {
            for folder in &self.rules.source.folders {
                if let Some(local) = crate::fetch::local_folder(folder) {
                    homes.push(self.source.folder(&local).map_err(io_at(self.source.path()))?);
                }
            }
        }
        Ok(homes)
    }

    fn run_folder(&mut self, home: &Maildir, report: &mut RunReport) -> Result<(), BotError> {
        let processing = home.folder(PROCESSING).map_err(io_at(home.path()))?;
        // Left claimed by a run that died, or by a program that timed out: handle them again,
        // counting the tries.
        let leftovers: Vec<MaildirEntry> = entries(&processing)?;
        for e in leftovers {
            self.handle(home, &processing, e, true, report)?;
        }
        for e in entries(home)? {
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
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(BotError::Io { path: e.path.clone(), source: err }),
            };
            self.handle(home, &processing, claimed, false, report)?;
        }
        Ok(())
    }

    /// Whether the ledger has this message: by its id, else by its content.
    fn is_handled(&mut self, e: &MaildirEntry) -> Result<bool, BotError> {
        if self.handled_ids.contains(&e.id) {
            return Ok(true);
        }
        let raw = match std::fs::read(&e.path) {
            Ok(r) => r,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(true),
            Err(err) => return Err(BotError::Io { path: e.path.clone(), source: err }),
        };
        let known = self.ledger.contains(&sha256_hex(&raw));
        if known {
            self.handled_ids.insert(e.id.clone());
        }
        Ok(known)
    }

    /// Runs cycles until `stop` says so: new files in the Maildir are picked up within
    /// `interval`; with an IMAP source the wait is an IDLE on the first folder.
    pub fn watch(&mut self, interval: Duration, stop: impl Fn() -> bool) -> Result<(), BotError> {
        while !stop() {
            self.run_once()?;
            #[cfg(feature = "smtp")]
            if let Some(f) = self.fetcher.as_mut() {
                let folder = self.rules.source.folders.first().cloned().unwrap_or_else(|| "INBOX".into());
                if f.idle(&folder, interval.max(Duration::from_secs(1))).is_err() {
                    // The next cycle logs in again.
                    self.fetcher = None;
                }
                continue;
            }
            let until = Instant::now() + interval;
            while Instant::now() < until && !stop() {
                std::thread::sleep(Duration::from_millis(50).min(interval));
            }
        }
        Ok(())
    }

    #[cfg(feature = "smtp")]
    fn fetch(&mut self) -> Result<(), BotError> {
        use crate::fetch::{Fetcher, ImapAuth, ImapConfig};
        let s = &self.rules.source;
        let (Some(url), Some(user)) = (&s.imap, &s.user) else {
            return Err(BotError::Transport("[source] imap needs user".into()));
        };
        let folders = if s.folders.is_empty() { vec!["INBOX".to_string()] } else { s.folders.clone() };
        if self.fetcher.is_none() {
            let password = secret(s.password_file.as_deref())?;
            let mut c = ImapConfig::from_url(url, user, &password)?;
            c.ca_file = s.ca_file.clone();
            c.auth = if s.auth_plain { ImapAuth::Plain } else { ImapAuth::Login };
            self.fetcher = Some(Fetcher::connect(c, self.source.path())?);
        }
        for folder in folders {
            let Some(f) = self.fetcher.as_mut() else { break };
            let r = match f.sync_folder(&folder, |_| {}) {
                Ok(r) => r,
                Err(e) => {
                    self.fetcher = None;
                    return Err(e.into());
                }
            };
            (self.log)(&json!({"event": "fetch", "folder": r.folder, "fetched": r.fetched, "skipped": r.skipped}));
        }
        Ok(())
    }

    /// Dry run: what would happen to one message.
    fn preview(&mut self, e: &MaildirEntry) -> Result<(), BotError> {
        let raw = std::fs::read(&e.path).map_err(io_at(&e.path))?;
        let hash = sha256_hex(&raw);
        let msg = Message::parse(&raw);
        let mut line = json!({"event": "message", "file": e.path, "hash": hash, "dry_run": true});
        let Ok(msg) = msg else {
            line["outcome"] = "would quarantine".into();
            (self.log)(&line);
            return Ok(());
        };
        line["subject"] = msg.subject().unwrap_or_default().into();
        line["already_handled"] = self.ledger.contains(&hash).into();
        (self.log)(&line);
        for (rule, attachments) in self.matching(&msg) {
            let files: Vec<PathBuf> =
                attachments.iter().map(|p| PathBuf::from(crate::dissect::file_name(&msg, p))).collect();
            for a in &rule.actions {
                let commands = match a {
                    Action::Run { command } | Action::Print { command } => {
                        match expand(command, &files, &msg, &e.path, &hash, None) {
                            Ok(c) => c,
                            Err(reason) => {
                                (self.log)(&json!({"event": "action", "rule": rule.name, "action": kind(a),
                                                   "dry_run": true, "outcome": "would quarantine", "reason": reason}));
                                continue;
                            }
                        }
                    }
                    _ => Vec::new(),
                };
                (self.log)(
                    &json!({"event": "action", "rule": rule.name, "action": kind(a), "dry_run": true, "commands": commands}),
                );
            }
        }
        Ok(())
    }

    fn matching<'m, 'a>(&self, msg: &'m Message<'a>) -> Vec<(Rule, Vec<&'m Part<'a>>)> {
        let mut out = Vec::new();
        for r in &self.rules.rules {
            if let Some(a) = r.matches(msg) {
                out.push((r.clone(), a));
                if r.stop {
                    break;
                }
            }
        }
        out
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
        let raw = std::fs::read(&e.path).map_err(io_at(&e.path))?;
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
        let outcome = self.act(&e, &raw, &hash);
        match outcome {
            Ok((rules, actions, finals)) => {
                self.commit(&hash, &e, &raw, &rules, &actions)?;
                self.finish(home, processing, &e, &finals)?;
                self.forget_tries(&hash);
                report.handled += 1;
                if rules.is_empty() {
                    report.unmatched += 1;
                }
                (self.log)(&json!({
                    "event": "message", "file": e.id, "hash": hash, "outcome": "handled",
                    "rules": rules, "ms": started.elapsed().as_millis() as u64,
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
        crate::util::create_private_dir_all(&dir).map_err(io_at(&dir))?;
        let now = before.saturating_add(1);
        crate::util::replace_synced(&path, now.to_string().as_bytes()).map_err(io_at(&path))?;
        Ok(now)
    }

    fn forget_tries(&self, hash: &str) {
        let _ = std::fs::remove_file(self.state.join("tries").join(hash));
    }

    /// Runs the matching rules' actions; the final placement (move, flags) is returned for
    /// after the commit.
    #[allow(clippy::type_complexity)]
    fn act(
        &mut self,
        e: &MaildirEntry,
        raw: &[u8],
        hash: &str,
    ) -> Result<(Vec<String>, Vec<Value>, Vec<Action>), Failed> {
        let msg = Message::parse(raw).map_err(|err| format!("unreadable message: {err}"))?;
        let mut timed_out = false;
        let mut names = Vec::new();
        let mut done = Vec::new();
        let mut finals = Vec::new();
        for (rule, attachments) in self.matching(&msg) {
            names.push(rule.name.clone());
            let mut files: Vec<PathBuf> = Vec::new();
            let mut dir: Option<PathBuf> = None;
            for action in &rule.actions {
                let t = Instant::now();
                let result: Result<Value, String> = match action {
                    Action::Save { dir: d } => save(d, hash, &msg, &attachments).map(|(out, saved)| {
                        files = saved;
                        dir = Some(out.clone());
                        json!({"dir": out, "files": files})
                    }),
                    Action::Dissect { dir: d } => dissect(d, hash, &msg).map(|(out, saved)| {
                        if files.is_empty() {
                            files = saved;
                        }
                        dir = Some(out.clone());
                        json!({"dir": out})
                    }),
                    Action::Run { command } => {
                        let implicit = self.state.join("files");
                        if files.is_empty() && command.iter().any(|a| a.contains("{file}")) {
                            let (out, saved) = save(&implicit, hash, &msg, &attachments)?;
                            files = saved;
                            dir.get_or_insert(out);
                        }
                        let timeout = Duration::from_secs(self.rules.bot.run_timeout);
                        expand(command, &files, &msg, &e.path, hash, dir.as_deref()).and_then(|cmds| {
                            cmds.iter().try_for_each(|c| run(c, timeout)).map(|()| json!({"commands": cmds})).map_err(
                                |e| {
                                    timed_out = e.timed_out;
                                    e.text
                                },
                            )
                        })
                    }
                    Action::Print { command } => {
                        let shown: Vec<PathBuf> = if files.is_empty() {
                            attachments.iter().map(|p| PathBuf::from(crate::dissect::file_name(&msg, p))).collect()
                        } else {
                            files.clone()
                        };
                        expand(command, &shown, &msg, &e.path, hash, dir.as_deref()).map(|cmds| {
                            let shell: Vec<String> = cmds.iter().map(|c| shell_quote(c)).collect();
                            json!({"commands": cmds, "shell": shell})
                        })
                    }
                    Action::Reply { text } => self.reply(&msg, text, hash).map(|id| json!({"message_id": id})),
                    Action::Forward { to, text } => {
                        self.forward(&msg, to, text, hash).map(|id| json!({"message_id": id}))
                    }
                    Action::Call { handler } => {
                        let paths: Vec<String> = attachments.iter().map(|p| p.path().to_string()).collect();
                        match self.call.as_mut() {
                            Some(call) => call(handler, raw, &paths).map(|()| json!({"handler": handler})),
                            None => Err(format!("no handler registered for {handler:?}")),
                        }
                    }
                    Action::Move { .. } | Action::Flag { .. } => {
                        finals.push(action.clone());
                        Ok(json!({"when": "after commit"}))
                    }
                };
                let mut line = json!({"event": "action", "rule": rule.name, "action": kind(action), "hash": hash,
                                      "ms": t.elapsed().as_millis() as u64});
                match result {
                    Ok(detail) => {
                        line["ok"] = true.into();
                        line["detail"] = detail;
                        (self.log)(&line);
                        done.push(json!({"rule": rule.name, "action": kind(action)}));
                    }
                    Err(reason) => {
                        line["ok"] = false.into();
                        line["error"] = reason.clone().into();
                        (self.log)(&line);
                        let reason = format!("rule {:?}, action {}: {reason}", rule.name, kind(action));
                        return Err(Failed { reason, retry: timed_out });
                    }
                }
            }
        }
        Ok((names, done, finals))
    }

    fn commit(
        &mut self,
        hash: &str,
        e: &MaildirEntry,
        raw: &[u8],
        rules: &[String],
        actions: &[Value],
    ) -> Result<(), BotError> {
        let msg = Message::parse(raw).ok();
        let line = json!({
            "hash": hash,
            "file": e.id,
            "message_id": msg.as_ref().and_then(|m| m.message_id().map(str::to_string)),
            "subject": msg.as_ref().and_then(|m| m.subject().map(str::to_string)),
            "at": SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
            "rules": rules,
            "actions": actions,
        });
        let path = self.state.join("ledger.jsonl");
        let mut f = crate::util::private_file().create(true).append(true).open(&path).map_err(io_at(&path))?;
        let before = f.metadata().map_err(io_at(&path))?.len();
        if let Err(e) = f.write_all(format!("{line}\n").as_bytes()).and_then(|_| f.sync_all()) {
            // No torn line left for the next record to join (a full disk, say).
            let _ = f.set_len(before);
            return Err(io_at(&path)(e));
        }
        self.ledger.insert(hash.to_string());
        self.handled_ids.insert(e.id.clone());
        Ok(())
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
            Some(folder) => self.source.folder(folder).map_err(io_at(self.source.path()))?,
            None => home.clone(),
        };
        let flagged = processing.set_flags(e, &format!("{}{flags}", e.flags)).map_err(io_at(&e.path))?;
        processing.move_to(&flagged, &dest).map_err(io_at(&flagged.path))?;
        Ok(())
    }

    fn quarantine(&self, processing: &Maildir, e: &MaildirEntry, hash: &str, reason: &str) -> Result<(), BotError> {
        let q = self.source.folder(&self.rules.bot.quarantine).map_err(io_at(self.source.path()))?;
        let why = self.state.join("quarantine").join(format!("{}.json", e.id));
        let text = json!({"file": e.id, "hash": hash, "reason": reason, "folder": q.path()});
        crate::util::write_synced(&why, format!("{text:#}\n").as_bytes()).map_err(io_at(&why))?;
        processing.move_to(e, &q).map_err(io_at(&e.path))?;
        Ok(())
    }

    fn send(&mut self, b: MessageBuilder) -> Result<String, String> {
        let env = Envelope::try_from(b.envelope()).map_err(|e| e.to_string())?;
        let raw = b.build().map_err(|e| e.to_string())?;
        let id = Message::parse(&raw).ok().and_then(|m| m.message_id().map(str::to_string)).unwrap_or_default();
        let t = self.transport.as_mut().ok_or("no [transport] configured")?;
        t.send_raw(&env, &raw).map_err(|e| e.to_string())?;
        Ok(id)
    }

    fn reply(&mut self, msg: &Message<'_>, text: &str, hash: &str) -> Result<String, String> {
        let from = self.rules.transport.as_ref().map(|t| t.from.clone()).unwrap_or_default();
        let b = MessageBuilder::reply(msg)
            .from(from.as_str())
            .message_id(format!("reply.{}@mailwright", &hash[..24]))
            .text(fill(text, msg));
        self.send(b)
    }

    fn forward(&mut self, msg: &Message<'_>, to: &[String], text: &str, hash: &str) -> Result<String, String> {
        let from = self.rules.transport.as_ref().map(|t| t.from.clone()).unwrap_or_default();
        let mut b = MessageBuilder::forward(msg, true)
            .from(from.as_str())
            .message_id(format!("fwd.{}@mailwright", &hash[..24]))
            .text(fill(text, msg));
        for t in to {
            b = b.to(t.as_str());
        }
        self.send(b)
    }
}

fn kind(a: &Action) -> &'static str {
    match a {
        Action::Dissect { .. } => "dissect",
        Action::Save { .. } => "save",
        Action::Run { .. } => "run",
        Action::Print { .. } => "print",
        Action::Reply { .. } => "reply",
        Action::Forward { .. } => "forward",
        Action::Move { .. } => "move",
        Action::Flag { .. } => "flag",
        Action::Call { .. } => "call",
    }
}

fn entries(md: &Maildir) -> Result<Vec<MaildirEntry>, BotError> {
    let mut v: Vec<MaildirEntry> =
        md.entries().map_err(io_at(md.path()))?.collect::<io::Result<_>>().map_err(io_at(md.path()))?;
    v.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(v)
}

/// The hashes in the ledger. A torn last line (a crash in the middle of an append) is not a
/// record; with `repair` it is cut off, so that the next record starts on a line of its own
/// instead of joining it into one unreadable line.
/// Returns the hashes and the Maildir ids the records name.
fn read_ledger(path: &Path, repair: bool) -> Result<(HashSet<String>, HashSet<String>), BotError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(BotError::Io { path: path.to_path_buf(), source: e }),
    };
    if repair && !text.is_empty() && !text.ends_with('\n') {
        let whole = text.rfind('\n').map_or(0, |i| i + 1);
        let f = OpenOptions::new().write(true).open(path).map_err(io_at(path))?;
        f.set_len(whole as u64).and_then(|_| f.sync_all()).map_err(io_at(path))?;
    }
    let (mut hashes, mut ids) = (HashSet::new(), HashSet::new());
    for v in text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        if let Some(h) = v["hash"].as_str() {
            hashes.insert(h.to_string());
            if let Some(id) = v["file"].as_str() {
                ids.insert(id.to_string());
            }
        }
    }
    Ok((hashes, ids))
}

/// Opens `path` (created 0600) and takes its exclusive lock; `None` when another process has it.
fn try_lock(path: &Path) -> Result<Option<File>, BotError> {
    let f = crate::util::private_file().create(true).truncate(false).write(true).open(path).map_err(io_at(path))?;
    #[cfg(unix)]
    if rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        return Ok(None);
    }
    Ok(Some(f))
}

/// Writes into `parent/<hash>.tmp`, then renames to `parent/<hash>`; an existing result is kept.
fn keyed_output(parent: &Path, hash: &str, write: impl FnOnce(&Path) -> Result<(), String>) -> Result<PathBuf, String> {
    let out = parent.join(&hash[..16]);
    if out.is_dir() {
        return Ok(out);
    }
    crate::util::create_private_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    // What a run killed in the middle of this output left behind.
    let stale = format!(".{}.tmp", &hash[..16]);
    for e in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        if e.file_name().to_str().is_some_and(|n| n.starts_with(&stale)) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    let tmp = parent.join(format!("{stale}{}", std::process::id()));
    crate::util::create_private_dir(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &out).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(out)
}

/// The bot's own file in a `dissect` output; created before the attachments, so that an
/// attachment of that name gets a numbered one and never overwrites it.
const MANIFEST: &str = "manifest.json";

/// The files in an output folder, sorted, less the bot's own `skip`.
fn listing(dir: &Path, skip: Option<&str>) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    v.retain(|p| p.is_file() && (skip.is_none() || p.file_name().and_then(|n| n.to_str()) != skip));
    v.sort();
    v
}

/// Saves the attachments into `parent/<hash>/` through the dissect sandbox: safe names (with
/// the same fallbacks as dissect), created exclusively, numbered on clashes.
fn save(
    parent: &Path,
    hash: &str,
    msg: &Message<'_>,
    attachments: &[&Part<'_>],
) -> Result<(PathBuf, Vec<PathBuf>), String> {
    let out = keyed_output(parent, hash, |tmp| {
        let folder = Folder::open_root(tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        for p in attachments {
            let name = crate::dissect::file_name(msg, p);
            let (mut f, used) = folder.create_file(&name).map_err(|e| format!("{name}: {e}"))?;
            f.write_all(p.decoded()).and_then(|_| f.sync_all()).map_err(|e| format!("{used}: {e}"))?;
        }
        Ok(())
    })?;
    let files = listing(&out, None);
    Ok((out, files))
}

fn dissect(parent: &Path, hash: &str, msg: &Message<'_>) -> Result<(PathBuf, Vec<PathBuf>), String> {
    let out = keyed_output(parent, hash, |tmp| {
        let folder = Folder::open_root(tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        let (mut f, _) = folder.create_file(MANIFEST).map_err(|e| format!("{MANIFEST}: {e}"))?;
        let d = crate::dissect::dissect(msg, &DissectOptions::new(tmp)).map_err(|e| e.to_string())?;
        let manifest = serde_json::to_vec_pretty(&d.manifest).map_err(|e| e.to_string())?;
        f.write_all(&manifest).and_then(|_| f.sync_all()).map_err(|e| format!("{MANIFEST}: {e}"))
    })?;
    let files = listing(&out, Some(MANIFEST));
    Ok((out, files))
}

/// A path as an argument no program can read as an option: absolute, or `./`-prefixed.
fn path_arg(p: &Path) -> String {
    if p.is_absolute() || p.starts_with(".") {
        p.to_string_lossy().into_owned()
    } else {
        format!("./{}", p.to_string_lossy())
    }
}

/// The commands of a `run` or `print` action: placeholders replaced inside each argument, once
/// (a subject holding `{dir}` reaches the program as written); `{file}` makes one command per
/// file. Paths are absolute or `./`-prefixed; any other value from the message that would
/// start an argument with `-` is refused (the program could read it as an option), and the
/// message is quarantined with that reason.
fn expand(
    command: &[String],
    files: &[PathBuf],
    msg: &Message<'_>,
    message: &Path,
    hash: &str,
    dir: Option<&Path>,
) -> Result<Vec<Vec<String>>, String> {
    let from = msg.from().iter().find_map(|a| a.address.clone()).unwrap_or_default();
    let subject = msg.subject().unwrap_or_default().to_string();
    let message = path_arg(message);
    let dir = dir.map(path_arg).unwrap_or_default();
    let fill_one = |arg: &str, file: Option<&str>| -> Result<String, String> {
        let value = |name: &str| -> Option<&str> {
            match name {
                "message" => Some(&message),
                "hash" => Some(hash),
                "from" => Some(&from),
                "subject" => Some(&subject),
                "dir" => Some(&dir),
                "file" => file,
                _ => None,
            }
        };
        let out = fill_placeholders(arg, value);
        if out.starts_with('-') && !arg.starts_with('-') {
            return Err(format!(
                "refused: message data would start the argument {out:?} of {:?} with '-', which the program could \
                 read as an option",
                command[0]
            ));
        }
        Ok(out)
    };
    if command.iter().any(|a| a.contains("{file}")) {
        files
            .iter()
            .map(|f| {
                let f = path_arg(f);
                command.iter().map(|a| fill_one(a, Some(&f))).collect()
            })
            .collect()
    } else {
        Ok(vec![command.iter().map(|a| fill_one(a, None)).collect::<Result<_, _>>()?])
    }
}

/// Replaces each `{name}` that `value` knows, in one pass over `template`: what a value brings
/// is never looked at again. Unknown names and lone braces stay as written.
fn fill_placeholders<'v>(template: &str, value: impl Fn(&str) -> Option<&'v str>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| value(&after[..close]).map(|v| (close, v))) {
            Some((close, v)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A reply's or forward's text with `{subject}` and `{from}` replaced (once).
fn fill(text: &str, msg: &Message<'_>) -> String {
    let from = msg.from().iter().find_map(|a| a.address.clone()).unwrap_or_default();
    let subject = msg.subject().unwrap_or_default();
    fill_placeholders(text, |name| match name {
        "subject" => Some(subject),
        "from" => Some(&from),
        _ => None,
    })
}

/// The environment variables a program run by the bot keeps; every other one (secrets such as
/// `MAILWRIGHT_PASSWORD` above all) is taken out.
pub const CHILD_ENV: &[&str] =
    &["PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "PRINTER", "LPDEST", "CUPS_SERVER"];

/// Whether a program run by the bot keeps the variable `name`: [`CHILD_ENV`] and the locale's
/// `LC_*`.
pub fn child_keeps(name: &str) -> bool {
    CHILD_ENV.contains(&name) || name.starts_with("LC_")
}

/// Runs a program (no shell) with a clean environment (see [`child_keeps`]) and a time limit,
/// in a process group of its own, so that a timeout stops everything it started; output goes to
/// the bot's stderr.
fn run(argv: &[String], timeout: Duration) -> Result<(), RunError> {
    let failed = |text: String| RunError { text, timed_out: false };
    let (program, args) = argv.split_first().ok_or_else(|| failed("empty command".into()))?;
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null()).env_clear();
    cmd.envs(std::env::vars_os().filter(|(k, _)| k.to_str().is_some_and(child_keeps)));
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| failed(format!("cannot run {program}: {e}")))?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait().map_err(|e| failed(e.to_string()))? {
            Some(s) if s.success() => return Ok(()),
            Some(s) => return Err(failed(format!("{program} exited with {s}"))),
            None if Instant::now() > deadline => {
                #[cfg(unix)]
                let _ = rustix::process::kill_process_group(
                    rustix::process::Pid::from_child(&child),
                    rustix::process::Signal::KILL,
                );
                let _ = child.kill();
                let _ = child.wait();
                let text = format!("timed out: {program} took longer than {} s and was stopped", timeout.as_secs());
                return Err(RunError { text, timed_out: true });
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Why a program run by the bot failed; a timeout is retried, not quarantined at once.
struct RunError {
    text: String,
    timed_out: bool,
}

/// Why a message's actions stopped: quarantine it, or (a program timed out) try it again later.
struct Failed {
    reason: String,
    retry: bool,
}

impl From<String> for Failed {
    fn from(reason: String) -> Self {
        Failed { reason, retry: false }
    }
}

/// The command as a shell would need it typed (for printing only; never executed).
pub fn shell_quote(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:@,+".contains(&b)) {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(feature = "smtp")]
fn secret(file: Option<&Path>) -> Result<String, BotError> {
    crate::util::read_secret(file).map_err(BotError::Transport)
}

fn make_transport(t: &rules::TransportSpec) -> Result<Box<dyn Transport + Send>, BotError> {
    if let Some(dir) = &t.outbox {
        let outbox = crate::inject::Outbox::open(dir).map_err(|e| BotError::Transport(e.to_string()))?;
        return Ok(Box::new(OutboxTransport(outbox)));
    }
    #[cfg(feature = "smtp")]
    {
        let credentials = match (&t.user, &t.smtp) {
            (Some(user), Some(_)) => Some((user.clone(), secret(t.password_file.as_deref())?)),
            _ => None,
        };
        let d = crate::inject::Destination {
            smtp: t.smtp.clone(),
            maildir: t.maildir.clone(),
            credentials,
            ca_file: t.ca_file.clone(),
            ..Default::default()
        };
        d.transport().map_err(|e| BotError::Transport(e.to_string()))
    }
    #[cfg(not(feature = "smtp"))]
    match &t.maildir {
        Some(dir) => Ok(Box::new(crate::inject::MaildirTransport::new(dir))),
        None => Err(BotError::Transport("[transport] names no destination this build supports".into())),
    }
}

/// Queues instead of sending: the reply is durable the moment the action succeeds.
struct OutboxTransport(crate::inject::Outbox);

impl Transport for OutboxTransport {
    fn send_raw(
        &mut self,
        envelope: &Envelope,
        raw: &[u8],
    ) -> Result<crate::inject::Receipt, crate::inject::InjectError> {
        let id = self.0.add(envelope, raw).map_err(|e| crate::inject::InjectError::Local {
            path: self.0.path().to_path_buf(),
            source: io::Error::other(e.to_string()),
        })?;
        Ok(crate::inject::Receipt {
            transport: "outbox",
            destination: self.0.path().display().to_string(),
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
    fn quoting_for_display() {
        let argv: Vec<String> =
            ["lpr", "-P", "office", "/tmp/a b/Résumé's.pdf"].iter().map(|s| s.to_string()).collect();
        assert_eq!(shell_quote(&argv), "lpr -P office '/tmp/a b/Résumé'\\''s.pdf'");
    }

    #[test]
    fn torn_ledger_lines_are_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("ledger.jsonl");
        let torn = "{\"hash\":\"a\"}\n{\"hash\":\"b\"}\n{\"hash\":\"c";
        std::fs::write(&p, torn).expect("write");
        // A dry run reads without writing.
        assert_eq!(read_ledger(&p, false).expect("ledger").0.len(), 2);
        assert_eq!(std::fs::read_to_string(&p).expect("read"), torn);
        // A real run cuts the torn line off: the next record is a line of its own.
        assert_eq!(read_ledger(&p, true).expect("ledger").0.len(), 2);
        let mut f = OpenOptions::new().append(true).open(&p).expect("open");
        f.write_all(b"{\"hash\":\"c\"}\n").expect("append");
        let l = read_ledger(&p, true).expect("ledger").0;
        assert_eq!(l, ["a", "b", "c"].map(String::from).into_iter().collect());
        // A ledger that is one torn line becomes empty.
        std::fs::write(&p, "{\"hash\":\"c").expect("write");
        assert!(read_ledger(&p, true).expect("ledger").0.is_empty());
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "");
    }
}
