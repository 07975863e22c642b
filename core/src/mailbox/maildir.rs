//! Maildir (<https://cr.yp.to/proto/maildir.html>): delivery writes and syncs a message under a
//! unique name in `tmp/` and renames it into `new/` — a reader never sees a partial message, and
//! a crash leaves at most a file in `tmp/`. Reading lists `new/` and `cur/` as it goes (memory
//! does not grow with the folder); flags (`:2,FLAGS`) and moves are renames, so they are atomic
//! and safe next to other deliverers and readers: a message another process moved away is a
//! not-found error ([`MailboxError::is_not_found`]), never a lost message. Maildir++ subfolders are `.Name` folders.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{MailboxError, io_at};
use crate::files::sync_dir;

type Result<T> = std::result::Result<T, MailboxError>;

/// A Maildir: a folder with `tmp/`, `new/` and `cur/`.
#[derive(Debug, Clone)]
pub struct Maildir {
    root: PathBuf,
}

static DELIVERIES: AtomicU64 = AtomicU64::new(0);

impl Maildir {
    /// Opens the Maildir at `root`, creating it (and `tmp/`, `new/`, `cur/`) when missing.
    pub fn create(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        for sub in ["tmp", "new", "cur"] {
            let dir = root.join(sub);
            crate::files::create_private_dir_all(&dir).map_err(io_at(&dir))?;
        }
        Ok(Maildir { root })
    }

