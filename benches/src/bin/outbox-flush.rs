//! An outbox flush of many messages to one domain by direct MX delivery: messages a second and
//! how many SMTP connections the server saw. The domain is sink.test of the test DNS, whose MX
//! is Postfix's smtp-sink on 127.0.0.4:2525 (`scripts/mail-servers start`).
//!
//! `cargo run --release -p mailwright-benches --bin outbox-flush -- [MESSAGES] [SIZE] [ROUNDS]`
//! prints one JSON line: the median seconds and messages a second of ROUNDS flushes. With
//! `FLUSH_NULL=1` a transport that accepts everything at once stands in for the server: what
//! the outbox's own bookkeeping costs.

use std::time::{Duration, Instant};

use mailwright::inject::{
    Envelope, InjectError, MxConfig, MxTransport, Outbox, Receipt, RecipientResult, RecipientStatus, Transport,
};

/// Accepts everything at once: what the outbox itself costs.
struct Null;

impl Transport for Null {
    fn send_raw(&mut self, envelope: &Envelope, _raw: &[u8]) -> Result<Receipt, InjectError> {
        let recipients =
            envelope.to().iter().map(|a| RecipientResult::new(a.clone(), RecipientStatus::Accepted, "ok")).collect();
        Ok(Receipt { transport: "null", destination: String::new(), queue_id: None, recipients, peer: None, tls: None })
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let size: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let body = "outbox flush bench line of text\r\n".repeat(size / 33 + 1);
    let mut times = Vec::new();
    for _ in 0..rounds {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = Outbox::open(dir.path().join("out")).expect("outbox");
        for i in 0..n {
            let env = Envelope::new("bench@client.test", [format!("user{}@sink.test", i % 50)]).expect("envelope");
            let raw = format!("From: bench@client.test\r\nTo: user@sink.test\r\nSubject: flush {i}\r\n\r\n{body}");
            outbox.add(&env, raw.as_bytes()).expect("add");
        }
        let config = MxConfig {
            resolvers: vec!["127.0.0.1:5353".parse().expect("addr")],
            port: 2525,
            connect_timeout: Duration::from_secs(5),
            reply_timeout: Duration::from_secs(30),
            ..MxConfig::default()
        };
        let mut t: Box<dyn Transport> = if std::env::var("FLUSH_NULL").is_ok() {
            Box::new(Null)
        } else {
            Box::new(MxTransport::new(config).expect("transport"))
        };
        let start = Instant::now();
        let report = outbox.flush(t.as_mut()).expect("flush");
        let took = start.elapsed().as_secs_f64();
        assert_eq!(report.delivered, n, "{} deferred, {} failed", report.deferred, report.failed);
        times.push(took);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{}",
        serde_json::json!({"messages": n, "size": size, "rounds": rounds, "seconds": median,
                           "per_second": n as f64 / median, "all": times})
    );
}
