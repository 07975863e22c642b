//! The migration's two Dovecot instances (`scripts/mail-servers start`): "old" on 127.0.4.1
//! (hierarchy `/`, Exchange's folder names, mail under /var/mail/mig-old/DOMAIN/USER/Maildir in
//! LAYOUT=fs) and "new" on 127.0.4.2 (hierarchy `.`, Dovecot's names, quotas). Mailboxes are
//! seeded by writing Maildir files straight into old's store: flags in the file name, keywords
//! in `dovecot-keywords`, INTERNALDATE as the file's modification time.
#![allow(dead_code, unreachable_pub)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

pub const CA: &str = "/etc/mailwright-test/tls/ca.pem";
pub const OLD: (&str, &str) = ("127.0.4.1", "/etc/mailwright-test/dovecot-mig-old.conf");
pub const NEW: (&str, &str) = ("127.0.4.2", "/etc/mailwright-test/dovecot-mig-new.conf");
pub const DOMAIN: &str = "example.test";

/// Whether both servers are up; a loud skip (a failure in CI) when not.
pub fn up() -> bool {
    let ok = [OLD, NEW].iter().all(|(addr, conf)| {
        TcpStream::connect_timeout(&format!("{addr}:993").parse().expect("addr"), Duration::from_secs(1)).is_ok()
            && Path::new(conf).exists()
    });
    if !ok {
        let msg =
            "SKIPPED migration server tests: no Dovecot on 127.0.4.1-2 (run `scripts/mail-servers start` as root)";
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{msg}; CI must not skip");
        eprintln!("\n*** {msg} ***\n");
    }
    ok
}

/// A name for this run's users: `what`, the process and the clock, so reruns never meet.
pub fn prefix(what: &str) -> String {
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("time").subsec_nanos();
    format!("{what}{}x{nanos}", std::process::id())
}

/// A message to seed.
#[derive(Clone)]
pub struct Seed {
    pub raw: Vec<u8>,
    /// Maildir flag letters (D F R S T).
    pub flags: &'static str,
    pub keywords: Vec<&'static str>,
    /// Seconds since 1970: INTERNALDATE.
    pub date: i64,
}

/// A typical message: `n` decides its subject, size and whether it has a Message-ID.
pub fn message(tag: &str, n: usize, size: usize, message_id: bool) -> Vec<u8> {
    let mut m = String::new();
    if message_id {
        m.push_str(&format!("Message-ID: <{tag}.{n}@old.example.test>\r\n"));
    }
    m.push_str(&format!(
        "From: Sender {n} <s{n}@example.net>\r\nTo: {tag}@{DOMAIN}\r\nSubject: {tag} message {n}\r\nDate: Mon, 2 Mar 2015 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    ));
    let line = format!("Line of message {n} for {tag}, Grüße.\r\n");
    while m.len() < size {
        m.push_str(&line);
    }
    m.into_bytes()
}

/// Where a folder of `user` lives in old's store (LAYOUT=fs: the path as it is, mUTF-7 names).
pub fn old_folder(user: &str, folder: &str) -> PathBuf {
    let (local, domain) = user.split_once('@').expect("user@domain");
    let root = Path::new("/var/mail/mig-old").join(domain).join(local).join("Maildir");
    if folder == "INBOX" { root } else { root.join(mailwright::migrate::folders::encode_mutf7(folder)) }
}

pub fn vmail() -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata("/var/mail/mig-old").expect("old store");
    (m.uid(), m.gid())
}

pub fn chown_all(path: &Path, owner: (u32, u32)) {
    let _ = std::os::unix::fs::chown(path, Some(owner.0), Some(owner.1));
    if path.is_dir() {
        for e in std::fs::read_dir(path).expect("list").flatten() {
            chown_all(&e.path(), owner);
        }
    }
}

/// Writes messages into a folder of `user` on old (creating it).
pub fn seed(user: &str, folder: &str, messages: &[Seed]) {
    let dir = old_folder(user, folder);
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
    }
    // Keywords: their index in dovecot-keywords is their letter (a, b, …) in the file name.
    let mut keywords: Vec<String> = std::fs::read_to_string(dir.join("dovecot-keywords"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(_, k)| k.to_string()))
        .collect();
    for m in messages {
        for k in &m.keywords {
            if !keywords.iter().any(|x| x == k) {
                keywords.push(k.to_string());
            }
        }
    }
    let text: String = keywords.iter().enumerate().map(|(i, k)| format!("{i} {k}\n")).collect();
    std::fs::write(dir.join("dovecot-keywords"), text).expect("keywords");
    let stamp = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("time").as_nanos();
    for (i, m) in messages.iter().enumerate() {
        let mut letters: Vec<char> = m.flags.chars().collect();
        for k in &m.keywords {
            let idx = keywords.iter().position(|x| x == k).expect("keyword");
            letters.push((b'a' + idx as u8) as char);
        }
        letters.sort_unstable();
        let name = format!("{stamp}.s{i}.seed:2,{}", letters.iter().collect::<String>());
        let path = dir.join("cur").join(name);
        std::fs::write(&path, &m.raw).expect("write");
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(m.date as u64);
        std::fs::File::options().write(true).open(&path).expect("open").set_modified(when).expect("mtime");
    }
    let (local, domain) = user.split_once('@').expect("user@domain");
    chown_all(&Path::new("/var/mail/mig-old").join(domain).join(local), vmail());
}

