//! `migrate`: mailboxes from one IMAP server to another, proven message by message.

use std::path::PathBuf;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::errors::Failure;
use crate::tasks::{Job, Json, same};

/// Options of `migrate`.
#[napi(object)]
pub struct MigrateOptions {
    /// The old system: `imap://HOST[:PORT]` (STARTTLS), `imaps://HOST[:PORT]`, or a Maildir per
    /// account, `maildir:/var/mail/%d/%n/Maildir` (`:LAYOUT=fs` for a directory per folder).
    pub from: String,
    /// The new system, likewise.
    pub to: String,
    /// The users file: CSV `source_user,source_password,dest_user,dest_password` (mode 0600).
    pub users: String,
    /// The state folder (default `migrate-state`): a rerun copies only what is new.
    pub state: Option<String>,
    /// Mailboxes at once (4).
    pub jobs: Option<u32>,
    /// `OLD=NEW` folder rules.
    pub maps: Option<Vec<String>>,
    /// `I/N`: every N-th mailbox from the I-th.
    pub shard: Option<String>,
    /// Prove each mailbox after copying it (true).
    pub verify: Option<bool>,
    /// Only size up: folders, messages, bytes, and an estimate.
    pub dry_run: Option<bool>,
    /// Only compare both sides.
    pub verify_only: Option<bool>,
    /// Messages a second, over all jobs.
    pub max_messages_per_second: Option<f64>,
    /// Bytes a second, over all jobs.
    pub max_bytes_per_second: Option<f64>,
    /// Reconnects per mailbox (8).
    pub retries: Option<u32>,
    /// The first wait before a reconnect, in seconds (1).
    pub backoff: Option<f64>,
    /// Seconds allowed for each response (120).
    pub timeout: Option<f64>,
    /// An extra CA (PEM) to trust.
    pub ca_file: Option<String>,
    /// Skip certificate checks (tests only).
    pub insecure: Option<bool>,
    /// Permit a server without STARTTLS.
    pub allow_plaintext: Option<bool>,
    /// Swap the users file's columns (the rollback's reverse delta: `from` the new server).
    pub reverse: Option<bool>,
}

type Progress = ThreadsafeFunction<Json, (), Json, Status, false, true>;

/// Migrates the mailboxes of a users file (or, with `verifyOnly`, compares both sides); resolves
/// to the report (with `exit_code`: 0 all clean, 2 a difference, 73 over quota, 69 a login
/// refused, 75 a server failed). `progress`, if given, receives one object per event
/// (`started`, `progress`, `retry`, `mailbox`).
#[napi(ts_args_type = "options: MigrateOptions, progress?: (event: any) => void", ts_return_type = "Promise<any>")]
pub fn migrate(options: MigrateOptions, progress: Option<Progress>) -> AsyncTask<Job<Json, Json>> {
    Job::new(
        move || {
            let o = options;
            let settings = mailwright::migrate::Settings {
                from: o.from,
                to: o.to,
                users: PathBuf::from(o.users),
                reverse: o.reverse.unwrap_or(false),
                state: o.state.map(PathBuf::from),
                jobs: o.jobs.map(|n| n as usize),
                maps: o.maps.unwrap_or_default(),
                shard: o.shard,
                no_verify: !o.verify.unwrap_or(true),
                dry_run: o.dry_run.unwrap_or(false),
                max_messages_per_second: o.max_messages_per_second,
                max_bytes_per_second: o.max_bytes_per_second,
                retries: o.retries,
                backoff: o.backoff,
                timeout: o.timeout,
                ca_file: o.ca_file.map(PathBuf::from),
                insecure: o.insecure.unwrap_or(false),
                allow_plaintext: o.allow_plaintext.unwrap_or(false),
            };
            let (opts, mailboxes) = settings.resolve().map_err(Failure::from)?;
            let on_event = |e: &mailwright::migrate::Event<'_>| {
                if let Some(p) = &progress {
                    p.call(Json(e.to_json()), ThreadsafeFunctionCallMode::NonBlocking);
                }
            };
            let report = if o.verify_only.unwrap_or(false) {
                mailwright::migrate::verify_only(&opts, &mailboxes, &on_event)
            } else {
                mailwright::migrate::run(&opts, &mailboxes, &on_event)
            }
            .map_err(Failure::from)?;
            let mut json = serde_json::to_value(&report).map_err(|e| Failure::new("migrate", e.to_string()))?;
            json["exit_code"] = report.exit_code().into();
            Ok(Json(json))
        },
        same,
    )
}
