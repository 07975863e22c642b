//! Local mail stores: Maildir and mbox, written safely.
//!
//! | store | write | notes |
//! |---|---|---|
//! | [`Maildir`] | [`Maildir::deliver`]: write in `tmp/`, fsync, rename into `new/`, fsync the folder | unique names per the Maildir spec; safe with concurrent writers and readers |
//! | [`Mbox`] | [`Mbox::append`]: `From ` line, mboxrd `>From ` quoting, LF line ends, fsync | exclusive `flock` while appending; a failed append is truncated away |

mod maildir;
mod mbox;

pub use maildir::Maildir;
pub use mbox::Mbox;