    /// Opens an existing Maildir; an error when `tmp/`, `new/` or `cur/` is missing.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        if !root.is_dir() {
            let source = io::Error::new(io::ErrorKind::NotFound, "no such folder");
            return Err(MailboxError::Io { path: root, source });
        }
        if ["tmp", "new", "cur"].iter().any(|sub| !root.join(sub).is_dir()) {
            return Err(MailboxError::NotMaildir(root));
        }
        Ok(Maildir { root })
    }

    /// The Maildir's folder.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Delivers `raw` into `new/`; returns the path of the delivered file.
    pub fn deliver(&self, raw: &[u8]) -> Result<PathBuf> {
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
        result.map_err(io_at(&tmp))
    }

    /// Delivers `raw` into `new/` under the unique name `name` chosen by the caller (say, from an
    /// IMAP UID), unless `new/` already holds that name: then nothing is written and `Ok(None)`
    /// says so. The file is linked into place, never renamed over one. (A message that readers
    /// have since moved to `cur/` is found by [`Maildir::contains`].)
    pub fn deliver_named(&self, name: &str, raw: &[u8]) -> Result<Option<PathBuf>> {
        if name.is_empty() || name.starts_with('.') || name.contains(['/', ':', '\0']) {
            return Err(MailboxError::Invalid(format!("{name:?} is not a Maildir name")));
        }
        let (tmp, _) = self.create_tmp()?;
        let dest = self.root.join("new").join(name);
        let result = (|| {
            let mut f = OpenOptions::new().write(true).open(&tmp)?;
            f.write_all(raw)?;
            f.sync_all()?;
            match std::fs::hard_link(&tmp, &dest) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(None),
                Err(e) => return Err(e),
            }
            sync_dir(&self.root.join("new"))?;
            Ok(Some(dest))
        })();
        let _ = std::fs::remove_file(&tmp);
        result.map_err(io_at(&self.root.join("new")))
    }

    /// Whether a message with unique name `id` is in `new/` or `cur/` (any flags).
    pub fn contains(&self, id: &str) -> Result<bool> {
        if self.root.join("new").join(id).exists() || self.root.join("cur").join(id).exists() {
            return Ok(true);
        }
        let prefix = format!("{id}:");
        let cur = self.root.join("cur");
        for e in std::fs::read_dir(&cur).map_err(io_at(&cur))? {
            if e.map_err(io_at(&cur))?.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Every message in `new/` then `cur/`, read from the directory as the iterator goes.
    pub fn entries(&self) -> Result<Entries> {
        let new = self.root.join("new");
        Ok(Entries { root: self.root.clone(), new: Some(std::fs::read_dir(&new).map_err(io_at(&new))?), cur: None })
    }

    /// The message's bytes.
    pub fn read(&self, entry: &MaildirEntry) -> Result<Vec<u8>> {
        std::fs::read(&entry.path).map_err(io_at(&entry.path))
    }

    /// Finds a message by its unique name (the file name before `:2,`), wherever its flags put it.
    pub fn find(&self, id: &str) -> Result<Option<MaildirEntry>> {
        for e in self.entries()? {
            let e = e?;
            if e.id == id {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    /// Refuses an entry that is not a message file of this Maildir (entries can be made by
    /// callers, e.g. from a binding's plain objects): its file must sit in `new/` or `cur/` here and
    /// its id be one plain file-name component.
    fn check(&self, entry: &MaildirEntry) -> Result<()> {
        let bad = |what: &str| MailboxError::Invalid(format!("{what}: {}", entry.path.display()));
        let id = &entry.id;
        if id.is_empty() || id.starts_with('.') || id.contains(['/', '\\', '\0', ':']) {
            return Err(bad("not a Maildir message id"));
        }
        let parent = entry.path.parent().ok_or_else(|| bad("not a Maildir message"))?;
        if parent != self.root.join("new") && parent != self.root.join("cur") {
            return Err(bad("not a message of this Maildir"));
        }
        match MaildirEntry::from_file_name(entry.path.clone(), entry.new) {
            Some(e) if e.id == *id => Ok(()),
            _ => Err(bad("the id does not match the file name")),
        }
    }

    /// Sets the message's flags (letters from `DFPRST` and others; sorted and deduplicated), moving
    /// it from `new/` to `cur/`. Returns where it is now.
    pub fn set_flags(&self, entry: &MaildirEntry, flags: &str) -> Result<MaildirEntry> {
        self.check(entry)?;
        let flags = normalize_flags(flags);
        let dest = self.root.join("cur").join(format!("{}:2,{flags}", entry.id));
        if dest != entry.path {
            std::fs::rename(&entry.path, &dest).map_err(io_at(&entry.path))?;
        }
        Ok(MaildirEntry { path: dest, id: entry.id.clone(), flags, new: false })
    }

    /// Adds one flag (`S` seen, `R` replied, `F` flagged, `T` trashed, `D` draft, `P` passed).
    pub fn add_flag(&self, entry: &MaildirEntry, flag: char) -> Result<MaildirEntry> {
        self.set_flags(entry, &format!("{}{flag}", entry.flags))
    }

    /// Moves the message into another Maildir (keeping its name and flags; `new/` stays `new/`).
    pub fn move_to(&self, entry: &MaildirEntry, dest: &Maildir) -> Result<MaildirEntry> {
        self.check(entry)?;
        let sub = if entry.new { "new" } else { "cur" };
        let name =
            entry.path.file_name().ok_or_else(|| MailboxError::Invalid("an entry without a file name".into()))?;
        let to = dest.root.join(sub).join(name);
        std::fs::rename(&entry.path, &to).map_err(io_at(&entry.path))?;
        sync_dir(&dest.root.join(sub)).map_err(io_at(&to))?;
        Ok(MaildirEntry { path: to, ..entry.clone() })
    }

    /// The Maildir++ subfolders (`.Name` folders holding `cur/`), by name (`Archive`, `Lists.rust`).
    pub fn folders(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.root).map_err(io_at(&self.root))? {
            let e = e.map_err(io_at(&self.root))?;
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some(folder) = name.strip_prefix('.')
                && !folder.is_empty()
                && !folder.starts_with('.')
                && e.path().join("cur").is_dir()
            {
                out.push(folder.to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    /// The Maildir++ subfolder `name` (`Archive`, or `Lists.rust` for a nested one), created when
    /// missing. Names with `/`, a leading or doubled `.`, or control characters are refused.
    pub fn folder(&self, name: &str) -> Result<Maildir> {
        let bad = name.is_empty()
            || name.len() > 255
            || name.contains(['/', '\\', '\0'])
            || name.chars().any(char::is_control)
            || name.split('.').any(str::is_empty);
        if bad {
            return Err(MailboxError::Invalid(format!("{name:?} is not a usable folder name")));
        }
        let md = Maildir::create(self.root.join(format!(".{name}")))?;
        let marker = md.root.join("maildirfolder");
        if !marker.exists() {
            crate::files::private_file()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&marker)
                .map_err(io_at(&marker))?;
        }
        Ok(md)
    }

    /// Creates an empty file in `tmp/` under a fresh unique name.
    fn create_tmp(&self) -> Result<(PathBuf, String)> {
        let (tmp, _) = self.create_tmp_with_prefix("")?;
        let name = tmp.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        Ok((tmp, name))
    }

    /// Creates and opens an empty file in `tmp/` named `prefix` and a fresh unique name.
    pub(super) fn create_tmp_with_prefix(&self, prefix: &str) -> Result<(PathBuf, std::fs::File)> {
        create_tmp_file(&self.root.join("tmp"), prefix)
    }
}

/// Creates and opens an empty file (0600) in the folder `tmp` named `prefix` and a fresh unique
/// name.
pub(crate) fn create_tmp_file(tmp: &Path, prefix: &str) -> Result<(PathBuf, std::fs::File)> {
    for _ in 0..100 {
        let path = tmp.join(format!("{prefix}{}", unique_name()));
        match crate::files::private_file().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(MailboxError::Io { path, source: e }),
        }
    }
    let source = io::Error::new(io::ErrorKind::AlreadyExists, "no unique Maildir name after 100 tries");
    Err(MailboxError::Io { path: tmp.to_path_buf(), source })
}

/// One message in a Maildir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaildirEntry {
    /// Its file.
    pub path: PathBuf,
    /// Its unique name (the file name before `:2,`).
    pub id: String,
    /// Its flags, sorted (`S` seen, `R` replied, `F` flagged, `T` trashed, `D` draft, `P` passed).
    pub flags: String,
    /// Whether it is still in `new/` (not yet seen by any reader).
    pub new: bool,
}

/// Maildir flags as stored: ASCII letters only, sorted, each once (`"SF a"` → `"FSa"`).
pub fn normalize_flags(flags: &str) -> String {
    let mut f: Vec<char> = flags.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    f.sort_unstable();
    f.dedup();
    f.into_iter().collect()
}

impl MaildirEntry {
    /// The entry for a file of `new/` (`new` true) or `cur/`: its id and flags read from the file
    /// name (`ID:2,FLAGS`); `None` for dot files and names that are not UTF-8.
    pub fn from_file_name(path: PathBuf, new: bool) -> Option<Self> {
        let name = path.file_name()?.to_str()?.to_string();
        if name.starts_with('.') {
            return None;
        }
        let (id, flags) = match name.split_once(":2,") {
            Some((id, flags)) => (id.to_string(), flags.to_string()),
            None => (name.split(':').next().unwrap_or(&name).to_string(), String::new()),
        };
        Some(MaildirEntry { path, id, flags, new })
    }

    /// Whether it has `flag`.
    pub fn has_flag(&self, flag: char) -> bool {
        self.flags.contains(flag)
    }
}

/// The messages of a Maildir, `new/` first; see [`Maildir::entries`].
#[derive(Debug)]
pub struct Entries {
    root: PathBuf,
    new: Option<std::fs::ReadDir>,
    cur: Option<std::fs::ReadDir>,
}

impl Iterator for Entries {
    type Item = Result<MaildirEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (dir, new) = match (&mut self.new, &mut self.cur) {
                (Some(d), _) => (d, true),
                (None, Some(d)) => (d, false),
                (None, None) => return None,
            };
            match dir.next() {
                Some(Ok(e)) => {
                    if let Some(entry) = MaildirEntry::from_file_name(e.path(), new) {
                        return Some(Ok(entry));
                    }
                }
                Some(Err(e)) => {
                    let dir = self.root.join(if new { "new" } else { "cur" });
                    return Some(Err(MailboxError::Io { path: dir, source: e }));
                }
                None if new => {
                    self.new = None;
                    let cur = self.root.join("cur");
                    match std::fs::read_dir(&cur) {
                        Ok(d) => self.cur = Some(d),
                        Err(e) => return Some(Err(MailboxError::Io { path: cur, source: e })),
                    }
                }
                None => {
                    self.cur = None;
                    return None;
                }
            }
        }
    }
}

/// `seconds.M<microseconds>P<pid>Q<counter>R<random>.<host>`, the spec's modern form.
fn unique_name() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let n = DELIVERIES.fetch_add(1, Ordering::Relaxed);
    // The system's randomness; should it fail, time, process and counter keep the name unique.
    let random = getrandom::u32().unwrap_or_else(|_| now.subsec_nanos() ^ (n as u32));
    format!("{}.M{}P{}Q{}R{:08x}.{}", now.as_secs(), now.subsec_micros(), std::process::id(), n, random, hostname())
}

/// The host name with `/` and `:` escaped as the spec asks (read once per process).
fn hostname() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(read_hostname)
}

