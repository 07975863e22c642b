//! Two-way flags (`--flags two-way`, `--expunge`) against the test Dovecot, which has CONDSTORE
//! and UIDPLUS: flags changed on either side reach the other, the side that changed a flag wins,
//! an unchanged folder costs one command, and deletions cross over only when asked.

use std::path::{Path, PathBuf};
use std::process::Command;

use mailwright::fetch::{Fetcher, FlagMode, FolderReport};

mod imap_support;
use imap_support::{CA, MAIN, USER, config};

/// The local file of `uid` in a synced Maildir folder.
fn file_of(dir: &Path, uid: u32) -> Option<PathBuf> {
    for sub in ["new", "cur"] {
        for e in std::fs::read_dir(dir.join(sub)).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.split(':').next().is_some_and(|base| base.ends_with(&format!("-{uid}"))) {
                return Some(e.path());
            }
        }
    }
    None
}

/// The info letters of `uid`'s file ("" in new/).
fn local_flags(dir: &Path, uid: u32) -> String {
    let path = file_of(dir, uid).unwrap_or_else(|| panic!("no file for uid {uid}"));
    let name = path.file_name().expect("name").to_string_lossy().into_owned();
    name.split_once(":2,").map(|(_, i)| i.to_string()).unwrap_or_default()
}

/// Gives `uid`'s file these info letters, as a mail reader would.
fn set_local(dir: &Path, uid: u32, letters: &str) {
    let path = file_of(dir, uid).expect("file");
    let name = path.file_name().expect("name").to_string_lossy().into_owned();
    let base = name.split(':').next().expect("base");
    std::fs::rename(&path, dir.join("cur").join(format!("{base}:2,{letters}"))).expect("rename");
}

/// The server's flags of each UID in `folder`, system flags only, as Maildir letters.
fn server_flags(folder: &str) -> Vec<(u32, String)> {
    let (ok, out, err) = MAIN.doveadm_output(&["-f", "tab", "fetch", "-u", USER, "uid flags", "mailbox", folder], None);
    assert!(ok, "doveadm fetch: {err}");
    let mut got = Vec::new();
    for line in out.lines().skip(1) {
        let (uid, flags) = line.split_once('\t').unwrap_or((line, ""));
        let f = mailwright::fetch::Flags::from_imap(flags.split_whitespace());
        got.push((uid.trim().parse().expect("uid"), f.letters()));
    }
    got
}

fn flag(op: &str, name: &str, folder: &str, uid: u32) {
    MAIN.doveadm(&["flags", op, "-u", USER, name, "mailbox", folder, "uid", &uid.to_string()], None);
}

fn two_way(expunge: bool) -> mailwright::fetch::ImapConfig {
    let mut c = config("imaps://127.0.0.1");
    c.flags = FlagMode::TwoWay;
    c.expunge = expunge;
    c
}

fn sync(root: &Path, folder: &str, expunge: bool) -> FolderReport {
    let mut f = Fetcher::connect(two_way(expunge), root).expect("connect");
    let r = f.sync_folder(folder, |_| {}).expect("sync");
    f.logout();
    r
}

