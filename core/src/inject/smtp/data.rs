//! The DATA payload (RFC 5321 §4.5.2): every bare CR or LF made CRLF, lines starting with `.`
//! doubled, and the end-of-data marker appended, so the whole message goes out in one write and
//! no byte of it can end the transaction early (no SMTP smuggling).

/// The bytes to write after the 354 reply, terminator included.
pub(super) fn payload(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 64 + 8);
    let mut line_start = true;
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        match b {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                if b == b'\r' && raw.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                line_start = true;
            }
            _ => {
                if line_start && b == b'.' {
                    out.push(b'.');
                }
                out.push(b);
                line_start = false;
            }
        }
        i += 1;
    }
    if !line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::payload;

    #[test]
    fn stuffing_and_line_ends() {
        assert_eq!(payload(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(payload(b".\r\n"), b"..\r\n.\r\n");
        assert_eq!(payload(b"x"), b"x\r\n.\r\n");
        // Smuggling attempts: bare LF or CR around a dot must not end the data.
        assert_eq!(payload(b"a\n.\nMAIL FROM:<x>"), b"a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n");
        assert_eq!(payload(b"a\r.\rb"), b"a\r\n..\r\nb\r\n.\r\n");
        assert_eq!(payload(b"a\r\n.\n"), b"a\r\n..\r\n.\r\n");
        assert_eq!(payload(b""), b".\r\n");
    }
}
