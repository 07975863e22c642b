//! What a mailbox's migration has done, on disk: for each source folder, its UIDVALIDITY and,
//! per source UID, the message's SHA-256, its UID on the destination and the flags it was
//! copied with.
//!
//! The state is a journal of JSON lines (`<state dir>/<source>→<dest>.jsonl`), appended and
//! synced once per batch and rewritten compactly when a run opens it, so saving costs what the
//! batch adds, however large the mailbox. A kill tears at most the last line, which loading
//! ignores. The records:
//! * `folder`: a source folder starts (again) under this UIDVALIDITY, into this destination
//!   folder (and its UIDVALIDITY); what was recorded for it before is kept by hash only.
//! * `msg`: a source message was copied (or found on the destination).
//! * `through`: every destination message up to this UID is accounted for.
//! * `flags`: the flags a copied message now has.
//! * `earlier`: a hash copied under an earlier source UIDVALIDITY, not yet matched again.
//! * `unplaced`: a copy whose destination UID the server did not say (no UIDPLUS).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::MigrateError;

/// A copied message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub sha256: [u8; 32],
    /// Its UID on the destination, when the server said (UIDPLUS) or it was found there.
    pub dest_uid: Option<u32>,
    /// The source's flags when it was copied (or last carried over).
    pub flags: Vec<String>,
}

/// One source folder.
#[derive(Debug, Clone, Default)]
pub(crate) struct FolderState {
    pub uidvalidity: u32,
    pub to: String,
    pub dest_uidvalidity: u32,
    /// Destination UIDs up to this one are accounted for.
    pub through: u32,
    /// Source UID → what it became.
    pub messages: BTreeMap<u32, Entry>,
    /// Hashes copied under an earlier UIDVALIDITY of the source, waiting to be matched.
    pub earlier: Vec<([u8; 32], Option<u32>)>,
    /// Hashes recorded without a destination UID since the last `through`: they are in the
    /// destination's tail, and must not be taken for copies made by a killed run.
    pub unplaced: Vec<[u8; 32]>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "lowercase")]
enum Record {
    Folder { folder: String, uidvalidity: u32, to: String, dest_uidvalidity: u32 },
    Msg { folder: String, uid: u32, sha256: String, dest_uid: Option<u32>, flags: Vec<String> },
    Earlier { folder: String, sha256: String, dest_uid: Option<u32> },
    Unplaced { folder: String, sha256: String },
    Through { folder: String, through: u32 },
    Flags { folder: String, uid: u32, flags: Vec<String> },
}

/// A mailbox's state, open for a run (and locked against a second one).
#[derive(Debug)]
pub(crate) struct MailboxState {
    path: PathBuf,
    file: File,
    _lock: File,
    pub folders: BTreeMap<String, FolderState>,
    /// Lines not yet written.
    pending: Vec<u8>,
}

