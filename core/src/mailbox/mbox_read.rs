//! Reading an mbox: the file is read in large chunks and every message is a [`Bytes`] slice of
//! the chunk it lies in, so nothing is copied again unless a `>From ` line has to be unquoted,
//! and memory stays flat however large the mailbox. While a reader lives it holds the locks
//! mailers take (see `lock`): a dot-lock, a shared fcntl lock and a shared `flock`, so Postfix,
//! mutt and mailwright's own appends wait. The file is read, never mapped: a program that
//! ignores every lock and truncates or rewrites the file under the reader can make it see a
//! shorter or a different mailbox, but cannot crash it (no SIGBUS) nor change a message already
//! handed out.
//!
//! Separators: a line `From ` that starts the file or follows a blank line, or whose rest looks
//! like an envelope line (`From sender Www Mmm dd hh:mm:ss yyyy`). Unquoting follows the
//! variant: mboxrd takes one `>` off every `>…>From ` line, mboxo only off `>From `.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use bytes::Bytes;

/// How `From ` lines inside messages were quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MboxFormat {
    /// `>From `, `>>From `… each lose one `>` (what [`super::Mbox::append`] writes).
    #[default]
    Mboxrd,
    /// Only `>From ` loses its `>`; deeper quoting is kept.
    Mboxo,
}

/// One message of an mbox.
#[derive(Debug, Clone)]
pub struct MboxMessage {
    /// Where its `From ` line starts in the file.
    pub offset: u64,
    /// The `From ` line, without its line end.
    pub from_line: Bytes,
    raw: Bytes,
    format: MboxFormat,
}

impl MboxMessage {
    /// The message as stored (still quoted), a view of the mapping.
    pub fn stored(&self) -> &Bytes {
        &self.raw
    }

    /// The message with `>From ` quoting undone: borrowed from the mapping unless a line had to
    /// change.
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        unquote(&self.raw, self.format)
    }

    /// The envelope sender in the `From ` line.
    pub fn sender(&self) -> &str {
        std::str::from_utf8(&self.from_line).ok().and_then(|l| l.split_whitespace().nth(1)).unwrap_or("")
    }
}

/// An iterator over the messages of an mbox file.
#[derive(Debug)]
pub struct MboxReader {
    /// The bytes read and not yet handed out, from a message's start (or the file's).
    data: Bytes,
    /// Where `data` starts in the file.
    base: u64,
    pos: usize,
    format: MboxFormat,
    file: Option<File>,
    eof: bool,
    _lock: Option<super::lock::MboxLock>,
}

/// How much is read at a time (more when one message is larger).
const CHUNK: usize = 1 << 20;

impl MboxReader {
    /// Opens the mbox at `path` and takes its locks (waiting up to [`super::LOCK_WAIT`] for
    /// another program's): they are held while the reader lives.
    pub fn open(path: impl AsRef<Path>, format: MboxFormat) -> Result<Self, super::MailboxError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(super::io_at(path))?;
        let lock = super::lock::MboxLock::take(&file, path, false, super::LOCK_WAIT)?;
        let mut r =
            MboxReader { data: Bytes::new(), base: 0, pos: 0, format, file: Some(file), eof: false, _lock: Some(lock) };
        r.skip_junk().map_err(super::io_at(path))?;
        Ok(r)
    }

    /// Reads messages from bytes already in memory (no file, no lock).
    pub fn from_bytes(data: Bytes, format: MboxFormat) -> Self {
        let mut r = MboxReader { data, base: 0, pos: 0, format, file: None, eof: true, _lock: None };
        let _ = r.skip_junk();
        r
    }

    /// Leading junk (or a blank line): start at the first separator.
    fn skip_junk(&mut self) -> io::Result<()> {
        loop {
            if self.data.starts_with(b"From ") {
                return Ok(());
            }
            if let Some(at) = next_separator(self.complete(), 0) {
                self.pos = at;
                return Ok(());
            }
            if self.eof {
                self.pos = self.data.len();
                return Ok(());
            }
            // Junk keeps only its last line, which may be the start of a separator.
            let keep = memchr::memrchr(b'\n', &self.data).map_or(0, |i| i + 1);
            self.pos = keep;
            self.refill()?;
        }
    }

    /// The part of the window made of whole lines (all of it at the end of the file).
    fn complete(&self) -> &[u8] {
        if self.eof {
            return &self.data;
        }
        &self.data[..memchr::memrchr(b'\n', &self.data).map_or(0, |i| i + 1)]
    }

    /// A new window: what is left from the cursor on, and at least as much again from the file.
    fn refill(&mut self) -> io::Result<()> {
        let Some(file) = self.file.as_mut() else {
            self.eof = true;
            return Ok(());
        };
        let rest = &self.data[self.pos..];
        let want = CHUNK.max(rest.len());
        let mut buf = Vec::with_capacity(rest.len() + want);
        buf.extend_from_slice(rest);
        let read = (&mut *file).take(want as u64).read_to_end(&mut buf)?;
        if read == 0 {
            self.eof = true;
        }
        self.base += self.pos as u64;
        self.data = Bytes::from(buf);
        self.pos = 0;
        Ok(())
    }

    fn offset_of(&self, at: usize) -> u64 {
        self.base + at as u64
    }
}

