//! Reading a big mbox: `mbox-read gen FILE [N]` writes N (100,000) generated messages of 1–12 KB
//! (a fifth with a small PDF) through `Mbox::append`; `mbox-read read FILE` streams them back,
//! parses each and reads its subject, and prints messages, MB/s and the peak RSS.

use std::time::Instant;

use mailwright::build::MessageBuilder;
use mailwright::mailbox::{Mbox, MboxFormat, MboxReader};
use mailwright::sample::Rng;

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

fn generate(path: &str, n: usize) {
    let _ = std::fs::remove_file(path);
    let mbox = Mbox::new(path);
    let mut rng = Rng::new(7);
    let words = ["From", "the", "mail", "bot", "prints", "every", "report", "quarterly", "Résumé", "季度"];
    for i in 0..n {
        let len = rng.range(150, 1_500);
        let text: Vec<&str> = (0..len).map(|k| if k % 17 == 16 { "\nFrom" } else { rng.pick(&words) }).collect();
        let mut b = MessageBuilder::new()
            .from(format!("sender{i}@example.org"))
            .to("bot@example.org")
            .subject(format!("message {i} {}", rng.pick(&words)))
            .message_id(format!("m{i}@example.org"))
            .date(1_700_000_000i64 + i as i64)
            .text(text.join(" "));
        if i % 5 == 0 {
            b = b.attach_bytes(format!("r{i}.pdf"), mailwright::sample::pdf("mbox", rng.range(500, 4_000), i as u64));
        }
        mbox.append(&format!("sender{i}@example.org"), &b.build().expect("build")).expect("append");
    }
}

fn read(path: &str) {
    let start = Instant::now();
    let (mut n, mut bytes, mut subjects) = (0usize, 0usize, 0usize);
    for m in MboxReader::open(path, MboxFormat::Mboxrd).expect("open") {
        let raw = m.bytes();
        bytes += raw.len();
        let msg = mailwright::Message::parse(&raw).expect("parse");
        subjects += msg.subject().map_or(0, str::len);
        n += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let size = std::fs::metadata(path).map_or(0, |m| m.len()) as f64;
    println!(
        "mailwright: {n} messages, {:.1} MB in {secs:.2} s = {:.1} MB/s, {:.0} msg/s, peak RSS {} MB (subjects {subjects}, bytes {bytes})",
        size / 1e6,
        size / 1e6 / secs,
        n as f64 / secs,
        peak_rss_kb() / 1024
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("gen"), Some(path)) => generate(path, args.get(3).and_then(|n| n.parse().ok()).unwrap_or(100_000)),
        (Some("read"), Some(path)) => read(path),
        _ => eprintln!("usage: mbox-read gen FILE [N] | mbox-read read FILE"),
    }
}
