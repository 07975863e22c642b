//! `imapSync`: IMAP folders into a Maildir.

use std::path::PathBuf;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::Failure;
use crate::tasks::{Job, Json, same};

/// Options of `imapSync`.
#[napi(object)]
pub struct ImapSyncOptions {
    /// `imaps://host[:port]` or `imap://host[:port]` (STARTTLS), or a list of replicas (the
    /// first that answers is used).
    #[napi(ts_type = "string | string[]")]
    pub url: Either<String, Vec<String>>,
    /// The account.
    pub user: String,
    /// Its password (not needed with an OAuth2 token).
    pub password: Option<String>,
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
    /// Seconds for each response (60).
    pub timeout: Option<f64>,
    /// Seconds a server may take to connect and greet before the next is tried (10).
    pub connect_timeout: Option<f64>,
    /// Messages per commit (500): a kill loses at most this much progress, never a message.
    pub batch: Option<u32>,
    /// Log in with the OAuth2 bearer token in this file (read at every login).
    pub oauth2_token_file: Option<String>,
    /// Log in with the OAuth2 bearer token this program prints (argv, no shell).
    pub oauth2_token_command: Option<Vec<String>>,
    /// `xoauth2` (default) or `oauthbearer`.
    pub oauth2_mechanism: Option<String>,
    /// `one-way` (default) or `two-way`: also sync \Seen, \Answered, \Flagged, \Deleted
    /// and \Draft with the Maildir's flags, both ways.
    #[napi(ts_type = "'one-way' | 'two-way'")]
    pub flags: Option<String>,
    /// With two-way flags, propagate deletions both ways.
    pub expunge: Option<bool>,
}

/// Copies what is new in the IMAP folders into the Maildir (each message once, state kept
/// beside the Maildir); resolves to one report per folder.
#[napi(ts_return_type = "Promise<any[]>")]
pub fn imap_sync(options: ImapSyncOptions) -> AsyncTask<Job<Json, Json>> {
    Job::new(
        move || {
            let o = options;
            let maildir = PathBuf::from(&o.maildir);
            let sync = mailwright::fetch::SyncOptions {
                servers: match o.url {
                    Either::A(one) => vec![one],
                    Either::B(many) => many,
                },
                user: o.user,
                password: o.password,
                folders: o.folders.unwrap_or_default(),
                ca_file: o.ca_file.map(PathBuf::from),
                insecure: o.insecure.unwrap_or(false),
                allow_plaintext: o.allow_plaintext.unwrap_or(false),
                auth_plain: o.auth_plain.unwrap_or(false),
                timeout: o.timeout,
                connect_timeout: o.connect_timeout,
                batch: o.batch.map(|n| n as usize),
                oauth2_token_file: o.oauth2_token_file.map(PathBuf::from),
                oauth2_token_command: o.oauth2_token_command,
                oauth2_mechanism: o.oauth2_mechanism,
                flags: o.flags,
                expunge: o.expunge.unwrap_or(false),
            };
            let out = sync.sync(&maildir).map_err(Failure::from)?;
            serde_json::to_value(&out).map(Json).map_err(|e| Failure::new("fetch", e.to_string()))
        },
        same,
    )
}
