//! The rules file (TOML) and how a rule matches a message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::parse::{Message, Part};

/// A whole rules file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Where messages come from.
    pub source: Source,
    /// How the bot keeps its state.
    #[serde(default)]
    pub bot: Settings,
    /// How replies and forwards leave.
    pub transport: Option<TransportSpec>,
    /// The rules, in order.
    #[serde(default, rename = "rule")]
    pub rules: Vec<Rule>,
}

/// The Maildir the bot works on, optionally filled from an IMAP account first.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The Maildir.
    pub maildir: PathBuf,
    /// `imap://HOST` or `imaps://HOST` to sync from before each cycle; a list names replicas
    /// of the account, tried in order (the first that answers is used).
    #[serde(default, deserialize_with = "one_or_many")]
    pub imap: Vec<String>,
    /// Seconds an IMAP server may take to connect and greet before the next is tried.
    pub connect_timeout: Option<u64>,
    /// IMAP user.
    pub user: Option<String>,
    /// File with the IMAP password (else `MAILWRIGHT_PASSWORD`).
    pub password_file: Option<PathBuf>,
    /// IMAP folders (INBOX when empty).
    #[serde(default)]
    pub folders: Vec<String>,
    /// Extra CA for IMAP.
    pub ca_file: Option<PathBuf>,
    /// AUTHENTICATE PLAIN instead of LOGIN.
    #[serde(default)]
    pub auth_plain: bool,
    /// Log in with the OAuth2 bearer token in this file (read again at every login).
    pub oauth2_token_file: Option<PathBuf>,
    /// Log in with the OAuth2 bearer token this program prints (argv, no shell).
    pub oauth2_token_command: Option<Vec<String>>,
    /// `xoauth2` (the default) or `oauthbearer`.
    pub oauth2_mechanism: Option<String>,
    /// `one-way` (the default) or `two-way`: flags synced both ways, so that a message the
    /// bot marks seen is seen on the server too.
    pub flags: Option<String>,
    /// With two-way flags, propagate deletions both ways. Messages the bot moves to its done
    /// or quarantine folder leave the synced folder, so this removes them from the server.
    #[serde(default)]
    pub expunge: bool,
}

/// A string, or a list of them.
pub(crate) fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// Where the bot keeps its ledger and where handled and failed messages go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The state folder: ledger, lock, quarantine reasons (default: `.mailwright-bot` beside the
    /// rules file).
    pub state: Option<PathBuf>,
    /// Maildir++ folder of the source for handled messages; empty keeps them in the source's
    /// `cur/` with the Seen flag.
    #[serde(default = "default_done")]
    pub done: String,
    /// Maildir++ folder of the source for messages whose actions failed.
    #[serde(default = "default_quarantine")]
    pub quarantine: String,
    /// Seconds a program run by a rule may take; its whole process group is killed after that.
    #[serde(default = "default_timeout")]
    pub run_timeout: u64,
    /// How many more times a message is tried when its handling was cut short (the bot died,
    /// a program timed out) before it is quarantined.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Believe the `Authentication-Results` of this server (the MTA that fills the Maildir)
    /// for `authenticated` conditions, instead of checking DKIM, SPF and DMARC again.
    pub trust_authserv: Option<String>,
    /// Check SPF for the client this host (the MTA that fills the Maildir) recorded in its
    /// topmost `Received:` field, with `Return-Path:` as MAIL FROM; without it the bot's own
    /// checks are DKIM and DMARC's DKIM alignment only.
    pub trust_received: Option<String>,
    /// Send `reply` actions' replies to senders that are not authenticated. Off by default: a
    /// reply goes only to addresses in the sender's authenticated domain, so a forged `From:`
    /// or `Reply-To:` cannot turn the bot into a source of backscatter.
    #[serde(default)]
    pub reply_unauthenticated: bool,
    /// Name servers for the bot's own checks (`IP[:PORT]`); the system's when empty.
    #[serde(default)]
    pub resolver: Vec<String>,
    /// TXT records answered without DNS (name → record; an empty record: no such name): for
    /// tests and demos that check a signature of their own with no name server. Real mail
    /// needs none.
    #[serde(default)]
    pub dns_records: BTreeMap<String, String>,
}

