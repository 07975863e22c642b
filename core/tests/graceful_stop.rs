//! SIGTERM in the watch modes: `bot --watch` (woken by inotify, not by its polling interval)
//! and `queue flush --watch` finish the message in hand, commit and exit 0; nothing is lost and
//! nothing is handled or sent twice. (`fetch --idle` is in fetch_replicas.rs, with the server it
//! stops.)

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailwright::mailbox::Maildir;

fn term(child: &Child) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
}

/// Waits at most `secs` for the child to exit; its exit code.
fn exit_within(child: &mut Child, secs: u64) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_string).collect()
}

fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

#[test]
fn bot_watch_wakes_on_arrival_and_a_sigterm_finishes_the_message_in_hand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    let runs = dir.path().join("runs.txt");
    // Each message's program takes a second: long enough to be signalled in the middle of it.
    let rules = format!(
        r#"[source]
maildir = "Maildir"
[[rule]]
name = "slow"
  [[rule.action]]
  type = "run"
  command = ["sh", "-c", "echo start >> \"$1\"; sleep 1; echo \"$2\" >> \"$1\"", "sh", "{}", "{{{{hash}}}}"]
"#,
        runs.display()
    );
    std::fs::write(dir.path().join("rules.toml"), rules).expect("rules");
    // A 30-second interval: only a change notification can make it see mail sooner.
    let mut bot = Command::new(env!("CARGO_BIN_EXE_mailwright"))
        .args(["bot", "--watch", "--interval", "30", "--rules"])
        .arg(dir.path().join("rules.toml"))
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(500));
    let delivered = Instant::now();
    md.deliver(b"Subject: one\r\n\r\nfirst\r\n").expect("deliver");
    assert!(wait_until(10, || lines(&runs).len() >= 2), "the first message was not handled: {:?}", lines(&runs));
    let took = delivered.elapsed();
    eprintln!("handled {took:?} after delivery (interval 30 s)");
    assert!(took < Duration::from_secs(5), "woken by polling, not by the arrival: {took:?}");

    md.deliver(b"Subject: two\r\n\r\nsecond\r\n").expect("deliver");
    assert!(wait_until(10, || lines(&runs).len() >= 3), "the second message's program did not start");
    term(&bot);
    assert_eq!(exit_within(&mut bot, 10), Some(0), "SIGTERM: exit 0 once the message in hand is done");
    let got = lines(&runs);
    assert_eq!(got.len(), 4, "both programs ran to the end, once each: {got:?}");
    assert_ne!(got[1], got[3]);

    // Nothing is left to handle: both were committed.
    let once = Command::new(env!("CARGO_BIN_EXE_mailwright"))
        .args(["bot", "--once", "--rules"])
        .arg(dir.path().join("rules.toml"))
        .output()
        .expect("bot --once");
    let report: serde_json::Value =
        serde_json::from_slice(once.stdout.split(|&b| b == b'\n').rfind(|l| !l.is_empty()).expect("a report"))
            .expect("json");
    assert_eq!(report["report"]["handled"], 0, "{report}");
    assert_eq!(lines(&runs).len(), 4);
}

#[test]
fn queue_flush_watch_sigterm_sends_nothing_twice_and_loses_nothing() {
    let Some(_serial) = support::ready() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let q = dir.path().join("out");
    let outbox = mailwright::inject::Outbox::open(&q).expect("outbox");
    let n = 300;
    for i in 0..n {
        let (envelope, raw) = support::message("a@client.test", &["bob@refused.test"], &format!("stop {i}"));
        outbox.add(&envelope, &raw).expect("add");
    }
    let spool = tempfile::tempdir().expect("tempdir");
    let _mx2 = support::Server::start("127.0.1.2", "sink", Some(spool.path()), &[]);
    let flush = |watch: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mailwright"));
        c.args(["queue", "flush"]);
        if watch {
            c.arg("--watch");
        }
        c.args(["--queue", q.to_str().expect("utf-8")])
            .args(["--mx", "--resolver", "127.0.0.1:5353", "--smtp-port", "2525", "--connect-timeout", "2"])
            .stdout(Stdio::null());
        c
    };
    let mut watcher = flush(true).spawn().expect("spawn");
    assert!(wait_until(60, || support::delivered(spool.path()).len() >= 20), "nothing was sent");
    term(&watcher);
    assert_eq!(exit_within(&mut watcher, 10), Some(0), "SIGTERM: exit 0 after the message in hand");
    let sent = support::delivered(spool.path()).len();
    let left = outbox.status().expect("status").len();
    eprintln!("stopped after {sent} of {n}; {left} left in the queue");
    assert_eq!(sent + left, n, "every message either sent or still queued");
    assert!(left > 0, "the stop came too late to test anything");
    assert!(flush(false).status().expect("flush").success());
    let mut tags: Vec<String> = support::delivered(spool.path())
        .into_iter()
        .map(|(_, _, raw)| mailwright::Message::parse(&raw).expect("parse").subject().unwrap_or_default().to_string())
        .collect();
    tags.sort();
    tags.dedup();
    assert_eq!((support::delivered(spool.path()).len(), tags.len()), (n, n), "each message once");
}
