//! A migration as a caller describes it (URLs, a users file, numbers): one set of defaults and
//! checks for the command line and the bindings.

use std::path::PathBuf;
use std::time::Duration;

use super::{Endpoint, Mailbox, MaildirRoot, MigrateError, Options, folders, users};
use crate::fetch::ImapConfig;

/// What `mailwright migrate` and `mailwright.migrate()` take.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The old system: `imap://HOST[:PORT]` (STARTTLS), `imaps://HOST[:PORT]`, or a Maildir per
    /// account, `maildir:/var/mail/%d/%n/Maildir` (`%u` user, `%n` before `@`, `%d` after; add
    /// `:LAYOUT=fs` for one directory per folder).
    pub from: String,
    /// The new system, likewise.
    pub to: String,
    /// The users file (CSV `source_user,source_password,dest_user,dest_password`).
    pub users: PathBuf,
    /// Swap the users file's columns (the rollback's reverse delta: `from` is then the new
    /// server, `to` the old one).
    pub reverse: bool,
    /// The state folder (default `migrate-state`).
    pub state: Option<PathBuf>,
    /// Mailboxes at once (default 4).
    pub jobs: Option<usize>,
    /// `OLD=NEW` folder rules.
    pub maps: Vec<String>,
    /// `I/N`: every N-th mailbox from the I-th.
    pub shard: Option<String>,
    /// Skip the proof after copying.
    pub no_verify: bool,
    /// Only size up.
    pub dry_run: bool,
    /// Messages a second, over all jobs.
    pub max_messages_per_second: Option<f64>,
    /// Bytes a second, over all jobs.
    pub max_bytes_per_second: Option<f64>,
    /// Reconnects per mailbox (default 8).
    pub retries: Option<u32>,
    /// The first wait before a reconnect, in seconds (default 1; it doubles up to a minute).
    pub backoff: Option<f64>,
    /// Seconds allowed for each response (default 120).
    pub timeout: Option<f64>,
    /// An extra CA (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate checks (tests only).
    pub insecure: bool,
    /// Permit a server without STARTTLS.
    pub allow_plaintext: bool,
}

impl Settings {
    fn endpoint(&self, url: &str) -> Result<Endpoint, MigrateError> {
        match MaildirRoot::parse(url)? {
            Some(root) => Ok(Endpoint::Maildir(root)),
            None => Ok(Endpoint::Imap(self.server(url)?)),
        }
    }

    fn server(&self, url: &str) -> Result<ImapConfig, MigrateError> {
        let mut c = ImapConfig::from_url(url, "", "").map_err(|e| match e {
            crate::fetch::FetchError::Config(m) => MigrateError::Config(m),
            e => e.into(),
        })?;
        c.ca_file = self.ca_file.clone();
        c.insecure = self.insecure;
        c.allow_plaintext = self.allow_plaintext;
        c.timeout = seconds(self.timeout.unwrap_or(120.0), "timeout")?;
        Ok(c)
    }

