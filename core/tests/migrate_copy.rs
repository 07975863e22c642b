//! `mailwright migrate` between the old and new Dovecot of `scripts/mail-servers`: 100 mailboxes
//! with folders in several scripts, flags, keywords, dates over twenty years, true duplicates,
//! messages sharing a Message-ID, messages with neither Message-ID nor Received; then a rerun
//! that copies nothing, a delta, a source UIDVALIDITY reset, a wrong password for one user,
//! and kill -9 at random instants followed by a rerun: every message once, proven by
//! `migrate verify`.

use std::process::{Command, Stdio};
use std::time::Duration;

mod migrate_support;
use migrate_support::*;

/// Seeds user `i` of a run: INBOX, Sent Items and folders named in three scripts.
fn seed_user(user: &str, i: usize, per_folder: usize) -> usize {
    let year = 365 * 24 * 3600;
    let inbox: Vec<Seed> = (0..per_folder)
        .map(|n| Seed {
            raw: message(user, n, 600 + 37 * n, true),
            flags: ["", "S", "FS", "RS"][n % 4],
            keywords: if n % 3 == 0 { vec!["$Label1"] } else { vec![] },
            date: 1_104_537_600 + ((i + n) % 20) as i64 * year + n as i64 * 3600,
        })
        .collect();
    seed(user, "INBOX", &inbox);
    let sent: Vec<Seed> = (0..2)
        .map(|n| Seed { raw: message(user, 100 + n, 900, true), flags: "S", keywords: vec![], date: 1_500_000_000 })
        .collect();
    seed(user, "Sent Items", &sent);
    let mut n = inbox.len() + sent.len();
    for (k, folder) in ["Projects/2026/Entwürfe", "Проекты", "日本語"].iter().enumerate() {
        if (i + k).is_multiple_of(2) {
            let m = Seed {
                raw: message(user, 200 + k, 700, true),
                flags: "S",
                keywords: vec!["$Work"],
                date: 1_700_000_000,
            };
            seed(user, folder, &[m]);
            n += 1;
        }
    }
    n
}

/// The hard cases, in one mailbox: what imapsync loses.
fn seed_hard(user: &str) -> usize {
    let twin = message(user, 1, 800, true);
    let no_id = message(user, 2, 800, false);
    let same_id_a = message(user, 3, 800, true);
    let mut same_id_b = same_id_a.clone();
    // Same Message-ID and size, one byte of the body different.
    let last = same_id_b.len() - 3;
    same_id_b[last] = b'!';
    let s = |raw: Vec<u8>, flags| Seed { raw, flags, keywords: vec!["$Label1", "Urgent"], date: 1_262_304_000 };
    let all = vec![
        s(twin.clone(), "S"),
        s(twin, "S"),
        s(no_id.clone(), ""),
        s(no_id, "F"),
        s(same_id_a, "S"),
        s(same_id_b, "S"),
    ];
    seed(user, "INBOX", &all);
    all.len()
}

fn status_counts(lines: &[serde_json::Value]) -> (u64, u64, u64) {
    let s = summary(lines);
    (s["ok"].as_u64().unwrap_or(0), s["copied"].as_u64().unwrap_or(0), s["mailboxes"].as_u64().unwrap_or(0))
}