fn default_done() -> String {
    "Handled".into()
}
fn default_quarantine() -> String {
    "Quarantine".into()
}
fn default_timeout() -> u64 {
    300
}
fn default_retries() -> u32 {
    3
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            state: None,
            done: default_done(),
            quarantine: default_quarantine(),
            run_timeout: default_timeout(),
            retries: default_retries(),
            trust_authserv: None,
            trust_received: None,
            reply_unauthenticated: false,
            resolver: Vec::new(),
            dns_records: BTreeMap::new(),
        }
    }
}

/// How replies and forwards are sent: exactly one of the destinations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransportSpec {
    /// The From of replies and forwards.
    pub from: String,
    /// Queue into this outbox (a separate `mailwright queue flush` sends it).
    pub outbox: Option<PathBuf>,
    /// Deliver into this Maildir.
    pub maildir: Option<PathBuf>,
    /// Submit to `smtp://…` / `smtps://…`.
    pub smtp: Option<String>,
    /// SMTP user.
    pub user: Option<String>,
    /// File with the SMTP password (else `MAILWRIGHT_PASSWORD`).
    pub password_file: Option<PathBuf>,
    /// Extra CA for SMTP.
    pub ca_file: Option<PathBuf>,
    /// SMTP AUTH with the OAuth2 bearer token in this file instead of a password.
    pub oauth2_token_file: Option<PathBuf>,
    /// SMTP AUTH with the OAuth2 bearer token this program prints (argv, no shell).
    pub oauth2_token_command: Option<Vec<String>>,
    /// `xoauth2` or `oauthbearer` (default: what the server offers, OAUTHBEARER first).
    pub oauth2_mechanism: Option<String>,
}

/// One rule: every condition given must hold (AND); a list matches when any entry does (OR).
/// Patterns are globs (`*`, `?`), compared without regard to case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Its name, in the log.
    pub name: String,
    /// Sender address patterns.
    #[serde(default)]
    pub from: Vec<String>,
    /// Recipient (To or Cc) address patterns.
    #[serde(default)]
    pub to: Vec<String>,
    /// Subject patterns.
    #[serde(default)]
    pub subject: Vec<String>,
    /// Header name → pattern for its (decoded) value.
    #[serde(default)]
    pub header: BTreeMap<String, String>,
    /// Attachment content type patterns (`application/pdf`, `image/*`).
    #[serde(default)]
    pub attachment_type: Vec<String>,
    /// Attachment file name patterns (`*.pdf`).
    #[serde(default)]
    pub attachment_name: Vec<String>,
    /// Only mail whose sender is authenticated: DMARC (or, without a DMARC record, an aligned
    /// DKIM signature) proves the `From:` domain, by the bot's own check or the trusted server's.
    #[serde(default)]
    pub authenticated: bool,
    /// Only mail authenticated for one of these domain patterns (implies `authenticated`).
    #[serde(default)]
    pub authenticated_domain: Vec<String>,
    /// Stop looking at later rules when this one matches.
    #[serde(default)]
    pub stop: bool,
    /// What to do, in order.
    #[serde(default, rename = "action")]
    pub actions: Vec<Action>,
}

