//! One side of a migration on local disk: each account's Maildir under a root template
//! (`maildir:/var/mail/%d/%n/Maildir`), read or written the way Dovecot keeps it, so a server
//! pointed at the result serves the same messages, flags, keywords and dates.
//!
//! * Folders: Maildir++ (`.Sent.2026` holds `Sent.2026`, separator `.`), or with `:LAYOUT=fs`
//!   one folder per directory (`Sent/2026`, separator `/`); names are modified UTF-7 on disk.
//!   INBOX is the root. Subscriptions are the root's `subscriptions` file (Dovecot's version 2
//!   format: a level per tab).
//! * Flags are the file name's `:2,` letters (`D F R S T`; `P`, passed, reads as `$Forwarded`);
//!   keywords are the letters `a`–`z`, named by the folder's `dovecot-keywords`. INTERNALDATE is
//!   the file's modification time.
//! * UIDs: a Maildir has none, so each folder's are kept in the migration's state folder, never
//!   in the Maildir (a source is only read): a UID list (UIDVALIDITY, next UID, UID → unique
//!   name) that new files join in the order of their dates. A lost list only renumbers the
//!   folder, which the state resolves by hashes.
//! * Writing: `tmp/`, synced, dated, renamed into `cur/` with its flags; `cur/` is synced and the
//!   UIDs recorded every [`SYNC_EVERY`] messages, before any is reported stored, so a crash
//!   leaves at most messages without a UID, which the next run finds by hash. When run as root
//!   into a tree another user owns (`vmail`), what is created is given to that user.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::MigrateError;
use super::folders::{Folder, SpecialUse, decode_mutf7, encode_mutf7};
use super::imap::{Appended, Message, Numbering};
use crate::files::{create_private_dir, private_file, replace_synced, sync_dir};

/// Messages written between two syncs of `cur/` (and of the UID list).
pub const SYNC_EVERY: usize = 32;
/// Folder levels at most (a deeper tree, or a loop of links, is not followed).
const MAX_DEPTH: usize = 32;
const SUBSCRIPTIONS: &str = "subscriptions";
const KEYWORDS: &str = "dovecot-keywords";

/// How folders are laid out under the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Maildir++: `.A.B` beside `cur/`, separator `.` (Dovecot's and Courier's default).
    Plus,
    /// `A/B` directories (Dovecot's `LAYOUT=fs`), separator `/`.
    Fs,
}

impl Layout {
    fn separator(self) -> char {
        match self {
            Layout::Plus => '.',
            Layout::Fs => '/',
        }
    }
}

/// Where accounts' Maildirs are: a path with `%u` (the user as the users file gives it), `%n`
/// (the part before `@`), `%d` (the part after) and `%%`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaildirRoot {
    /// The path template.
    pub template: String,
    /// The folder layout.
    pub layout: Layout,
}

impl MaildirRoot {
    /// `maildir:PATH[:LAYOUT=fs]`; `None` for anything that does not start with `maildir:`.
    pub fn parse(url: &str) -> Result<Option<Self>, MigrateError> {
        let Some(rest) = url.strip_prefix("maildir:") else { return Ok(None) };
        let (template, layout) = match rest.rsplit_once(':') {
            Some((t, opt)) if opt.eq_ignore_ascii_case("LAYOUT=fs") => (t, Layout::Fs),
            Some((t, opt)) if opt.eq_ignore_ascii_case("LAYOUT=maildir++") => (t, Layout::Plus),
            Some((_, opt)) if opt.contains('=') => {
                return Err(MigrateError::Config(format!(
                    "{url}: unknown option {opt:?} (LAYOUT=fs or LAYOUT=maildir++)"
                )));
            }
            _ => (rest, Layout::Plus),
        };
        if template.is_empty() {
            return Err(MigrateError::Config(format!("{url}: no path")));
        }
        let mut chars = template.chars();
        while let Some(c) = chars.next() {
            if c == '%' && !matches!(chars.next(), Some('u' | 'n' | 'd' | '%')) {
                return Err(MigrateError::Config(format!("{url}: only %u, %n, %d and %% may follow %")));
            }
        }
        Ok(Some(MaildirRoot { template: template.to_string(), layout }))
    }

    /// The account's Maildir. A user that would leave its place in the path (`/`, `..`, a NUL,
    /// nothing) is refused.
    pub fn path_for(&self, user: &str) -> Result<PathBuf, MigrateError> {
        let (local, domain) = match user.rsplit_once('@') {
            Some((l, d)) => (l, Some(d)),
            None => (user, None),
        };
        let part = |v: &str, what: &str| {
            if v.is_empty() || v == "." || v == ".." || v.contains(['/', '\0']) || v.chars().any(char::is_control) {
                Err(MigrateError::Config(format!("user {user:?}: its {what} cannot be part of a path")))
            } else {
                Ok(v.to_string())
            }
        };
        let mut out = String::new();
        let mut chars = self.template.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('u') => out.push_str(&part(user, "name")?),
                Some('n') => out.push_str(&part(local, "local part")?),
                Some('d') => match domain {
                    Some(d) => out.push_str(&part(d, "domain")?),
                    None => return Err(MigrateError::Config(format!("user {user:?} has no @domain for %d"))),
                },
                _ => out.push('%'),
            }
        }
        Ok(PathBuf::from(out))
    }
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> MigrateError + '_ {
    move |e| match e.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            MigrateError::OverQuota(format!("{}: {e}", path.display()))
        }
        _ => MigrateError::Maildir { path: path.to_path_buf(), detail: e.to_string() },
    }
}

