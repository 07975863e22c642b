//! Small helpers several modules share: durable file writes, a random number, and `scheme://host[:port]` URLs.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Options that create a file readable by its owner only (0600), whatever the umask: mail and
/// state written by mailwright are private, as Postfix and Dovecot keep them.
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

/// A random number per call (std's per-process random keys, mixed with a counter): enough for
/// shuffling and jitter, not for secrets.
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// Shows user and password as `Some(("user", "…"))`: for the `Debug` of anything that holds
/// credentials, so that no log or error text shows a password.
#[cfg(feature = "smtp")]
pub(crate) struct Redacted<'a>(pub(crate) &'a Option<(String, String)>);

#[cfg(feature = "smtp")]
impl std::fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some((user, _)) => write!(f, "Some(({user:?}, \"…\"))"),
            None => f.write_str("None"),
        }
    }
}

#[cfg(feature = "smtp")]
/// `scheme://HOST[:PORT]` or `scheme://[IPv6]:PORT` → lower-case scheme, host, port if given.
/// `None` for anything else (no host, a user part, a path, a bad port).
pub(crate) fn server_url(url: &str) -> Option<(String, String, Option<u16>)> {
    let (scheme, rest) = url.split_once("://")?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = if let Some(h) = rest.strip_prefix('[') {
        let (h, after) = h.split_once(']')?;
        (h.to_string(), after.strip_prefix(':').map(str::parse::<u16>).transpose().ok()?)
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p.parse::<u16>().ok()?)),
            None => (rest.to_string(), None),
        }
    };
    if host.is_empty() || host.contains(['/', '@', ' ']) {
        return None;
    }
    Some((scheme.to_ascii_lowercase(), host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "smtp")]
    #[test]
    fn urls_and_randoms() {
        assert_eq!(server_url("SMTP://[::1]:25"), Some(("smtp".into(), "::1".into(), Some(25))));
        assert_eq!(server_url("imaps://h/"), Some(("imaps".into(), "h".into(), None)));
        for bad in ["h", "x://", "x://u@h", "x://h:port", "x://h/p"] {
            assert_eq!(server_url(bad), None, "{bad}");
        }
        assert_ne!(random_u64(), random_u64());
    }

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
