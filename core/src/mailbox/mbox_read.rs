//! Reading an mbox: the file is memory-mapped once and every message is a [`Bytes`] slice of
//! that one mapping, so nothing is copied unless a `>From ` line has to be unquoted. Pages
//! already passed are handed back to the kernel as the reader moves on, so reading a mailbox of
//! any size keeps memory flat.
//!
//! Separators: a line `From ` that starts the file or follows a blank line, or whose rest looks
//! like an envelope line (`From sender Www Mmm dd hh:mm:ss yyyy`). Unquoting follows the
//! variant: mboxrd takes one `>` off every `>…>From ` line, mboxo only off `>From `.

use std::borrow::Cow;
use std::fs::File;
use std::io;
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
    map: Option<mapped::Mapping>,
    data: Bytes,
    pos: usize,
    released: usize,
    format: MboxFormat,
    _file: Option<File>,
}

/// Pages behind the cursor are released in steps of this size.
const RELEASE_STEP: usize = 8 << 20;

impl MboxReader {
    /// Maps the mbox at `path`. A shared `flock` is held while the reader lives, so writers that
    /// lock (mailwright, Postfix, mutt) wait; a writer that truncates the file without locking
    /// could still make the mapping fail.
    pub fn open(path: impl AsRef<Path>, format: MboxFormat) -> io::Result<Self> {
        let file = File::open(path.as_ref())?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockShared)?;
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(MboxReader { map: None, data: Bytes::new(), pos: 0, released: 0, format, _file: Some(file) });
        }
        let map = mapped::Mapping::new(&file)?;
        let data = map.bytes();
        let mut r = MboxReader { map: Some(map), data, pos: 0, released: 0, format, _file: Some(file) };
        if !r.data.starts_with(b"From ") {
            // Leading junk (or a blank line): start at the first separator.
            r.pos = next_separator(&r.data, 0).unwrap_or(r.data.len());
        }
        Ok(r)
    }

    /// Reads messages from bytes already in memory (no mapping, no lock).
    pub fn from_bytes(data: Bytes, format: MboxFormat) -> Self {
        let pos = if data.starts_with(b"From ") { 0 } else { next_separator(&data, 0).unwrap_or(data.len()) };
        MboxReader { map: None, data, pos, released: 0, format, _file: None }
    }

    fn release_behind(&mut self) {
        if let Some(map) = &self.map {
            let upto = self.pos / RELEASE_STEP * RELEASE_STEP;
            if upto > self.released {
                map.release(self.released, upto - self.released);
                self.released = upto;
            }
        }
    }
}

impl Iterator for MboxReader {
    type Item = MboxMessage;

    fn next(&mut self) -> Option<MboxMessage> {
        let data = &self.data;
        if self.pos >= data.len() {
            return None;
        }
        let start = self.pos;
        let line_end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        let body_start = (line_end + 1).min(data.len());
        let next = next_separator(data, body_start).unwrap_or(data.len());
        // The blank line before the next separator (or at the end) belongs to the mbox.
        let mut end = next;
        if data[body_start..next].ends_with(b"\r\n\r\n") {
            end -= 2;
        } else if data[body_start..next].ends_with(b"\n\n") {
            end -= 1;
        }
        let from_line = data.slice(start..line_end.min(data.len()));
        let from_line = from_line.slice(..from_line.strip_suffix(b"\r").map_or(from_line.len(), <[u8]>::len));
        let msg =
            MboxMessage { offset: start as u64, from_line, raw: data.slice(body_start..end), format: self.format };
        self.pos = next;
        self.release_behind();
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

/// The one place that maps memory.
#[allow(unsafe_code)]
mod mapped {
    use std::fs::File;
    use std::io;
    use std::sync::Arc;

    use bytes::Bytes;
    use memmap2::{Mmap, UncheckedAdvice};

    /// A read-only private mapping of a whole file, shared with the [`Bytes`] made from it.
    #[derive(Debug)]
    pub(super) struct Mapping(Arc<Mmap>);

    struct Owner(Arc<Mmap>);

    impl AsRef<[u8]> for Owner {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }

    impl Mapping {
        pub(super) fn new(file: &File) -> io::Result<Self> {
            // SAFETY: the mapping is read-only and private; the caller holds a shared flock on
            // the file, which is how mbox writers coordinate, so none of them changes it while
            // the mapping lives. (A writer that ignores locks and truncates the file would make
            // reads past the new end fault; that is the documented limit.)
            let map = unsafe { Mmap::map(file)? };
            let _ = map.advise(memmap2::Advice::Sequential);
            Ok(Mapping(Arc::new(map)))
        }

        pub(super) fn bytes(&self) -> Bytes {
            Bytes::from_owner(Owner(self.0.clone()))
        }

        /// Gives the pages of `offset..offset+len` back to the kernel.
        pub(super) fn release(&self, offset: usize, len: usize) {
            // SAFETY: MADV_DONTNEED on a private, read-only, file-backed mapping drops the
            // pages; any later read of them faults them in again from the file, with the same
            // contents. No memory is freed or changed from the program's point of view, so
            // slices that still point there stay valid.
            let _ = unsafe { self.0.unchecked_advise_range(UncheckedAdvice::DontNeed, offset, len) };
        }
    }
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
