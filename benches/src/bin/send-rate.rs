//! Messages per second over SMTP to a sink: `send-rate HOST:PORT COUNT SIZE [batch|reuse|new]`.
//! Plaintext (the sink offers no TLS), 20 KB messages by default; `batch` sends them all with
//! `send_batch` on one connection (pipelined across messages), `reuse` one `send` call per
//! message on one connection, `new` a new connection per message. Prints `messages seconds rate`.

use std::time::Instant;

use mailwright::build::MessageBuilder;
use mailwright::inject::{Envelope, SmtpConfig, SmtpTransport};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr = args.get(1).cloned().unwrap_or_else(|| "127.0.0.4:2525".into());
    let count: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let size: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let mode = args.get(4).cloned().unwrap_or_else(|| "batch".into());
    let body: String = "The quick brown fox jumps over the lazy dog. ".repeat(size / 45 + 1)[..size].to_string();
    let raw = MessageBuilder::new()
        .from("a@example.test")
        .to("b@example.test")
        .subject("bench")
        .text(body)
        .build()
        .expect("build");
    let env = Envelope::new("a@example.test", ["b@example.test"]).expect("envelope");
    let mut config = SmtpConfig::from_url(&format!("smtp://{addr}")).expect("url");
    config.allow_plaintext = true;
    let start = Instant::now();
    let mut t = SmtpTransport::new(config.clone()).expect("transport");
    if mode == "batch" {
        let items: Vec<(Envelope, &[u8])> = (0..count).map(|_| (env.clone(), &raw[..])).collect();
        for r in t.send_batch(&items) {
            r.expect("send");
        }
    } else {
        for _ in 0..count {
            if mode == "new" {
                t = SmtpTransport::new(config.clone()).expect("transport");
            }
            t.send_smtp(&env, &raw).expect("send");
        }
    }
    t.close();
    let secs = start.elapsed().as_secs_f64();
    println!("{count} {secs:.3} {:.0}", count as f64 / secs);
}