/// Makes old forget a folder's numbering: the next look gives it a new UIDVALIDITY.
pub fn reset_uidvalidity(user: &str, folder: &str) {
    let dir = old_folder(user, folder);
    for e in std::fs::read_dir(&dir).expect("list").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "dovecot-uidlist" || name.starts_with("dovecot.index") {
            std::fs::remove_file(e.path()).expect("remove");
        }
    }
}

/// Runs doveadm against one of the two.
pub fn doveadm(conf: &str, args: &[&str]) -> String {
    let out = Command::new("doveadm").args(["-c", conf]).args(args).output().expect("doveadm");
    assert!(out.status.success(), "doveadm {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A users file (mode 0600) for these pairs of source and destination users.
pub fn users_file(dir: &Path, users: &[(String, String)], wrong: Option<&str>) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("users.csv");
    let text: String = users
        .iter()
        .map(|(s, d)| format!("{s},{},{d},newpw\n", if Some(s.as_str()) == wrong { "wrong" } else { "oldpw" }))
        .collect();
    std::fs::write(&path, text).expect("users");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

/// `mailwright migrate [verify] …` with --json: exit code and the JSON lines.
pub fn migrate(extra: &[&str], users: &Path, state: &Path) -> (i32, Vec<serde_json::Value>) {
    migrate_between(OLD.0, NEW.0, extra, users, state)
}

/// The same from `from` to `to` (addresses of the two).
pub fn migrate_between(
    from: &str,
    to: &str,
    extra: &[&str],
    users: &Path,
    state: &Path,
) -> (i32, Vec<serde_json::Value>) {
    migrate_urls(&format!("imaps://{from}"), &format!("imaps://{to}"), extra, users, state)
}

/// The same between any two sides (`imaps://…`, `maildir:…`).
pub fn migrate_urls(from: &str, to: &str, extra: &[&str], users: &Path, state: &Path) -> (i32, Vec<serde_json::Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_mailwright"))
        .arg("migrate")
        .args(extra)
        .args(["--from", from, "--to", to])
        .arg("--users")
        .arg(users)
        .arg("--state")
        .arg(state)
        .args(["--ca-file", CA, "--json"])
        .output()
        .expect("migrate");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines = text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    (out.status.code().unwrap_or(-1), lines)
}

/// The summary line of a run.
pub fn summary(lines: &[serde_json::Value]) -> &serde_json::Value {
    lines.iter().find(|l| l["event"] == "summary").expect("summary line")
}

/// The mailbox lines of a run.
pub fn mailboxes(lines: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    lines.iter().filter(|l| l["event"] == "mailbox").collect()
}
