//! IMAP sync against Dovecot on loopback (`scripts/mail-servers start`): STARTTLS and IMAPS,
//! LOGIN and AUTHENTICATE PLAIN, only-new fetching, resuming after a kill without loss or
//! duplicates, and a UIDVALIDITY change. Folders are made and filled with `doveadm`.

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailwright::fetch::{FetchError, Fetcher, ImapAuth, ImapConfig};

const CA: &str = "/etc/mailwright-test/tls/ca.pem";
const DOVECOT_CONF: &str = "/etc/mailwright-test/dovecot.conf";
const USER: &str = "bob@example.test";
/// Where Dovecot keeps the user's Maildir (`home` in its userdb).
const HOME: &str = "/var/mail/vhosts/example.test/bob";

fn dovecot_up() -> bool {
    let up = TcpStream::connect_timeout(&"127.0.0.1:143".parse().expect("addr"), Duration::from_secs(1)).is_ok()
        && Path::new(CA).exists()
        && Path::new(DOVECOT_CONF).exists();
    if !up {
        let msg = "SKIPPED IMAP tests: no Dovecot on 127.0.0.1:143 (run `scripts/mail-servers start` as root)";
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{msg}; CI must not skip");
        eprintln!("\n*** {msg} ***\n");
    }
    up
}

fn doveadm(args: &[&str], stdin: Option<&[u8]>) {
    let (ok, out, err) = doveadm_output(args, stdin);
    assert!(ok, "doveadm {args:?}: {out}{err}");
}

/// Runs doveadm; returns its success, stdout and stderr.
fn doveadm_output(args: &[&str], stdin: Option<&[u8]>) -> (bool, String, String) {
    let mut child = Command::new("doveadm")
        .args(["-c", DOVECOT_CONF])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("doveadm");
    if let Some(data) = stdin {
        child.stdin.take().expect("stdin").write_all(data).expect("write");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// Creates a folder that no one else uses. Dovecot's mailbox list index can answer "already
/// exists" to a create that races another user's doveadm save (seen once in CI); the name is
/// unique to this test, so that answer is accepted when the folder is there and empty.
fn create_folder(name: &str) {
    let (ok, out, err) = doveadm_output(&["mailbox", "create", "-u", USER, name], None);
    if ok {
        return;
    }
    assert!(err.contains("already exists"), "doveadm mailbox create {name}: {out}{err}");
    let (ok, status, serr) = doveadm_output(&["mailbox", "status", "-u", USER, "messages", name], None);
    assert!(
        ok && status.split_whitespace().any(|w| w == "messages=0"),
        "{name} after \"already exists\": {status}{serr}"
    );
}

/// A fresh folder for one test, with `n` messages of about `size` bytes.
fn folder(tag: &str, n: usize, size: usize) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_nanos();
    let name = format!("T{tag}{}x{nanos}", std::process::id());
    create_folder(&name);
    add(&name, 0, n, size);
    name
}

fn add(folder: &str, from: usize, n: usize, size: usize) {
    for i in from..from + n {
        doveadm(&["save", "-u", USER, "-m", folder], Some(&message(i, size)));
    }
}

/// A fresh folder with `n` messages written straight into Dovecot's Maildir (one batch, then
/// handed to the mail user): thousands of messages in a second, where `doveadm save` takes a
/// process each. Dovecot gives them UIDs when the folder is next opened.
fn folder_filled(tag: &str, n: usize, size: usize) -> String {
    let name = folder(tag, 0, 0);
    let path = Path::new(HOME).join(format!(".{name}"));
    let md = mailwright::mailbox::Maildir::create(&path).expect("maildir");
    let mut batch = md.batch();
    for i in 0..n {
        batch.add(&format!("1700000000.fill{i}.test"), &message(i, size)).expect("add");
    }
    batch.commit().expect("commit");
    let (uid, gid) = vmail();
    for sub in ["", "new", "cur", "tmp"] {
        let dir = path.join(sub);
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown");
        for e in std::fs::read_dir(&dir).expect("list").flatten() {
            std::os::unix::fs::chown(e.path(), Some(uid), Some(gid)).expect("chown");
        }
    }
    name
}

/// The mail user's uid and gid.
fn vmail() -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(HOME).expect("home");
    (m.uid(), m.gid())
}

fn message(i: usize, size: usize) -> Vec<u8> {
    let body = "imap sync test line\r\n".repeat(size / 21 + 1);
    format!(
        "From: a@example.test\r\nTo: {USER}\r\nSubject: sync {i}\r\nMessage-ID: <sync{i}@example.test>\r\n\r\n{body}"
    )
    .into_bytes()
}

fn config(url: &str) -> ImapConfig {
    let mut c = ImapConfig::from_url(url, USER, "bobpw").expect("url");
    c.ca_file = Some(PathBuf::from(CA));
    c.timeout = Duration::from_secs(20);
    c
}

fn subjects(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        for e in std::fs::read_dir(dir.join(sub)).into_iter().flatten().flatten() {
            let raw = std::fs::read(e.path()).expect("read");
            out.push(mailwright::Message::parse(&raw).expect("parse").subject().unwrap_or_default().to_string());
        }
    }
    out.sort();
    out
}

