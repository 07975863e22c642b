//! The locks mailers take on an mbox, so that mailwright and they never write at once.
//!
//! Postfix's local delivery on Linux (`mailbox_delivery_lock = fcntl, dotlock`) and mutt take a
//! `FILE.lock` dot-lock and an fcntl record lock on the whole file; procmail and mailwright's
//! own earlier versions take `flock`. [`MboxLock::take`] takes all three, in Postfix's order
//! (dot-lock, then the kernel locks), each without blocking and retried until a deadline: a lock
//! held for ever is an error, never a hang.
//!
//! - The dot-lock is created exclusively. One older than [`STALE_DOTLOCK`] is taken as left by
//!   a dead process and removed, as Postfix does after its `stale_lock_time`. Where the folder
//!   is not writable (a system spool of group `mail`), there is no dot-lock and the kernel locks
//!   alone protect the file.
//! - fcntl locks belong to the process: closing *any* descriptor of the file drops them. Open
//!   one mbox once per process at a time (a reader and an appender of one file in one process
//!   do not exclude each other either).

use std::fs::File;
use std::io;

use super::{MailboxError, io_at};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// A dot-lock older than this is removed (Postfix's default `stale_lock_time`).
pub const STALE_DOTLOCK: Duration = Duration::from_secs(500);

/// How long an mbox reader or append waits for another program's lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// The locks on one mbox file; dropping it removes the dot-lock (the kernel locks go with the
/// file's descriptor).
#[derive(Debug)]
pub(crate) struct MboxLock {
    dotlock: Option<PathBuf>,
}

impl MboxLock {
    /// Takes the dot-lock of `path` and an fcntl and a `flock` lock on `file` (shared for
    /// readers, exclusive for writers), waiting at most `wait` for other holders.
    pub(crate) fn take(file: &File, path: &Path, exclusive: bool, wait: Duration) -> Result<MboxLock, MailboxError> {
        let deadline = Instant::now() + wait;
        let dotlock = take_dotlock(path, deadline)?;
        let lock = MboxLock { dotlock };
        #[cfg(unix)]
        {
            use rustix::fs::FlockOperation::{NonBlockingLockExclusive, NonBlockingLockShared};
            let op = if exclusive { NonBlockingLockExclusive } else { NonBlockingLockShared };
            retry(path, deadline, || rustix::fs::fcntl_lock(file, op))?;
            retry(path, deadline, || rustix::fs::flock(file, op))?;
        }
        #[cfg(not(unix))]
        let _ = (file, exclusive);
        Ok(lock)
    }
}

impl Drop for MboxLock {
    fn drop(&mut self) {
        if let Some(p) = &self.dotlock {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// `FILE.lock`, created exclusively; `None` where the folder does not let us create it.
fn take_dotlock(path: &Path, deadline: Instant) -> Result<Option<PathBuf>, MailboxError> {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    let lock = path.with_file_name(name);
    let mut pause = Duration::from_millis(10);
    loop {
        match crate::files::private_file().write(true).create_new(true).open(&lock) {
            Ok(_) => return Ok(Some(lock)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let age = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok());
                if age.is_some_and(|a| a > STALE_DOTLOCK) {
                    let _ = std::fs::remove_file(&lock);
                    continue;
                }
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem) => {
                return Ok(None);
            }
            Err(e) => return Err(MailboxError::Io { path: lock, source: e }),
        }
        if Instant::now() >= deadline {
            return Err(busy(path, format!("its dot-lock {} is held", lock.display())));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

#[cfg(unix)]
/// Calls `try_lock` until it succeeds, fails for another reason than contention, or the
/// deadline passes.
fn retry(
    path: &Path,
    deadline: Instant,
    mut try_lock: impl FnMut() -> rustix::io::Result<()>,
) -> Result<(), MailboxError> {
    let mut pause = Duration::from_millis(10);
    loop {
        match try_lock() {
            Ok(()) => return Ok(()),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::ACCESS => {}
            Err(e) => return Err(io_at(path)(e.into())),
        }
        if Instant::now() >= deadline {
            return Err(busy(path, "another program holds a lock on it".into()));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

fn busy(path: &Path, why: String) -> MailboxError {
    MailboxError::Locked { path: path.to_path_buf(), why }
}
