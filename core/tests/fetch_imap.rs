//! IMAP sync against Dovecot on loopback (`scripts/mail-servers start`): STARTTLS and IMAPS,
//! LOGIN and AUTHENTICATE PLAIN, only-new fetching, resuming after a kill without loss or
//! duplicates, large messages in pieces, and a UIDVALIDITY change. Folders are made and filled
//! with `doveadm`, or written straight into its store (`imap_support`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailwright::fetch::{FetchError, Fetcher, ImapAuth};

mod imap_support;
use imap_support::{CA, MAIN, USER, config, message, subjects};

fn dovecot_up() -> bool {
    MAIN.up()
}

fn doveadm(args: &[&str], stdin: Option<&[u8]>) {
    MAIN.doveadm(args, stdin)
}

fn create_folder(name: &str) {
    MAIN.create_folder(name)
}

fn folder(tag: &str, n: usize, size: usize) -> String {
    MAIN.folder(tag, n, size)
}

fn add(folder: &str, from: usize, n: usize, size: usize) {
    MAIN.add(folder, from, n, size)
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
    let name = MAIN.folder_filled("kill", n, 1_500);
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
    let mut expected: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, size)| message(i, *size)).collect();
    MAIN.write_raw(&name, 0, &expected);
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
