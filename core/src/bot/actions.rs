//! The actions of a rule, run on one claimed message: `save` and `dissect` write keyed
//! outputs (`dir/<hash>/`, made under a temporary name and renamed, so doing them again after
//! a crash gives the same result), `run` and `print` expand placeholders into argv (never a
//! shell), `reply` and `forward` send through the bot's transport, `call` hands the message to
//! the caller's handler, `move` and `flag` are kept for after the commit.
//!
//! An action's failure is an [`ActionError`]; it quarantines the message, except a program that
//! timed out, which leaves the message claimed for another try.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Action, Bot, Call, Claimed, Rule};
use crate::build::MessageBuilder;
use crate::dissect::DissectOptions;
use crate::dissect::sandbox::Folder;
use crate::parse::{Message, Part, SharedMessage};

/// Why an action failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    /// An output could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// Dissecting failed.
    #[error(transparent)]
    Dissect(#[from] crate::dissect::DissectError),
    /// Message data would start an argument with `-`.
    #[error(
        "refused: message data would start the argument {argument:?} of {program:?} with '-', which the program \
         could read as an option"
    )]
    OptionLike {
        /// The argument after expansion.
        argument: String,
        /// The program.
        program: String,
    },
    /// A command with no program.
    #[error("empty command")]
    EmptyCommand,
    /// The program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// What the system said.
        source: io::Error,
    },
    /// The program failed.
    #[error("{program} exited with {status}")]
    Exited {
        /// The program.
        program: String,
        /// How it ended.
        status: std::process::ExitStatus,
    },
    /// The program ran past `run_timeout` and was stopped (with everything it started).
    #[error("timed out: {program} took longer than {seconds} s and was stopped")]
    TimedOut {
        /// The program.
        program: String,
        /// The limit.
        seconds: u64,
    },
    /// A reply or forward could not be built.
    #[error(transparent)]
    Build(#[from] crate::build::BuildError),
    /// A reply or forward could not be sent.
    #[error(transparent)]
    Send(#[from] crate::inject::InjectError),
    /// A reply or forward with no `[transport]`.
    #[error("no [transport] configured")]
    NoTransport,
    /// A `call` action with no handler registered.
    #[error("no handler registered for {0:?}")]
    NoHandler(String),
    /// The handler failed.
    #[error("handler {handler:?} failed: {source}")]
    Handler {
        /// The handler's name.
        handler: String,
        /// What it said.
        source: super::HandlerError,
    },
}

impl ActionError {
    /// Whether the message should stay claimed and be tried again (a timeout) rather than go to
    /// quarantine.
    pub fn is_retried(&self) -> bool {
        matches!(self, ActionError::TimedOut { .. })
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> ActionError + '_ {
    move |source| ActionError::Io { path: path.to_path_buf(), source }
}

/// Why a message's actions stopped: quarantine it, or (a program timed out) try it again later.
pub(crate) struct Failed {
    pub(crate) reason: String,
    pub(crate) retry: bool,
}

impl Failed {
    fn new(rule: &Rule, action: &Action, e: &ActionError) -> Failed {
        Failed { reason: format!("rule {:?}, action {}: {e}", rule.name, kind(action)), retry: e.is_retried() }
    }
}

/// What the actions of one message did: the rules that matched, a record per action done, and
/// the moves and flags for after the commit.
pub(crate) struct Acted {
    pub(crate) rules: Vec<String>,
    pub(crate) actions: Vec<Value>,
    pub(crate) finals: Vec<Action>,
}

/// What a message's actions share: who sent it (its authenticated domain, when checked) and
/// the moves and flags for after the commit.
struct Done<'a> {
    sender: Option<&'a str>,
    finals: &'a mut Vec<Action>,
}

/// Why a reply to `to` would be backscatter: the sender is not authenticated, or a reply
/// address lies outside its authenticated domain (a signed message naming someone else in
/// `Reply-To:`). `None` when the reply may go.
fn backscatter(to: &[String], sender: Option<&str>) -> Option<String> {
    let Some(domain) = sender else {
        return Some("the sender is not authenticated; no reply to a From: anyone can forge".into());
    };
    let outside = to.iter().find(|a| !in_domain(a.rsplit_once('@').map_or("", |(_, d)| d), domain));
    outside.map(|a| format!("the reply address {a} is outside the authenticated domain {domain}"))
}

/// Whether `d` is `domain` or below it (DMARC's relaxed alignment).
#[cfg(feature = "smtp")]
fn in_domain(d: &str, domain: &str) -> bool {
    crate::auth::aligned(domain, d.trim_end_matches('.'))
}

/// Without sender checks no domain is authenticated, so nothing is in one.
#[cfg(not(feature = "smtp"))]
fn in_domain(_: &str, _: &str) -> bool {
    false
}

/// What the earlier actions of a rule made: the saved files and their folder.
#[derive(Default)]
struct Outputs {
    files: Vec<PathBuf>,
    dir: Option<PathBuf>,
}

impl Bot {
    /// Runs the matching rules' actions in order; the first failure stops them.
    pub(crate) fn act(&mut self, m: &Claimed<'_>) -> Result<Acted, Failed> {
        let shared = match &m.shared {
            Ok(s) => s,
            Err(e) => return Err(Failed { reason: format!("unreadable message: {e}"), retry: false }),
        };
        let msg = shared.message();
        let mut acted = Acted { rules: Vec::new(), actions: Vec::new(), finals: Vec::new() };
        let mut sender = None;
        let matching = self.matching(msg, &mut sender).map_err(|reason| Failed { reason, retry: true })?;
        if sender.is_none() && matching.iter().any(|(r, _)| self.rules.checks_replies(r)) {
            sender = Some(self.authenticated_domain(msg).map_err(|reason| Failed { reason, retry: true })?);
        }
        let sender = sender.flatten();
        for (rule, attachments) in matching {
            acted.rules.push(rule.name.clone());
            let mut out = Outputs::default();
            for action in &rule.actions {
                let t = Instant::now();
                let done = Done { sender: sender.as_deref(), finals: &mut acted.finals };
                let result = self.run_action(action, m, shared, &attachments, &mut out, done);
                let mut line = json!({"event": "action", "rule": rule.name, "action": kind(action), "hash": m.hash,
                                      "ms": t.elapsed().as_millis() as u64});
                match result {
                    Ok(detail) => {
                        line["ok"] = true.into();
                        line["detail"] = detail;
                        (self.log)(&line);
                        acted.actions.push(json!({"rule": rule.name, "action": kind(action)}));
                    }
                    Err(e) => {
                        line["ok"] = false.into();
                        line["error"] = e.to_string().into();
                        (self.log)(&line);
                        return Err(Failed::new(&rule, action, &e));
                    }
                }
            }
        }
        Ok(acted)
    }

    /// One action; returns what the log line says it did.
    fn run_action(
        &mut self,
        action: &Action,
        m: &Claimed<'_>,
        shared: &Arc<SharedMessage>,
        attachments: &[&Part<'_>],
        out: &mut Outputs,
        done: Done<'_>,
    ) -> Result<Value, ActionError> {
        let msg = shared.message();
        match action {
            Action::Save { dir } => {
                let (folder, saved) = save(dir, m.hash, msg, attachments)?;
                out.files = saved;
                out.dir = Some(folder.clone());
                Ok(json!({"dir": folder, "files": out.files}))
            }
            Action::Dissect { dir } => {
                let (folder, saved) = dissect(dir, m.hash, msg)?;
                if out.files.is_empty() {
                    out.files = saved;
                }
                out.dir = Some(folder.clone());
                Ok(json!({"dir": folder}))
            }
            Action::Run { command } => {
                if out.files.is_empty() && command.iter().any(|a| a.contains("{file}")) {
                    let (folder, saved) = save(&self.state.join("files"), m.hash, msg, attachments)?;
                    out.files = saved;
                    out.dir.get_or_insert(folder);
                }
                let timeout = Duration::from_secs(self.rules.bot.run_timeout);
                let cmds = expand(command, &out.files, msg, &m.entry.path, m.hash, out.dir.as_deref())?;
                cmds.iter().try_for_each(|c| run(c, timeout))?;
                Ok(json!({"commands": cmds}))
            }
            Action::Print { command } => {
                let shown = if out.files.is_empty() { planned_files(msg, attachments) } else { out.files.clone() };
                let cmds = expand(command, &shown, msg, &m.entry.path, m.hash, out.dir.as_deref())?;
                let shell: Vec<String> = cmds.iter().map(|c| shell_quote(c)).collect();
                Ok(json!({"commands": cmds, "shell": shell}))
            }
            Action::Reply { text } => {
                let reply = MessageBuilder::reply(msg);
                if !self.rules.bot.reply_unauthenticated
                    && let Some(why) = backscatter(&reply.recipients(), done.sender)
                {
                    return Ok(json!({"skipped": why}));
                }
                Ok(json!({"message_id": self.sender.reply(reply, msg, text, m.hash)?}))
            }
            Action::Forward { to, text } => Ok(json!({"message_id": self.sender.forward(msg, to, text, m.hash)?})),
            Action::Call { handler } => {
                let paths: Vec<String> = attachments.iter().map(|p| p.path().to_string()).collect();
                let call = self.call.as_mut().ok_or_else(|| ActionError::NoHandler(handler.clone()))?;
                call(&Call { handler, message: shared, attachments: &paths, file: &m.entry.path })
                    .map_err(|source| ActionError::Handler { handler: handler.clone(), source })?;
                Ok(json!({"handler": handler}))
            }
            Action::Move { .. } | Action::Flag { .. } => {
                done.finals.push(action.clone());
                Ok(json!({"when": "after commit"}))
            }
        }
    }
}

/// The names the selected attachments would be saved under (for `print` before any `save`).
pub(crate) fn planned_files(msg: &Message<'_>, attachments: &[&Part<'_>]) -> Vec<PathBuf> {
    attachments.iter().map(|p| PathBuf::from(crate::dissect::file_name(msg, p))).collect()
}

/// An action's name, as the rules file and the log write it.
pub(crate) fn kind(a: &Action) -> &'static str {
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

/// Writes into `parent/<hash>.tmp`, then renames to `parent/<hash>`; an existing result is kept.
fn keyed_output(
    parent: &Path,
    hash: &str,
    write: impl FnOnce(&Path) -> Result<(), ActionError>,
) -> Result<PathBuf, ActionError> {
    let out = parent.join(&hash[..16]);
    if out.is_dir() {
        return Ok(out);
    }
    crate::files::create_private_dir_all(parent).map_err(io_at(parent))?;
    // What a run killed in the middle of this output left behind.
    let stale = format!(".{}.tmp", &hash[..16]);
    for e in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        if e.file_name().to_str().is_some_and(|n| n.starts_with(&stale)) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    let tmp = parent.join(format!("{stale}{}", std::process::id()));
    crate::files::create_private_dir(&tmp).map_err(io_at(&tmp))?;
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &out).map_err(io_at(&out))?;
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
) -> Result<(PathBuf, Vec<PathBuf>), ActionError> {
    let out = keyed_output(parent, hash, |tmp| {
        let folder = Folder::open_root(tmp).map_err(io_at(tmp))?;
        for p in attachments {
            let name = crate::dissect::file_name(msg, p);
            let (mut f, used) = folder.create_file(&name).map_err(io_at(&tmp.join(&name)))?;
            f.write_all(p.decoded()).and_then(|_| f.sync_all()).map_err(io_at(&tmp.join(used)))?;
        }
        Ok(())
    })?;
    let files = listing(&out, None);
    Ok((out, files))
}