fn read_hostname() -> String {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    h.replace('/', "\\057").replace(':', "\\072")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forged_entries_cannot_move_files_out_of_the_maildir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let md = Maildir::create(dir.path().join("Maildir")).expect("create");
        let other = Maildir::create(dir.path().join("Other")).expect("create");
        let real = md.entries().expect("list").next();
        assert!(real.is_none());
        let p = md.deliver(b"Subject: x\r\n\r\n").expect("deliver");
        let good =
            md.find(&MaildirEntry::from_file_name(p.clone(), true).expect("entry").id).expect("find").expect("there");
        let victim = dir.path().join("victim.txt");
        std::fs::write(&victim, "keep me").expect("write");
        let forged = [
            MaildirEntry { id: "../../escaped".into(), ..good.clone() },
            MaildirEntry { id: "x/y".into(), ..good.clone() },
            MaildirEntry { path: victim.clone(), id: "victim.txt".into(), flags: String::new(), new: true },
            MaildirEntry { path: other.path().join("new").join(p.file_name().expect("name")), ..good.clone() },
            MaildirEntry { id: "someone-else".into(), ..good.clone() },
        ];
        for f in &forged {
            let e = md.set_flags(f, "S").expect_err("refused");
            assert!(matches!(e, MailboxError::Invalid(_)), "{f:?}");
            assert!(md.move_to(f, &other).is_err(), "{f:?}");
        }
        assert_eq!(std::fs::read_to_string(&victim).expect("still there"), "keep me");
        assert!(p.exists(), "the real message did not move");
        let flagged = md.set_flags(&good, "S F S x").expect("a real entry works");
        assert_eq!(flagged.flags, "FSx");
        assert_eq!(normalize_flags("ba?A1b"), "Aab");
    }

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

    #[test]
    fn list_flag_move_and_folders() {
        let dir = tempfile::tempdir().expect("tempdir");
        let md = Maildir::create(dir.path().join("M")).expect("create");
        for i in 0..5 {
            md.deliver(format!("Subject: {i}\r\n\r\nx").as_bytes()).expect("deliver");
        }
        std::fs::write(md.path().join("new/.hidden"), b"x").expect("write");
        let all: Vec<MaildirEntry> = md.entries().expect("entries").collect::<Result<_>>().expect("list");
        assert_eq!(all.len(), 5);
        assert!(all.iter().all(|e| e.new && e.flags.is_empty()));
        let original = md.read(&all[0]).expect("read");
        let seen = md.add_flag(&all[0], 'S').expect("flag");
        assert!(!seen.new && seen.path.to_string_lossy().ends_with(":2,S"));
        let both = md.set_flags(&seen, "TSS").expect("flags");
        assert_eq!(both.flags, "ST");
        assert_eq!(md.find(&all[0].id).expect("find").expect("found").flags, "ST");
        // The old entry is stale now: flagging it again is NotFound, nothing is lost.
        assert!(md.add_flag(&all[0], 'F').expect_err("moved").is_not_found());

        let archive = md.folder("Archive").expect("folder");
        let nested = md.folder("Lists.rust").expect("folder");
        assert_eq!(md.folders().expect("folders"), vec!["Archive".to_string(), "Lists.rust".to_string()]);
        let moved = md.move_to(&both, &archive).expect("move");
        assert_eq!(std::fs::read(&moved.path).expect("read"), original);
        assert_eq!(md.entries().expect("entries").count(), 4);
        assert_eq!(archive.entries().expect("entries").count(), 1);
        assert_eq!(nested.entries().expect("entries").count(), 0);
        for bad in ["", "../x", "a/b", ".a", "a..b", "a.", "x\n"] {
            assert!(md.folder(bad).is_err(), "{bad:?}");
        }
    }
}
