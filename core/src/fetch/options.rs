//! A sync described as data: what the bindings' `imap_sync`/`imapSync` options say, read once
//! here so that every language gets the same defaults and the same checks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{FetchError, Fetcher, FlagMode, FolderReport, ImapAuth, ImapConfig};
use crate::oauth2::OAuth2;

/// The options of one sync. Unknown fields are refused.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncOptions {
    /// `imap[s]://HOST[:PORT]`, or several: replicas of the account, tried in order.
    #[serde(deserialize_with = "crate::bot::rules::one_or_many")]
    pub servers: Vec<String>,
    /// The account.
    pub user: String,
    /// Its password (not needed with an OAuth2 token).
    pub password: Option<String>,
    /// Folders to sync (INBOX when empty).
    pub folders: Vec<String>,
    /// An extra CA certificate (PEM).
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (tests only).
    pub insecure: bool,
    /// Permit a server without STARTTLS.
    pub allow_plaintext: bool,
    /// AUTHENTICATE PLAIN instead of LOGIN.
    pub auth_plain: bool,
    /// Seconds for each response (60).
    pub timeout: Option<f64>,
    /// Seconds a server may take to connect and greet before the next is tried (10).
    pub connect_timeout: Option<f64>,
    /// Messages per commit (500).
    pub batch: Option<usize>,
    /// Log in with the OAuth2 bearer token in this file.
    pub oauth2_token_file: Option<PathBuf>,
    /// Log in with the OAuth2 bearer token this program prints (argv, no shell).
    pub oauth2_token_command: Option<Vec<String>>,
    /// `xoauth2` (the IMAP default) or `oauthbearer`.
    pub oauth2_mechanism: Option<String>,
    /// `one-way` (the default) or `two-way`: also sync the flags both ways.
    pub flags: Option<String>,
    /// With two-way flags, propagate deletions both ways.
    pub expunge: bool,
}

fn seconds(name: &str, v: Option<f64>, default: u64) -> Result<Duration, FetchError> {
    match v {
        None => Ok(Duration::from_secs(default)),
        Some(s) => Duration::try_from_secs_f64(s)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| FetchError::Config(format!("{name} must be a positive number of seconds"))),
    }
}

impl SyncOptions {
    /// The OAuth2 login these options ask for, if any.
    pub fn oauth2(&self) -> Result<Option<OAuth2>, FetchError> {
        Ok(OAuth2::from_options(
            &self.user,
            self.oauth2_token_file.as_deref(),
            self.oauth2_token_command.as_deref(),
            self.oauth2_mechanism.as_deref(),
        )?)
    }

    /// One configuration per server, in order.
    pub fn configs(&self) -> Result<Vec<ImapConfig>, FetchError> {
        let first = self.servers.first().ok_or_else(|| FetchError::Config("no IMAP server given".into()))?;
        let oauth2 = self.oauth2()?;
        let password = match (&self.password, &oauth2) {
            (Some(p), _) => p.clone(),
            (None, Some(_)) => String::new(),
            (None, None) => return Err(FetchError::Config("a password or an OAuth2 token is needed".into())),
        };
        let mut c = ImapConfig::from_url(first, &self.user, &password)?;
        c.oauth2 = oauth2;
        c.ca_file = self.ca_file.clone();
        c.insecure = self.insecure;
        c.allow_plaintext = self.allow_plaintext;
        c.auth = if self.auth_plain { ImapAuth::Plain } else { ImapAuth::Login };
        c.timeout = seconds("timeout", self.timeout, 60)?;
        c.connect_timeout = seconds("connect_timeout", self.connect_timeout, 10)?;
        if let Some(n) = self.batch {
            c.limits.batch_messages = n.max(1);
        }
        c.flags = self.flags.as_deref().map(str::parse).transpose()?.unwrap_or_default();
        if self.expunge && c.flags != FlagMode::TwoWay {
            return Err(FetchError::Config("expunge needs two-way flags".into()));
        }
        c.expunge = self.expunge;
        c.for_servers(&self.servers)
    }

    /// The folders (INBOX when none were given).
    pub fn folders(&self) -> Vec<String> {
        if self.folders.is_empty() { vec!["INBOX".to_string()] } else { self.folders.clone() }
    }

    /// Connects to the first server that answers and syncs every folder into `maildir`: one
    /// report per folder.
    pub fn sync(&self, maildir: &Path) -> Result<Vec<FolderReport>, FetchError> {
        let mut f = Fetcher::connect_any(self.configs()?, maildir)?;
        let mut out = Vec::new();
        for folder in self.folders() {
            out.push(f.sync_folder(&folder, |_| {})?);
        }
        f.logout();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_read_as_the_bindings_give_them() {
        let o: SyncOptions = serde_json::from_value(serde_json::json!({
            "servers": ["imaps://a.example", "imap://b.example:1143"], "user": "u", "password": "p",
            "connect_timeout": 2.5, "batch": 50, "flags": "two-way", "expunge": true
        }))
        .expect("options");
        let c = o.configs().expect("configs");
        assert_eq!(c.len(), 2);
        assert_eq!((c[1].host.as_str(), c[1].port, c[1].implicit_tls), ("b.example", 1143, false));
        assert_eq!((c[0].connect_timeout, c[0].limits.batch_messages), (Duration::from_millis(2500), 50));
        assert_eq!(o.folders(), vec!["INBOX"]);
        assert!(c[1].flags == FlagMode::TwoWay && c[1].expunge);
        let one: SyncOptions = serde_json::from_value(serde_json::json!({"servers": "imaps://a.example", "user": "u",
                "oauth2_token_command": ["get-token", "--for", "u"], "oauth2_mechanism": "oauthbearer"}))
        .expect("options");
        let c = one.configs().expect("a token instead of a password");
        assert!(c[0].oauth2.is_some() && c.len() == 1);
        for bad in [
            serde_json::json!({"servers": [], "user": "u", "password": "p"}),
            serde_json::json!({"servers": "imaps://a", "user": "u"}),
            serde_json::json!({"servers": "imaps://a", "user": "u", "password": "p", "timeout": -1.0}),
            serde_json::json!({"servers": "http://a", "user": "u", "password": "p"}),
            serde_json::json!({"servers": "imaps://a", "user": "u", "oauth2_mechanism": "plain"}),
            serde_json::json!({"servers": "imaps://a", "user": "u", "password": "p", "flags": "both"}),
            serde_json::json!({"servers": "imaps://a", "user": "u", "password": "p", "expunge": true}),
        ] {
            let o: SyncOptions = serde_json::from_value(bad.clone()).expect("parses");
            assert!(o.configs().is_err(), "{bad}");
        }
        assert!(serde_json::from_value::<SyncOptions>(serde_json::json!({"sever": "x"})).is_err());
    }
}