/// What a side may do to an account's Maildir.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// A source: it must exist, and nothing in it is changed.
    Read,
    /// A destination: created when missing.
    Write,
    /// A destination looked at (a dry run, a proof): a missing one is an empty account.
    Look,
}

/// One account's Maildir.
pub(crate) struct MaildirSide {
    root: PathBuf,
    layout: Layout,
    /// Where this Maildir's UID lists are kept.
    uids: PathBuf,
    /// Who should own what is created (root writing into another user's tree).
    owner: Option<(u32, u32)>,
    /// Folder name → directory, as the last listing found them.
    dirs: HashMap<String, PathBuf>,
    open: Option<Open>,
}

/// The open folder.
struct Open {
    name: String,
    dir: PathBuf,
    list: UidList,
    keywords: Keywords,
}

/// A message file: its unique name (before `:`), its current file name, and whether it is in
/// `new/`.
#[derive(Debug, Clone)]
struct File_ {
    base: String,
    file: String,
    new: bool,
}

impl MaildirSide {
    /// Opens `root` as `access` says. The UID lists live under `state_dir`.
    pub(crate) fn connect(
        root: PathBuf,
        layout: Layout,
        state_dir: &Path,
        access: Access,
    ) -> Result<Self, MigrateError> {
        use sha2::Digest;
        let owner = if access == Access::Write { owner_for(&root) } else { None };
        if access == Access::Write {
            make_maildir(&root, owner)?;
        } else if access == Access::Read && !root.join("cur").is_dir() {
            return Err(MigrateError::Config(format!("{}: no Maildir there (no cur/)", root.display())));
        }
        let key = sha2::Sha256::digest(root.as_os_str().as_encoded_bytes());
        let uids = state_dir.join("maildir-uids").join(&super::state::hex(&key.into())[..24]);
        Ok(MaildirSide { root, layout, uids, owner, dirs: HashMap::new(), open: None })
    }

    /// The directory of folder `name` (created folders and listed ones are known; others are
    /// computed from the name, each level checked).
    fn dir(&self, name: &str) -> Result<PathBuf, MigrateError> {
        if name.eq_ignore_ascii_case("INBOX") {
            return Ok(self.root.clone());
        }
        if let Some(d) = self.dirs.get(name) {
            return Ok(d.clone());
        }
        let sep = self.layout.separator();
        let levels: Vec<&str> = name.split(sep).collect();
        for l in &levels {
            let bad = l.is_empty()
                || *l == "."
                || *l == ".."
                || l.contains(['/', '\0'])
                || l.chars().any(char::is_control)
                || (self.layout == Layout::Fs && ["cur", "new", "tmp"].contains(l));
            if bad {
                return Err(MigrateError::Config(format!(
                    "folder {name:?} cannot be a Maildir folder (level {l:?}); rename it with --map"
                )));
            }
        }
        Ok(match self.layout {
            Layout::Plus => self.root.join(format!(".{}", encode_mutf7(name))),
            Layout::Fs => levels.iter().fold(self.root.clone(), |p, l| p.join(encode_mutf7(l))),
        })
    }

    /// Every folder, INBOX first; special uses guessed from the names (a Maildir has no
    /// attributes).
    pub(crate) fn folders(&mut self) -> Result<Vec<Folder>, MigrateError> {
        let sep = self.layout.separator();
        if !self.root.join("cur").is_dir() {
            // A destination account not made yet.
            return Ok(Vec::new());
        }
        let mut found: Vec<(String, PathBuf, bool)> = Vec::new();
        match self.layout {
            Layout::Plus => {
                for e in std::fs::read_dir(&self.root).map_err(io_err(&self.root))? {
                    let e = e.map_err(io_err(&self.root))?;
                    let Some(raw) = e.file_name().to_str().map(str::to_string) else { continue };
                    let Some(name) = raw.strip_prefix('.') else { continue };
                    if name.is_empty() || name.starts_with('.') || name.ends_with('.') || name.contains("..") {
                        continue;
                    }
                    let path = e.path();
                    if path.join("cur").is_dir() {
                        found.push((decode_mutf7(name).unwrap_or_else(|_| name.to_string()), path, true));
                    }
                }
            }
            Layout::Fs => walk(&self.root, "", sep, 0, &mut found)?,
        }
        self.dirs = found.iter().map(|(n, p, _)| (n.clone(), p.clone())).collect();
        let mut out = vec![Folder { name: "INBOX".into(), separator: Some(sep), special: None, selectable: true }];
        for (name, _, selectable) in found {
            let last = name.rsplit(sep).next().unwrap_or(&name).to_string();
            out.push(Folder { name, separator: Some(sep), special: SpecialUse::from_name(&last), selectable });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The subscribed folders, from `subscriptions` (version 2, or the older one name a line).
    pub(crate) fn subscribed(&mut self) -> Result<Vec<String>, MigrateError> {
        let path = self.root.join(SUBSCRIPTIONS);
        let text = match std::fs::read(&path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&path)(e)),
        };
        Ok(parse_subscriptions(&text, self.layout.separator()))
    }

