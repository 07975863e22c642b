//! `mailwright fetch`: one-way IMAP sync of folders into a Maildir.

use super::fail;
use std::path::PathBuf;
use std::time::Duration;

use super::{CliError, out};
use crate::fetch::{Fetcher, FolderReport, ImapAuth, ImapConfig};

/// Arguments of `mailwright fetch`. Exit codes: 0 synced, 75 the server could not be reached or
/// failed for now (retry later), 69 login refused, 1 usage.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The server: imap://HOST[:PORT] (STARTTLS, required; port 143) or imaps://HOST[:PORT] (993).
    #[arg(long)]
    imap: String,
    /// User name; the password comes from MAILWRIGHT_PASSWORD or --password-file.
    #[arg(long)]
    user: String,
    /// File whose first line is the password.
    #[arg(long = "password-file")]
    password_file: Option<PathBuf>,
    /// The local Maildir (created when missing); folders other than INBOX go to its Maildir++
    /// subfolders.
    #[arg(long)]
    maildir: PathBuf,
    /// IMAP folder to sync (repeatable; default INBOX).
    #[arg(long = "folder")]
    folders: Vec<String>,
    /// After syncing, wait for new mail with IMAP IDLE and sync again, until stopped.
    #[arg(long)]
    idle: bool,
    /// Log in with AUTHENTICATE PLAIN instead of LOGIN.
    #[arg(long = "auth-plain")]
    auth_plain: bool,
    /// Also trust this CA certificate (PEM).
    #[arg(long = "ca-file")]
    ca_file: Option<PathBuf>,
    /// Do not verify the server's certificate (tests only).
    #[arg(long)]
    insecure: bool,
    /// Permit a server without STARTTLS.
    #[arg(long = "allow-plaintext")]
    allow_plaintext: bool,
    /// Seconds allowed to connect and for each response.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    timeout: u64,
    /// Commit (sync the Maildir, save the state) after at most this many messages; a kill
    /// loses at most one batch of progress, never a message.
    #[arg(long, value_name = "N", default_value_t = 500)]
    batch: usize,
    /// One JSON object per folder synced.
    #[arg(long)]
    json: bool,
}

fn show(r: &FolderReport, json: bool) -> String {
    if json {
        return format!("{}\n", serde_json::to_value(r).unwrap_or_default());
    }
    format!(
        "{}: {} new, {} already here{} -> {} (uidvalidity {}, last uid {})\n",
        r.folder,
        r.fetched,
        r.skipped,
        if r.uidvalidity_changed { ", UIDVALIDITY changed" } else { "" },
        r.maildir.display(),
        r.state.uidvalidity,
        r.state.last_uid
    )
}

pub(crate) fn run(a: Args) -> Result<(), CliError> {
    let mut c =
        ImapConfig::from_url(&a.imap, &a.user, &super::secret::password(a.password_file.as_ref())?).map_err(fail)?;
    c.auth = if a.auth_plain { ImapAuth::Plain } else { ImapAuth::Login };
    c.ca_file = a.ca_file.clone();
    c.insecure = a.insecure;
    c.allow_plaintext = a.allow_plaintext;
    c.timeout = Duration::from_secs(a.timeout.max(1));
    c.limits.batch_messages = a.batch.max(1);
    if a.insecure {
        eprintln!("mailwright: warning: --insecure: the server's certificate is NOT verified");
    }
    let folders = if a.folders.is_empty() { vec!["INBOX".to_string()] } else { a.folders.clone() };
    let mut f = Fetcher::connect(c, &a.maildir).map_err(fail)?;
    loop {
        for folder in &folders {
            let r = match f.sync_folder(folder, |_| {}) {
                Ok(r) => r,
                Err(e) if a.idle && e.is_transient() => {
                    eprintln!("mailwright: {e}; reconnecting");
                    std::thread::sleep(Duration::from_secs(5));
                    let _ = f.reconnect();
                    continue;
                }
                Err(e) => return Err(fail(e)),
            };
            out(&show(&r, a.json))?;
        }
        if !a.idle {
            f.logout();
            return Ok(());
        }
        if let Err(e) = f.idle(&folders[0], Duration::from_secs(25 * 60)) {
            eprintln!("mailwright: {e}; reconnecting");
            std::thread::sleep(Duration::from_secs(5));
            let _ = f.reconnect();
        }
    }
}
