//! Attachment parts written the way every reader understands them (munpack, ripmime, mhstore,
//! reformime, mu and mblaze were measured): the body in base64, never quoted-printable (readers
//! differ on the line break before the next boundary), and the name as one quoted `filename=`
//! when it can be, with RFC 2231 (`filename*=utf-8''…`) only when it must be encoded, and split
//! into `*0*`, `*1*` segments only when one line could not hold it. Text attachments declare their
//! charset: `us-ascii` or `utf-8` when the bytes are that, none when they are not (the reader must
//! not convert them).

/// The longest line RFC 5322 §2.1.1 allows, without its CRLF.
const MAX_LINE: usize = 998;

/// A leaf part: headers and the base64 body, ready to go between two boundary lines.
pub(super) fn attachment(
    content_type: &str,
    disposition: &str,
    filename: &str,
    content_id: Option<&str>,
    data: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 3 * 4 + data.len() / 38 + 256);
    out.extend_from_slice(b"Content-Type: ");
    out.extend_from_slice(content_type.as_bytes());
    if content_type.len() >= 5 && content_type[..5].eq_ignore_ascii_case("text/") {
        if data.is_ascii() {
            out.extend_from_slice(b"; charset=us-ascii");
        } else if simdutf8::basic::from_utf8(data).is_ok() {
            out.extend_from_slice(b"; charset=utf-8");
        }
    }
    out.extend_from_slice(b";\r\n");
    out.extend_from_slice(&parameter("name", filename));
    out.extend_from_slice(b"\r\nContent-Disposition: ");
    out.extend_from_slice(disposition.as_bytes());
    out.extend_from_slice(b";\r\n");
    out.extend_from_slice(&parameter("filename", filename));
    if let Some(cid) = content_id {
        out.extend_from_slice(format!("\r\nContent-ID: <{cid}>").as_bytes());
    }
    out.extend_from_slice(b"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    base64_lines(data, &mut out);
    out
}

/// A message/rfc822 part: the message as it is (7bit, 8bit or binary), named like an attachment.
pub(super) fn message(filename: &str, raw: &[u8], transfer_encoding: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 256);
    out.extend_from_slice(b"Content-Type: message/rfc822\r\nContent-Disposition: attachment;\r\n");
    out.extend_from_slice(&parameter("filename", filename));
    out.extend_from_slice(format!("\r\nContent-Transfer-Encoding: {transfer_encoding}\r\n\r\n").as_bytes());
    out.extend_from_slice(raw);
    // The boundary line that follows brings its own CRLF.
    if out.ends_with(b"\r\n") {
        out.truncate(out.len() - 2);
    }
    out
}

/// One parameter on continuation lines of its own (each starting with a space), without the
/// final CRLF.
fn parameter(name: &str, value: &str) -> Vec<u8> {
    let plain = value.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    if plain && 1 + name.len() + 3 + value.len() <= MAX_LINE {
        return format!(" {name}=\"{value}\"").into_bytes();
    }
    let encoded = percent_encode(value);
    let single = format!(" {name}*=utf-8''{encoded}");
    if single.len() <= MAX_LINE {
        return single.into_bytes();
    }
    // Segments of at most 50 encoded characters (lines under 78), never splitting a %XX triplet.
    let mut out = Vec::new();
    let mut rest = encoded.as_str();
    let mut n = 0;
    while !rest.is_empty() {
        let mut cut = rest.len().min(50);
        while cut < rest.len() && rest.as_bytes()[cut.saturating_sub(2)..cut].contains(&b'%') {
            cut -= 1;
        }
        let (piece, after) = rest.split_at(cut);
        let charset = if n == 0 { "utf-8''" } else { "" };
        if n > 0 {
            out.extend_from_slice(b";\r\n");
        }
        out.extend_from_slice(format!(" {name}*{n}*={charset}{piece}").as_bytes());
        rest = after;
        n += 1;
    }
    out
}

/// RFC 2231 `attr-char`s as they are, every other byte of the UTF-8 as `%XX`.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Base64 in lines of 76 characters, CRLF between them (none after the last).
fn base64_lines(data: &[u8], out: &mut Vec<u8>) {
    use base64::Engine as _;
    let mut line = [0u8; 76];
    for (i, chunk) in data.chunks(57).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        let n = base64::engine::general_purpose::STANDARD.encode_slice(chunk, &mut line).unwrap_or_default();
        out.extend_from_slice(&line[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_when_they_can_be_and_encoded_when_they_must() {
        let long = "a".repeat(120) + ".txt";
        assert_eq!(parameter("filename", &long), format!(" filename=\"{long}\"").into_bytes());
        assert_eq!(parameter("filename", "Résumé.pdf"), b" filename*=utf-8''R%C3%A9sum%C3%A9.pdf".to_vec());
        assert_eq!(parameter("filename", "say \"hi\".txt"), b" filename*=utf-8''say%20%22hi%22.txt".to_vec());
        let huge = "é".repeat(400);
        let p = String::from_utf8(parameter("filename", &huge)).expect("ascii");
        assert!(p.starts_with(" filename*0*=utf-8''%C3%A9") && p.contains(";\r\n filename*1*=%C3"), "{p}");
        assert!(p.split("\r\n").all(|l| l.len() <= 78));
        let joined: String = p.split(";\r\n").map(|l| l.split_once('=').map_or("", |x| x.1)).collect();
        assert_eq!(joined.trim_start_matches("utf-8''"), percent_encode(&huge));
    }

    #[test]
    fn base64_matches_the_decoder() {
        for n in [0, 1, 2, 3, 56, 57, 58, 1000] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
            let mut out = Vec::new();
            base64_lines(&data, &mut out);
            assert!(out.split(|&b| b == b'\n').all(|l| l.len() <= 77));
            let raw = [b"Content-Transfer-Encoding: base64\r\n\r\n".as_slice(), &out].concat();
            let msg = crate::Message::parse(&raw).expect("parse");
            assert_eq!(msg.parts()[0].decoded(), data.as_slice(), "{n}");
        }
    }
}
