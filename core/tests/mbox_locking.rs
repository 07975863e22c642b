//! mbox locking as Postfix and mutt do it (dot-lock + fcntl), and a reader that a writer which
//! ignores every lock cannot crash or change under it.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use mailwright::mailbox::{Mbox, MboxFormat, MboxReader};

fn fill(path: &Path, n: usize, size: usize) {
    let mbox = Mbox::new(path);
    for i in 0..n {
        let body = format!("line {i}\n").repeat(size / 8);
        mbox.append("a@example.org", format!("Subject: m{i}\n\n{body}").as_bytes()).expect("append");
    }
}

#[test]
fn a_writer_that_ignores_locks_cannot_crash_a_reader_or_change_what_it_handed_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("box");
    // 24 MB: many read chunks.
    fill(&path, 2_400, 10_000);
    let original = std::fs::read(&path).expect("read");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (path, stop, original) = (path.clone(), stop.clone(), original.clone());
        std::thread::spawn(move || {
            // Truncates and rewrites the file without any lock, as a careless program would.
            let mut rng = mailwright::sample::Rng::new(3);
            for _ in 0..2_000 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let f = std::fs::OpenOptions::new().write(true).open(&path).expect("open");
                f.set_len(rng.range(0, original.len()) as u64).expect("truncate");
                std::thread::sleep(Duration::from_micros(200));
                let mut f = std::fs::OpenOptions::new().write(true).truncate(true).open(&path).expect("open");
                f.write_all(&original).expect("rewrite");
            }
        })
    };
    let mut kept = Vec::new();
    for _ in 0..20 {
        let reader = MboxReader::open(&path, MboxFormat::Mboxrd).expect("open");
        for m in reader {
            let copy = m.stored().to_vec();
            kept.push((m, copy));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().expect("writer");
    assert!(!kept.is_empty());
    for (m, copy) in &kept {
        assert_eq!(m.stored().as_ref(), copy.as_slice(), "a message changed after it was handed out");
    }
}

/// A Python process holding an exclusive fcntl lock on `path` (what Postfix and mutt take)
/// for `secs`, started once it holds it.
fn foreign_lock(path: &Path, secs: f64) -> std::process::Child {
    let script = format!(
        "import fcntl, sys, time\nf = open(sys.argv[1], 'a')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep({secs})\n"
    );
    let mut child =
        Command::new("python3").args(["-c", &script]).arg(path).stdout(Stdio::piped()).spawn().expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut line).expect("read");
    assert_eq!(line.trim(), "locked");
    child
}

#[test]
fn append_waits_for_an_fcntl_lock_and_a_dotlock_and_removes_a_stale_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("box");
    fill(&path, 1, 100);
    let mbox = Mbox::new(&path);
    // fcntl: the append happens only after the other process let go.
    let mut other = foreign_lock(&path, 0.5);
    let held = Instant::now();
    mbox.append("a@example.org", b"Subject: after fcntl\n\nx\n").expect("append");
    // The lock goes when the other process closes the file, a moment before it exits.
    assert!(held.elapsed() >= Duration::from_millis(450), "appended while another process held the lock");
    other.wait().expect("wait");
    // A fresh dot-lock: waited for until it goes.
    let lock = dir.path().join("box.lock");
    std::fs::write(&lock, b"").expect("dotlock");
    let remover = {
        let lock = lock.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(500));
            std::fs::remove_file(lock).expect("remove");
        })
    };
    let start = Instant::now();
    mbox.append("a@example.org", b"Subject: after dotlock\n\nx\n").expect("append");
    assert!(start.elapsed() >= Duration::from_millis(450), "did not wait for the dot-lock");
    remover.join().expect("remover");
    // A stale one (older than Postfix's stale_lock_time) is removed at once.
    let f = std::fs::File::create(&lock).expect("dotlock");
    f.set_modified(SystemTime::now() - Duration::from_secs(600)).expect("age");
    drop(f);
    mbox.append("a@example.org", b"Subject: after stale\n\nx\n").expect("append");
    assert!(!lock.exists(), "our own dot-lock is gone after the append");
    let subjects: Vec<String> = MboxReader::open(&path, MboxFormat::Mboxrd)
        .expect("open")
        .map(|m| mailwright::Message::parse(&m.bytes()).expect("parse").subject().unwrap_or_default().to_string())
        .collect();
    assert_eq!(subjects, ["m0", "after fcntl", "after dotlock", "after stale"]);
}

#[test]
fn a_reader_holds_the_locks_a_delivering_mta_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("box");
    fill(&path, 3, 100);
    let reader = MboxReader::open(&path, MboxFormat::Mboxrd).expect("open");
    assert!(dir.path().join("box.lock").exists(), "dot-lock while reading");
    let probe = "import fcntl, sys\nf = open(sys.argv[1], 'a')\ntry:\n    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n    print('got it')\nexcept OSError:\n    print('busy')\n";
    let out = Command::new("python3").args(["-c", probe]).arg(&path).output().expect("python3");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "busy");
    assert_eq!(reader.count(), 3);
    assert!(!dir.path().join("box.lock").exists(), "released with the reader");
    let out = Command::new("python3").args(["-c", probe]).arg(&path).output().expect("python3");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "got it");
}
