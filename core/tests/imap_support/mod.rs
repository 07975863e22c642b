//! The test Dovecot instances (`scripts/mail-servers start`) as seen by the IMAP tests: folders
//! made with `doveadm`, or filled by writing straight into an instance's store.
#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use mailwright::fetch::ImapConfig;

pub const CA: &str = "/etc/mailwright-test/tls/ca.pem";
pub const USER: &str = "bob@example.test";

/// One Dovecot instance: its configuration, address and the user's home in its store.
#[derive(Debug, Clone, Copy)]
pub struct Dovecot {
    pub conf: &'static str,
    pub addr: &'static str,
    pub home: &'static str,
}

/// The main instance (also Postfix's SASL backend).
pub const MAIN: Dovecot =
    Dovecot { conf: "/etc/mailwright-test/dovecot.conf", addr: "127.0.0.1", home: "/var/mail/vhosts/example.test/bob" };
/// The instances of the redundancy tests: a and b hold replicas, c another UIDVALIDITY.
pub const IMAP_A: Dovecot = Dovecot {
    conf: "/etc/mailwright-test/dovecot-a.conf",
    addr: "127.0.3.1",
    home: "/var/mail/imap-a/example.test/bob",
};
pub const IMAP_B: Dovecot = Dovecot {
    conf: "/etc/mailwright-test/dovecot-b.conf",
    addr: "127.0.3.2",
    home: "/var/mail/imap-b/example.test/bob",
};
pub const IMAP_C: Dovecot = Dovecot {
    conf: "/etc/mailwright-test/dovecot-c.conf",
    addr: "127.0.3.3",
    home: "/var/mail/imap-c/example.test/bob",
};

impl Dovecot {
    /// Whether it is up; CI must not skip, elsewhere a loud skip.
    pub fn up(&self) -> bool {
        let addr = format!("{}:143", self.addr).parse().expect("addr");
        let up = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
            && Path::new(CA).exists()
            && Path::new(self.conf).exists();
        if !up {
            let msg = format!(
                "SKIPPED IMAP tests: no Dovecot on {}:143 (run `scripts/mail-servers start` as root)",
                self.addr
            );
            assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{msg}; CI must not skip");
            eprintln!("\n*** {msg} ***\n");
        }
        up
    }

    pub fn doveadm(&self, args: &[&str], stdin: Option<&[u8]>) {
        let (ok, out, err) = self.doveadm_output(args, stdin);
        assert!(ok, "doveadm {args:?}: {out}{err}");
    }

    /// Runs doveadm; returns its success, stdout and stderr.
    pub fn doveadm_output(&self, args: &[&str], stdin: Option<&[u8]>) -> (bool, String, String) {
        let mut child = Command::new("doveadm")
            .args(["-c", self.conf])
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
    pub fn create_folder(&self, name: &str) {
        let (ok, out, err) = self.doveadm_output(&["mailbox", "create", "-u", USER, name], None);
        if ok {
            return;
        }
        assert!(err.contains("already exists"), "doveadm mailbox create {name}: {out}{err}");
        let (ok, status, serr) = self.doveadm_output(&["mailbox", "status", "-u", USER, "messages", name], None);
        assert!(
            ok && status.split_whitespace().any(|w| w == "messages=0"),
            "{name} after \"already exists\": {status}{serr}"
        );
    }

    /// A fresh folder for one test, with `n` messages of about `size` bytes (`doveadm save`).
    pub fn folder(&self, tag: &str, n: usize, size: usize) -> String {
        let name = unique(tag);
        self.create_folder(&name);
        self.add(&name, 0, n, size);
        name
    }

    /// Saves messages `from..from + n` with `doveadm save`.
    pub fn add(&self, folder: &str, from: usize, n: usize, size: usize) {
        for i in from..from + n {
            self.doveadm(&["save", "-u", USER, "-m", folder], Some(&message(i, size)));
        }
    }

    /// Writes messages `from..from + n` straight into the folder's Maildir in the store (one
    /// batch, then handed to the mail user): thousands in a second, where `doveadm save` takes
    /// a process each. Dovecot gives them UIDs when the folder is next opened.
    pub fn write(&self, folder: &str, from: usize, n: usize, size: usize) {
        let raw: Vec<Vec<u8>> = (from..from + n).map(|i| message(i, size)).collect();
        self.write_raw(folder, from, &raw);
    }

    /// Writes these messages straight into the folder's Maildir in the store.
    pub fn write_raw(&self, folder: &str, tag: usize, raw: &[Vec<u8>]) {
        let path = Path::new(self.home).join(format!(".{folder}"));
        let md = mailwright::mailbox::Maildir::create(&path).expect("maildir");
        let mut batch = md.batch();
        for (i, m) in raw.iter().enumerate() {
            batch.add(&format!("1700000000.fill{tag}x{i}.test"), m).expect("add");
        }
        batch.commit().expect("commit");
        let (uid, gid) = self.owner();
        for sub in ["", "new", "cur", "tmp"] {
            let dir = path.join(sub);
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown");
            for e in std::fs::read_dir(&dir).expect("list").flatten() {
                std::os::unix::fs::chown(e.path(), Some(uid), Some(gid)).expect("chown");
            }
        }
    }

    /// A fresh folder with `n` messages written straight into the store.
    pub fn folder_filled(&self, tag: &str, n: usize, size: usize) -> String {
        let name = self.folder(tag, 0, 0);
        self.write(&name, 0, n, size);
        name
    }

    /// The mail user's uid and gid (the owner of the store).
    fn owner(&self) -> (u32, u32) {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(self.home)
            .or_else(|_| std::fs::metadata(Path::new(self.home).parent().and_then(Path::parent).expect("base")))
            .expect("store");
        (m.uid(), m.gid())
    }

    /// The instance's URL for `scheme` (`imap` or `imaps`).
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.addr)
    }
}

/// A folder name no other test or run uses.
pub fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_nanos();
    format!("T{tag}{}x{nanos}", std::process::id())
}

/// Message `i`, about `size` bytes.
pub fn message(i: usize, size: usize) -> Vec<u8> {
    let body = "imap sync test line\r\n".repeat(size / 21 + 1);
    format!(
        "From: a@example.test\r\nTo: {USER}\r\nSubject: sync {i}\r\nMessage-ID: <sync{i}@example.test>\r\n\r\n{body}"
    )
    .into_bytes()
}

/// Bob's account at `url`, trusting the test CA.
pub fn config(url: &str) -> ImapConfig {
    let mut c = ImapConfig::from_url(url, USER, "bobpw").expect("url");
    c.ca_file = Some(PathBuf::from(CA));
    c.timeout = Duration::from_secs(20);
    c
}

/// The subjects of a local Maildir's messages, sorted.
pub fn subjects(dir: &Path) -> Vec<String> {
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