#[test]
fn flags_cross_both_ways_and_the_side_that_changed_wins() {
    if !MAIN.up() {
        return;
    }
    let name = MAIN.folder("flags", 6, 500);
    flag("add", "\\Flagged", &name, 1);
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join(format!(".{name}"));

    let r = sync(root.path(), &name, false);
    assert_eq!(r.fetched, 6);
    assert_eq!(local_flags(&dir, 1), "F", "arrives with its server flags, in cur/");
    assert!(file_of(&dir, 2).expect("2").parent().expect("sub").ends_with("new"), "no flags: new/");
    let f = r.flags.expect("flag report");
    assert_eq!((f.to_server, f.to_local), (0, 0));
    let again = sync(root.path(), &name, false);
    assert_eq!(again.commands, 1, "an unchanged folder costs its SELECT: {again:?}");
    assert!(again.flags.expect("flags").condstore);

    // Here: 2 read, 3 replied and read, 5 flagged. There: 4 read, 1 unflagged, 5 read.
    set_local(&dir, 2, "S");
    set_local(&dir, 3, "RS");
    set_local(&dir, 5, "F");
    flag("add", "\\Seen", &name, 4);
    flag("remove", "\\Flagged", &name, 1);
    flag("add", "\\Seen", &name, 5);
    let r = sync(root.path(), &name, false);
    let f = r.flags.expect("flags");
    assert_eq!((f.to_server, f.to_local), (3, 3), "{f:?}");
    let want = [(1, ""), (2, "S"), (3, "RS"), (4, "S"), (5, "FS"), (6, "")];
    let server = server_flags(&name);
    for (uid, letters) in want {
        assert_eq!(local_flags(&dir, uid), letters, "uid {uid} here");
        assert!(server.contains(&(uid, letters.to_string())), "uid {uid} there: {server:?}");
    }
    // Our own stores come back once as changes that change nothing; then one command again.
    let r = sync(root.path(), &name, false);
    assert_eq!(r.flags.as_ref().map(|f| (f.to_server, f.to_local)), Some((0, 0)), "{r:?}");
    assert_eq!(sync(root.path(), &name, false).commands, 1);

    // Changed on both sides, each a different flag; and a new message that arrives read.
    set_local(&dir, 4, "DS");
    flag("add", "\\Answered", &name, 4);
    MAIN.add(&name, 6, 1, 300);
    flag("add", "\\Seen", &name, 7);
    let r = sync(root.path(), &name, false);
    assert_eq!(r.fetched, 1);
    assert_eq!(local_flags(&dir, 4), "DRS");
    assert_eq!(local_flags(&dir, 7), "S");
    assert!(server_flags(&name).contains(&(4, "DRS".into())));

    // Without its base (the state file lost), a flag set on either side is set on both.
    for e in std::fs::read_dir(root.path().join(".mailwright-sync")).expect("state").flatten() {
        if e.file_name().to_string_lossy().ends_with(".flags.json") {
            std::fs::remove_file(e.path()).expect("remove");
        }
    }
    set_local(&dir, 6, "F");
    flag("remove", "\\Seen", &name, 2);
    flag("add", "\\Seen", &name, 6);
    let r = sync(root.path(), &name, false);
    assert!(!r.flags.expect("flags").condstore, "no base: every flag was asked for");
    assert_eq!(local_flags(&dir, 6), "FS");
    assert_eq!(local_flags(&dir, 2), "S", "unset there, set here: set");
    assert!(server_flags(&name).contains(&(2, "S".into())));

    // The CLI says what it did; --expunge alone is a usage error.
    set_local(&dir, 1, "S");
    let out = Command::new(env!("CARGO_BIN_EXE_mailwright"))
        .args(["fetch", "--imap", "imaps://127.0.0.1", "--user", USER, "--ca-file", CA, "--folder", &name])
        .args(["--flags", "two-way", "--maildir"])
        .arg(root.path())
        .env("MAILWRIGHT_PASSWORD", "bobpw")
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("flags: 1 to the server, 0 here"), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_mailwright"))
        .args(["fetch", "--imap", "imaps://127.0.0.1", "--user", USER, "--expunge", "--maildir"])
        .arg(root.path())
        .env("MAILWRIGHT_PASSWORD", "bobpw")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn deletions_cross_only_with_expunge() {
    if !MAIN.up() {
        return;
    }
    let name = MAIN.folder("expunge", 5, 300);
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join(format!(".{name}"));
    assert_eq!(sync(root.path(), &name, false).fetched, 5);

    // Removed here, expunged there: without --expunge both stay where they are.
    std::fs::remove_file(file_of(&dir, 1).expect("1")).expect("remove");
    MAIN.doveadm(&["expunge", "-u", USER, "mailbox", &name, "uid", "2"], None);
    let r = sync(root.path(), &name, false);
    assert_eq!(r.flags.expect("flags").kept, 2);
    let uids: Vec<u32> = server_flags(&name).into_iter().map(|(u, _)| u).collect();
    assert_eq!(uids, vec![1, 3, 4, 5]);
    assert!(file_of(&dir, 2).is_some(), "kept here");
    // Nothing was fetched again.
    assert_eq!(sync(root.path(), &name, false).fetched, 0);

    // With --expunge: the deletion kept from before and a new one go to the server; a message
    // expunged there since loses its file here. The file kept for uid 2 stays: it was no
    // longer synced.
    std::fs::remove_file(file_of(&dir, 3).expect("3")).expect("remove");
    MAIN.doveadm(&["expunge", "-u", USER, "mailbox", &name, "uid", "4"], None);
    let r = sync(root.path(), &name, true);
    let f = r.flags.expect("flags");
    assert_eq!((f.expunged, f.removed, f.kept), (2, 1, 0), "{f:?}");
    let uids: Vec<u32> = server_flags(&name).into_iter().map(|(u, _)| u).collect();
    assert_eq!(uids, vec![5]);
    assert!(file_of(&dir, 4).is_none() && file_of(&dir, 2).is_some() && file_of(&dir, 5).is_some());
    // The expunge moved the folder's HIGHESTMODSEQ: one look at what changed, then nothing.
    assert_eq!(sync(root.path(), &name, true).commands, 2);
    let again = sync(root.path(), &name, true);
    assert_eq!((again.fetched, again.commands), (0, 1), "{again:?}");
}
