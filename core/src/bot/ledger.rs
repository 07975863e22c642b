//! The ledger: one JSON line per handled message (`ledger.jsonl` in the state folder), appended
//! and fsynced before the message leaves the processing folder. A hash in the ledger means
//! every action of that message succeeded; the bot never acts on it again.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::BotError;
use crate::parse::Message;

/// The handled messages: by content hash, and by the Maildir id they had.
#[derive(Debug)]
pub(crate) struct Ledger {
    path: PathBuf,
    hashes: HashSet<String>,
    /// Maildir ids of handled messages (as the ledger recorded them): a message kept in the
    /// source after its commit (`done = ""`) is known without reading it again.
    ids: HashSet<String>,
}

impl Ledger {
    /// Reads the ledger at `path` (none yet: empty). A torn last line (a crash in the middle of
    /// an append) is not a record; with `repair` it is cut off, so that the next record starts
    /// on a line of its own instead of joining it into one unreadable line.
    pub(crate) fn open(path: &Path, repair: bool) -> Result<Ledger, BotError> {
        let mut ledger = Ledger { path: path.to_path_buf(), hashes: HashSet::new(), ids: HashSet::new() };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ledger),
            Err(e) => return Err(ledger.io(e)),
        };
        if repair && !text.is_empty() && !text.ends_with('\n') {
            let whole = text.rfind('\n').map_or(0, |i| i + 1);
            let f = OpenOptions::new().write(true).open(path).map_err(|e| ledger.io(e))?;
            f.set_len(whole as u64).and_then(|_| f.sync_all()).map_err(|e| ledger.io(e))?;
        }
        for v in text.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
            if let Some(h) = v["hash"].as_str() {
                ledger.hashes.insert(h.to_string());
                if let Some(id) = v["file"].as_str() {
                    ledger.ids.insert(id.to_string());
                }
            }
        }
        Ok(ledger)
    }

    /// How many messages it holds.
    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether the message with this content hash was handled.
    pub(crate) fn contains(&self, hash: &str) -> bool {
        self.hashes.contains(hash)
    }

    /// Whether a handled message had this Maildir id.
    pub(crate) fn knows_id(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// Remembers that the message with Maildir id `id` is the handled message `hash` (found by
    /// its content), so that it is not read again.
    pub(crate) fn learn_id(&mut self, id: &str) {
        self.ids.insert(id.to_string());
    }

    /// Appends the record of a handled message and syncs it; a failed append leaves no torn
    /// line (a full disk, say) and the message unrecorded.
    pub(crate) fn record(
        &mut self,
        hash: &str,
        id: &str,
        msg: Option<&Message<'_>>,
        rules: &[String],
        actions: &[Value],
    ) -> Result<(), BotError> {
        let line = json!({
            "hash": hash,
            "file": id,
            "message_id": msg.and_then(|m| m.message_id()),
            "subject": msg.and_then(|m| m.subject()),
            "at": SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
            "rules": rules,
            "actions": actions,
        });
        let mut f = crate::files::private_file().create(true).append(true).open(&self.path).map_err(|e| self.io(e))?;
        let before = f.metadata().map_err(|e| self.io(e))?.len();
        if let Err(e) = f.write_all(format!("{line}\n").as_bytes()).and_then(|_| f.sync_all()) {
            let _ = f.set_len(before);
            return Err(self.io(e));
        }
        self.hashes.insert(hash.to_string());
        self.ids.insert(id.to_string());
        Ok(())
    }

    fn io(&self, source: io::Error) -> BotError {
        BotError::Io { path: self.path.clone(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_ledger_lines_are_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("ledger.jsonl");
        let torn = "{\"hash\":\"a\"}\n{\"hash\":\"b\"}\n{\"hash\":\"c";
        std::fs::write(&p, torn).expect("write");
        // A dry run reads without writing.
        assert_eq!(Ledger::open(&p, false).expect("ledger").len(), 2);
        assert_eq!(std::fs::read_to_string(&p).expect("read"), torn);
        // A real run cuts the torn line off: the next record is a line of its own.
        assert_eq!(Ledger::open(&p, true).expect("ledger").len(), 2);
        let mut f = OpenOptions::new().append(true).open(&p).expect("open");
        f.write_all(b"{\"hash\":\"c\"}\n").expect("append");
        let l = Ledger::open(&p, true).expect("ledger");
        assert!(["a", "b", "c"].iter().all(|h| l.contains(h)) && l.len() == 3);
        // A ledger that is one torn line becomes empty.
        std::fs::write(&p, "{\"hash\":\"c").expect("write");
        assert_eq!(Ledger::open(&p, true).expect("ledger").len(), 0);
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "");
    }

    #[test]
    fn records_are_found_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("ledger.jsonl");
        let mut l = Ledger::open(&p, true).expect("ledger");
        let msg = Message::parse(b"Subject: hi\r\nMessage-ID: <a@b>\r\n\r\nx").expect("parse");
        l.record("h1", "id1", Some(&msg), &["r".into()], &[]).expect("record");
        let again = Ledger::open(&p, true).expect("ledger");
        assert!(again.contains("h1") && again.knows_id("id1") && !again.contains("h2"));
        let line: Value = serde_json::from_str(std::fs::read_to_string(&p).expect("read").trim()).expect("json");
        assert_eq!((line["subject"].as_str(), line["message_id"].as_str()), (Some("hi"), Some("a@b")));
    }
}