impl MailboxState {
    /// Opens (or starts) the state of the mailbox `source → dest` in `dir`.
    pub(crate) fn open(dir: &Path, source: &str, dest: &str) -> Result<Self, MigrateError> {
        let local = |path: &Path| {
            let path = path.to_path_buf();
            move |e: std::io::Error| MigrateError::State { path, detail: e.to_string() }
        };
        crate::files::create_private_dir_all(dir).map_err(local(dir))?;
        let name = format!("{}→{}", file_name(source), file_name(dest));
        let path = dir.join(format!("{name}.jsonl"));
        let lock_path = dir.join(format!("{name}.lock"));
        let lock = crate::files::private_file()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(local(&lock_path))?;
        #[cfg(unix)]
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).map_err(|_| {
            MigrateError::State { path: path.clone(), detail: "another migration of this mailbox is running".into() }
        })?;
        let folders = match std::fs::read(&path) {
            Ok(bytes) => load(&bytes).map_err(|detail| MigrateError::State { path: path.clone(), detail })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(local(&path)(e)),
        };
        // Compact: the journal a run starts from says each thing once.
        let mut compact = Vec::new();
        for (name, f) in &folders {
            dump(name, f, &mut compact);
        }
        crate::files::replace_synced(&path, &compact).map_err(local(&path))?;
        let file = crate::files::private_file().append(true).open(&path).map_err(local(&path))?;
        Ok(MailboxState { path, file, _lock: lock, folders, pending: Vec::new() })
    }

    /// The folder's state; a new source UIDVALIDITY (or destination folder) starts it again,
    /// keeping what was copied before by hash.
    pub(crate) fn start_folder(&mut self, folder: &str, uidvalidity: u32, to: &str, dest_uidvalidity: u32) {
        let f = self.folders.entry(folder.to_string()).or_default();
        if f.uidvalidity == uidvalidity && f.to == to && f.dest_uidvalidity == dest_uidvalidity {
            return;
        }
        let same_dest = f.to == to && f.dest_uidvalidity == dest_uidvalidity;
        let mut earlier = std::mem::take(&mut f.earlier);
        if same_dest {
            // The source renumbered: what it copied stays copied, matched again by content.
            earlier.extend(f.messages.values().map(|e| (e.sha256, e.dest_uid)));
        }
        // A destination folder that is new (or was recreated) holds nothing of ours: start over,
        // with what it does hold found by hash before anything is appended.
        let through = if same_dest { f.through } else { 0 };
        *f = FolderState {
            uidvalidity,
            to: to.to_string(),
            dest_uidvalidity,
            through,
            messages: BTreeMap::new(),
            earlier: if same_dest { earlier } else { Vec::new() },
            unplaced: Vec::new(),
        };
        let f = f.clone();
        dump(folder, &f, &mut self.pending);
    }

    /// Records a copied (or found) message.
    pub(crate) fn record(&mut self, folder: &str, uid: u32, entry: Entry) {
        line(
            &mut self.pending,
            &Record::Msg {
                folder: folder.into(),
                uid,
                sha256: hex(&entry.sha256),
                dest_uid: entry.dest_uid,
                flags: entry.flags.clone(),
            },
        );
        if let Some(f) = self.folders.get_mut(folder) {
            f.messages.insert(uid, entry);
        }
    }

    /// Records a copy whose destination UID the server did not say: it is somewhere in the
    /// destination's tail, until the next `through`.
    pub(crate) fn record_unplaced(&mut self, folder: &str, uid: u32, entry: Entry) {
        if let Some(f) = self.folders.get_mut(folder) {
            f.unplaced.push(entry.sha256);
        }
        line(&mut self.pending, &Record::Unplaced { folder: folder.into(), sha256: hex(&entry.sha256) });
        self.record(folder, uid, entry);
    }

    /// A hash copied under an earlier UIDVALIDITY, used up by a message that has it now: its
    /// destination UID (if known). `None`: no such hash is left.
    pub(crate) fn use_earlier(&mut self, folder: &str, sha256: &[u8; 32]) -> Option<Option<u32>> {
        let f = self.folders.get_mut(folder)?;
        let i = f.earlier.iter().position(|(h, _)| h == sha256)?;
        Some(f.earlier.swap_remove(i).1)
    }

    /// Records new flags for a copied message.
    pub(crate) fn set_flags(&mut self, folder: &str, uid: u32, flags: Vec<String>) {
        line(&mut self.pending, &Record::Flags { folder: folder.into(), uid, flags: flags.clone() });
        if let Some(e) = self.folders.get_mut(folder).and_then(|f| f.messages.get_mut(&uid)) {
            e.flags = flags;
        }
    }

    /// Records that destination UIDs up to `through` are accounted for.
    pub(crate) fn through(&mut self, folder: &str, through: u32) {
        if let Some(f) = self.folders.get_mut(folder)
            && through > f.through
        {
            f.through = through;
            f.unplaced.clear();
            line(&mut self.pending, &Record::Through { folder: folder.into(), through });
        }
    }

    /// Writes and syncs what was recorded since the last commit.
    pub(crate) fn commit(&mut self) -> Result<(), MigrateError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.pending).and_then(|()| self.file.sync_data());
        self.pending.clear();
        result.map_err(|e| MigrateError::State { path: self.path.clone(), detail: e.to_string() })
    }
}

/// A user name as part of a file name: letters, digits and `@._-` kept, the rest `%XX`.
pub(crate) fn file_name(user: &str) -> String {
    let mut out = String::with_capacity(user.len());
    for b in user.bytes() {
        if b.is_ascii_alphanumeric() || b"@._-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.starts_with('.') {
        out.replace_range(0..1, "%2E");
    }
    out
}

