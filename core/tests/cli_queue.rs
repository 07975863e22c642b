//! `mailwright queue …` and `mailwright send --mx`: the contract of DESIGN §4 from the shell.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{Server, delivered};

fn mw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailwright")).args(args).output().expect("run mailwright")
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn add(queue: &Path, to: &str, tag: &str) -> String {
    let q = queue.to_str().expect("utf-8");
    let o = mw(&["queue", "add", "--queue", q, "--from", "a@client.test", "--to", to, "--subject", tag, "--text", tag]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    text(&o).trim().to_string()
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn queue_add_status_flush_retry_drop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let q = dir.path().join("out");
    let qs = q.to_str().expect("utf-8");
    let id = add(&q, "b@x.test", "one");
    assert!(id.len() > 20 && !id.contains('/'), "{id}");
    let o = mw(&["queue", "status", "--queue", qs]);
    assert!(text(&o).starts_with(&format!("{id}  queued   attempts 0  next now")), "{}", text(&o));
    let o = mw(&["queue", "status", "--queue", qs, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!((v[0]["id"].as_str(), v[0]["state"].as_str()), (Some(id.as_str()), Some("queued")));

    // A sendmail that does not exist fails for good: exit 69, report in failed/.
    let o = mw(&["queue", "flush", "--queue", qs, "--sendmail", "--sendmail-program", "/nonexistent/sendmail"]);
    assert_eq!(code(&o), 69, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(q.join("failed").join(&id).join("delivery-status.txt").exists());
    assert_eq!(code(&mw(&["queue", "retry", "--queue", qs, &id])), 0);

    let inbox = dir.path().join("inbox");
    let o = mw(&["queue", "flush", "--queue", qs, "--maildir", inbox.to_str().expect("utf-8"), "--json"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let line: serde_json::Value = serde_json::from_str(text(&o).lines().next().expect("a line")).expect("json");
    assert_eq!(line["outcome"], "delivered");
    assert_eq!(count(&inbox.join("new")), 1);
    assert_eq!(text(&mw(&["queue", "status", "--queue", qs])), "the outbox is empty\n");

    let id2 = add(&q, "c@x.test", "two");
    assert_eq!(code(&mw(&["queue", "drop", "--queue", qs, &id2])), 0);
    let o = mw(&["queue", "drop", "--queue", qs, &id2]);
    assert_eq!(code(&o), 1);
    assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1);
    // Usage errors: no destination, a flag without --mx.
    assert_eq!(code(&mw(&["queue", "flush", "--queue", qs])), 1);
    assert_eq!(code(&mw(&["send", "--maildir", "x", "--resolver", "127.0.0.1", "--to", "a@b.c"])), 1);
}

#[test]
fn two_flushers_never_send_one_message_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let q = dir.path().join("out");
    let outbox = mailwright::inject::Outbox::open(&q).expect("open");
    for i in 0..300 {
        let (env, raw) = support::message("a@client.test", &["b@x.test"], &format!("m{i}"));
        outbox.add(&env, &raw).expect("add");
    }
    let inbox = dir.path().join("inbox");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_mailwright"))
            .args(["queue", "flush", "--queue", q.to_str().expect("utf-8"), "--maildir"])
            .arg(&inbox)
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn")
    };
    let (mut a, mut b, mut c) = (spawn(), spawn(), spawn());
    for child in [&mut a, &mut b, &mut c] {
        assert!(child.wait().expect("wait").success());
    }
    let mut subjects: Vec<String> = std::fs::read_dir(inbox.join("new"))
        .expect("inbox")
        .map(|e| {
            let raw = std::fs::read(e.expect("entry").path()).expect("read");
            mailwright::Message::parse(&raw).expect("parse").subject().unwrap_or_default().to_string()
        })
        .collect();
    subjects.sort();
    let n = subjects.len();
    subjects.dedup();
    assert_eq!((n, subjects.len()), (300, 300), "each message exactly once");
    assert!(outbox.status().expect("status").is_empty());
}

#[test]
fn send_mx_exit_codes() {
    let Some(_serial) = support::ready() else { return };
    let spool = tempfile::tempdir().expect("tempdir");
    let _mx2 = Server::start("127.0.1.2", "sink", Some(spool.path()), &[]);
    let base = ["send", "--mx", "--resolver", "127.0.0.1:5399", "--resolver", "127.0.0.1:5353", "--smtp-port", "2525"];
    let with = |to: &str| {
        let mut v: Vec<&str> = base.to_vec();
        v.extend(["--connect-timeout", "2", "--from", "a@client.test", "--subject", "s", "--text", "t", "--json"]);
        v.extend(["--to", to]);
        mw(&v)
    };
    let o = with("bob@refused.test");
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["recipients"][0]["host"], "mx2.refused.test[127.0.1.2]:2525");
    assert_eq!(delivered(spool.path()).len(), 1);
    let o = with("bob@nullmx.test");
    assert_eq!(code(&o), 69, "{}", String::from_utf8_lossy(&o.stderr));
    let o = with("bob@down.test");
    assert_eq!(code(&o), 75, "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn flush_watch_delivers_as_messages_arrive_and_come_due() {
    let Some(_serial) = support::ready() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let q = dir.path().join("out");
    let spool = tempfile::tempdir().expect("tempdir");
    let mut watcher = Command::new(env!("CARGO_BIN_EXE_mailwright"))
        .args(["queue", "flush", "--watch", "--poll", "0.2", "--retry-first", "0.5", "--retry-max", "1"])
        .args(["--queue", q.to_str().expect("utf-8")])
        .args(["--mx", "--resolver", "127.0.0.1:5353", "--smtp-port", "2525", "--connect-timeout", "2"])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    add(&q, "bob@refused.test", "watch 1");
    // down.test has no server yet: deferred, then delivered once its secondary starts.
    add(&q, "bob@down.test", "watch 2");
    let wait_for = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while delivered(spool.path()).len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        delivered(spool.path()).len()
    };
    let _mx2 = Server::start("127.0.1.2", "sink", Some(spool.path()), &[]);
    assert_eq!(wait_for(1), 1);
    std::thread::sleep(Duration::from_millis(700));
    let _down = Server::start("127.0.1.9", "sink", Some(spool.path()), &[]);
    assert_eq!(wait_for(2), 2);
    // The server has the message a moment before the watcher records it: wait for the record.
    let outbox = mailwright::inject::Outbox::open(&q).expect("open");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut status = outbox.status().expect("status");
    while !status.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        status = outbox.status().expect("status");
    }
    let _ = watcher.kill();
    let _ = watcher.wait();
    assert!(status.is_empty(), "{status:?}");
    assert_eq!(delivered(spool.path()).len(), 2, "nothing sent twice");
}

#[test]
fn killing_add_at_any_instant_leaves_a_consistent_outbox() {
    let dir = tempfile::tempdir().expect("tempdir");
    let q = dir.path().join("out");
    let big = dir.path().join("big.bin");
    std::fs::write(&big, mailwright::sample::pdf("kill", 4_000_000, 5)).expect("write");
    let mut rng = mailwright::sample::Rng::new(7);
    let mut finished = 0;
    for round in 0..25 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mailwright"))
            .args(["queue", "add", "--queue", q.to_str().expect("utf-8"), "--from", "a@client.test"])
            .args(["--to", "b@x.test", "--subject", &format!("kill {round}"), "--attach"])
            .arg(&big)
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_micros(rng.range(0, 400_000) as u64));
        let _ = child.kill();
        if child.wait().expect("wait").success() {
            finished += 1;
        }
    }
    let outbox = mailwright::inject::Outbox::open(&q).expect("open");
    let status = outbox.status().expect("status");
    // Every add that returned is queued; whatever else is queued is whole.
    assert!(status.len() >= finished, "{} queued, {finished} adds finished", status.len());
    for e in &status {
        assert_eq!(e.state, mailwright::inject::outbox::EntryState::Queued, "{e:?}");
        let stored = std::fs::read(e.path.join("message.eml")).expect("message");
        assert_eq!(stored.len() as u64, e.message.size);
        mailwright::Message::parse(&stored).expect("parse");
    }
    let inbox = dir.path().join("inbox");
    let report = outbox.flush(&mut mailwright::inject::MaildirTransport::new(&inbox)).expect("flush");
    assert_eq!(report.delivered, status.len());
    eprintln!("{finished} of 25 adds finished before the kill; {} queued and delivered", status.len());
}