fn assert_clean(lines: &[serde_json::Value]) {
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

#[test]
fn a_hundred_mailboxes_move_whole_and_reruns_copy_only_what_is_new() {
    if !up() {
        return;
    }
    let run = prefix("m");
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let mut users = Vec::new();
    let mut counts = Vec::new();
    for i in 0..100 {
        let (src, dst) = (format!("{run}u{i}@{DOMAIN}"), format!("{run}n{i}@{DOMAIN}"));
        counts.push(if i == 0 { seed_hard(&src) } else { seed_user(&src, i, 5) });
        users.push((src, dst));
    }
    let expected: usize = counts.iter().sum();
    let wrong = users[7].0.clone();
    let file = users_file(dir.path(), &users, Some(&wrong));

    // First copy: all but the one whose password is wrong; that one fails alone, exit 69.
    let (code, lines) = migrate(&["--jobs", "4"], &file, &state);
    let refused: Vec<_> = mailboxes(&lines).into_iter().filter(|m| m["status"] == "login-refused").collect();
    assert_eq!((code, refused.len()), (69, 1), "{lines:?}");
    assert_eq!(refused[0]["source_user"], wrong.as_str());
    let copied = status_counts(&lines).1 as usize;
    assert_eq!(copied, expected - counts[7]);
    for m in mailboxes(&lines).into_iter().filter(|m| m["status"] != "login-refused") {
        assert_eq!(m["status"], "ok", "{m}");
        assert_eq!(m["verify"]["missing"], 0, "{m}");
    }

    // Sent Items arrived in new's \Sent folder ("Sent"), keywords and all.
    let probe = &users[1].1;
    let sent = doveadm(NEW.1, &["fetch", "-u", probe, "flags", "mailbox", "Sent"]);
    assert_eq!(sent.matches("flags:").count(), 2, "{sent}");
    let inbox = doveadm(NEW.1, &["fetch", "-u", &users[0].1, "flags", "mailbox", "INBOX"]);
    assert_eq!(inbox.matches("$Label1").count(), 6, "true duplicates and shared Message-IDs all arrive: {inbox}");
    let folders = doveadm(NEW.1, &["mailbox", "list", "-u", &users[2].1]);
    assert!(folders.contains("Projects.2026.Entwürfe") && folders.contains("日本語"), "{folders}");
    let subscribed = doveadm(NEW.1, &["mailbox", "list", "-s", "-u", &users[2].1]);
    assert!(subscribed.contains("Sent"), "subscriptions follow: {subscribed}");

    // The password fixed: a rerun copies that mailbox and nothing else.
    let file = users_file(dir.path(), &users, None);
    let (code, lines) = migrate(&["--jobs", "4"], &file, &state);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(status_counts(&lines), (100, (expected - copied) as u64, 100));
    assert_clean(&lines);

    // Nothing new: nothing copied.
    let (code, lines) = migrate(&["--jobs", "4", "--no-verify"], &file, &state);
    assert_eq!((code, status_counts(&lines).1), (0, 0), "{lines:?}");

    // A delta (new mail and a flag changed on old), and a folder renumbered on old.
    seed(
        &users[3].0,
        "INBOX",
        &[Seed { raw: message("delta", 1, 900, true), flags: "", keywords: vec![], date: 1_750_000_000 }],
    );
    doveadm(OLD.1, &["flags", "add", "-u", &users[4].0, "\\Flagged", "mailbox", "INBOX", "1"]);
    reset_uidvalidity(&users[5].0, "INBOX");
    let (code, lines) = migrate(&["--jobs", "4"], &file, &state);
    assert_eq!((code, status_counts(&lines).1), (0, 1), "{lines:?}");
    assert_clean(&lines);
    let flagged = mailboxes(&lines).into_iter().find(|m| m["source_user"] == users[4].0.as_str()).expect("user 4");
    assert_eq!(flagged["folders"][0]["flags_updated"], 1, "{flagged}");

    // The proof on its own agrees.
    let (code, lines) = migrate(&["verify", "--jobs", "4"], &file, &state);
    assert_eq!(code, 0, "{lines:?}");
    assert_clean(&lines);
}

#[test]
fn killed_at_random_instants_then_rerun_loses_and_doubles_nothing() {
    if !up() {
        return;
    }
    let run = prefix("k");
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let mut users = Vec::new();
    for i in 0..8 {
        let (src, dst) = (format!("{run}u{i}@{DOMAIN}"), format!("{run}n{i}@{DOMAIN}"));
        let msgs: Vec<Seed> = (0..400)
            .map(|n| Seed {
                raw: message(&src, n % 380, 2000, n % 5 != 0),
                flags: "S",
                keywords: vec![],
                date: 1_600_000_000 + n as i64,
            })
            .collect();
        seed(&src, "INBOX", &msgs);
        users.push((src, dst));
    }
    let file = users_file(dir.path(), &users, None);
    let mut kills = 0;
    let mut seed_state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..12 {
        seed_state ^= seed_state << 13;
        seed_state ^= seed_state >> 7;
        seed_state ^= seed_state << 17;
        let after = Duration::from_millis(150 + seed_state % 900);
        let mut child = Command::new(env!("CARGO_BIN_EXE_mailwright"))
            .arg("migrate")
            .args(["--from", &format!("imaps://{}", OLD.0), "--to", &format!("imaps://{}", NEW.0)])
            .arg("--users")
            .arg(&file)
            .arg("--state")
            .arg(&state)
            .args(["--ca-file", CA, "--json", "--no-verify", "--jobs", "4"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("migrate");
        std::thread::sleep(after);
        if child.try_wait().expect("wait").is_none() {
            child.kill().expect("kill -9");
            kills += 1;
        }
        let _ = child.wait();
    }
    assert!(kills >= 10, "only {kills} runs were still going when killed");
    let (code, lines) = migrate(&["--jobs", "4"], &file, &state);
    assert_eq!(code, 0, "{lines:?}");
    assert_clean(&lines);
    for m in mailboxes(&lines) {
        assert_eq!((m["verify"]["source"].as_u64(), m["verify"]["dest"].as_u64()), (Some(400), Some(400)), "{m}");
    }
}

/// Sets (or replaces) a user's quota on new; Dovecot rereads the file when its mtime changes
/// (and at most once a second, while other tests log in).
fn set_quota(user: &str, size: &str) {
    let path = "/etc/mailwright-test/migrate-quota";
    std::thread::sleep(Duration::from_millis(1100));
    let text = std::fs::read_to_string(path).expect("quota file");
    let mut lines: Vec<String> =
        text.lines().filter(|l| !l.starts_with(&format!("{user}:"))).map(String::from).collect();
    lines.push(format!("{user}:::::::userdb_quota_rule=*:storage={size}"));
    let tmp = format!("{path}.new");
    std::fs::write(&tmp, lines.join("\n") + "\n").expect("write");
    std::fs::rename(&tmp, path).expect("rename");
    // Dovecot looks at the file at most once a second, at a lookup: wait until it has.
    let want = format!("storage={size}");
    for _ in 0..50 {
        if doveadm(NEW.1, &["user", "-u", user]).contains(&want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("new did not take the quota {size} for {user}");
}

#[test]
fn a_full_destination_stops_its_mailbox_alone_and_resumes_when_raised_and_30_mb_move_whole() {
    if !up() {
        return;
    }
    let run = prefix("q");
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let users: Vec<(String, String)> =
        (0..2).map(|i| (format!("{run}u{i}@{DOMAIN}"), format!("{run}n{i}@{DOMAIN}"))).collect();
    // The first: 20 messages of 100 kB into 1 MB. The second: one of 30 MiB and a small one.
    let many: Vec<Seed> = (0..20)
        .map(|n| Seed {
            raw: message(&users[0].0, n, 100_000, true),
            flags: "S",
            keywords: vec![],
            date: 1_400_000_000,
        })
        .collect();
    seed(&users[0].0, "INBOX", &many);
    let big =
        Seed { raw: message(&users[1].0, 0, 30 << 20, true), flags: "F", keywords: vec!["$Big"], date: 1_300_000_000 };
    let small = Seed { raw: message(&users[1].0, 1, 500, false), flags: "", keywords: vec![], date: 1_300_000_001 };
    seed(&users[1].0, "INBOX", &[big, small]);
    set_quota(&users[0].1, "1M");
    let file = users_file(dir.path(), &users, None);

    let (code, lines) = migrate(&["--jobs", "2"], &file, &state);
    assert_eq!(code, 73, "{lines:?}");
    let m = mailboxes(&lines);
    let full = m.iter().find(|m| m["source_user"] == users[0].0.as_str()).expect("first");
    let whole = m.iter().find(|m| m["source_user"] == users[1].0.as_str()).expect("second");
    assert_eq!(full["status"], "over-quota", "{full}");
    assert!(full["copied"].as_u64().expect("copied") < 20, "{full}");
    assert_eq!(
        (&whole["status"], &whole["verify"]["source"], &whole["verify"]["dest"]),
        (&"ok".into(), &2.into(), &2.into()),
        "{whole}"
    );

    set_quota(&users[0].1, "100M");
    let (code, lines) = migrate(&["--jobs", "2"], &file, &state);
    assert_eq!(code, 0, "{lines:?}");
    assert_clean(&lines);
    let full = mailboxes(&lines).into_iter().find(|m| m["source_user"] == users[0].0.as_str()).expect("first").clone();
    assert_eq!((&full["verify"]["source"], &full["verify"]["dest"]), (&20.into(), &20.into()), "{full}");
}

#[test]
fn a_dry_run_sizes_up_copies_nothing_and_estimates_from_the_last_rate() {
    if !up() {
        return;
    }
    let run = prefix("d");
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let users: Vec<(String, String)> =
        (0..2).map(|i| (format!("{run}u{i}@{DOMAIN}"), format!("{run}n{i}@{DOMAIN}"))).collect();
    for (src, _) in &users {
        let msgs: Vec<Seed> = (0..60)
            .map(|n| Seed { raw: message(src, n, 1000, true), flags: "S", keywords: vec![], date: 1_600_000_000 })
            .collect();
        seed(src, "INBOX", &msgs);
    }
    let file = users_file(dir.path(), &users, None);
    let (code, lines) = migrate(&["--dry-run"], &file, &state);
    assert_eq!(code, 0, "{lines:?}");
    let s = summary(&lines);
    assert_eq!(
        (&s["to_copy"], &s["copied"], &s["estimate_seconds"]),
        (&120.into(), &0.into(), &serde_json::Value::Null),
        "{s}"
    );
    assert!(s["to_copy_bytes"].as_u64().expect("bytes") >= 120_000, "{s}");
    for m in mailboxes(&lines) {
        assert_eq!((&m["messages"], &m["to_copy"]), (&60.into(), &60.into()), "{m}");
    }
    let new_inbox = doveadm(NEW.1, &["mailbox", "status", "-u", &users[0].1, "messages", "INBOX"]);
    assert!(new_inbox.contains("messages=0"), "a dry run copies nothing: {new_inbox}");

    let (code, lines) = migrate(&[], &file, &state);
    assert_eq!((code, status_counts(&lines).1), (0, 120), "{lines:?}");
    seed(
        &users[1].0,
        "INBOX",
        &[Seed { raw: message("late", 0, 5000, true), flags: "", keywords: vec![], date: 1_700_000_000 }],
    );
    let (code, lines) = migrate(&["--dry-run"], &file, &state);
    assert_eq!(code, 0, "{lines:?}");
    let s = summary(&lines);
    assert_eq!(s["to_copy"], 1, "{s}");
    assert!(s["estimate_seconds"].as_f64().is_some_and(|e| e > 0.0 && e < 60.0), "from the measured rate: {s}");
}