pub(crate) fn hex(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn line(out: &mut Vec<u8>, r: &Record) {
    if serde_json::to_writer(&mut *out, r).is_ok() {
        out.push(b'\n');
    }
}

/// A folder's state as the records that make it.
fn dump(name: &str, f: &FolderState, out: &mut Vec<u8>) {
    let folder = || name.to_string();
    line(
        out,
        &Record::Folder {
            folder: folder(),
            uidvalidity: f.uidvalidity,
            to: f.to.clone(),
            dest_uidvalidity: f.dest_uidvalidity,
        },
    );
    for (h, dest_uid) in &f.earlier {
        line(out, &Record::Earlier { folder: folder(), sha256: hex(h), dest_uid: *dest_uid });
    }
    if f.through > 0 {
        line(out, &Record::Through { folder: folder(), through: f.through });
    }
    for h in &f.unplaced {
        line(out, &Record::Unplaced { folder: folder(), sha256: hex(h) });
    }
    for (uid, e) in &f.messages {
        let (sha256, dest_uid, flags) = (hex(&e.sha256), e.dest_uid, e.flags.clone());
        line(out, &Record::Msg { folder: folder(), uid: *uid, sha256, dest_uid, flags });
    }
}

/// Replays a journal. A last line without its newline was torn by a kill and is ignored.
fn load(bytes: &[u8]) -> Result<BTreeMap<String, FolderState>, String> {
    let mut folders: BTreeMap<String, FolderState> = BTreeMap::new();
    let complete = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => &bytes[..=i],
        None => &[][..],
    };
    for (n, raw) in complete.split(|&b| b == b'\n').enumerate() {
        if raw.is_empty() {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}; move the file aside to start this mailbox over", n + 1);
        let record: Record = serde_json::from_slice(raw).map_err(|e| bad(&e.to_string()))?;
        let hash = |s: &str| unhex(s).ok_or_else(|| bad("not a SHA-256"));
        match record {
            Record::Folder { folder, uidvalidity, to, dest_uidvalidity } => {
                folders.insert(folder, FolderState { uidvalidity, to, dest_uidvalidity, ..FolderState::default() });
            }
            Record::Msg { folder, uid, sha256, dest_uid, flags } => {
                let f = folders.get_mut(&folder).ok_or_else(|| bad("a message before its folder"))?;
                f.messages.insert(uid, Entry { sha256: hash(&sha256)?, dest_uid, flags });
            }
            Record::Unplaced { folder, sha256 } => {
                let f = folders.get_mut(&folder).ok_or_else(|| bad("a hash before its folder"))?;
                f.unplaced.push(hash(&sha256)?);
            }
            Record::Earlier { folder, sha256, dest_uid } => {
                let f = folders.get_mut(&folder).ok_or_else(|| bad("a hash before its folder"))?;
                f.earlier.push((hash(&sha256)?, dest_uid));
            }
            Record::Through { folder, through } => {
                let f = folders.get_mut(&folder).ok_or_else(|| bad("a mark before its folder"))?;
                f.through = f.through.max(through);
                f.unplaced.clear();
            }
            Record::Flags { folder, uid, flags } => {
                if let Some(e) = folders.get_mut(&folder).and_then(|f| f.messages.get_mut(&uid)) {
                    e.flags = flags;
                }
            }
        }
    }
    // Matched earlier hashes are recorded as messages: what is left of `earlier` is unmatched.
    for f in folders.values_mut() {
        for e in f.messages.values() {
            if let Some(i) = f.earlier.iter().position(|(h, _)| *h == e.sha256) {
                f.earlier.swap_remove(i);
            }
        }
    }
    Ok(folders)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(b: u8, dest_uid: Option<u32>) -> Entry {
        Entry { sha256: [b; 32], dest_uid, flags: vec!["\\Seen".into()] }
    }

    #[test]
    fn a_journal_survives_reopening_and_a_torn_last_line() {
        let dir = tempfile::tempdir().expect("test");
        {
            let mut s = MailboxState::open(dir.path(), "a@x", "b@y").expect("test");
            s.start_folder("INBOX", 7, "INBOX", 9);
            s.record("INBOX", 1, entry(1, Some(10)));
            s.record_unplaced("INBOX", 2, entry(2, None));
            s.through("INBOX", 10);
            s.commit().expect("test");
            s.record("INBOX", 3, entry(3, Some(12)));
            s.set_flags("INBOX", 1, vec![]);
            s.commit().expect("test");
        }
        let path = dir.path().join("a@x→b@y.jsonl");
        let mut f = std::fs::OpenOptions::new().append(true).open(&path).expect("test");
        f.write_all(b"{\"k\":\"msg\",\"folder\":\"INBOX\",\"uid\":4").expect("test");
        drop(f);
        let s = MailboxState::open(dir.path(), "a@x", "b@y").expect("test");
        let inbox = &s.folders["INBOX"];
        assert_eq!(inbox.messages.keys().copied().collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(inbox.messages[&1].flags, Vec::<String>::new());
        assert_eq!((inbox.through, inbox.unplaced.len()), (10, 0));
        // Reopened, it was compacted: one line a record, none torn.
        let text = std::fs::read_to_string(&path).expect("test");
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn a_renumbered_source_keeps_its_hashes_and_a_new_destination_starts_over() {
        let dir = tempfile::tempdir().expect("test");
        let mut s = MailboxState::open(dir.path(), "a", "b").expect("test");
        s.start_folder("F", 1, "F", 5);
        s.record("F", 1, entry(1, Some(1)));
        s.record("F", 2, entry(1, Some(2)));
        s.start_folder("F", 2, "F", 5);
        assert_eq!(s.folders["F"].earlier.len(), 2);
        assert_eq!(s.use_earlier("F", &[1; 32]), Some(Some(1)));
        s.record("F", 100, entry(1, Some(1)));
        s.commit().expect("test");
        drop(s);
        let mut s = MailboxState::open(dir.path(), "a", "b").expect("test");
        assert_eq!(s.folders["F"].earlier.len(), 1, "one of the two duplicates is matched");
        s.start_folder("F", 2, "F", 6);
        assert!(s.folders["F"].messages.is_empty() && s.folders["F"].earlier.is_empty());
    }

    #[test]
    fn a_second_run_of_one_mailbox_is_refused_and_names_stay_in_the_folder() {
        let dir = tempfile::tempdir().expect("test");
        let _first = MailboxState::open(dir.path(), "../../etc/x", "b").expect("test");
        assert!(matches!(MailboxState::open(dir.path(), "../../etc/x", "b"), Err(MigrateError::State { .. })));
        let names: Vec<_> =
            std::fs::read_dir(dir.path()).expect("test").map(|e| e.expect("test").file_name()).collect();
        assert!(names.iter().all(|n| n.to_string_lossy().starts_with("%2E.%2F")), "{names:?}");
    }
}
