//! The mailbot with rules as objects and async JavaScript handlers. The core runs the cycle
//! (claim → act → commit, ledger, quarantine) on a worker thread; a rule's handler is called on
//! the JavaScript thread and the worker waits for the Promise it returns.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use serde_json::{Value, json};

use crate::errors::{Failure, throw};
use crate::parse::Message;
use crate::tasks::Job;

/// How replies and forwards leave: `from` and exactly one of `outbox`, `maildir`, `smtp`.
#[napi(object)]
pub struct BotTransport {
    /// The From of replies and forwards.
    pub from: String,
    /// Queue into this outbox.
    pub outbox: Option<String>,
    /// Deliver into this Maildir.
    pub maildir: Option<String>,
    /// Submit to `smtp://…` / `smtps://…`.
    pub smtp: Option<String>,
    /// SMTP user.
    pub user: Option<String>,
    /// File holding the SMTP password.
    pub password_file: Option<String>,
    /// Extra CA (PEM).
    pub ca_file: Option<String>,
}

/// Where the bot works: a Maildir (optionally filled from IMAP before each cycle), or a rules file.
#[napi(object)]
pub struct MailbotOptions {
    /// The Maildir to work on (created when missing).
    pub maildir: Option<String>,
    /// A rules file (TOML, as `mailwright bot --rules`) instead; rules added here come after its own.
    pub rules_file: Option<String>,
    /// The state folder (ledger, quarantine reasons); default `.mailwright-bot` in the working
    /// folder (beside the rules file with `rulesFile`).
    pub state: Option<String>,
    /// Maildir++ folder for handled messages (`Handled`).
    pub done: Option<String>,
    /// Maildir++ folder for messages whose actions failed (`Quarantine`).
    pub quarantine: Option<String>,
    /// `imaps://host` to sync from before each cycle, or a list of replicas (the first that
    /// answers is used).
    #[napi(ts_type = "string | string[]")]
    pub imap: Option<Either<String, Vec<String>>>,
    /// Seconds an IMAP server may take to connect and greet before the next is tried (10).
    pub connect_timeout: Option<u32>,
    /// IMAP user.
    pub user: Option<String>,
    /// File holding the IMAP password.
    pub password_file: Option<String>,
    /// Log in with the OAuth2 bearer token in this file instead (read at every login).
    pub oauth2_token_file: Option<String>,
    /// Log in with the OAuth2 bearer token this program prints (argv, no shell).
    pub oauth2_token_command: Option<Vec<String>>,
    /// `xoauth2` (default) or `oauthbearer`.
    pub oauth2_mechanism: Option<String>,
    /// `one-way` (default) or `two-way`: IMAP flags synced both ways, so what the bot marks
    /// seen is seen on the server.
    #[napi(ts_type = "'one-way' | 'two-way'")]
    pub flags: Option<String>,
    /// With two-way flags, propagate deletions both ways.
    pub expunge: Option<bool>,
    /// IMAP folders (INBOX).
    pub folders: Option<Vec<String>>,
    /// Extra CA for IMAP (PEM).
    pub ca_file: Option<String>,
    /// How replies and forwards leave.
    pub transport: Option<BotTransport>,
    /// Seconds a program run by a rule may take (300).
    pub run_timeout: Option<u32>,
    /// Believe this server's topmost Authentication-Results for `authenticated` rules.
    pub trust_authserv: Option<String>,
    /// Check SPF for the client this host recorded in its topmost Received: field.
    pub trust_received: Option<String>,
    /// Name servers for the bot's own sender checks (`IP[:PORT]`).
    pub resolver: Option<Vec<String>>,
    /// TXT records answered without DNS (name → record; `''`: no such name): a test hook.
    pub dns_records: Option<HashMap<String, String>>,
    /// Reply even to senders that prove nothing (off: no backscatter).
    pub reply_unauthenticated: Option<bool>,
    /// Log what would be done; change nothing.
    pub dry_run: Option<bool>,
}

/// A rule: every condition given must hold; a list matches when any entry does (globs, any case).
#[napi(object)]
pub struct RuleSpec {
    /// Its name (in the log; also the handler's name).
    pub name: String,
    /// Sender address patterns.
    pub from: Option<Vec<String>>,
    /// Recipient patterns (To or Cc).
    pub to: Option<Vec<String>>,
    /// Subject patterns.
    pub subject: Option<Vec<String>>,
    /// Header name → pattern.
    pub header: Option<HashMap<String, String>>,
    /// Attachment content-type patterns (`application/pdf`, `image/*`).
    pub attachment_type: Option<Vec<String>>,
    /// Attachment file-name patterns (`*.pdf`).
    pub attachment_name: Option<Vec<String>>,
    /// Only mail that proves its From: domain (DKIM + DMARC, or the trusted server's word).
    pub authenticated: Option<bool>,
    /// Only mail that proves one of these From: domains.
    pub authenticated_domain: Option<Vec<String>>,
    /// Do not look at later rules when this one matches.
    pub stop: Option<bool>,
    /// Actions, as in the rules file: `{ type: 'save', dir: 'pdfs' }`, `{ type: 'reply', text }`,
    /// `{ type: 'run', command: [...] }`, `dissect`, `print`, `forward`, `move`, `flag`.
    #[napi(ts_type = "Array<Record<string, unknown>>")]
    pub actions: Option<Vec<Value>>,
}

