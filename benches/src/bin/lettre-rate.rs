//! lettre's messages per second to a sink, for the send comparison:
//! `lettre-rate HOST PORT COUNT SIZE [reuse|new]` (plaintext). Prints `messages seconds rate`.

use std::time::Instant;

use lettre::{Address, SmtpTransport, Transport, address::Envelope};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let host = args.get(1).cloned().unwrap_or_else(|| "127.0.0.4".into());
    let port: u16 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2525);
    let count: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let size: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let reuse = args.get(5).is_none_or(|m| m != "new");
    let body: String = "The quick brown fox jumps over the lazy dog. ".repeat(size / 45 + 1)[..size].to_string();
    let raw = format!("From: a@example.test\r\nTo: b@example.test\r\nSubject: bench\r\n\r\n{body}\r\n");
    let from: Address = "a@example.test".parse().expect("address");
    let to: Address = "b@example.test".parse().expect("address");
    let envelope = Envelope::new(Some(from), vec![to]).expect("envelope");
    // Plaintext (no TLS feature); the pooled transport keeps its connection between sends.
    let make = || SmtpTransport::builder_dangerous(host.as_str()).port(port).build();
    let start = Instant::now();
    let mut t = make();
    for _ in 0..count {
        if !reuse {
            t = make();
        }
        t.send_raw(&envelope, raw.as_bytes()).expect("send");
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{count} {secs:.3} {:.0}", count as f64 / secs);
}
