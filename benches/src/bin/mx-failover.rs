//! What failover costs: the time to deliver one message to a domain whose primary MX is
//! refusing connections, or blackholed, against the same domain with its primary up. Needs the
//! test DNS of `scripts/mail-servers start` and python3 with aiosmtpd.
//!
//! `cargo run --release -p mailwright-benches --bin mx-failover -- [ROUNDS] [CONNECT_TIMEOUT_MS]`

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailwright::inject::{Envelope, MxConfig, MxTransport};

fn server(ip: &str, mode: &str) -> Child {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/smtp-test-server");
    let mut child = Command::new("python3")
        .args([script, "--listen", &format!("{ip}:2525"), "--mode", mode])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start smtp-test-server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("ready line");
    assert_eq!(line.trim(), "ready", "smtp-test-server {mode} on {ip}");
    child
}

fn median_ms(t: &mut MxTransport, domain: &str, rounds: usize) -> f64 {
    let env = Envelope::new("bench@client.test", [format!("bob@{domain}")]).expect("envelope");
    let raw = b"From: bench@client.test\r\nTo: bob@x\r\nSubject: failover\r\n\r\nhello\r\n";
    let mut v: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            t.send_mx(&env, raw).expect("delivered");
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let connect_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let config = MxConfig {
        resolvers: vec!["127.0.0.1:5353".parse().expect("addr")],
        port: 2525,
        helo_name: "client.test".into(),
        connect_timeout: Duration::from_millis(connect_ms),
        reply_timeout: Duration::from_secs(10),
        ..MxConfig::default()
    };
    let mut t = MxTransport::new(config).expect("transport");
    for (domain, primary, secondary, fault) in [
        ("refused.test", "127.0.1.1", "127.0.1.2", None),
        ("blackhole.test", "127.0.1.16", "127.0.1.17", Some("blackhole")),
    ] {
        let mut second = server(secondary, "sink");
        let mut first = server(primary, "sink");
        let up = median_ms(&mut t, domain, rounds);
        let _ = first.kill();
        let _ = first.wait();
        let mut fault_server = fault.map(|f| server(primary, f));
        let failing = median_ms(&mut t, domain, if fault.is_some() { rounds.min(5) } else { rounds });
        println!(
            "{domain}: primary up {up:.2} ms, primary {} {failing:.2} ms, extra {:.2} ms (connect timeout {connect_ms} ms)",
            fault.unwrap_or("refusing"),
            failing - up
        );
        if let Some(f) = fault_server.as_mut() {
            let _ = f.kill();
            let _ = f.wait();
        }
        let _ = second.kill();
        let _ = second.wait();
    }
}