/// What one cycle did.
#[napi(object)]
pub struct BotReport {
    /// Messages handled.
    pub handled: u32,
    /// Of those, messages no rule matched.
    pub unmatched: u32,
    /// Messages found already in the ledger (only moved).
    pub already: u32,
    /// Messages moved to quarantine.
    pub quarantined: u32,
    /// Messages left claimed to be tried again (a program timed out).
    pub retrying: u32,
    /// The log lines: one object per message and per action.
    pub log: Vec<Value>,
}

/// Options of `watch`.
#[napi(object)]
pub struct WatchOptions {
    /// Seconds between looks at the Maildir (1); with IMAP the wait is an IDLE.
    pub interval: Option<f64>,
}

type Handler = ThreadsafeFunction<
    FnArgs<(Message, Vec<String>)>,
    Promise<()>,
    FnArgs<(Message, Vec<String>)>,
    Status,
    false,
    true,
>;

/// What the worker and the JavaScript thread share. The JavaScript thread never waits for `bot`:
/// a worker holds it for a whole `runOnce()` or `watch()`, so the calls made meanwhile
/// (`runOnce`, `watch`, `rule`) `try_lock` it and throw a `busy` error instead of blocking the
/// event loop (and with it the `stop()` that would end the watch).
struct Shared {
    bot: Mutex<Option<mailwright::bot::Bot>>,
    log: Arc<Mutex<Vec<Value>>>,
    stop: AtomicBool,
    /// Set by the JavaScript thread when it starts a run, cleared by the worker when it ends.
    running: AtomicBool,
}

/// Clears `running` when the worker's run ends, however it ends.
struct Running(Arc<Shared>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::SeqCst);
    }
}

/// A mailbot. Add rules (with optional async handlers), then `runOnce()` or `watch()`.
#[napi]
pub struct Mailbot {
    head: Value,
    base: PathBuf,
    rules_file: Option<PathBuf>,
    /// Touched on the JavaScript thread only (a Mutex so that `rule` can take `&self`: napi-rs
    /// refuses a `&mut self` call while a run holds the object).
    rules: Mutex<Vec<Value>>,
    handlers: Arc<Mutex<HashMap<String, Arc<Handler>>>>,
    dry_run: bool,
    shared: Arc<Shared>,
}

/// The error of a call made while `runOnce()` or `watch()` runs.
fn busy(what: &str) -> Failure {
    Failure::new(
        "busy",
        format!("cannot {what} while runOnce() or watch() runs: await it (after stop() for watch) first"),
    )
}

fn strings(v: Option<Vec<String>>) -> Value {
    json!(v.unwrap_or_default())
}

