//! mbox append (RFC 4155, the mboxrd variant): a `From ` separator line, lines starting with
//! `From ` (after any `>`) quoted with one more `>`, LF line ends, a blank line after each
//! message. Appends hold the locks Postfix and mutt take (a `FILE.lock` dot-lock and an exclusive
//! fcntl lock, plus `flock`) and are synced; one that fails is cut off again, so the file never
//! ends in half a message.

use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{MailboxError, io_at};

/// An mbox file.
#[derive(Debug, Clone)]
pub struct Mbox {
    path: PathBuf,
}

impl Mbox {
    /// The mbox at `path` (created on first append).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Mbox { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `raw` with envelope sender `from` (the `From ` line's address; `MAILER-DAEMON`
    /// when empty). Returns the byte offset where the message starts.
    pub fn append(&self, from: &str, raw: &[u8]) -> Result<u64, MailboxError> {
        let at = || io_at(&self.path);
        let mut f = crate::files::private_file().create(true).append(true).read(true).open(&self.path).map_err(at())?;
        let _lock = super::lock::MboxLock::take(&f, &self.path, true, super::LOCK_WAIT)?;
        let start = f.seek(SeekFrom::End(0)).map_err(at())?;
        let mut buf = Vec::with_capacity(raw.len() + raw.len() / 50 + 128);
        // A file that does not end in a blank line gets one, so our separator starts a line.
        if start > 0 {
            let mut tail = [0u8; 2];
            let n = read_tail(&mut f, start, &mut tail).map_err(at())?;
            match &tail[2 - n..] {
                b"\n\n" => {}
                [.., b'\n'] => buf.push(b'\n'),
                _ => buf.extend_from_slice(b"\n\n"),
            }
        }
        let message_start = start + buf.len() as u64;
        let sender = if from.trim().is_empty() { "MAILER-DAEMON" } else { from.trim() };
        let sender: String =
            sender.chars().map(|c| if c.is_whitespace() || c.is_control() { '_' } else { c }).collect();
        buf.extend_from_slice(format!("From {sender} {}\n", asctime_now()).as_bytes());
        quote_into(raw, &mut buf);
        let written = f.write_all(&buf).and_then(|_| f.sync_all());
        if let Err(e) = written {
            let _ = f.set_len(start);
            return Err(at()(e));
        }
        Ok(message_start)
    }
}

fn read_tail(f: &mut std::fs::File, end: u64, tail: &mut [u8; 2]) -> io::Result<usize> {
    use std::io::Read;
    let n = end.min(2) as usize;
    f.seek(SeekFrom::Start(end - n as u64))?;
    f.read_exact(&mut tail[2 - n..])?;
    f.seek(SeekFrom::End(0))?;
    Ok(n)
}

/// The message with LF line ends, `>From ` quoting (mboxrd), ending in a blank line.
fn quote_into(raw: &[u8], out: &mut Vec<u8>) {
    for line in raw.split_inclusive(|&b| b == b'\n') {
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        let unquoted = body.iter().position(|&b| b != b'>').map_or(&body[body.len()..], |p| &body[p..]);
        if unquoted.starts_with(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(body);
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// Now in the asctime form of the `From ` line: `Thu Mar 10 17:30:00 2016` (UTC).
fn asctime_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let dt = mail_parser::DateTime::from_timestamp(secs);
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        DAYS[dt.day_of_week() as usize % 7],
        MONTHS[(dt.month as usize).saturating_sub(1) % 12],
        dt.day,
        dt.hour,
        dt.minute,
        dt.second,
        dt.year
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_with_quoting_and_separators() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mbox = Mbox::new(dir.path().join("inbox"));
        mbox.append("a@example.org", b"Subject: one\r\n\r\nFrom here\r\n>From there\r\nend").expect("append");
        mbox.append("", b"Subject: two\n\nbody\n").expect("append");
        let text = std::fs::read_to_string(mbox.path()).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("From a@example.org "), "{}", lines[0]);
        assert_eq!(&lines[1..6], ["Subject: one", "", ">From here", ">>From there", "end"]);
        assert_eq!(lines[6], "");
        assert!(lines[7].starts_with("From MAILER-DAEMON "), "{}", lines[7]);
        assert!(!text.contains('\r'));
        assert!(text.ends_with("body\n\n"));
    }
}