    /// Creates a folder (and its parents' directories); an existing one is fine.
    pub(crate) fn create(&mut self, folder: &str, subscribe: bool) -> Result<(), MigrateError> {
        let dir = self.dir(folder)?;
        make_maildir(&dir, self.owner)?;
        if self.layout == Layout::Plus {
            let marker = dir.join("maildirfolder");
            if !marker.exists() {
                private_file().write(true).create(true).truncate(true).open(&marker).map_err(io_err(&marker))?;
                self.chown(&marker)?;
            }
        }
        self.dirs.insert(folder.to_string(), dir);
        if subscribe {
            self.subscribe(folder)?;
        }
        Ok(())
    }

    /// Adds a folder to `subscriptions` (written in version 2 when it is new).
    pub(crate) fn subscribe(&mut self, folder: &str) -> Result<(), MigrateError> {
        let path = self.root.join(SUBSCRIPTIONS);
        let sep = self.layout.separator();
        let mut text = match std::fs::read(&path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => "V\t2\n\n".to_string(),
            Err(e) => return Err(io_err(&path)(e)),
        };
        if parse_subscriptions(&text, sep).iter().any(|s| s == folder) {
            return Ok(());
        }
        let v2 = text.starts_with("V\t");
        let line: String =
            if v2 { folder.split(sep).map(encode_mutf7).collect::<Vec<_>>().join("\t") } else { encode_mutf7(folder) };
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&line);
        text.push('\n');
        replace_synced(&path, text.as_bytes()).map_err(io_err(&path))?;
        self.chown(&path)
    }

    /// Opens a folder: its files listed, UIDs given to new ones. A missing folder is created
    /// when opened to `write`, an error otherwise.
    pub(crate) fn open(&mut self, folder: &str, write: bool) -> Result<Numbering, MigrateError> {
        let mut dir = self.dir(folder)?;
        if write && !dir.join("cur").is_dir() {
            self.create(folder, false)?;
            dir = self.dir(folder)?;
        }
        if !dir.join("cur").is_dir() {
            return Err(MigrateError::Config(format!("folder {folder:?}: no Maildir at {}", dir.display())));
        }
        let list_path = self.uids.join(format!("{}.uids", super::state::file_name(folder)));
        let mut list = UidList::load(&list_path)?;
        list.scan(&dir)?;
        let keywords = Keywords::load(&dir.join(KEYWORDS))?;
        let numbering =
            Numbering { uidvalidity: list.uidvalidity, uidnext: list.next, exists: list.files.len() as u32 };
        self.open = Some(Open { name: folder.to_string(), dir, list, keywords });
        Ok(numbering)
    }

    fn opened(&mut self) -> Result<&mut Open, MigrateError> {
        self.open.as_mut().ok_or_else(|| MigrateError::Config("no folder is open".into()))
    }

    /// Every message's UID and flags in the open folder.
    pub(crate) fn flags(&mut self) -> Result<Vec<(u32, Vec<String>)>, MigrateError> {
        let o = self.opened()?;
        Ok(o.list.files.iter().map(|(uid, f)| (*uid, o.keywords.flags_of(f))).collect())
    }

    /// Every message's UID and size in the open folder.
    pub(crate) fn sizes(&mut self) -> Result<Vec<(u32, u64)>, MigrateError> {
        let o = self.opened()?;
        let mut out = Vec::with_capacity(o.list.files.len());
        for (uid, f) in &o.list.files {
            let path = f.path(&o.dir);
            match std::fs::metadata(&path) {
                Ok(m) => out.push((*uid, m.len())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&path)(e)),
            }
        }
        Ok(out)
    }

    /// Streams the messages `uids` (all when `None`) of the open folder to `each`, one file in
    /// memory at a time. A file deleted meanwhile is left out; one renamed (its flags changed,
    /// or moved from `new/` to `cur/`) is found again by its unique name.
    pub(crate) async fn messages<F>(&mut self, uids: Option<&[u32]>, each: &mut F) -> Result<(), MigrateError>
    where
        F: AsyncFnMut(Message) -> Result<(), MigrateError>,
    {
        let wanted: Vec<u32> = match uids {
            Some(u) => u.to_vec(),
            None => self.opened()?.list.files.keys().copied().collect(),
        };
        for uid in wanted {
            let Some(message) = self.read(uid)? else { continue };
            each(message).await?;
        }
        Ok(())
    }

    fn read(&mut self, uid: u32) -> Result<Option<Message>, MigrateError> {
        let o = self.opened()?;
        for attempt in 0..2 {
            let Some(f) = o.list.files.get(&uid) else { return Ok(None) };
            let path = f.path(&o.dir);
            match read_dated(&path) {
                Ok((body, secs)) => {
                    let flags = o.keywords.flags_of(f);
                    return Ok(Some(Message { uid, flags, date: Some((imap_date(secs), secs)), body }));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempt == 0 => o.list.relocate(&o.dir, uid)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(io_err(&path)(e)),
            }
        }
        Ok(None)
    }

    /// The open folder's messages above `after`: UID and SHA-256.
    pub(crate) async fn hashes_after(&mut self, after: u32) -> Result<Vec<(u32, [u8; 32])>, MigrateError> {
        use sha2::Digest;
        let uids: Vec<u32> = self.opened()?.list.files.range(after.saturating_add(1)..).map(|(u, _)| *u).collect();
        let mut out = Vec::with_capacity(uids.len());
        for uid in uids {
            if let Some(m) = self.read(uid)? {
                out.push((uid, sha2::Sha256::digest(&m.body).into()));
            }
        }
        Ok(out)
    }

    /// Sets the flags of messages in the open folder (a rename into `cur/` each).
    pub(crate) fn store_flags(&mut self, uids: &[u32], flags: &[String]) -> Result<(), MigrateError> {
        let owner = self.owner;
        let o = self.opened()?;
        let info = o.keywords.info_for(flags, owner)?;
        let cur = o.dir.join("cur");
        for uid in uids {
            let Some(f) = o.list.files.get(uid).cloned() else { continue };
            let to = format!("{}:2,{info}", f.base);
            if !f.new && f.file == to {
                continue;
            }
            let from = f.path(&o.dir);
            match std::fs::rename(&from, cur.join(&to)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&from)(e)),
            }
            o.list.files.insert(*uid, File_ { base: f.base, file: to, new: false });
        }
        sync_dir(&cur).map_err(io_err(&cur))
    }

    /// The next UID `folder` will give.
    pub(crate) fn uidnext(&mut self, folder: &str) -> Result<u32, MigrateError> {
        if self.open.as_ref().is_some_and(|o| o.name == folder) {
            return Ok(self.opened()?.list.next);
        }
        Ok(self.open(folder, false)?.uidnext)
    }

    /// Starts writing into the open folder, which must be `folder`.
    pub(crate) fn appender(&mut self, folder: &str) -> Result<Appender<'_>, MigrateError> {
        if self.open.as_ref().is_none_or(|o| o.name != folder) {
            self.open(folder, true)?;
        }
        Ok(Appender { side: self, answers: Vec::new(), unrecorded: Vec::new() })
    }

    /// The hierarchy separator of folder names.
    pub(crate) fn separator(&self) -> char {
        self.layout.separator()
    }

    fn chown(&self, path: &Path) -> Result<(), MigrateError> {
        chown(path, self.owner)
    }
}