#[napi]
impl Mailbot {
    /// A bot over `maildir` or `rulesFile` (exactly one).
    #[napi(constructor)]
    pub fn new(env: Env, options: MailbotOptions) -> Result<Self> {
        let o = options;
        if o.maildir.is_some() == o.rules_file.is_some() {
            return throw(&env, Failure::usage("give either maildir or rulesFile"));
        }
        let base = std::env::current_dir().map_err(|e| Failure::io(&e, "working folder").into_js(&env))?;
        let mut source = json!({ "maildir": o.maildir.clone().unwrap_or_default() });
        match &o.imap {
            Some(Either::A(one)) => source["imap"] = json!(one),
            Some(Either::B(many)) => source["imap"] = json!(many),
            None => {}
        }
        for (k, v) in [
            ("user", &o.user),
            ("password_file", &o.password_file),
            ("ca_file", &o.ca_file),
            ("oauth2_token_file", &o.oauth2_token_file),
            ("oauth2_mechanism", &o.oauth2_mechanism),
            ("flags", &o.flags),
        ] {
            if let Some(v) = v {
                source[k] = json!(v);
            }
        }
        if let Some(argv) = &o.oauth2_token_command {
            source["oauth2_token_command"] = json!(argv);
        }
        if let Some(secs) = o.connect_timeout {
            source["connect_timeout"] = json!(secs);
        }
        if let Some(e) = o.expunge {
            source["expunge"] = json!(e);
        }
        if let Some(f) = &o.folders {
            source["folders"] = json!(f);
        }
        let mut bot = json!({});
        for (k, v) in [("done", &o.done), ("quarantine", &o.quarantine), ("state", &o.state)] {
            if let Some(v) = v {
                bot[k] = json!(v);
            }
        }
        if let Some(t) = o.run_timeout {
            bot["run_timeout"] = json!(t);
        }
        for (k, v) in [("trust_authserv", &o.trust_authserv), ("trust_received", &o.trust_received)] {
            if let Some(v) = v {
                bot[k] = json!(v);
            }
        }
        if let Some(r) = &o.resolver {
            bot["resolver"] = json!(r);
        }
        if let Some(r) = &o.dns_records {
            bot["dns_records"] = json!(r);
        }
        if let Some(r) = o.reply_unauthenticated {
            bot["reply_unauthenticated"] = json!(r);
        }
        let mut head = json!({ "source": source, "bot": bot });
        if let Some(t) = o.transport {
            let mut spec = json!({ "from": t.from });
            for (k, v) in [
                ("outbox", t.outbox),
                ("maildir", t.maildir),
                ("smtp", t.smtp),
                ("user", t.user),
                ("password_file", t.password_file),
                ("ca_file", t.ca_file),
            ] {
                if let Some(v) = v {
                    spec[k] = json!(v);
                }
            }
            head["transport"] = spec;
        }
        Ok(Mailbot {
            head,
            base,
            rules_file: o.rules_file.map(PathBuf::from),
            rules: Mutex::new(Vec::new()),
            handlers: Arc::new(Mutex::new(HashMap::new())),
            dry_run: o.dry_run.unwrap_or(false),
            shared: Arc::new(Shared {
                bot: Mutex::new(None),
                log: Arc::new(Mutex::new(Vec::new())),
                stop: AtomicBool::new(false),
                running: AtomicBool::new(false),
            }),
        })
    }

    /// Adds a rule after the ones there are. `handler(message, attachments)` runs after the rule's
    /// actions for every message it matches; when it throws (or its Promise rejects) the message
    /// goes to quarantine with the error as the reason.
    #[napi(ts_args_type = "rule: RuleSpec, handler?: (message: Message, attachments: Part[]) => Promise<void> | void")]
    pub fn rule(&self, env: Env, rule: RuleSpec, handler: Option<Handler>) -> Result<()> {
        // The bot is rebuilt with the new rule at the next run; not while one runs.
        let mut slot = match self.shared.bot.try_lock() {
            Ok(slot) if !self.shared.running.load(Ordering::SeqCst) => slot,
            _ => return throw(&env, busy("add a rule")),
        };
        let mut actions = rule.actions.unwrap_or_default();
        if let Some(h) = handler {
            actions.push(json!({ "type": "call", "handler": rule.name }));
            self.handlers
                .lock()
                .map_err(|_| Error::from_reason("handler lock poisoned"))?
                .insert(rule.name.clone(), Arc::new(h));
        }
        let mut r = json!({
            "name": rule.name,
            "from": strings(rule.from),
            "to": strings(rule.to),
            "subject": strings(rule.subject),
            "attachment_type": strings(rule.attachment_type),
            "attachment_name": strings(rule.attachment_name),
            "authenticated": rule.authenticated.unwrap_or(false),
            "authenticated_domain": strings(rule.authenticated_domain),
            "stop": rule.stop.unwrap_or(false),
            "action": actions,
        });
        if let Some(h) = rule.header {
            r["header"] = json!(h);
        }
        let poisoned = || Error::from_reason("rules lock poisoned");
        self.rules.lock().map_err(|_| poisoned())?.push(r);
        // Check now, so a bad rule throws here rather than at the first run.
        if let Err(f) = self.rules_now() {
            self.rules.lock().map_err(|_| poisoned())?.pop();
            return throw(&env, f);
        }
        *slot = None;
        Ok(())
    }

    /// What the rules do that is unwise: replying, forwarding or running a program for mail
    /// chosen by `from` alone, which anyone can forge.
    #[napi]
    pub fn warnings(&self, env: Env) -> Result<Vec<String>> {
        match self.rules_now() {
            Ok(r) => Ok(r.warnings()),
            Err(f) => throw(&env, f),
        }
    }

