//! How mailwright creates the files and folders it writes: private to their owner (0600 files,
//! 0700 folders, whatever the umask), as Postfix and Dovecot keep mail, and durable where a crash
//! must not lose or tear them (synced, replaced by rename, the folder synced after).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Options that create a file readable by its owner only (0600).
pub(crate) fn private_file() -> OpenOptions {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o
}

/// Creates `path` and its missing parents as folders only their owner can enter (0700); folders
/// that exist are left as they are.
pub(crate) fn create_private_dir_all(path: &Path) -> io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(path)
}

/// Creates one folder (0700; an error when it exists).
pub(crate) fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(path)
}

/// Writes `bytes` to `path` (created 0600 or truncated) and syncs it.
pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = private_file().write(true).create(true).truncate(true).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Syncs a folder, so renames and new entries in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Replaces `path` atomically: a synced `<path>.new` renamed over it, then the folder synced.
pub(crate) fn replace_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = std::path::PathBuf::from(tmp);
    write_synced(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_is_whole_or_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("state.json");
        replace_synced(&p, b"one").expect("write");
        replace_synced(&p, b"two").expect("write");
        assert_eq!(std::fs::read(&p).expect("read"), b"two");
        assert!(!dir.path().join("state.json.new").exists());
    }
}
