//! Maildir delivery (<https://cr.yp.to/proto/maildir.html>): a unique name, the message written
//! and synced in `tmp/`, then renamed into `new/` — a reader never sees a partial message, and a
//! crash leaves at most a file in `tmp/`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A Maildir: a folder with `tmp/`, `new/` and `cur/`.
#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
}

static DELIVERIES: AtomicU64 = AtomicU64::new(0);

impl Maildir {
    /// Opens the Maildir at `root`, creating it (and `tmp/`, `new/`, `cur/`) when missing.
    pub fn create(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        Ok(Maildir { root })
    }

    /// Opens an existing Maildir; an error when `tmp/`, `new/` or `cur/` is missing.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        for sub in ["tmp", "new", "cur"] {
            if !root.join(sub).is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{} is not a Maildir (no {sub}/)", root.display()),
                ));
            }
        }
        Ok(Maildir { root })
    }

    /// The Maildir's folder.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Delivers `raw` into `new/`; returns the path of the delivered file.
    pub fn deliver(&self, raw: &[u8]) -> io::Result<PathBuf> {
        let (tmp, name) = self.create_tmp()?;
        let result = (|| {
            let mut f = OpenOptions::new().write(true).open(&tmp)?;
            f.write_all(raw)?;
            f.sync_all()?;
            let dest = self.root.join("new").join(&name);
            std::fs::rename(&tmp, &dest)?;
            sync_dir(&self.root.join("new"))?;
            Ok(dest)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Creates an empty file in `tmp/` under a fresh unique name.
    fn create_tmp(&self) -> io::Result<(PathBuf, String)> {
        for _ in 0..100 {
            let name = unique_name();
            let tmp = self.root.join("tmp").join(&name);
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(_) => return Ok((tmp, name)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(io::ErrorKind::AlreadyExists, "no unique Maildir name after 100 tries"))
    }
}

/// `seconds.M<microseconds>P<pid>Q<counter>R<random>.<host>`, the spec's modern form.
fn unique_name() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let n = DELIVERIES.fetch_add(1, Ordering::Relaxed);
    let random = {
        let mut r = crate::sample::Rng::new(now.as_nanos() as u64 ^ (u64::from(std::process::id()) << 32) ^ n);
        r.next_u64() & 0xffff_ffff
    };
    format!("{}.M{}P{}Q{}R{:08x}.{}", now.as_secs(), now.subsec_micros(), std::process::id(), n, random, hostname())
}

/// The host name with `/` and `:` escaped as the spec asks.
fn hostname() -> String {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    h.replace('/', "\\057").replace(':', "\\072")
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_are_unique_and_land_in_new() {
        let dir = tempfile::tempdir().expect("tempdir");
        let md = Maildir::create(dir.path().join("Maildir")).expect("create");
        let mut names = std::collections::HashSet::new();
        for i in 0..200 {
            let p = md.deliver(format!("Subject: {i}\r\n\r\nbody\r\n").as_bytes()).expect("deliver");
            assert!(p.starts_with(md.path().join("new")));
            assert!(names.insert(p.file_name().expect("name").to_owned()));
        }
        assert_eq!(std::fs::read_dir(md.path().join("tmp")).expect("tmp").count(), 0);
        assert!(Maildir::open(dir.path()).is_err());
    }
}
