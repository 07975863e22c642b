//! `mailwright migrate` with a local Maildir root on either side: old Dovecot's own store read
//! as Maildirs (LAYOUT=fs) into new over IMAP; old over IMAP written into new Dovecot's store
//! (Maildir++), which Dovecot then serves; each proven twice, by `migrate` itself and by
//! `migrate verify` between the two Dovecots over IMAP (so what we read and write is what
//! Dovecot sees). Then kill -9 while writing a Maildir, and Maildir to Maildir with hostile
//! users and files, which needs no server.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod migrate_support;
use migrate_support::*;

const OLD_STORE: &str = "maildir:/var/mail/mig-old/%d/%n/Maildir:LAYOUT=fs";
const NEW_STORE: &str = "maildir:/var/mail/mig-new/%d/%n/Maildir";

/// INBOX (with true duplicates, no Message-ID, keywords), Sent Items, and folders in three
/// scripts and with a dot in the name; returns how many messages.
fn seed_user(user: &str, i: usize) -> usize {
    let twin = message(user, 1, 700, true);
    let mut inbox: Vec<Seed> = (0..6)
        .map(|n| Seed {
            raw: message(user, 10 + n, 500 + 41 * n, n % 3 != 0),
            flags: ["", "S", "FS", "RS", "DS", "ST"][n],
            keywords: if n % 2 == 0 { vec!["$Label1"] } else { vec!["$Label1", "Work"] },
            date: 1_104_537_600 + (i * 7 + n) as i64 * 86_400 * 30,
        })
        .collect();
    inbox.push(Seed { raw: twin.clone(), flags: "S", keywords: vec![], date: 1_300_000_000 });
    inbox.push(Seed { raw: twin, flags: "S", keywords: vec![], date: 1_300_000_000 });
    seed(user, "INBOX", &inbox);
    let sent = Seed { raw: message(user, 100, 900, true), flags: "S", keywords: vec![], date: 1_500_000_000 };
    seed(user, "Sent Items", &[sent]);
    let mut n = inbox.len() + 1;
    for (k, folder) in ["Projects/2026/Entwürfe", "Проекты", "日本語", "v1.2"].iter().enumerate() {
        if (i + k).is_multiple_of(2) {
            let m = Seed {
                raw: message(user, 200 + k, 600, true),
                flags: "S",
                keywords: vec!["Work"],
                date: 1_700_000_000,
            };
            seed(user, folder, &[m]);
            n += 1;
        }
    }
    n
}

/// `n` pairs of source and destination users, the sources seeded; and how many messages.
fn seed_users(run: &str, n: usize) -> (Vec<(String, String)>, usize) {
    let users: Vec<(String, String)> =
        (0..n).map(|i| (format!("{run}u{i}@{DOMAIN}"), format!("{run}n{i}@{DOMAIN}"))).collect();
    let expected = users.iter().enumerate().map(|(i, (src, _))| seed_user(src, i)).sum();
    (users, expected)
}

fn assert_clean(code: i32, lines: &[serde_json::Value]) {
    assert_eq!(code, 0, "{lines:?}");
    for m in mailboxes(lines) {
        let v = &m["verify"];
        assert_eq!(m["status"], "ok", "{m}");
        assert_eq!(
            (&v["missing"], &v["duplicated"], &v["flag_mismatches"], &v["date_mismatches"]),
            (&0.into(), &0.into(), &0.into(), &0.into()),
            "{m}"
        );
    }
}

fn copied(lines: &[serde_json::Value]) -> u64 {
    summary(lines)["copied"].as_u64().expect("copied")
}