    fn rules_now(&self) -> std::result::Result<mailwright::bot::Rules, Failure> {
        use mailwright::bot::Rules;
        let bad = |e: mailwright::bot::RulesError| Failure::new("bot", e.to_string());
        let own = self.rules.lock().map(|r| r.clone()).map_err(|_| Failure::new("bot", "rules lock poisoned"))?;
        match &self.rules_file {
            Some(path) => {
                let mut rules = Rules::load(path).map_err(bad)?;
                let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                rules.add_json_rules(&json!(own).to_string(), base).map_err(bad)?;
                Ok(rules)
            }
            None => {
                let mut all = self.head.clone();
                all["rule"] = json!(own);
                Rules::from_json(&all.to_string(), &self.base).map_err(bad)
            }
        }
    }

    fn make_bot(&self) -> std::result::Result<mailwright::bot::Bot, Failure> {
        let rules = self.rules_now()?;
        let sink = self.shared.log.clone();
        let handlers = self.handlers.clone();
        let bot = mailwright::bot::Bot::new(rules, self.dry_run)
            .map_err(Failure::from)?
            .on_log(move |v| {
                if let Ok(mut l) = sink.lock() {
                    l.push(v.clone());
                }
            })
            .on_call(move |c| {
                let name = c.handler;
                let h = handlers.lock().map_err(|_| "handler lock poisoned")?.get(name).cloned();
                let Some(h) = h else { return Err(format!("no handler called {name}").into()) };
                // The bot's own parse, shared: no second parse, no copy of the bytes.
                let msg = Message::from_shared(c.message.clone());
                // index.js turns the paths into the message's Part objects.
                let selected = c.attachments.to_vec();
                futures_executor::block_on(async move {
                    let promise = h.call_async(FnArgs::from((msg, selected))).await.map_err(|e| e.reason.clone())?;
                    promise.await.map_err(|e| e.reason.clone().into())
                })
            });
        Ok(bot)
    }

    /// Makes the bot if needed and marks a run as started; `busy` when one runs.
    fn take_bot(&self, what: &str) -> std::result::Result<Running, Failure> {
        if self.shared.running.swap(true, Ordering::SeqCst) {
            return Err(busy(what));
        }
        let running = Running(self.shared.clone());
        let mut slot = self.shared.bot.try_lock().map_err(|_| busy(what))?;
        if slot.is_none() {
            *slot = Some(self.make_bot()?);
        }
        Ok(running)
    }

    /// Handles every message there is now; resolves to what it did.
    #[napi(ts_return_type = "Promise<BotReport>")]
    pub fn run_once(&self, env: Env) -> Result<AsyncTask<Job<BotReport, BotReport>>> {
        let running = match self.take_bot("run once") {
            Ok(r) => r,
            Err(f) => return throw(&env, f),
        };
        let shared = self.shared.clone();
        Ok(Job::new(
            move || {
                let _running = running;
                let mut slot = shared.bot.lock().map_err(|_| Failure::new("bot", "bot lock poisoned"))?;
                let bot = slot.as_mut().ok_or_else(|| Failure::new("bot", "bot not ready"))?;
                let r = bot.run_once().map_err(Failure::from)?;
                let log = shared.log.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default();
                Ok(BotReport {
                    handled: r.handled as u32,
                    unmatched: r.unmatched as u32,
                    already: r.already as u32,
                    quarantined: r.quarantined as u32,
                    retrying: r.retrying as u32,
                    log,
                })
            },
            crate::tasks::same,
        ))
    }

    /// Runs cycles until `stop()`: new files in the Maildir are handled within `interval` seconds
    /// (with IMAP, as soon as the server says). Resolves when stopped. It holds one thread of the
    /// libuv pool while it runs.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn watch(&self, env: Env, options: Option<WatchOptions>) -> Result<AsyncTask<Job<(), ()>>> {
        let interval = options.and_then(|o| o.interval).unwrap_or(1.0);
        let Ok(interval) = Duration::try_from_secs_f64(interval) else {
            return throw(&env, Failure::usage("interval must be a number of seconds"));
        };
        let running = match self.take_bot("watch") {
            Ok(r) => r,
            Err(f) => return throw(&env, f),
        };
        self.shared.stop.store(false, Ordering::SeqCst);
        let shared = self.shared.clone();
        Ok(Job::new(
            move || {
                let _running = running;
                let mut slot = shared.bot.lock().map_err(|_| Failure::new("bot", "bot lock poisoned"))?;
                let bot = slot.as_mut().ok_or_else(|| Failure::new("bot", "bot not ready"))?;
                bot.watch(interval, || shared.stop.load(Ordering::SeqCst)).map_err(Failure::from)
            },
            crate::tasks::same,
        ))
    }

    /// Makes a running `watch()` finish its current message and resolve.
    #[napi]
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }

    /// The log lines of `watch()` cycles since the last call.
    #[napi]
    pub fn take_log(&self) -> Vec<Value> {
        self.shared.log.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default()
    }
}