/// What a rule does. In commands, `{file}` runs the command once per attachment the rule saved
/// (the matching ones), and `{message}`, `{hash}`, `{from}`, `{subject}`, `{dir}` are replaced
/// inside arguments, once (what a value brings is not expanded again) — the command is an
/// argument vector, never a shell string. Message data never starts an argument with `-`: paths
/// are absolute or `./`-prefixed, and a command in which another value would is not run (the
/// message is quarantined with the reason).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Action {
    /// Dissect the whole message into `dir/<hash>/` (manifest included).
    Dissect {
        /// The folder.
        dir: PathBuf,
    },
    /// Save the matching attachments into `dir/<hash>/`.
    Save {
        /// The folder.
        dir: PathBuf,
    },
    /// Run a program.
    Run {
        /// Program and arguments.
        command: Vec<String>,
    },
    /// Print the command instead of running it.
    Print {
        /// Program and arguments.
        command: Vec<String>,
    },
    /// Reply to the sender (through `[transport]`).
    Reply {
        /// The text; `{subject}` and `{from}` are replaced.
        text: String,
    },
    /// Forward (through `[transport]`), the original attached.
    Forward {
        /// Recipients.
        to: Vec<String>,
        /// A note above the forwarded message.
        #[serde(default)]
        text: String,
    },
    /// Move the message into this Maildir++ folder of the source when done.
    Move {
        /// The folder name.
        folder: String,
    },
    /// Set these Maildir flags when done (`S`, `F`, …).
    Flag {
        /// The flags.
        flags: String,
    },
    /// Call a handler registered with [`Bot::on_call`](super::Bot::on_call) under this name
    /// (how the Python and Node bindings run their own functions).
    Call {
        /// The handler's name.
        handler: String,
    },
}

/// Why a rules file is unusable.
#[derive(Debug, thiserror::Error)]
#[error("rules file {path}: {detail}")]
pub struct RulesError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub detail: String,
}

impl Rules {
    /// What the rules allow that is probably a mistake: a rule that replies, forwards or runs a
    /// program for mail chosen by `from` alone (anyone can write any `From:`).
    pub fn warnings(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter(|r| !r.from.is_empty() && !r.needs_authentication())
            .filter(|r| {
                r.actions
                    .iter()
                    .any(|a| matches!(a, Action::Reply { .. } | Action::Forward { .. } | Action::Run { .. }))
            })
            .map(|r| {
                format!(
                    "rule {:?} replies, forwards or runs a program for mail chosen by `from` alone, which anyone can \
                     forge; add `authenticated = true`",
                    r.name
                )
            })
            .collect()
    }

    /// Whether the bot must find out who really sent a message: a rule asks, or a rule replies
    /// and replies go only to authenticated senders.
    pub fn need_authentication(&self) -> bool {
        self.rules.iter().any(|r| r.needs_authentication() || self.checks_replies(r))
    }

    /// Whether `rule`'s replies are held back from senders that are not authenticated.
    pub(crate) fn checks_replies(&self, rule: &Rule) -> bool {
        !self.bot.reply_unauthenticated && rule.actions.iter().any(|a| matches!(a, Action::Reply { .. }))
    }

    /// Reads and checks a rules file; relative paths in it are taken from its folder.
    pub fn load(path: &Path) -> Result<Rules, RulesError> {
        let err = |detail: String| RulesError { path: path.to_path_buf(), detail };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let mut rules: Rules = toml::from_str(&text).map_err(|e| err(e.to_string().replace('\n', " ")))?;
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let base = parent.canonicalize().map_err(|e| err(e.to_string()))?;
        rules.resolve(&base);
        if rules.bot.state.is_none() {
            rules.bot.state = Some(base.join(".mailwright-bot"));
        }
        rules.check(path)?;
        Ok(rules)
    }

    /// Parses rules from TOML text (paths relative to `base`).
    pub fn from_toml(text: &str, base: &Path) -> Result<Rules, RulesError> {
        let err = |detail: String| RulesError { path: base.to_path_buf(), detail };
        let rules: Rules = toml::from_str(text).map_err(|e| err(e.to_string().replace('\n', " ")))?;
        rules.finish(base)
    }

    /// Parses rules from JSON of the same shape as the TOML file (`source`, `bot`, `transport`,
    /// `rule: [{name, …, action: [{type, …}]}]`), paths relative to `base`.
    pub fn from_json(text: &str, base: &Path) -> Result<Rules, RulesError> {
        let err = |detail: String| RulesError { path: base.to_path_buf(), detail };
        let rules: Rules = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
        rules.finish(base)
    }