#[test]
fn old_dovecots_store_read_as_maildirs_moves_as_imap_would() {
    if !up() {
        return;
    }
    let run = prefix("md");
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let (users, expected) = seed_users(&run, 10);
    let file = users_file(dir.path(), &users, None);
    let new = format!("imaps://{}", NEW.0);
    let (code, lines) = migrate_urls(OLD_STORE, &new, &["--jobs", "4"], &file, &state);
    assert_clean(code, &lines);
    assert_eq!(copied(&lines), expected as u64);

    // Dovecot serving old's store and new agree message by message: what the Maildir reader
    // saw (flags, keywords, dates, folder names) is what old's IMAP shows.
    let (code, proof) = migrate(&["verify", "--jobs", "4"], &file, &dir.path().join("proof"));
    assert_clean(code, &proof);
    let sources: u64 = mailboxes(&proof).iter().map(|m| m["verify"]["source"].as_u64().expect("n")).sum();
    assert_eq!(sources, expected as u64);
    let folders = doveadm(NEW.1, &["mailbox", "list", "-u", &users[0].1]);
    assert!(folders.contains("Projects.2026.Entwürfe") && folders.contains("日本語"), "{folders}");
    let folders = doveadm(NEW.1, &["mailbox", "list", "-u", &users[1].1]);
    assert!(folders.contains("Проекты") && folders.contains("v1_2"), "a dot in a name is no level: {folders}");
    let sent = doveadm(NEW.1, &["fetch", "-u", &users[1].1, "flags", "mailbox", "Sent"]);
    assert_eq!(sent.matches("flags:").count(), 1, "Sent Items went to \\Sent: {sent}");

    // A rerun copies nothing; a delta (a new message, a flag set on old) copies one and
    // updates one.
    let (code, lines) = migrate_urls(OLD_STORE, &new, &["--no-verify"], &file, &state);
    assert_eq!((code, copied(&lines)), (0, 0), "{lines:?}");
    let late = Seed { raw: message(&users[3].0, 500, 800, true), flags: "", keywords: vec![], date: 1_750_000_000 };
    seed(&users[3].0, "INBOX", &[late]);
    let cur = old_folder(&users[3].0, "INBOX").join("cur");
    let unseen = std::fs::read_dir(&cur)
        .expect("cur")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(":2,a"))
        .expect("a message with only $Label1");
    let flagged = unseen.to_string_lossy().replace(":2,a", ":2,Fa");
    std::fs::rename(&unseen, flagged).expect("flag it");
    let (code, lines) = migrate_urls(OLD_STORE, &new, &[], &file, &state);
    assert_clean(code, &lines);
    assert_eq!(copied(&lines), 1);
    let updated: u64 = mailboxes(&lines)
        .iter()
        .flat_map(|m| m["folders"].as_array().expect("folders").iter())
        .map(|f| f["flags_updated"].as_u64().expect("n"))
        .sum();
    assert_eq!(updated, 1);
    let (code, proof) = migrate(&["verify", "--jobs", "4"], &file, &dir.path().join("proof"));
    assert_clean(code, &proof);
}

#[test]
fn imap_written_into_new_dovecots_store_is_what_dovecot_serves() {
    if !up() {
        return;
    }
    let run = prefix("mw");
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let (users, expected) = seed_users(&run, 10);
    // Subscribed on old (Dovecot's file, version 2: a tab between levels).
    let subs = old_folder(&users[0].0, "INBOX").join("subscriptions");
    std::fs::write(&subs, "V\t2\n\nProjects\t2026\tEntw&APw-rfe\n").expect("subscriptions");
    chown_all(&subs, vmail());
    let file = users_file(dir.path(), &users, None);
    let old = format!("imaps://{}", OLD.0);
    let (code, lines) = migrate_urls(&old, NEW_STORE, &["--jobs", "4"], &file, &state);
    assert_clean(code, &lines);
    assert_eq!(copied(&lines), expected as u64);

    // Run as root into vmail's tree: what was created belongs to vmail, or Dovecot could not
    // read it.
    let (local, _) = users[0].1.split_once('@').expect("@");
    let root = Path::new("/var/mail/mig-new").join(DOMAIN).join(local).join("Maildir");
    {
        use std::os::unix::fs::MetadataExt;
        let file = std::fs::read_dir(root.join("cur")).expect("cur").flatten().next().expect("a message");
        let vmail = vmail();
        let m = file.metadata().expect("meta");
        assert_eq!((m.uid(), m.gid()), vmail);
        assert_eq!(std::fs::metadata(&root).expect("root").uid(), vmail.0);
    }

    // New Dovecot serves exactly the old messages, flags, keywords and dates.
    let (code, proof) = migrate(&["verify", "--jobs", "4"], &file, &dir.path().join("proof"));
    assert_clean(code, &proof);
    for m in mailboxes(&proof) {
        assert_eq!(m["verify"]["source"], m["verify"]["dest"], "{m}");
    }
    let folders = doveadm(NEW.1, &["mailbox", "list", "-u", &users[0].1]);
    assert!(folders.contains("Projects.2026.Entwürfe") && folders.contains("日本語"), "{folders}");
    let folders = doveadm(NEW.1, &["mailbox", "list", "-u", &users[1].1]);
    assert!(folders.contains("Проекты") && folders.contains("v1_2"), "a dot in a name is no level: {folders}");
    let subscribed = doveadm(NEW.1, &["mailbox", "list", "-s", "-u", &users[0].1]);
    assert!(subscribed.contains("Sent") && subscribed.contains("Projects.2026.Entwürfe"), "{subscribed}");
    let inbox = doveadm(NEW.1, &["fetch", "-u", &users[0].1, "flags", "mailbox", "INBOX"]);
    assert_eq!(inbox.matches("Work").count(), 3, "{inbox}");

    // A rerun, after Dovecot has had the Maildirs, copies nothing.
    let (code, lines) = migrate_urls(&old, NEW_STORE, &[], &file, &state);
    assert_clean(code, &lines);
    assert_eq!(copied(&lines), 0);
}