impl Iterator for MboxReader {
    type Item = MboxMessage;

    fn next(&mut self) -> Option<MboxMessage> {
        let (start, line_end, body_start, next) = loop {
            if self.pos >= self.data.len() && self.eof {
                return None;
            }
            let data = self.complete();
            let start = self.pos;
            if let Some(nl) = memchr::memchr(b'\n', &data[start.min(data.len())..]) {
                let line_end = start + nl;
                let body_start = line_end + 1;
                match next_separator(data, body_start) {
                    Some(next) => break (start, line_end, body_start, next),
                    None if self.eof => break (start, line_end, body_start, data.len()),
                    None => {}
                }
            } else if self.eof {
                let end = self.data.len();
                break (start, end, end, end);
            }
            // The message goes on past the window: read more (a read error ends the mailbox
            // as far as it could be read).
            if self.refill().is_err() {
                self.eof = true;
                self.file = None;
            }
        };
        let data = &self.data;
        // The blank line before the next separator (or at the end) belongs to the mbox.
        let mut end = next;
        if data[body_start..next].ends_with(b"\r\n\r\n") {
            end -= 2;
        } else if data[body_start..next].ends_with(b"\n\n") {
            end -= 1;
        }
        let from_line = data.slice(start..line_end);
        let from_line = from_line.slice(..from_line.strip_suffix(b"\r").map_or(from_line.len(), <[u8]>::len));
        let msg = MboxMessage {
            offset: self.offset_of(start),
            from_line,
            raw: data.slice(body_start..end),
            format: self.format,
        };
        self.pos = next;
        Some(msg)
    }
}

/// The start of the next separator line at or after `from` (which must be a line start).
fn next_separator(data: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    if at == 0 && data.starts_with(b"From ") {
        return Some(0);
    }
    for i in memchr::memmem::find_iter(&data[from.saturating_sub(1)..], b"\nFrom ") {
        let line = from.saturating_sub(1) + i + 1;
        if line < at {
            continue;
        }
        at = line;
        let before = &data[..line];
        let after_blank = before.ends_with(b"\n\n") || before.ends_with(b"\n\r\n") || line == 0;
        if after_blank || looks_like_envelope(&data[line..]) {
            return Some(line);
        }
    }
    None
}

/// `From sender Www Mmm dd hh:mm:ss yyyy` (the time and a four-digit year are enough).
fn looks_like_envelope(line: &[u8]) -> bool {
    let end = memchr::memchr(b'\n', line).unwrap_or(line.len()).min(200);
    let Ok(text) = std::str::from_utf8(&line[..end]) else { return false };
    let words: Vec<&str> = text.split_whitespace().collect();
    words.len() >= 6
        && words.iter().any(|w| w.len() == 8 && w.as_bytes()[2] == b':' && w.as_bytes()[5] == b':')
        && words.iter().any(|w| w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit()))
}

