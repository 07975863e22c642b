//! Every parse entry point, on the raw input and on the input folded into a mail-like alphabet
//! (so `:`, `=`, `-`, boundaries and line breaks come often).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwright::{Limits, Message};

fn exercise(data: &[u8]) {
    let limits = Limits { max_parts: 200, max_depth: 16, ..Limits::default() };
    if let Ok(msg) = Message::parse_with(data, &limits) {
        let _ = (msg.subject(), msg.from(), msg.date(), msg.text(), msg.html());
        for p in msg.parts() {
            let _ = (p.filename(), p.content_type(), p.decoded().len(), p.text().len(), p.raw().len());
        }
        for h in msg.headers() {
            let _ = h.text();
        }
    }
    if let Ok(shared) = Message::from_bytes(bytes::Bytes::copy_from_slice(data)) {
        let _ = shared.message().attachments().count();
    }
    let _ = mailwright::parse::header::parse_mime_value(data);
    let _ = mailwright::parse::header::decode_words(data);
}

/// Maps every byte onto a small alphabet of mail syntax.
fn fold(data: &[u8]) -> Vec<u8> {
    const ALPHABET: &[u8] = b"\r\n:;=-\"?* \t/aBcQ0=?utf-8?b?--B\r\n";
    data.iter().map(|&b| ALPHABET[b as usize % ALPHABET.len()]).collect()
}

fuzz_target!(|data: &[u8]| {
    exercise(data);
    exercise(&fold(data));
});
