//! Peak heap memory of parse + dissect, measured with a counting allocator (one test in this
//! binary, so nothing else allocates meanwhile). Bounds: a 50 MB message under 2x its size, and
//! every hostile input under 4x its size plus 16 MiB (mail-parser keeps about 1 KB per part and
//! 2.7 KB per nested message, so parse cuts floods of boundaries or message/rfc822 headers at the
//! part limit before mail-parser sees them).

mod alloc_count;

use alloc_count::peak_of;

fn parse_and_dissect(raw: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let msg = mailwright::Message::parse(raw).expect("parse");
    mailwright::dissect(&msg, &mailwright::DissectOptions::new(dir.path())).expect("dissect");
}

#[test]
fn peak_memory_stays_bounded() {
    let pdf = mailwright::sample::pdf("big", 37_500_000, 50);
    let big = mailwright::sample::message_with_pdf("big.pdf", &pdf);
    drop(pdf);
    let bare = peak_of(|| {
        let m = mail_parser::MessageParser::new().parse(&big);
        assert!(m.is_some());
    });
    eprintln!("bare mail-parser parse: peak heap {bare} bytes");
    let p = peak_of(|| {
        mailwright::Message::parse(&big).expect("parse");
    });
    eprintln!("mailwright parse: peak heap {p} bytes");
    let peak = peak_of(|| parse_and_dissect(&big));
    let total = peak + big.len();
    eprintln!(
        "50 MB message: {} bytes, peak heap with the input {} bytes ({:.2}x)",
        big.len(),
        total,
        total as f64 / big.len() as f64
    );
    assert!(total < 2 * big.len(), "{total} >= 2 x {}", big.len());

    let mut hostile: Vec<(Vec<u8>, usize)> = Vec::new();
    let mut s = String::from("From: a@example.org\n");
    for i in 0..10_000 {
        s.push_str(&format!("Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n"));
    }
    hostile.push((s.into_bytes(), 4));
    let mut s = String::new();
    for i in 0..10_000 {
        s.push_str(&format!("From: l{i}@example.org\nContent-Type: multipart/mixed; boundary=m{i}\n\n--m{i}\nContent-Type: message/rfc822\n\n"));
    }
    hostile.push((s.into_bytes(), 4));
    let mut s = String::from("From: a@example.org\nContent-Type: multipart/mixed; boundary=B\n\n");
    for i in 0..100_000 {
        s.push_str(&format!("--B\nContent-Type: application/octet-stream; name=p{i}\n\nx\n"));
    }
    hostile.push((s.into_bytes(), 4));
    let mut h = b"From: a@example.org\nSubject: ".to_vec();
    h.extend(std::iter::repeat_n(b'x', 10 << 20));
    h.extend_from_slice(b"\n\nbody\n");
    hostile.push((h, 4));
    hostile.push((mailwright::sample::Rng::new(3).bytes(1 << 20), 4));
    // Time: a guard against hangs and blow-ups, not a speed test. About 1 s for the slowest input in
    // an optimised build, most of it creating files, which a file system busy from earlier runs
    // made take 4 s: 10 s per input, and ten times that for unoptimised test builds.
    let limit = std::time::Duration::from_secs(if cfg!(debug_assertions) { 100 } else { 10 });
    for (raw, factor) in &hostile {
        let started = std::time::Instant::now();
        let peak = peak_of(|| parse_and_dissect(raw));
        let took = started.elapsed();
        let bound = factor * raw.len() + (16 << 20);
        eprintln!("hostile input of {} bytes: peak heap {} bytes (bound {}), {:?}", raw.len(), peak, bound, took);
        assert!(peak < bound, "{peak} >= {bound}");
        assert!(took < limit, "{took:?} >= {limit:?}");
    }
}