/// Messages being written: each is in `cur/` when `send` returns, and reported stored once
/// `cur/` is synced and its UID recorded.
pub(crate) struct Appender<'a> {
    side: &'a mut MaildirSide,
    answers: Vec<Appended>,
    unrecorded: Vec<u32>,
}

impl Appender<'_> {
    /// Writes one message dated `date` (seconds since 1970); returns the answers of the
    /// messages written before, once they are durable.
    pub(crate) fn send(
        &mut self,
        flags: &[String],
        date: Option<i64>,
        body: &[u8],
    ) -> Result<Vec<Appended>, MigrateError> {
        let owner = self.side.owner;
        let o = self.side.opened()?;
        let info = o.keywords.info_for(flags, owner)?;
        let tmp_dir = o.dir.join("tmp");
        let (tmp, mut file) = tmp_file(&tmp_dir)?;
        let written = (|| {
            file.write_all(body)?;
            if let Some(secs) = date {
                let at = if secs >= 0 {
                    UNIX_EPOCH + Duration::from_secs(secs as u64)
                } else {
                    UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
                };
                file.set_modified(at)?;
            }
            file.sync_all()
        })();
        if let Err(e) = written.and_then(|()| chown_io(&tmp, owner)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_err(&tmp)(e));
        }
        let unique = tmp.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let base = format!("{unique},S={}", body.len());
        let name = format!("{base}:2,{info}");
        let dest = o.dir.join("cur").join(&name);
        if let Err(e) = std::fs::rename(&tmp, &dest) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_err(&dest)(e));
        }
        let uid = o.list.next;
        o.list.next += 1;
        o.list.files.insert(uid, File_ { base, file: name, new: false });
        self.unrecorded.push(uid);
        self.answers.push(Appended::Ok(Some(uid)));
        if self.answers.len() >= SYNC_EVERY { self.flush() } else { Ok(Vec::new()) }
    }

    /// Syncs what was written and records its UIDs; returns every answer still owed.
    pub(crate) fn finish(&mut self) -> Result<Vec<Appended>, MigrateError> {
        self.flush()
    }

    fn flush(&mut self) -> Result<Vec<Appended>, MigrateError> {
        if self.answers.is_empty() {
            return Ok(Vec::new());
        }
        let o = self.side.opened()?;
        let cur = o.dir.join("cur");
        sync_dir(&cur).map_err(io_err(&cur))?;
        o.list.append(&std::mem::take(&mut self.unrecorded))?;
        Ok(std::mem::take(&mut self.answers))
    }
}