fn dissect(parent: &Path, hash: &str, msg: &Message<'_>) -> Result<(PathBuf, Vec<PathBuf>), ActionError> {
    let out = keyed_output(parent, hash, |tmp| {
        let folder = Folder::open_root(tmp).map_err(io_at(tmp))?;
        let (mut f, _) = folder.create_file(MANIFEST).map_err(io_at(&tmp.join(MANIFEST)))?;
        let d = crate::dissect::dissect(msg, &DissectOptions::new(tmp))?;
        let manifest = serde_json::to_vec_pretty(&d.manifest).map_err(|e| io_at(&tmp.join(MANIFEST))(e.into()))?;
        f.write_all(&manifest).and_then(|_| f.sync_all()).map_err(io_at(&tmp.join(MANIFEST)))
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
pub(crate) fn expand(
    command: &[String],
    files: &[PathBuf],
    msg: &Message<'_>,
    message: &Path,
    hash: &str,
    dir: Option<&Path>,
) -> Result<Vec<Vec<String>>, ActionError> {
    let from = msg.from().iter().find_map(|a| a.address.clone()).unwrap_or_default();
    let subject = msg.subject().unwrap_or_default().to_string();
    let message = path_arg(message);
    let dir = dir.map(path_arg).unwrap_or_default();
    let fill_one = |arg: &str, file: Option<&str>| -> Result<String, ActionError> {
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
            return Err(ActionError::OptionLike { argument: out, program: command[0].clone() });
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
pub(crate) fn fill(text: &str, msg: &Message<'_>) -> String {
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
fn run(argv: &[String], timeout: Duration) -> Result<(), ActionError> {
    let (program, args) = argv.split_first().ok_or(ActionError::EmptyCommand)?;
    let failed = |source: io::Error| ActionError::Spawn { program: program.clone(), source };
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::null()).env_clear();
    cmd.envs(std::env::vars_os().filter(|(k, _)| k.to_str().is_some_and(child_keeps)));
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(failed)?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait().map_err(failed)? {
            Some(s) if s.success() => return Ok(()),
            Some(status) => return Err(ActionError::Exited { program: program.clone(), status }),
            None if Instant::now() > deadline => {
                #[cfg(unix)]
                let _ = rustix::process::kill_process_group(
                    rustix::process::Pid::from_child(&child),
                    rustix::process::Signal::KILL,
                );
                let _ = child.kill();
                let _ = child.wait();
                return Err(ActionError::TimedOut { program: program.clone(), seconds: timeout.as_secs() });
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// The command as a shell would need it typed (for printing only; never executed). A NUL byte,
/// which no argument can hold, shows as `␀`.
pub fn shell_quote(argv: &[String]) -> String {
    let shown: Vec<String> = argv.iter().map(|a| a.replace('\0', "␀")).collect();
    shlex::try_join(shown.iter().map(String::as_str)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_for_display() {
        let argv: Vec<String> =
            ["lpr", "-P", "office", "/tmp/a b/Résumé's.pdf"].iter().map(|s| s.to_string()).collect();
        let shown = shell_quote(&argv);
        assert_eq!(shlex::split(&shown), Some(argv), "{shown}");
        for hostile in ["$(rm -rf ~)", "`id`", "a;b", "x\ny", "-n", "*", "~", "'\"", ""] {
            // What a real shell makes of the printed line is the argument itself.
            let shown = shell_quote(&["printf".into(), "%s".into(), hostile.to_string()]);
            let out = std::process::Command::new("sh").arg("-c").arg(&shown).output().expect("sh");
            assert_eq!(String::from_utf8_lossy(&out.stdout), hostile, "{shown}");
        }
        assert_eq!(shell_quote(&["a\0b".into()]), "'a␀b'");
    }
}