    /// Adds the rules in `json` (an array of rules, each of the shape of a file's `[[rule]]`
    /// table) after these ones, relative paths in them from `base`; checks them. How the bindings
    /// add rules made in code to a rules file.
    pub fn add_json_rules(&mut self, json: &str, base: &Path) -> Result<(), RulesError> {
        let err = |detail: String| RulesError { path: base.to_path_buf(), detail };
        let list: serde_json::Value = serde_json::from_str(json).map_err(|e| err(e.to_string()))?;
        let doc = serde_json::json!({ "source": { "maildir": "" }, "rule": list });
        let added = Rules::from_json(&doc.to_string(), base)?;
        self.rules.extend(added.rules);
        Ok(())
    }

    fn finish(mut self, base: &Path) -> Result<Rules, RulesError> {
        let rules = &mut self;
        rules.resolve(base);
        if rules.bot.state.is_none() {
            rules.bot.state = Some(base.join(".mailwright-bot"));
        }
        rules.check(base)?;
        Ok(self)
    }

    fn resolve(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.source.maildir);
        for p in [
            &mut self.source.password_file,
            &mut self.source.ca_file,
            &mut self.source.oauth2_token_file,
            &mut self.bot.state,
        ]
        .into_iter()
        .flatten()
        {
            fix(p);
        }
        if let Some(t) = &mut self.transport {
            for p in [&mut t.outbox, &mut t.maildir, &mut t.password_file, &mut t.ca_file, &mut t.oauth2_token_file]
                .into_iter()
                .flatten()
            {
                fix(p);
            }
        }
        for r in &mut self.rules {
            for a in &mut r.actions {
                if let Action::Dissect { dir } | Action::Save { dir } = a {
                    fix(dir);
                }
            }
        }
    }

    /// The rules as a whole: what TOML's types cannot say.
    fn check(&self, path: &Path) -> Result<(), RulesError> {
        let err = |detail: String| Err(RulesError { path: path.to_path_buf(), detail });
        for r in &self.rules {
            for a in &r.actions {
                match a {
                    Action::Run { command } | Action::Print { command } if command.is_empty() => {
                        return err(format!("rule {:?}: a command needs at least a program", r.name));
                    }
                    Action::Reply { .. } | Action::Forward { .. } if self.transport.is_none() => {
                        return err(format!("rule {:?}: reply and forward need a [transport] section", r.name));
                    }
                    Action::Move { folder } if folder.is_empty() || folder.contains('/') => {
                        return err(format!("rule {:?}: {folder:?} is not a folder name", r.name));
                    }
                    _ => {}
                }
            }
        }
        if !self.source.imap.is_empty() && self.source.user.is_none() {
            return err("[source] imap needs user".into());
        }
        let flags = self.source.flags.as_deref().unwrap_or("one-way");
        if !matches!(flags, "one-way" | "two-way") {
            return err(format!("[source] flags {flags:?} is not \"one-way\" or \"two-way\""));
        }
        if self.source.expunge && flags != "two-way" {
            return err("[source] expunge needs flags = \"two-way\"".into());
        }
        if let Some(t) = &self.transport {
            let n = [t.outbox.is_some(), t.maildir.is_some(), t.smtp.is_some()].iter().filter(|x| **x).count();
            if n != 1 {
                return err("[transport] needs exactly one of outbox, maildir, smtp".into());
            }
        }
        Ok(())
    }
}

/// Case-insensitive glob: `*` any run, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn any(patterns: &[String], values: &[String]) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| values.iter().any(|v| glob(p, v)))
}

impl Rule {
    /// Whether the rule asks who really sent the message.
    pub fn needs_authentication(&self) -> bool {
        self.authenticated || !self.authenticated_domain.is_empty()
    }

    /// Whether `domain` (the sender's authenticated domain, if any) satisfies the rule's
    /// authentication conditions.
    pub fn authentication_matches(&self, domain: Option<&str>) -> bool {
        if !self.needs_authentication() {
            return true;
        }
        domain.is_some_and(|d| any(&self.authenticated_domain, &[d.to_string()]))
    }

