//! uuencode: `begin MODE NAME` … `end` blocks inside text, and bodies sent as x-uuencode.

use super::Problem;
use crate::warning::WarningKind;

/// A file found in uuencoded form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UuFile {
    /// The name on the `begin` line.
    pub name: String,
    /// Byte offset of the `begin` line in the text that held it.
    pub offset: usize,
    /// Byte offset just past the block (after its `end` line, or the end of the text).
    pub end: usize,
    /// The decoded bytes.
    pub data: Vec<u8>,
}

/// Whether `line` is a `begin MODE NAME` line; gives the name.
fn begin_line(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(b"begin ")?;
    let rest = rest.strip_prefix(b"-base64 ").map_or(rest, |_| rest);
    let sp = rest.iter().position(|&b| b == b' ')?;
    let mode = &rest[..sp];
    if mode.is_empty() || mode.len() > 4 || !mode.iter().all(|b| (b'0'..=b'7').contains(b)) {
        return None;
    }
    let name = rest[sp + 1..].trim_ascii();
    (!name.is_empty()).then_some(name)
}

/// Decodes one uuencoded line's data (after its length character).
fn uu_line(line: &[u8], out: &mut Vec<u8>) -> bool {
    let Some((&len_ch, data)) = line.split_first() else { return true };
    let len = (len_ch.wrapping_sub(b' ') & 0x3f) as usize;
    if len == 0 {
        return true;
    }
    // Trailing spaces (zero values) are often stripped in transit: missing characters count as zero.
    let need = len.div_ceil(3) * 4;
    if data.iter().take(need).any(|&b| !(b' '..=b'`').contains(&b)) {
        return false;
    }
    let v = |k: usize| data.get(k).map_or(0u32, |&b| (b.wrapping_sub(b' ') & 0x3f) as u32);
    let mut written = 0;
    let mut k = 0;
    while written < len {
        let w = v(k) << 18 | v(k + 1) << 12 | v(k + 2) << 6 | v(k + 3);
        for byte in [(w >> 16) as u8, (w >> 8) as u8, w as u8] {
            if written < len {
                out.push(byte);
                written += 1;
            }
        }
        k += 4;
    }
    true
}

/// Finds and decodes every uuencoded block (`begin 644 name` … `end`) in `text`. Returns the files
/// and the first problem (a malformed line or a block without `end`).
pub(crate) fn uuencoded_files(text: &[u8], max_files: usize) -> (Vec<UuFile>, Option<Problem>) {
    let mut files = Vec::new();
    let mut problem = None;
    let mut pos = 0;
    while files.len() < max_files {
        let Some(found) = memchr::memmem::find(&text[pos..], b"begin ") else { break };
        let start = pos + found;
        pos = start + 6;
        if start > 0 && text[start - 1] != b'\n' {
            continue;
        }
        let line_end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |e| start + e);
        let Some(name) = begin_line(text[start..line_end].trim_ascii_end()) else { continue };
        let mut data = Vec::new();
        let mut cur = line_end + 1;
        let mut ended = false;
        while cur < text.len() {
            let e = memchr::memchr(b'\n', &text[cur..]).map_or(text.len(), |e| cur + e);
            let line = text[cur..e].strip_suffix(b"\r").unwrap_or(&text[cur..e]);
            cur = e + 1;
            if line.trim_ascii_end() == b"end" {
                ended = true;
                break;
            }
            if line.is_empty() {
                continue;
            }
            if !uu_line(line, &mut data) && problem.is_none() {
                problem = Some((
                    WarningKind::InvalidUuencode,
                    cur.saturating_sub(1),
                    "uuencoded line was malformed; it was skipped".to_string(),
                ));
            }
        }
        if !ended && problem.is_none() {
            problem = Some((
                WarningKind::InvalidUuencode,
                start,
                "uuencoded block has no 'end' line; kept what was read".to_string(),
            ));
        }
        files.push(UuFile {
            name: String::from_utf8_lossy(name).into_owned(),
            offset: start,
            end: cur.min(text.len()),
            data,
        });
        pos = cur.min(text.len());
    }
    (files, problem)
}

/// Decodes a part whose body is entirely uuencoded (Content-Transfer-Encoding: x-uuencode).
pub(crate) fn uudecode_body(body: &[u8]) -> (Vec<u8>, Option<Problem>) {
    let (mut files, problem) = uuencoded_files(body, 1);
    match files.pop() {
        Some(f) => (f.data, problem),
        None => (
            body.to_vec(),
            Some((WarningKind::InvalidUuencode, 0, "x-uuencode part has no 'begin' line; kept as is".into())),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuencode_blocks() {
        let text = b"see file\nbegin 644 hi.txt\n&:&5L;&\\*\n`\nend\nbye\n";
        let (files, p) = uuencoded_files(text, 10);
        assert!(p.is_none());
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, "hi.txt");
        assert_eq!(files[0].data, b"hello\n");
        assert_eq!(files[0].offset, 9);
        let (files, p) = uuencoded_files(b"begin 644 x\n&:&5L;&\\*\n", 10);
        assert_eq!(files[0].data, b"hello\n");
        assert_eq!(p.map(|p| p.0), Some(WarningKind::InvalidUuencode));
        assert!(uuencoded_files(b"we begin 644 here\n", 10).0.is_empty());
    }
}
