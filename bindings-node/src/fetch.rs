//! `imapSync`: IMAP folders into a Maildir.

use std::path::PathBuf;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::Failure;
use crate::tasks::{Job, Json, same};

/// Options of `imapSync`.
#[napi(object)]
pub struct ImapSyncOptions {
    /// `imaps://host[:port]` or `imap://host[:port]` (STARTTLS).
    pub url: String,
    /// The account.
    pub user: String,
    /// Its password.
    pub password: String,
    /// The Maildir to fill (INBOX → the Maildir, other folders → Maildir++ subfolders).
    pub maildir: String,
    /// Folders to sync (INBOX when empty).
    pub folders: Option<Vec<String>>,
    /// Extra CA certificate (PEM).
    pub ca_file: Option<String>,
    /// Do not verify certificates (tests only).
    pub insecure: Option<bool>,
    /// Allow IMAP without TLS.
    pub allow_plaintext: Option<bool>,
    /// AUTHENTICATE PLAIN instead of LOGIN.
    pub auth_plain: Option<bool>,
    /// Seconds for connecting and each response (60).
    pub timeout: Option<f64>,
}

/// Copies what is new in the IMAP folders into the Maildir (each message once, state kept
/// beside the Maildir); resolves to one report per folder.
#[napi(ts_return_type = "Promise<any[]>")]
pub fn imap_sync(options: ImapSyncOptions) -> AsyncTask<Job<Json, Json>> {
    use mailwright::fetch::{Fetcher, ImapAuth, ImapConfig};
    Job::new(
        move || {
            let fetch_err = Failure::from;
            let o = options;
            let mut c = ImapConfig::from_url(&o.url, &o.user, &o.password).map_err(fetch_err)?;
            c.ca_file = o.ca_file.map(PathBuf::from);
            c.insecure = o.insecure.unwrap_or(false);
            c.allow_plaintext = o.allow_plaintext.unwrap_or(false);
            c.auth = if o.auth_plain.unwrap_or(false) { ImapAuth::Plain } else { ImapAuth::Login };
            c.timeout = Duration::try_from_secs_f64(o.timeout.unwrap_or(60.0))
                .map_err(|_| Failure::usage("timeout must be a number of seconds"))?;
            let folders = o.folders.filter(|f| !f.is_empty()).unwrap_or_else(|| vec!["INBOX".into()]);
            let mut f = Fetcher::connect(c, std::path::Path::new(&o.maildir)).map_err(fetch_err)?;
            let mut out = Vec::new();
            for folder in &folders {
                out.push(f.sync_folder(folder, |_| {}).map_err(fetch_err)?);
            }
            f.logout();
            serde_json::to_value(&out).map(Json).map_err(|e| Failure::new("fetch", e.to_string()))
        },
        same,
    )
}