    /// Whether the rule matches; with the attachments it selects (all of them when it sets no
    /// attachment condition).
    pub fn matches<'m, 'a>(&self, msg: &'m Message<'a>) -> Option<Vec<&'m Part<'a>>> {
        let addrs = |list: &[crate::parse::Address]| -> Vec<String> {
            list.iter().filter_map(|a| a.address.clone()).collect::<Vec<_>>()
        };
        if !any(&self.from, &addrs(msg.from())) {
            return None;
        }
        let mut rcpts = addrs(msg.to());
        rcpts.extend(addrs(msg.cc()));
        if !any(&self.to, &rcpts) {
            return None;
        }
        if !any(&self.subject, &[msg.subject().unwrap_or_default().to_string()]) {
            return None;
        }
        for (name, pattern) in &self.header {
            let values: Vec<String> = msg
                .parts()
                .first()
                .map(|root| {
                    root.headers().iter().filter(|h| h.name().eq_ignore_ascii_case(name)).map(|h| h.text()).collect()
                })
                .unwrap_or_default();
            if !values.iter().any(|v| glob(pattern, v.trim())) {
                return None;
            }
        }
        let attachments: Vec<&Part<'a>> = msg
            .attachments()
            .filter(|p| any(&self.attachment_type, &[p.content_type().to_string()]))
            .filter(|p| {
                self.attachment_name.is_empty()
                    || p.filename().is_some_and(|n| any(&self.attachment_name, &[n.to_string()]))
            })
            .collect();
        if (!self.attachment_type.is_empty() || !self.attachment_name.is_empty()) && attachments.is_empty() {
            return None;
        }
        Some(attachments)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*@example.org", "Jane@Example.ORG"));
        assert!(glob("*.pdf", "Résumé 季度.PDF"));
        assert!(glob("a?c", "abc") && !glob("a?c", "abbc"));
        assert!(glob("*", "") && glob("**x*", "yyx"));
        assert!(!glob("*.pdf", "x.pdf.exe"));
        assert!(glob("invoice", "INVOICE") && !glob("invoice", "invoices"));
    }

    #[test]
    fn bad_rules_are_refused() {
        let base = Path::new("/tmp");
        let ok = "[source]\nmaildir = \"M\"\n[[rule]]\nname = \"r\"\n[[rule.action]]\ntype = \"print\"\ncommand = [\"lpr\", \"{file}\"]\n";
        let r = Rules::from_toml(ok, base).expect("ok");
        assert_eq!(r.source.maildir, Path::new("/tmp/M"));
        assert_eq!(r.bot.state.as_deref(), Some(Path::new("/tmp/.mailwright-bot")));
        let two_way = "[source]\nmaildir = \"M\"\nflags = \"two-way\"\nexpunge = true\n";
        assert!(Rules::from_toml(two_way, base).expect("two-way").source.expunge);
        for bad in [
            "[source]\nmaildir = \"M\"\nunknown = 1\n",
            "[source]\nmaildir = \"M\"\n[[rule]]\nname = \"r\"\n[[rule.action]]\ntype = \"run\"\ncommand = []\n",
            "[source]\nmaildir = \"M\"\n[[rule]]\nname = \"r\"\n[[rule.action]]\ntype = \"reply\"\ntext = \"x\"\n",
            "[source]\nmaildir = \"M\"\n[[rule]]\nname = \"r\"\n[[rule.action]]\ntype = \"shell\"\ncommand = \"rm -rf /\"\n",
            "[source]\nmaildir = \"M\"\n[transport]\nfrom = \"a@b\"\n",
            "[source]\nmaildir = \"M\"\nflags = \"both\"\n",
            "[source]\nmaildir = \"M\"\nexpunge = true\n",
        ] {
            assert!(Rules::from_toml(bad, base).is_err(), "{bad}");
        }
    }
}