/// Undoes `>From ` quoting.
pub(crate) fn unquote(raw: &[u8], format: MboxFormat) -> Cow<'_, [u8]> {
    let quoted = |line: &[u8]| -> bool {
        let depth = line.iter().take_while(|&&b| b == b'>').count();
        depth > 0 && line[depth..].starts_with(b"From ") && (format == MboxFormat::Mboxrd || depth == 1)
    };
    let needs =
        raw.starts_with(b">") && quoted(raw) || memchr::memmem::find_iter(raw, b"\n>").any(|i| quoted(&raw[i + 1..]));
    if !needs {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if quoted(line) {
            out.extend_from_slice(&line[1..]);
        } else {
            out.extend_from_slice(line);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(data: &[u8], format: MboxFormat) -> Vec<(String, Vec<u8>)> {
        MboxReader::from_bytes(Bytes::copy_from_slice(data), format)
            .map(|m| (m.sender().to_string(), m.bytes().into_owned()))
            .collect()
    }

    #[test]
    fn splits_and_unquotes() {
        let mbox = b"From a@x Sat Jan  1 00:00:00 2022\nSubject: one\n\n>From here\n>>From there\nFrom the body, unquoted (mboxo writers do this)\n\nFrom b@y Sat Jan  1 00:00:01 2022\nSubject: two\n\nbody\n\n";
        let got = read(mbox, MboxFormat::Mboxrd);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, "a@x");
        assert_eq!(
            got[0].1,
            b"Subject: one\n\nFrom here\n>From there\nFrom the body, unquoted (mboxo writers do this)\n".to_vec()
        );
        assert_eq!(got[1].1, b"Subject: two\n\nbody\n".to_vec());
        let got = read(mbox, MboxFormat::Mboxo);
        assert!(got[0].1.windows(13).any(|w| w == b">>From there\n" || w == b"\n>>From there"));
    }

    #[test]
    fn separators_without_blank_lines_and_crlf() {
        let mbox = b"From a@x Sat Jan  1 00:00:00 2022\r\nSubject: one\r\n\r\nx\r\nFrom b@y Sat Jan  1 00:00:01 2022\r\nSubject: two\r\n\r\ny\r\n";
        let got = read(mbox, MboxFormat::Mboxrd);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1, b"Subject: one\r\n\r\nx\r\n".to_vec());
        assert_eq!(got[1].1, b"Subject: two\r\n\r\ny\r\n".to_vec());
    }

    #[test]
    fn junk_empty_and_truncated() {
        assert!(read(b"", MboxFormat::Mboxrd).is_empty());
        assert!(read(b"no separator at all\n", MboxFormat::Mboxrd).is_empty());
        let got = read(b"junk\n\nFrom a Sat Jan  1 00:00:00 2022\nSubject: s", MboxFormat::Mboxrd);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, b"Subject: s".to_vec());
        let got = read(b"From a Sat Jan  1 00:00:00 2022", MboxFormat::Mboxrd);
        assert_eq!(got.len(), 1);
        assert!(got[0].1.is_empty());
    }

    #[test]
    fn roundtrip_with_append() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("box");
        let mbox = super::super::Mbox::new(&path);
        let bodies: Vec<Vec<u8>> = vec![
            b"Subject: a\n\nFrom me\n>From you\n".to_vec(),
            b"Subject: b\n\nno newline at end".to_vec(),
            b"Subject: c\n\n\n\nblank lines\n\n".to_vec(),
        ];
        for b in &bodies {
            mbox.append("s@x", b).expect("append");
        }
        let got: Vec<Vec<u8>> =
            MboxReader::open(&path, MboxFormat::Mboxrd).expect("open").map(|m| m.bytes().into_owned()).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], bodies[0]);
        assert_eq!(got[1], b"Subject: b\n\nno newline at end\n".to_vec());
        assert_eq!(got[2], bodies[2]);
    }
}
