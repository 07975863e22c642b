//! Shared pieces of the benchmarks: the generated corpora and "the same work" done with bare
//! mail-parser, so both run in one process on the same bytes.

use std::io::Write;
use std::path::Path;

use mail_parser::{MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

/// 2,000 typical messages of 2–50 KB.
pub fn typical() -> Vec<Vec<u8>> {
    mailwright::sample::typical_corpus(2_000, 42)
}

/// 200 messages with one 1–5 MB attachment each.
pub fn large() -> Vec<Vec<u8>> {
    mailwright::sample::large_corpus(200, 42)
}

/// Total bytes of a corpus.
pub fn total(corpus: &[Vec<u8>]) -> u64 {
    corpus.iter().map(|m| m.len() as u64).sum()
}

/// Parse with bare mail-parser and touch every part's decoded content; returns bytes seen.
pub fn bare_parse(raw: &[u8]) -> usize {
    let Some(msg) = MessageParser::default().parse(raw) else { return 0 };
    let mut n = 0;
    for part in &msg.parts {
        n += match &part.body {
            PartType::Text(t) | PartType::Html(t) => t.len(),
            PartType::Binary(b) | PartType::InlineBinary(b) => b.len(),
            PartType::Message(m) => m.raw_message.len(),
            PartType::Multipart(_) => 0,
        };
    }
    n
}

/// Parse with mailwright and take every part's content, text parts as text (the bodies a client
/// shows included); returns bytes seen.
pub fn mailwright_parse(raw: &[u8]) -> usize {
    let Ok(msg) = mailwright::Message::parse(raw) else { return 0 };
    let mut n = msg.text().map_or(0, str::len) + msg.html().map_or(0, str::len);
    for part in msg.parts() {
        // As mail-parser gives it: text parts as text, the rest as decoded bytes.
        if part.is_text() {
            n += part.text().len();
        } else if !part.is_multipart() {
            n += part.decoded().len();
        }
    }
    n
}

/// A dissector written directly on mail-parser: every attachment written to a new file in
/// `dir`, with its SHA-256, as mailwright's manifest has it.
pub fn bare_dissect(raw: &[u8], dir: &Path) -> usize {
    let Some(msg) = MessageParser::default().parse(raw) else { return 0 };
    let mut n = 0;
    for (i, part) in msg.attachments().enumerate() {
        let data: &[u8] = match &part.body {
            PartType::Text(t) | PartType::Html(t) => t.as_bytes(),
            PartType::Binary(b) | PartType::InlineBinary(b) => b,
            PartType::Message(m) => &m.raw_message,
            PartType::Multipart(_) => continue,
        };
        let name = part.attachment_name().map(|s| s.replace(['/', '\\'], "_")).unwrap_or_else(|| format!("part-{i}"));
        let path = dir.join(format!("{i}-{name}"));
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            let _ = f.write_all(data);
        }
        let _ = Sha256::digest(data);
        n += data.len();
    }
    n
}

/// mailwright's dissect of `raw` into `dir`; returns bytes written.
pub fn mailwright_dissect(raw: &[u8], dir: &Path) -> u64 {
    let Ok(msg) = mailwright::Message::parse(raw) else { return 0 };
    mailwright::dissect(&msg, &mailwright::DissectOptions::new(dir)).map_or(0, |d| d.bytes)
}