impl File_ {
    fn path(&self, dir: &Path) -> PathBuf {
        dir.join(if self.new { "new" } else { "cur" }).join(&self.file)
    }
}

/// A folder's UIDs: a header line `mailwright-uids 1 UIDVALIDITY NEXT`, then `UID NAME` lines,
/// appended as messages are written (a torn last line is ignored), rewritten when a scan
/// changed anything.
struct UidList {
    path: PathBuf,
    uidvalidity: u32,
    next: u32,
    files: BTreeMap<u32, File_>,
}

impl UidList {
    fn load(path: &Path) -> Result<Self, MigrateError> {
        let fresh = || UidList {
            path: path.to_path_buf(),
            // Seconds since 1970, as Dovecot picks them: a new list is a new numbering.
            uidvalidity: (SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as u32).max(1),
            next: 1,
            files: BTreeMap::new(),
        };
        let text = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(fresh()),
            Err(e) => return Err(io_err(path)(e)),
        };
        let text = String::from_utf8_lossy(&text);
        let mut lines = text.split_inclusive('\n');
        let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
        let (Some(uidvalidity), Some(next)) = (
            header.get(2).and_then(|v| v.parse::<u32>().ok()).filter(|_| header.first() == Some(&"mailwright-uids")),
            header.get(3).and_then(|v| v.parse::<u32>().ok()),
        ) else {
            // Not ours, or torn: start a new numbering rather than trust it.
            return Ok(fresh());
        };
        let mut list = UidList { path: path.to_path_buf(), uidvalidity, next, files: BTreeMap::new() };
        for line in lines {
            let Some(line) = line.strip_suffix('\n') else { break };
            if let Some((uid, base)) = line.split_once(' ')
                && let Ok(uid) = uid.parse::<u32>()
                && uid > 0
            {
                list.next = list.next.max(uid.saturating_add(1));
                list.files.insert(uid, File_ { base: base.to_string(), file: String::new(), new: false });
            }
        }
        Ok(list)
    }

    /// Matches the list with the folder's files: known names get their current file, vanished
    /// ones leave, new ones get UIDs in the order of their dates. The list is rewritten if
    /// anything changed.
    fn scan(&mut self, dir: &Path) -> Result<(), MigrateError> {
        let on_disk = list_files(dir)?;
        let before = self.files.len();
        let mut known: HashMap<String, u32> = HashMap::with_capacity(self.files.len());
        let mut live = BTreeMap::new();
        for (uid, f) in std::mem::take(&mut self.files) {
            if let Some(now) = on_disk.get(&f.base) {
                known.insert(f.base.clone(), uid);
                live.insert(uid, now.clone());
            }
        }
        let mut fresh: Vec<(i64, &File_)> = Vec::new();
        for f in on_disk.values() {
            if !known.contains_key(&f.base) {
                let secs = std::fs::metadata(f.path(dir)).ok().and_then(|m| m.modified().ok()).map_or(0, unix_secs);
                fresh.push((secs, f));
            }
        }
        fresh.sort_by(|a, b| (a.0, &a.1.base).cmp(&(b.0, &b.1.base)));
        let changed = !fresh.is_empty() || live.len() != before;
        for (_, f) in fresh {
            live.insert(self.next, f.clone());
            self.next += 1;
        }
        self.files = live;
        if changed || !self.path.exists() {
            self.rewrite()?;
        }
        Ok(())
    }

    /// Looks for a message's file again (another program renamed it).
    fn relocate(&mut self, dir: &Path, uid: u32) -> Result<(), MigrateError> {
        let Some(base) = self.files.get(&uid).map(|f| f.base.clone()) else { return Ok(()) };
        match list_files(dir)?.remove(&base) {
            Some(f) => self.files.insert(uid, f),
            None => self.files.remove(&uid),
        };
        Ok(())
    }

    fn rewrite(&self) -> Result<(), MigrateError> {
        let mut text = format!("mailwright-uids 1 {} {}\n", self.uidvalidity, self.next);
        for (uid, f) in &self.files {
            text.push_str(&format!("{uid} {}\n", f.base));
        }
        self.ensure_dir()?;
        replace_synced(&self.path, text.as_bytes()).map_err(io_err(&self.path))
    }

    fn append(&self, uids: &[u32]) -> Result<(), MigrateError> {
        if !self.path.exists() {
            return self.rewrite();
        }
        let mut text = String::new();
        for uid in uids {
            if let Some(f) = self.files.get(uid) {
                text.push_str(&format!("{uid} {}\n", f.base));
            }
        }
        let mut file = private_file().append(true).open(&self.path).map_err(io_err(&self.path))?;
        file.write_all(text.as_bytes()).and_then(|()| file.sync_data()).map_err(io_err(&self.path))
    }

    fn ensure_dir(&self) -> Result<(), MigrateError> {
        match self.path.parent() {
            Some(d) => crate::files::create_private_dir_all(d).map_err(io_err(d)),
            None => Ok(()),
        }
    }
}

