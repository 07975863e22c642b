//! SMTP replies (RFC 5321 §4.2): a three-digit code, lines joined by `-`, and the enhanced status
//! code of RFC 3463 when the text starts with one.

/// One server reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply code (250, 354, 451, 550, …).
    pub code: u16,
    /// The enhanced status code (`2.1.5`), when the server gave one.
    pub enhanced: Option<String>,
    /// The text of each line, without code, separator or enhanced code.
    pub lines: Vec<String>,
}

impl Reply {
    /// The text, lines joined by a space.
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }

    /// 2xx or 3xx.
    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    /// 4xx: try again later.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }
}

/// Why bytes from a server are not a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// Longer than [`MAX_REPLY_BYTES`] or than 1,000 lines.
    #[error("reply longer than {MAX_REPLY_BYTES} bytes or 1000 lines")]
    TooLong,
    /// A line that does not start with three digits, or whose code is not followed by a space
    /// or `-` (the start of the line, at most 80 bytes).
    #[error("malformed reply line {0:?}")]
    Malformed(String),
    /// A code outside 200–599.
    #[error("reply code {0} out of range")]
    CodeOutOfRange(u16),
    /// The lines of one reply carry different codes.
    #[error("reply code changed from {first} to {then} inside one reply")]
    CodeChanged {
        /// The first line's code.
        first: u16,
        /// The code that differs.
        then: u16,
    },
}

/// The longest reply accepted, in bytes; a longer one is a protocol error, not unbounded memory.
pub const MAX_REPLY_BYTES: usize = 64 * 1024;

/// Parses one complete reply at the start of `buf`: the reply and the bytes it took, `Ok(None)`
/// when more bytes are needed, or an error for a malformed or oversized reply.
pub fn parse(buf: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
    let mut at = 0;
    let mut code: Option<u16> = None;
    let mut lines = Vec::new();
    let mut enhanced = None;
    loop {
        let Some(nl) = memchr::memchr(b'\n', &buf[at..]) else {
            if buf.len() > MAX_REPLY_BYTES {
                return Err(ReplyError::TooLong);
            }
            return Ok(None);
        };
        let line = &buf[at..at + nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        at += nl + 1;
        let malformed = || ReplyError::Malformed(String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned());
        if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
            return Err(malformed());
        }
        let c = (line[0] - b'0') as u16 * 100 + (line[1] - b'0') as u16 * 10 + (line[2] - b'0') as u16;
        if !(200..600).contains(&c) {
            return Err(ReplyError::CodeOutOfRange(c));
        }
        if let Some(first) = code.filter(|&prev| prev != c) {
            return Err(ReplyError::CodeChanged { first, then: c });
        }
        code = Some(c);
        let more = line.get(3) == Some(&b'-');
        if line.len() > 3 && !more && line[3] != b' ' {
            return Err(malformed());
        }
        let mut text = String::from_utf8_lossy(line.get(4..).unwrap_or(b"")).into_owned();
        if let Some((e, rest)) = split_enhanced(&text, c) {
            if enhanced.is_none() {
                enhanced = Some(e.to_string());
            }
            text = rest.to_string();
        }
        lines.push(text);
        if !more {
            return Ok(Some((Reply { code: c, enhanced, lines }, at)));
        }
        if at > MAX_REPLY_BYTES || lines.len() > 1000 {
            return Err(ReplyError::TooLong);
        }
    }
}

/// `2.1.5 rest` → ("2.1.5", "rest") when the class matches the reply code's first digit.
fn split_enhanced(text: &str, code: u16) -> Option<(&str, &str)> {
    let (first, rest) = text.split_once(' ').unwrap_or((text, ""));
    let mut parts = first.split('.');
    let class = parts.next()?;
    let ok = class.len() == 1
        && class.as_bytes()[0] == b'0' + (code / 100) as u8
        && parts.clone().count() == 2
        && parts.all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then_some((first, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        let (r, n) = parse(b"250-mx.example.org Hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\nextra")
            .expect("ok")
            .expect("complete");
        assert_eq!((r.code, n), (250, 57));
        assert_eq!(r.lines, ["mx.example.org Hello", "PIPELINING", "SIZE 1000"]);
        let (r, _) = parse(b"550 5.1.1 <x@y>: Recipient address rejected\r\n").expect("ok").expect("complete");
        assert_eq!(
            (r.code, r.enhanced.as_deref(), r.text()),
            (550, Some("5.1.1"), "<x@y>: Recipient address rejected".into())
        );
        let (r, _) = parse(b"250 2.0.0 Ok: queued as 4Xb1\r\n").expect("ok").expect("complete");
        assert_eq!(r.enhanced.as_deref(), Some("2.0.0"));
        assert!(parse(b"250-partial\r\n").expect("ok").is_none());
        assert!(parse(b"25").expect("ok").is_none());
        assert!(parse(b"abc hello\r\n").is_err());
        assert!(parse(b"250-a\r\n251 b\r\n").is_err());
        assert!(parse(b"999 x\r\n").is_err());
        assert!(parse(&vec![b'2'; MAX_REPLY_BYTES + 10]).is_err());
        let (r, _) = parse(b"220\r\n").expect("ok").expect("complete");
        assert_eq!(r.code, 220);
    }
}
