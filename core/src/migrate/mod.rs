//! Moving mailboxes from one mail system to another, proven message by message: the final exam
//! of the course (1,000 mailboxes in a 6-hour window), done the way an operator can trust.
//!
//! * [`users`]: the users file (`source_user,source_password,dest_user,dest_password`, with
//!   `file:`/`env:` passwords, refused when others may read it) and `--shard i/n`.
//! * [`folders`]: folder names (modified UTF-7) and which source folder goes where: SPECIAL-USE
//!   (RFC 6154) first, `--map OLD=NEW` rules, the same path otherwise.
//! * [`imap`] and [`maildir`]: the two kinds of side, an IMAP account (`imap(s)://HOST`) or a
//!   local Maildir per account (`maildir:/var/mail/%d/%n/Maildir`, as Dovecot keeps it); the
//!   rest asks the same of both.
//! * [`copy`]: one folder, by content: a message is its SHA-256, counted, so true duplicates
//!   and messages without Message-ID arrive like any other; APPEND keeps flags, keywords and
//!   INTERNALDATE; a rerun copies only what is new.
//! * `state`: per mailbox, source UIDVALIDITY + UID → hash → destination UID, a journal
//!   committed in batches: a kill at any instant loses nothing, and what a killed run appended
//!   without recording is found on the destination by hash and skipped, never appended twice.
//! * [`verify`]: both sides fetched and compared, message by message.
//! * [`run()`]: mailboxes in parallel jobs, throttled, retrying after server push-back, each
//!   mailbox failing on its own.
//! * [`plan`] and [`mod@check`]: the cutover: what to do to old and new DNS and servers, in order,
//!   with the times the domain's TTLs imply, and what can be verified at each step.

use std::path::{Path, PathBuf};

pub mod check;
pub mod copy;
pub mod folders;
pub mod imap;
pub mod maildir;
pub mod plan;
mod run;
mod settings;
mod state;
mod store;
pub mod users;
pub mod verify;

pub use check::{CheckOptions, CheckReport, check};
pub use copy::FolderReport;
pub use folders::{Folder, Mapping, SpecialUse};
pub use maildir::{Layout, MaildirRoot};
pub use plan::{Plan, PlanOptions};
pub(crate) use run::Throttle;
pub use run::{Event, MailboxReport, MailboxStatus, Options, Refusal, Report, run, verify_only};
pub use settings::Settings;
pub use store::Endpoint;
pub use users::{Login, Mailbox};
pub use verify::VerifyReport;

/// What went wrong in a migration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The users file, or a password it names, cannot be used.
    #[error("{}:{line}: {detail}", path.display())]
    Users {
        /// The users file.
        path: PathBuf,
        /// The line (0: the file as a whole).
        line: usize,
        /// What is wrong (never a password).
        detail: String,
    },
    /// An option is wrong.
    #[error("{0}")]
    Config(String),
    /// An IMAP server failed or refused the login.
    #[error(transparent)]
    Imap(#[from] crate::fetch::FetchError),
    /// The migration state of a mailbox cannot be read or written.
    #[error("{}: {detail}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A local Maildir cannot be read or written.
    #[error("{}: {detail}", path.display())]
    Maildir {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The destination is over quota: raise it, then run again (the mailbox resumes).
    #[error("the destination is over quota ({0}); raise the quota and run again")]
    OverQuota(String),
    /// The server asked to slow down or come back later (`NO [LIMIT]`, `[THROTTLED]`, …).
    #[error("the server pushed back: {0}")]
    PushBack(String),
    /// DNS could not be asked (no name server answered): try again, or name one with
    /// `--resolver`.
    #[error("DNS: {0}")]
    Dns(String),
}

impl MigrateError {
    /// Whether a later run may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            MigrateError::Imap(e) => e.is_transient(),
            MigrateError::OverQuota(_) | MigrateError::PushBack(_) | MigrateError::Dns(_) => true,
            MigrateError::State { .. }
            | MigrateError::Maildir { .. }
            | MigrateError::Users { .. }
            | MigrateError::Config(_) => false,
        }
    }

    fn users(path: &Path, line: usize, detail: String) -> Self {
        MigrateError::Users { path: path.to_path_buf(), line, detail }
    }
}

/// A runtime for one job's connections.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, MigrateError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| MigrateError::Config(format!("cannot start the I/O runtime: {e}")))
}