#[test]
fn starttls_login_then_imaps_plain_fetch_only_what_is_new() {
    if !dovecot_up() {
        return;
    }
    let name = folder("new", 12, 2_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut f = Fetcher::connect(config("imap://127.0.0.1"), dir.path()).expect("connect");
    let mut seen = Vec::new();
    let r = f.sync_folder(&name, |p| seen.push(p.to_path_buf())).expect("sync");
    assert_eq!((r.fetched, r.skipped, r.uidvalidity_changed), (12, 0, false));
    assert_eq!(seen.len(), 12);
    let local = dir.path().join(format!(".{name}"));
    assert_eq!(subjects(&local).len(), 12);
    assert_eq!(std::fs::read(&seen[0]).expect("read"), message(0, 2_000), "byte-exact");
    f.logout();

    add(&name, 12, 3, 2_000);
    let mut c = config("imaps://127.0.0.1");
    c.auth = ImapAuth::Plain;
    let mut f = Fetcher::connect(c, dir.path()).expect("connect");
    let r = f.sync_folder(&name, |_| {}).expect("sync");
    assert_eq!((r.fetched, r.skipped), (3, 0));
    let r = f.sync_folder(&name, |_| {}).expect("sync");
    assert_eq!((r.fetched, r.skipped), (0, 0), "nothing new, nothing fetched");
    assert_eq!(subjects(&local).len(), 15);
}

#[test]
fn refused_login_and_unverified_certificate_are_clear_errors() {
    if !dovecot_up() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config("imaps://127.0.0.1");
    c.password = "wrong".into();
    let err = Fetcher::connect(c, dir.path()).expect_err("refused");
    assert!(matches!(err, FetchError::Auth { .. }) && !err.is_transient(), "{err}");
    let mut c = config("imaps://127.0.0.1");
    c.ca_file = None;
    let err = Fetcher::connect(c, dir.path()).expect_err("unknown CA");
    assert!(matches!(err, FetchError::Tls { .. }), "{err}");
    let err = Fetcher::connect(config("imap://127.0.0.1:1"), dir.path()).expect_err("nothing there");
    assert!(err.is_transient(), "{err}");
}

#[test]
fn a_lost_state_update_does_not_fetch_twice() {
    if !dovecot_up() {
        return;
    }
    let name = folder("crash", 5, 500);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut f = Fetcher::connect(config("imap://127.0.0.1"), dir.path()).expect("connect");
    f.sync_folder(&name, |_| {}).expect("sync");
    // What a kill between writing the message and saving the state leaves: the state one behind.
    let state_file = std::fs::read_dir(dir.path().join(".mailwright-sync"))
        .expect("state dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| std::fs::read_to_string(p).is_ok_and(|s| s.contains("\"last_uid\":5")))
        .expect("state file");
    let s = std::fs::read_to_string(&state_file).expect("read");
    std::fs::write(&state_file, s.replace("\"last_uid\":5", "\"last_uid\":4")).expect("write");
    let r = f.sync_folder(&name, |_| {}).expect("sync");
    assert_eq!((r.fetched, r.skipped), (0, 1));
    assert_eq!(subjects(&dir.path().join(format!(".{name}"))).len(), 5);
}

#[test]
fn killed_in_the_middle_of_a_fetch_resumes_without_loss_or_duplicates() {
    if !dovecot_up() {
        return;
    }
    let n = 5_000;
    let name = folder_filled("kill", n, 1_500);
    let dir = tempfile::tempdir().expect("tempdir");
    // Small batches, so that kills land between linking a batch and saving the state too.
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_mailwright"))
            .args(["fetch", "--imap", "imap://127.0.0.1", "--user", USER, "--ca-file", CA, "--folder", &name])
            .args(["--batch", "50"])
            .arg("--maildir")
            .arg(dir.path())
            .env("MAILWRIGHT_PASSWORD", "bobpw")
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn")
    };
    let local = dir.path().join(format!(".{name}"));
    let count =
        || ["new", "cur"].iter().map(|s| std::fs::read_dir(local.join(s)).map_or(0, |d| d.count())).sum::<usize>();
    let mut rng = mailwright::sample::Rng::new(11);
    let (mut kills, mut finished) = (0, false);
    let deadline = Instant::now() + Duration::from_secs(90);
    while kills < 25 && Instant::now() < deadline {
        let mut child = run();
        std::thread::sleep(Duration::from_millis(rng.range(20, 250) as u64));
        match child.try_wait().expect("try_wait") {
            Some(status) => {
                assert!(status.success());
                finished = true;
                break;
            }
            None => {
                let _ = child.kill();
                let _ = child.wait();
                kills += 1;
            }
        }
    }
    let during = count();
    let mut last = run();
    assert!(last.wait().expect("wait").success());
    let got = subjects(&local);
    let mut unique = got.clone();
    unique.dedup();
    eprintln!("fetch killed {kills} times ({during} of {n} messages in the Maildir before the last run)");
    assert!(kills >= 20, "the fetch was interrupted only {kills} times (finished early: {finished})");
    assert_eq!((got.len(), unique.len()), (n, n), "every message once");
    assert_eq!(std::fs::read_dir(local.join("tmp")).expect("tmp").count(), 0, "no leftovers in tmp/");
}

