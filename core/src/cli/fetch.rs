//! `mailwright fetch`: one-way IMAP sync of folders into a Maildir.

use super::fail;
use std::path::PathBuf;
use std::time::Duration;

use super::signals::{Backoff, Stop};
use super::{CliError, out};
use crate::fetch::{Fetcher, FolderReport, SyncOptions};

/// Arguments of `mailwright fetch`. Exit codes: 0 synced, 75 the server could not be reached or
/// failed for now (retry later), 69 login refused, 1 usage.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The server: imap://HOST[:PORT] (STARTTLS, required; port 143) or imaps://HOST[:PORT] (993).
    /// Repeat it for replicas of the account: the first that answers is used.
    #[arg(long, required = true)]
    imap: Vec<String>,
    /// User name; the password comes from MAILWRIGHT_PASSWORD or --password-file (or log in
    /// with an OAuth2 token instead).
    #[arg(long)]
    user: String,
    /// File whose first line is the password.
    #[arg(long = "password-file")]
    password_file: Option<PathBuf>,
    #[command(flatten)]
    oauth2: super::secret::OAuth2Args,
    /// The local Maildir (created when missing); folders other than INBOX go to its Maildir++
    /// subfolders.
    #[arg(long)]
    maildir: PathBuf,
    /// IMAP folder to sync (repeatable; default INBOX).
    #[arg(long = "folder")]
    folders: Vec<String>,
    /// After syncing, wait for new mail with IMAP IDLE (on the first folder; the others are
    /// synced at least every minute) and sync again, until SIGTERM or SIGINT
    /// (the message in hand is finished and committed, then exit 0); a dropped connection is
    /// retried with backoff (1 s doubling to a minute).
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
    /// Seconds allowed for each response.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    timeout: u64,
    /// Seconds a server may take to connect and greet before the next --imap is tried.
    #[arg(long = "connect-timeout", value_name = "SECS", default_value_t = 10)]
    connect_timeout: u64,
    /// Commit (sync the Maildir, save the state) after at most this many messages; a kill
    /// loses at most one batch of progress, never a message.
    #[arg(long, value_name = "N", default_value_t = 500)]
    batch: usize,
    /// `two-way` also syncs \Seen, \Answered, \Flagged, \Deleted and \Draft with the Maildir's
    /// S, R, F, T and D, both ways: per flag the side that changed it wins. Default `one-way`.
    #[arg(long, value_name = "MODE", default_value = "one-way", value_parser = ["one-way", "two-way"])]
    flags: String,
    /// With --flags two-way, propagate deletions: a file removed here is expunged on the
    /// server (UID EXPUNGE), a message expunged there loses its file here.
    #[arg(long)]
    expunge: bool,
    /// One JSON object per folder synced.
    #[arg(long)]
    json: bool,
}

fn show(r: &FolderReport, json: bool, servers: usize) -> String {
    if json {
        return format!("{}\n", serde_json::to_value(r).unwrap_or_default());
    }
    let flags = match &r.flags {
        Some(f) => format!(
            ", flags: {} to the server, {} here{}{}{}",
            f.to_server,
            f.to_local,
            if f.expunged > 0 { format!(", {} expunged there", f.expunged) } else { String::new() },
            if f.removed > 0 { format!(", {} removed here", f.removed) } else { String::new() },
            if f.kept > 0 { format!(", {} deletions not propagated", f.kept) } else { String::new() },
        ),
        None => String::new(),
    };
    format!(
        "{}: {} new, {} already here{}{} -> {} (uidvalidity {}, last uid {}{}{})\n",
        r.folder,
        r.fetched,
        r.skipped,
        flags,
        if r.uidvalidity_changed { ", UIDVALIDITY changed" } else { "" },
        r.maildir.display(),
        r.state.uidvalidity,
        r.state.last_uid,
        if servers > 1 { ", from " } else { "" },
        if servers > 1 { r.server.as_str() } else { "" },
    )
}

pub(crate) fn run(a: Args) -> Result<(), CliError> {
    if a.expunge && a.flags != "two-way" {
        return Err(CliError::usage("--expunge needs --flags two-way"));
    }
    let oauth2 = a.oauth2.login(&a.user)?;
    let password = if oauth2.is_some() { String::new() } else { super::secret::password(a.password_file.as_ref())? };
    // The same settings, defaults and checks as the bindings' imap_sync.
    let options = SyncOptions {
        servers: a.imap.clone(),
        user: a.user.clone(),
        password: Some(password),
        folders: a.folders.clone(),
        ca_file: a.ca_file.clone(),
        insecure: a.insecure,
        allow_plaintext: a.allow_plaintext,
        auth_plain: a.auth_plain,
        timeout: Some(a.timeout.max(1) as f64),
        connect_timeout: Some(a.connect_timeout.max(1) as f64),
        batch: Some(a.batch),
        flags: Some(a.flags.clone()),
        expunge: a.expunge,
        ..SyncOptions::default()
    };
    let mut servers = options.configs().map_err(fail)?;
    for c in &mut servers {
        c.oauth2 = oauth2.clone();
    }
    if a.insecure {
        eprintln!("mailwright: warning: --insecure: the server's certificate is NOT verified");
    }
    let folders = options.folders();
    let mut f = Fetcher::connect_any(servers, &a.maildir).map_err(fail)?;
    if !a.idle {
        for folder in &folders {
            let r = f.sync_folder(folder, |_| {}).map_err(fail)?;
            out(&show(&r, a.json, a.imap.len()))?;
        }
        f.logout();
        return Ok(());
    }
    // --idle: until a signal; a dropped connection or a dead server is retried with backoff,
    // and each sync starts from the saved state, so nothing is lost or fetched twice.
    let stop = Stop::on_signals()?;
    let stopping = || stop.asked();
    let mut backoff = Backoff::new();
    let retry = |e: &dyn std::fmt::Display, f: &mut Fetcher, backoff: &mut Backoff| {
        let wait = backoff.next();
        eprintln!("mailwright: {e}; reconnecting in {} s", wait.as_secs());
        stop.sleep(wait);
        if !stop.asked() {
            let _ = f.reconnect();
        }
    };
    while !stop.asked() {
        let mut synced = true;
        for folder in &folders {
            match f.sync_folder_until(folder, |_| {}, &stopping) {
                Ok(r) => out(&show(&r, a.json, a.imap.len()))?,
                Err(e) if e.is_transient() => {
                    retry(&e, &mut f, &mut backoff);
                    synced = false;
                    break;
                }
                Err(e) => return Err(fail(e)),
            }
        }
        if !synced || stop.asked() {
            continue;
        }
        backoff.reset();
        // IDLE watches one folder; the others are looked at (a SELECT each when unchanged) at
        // least every minute.
        let wait = Duration::from_secs(if folders.len() > 1 { 60 } else { 25 * 60 });
        if let Err(e) = f.idle_until(&folders[0], wait, &stopping) {
            retry(&e, &mut f, &mut backoff);
        }
    }
    f.logout();
    Ok(())
}