    /// The options and the mailboxes (the users file read, the shard taken), or what is wrong.
    pub fn resolve(&self) -> Result<(Options, Vec<Mailbox>), MigrateError> {
        let mut mailboxes = users::read_users(&self.users)?;
        if self.reverse {
            for m in &mut mailboxes {
                std::mem::swap(&mut m.source, &mut m.dest);
            }
        }
        if let Some(s) = &self.shard {
            let (i, n) = s
                .split_once('/')
                .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)))
                .ok_or_else(|| MigrateError::Config(format!("shard {s:?}: want I/N")))?;
            mailboxes = users::shard(mailboxes, i, n)?;
        }
        let state = self.state.clone().unwrap_or_else(|| PathBuf::from("migrate-state"));
        let mut o = Options::new(self.endpoint(&self.from)?, self.endpoint(&self.to)?, state);
        for (endpoint, source) in [(&o.from, true), (&o.to, false)] {
            if let Endpoint::Imap(_) = endpoint {
                for m in &mailboxes {
                    let login = if source { &m.source } else { &m.dest };
                    if login.password.is_empty() && login.oauth2.is_none() {
                        let which = if source { "source" } else { "destination" };
                        return Err(MigrateError::users(&self.users, m.line, format!("the {which} password is empty")));
                    }
                }
            }
            if let Endpoint::Maildir(root) = endpoint {
                // Every account its own Maildir, known before anything runs.
                let mut seen = std::collections::HashMap::new();
                for m in &mailboxes {
                    let user = if source { &m.source.user } else { &m.dest.user };
                    let path =
                        root.path_for(user).map_err(|e| MigrateError::users(&self.users, m.line, e.to_string()))?;
                    if let Some(line) = seen.insert(path.clone(), m.line) {
                        return Err(MigrateError::users(
                            &self.users,
                            m.line,
                            format!("{} is also line {line}'s Maildir: put %u or %n in the path", path.display()),
                        ));
                    }
                }
            }
        }
        o.jobs = match self.jobs {
            Some(0) => return Err(MigrateError::Config("jobs must be at least 1".into())),
            Some(n) => n,
            None => o.jobs,
        };
        o.maps = self.maps.iter().map(|m| folders::parse_map(m)).collect::<Result<_, _>>()?;
        o.verify = !self.no_verify;
        o.dry_run = self.dry_run;
        for (name, rate) in [
            ("max_messages_per_second", self.max_messages_per_second),
            ("max_bytes_per_second", self.max_bytes_per_second),
        ] {
            if rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
                return Err(MigrateError::Config(format!("{name} must be a positive number")));
            }
        }
        o.max_messages_per_second = self.max_messages_per_second;
        o.max_bytes_per_second = self.max_bytes_per_second;
        o.retries = self.retries.unwrap_or(o.retries);
        if let Some(b) = self.backoff {
            o.backoff = seconds(b, "backoff")?;
        }
        Ok((o, mailboxes))
    }
}

fn seconds(s: f64, what: &str) -> Result<Duration, MigrateError> {
    if s.is_finite() && s > 0.0 && s < 1e7 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(MigrateError::Config(format!("{what} must be a positive number of seconds")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_numbers_and_urls_are_refused_before_anything_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let users = dir.path().join("u.csv");
        std::fs::write(&users, "a,pw,b,pw\n").expect("write");
        #[cfg(unix)]
        std::fs::set_permissions(&users, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        let empty = dir.path().join("empty.csv");
        std::fs::write(&empty, "a,,b,pw\n").expect("write");
        #[cfg(unix)]
        std::fs::set_permissions(&empty, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        let two = dir.path().join("two.csv");
        std::fs::write(&two, "a,pw,b,pw\nc,pw,d,pw\n").expect("write");
        #[cfg(unix)]
        std::fs::set_permissions(&two, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        let ok = Settings { from: "imaps://old".into(), to: "imap://new:1143".into(), users, ..Settings::default() };
        let (o, m) = ok.resolve().expect("resolves");
        assert_eq!((o.jobs, o.verify, m.len(), o.to.imap().map(|c| c.port)), (4, true, 1, Some(1143)));
        let md = Settings { to: "maildir:/srv/mail/%u:LAYOUT=fs".into(), ..ok.clone() };
        assert!(matches!(md.resolve().expect("resolves").0.to, Endpoint::Maildir(_)));
        // No password is needed on a Maildir side.
        let from_maildir = Settings { from: "maildir:/srv/%u".into(), users: empty.clone(), ..ok.clone() };
        assert!(from_maildir.resolve().is_ok());
        for bad in [
            Settings { jobs: Some(0), ..ok.clone() },
            Settings { timeout: Some(f64::NAN), ..ok.clone() },
            Settings { max_bytes_per_second: Some(-1.0), ..ok.clone() },
            Settings { shard: Some("3/2".into()), ..ok.clone() },
            Settings { from: "http://old".into(), ..ok.clone() },
            Settings { maps: vec!["=x".into()], ..ok.clone() },
            // "b" has no domain for %d; a template without the user maps two lines to one place.
            Settings { to: "maildir:/srv/%d/%n".into(), ..ok.clone() },
            Settings { to: "maildir:/srv/%q".into(), ..ok.clone() },
            Settings { users: two.clone(), to: "maildir:/srv/one".into(), ..ok.clone() },
            Settings { users: empty.clone(), ..ok.clone() },
        ] {
            assert!(bad.resolve().is_err(), "{bad:?}");
        }
    }
}