#[test]
fn killed_while_writing_maildirs_then_rerun_loses_and_doubles_nothing() {
    if !up() {
        return;
    }
    let run = prefix("mk");
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let mut users = Vec::new();
    for i in 0..4 {
        let (src, dst) = (format!("{run}u{i}@{DOMAIN}"), format!("{run}n{i}"));
        let msgs: Vec<Seed> = (0..300)
            .map(|n| Seed {
                raw: message(&src, n % 290, 3000, n % 4 != 0),
                flags: ["S", "", "F"][n % 3],
                keywords: if n % 7 == 0 { vec!["$Label2"] } else { vec![] },
                date: 1_600_000_000 + n as i64,
            })
            .collect();
        seed(&src, "INBOX", &msgs);
        users.push((src, dst));
    }
    let file = users_file(dir.path(), &users, None);
    let to = format!("maildir:{}/%u", dir.path().join("out").display());
    let old = format!("imaps://{}", OLD.0);
    let mut kills = 0;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..10 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut child = Command::new(env!("CARGO_BIN_EXE_mailwright"))
            .args(["migrate", "--from", &old, "--to", &to, "--users"])
            .arg(&file)
            .arg("--state")
            .arg(&state)
            .args(["--ca-file", CA, "--json", "--no-verify", "--jobs", "4"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("migrate");
        std::thread::sleep(Duration::from_millis(100 + x % 700));
        if child.try_wait().expect("wait").is_none() {
            child.kill().expect("kill -9");
            kills += 1;
        }
        let _ = child.wait();
    }
    assert!(kills >= 7, "only {kills} runs were still going when killed");
    let (code, lines) = migrate_urls(&old, &to, &["--jobs", "4"], &file, &state);
    assert_clean(code, &lines);
    for m in mailboxes(&lines) {
        assert_eq!((m["verify"]["source"].as_u64(), m["verify"]["dest"].as_u64()), (Some(300), Some(300)), "{m}");
    }
}

/// A Maildir++ account written by hand: `(folder, file name, bytes, mtime)`.
fn write_maildir(root: &Path, files: &[(&str, &str, &[u8], i64)]) {
    for (folder, name, bytes, date) in files {
        let dir = if *folder == "INBOX" { root.to_path_buf() } else { root.join(format!(".{folder}")) };
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
        }
        let sub = if name.contains(":2,") { "cur" } else { "new" };
        let path = dir.join(sub).join(name);
        std::fs::write(&path, bytes).expect("write");
        let when = std::time::UNIX_EPOCH + Duration::from_secs(*date as u64);
        std::fs::File::options().write(true).open(&path).expect("open").set_modified(when).expect("mtime");
    }
}

