//! Local mail stores: Maildir and mbox, written safely and read without loading them whole.
//!
//! | store | write | notes |
//! |---|---|---|
//! | [`Maildir`] | [`Maildir::deliver`]: write in `tmp/`, fsync, rename into `new/`, fsync the folder | unique names per the Maildir spec; safe with concurrent writers and readers |
//! | [`Mbox`] | [`Mbox::append`]: `From ` line, mboxrd `>From ` quoting, LF line ends, fsync | exclusive `flock` while appending; a failed append is truncated away |
//!
//! | store | read | notes |
//! |---|---|---|
//! | [`Maildir`] | [`Maildir::entries`], [`Maildir::read`], [`Maildir::set_flags`], [`Maildir::move_to`], [`Maildir::folder`] | streaming listing; flags and moves are atomic renames; Maildir++ subfolders |
//! | [`MboxReader`] | one memory map, each message a `Bytes` view of it | mboxrd / mboxo unquoting; pages behind the cursor released; shared `flock` while reading |

mod maildir;
mod mbox;
mod mbox_read;

pub use maildir::{Entries, Maildir, MaildirEntry, normalize_flags};
pub use mbox::Mbox;
pub use mbox_read::{MboxFormat, MboxMessage, MboxReader};
