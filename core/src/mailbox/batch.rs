//! Delivery in batches: many messages written to `tmp/`, made durable together, then linked
//! into `new/` under names the caller chose, with one sync of `new/` for the lot.
//!
//! [`Maildir::deliver`] syncs every message and the folder: two syncs a message, which is what
//! a bulk download spends most of its time on. A [`Batch`] pays one sync of the data (`syncfs`
//! on Linux, a sync per file elsewhere) and one of `new/` however many messages it holds. A crash
//! before [`Batch::commit`] returns leaves files in `tmp/` and possibly some of the batch in
//! `new/` — never a partial message in `new/`: the caller keeps its own progress behind the
//! commit and, after a crash, checks which names of its last batch are there already.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;

use super::{MailboxError, Maildir, io_at};
use crate::files::sync_dir;

type Result<T> = std::result::Result<T, MailboxError>;

/// A message being written into `tmp/`, not yet visible to readers.
#[derive(Debug)]
pub struct Pending {
    tmp: PathBuf,
    name: String,
    /// Info flags (`S`, `FS`…): the message goes into `cur/` as `name:2,<info>`.
    info: Option<String>,
    file: Option<File>,
    bytes: u64,
}

impl Pending {
    /// Appends `bytes` to the message.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let file = match &mut self.file {
            Some(f) => f,
            None => {
                let f = OpenOptions::new().append(true).open(&self.tmp).map_err(io_at(&self.tmp))?;
                self.file.insert(f)
            }
        };
        file.write_all(bytes).map_err(io_at(&self.tmp))?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Closes the file until more is written, so that many pending messages do not hold many
    /// descriptors.
    pub fn close(&mut self) {
        self.file = None;
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// The name it gets in `new/`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Delivers it with Maildir info flags (`S`, `FS`, …; letters in ASCII order): into `cur/`
    /// as `name:2,<flags>`, as a reader that had seen it would have put it. Empty flags keep it
    /// for `new/`.
    pub fn set_flags(&mut self, flags: &str) -> Result<()> {
        if !flags.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(MailboxError::Invalid(format!("{flags:?} are not Maildir info flags")));
        }
        self.info = (!flags.is_empty()).then(|| flags.to_string());
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.file = None;
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// Messages waiting to be committed into one Maildir together.
#[derive(Debug)]
pub struct Batch {
    maildir: Maildir,
    pending: Vec<Pending>,
    bytes: u64,
}

impl Maildir {
    /// Starts writing a message that will be linked into `new/` as `name` (a unique name the
    /// caller chose, say from an IMAP UID). The file in `tmp/` starts with `name` followed by a
    /// comma, so a caller can recognise and remove what a crash left ([`Maildir::clean_tmp`]).
    pub fn pending(&self, name: &str) -> Result<Pending> {
        if name.is_empty() || name.starts_with('.') || name.contains(['/', ':', '\0']) {
            return Err(MailboxError::Invalid(format!("{name:?} is not a Maildir name")));
        }
        let (tmp, file) = self.create_tmp_with_prefix(&format!("{name},"))?;
        Ok(Pending { tmp, name: name.to_string(), info: None, file: Some(file), bytes: 0 })
    }

    /// A batch of deliveries into this Maildir.
    pub fn batch(&self) -> Batch {
        Batch { maildir: self.clone(), pending: Vec::new(), bytes: 0 }
    }

    /// Removes the files in `tmp/` whose names start with `prefix`: what a killed [`Batch`] of
    /// the caller's left. Only call it while no one else writes such names (hold a lock).
    pub fn clean_tmp(&self, prefix: &str) -> Result<usize> {
        let tmp = self.path().join("tmp");
        let mut removed = 0;
        for e in std::fs::read_dir(&tmp).map_err(io_at(&tmp))? {
            let e = e.map_err(io_at(&tmp))?;
            if e.file_name().to_str().is_some_and(|n| n.starts_with(prefix)) && std::fs::remove_file(e.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

impl Batch {
    /// Adds a message written whole.
    pub fn add(&mut self, name: &str, raw: &[u8]) -> Result<()> {
        let mut p = self.maildir.pending(name)?;
        p.write_all(raw)?;
        self.push(p);
        Ok(())
    }

    /// Adds a message written with [`Maildir::pending`].
    pub fn push(&mut self, mut pending: Pending) {
        pending.close();
        self.bytes += pending.bytes;
        self.pending.push(pending);
    }

    /// Messages in the batch.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Bytes in the batch.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Makes the batch durable and visible: syncs the data, links each message into `new/`
    /// (`cur/` with its flags, [`Pending::set_flags`]; never over an existing file), syncs the
    /// folders. One entry per message, in the order added: its path, or `None` when the name
    /// was there already. The batch is empty afterwards,
    /// also when this fails (the files in `tmp/` are removed).
    pub fn commit(&mut self) -> Result<Vec<Option<PathBuf>>> {
        let pending = std::mem::take(&mut self.pending);
        self.bytes = 0;
        if pending.is_empty() {
            return Ok(Vec::new());
        }
        let tmp = self.maildir.path().join("tmp");
        sync_data(&tmp, &pending).map_err(io_at(&tmp))?;
        let new = self.maildir.path().join("new");
        let cur = self.maildir.path().join("cur");
        let mut out = Vec::with_capacity(pending.len());
        for p in &pending {
            let dest = match &p.info {
                None => new.join(&p.name),
                Some(info) => cur.join(format!("{}:2,{info}", p.name)),
            };
            match std::fs::hard_link(&p.tmp, &dest) {
                Ok(()) => out.push(Some(dest)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => out.push(None),
                Err(e) => return Err(MailboxError::Io { path: dest, source: e }),
            }
        }
        let into_cur = pending.iter().any(|p| p.info.is_some());
        drop(pending);
        sync_dir(&new).map_err(io_at(&new))?;
        if into_cur {
            sync_dir(&cur).map_err(io_at(&cur))?;
        }
        Ok(out)
    }
}

/// Syncs the data of every pending file: one `syncfs` of the file system on Linux (one flush
/// for the whole batch), a sync per file elsewhere.
fn sync_data(tmp: &std::path::Path, pending: &[Pending]) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let _ = pending;
        rustix::fs::syncfs(File::open(tmp)?)?;
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        for p in pending {
            File::open(&p.tmp)?.sync_all()?;
        }
        sync_dir(tmp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_links_its_messages_once_and_leaves_tmp_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let md = Maildir::create(dir.path().join("M")).expect("create");
        let mut b = md.batch();
        for i in 0..5 {
            b.add(&format!("x-{i}"), format!("Subject: {i}\r\n\r\n").as_bytes()).expect("add");
        }
        let mut big = md.pending("x-big").expect("pending");
        big.write_all(b"Subject: big\r\n\r\n").expect("write");
        big.close();
        big.write_all(b"second part\r\n").expect("append after close");
        b.push(big);
        assert_eq!((b.len(), b.bytes()), (6, 5 * 14 + 16 + 13));
        assert_eq!(std::fs::read_dir(md.path().join("new")).expect("new").count(), 0, "nothing visible yet");
        let got = b.commit().expect("commit");
        assert!(got.iter().all(Option::is_some) && b.is_empty());
        let big = std::fs::read(md.path().join("new/x-big")).expect("big");
        assert_eq!(big, b"Subject: big\r\n\r\nsecond part\r\n");
        // The same names again: already there, nothing overwritten.
        b.add("x-0", b"Subject: other\r\n\r\n").expect("add");
        assert_eq!(b.commit().expect("commit"), vec![None]);
        assert_eq!(std::fs::read(md.path().join("new/x-0")).expect("x-0"), b"Subject: 0\r\n\r\n");
        assert_eq!(std::fs::read_dir(md.path().join("tmp")).expect("tmp").count(), 0);
    }

    #[test]
    fn dropped_batches_and_leftovers_are_cleaned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let md = Maildir::create(dir.path().join("M")).expect("create");
        let mut b = md.batch();
        b.add("y-1", b"x").expect("add");
        drop(b);
        assert_eq!(std::fs::read_dir(md.path().join("tmp")).expect("tmp").count(), 0);
        // A kill leaves files behind; only those with the caller's prefix go.
        std::fs::write(md.path().join("tmp/y-2,left"), b"x").expect("write");
        std::fs::write(md.path().join("tmp/someone-else"), b"x").expect("write");
        assert_eq!(md.clean_tmp("y-").expect("clean"), 1);
        assert!(md.path().join("tmp/someone-else").exists());
        for bad in ["", ".x", "a/b", "a:2,S"] {
            assert!(md.pending(bad).is_err(), "{bad:?}");
        }
        let mut p = md.pending("y-3").expect("pending");
        assert!(p.set_flags("S/../x").is_err() && p.set_flags("2,S").is_err());
        p.set_flags("FS").expect("flags");
        let mut b = md.batch();
        b.push(p);
        let got = b.commit().expect("commit");
        assert_eq!(got, vec![Some(md.path().join("cur/y-3:2,FS"))]);
    }
}
