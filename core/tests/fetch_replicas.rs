//! Redundant IMAP servers (`fetch --imap A --imap B`, `[source] imap = [...]`) against three
//! Dovecot instances of `scripts/mail-servers`: imap-a and imap-b hold replicas of one folder
//! (`doveadm backup`, which keeps UIDVALIDITY and UIDs), imap-c the same messages and more under
//! another UIDVALIDITY. imap-a is stopped for a while and started again however the test ends;
//! `fetch --idle` rides out such a restart and stops cleanly on SIGTERM.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

mod imap_support;
use imap_support::{CA, IMAP_A, IMAP_B, IMAP_C, USER, message, subjects, unique};

/// Held by the tests that stop imap-a.
static SERVER_A: Mutex<()> = Mutex::new(());

/// Starts imap-a again when dropped.
struct StartAgain;

impl Drop for StartAgain {
    fn drop(&mut self) {
        start_a();
    }
}

fn wait_port(addr: &str, open: bool) {
    let addr = format!("{addr}:143").parse().expect("addr");
    for _ in 0..100 {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() == open {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{addr} did not {}", if open { "open" } else { "close" });
}

/// imap-a's copy of the folder, replicated onto imap-b.
fn replicate(folder: &str) {
    IMAP_A.doveadm(&["backup", "-u", USER, "-m", folder, &format!("maildir:{}", IMAP_B.home)], None);
}

/// `mailwright fetch` from these servers, in order: its JSON report and how long it took.
fn fetch(servers: &[String], dir: &Path, folder: &str, connect_timeout: u64) -> (serde_json::Value, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailwright"));
    cmd.arg("fetch");
    for s in servers {
        cmd.args(["--imap", s]);
    }
    cmd.args(["--user", USER, "--ca-file", CA, "--folder", folder, "--json"])
        .args(["--connect-timeout", &connect_timeout.to_string()])
        .arg("--maildir")
        .arg(dir)
        .env("MAILWRIGHT_PASSWORD", "bobpw");
    let start = Instant::now();
    let out = cmd.output().expect("fetch");
    let took = start.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "fetch {servers:?}: {text}{}", String::from_utf8_lossy(&out.stderr));
    (serde_json::from_str(text.trim()).expect("one JSON report"), took)
}

fn stop_a() {
    IMAP_A.doveadm(&["stop"], None);
    wait_port(IMAP_A.addr, false);
}

fn start_a() {
    // Its output is not the test's: a daemon holding the test's pipes would keep them open.
    let _ = Command::new("dovecot")
        .args(["-c", IMAP_A.conf])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    wait_port(IMAP_A.addr, true);
}

/// Messages in a local Maildir folder.
fn count(dir: &Path) -> usize {
    ["new", "cur"].iter().map(|s| std::fs::read_dir(dir.join(s)).map_or(0, |d| d.count())).sum()
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

/// Waits at most `secs` for the child to exit; its exit code.
fn exit_within(child: &mut Child, secs: u64) -> Option<i32> {
    let ok = wait_until(secs, || child.try_wait().expect("try_wait").is_some());
    if !ok {
        let _ = child.kill();
    }
    child.wait().ok().filter(|_| ok).and_then(|s| s.code())
}

fn counts(r: &serde_json::Value) -> (u64, u64) {
    (r["fetched"].as_u64().expect("fetched"), r["skipped"].as_u64().expect("skipped"))
}

#[test]
fn replicas_take_over_without_refetching_and_other_numbering_adds_no_duplicate() {
    let _a = SERVER_A.lock().unwrap_or_else(PoisonError::into_inner);
    if !(IMAP_A.up() && IMAP_B.up() && IMAP_C.up()) {
        return;
    }
    let name = unique("replica");
    IMAP_A.create_folder(&name);
    IMAP_A.write(&name, 0, 30, 800);
    replicate(&name);
    let (a, b) = (IMAP_A.url("imap"), IMAP_B.url("imap"));
    let dir = tempfile::tempdir().expect("tempdir");
    let local = dir.path().join(format!(".{name}"));

    // Both up: the first answers.
    let (r, _) = fetch(&[a.clone(), b.clone()], dir.path(), &name, 3);
    assert_eq!((counts(&r), r["server"].as_str()), ((30, 0), Some("127.0.3.1:143")), "{r}");
    let validity = r["state"]["uidvalidity"].clone();

    // Ten more, replicated; then the first server dies: the replica continues from the state.
    IMAP_A.write(&name, 30, 10, 800);
    replicate(&name);
    let _start_again = StartAgain;
    stop_a();
    let (r, took) = fetch(&[a.clone(), b.clone()], dir.path(), &name, 3);
    assert_eq!((counts(&r), r["server"].as_str()), ((10, 0), Some("127.0.3.2:143")), "{r}");
    assert_eq!(r["state"]["uidvalidity"], validity, "the replica keeps the numbering");
    assert!(took < Duration::from_secs(3 + 10), "a refused server cost {took:?}");

    // A server that accepts connections and never speaks costs the connect timeout, no more.
    let silent = TcpListener::bind("127.0.3.9:0").expect("bind");
    let silent_url = format!("imap://{}", silent.local_addr().expect("addr"));
    let (r, took) = fetch(&[silent_url, b.clone()], dir.path(), &name, 2);
    assert_eq!((counts(&r), r["server"].as_str()), ((0, 0), Some("127.0.3.2:143")), "{r}");
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(2 + 10), "{took:?}");

    // imap-c: the same forty messages and two more, numbered anew. Synced by content.
    let raw: Vec<Vec<u8>> = (0..42).map(|i| message(i, 800)).collect();
    IMAP_C.create_folder(&name);
    // Independent servers number from their own clocks and may meet: make sure these differ.
    let other = validity.as_u64().expect("uidvalidity") % 4_000_000_000 + 7919;
    IMAP_C.doveadm(&["mailbox", "update", "-u", USER, "--uid-validity", &other.to_string(), &name], None);
    IMAP_C.write_raw(&name, 0, &raw);
    let (r, _) = fetch(&[a.clone(), IMAP_C.url("imap")], dir.path(), &name, 3);
    assert_eq!((counts(&r), r["uidvalidity_changed"].as_bool()), ((2, 40), Some(true)), "{r}");
    let got = subjects(&local);
    let mut unique_subjects = got.clone();
    unique_subjects.dedup();
    assert_eq!((got.len(), unique_subjects.len()), (42, 42), "every message once");

    // A bot whose source lists the servers does the same.
    let bot_dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(bot_dir.path().join("pw"), "bobpw\n").expect("password file");
    let text = format!(
        "[source]\nmaildir = \"Maildir\"\nimap = [\"{a}\", \"{b}\"]\nconnect_timeout = 3\nuser = \"{USER}\"\n\
         password_file = \"pw\"\nca_file = \"{CA}\"\nfolders = [\"{name}\"]\n[[rule]]\nname = \"all\"\n"
    );
    let rules = mailwright::bot::Rules::from_toml(&text, bot_dir.path()).expect("rules");
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&logs);
    let mut bot = mailwright::bot::Bot::new(rules, false)
        .expect("bot")
        .on_log(move |l| sink.lock().expect("lock").push(l.clone()));
    assert_eq!(bot.run_once().expect("run").handled, 40);
    let logs = logs.lock().expect("lock");
    let fetched = logs.iter().find(|l| l["event"] == "fetch").expect("a fetch line");
    assert_eq!(fetched["server"], "127.0.3.2:143", "{fetched}");
}

