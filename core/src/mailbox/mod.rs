//! Local mail stores: Maildir and mbox, written safely and read without loading them whole.
//!
//! | store | write | notes |
//! |---|---|---|
//! | [`Maildir`] | [`Maildir::deliver`]: write in `tmp/`, fsync, rename into `new/`, fsync the folder | unique names per the Maildir spec; safe with concurrent writers and readers |
//! | [`Maildir`] | [`Maildir::batch`]: many messages in `tmp/`, one data sync, linked into `new/`, one folder sync | for bulk downloads under names the caller chose |
//! | [`Mbox`] | [`Mbox::append`]: `From ` line, mboxrd `>From ` quoting, LF line ends, fsync | dot-lock, fcntl and `flock` while appending, as Postfix and mutt lock; a failed append is truncated away |
//!
//! | store | read | notes |
//! |---|---|---|
//! | [`Maildir`] | [`Maildir::entries`], [`Maildir::read`], [`Maildir::set_flags`], [`Maildir::move_to`], [`Maildir::folder`] | streaming listing; flags and moves are atomic renames; Maildir++ subfolders |
//! | [`MboxReader`] | read in 1 MiB chunks (more for a larger message), each message a `Bytes` view of its chunk | mboxrd / mboxo unquoting; dot-lock and shared fcntl and `flock` locks while reading; never mapped, so a writer that ignores locks cannot crash it |

use std::io;
use std::path::{Path, PathBuf};

mod batch;
mod lock;
mod maildir;
mod mbox;
mod mbox_read;

pub use batch::{Batch, Pending};
pub use lock::{LOCK_WAIT, STALE_DOTLOCK};
#[cfg(feature = "smtp")]
pub(crate) use maildir::create_tmp_file;
pub use maildir::{Entries, Maildir, MaildirEntry, normalize_flags};
pub use mbox::Mbox;
pub use mbox_read::{MboxFormat, MboxMessage, MboxReader};

/// What went wrong with a Maildir or an mbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailboxError {
    /// The folder exists but is not a Maildir.
    #[error("{0} is not a Maildir (it has no tmp/, new/ or cur/); name the Maildir's own folder")]
    NotMaildir(PathBuf),
    /// A name or an entry the store refuses (a folder name with `/`, an entry of another Maildir).
    #[error("{0}")]
    Invalid(String),
    /// Another program held the mbox's lock for longer than [`LOCK_WAIT`].
    #[error("mbox {path} is locked: {why}; try again when the other program is done")]
    Locked {
        /// The mbox.
        path: PathBuf,
        /// Which lock was held.
        why: String,
    },
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
}

impl MailboxError {
    /// Whether the message or folder was not there (say, another process moved it away first).
    pub fn is_not_found(&self) -> bool {
        matches!(self, MailboxError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    /// Whether trying again later may work: a lock held by another program, a full disk; not a
    /// missing or forbidden path, nor a refused name.
    pub fn is_transient(&self) -> bool {
        match self {
            MailboxError::Locked { .. } => true,
            MailboxError::Io { source, .. } => crate::error::io_is_transient(source),
            MailboxError::NotMaildir(_) | MailboxError::Invalid(_) => false,
        }
    }

    /// The system's error number, when the system refused.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            MailboxError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// Turns an I/O error about `path` into a [`MailboxError`].
pub(crate) fn io_at(path: &Path) -> impl FnOnce(io::Error) -> MailboxError + '_ {
    move |source| MailboxError::Io { path: path.to_path_buf(), source }
}
