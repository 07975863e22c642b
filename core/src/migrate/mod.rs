//! Moving mailboxes from one mail system to another, proven message by message: the final exam
//! of the course (1,000 mailboxes in a 6-hour window), done the way an operator can trust.
//!
//! This module grows in steps. What is here now:
//! * [`users`]: the users file (`source_user,source_password,dest_user,dest_password`, with
//!   `file:`/`env:` passwords, refused when others may read it) and `--shard i/n`.
//! * [`folders`]: folder names (modified UTF-7) and which source folder goes where: SPECIAL-USE
//!   (RFC 6154) first, `--map OLD=NEW` rules, the same path otherwise.
//! * [`imap`]: an account's folders as LIST shows them.

use std::path::{Path, PathBuf};

pub mod folders;
pub mod imap;
pub mod users;

pub use folders::{Folder, Mapping, SpecialUse};
pub use users::{Login, Mailbox};

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
}

impl MigrateError {
    fn users(path: &Path, line: usize, detail: String) -> Self {
        MigrateError::Users { path: path.to_path_buf(), line, detail }
    }
}
