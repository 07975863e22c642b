//! Mail written by mailwright is private whatever the umask: files 0600, folders 0700, as
//! Postfix and Dovecot keep mailboxes. One test in this binary, since the umask is per process.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

unsafe extern "C" {
    fn umask(mask: u32) -> u32;
}

/// Every file and folder below `root` (itself included) with a mode other than 0600 / 0700.
fn loose(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).expect("metadata");
        let mode = meta.permissions().mode() & 0o777;
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        if mode != want {
            out.push(format!("{} {mode:o}", p.display()));
        }
        if meta.is_dir() {
            stack.extend(std::fs::read_dir(&p).expect("read_dir").map(|e| e.expect("entry").path()));
        }
    }
    out
}

#[test]
fn mail_is_written_private_whatever_the_umask() {
    // SAFETY: umask only sets the process's file-creation mask.
    unsafe { umask(0) };
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = mailwright::sample::pdf("private", 2_000, 1);
    let raw = mailwright::sample::message_with_pdf("p.pdf", &pdf);

    let md = mailwright::mailbox::Maildir::create(dir.path().join("Maildir")).expect("maildir");
    md.deliver(&raw).expect("deliver");
    md.folder("Archive").expect("folder");
    assert_eq!(loose(&dir.path().join("Maildir")), Vec::<String>::new());

    let outbox = mailwright::inject::Outbox::open(dir.path().join("outbox")).expect("outbox");
    outbox.add_message(&raw).expect("add");
    assert_eq!(loose(&dir.path().join("outbox")), Vec::<String>::new());

    let msg = mailwright::Message::parse(&raw).expect("parse");
    mailwright::dissect(&msg, &mailwright::DissectOptions::new(dir.path().join("out/deep"))).expect("dissect");
    assert_eq!(loose(&dir.path().join("out")), Vec::<String>::new());

    let mbox = dir.path().join("mbox");
    mailwright::mailbox::Mbox::new(&mbox).append("a@example.org", &raw).expect("append");
    assert_eq!(loose(&mbox), Vec::<String>::new());
}