#[test]
fn large_messages_come_in_pieces_and_land_whole() {
    if !dovecot_up() {
        return;
    }
    // Three messages: small, 300 kB (many pieces of 64 KiB), exactly one piece; and another
    // small one behind them, which may be committed before the large ones are complete.
    let name = folder("big", 0, 0);
    let sizes = [500, 300_000, 65_536 - 200, 700];
    let path = Path::new(HOME).join(format!(".{name}"));
    let md = mailwright::mailbox::Maildir::create(&path).expect("maildir");
    let mut expected = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let raw = message(i, *size);
        md.deliver(&raw).expect("deliver");
        expected.push(raw);
    }
    let (uid, gid) = vmail();
    for sub in ["", "new", "cur", "tmp"] {
        std::os::unix::fs::chown(path.join(sub), Some(uid), Some(gid)).expect("chown");
        for e in std::fs::read_dir(path.join(sub)).expect("list").flatten() {
            std::os::unix::fs::chown(e.path(), Some(uid), Some(gid)).expect("chown");
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config("imap://127.0.0.1");
    c.limits.chunk_bytes = 65_536;
    c.limits.batch_messages = 1;
    let mut f = Fetcher::connect(c, dir.path()).expect("connect");
    let r = f.sync_folder(&name, |_| {}).expect("sync");
    assert_eq!((r.fetched, r.skipped, r.state.last_uid), (4, 0, 4), "{r:?}");
    let local = dir.path().join(format!(".{name}"));
    let mut got: Vec<Vec<u8>> = std::fs::read_dir(local.join("new"))
        .expect("new")
        .flatten()
        .map(|e| std::fs::read(e.path()).expect("read"))
        .collect();
    got.sort_by_key(Vec::len);
    expected.sort_by_key(Vec::len);
    assert!(got == expected, "byte-exact, whole");
    assert_eq!(f.sync_folder(&name, |_| {}).expect("sync").fetched, 0);
}

#[test]
fn uidvalidity_change_refetches_without_duplicates() {
    if !dovecot_up() {
        return;
    }
    let name = folder("validity", 3, 300);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut f = Fetcher::connect(config("imap://127.0.0.1"), dir.path()).expect("connect");
    let first = f.sync_folder(&name, |_| {}).expect("sync");
    // The folder is recreated: new UIDVALIDITY, the same three messages and one more.
    doveadm(&["mailbox", "delete", "-u", USER, &name], None);
    std::thread::sleep(Duration::from_millis(1100));
    create_folder(&name);
    add(&name, 0, 4, 300);
    let r = f.sync_folder(&name, |_| {}).expect("sync");
    assert!(r.uidvalidity_changed, "{r:?}");
    assert_ne!(r.state.uidvalidity, first.state.uidvalidity);
    assert_eq!((r.fetched, r.skipped), (1, 3));
    assert_eq!(subjects(&dir.path().join(format!(".{name}"))), vec!["sync 0", "sync 1", "sync 2", "sync 3"]);
}

#[test]
fn idle_wakes_up_on_new_mail() {
    if !dovecot_up() {
        return;
    }
    let name = folder("idle", 1, 300);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut f = Fetcher::connect(config("imap://127.0.0.1"), dir.path()).expect("connect");
    f.sync_folder(&name, |_| {}).expect("sync");
    let adder = {
        let name = name.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(700));
            add(&name, 1, 1, 300);
        })
    };
    let start = Instant::now();
    let news = f.idle(&name, Duration::from_secs(20)).expect("idle");
    adder.join().expect("adder");
    assert!(news && start.elapsed() < Duration::from_secs(15), "{news} {:?}", start.elapsed());
    assert_eq!(f.sync_folder(&name, |_| {}).expect("sync").fetched, 1);
}

#[test]
fn a_bot_reads_the_folders_its_source_syncs_besides_inbox() {
    if !dovecot_up() {
        return;
    }
    let name = folder("bot", 3, 300);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pw"), "bobpw\n").expect("password file");
    let text = format!(
        "[source]\nmaildir = \"Maildir\"\nimap = \"imap://127.0.0.1\"\nuser = \"{USER}\"\npassword_file = \"pw\"\n\
         ca_file = \"{CA}\"\nfolders = [\"{name}\"]\n[[rule]]\nname = \"all\"\n"
    );
    let rules = mailwright::bot::Rules::from_toml(&text, dir.path()).expect("rules");
    let mut bot = mailwright::bot::Bot::new(rules, false).expect("bot").on_log(|_| {});
    let report = bot.run_once().expect("run");
    assert_eq!(report.handled, 3, "{report:?}");
    assert_eq!(subjects(&dir.path().join("Maildir/.Handled")).len(), 3);
    assert_eq!(bot.run_once().expect("run").handled, 0);
}