/// The message files of a Maildir folder by unique name (`cur/` wins over `new/`). A name that
/// is not UTF-8 or holds a control character is an error, not a message left behind.
fn list_files(dir: &Path) -> Result<HashMap<String, File_>, MigrateError> {
    let mut out: HashMap<String, File_> = HashMap::new();
    for (sub, new) in [("new", true), ("cur", false)] {
        let d = dir.join(sub);
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(&d)(e)),
        };
        for e in entries {
            let e = e.map_err(io_err(&d))?;
            let name = e.file_name();
            let Some(file) = name.to_str() else {
                return Err(MigrateError::Maildir {
                    path: e.path(),
                    detail: "the file name is not UTF-8; rename the file and run again".into(),
                });
            };
            if file.starts_with('.') {
                continue;
            }
            if file.chars().any(char::is_control) {
                return Err(MigrateError::Maildir {
                    path: e.path(),
                    detail: "the file name holds a control character; rename the file and run again".into(),
                });
            }
            let base = file.split(':').next().unwrap_or(file).to_string();
            out.insert(base.clone(), File_ { base, file: file.to_string(), new });
        }
    }
    Ok(out)
}

/// A folder's keyword letters (`dovecot-keywords`: `INDEX NAME` lines, `a` is index 0).
struct Keywords {
    path: PathBuf,
    names: [Option<String>; 26],
}

impl Keywords {
    fn load(path: &Path) -> Result<Self, MigrateError> {
        let mut names: [Option<String>; 26] = Default::default();
        match std::fs::read(path) {
            Ok(b) => {
                for line in String::from_utf8_lossy(&b).lines() {
                    if let Some((i, name)) = line.split_once(' ')
                        && let Ok(i) = i.parse::<usize>()
                        && i < 26
                        && !name.is_empty()
                    {
                        names[i] = Some(name.to_string());
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(path)(e)),
        }
        Ok(Keywords { path: path.to_path_buf(), names })
    }

    /// A file's flags and keywords, in the form the IMAP side gives them.
    fn flags_of(&self, f: &File_) -> Vec<String> {
        let info = f.file.split_once(":2,").map_or("", |(_, i)| i);
        let mut out: Vec<String> = Vec::new();
        for c in info.chars() {
            let flag = match c {
                'D' => Some("\\Draft".to_string()),
                'F' => Some("\\Flagged".to_string()),
                'R' => Some("\\Answered".to_string()),
                'S' => Some("\\Seen".to_string()),
                'T' => Some("\\Deleted".to_string()),
                'P' => Some("$Forwarded".to_string()),
                'a'..='z' => self.names[(c as u8 - b'a') as usize].clone(),
                _ => None,
            };
            out.extend(flag);
        }
        out.sort_by_key(|f| f.to_ascii_lowercase());
        out.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        out
    }

    /// The `:2,` letters for `flags`, naming new keywords in `dovecot-keywords` first. Beyond
    /// 26 keywords in a folder the rest cannot be stored (the proof then reports the message).
    fn info_for(&mut self, flags: &[String], owner: Option<(u32, u32)>) -> Result<String, MigrateError> {
        let mut letters: Vec<char> = Vec::new();
        let mut added = false;
        for f in flags {
            let system = match f.to_ascii_lowercase().as_str() {
                "\\draft" => Some('D'),
                "\\flagged" => Some('F'),
                "\\answered" => Some('R'),
                "\\seen" => Some('S'),
                "\\deleted" => Some('T'),
                _ => None,
            };
            if let Some(c) = system {
                letters.push(c);
                continue;
            }
            if f.starts_with('\\') || f.is_empty() || f.chars().any(|c| c.is_whitespace() || c.is_control()) {
                continue;
            }
            let index = match self.names.iter().position(|n| n.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(f))) {
                Some(i) => Some(i),
                None => {
                    let free = self.names.iter().position(Option::is_none);
                    if let Some(i) = free {
                        self.names[i] = Some(f.clone());
                        added = true;
                    }
                    free
                }
            };
            if let Some(i) = index {
                letters.push((b'a' + i as u8) as char);
            }
        }
        if added {
            let mut text = String::new();
            for (i, n) in self.names.iter().enumerate() {
                if let Some(n) = n {
                    text.push_str(&format!("{i} {n}\n"));
                }
            }
            replace_synced(&self.path, text.as_bytes()).map_err(io_err(&self.path))?;
            chown(&self.path, owner)?;
        }
        letters.sort_unstable();
        letters.dedup();
        Ok(letters.into_iter().collect())
    }
}

/// The subscriptions file's folder names, with `sep` between levels.
fn parse_subscriptions(text: &str, sep: char) -> Vec<String> {
    let mut lines = text.lines();
    let v2 = text.starts_with("V\t");
    if v2 {
        // The header runs to the first empty line.
        for l in lines.by_ref() {
            if l.is_empty() {
                break;
            }
        }
    }
    let decode = |s: &str| decode_mutf7(s).unwrap_or_else(|_| s.to_string());
    lines
        .filter(|l| !l.is_empty())
        .map(|l| if v2 { l.split('\t').map(decode).collect::<Vec<_>>().join(&sep.to_string()) } else { decode(l) })
        .filter(|n| !n.eq_ignore_ascii_case("INBOX"))
        .collect()
}

/// `LAYOUT=fs` folders: every directory below the root but `cur`, `new` and `tmp`; those
/// without `cur/` hold only other folders.
fn walk(
    dir: &Path,
    prefix: &str,
    sep: char,
    depth: usize,
    out: &mut Vec<(String, PathBuf, bool)>,
) -> Result<(), MigrateError> {
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    let mut entries: Vec<(String, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let e = e.map_err(io_err(dir))?;
        let Some(raw) = e.file_name().to_str().map(str::to_string) else { continue };
        if raw.starts_with('.') || ["cur", "new", "tmp"].contains(&raw.as_str()) {
            continue;
        }
        // Real directories only: a link could lead anywhere, or in a circle.
        if e.file_type().map_err(io_err(dir))?.is_dir() {
            entries.push((raw, e.path()));
        }
    }
    entries.sort();
    for (raw, path) in entries {
        let level = decode_mutf7(&raw).unwrap_or_else(|_| raw.clone());
        let name = if prefix.is_empty() { level } else { format!("{prefix}{sep}{level}") };
        out.push((name.clone(), path.clone(), path.join("cur").is_dir()));
        walk(&path, &name, sep, depth + 1, out)?;
    }
    Ok(())
}

/// Creates `dir` with `cur/`, `new/` and `tmp/`, and the parents it needs, each given to `owner`.
fn make_maildir(dir: &Path, owner: Option<(u32, u32)>) -> Result<(), MigrateError> {
    let mut missing = Vec::new();
    let mut p = dir;
    while !p.exists() {
        missing.push(p.to_path_buf());
        match p.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => p = parent,
            _ => break,
        }
    }
    for d in missing.iter().rev() {
        make_dir(d, owner)?;
    }
    for sub in ["cur", "new", "tmp"] {
        let d = dir.join(sub);
        if !d.is_dir() {
            make_dir(&d, owner)?;
        }
    }
    Ok(())
}

