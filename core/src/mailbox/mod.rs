//! Local mail stores: Maildir and mbox, written safely and read without loading them whole.
//!
//! | store | write | notes |
//! |---|---|---|
//! | [`Maildir`] | [`Maildir::deliver`]: write in `tmp/`, fsync, rename into `new/`, fsync the folder | unique names per the Maildir spec; safe with concurrent writers and readers |
//! | [`Mbox`] | [`Mbox::append`]: `From ` line, mboxrd `>From ` quoting, LF line ends, fsync | dot-lock, fcntl and `flock` while appending, as Postfix and mutt lock; a failed append is truncated away |
//!
//! | store | read | notes |
//! |---|---|---|
//! | [`Maildir`] | [`Maildir::entries`], [`Maildir::read`], [`Maildir::set_flags`], [`Maildir::move_to`], [`Maildir::folder`] | streaming listing; flags and moves are atomic renames; Maildir++ subfolders |
//! | [`MboxReader`] | read in 1 MiB chunks (more for a larger message), each message a `Bytes` view of its chunk | mboxrd / mboxo unquoting; dot-lock and shared fcntl and `flock` locks while reading; never mapped, so a writer that ignores locks cannot crash it |

mod lock;
mod maildir;
mod mbox;
mod mbox_read;

pub use lock::{LOCK_WAIT, STALE_DOTLOCK};
pub use maildir::{Entries, Maildir, MaildirEntry, normalize_flags};
pub use mbox::Mbox;
pub use mbox_read::{MboxFormat, MboxMessage, MboxReader};