#[test]
fn fetch_idle_rides_out_a_server_restart_and_a_sigterm_loses_and_repeats_nothing() {
    let _a = SERVER_A.lock().unwrap_or_else(PoisonError::into_inner);
    if !IMAP_A.up() {
        return;
    }
    let name = unique("idle");
    IMAP_A.create_folder(&name);
    IMAP_A.write(&name, 0, 5, 500);
    let dir = tempfile::tempdir().expect("tempdir");
    let local = dir.path().join(format!(".{name}"));
    let fetch = |idle: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mailwright"));
        c.args(["fetch", "--imap", &IMAP_A.url("imap"), "--user", USER, "--ca-file", CA, "--folder", &name])
            .args(["--connect-timeout", "2"])
            .arg("--maildir")
            .arg(dir.path())
            .env("MAILWRIGHT_PASSWORD", "bobpw")
            .stdout(Stdio::null());
        if idle {
            c.arg("--idle");
        }
        c
    };
    let mut idle = fetch(true).stderr(Stdio::null()).spawn().expect("spawn");
    assert!(wait_until(20, || count(&local) == 5), "first sync: {}", count(&local));

    // The server goes away and comes back with more mail: the fetcher reconnects by itself.
    let _start_again = StartAgain;
    stop_a();
    IMAP_A.write(&name, 5, 5, 500);
    std::thread::sleep(Duration::from_millis(1500));
    start_a();
    assert!(wait_until(40, || count(&local) == 10), "after the restart: {}", count(&local));

    // A 60 MB message (eight pieces) and two small ones; SIGTERM while the large one comes in.
    let raw = [message(10, 60_000_000), message(11, 500), message(12, 500)];
    IMAP_A.write_raw(&name, 10, &raw);
    let tmp = local.join("tmp");
    let in_flight = wait_until(30, || std::fs::read_dir(&tmp).is_ok_and(|mut d| d.next().is_some()));
    let pid = rustix::process::Pid::from_raw(idle.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    let before = count(&local);
    eprintln!("SIGTERM with the large message in flight: {in_flight}; {before} messages in the Maildir");
    assert_eq!(exit_within(&mut idle, 15), Some(0), "SIGTERM: exit 0 within a bounded time");
    assert_eq!(std::fs::read_dir(&tmp).expect("tmp").count(), 0, "no half-written message left behind");

    // The rest comes with the next run: every message once, the large one whole.
    assert!(fetch(false).status().expect("fetch").success());
    let got = subjects(&local);
    let mut unique_subjects = got.clone();
    unique_subjects.dedup();
    assert_eq!((got.len(), unique_subjects.len()), (13, 13), "{got:?}");
    let largest = ["new", "cur"]
        .iter()
        .flat_map(|s| std::fs::read_dir(local.join(s)).expect("list").flatten())
        .map(|e| e.metadata().expect("stat").len())
        .max();
    assert_eq!(largest, Some(raw[0].len() as u64));
}