fn make_dir(d: &Path, owner: Option<(u32, u32)>) -> Result<(), MigrateError> {
    match create_private_dir(d) {
        Ok(()) => chown(d, owner),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_err(d)(e)),
    }
}

/// A fresh file in `tmp/` under a unique name.
fn tmp_file(tmp: &Path) -> Result<(PathBuf, File), MigrateError> {
    crate::mailbox::create_tmp_file(tmp, "").map_err(|e| match e {
        crate::mailbox::MailboxError::Io { path, source } => io_err(&path)(source),
        e => MigrateError::Maildir { path: tmp.to_path_buf(), detail: e.to_string() },
    })
}

/// A file's bytes and modification time, from one open file (a rename meanwhile cannot pair
/// one file's bytes with another's date).
fn read_dated(path: &Path) -> io::Result<(Vec<u8>, i64)> {
    use std::io::Read;
    let mut f = File::open(path)?;
    let meta = f.metadata()?;
    let mut body = Vec::with_capacity(meta.len().min(1 << 30) as usize);
    f.read_to_end(&mut body)?;
    Ok((body, meta.modified().map_or(0, unix_secs)))
}

fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// An instant as IMAP writes INTERNALDATE (`02-Dec-2026 05:16:20 +0000`).
pub(crate) fn imap_date(secs: i64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let d = mail_parser::DateTime::from_timestamp(secs);
    let month = MONTHS[usize::from(d.month.clamp(1, 12)) - 1];
    format!("{:02}-{month}-{:04} {:02}:{:02}:{:02} +0000", d.day, d.year, d.hour, d.minute, d.second)
}

/// Who owns the nearest existing folder above `root`, when we are root and it is someone else:
/// what we create there is given to them (a mail store belongs to its server's user).
fn owner_for(root: &Path) -> Option<(u32, u32)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if !rustix::process::geteuid().is_root() {
            return None;
        }
        let meta = root.ancestors().find_map(|p| std::fs::metadata(p).ok())?;
        (meta.uid() != 0).then(|| (meta.uid(), meta.gid()))
    }
    #[cfg(not(unix))]
    {
        let _ = root;
        None
    }
}

fn chown_io(path: &Path, owner: Option<(u32, u32)>) -> io::Result<()> {
    #[cfg(unix)]
    if let Some((uid, gid)) = owner {
        return std::os::unix::fs::chown(path, Some(uid), Some(gid));
    }
    let _ = (path, owner);
    Ok(())
}