fn local(args: &[&str], users: &Path, state: &Path) -> (i32, Vec<serde_json::Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mailwright"))
        .arg("migrate")
        .args(args)
        .arg("--users")
        .arg(users)
        .arg("--state")
        .arg(state)
        .arg("--json")
        .output()
        .expect("migrate");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    (out.status.code().unwrap_or(-1), lines, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn users(dir: &Path, lines: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("users.csv");
    std::fs::write(&path, lines).expect("users");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

#[test]
fn maildir_to_maildir_keeps_everything_and_refuses_what_would_escape_or_be_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    let keywords = |folder: &Path| std::fs::write(folder.join("dovecot-keywords"), "0 $Label1\n1 Work\n").expect("kw");
    write_maildir(
        &src.join("ann"),
        &[
            ("INBOX", "1.a.host:2,Sa", b"Subject: one\r\n\r\n1\r\n", 1_200_000_000),
            ("INBOX", "2.b.host:2,", b"Subject: two\r\n\r\n2\r\n", 1_200_000_100),
            ("INBOX", "3.c.host", b"Subject: new\r\n\r\n3\r\n", 1_200_000_200),
            ("INBOX", "4.d.host:2,PS", b"Subject: passed\r\n\r\n4\r\n", 1_200_000_300),
            ("Sent Items", "5.e.host:2,S", b"Subject: sent\r\n\r\n5\r\n", 1_200_000_400),
            ("Lists.r&APw-st", "6.f.host:2,Fb", b"Subject: list\r\n\r\n6\r\n", 1_200_000_500),
        ],
    );
    keywords(&src.join("ann"));
    keywords(&src.join("ann/.Lists.r&APw-st"));
    std::fs::write(src.join("ann/subscriptions"), "V\t2\n\nLists\tr&APw-st\nSent Items\n").expect("subs");
    write_maildir(&src.join("bob"), &[("INBOX", "1.x.host:2,S", b"Subject: bob\r\n\r\n", 1_300_000_000)]);
    let state = dir.path().join("state");
    let out = dir.path().join("out");
    let from = format!("maildir:{}/%n", src.display());
    let to = format!("maildir:{}/%n/Maildir:LAYOUT=fs", out.display());

    let file = users(dir.path(), "ann@x.test,,ann@y.test,\nbob@x.test,,bob@y.test,\n");
    let (code, lines, err) = local(&["--from", &from, "--to", &to], &file, &state);
    assert_clean(code, &lines);
    assert_eq!(copied(&lines), 7, "{err}");
    let ann = out.join("ann/Maildir");
    assert!(ann.join("Sent/cur").is_dir(), "Sent Items goes to the usual Sent");
    assert!(ann.join("Lists/r&APw-st/cur").is_dir(), "names are modified UTF-7 on disk");
    let subs = std::fs::read_to_string(ann.join("subscriptions")).expect("subscriptions");
    assert!(subs.contains("Lists\tr&APw-st") && subs.contains("Sent"), "{subs}");
    let names: Vec<String> = std::fs::read_dir(ann.join("cur"))
        .expect("cur")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(":2,Sb")), "$Forwarded (P) is a keyword there: {names:?}");
    let (code, lines, _) = local(&["--from", &from, "--to", &to], &file, &state);
    assert_clean(code, &lines);
    assert_eq!(copied(&lines), 0);

    // The destination as the source (the rollback's direction) proves the same.
    let (code, lines, _) = local(&["verify", "--from", &from, "--to", &to], &file, &state);
    assert_clean(code, &lines);

    // A user whose name would leave the root: refused before anything runs.
    let file = users(dir.path(), "ann@x.test,,../../etc@y.test,\n");
    let (code, _, err) = local(&["--from", &from, "--to", &to], &file, &state);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot be part of a path"), "{err}");
    assert!(!dir.path().join("etc").exists());

    // A source that is not there, and a file the reader cannot name: those mailboxes fail,
    // loudly; the others move.
    write_maildir(&src.join("cat"), &[("INBOX", "1.y.host:2,S", b"Subject: cat\r\n\r\n", 1_300_000_000)]);
    std::fs::write(src.join("cat/cur/2.z\nhost:2,S"), b"Subject: bad name\r\n\r\n").expect("write");
    let file = users(dir.path(), "nobody@x.test,,n@y.test,\ncat@x.test,,cat@y.test,\nbob@x.test,,bob2@y.test,\n");
    let (code, lines, _) = local(&["--from", &from, "--to", &to], &file, &state);
    assert_eq!(code, 75, "{lines:?}");
    let mut done = mailboxes(&lines);
    done.sort_by_key(|m| m["line"].as_u64());
    let by_user: Vec<(String, String)> = done
        .iter()
        .map(|m| (m["source_user"].as_str().expect("u").to_string(), m["status"].as_str().expect("s").to_string()))
        .collect();
    assert_eq!(
        by_user,
        [
            ("nobody@x.test".into(), "failed".into()),
            ("cat@x.test".into(), "failed".into()),
            ("bob@x.test".into(), "ok".into())
        ]
    );
    let errors: Vec<&str> = done.iter().filter_map(|m| m["error"].as_str()).collect();
    assert!(errors[0].contains("no Maildir") && errors[1].contains("control character"), "{errors:?}");
}
