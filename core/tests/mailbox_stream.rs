//! Reading mailboxes streams: the heap used while reading an mbox of 20,000 messages stays
//! under a fixed bound however long the file is (messages are views of 1 MiB read chunks, and
//! a chunk goes when its last message does), and a
//! Maildir stays whole while deliverers and a reader that moves messages work on it at once.

mod alloc_count;

use std::io::Write;

use alloc_count::peak_of;
use mailwright::mailbox::{Maildir, MboxFormat, MboxReader};

#[test]
fn mbox_reading_keeps_heap_flat_and_maildir_survives_concurrency() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.mbox");
    let n = 20_000;
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        for i in 0..n {
            let body = format!("line {i} of a message that is long enough to matter\n").repeat(40);
            write!(
                f,
                "From sender{i}@example.org Sat Jan  1 00:00:00 2022\nFrom: sender{i}@example.org\nSubject: m{i}\n\n{body}\n"
            )
            .expect("write");
        }
    }
    let size = std::fs::metadata(&path).expect("meta").len();
    let mut count = 0;
    let mut bytes = 0;
    let peak = peak_of(|| {
        for m in MboxReader::open(&path, MboxFormat::Mboxrd).expect("open") {
            count += 1;
            bytes += m.bytes().len();
        }
    });
    assert_eq!(count, n);
    assert!(bytes as u64 > size * 9 / 10);
    // The window being read and the one before it, at most.
    assert!(peak < 3 << 20, "peak heap {peak} bytes reading a {size}-byte mbox");
    eprintln!("mbox of {n} messages, {size} bytes: peak heap while reading {peak} bytes");

    // Four deliverers and a reader that claims (moves) messages, all at once: nothing lost.
    let md = Maildir::create(dir.path().join("M")).expect("maildir");
    let claimed = md.folder("Claimed").expect("folder");
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let md = md.clone();
            std::thread::spawn(move || {
                for i in 0..250 {
                    md.deliver(format!("Subject: {w}-{i}\r\n\r\nx").as_bytes()).expect("deliver");
                }
            })
        })
        .collect();
    let reader = {
        let (md, claimed) = (md.clone(), claimed.clone());
        std::thread::spawn(move || {
            let mut moved = 0;
            for _ in 0..200 {
                for e in md.entries().expect("entries").flatten() {
                    if let Ok(c) = md.move_to(&e, &claimed)
                        && claimed.add_flag(&c, 'S').is_ok()
                    {
                        moved += 1;
                    }
                }
            }
            moved
        })
    };
    for w in writers {
        w.join().expect("writer");
    }
    let moved = reader.join().expect("reader");
    let left = md.entries().expect("entries").count();
    let there = claimed.entries().expect("entries").count();
    assert_eq!(left + there, 1000, "{left} left + {there} claimed");
    assert_eq!(there, moved);
}