fn chown(path: &Path, owner: Option<(u32, u32)>) -> Result<(), MigrateError> {
    chown_io(path, owner).map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_expand_and_users_cannot_leave_their_place() {
        let r = MaildirRoot::parse("maildir:/var/mail/%d/%n/Maildir").expect("parse").expect("maildir");
        assert_eq!(r.layout, Layout::Plus);
        assert_eq!(r.path_for("ann@exam.test").expect("path"), PathBuf::from("/var/mail/exam.test/ann/Maildir"));
        for bad in ["../x@exam.test", "ann@..", "a/b@exam.test", "@exam.test", "ann", "a\nb@x"] {
            assert!(r.path_for(bad).is_err(), "{bad}");
        }
        let fs = MaildirRoot::parse("maildir:/m/%u:LAYOUT=fs").expect("parse").expect("maildir");
        assert_eq!((fs.layout, fs.path_for("ann").expect("path")), (Layout::Fs, PathBuf::from("/m/ann")));
        assert!(MaildirRoot::parse("maildir:/m/%x").is_err());
        assert!(MaildirRoot::parse("maildir:/m/%u:INDEX=/x").is_err());
        assert!(MaildirRoot::parse("imaps://host").expect("parse").is_none());
    }

    #[test]
    fn subscriptions_read_both_versions() {
        assert_eq!(parse_subscriptions("V\t2\n\nFoo\tB&AOQ-r\nSent Items\n", '/'), ["Foo/Bär", "Sent Items"]);
        assert_eq!(parse_subscriptions("INBOX\nLists.rust\n", '.'), ["Lists.rust"]);
    }

    #[test]
    fn dates_are_imap_dates() {
        assert_eq!(imap_date(1_796_192_180), "02-Dec-2026 06:16:20 +0000");
        assert_eq!(imap_date(0), "01-Jan-1970 00:00:00 +0000");
    }

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        crate::migrate::runtime().expect("runtime").block_on(f)
    }

    #[test]
    fn written_messages_read_back_with_flags_keywords_dates_and_stable_uids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (root, state) = (dir.path().join("Maildir"), dir.path().join("state"));
        let mut side = MaildirSide::connect(root.clone(), Layout::Plus, &state, Access::Write).expect("connect");
        side.create("Lists.rüst", true).expect("create");
        assert!(root.join(".Lists.r&APw-st/cur").is_dir());
        let n = side.open("Lists.rüst", true).expect("open");
        let flags = vec!["\\Seen".to_string(), "$Label1".to_string(), "\\Answered".to_string()];
        let mut a = side.appender("Lists.rüst").expect("appender");
        assert!(a.send(&flags, Some(1_700_000_000), b"Subject: one\r\n\r\n1\r\n").expect("send").is_empty());
        a.send(&[], Some(1_700_000_100), b"Subject: two\r\n\r\n2\r\n").expect("send");
        let answers = a.finish().expect("finish");
        assert!(
            matches!(answers[..], [Appended::Ok(Some(u1)), Appended::Ok(Some(u2))] if u1 == n.uidnext && u2 == u1 + 1)
        );
        assert_eq!(std::fs::read_to_string(root.join(".Lists.r&APw-st/dovecot-keywords")).expect("kw"), "0 $Label1\n");
        let sub = std::fs::read_to_string(root.join("subscriptions")).expect("subs");
        assert_eq!(sub, "V\t2\n\nLists\tr&APw-st\n");

        // Another side (a later run) sees the same UIDs, flags and dates; a file dropped in by
        // another program gets the next UID.
        std::fs::write(root.join(".Lists.r&APw-st/new/123.M1P1.host"), b"Subject: three\r\n\r\n3\r\n").expect("w");
        let mut again = MaildirSide::connect(root.clone(), Layout::Plus, &state, Access::Read).expect("connect");
        let names: Vec<String> = again.folders().expect("folders").into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["INBOX", "Lists.rüst"]);
        assert_eq!(again.subscribed().expect("subs"), ["Lists.rüst"]);
        let n2 = again.open("Lists.rüst", false).expect("open");
        assert_eq!((n2.uidvalidity, n2.exists, n2.uidnext), (n.uidvalidity, 3, n.uidnext + 3));
        let got = again.flags().expect("flags");
        assert_eq!(got[0], (n.uidnext, vec!["$Label1".to_string(), "\\Answered".into(), "\\Seen".into()]));
        let mut dates = Vec::new();
        block(again.messages(None, &mut async |m: Message| {
            dates.push((m.uid, m.date.map(|d| d.1)));
            Ok(())
        }))
        .expect("messages");
        assert_eq!(dates[..2], [(n.uidnext, Some(1_700_000_000)), (n.uidnext + 1, Some(1_700_000_100))]);
        assert_eq!(block(again.hashes_after(n.uidnext + 1)).expect("hashes").len(), 1);

        // Flags change by rename; the UID stays.
        again.store_flags(&[n.uidnext + 2], &["\\Flagged".to_string(), "Junk".to_string()]).expect("store");
        let again = again.flags().expect("flags");
        assert_eq!(again[2], (n.uidnext + 2, vec!["\\Flagged".to_string(), "Junk".into()]));
    }

    #[test]
    fn folder_names_that_would_escape_or_collide_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut side =
            MaildirSide::connect(dir.path().join("M"), Layout::Fs, &dir.path().join("s"), Access::Write).expect("c");
        for bad in ["a/../../etc", "..", "x/cur", "a//b", "bad\u{7}"] {
            assert!(side.create(bad, false).is_err(), "{bad}");
        }
        side.create("Archive/2026", false).expect("create");
        let f = side.folders().expect("folders");
        let got: Vec<(&str, bool)> = f.iter().map(|f| (f.name.as_str(), f.selectable)).collect();
        assert_eq!(got, [("Archive", false), ("Archive/2026", true), ("INBOX", true)]);
        assert_eq!(f[0].special, Some(SpecialUse::Archive));
        assert!(!dir.path().join("etc").exists());
    }
}
