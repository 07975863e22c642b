//! `mailwright build` and `mailwright send` as scripts use them: flags, exit codes 0/1/69/75,
//! header injection refused.

mod cli_support;

use std::process::Output;

use cli_support::mw;

fn one_line_error(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "{}", String::from_utf8_lossy(&o.stderr));
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(e.trim_end().lines().count(), 1, "{e:?}");
}

#[test]
fn build_writes_a_message_with_byte_exact_attachments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pdf = mailwright::sample::pdf("cli", 3000, 4);
    let att = dir.path().join("تقرير 2016 😀.pdf");
    std::fs::write(&att, &pdf).expect("write");
    let a = att.to_str().expect("utf8");
    let o = mw(
        &[
            "build",
            "--from",
            "Jane <jane@example.org>",
            "--to",
            "bot@example.org",
            "--bcc",
            "hidden@example.org",
            "--subject",
            "Résumé",
            "--text",
            "hi",
            "--attach",
            a,
            "--header",
            "X-Course: RSMS",
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let msg = mailwright::Message::parse(&o.stdout).expect("parse");
    assert_eq!(msg.subject(), Some("Résumé"));
    assert_eq!(msg.header_text("X-Course").as_deref(), Some("RSMS"));
    assert!(msg.bcc().is_empty());
    let p = msg.attachments().next().expect("attachment");
    assert_eq!((p.filename(), p.content_type()), (Some("تقرير 2016 😀.pdf"), "application/pdf"));
    assert_eq!(p.decoded(), &pdf[..]);
    let out = dir.path().join("m.eml");
    let o = mw(
        &[
            "build",
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--text",
            "x",
            "--out",
            out.to_str().expect("utf8"),
        ],
        None,
    );
    assert!(o.status.success() && out.exists());
}

#[test]
fn injection_through_flags_is_refused() {
    for args in [
        vec!["build", "--from", "a@example.org", "--to", "b@example.org", "--subject", "x\r\nBcc: v@example.org"],
        vec!["build", "--from", "a@example.org\nBcc: v@example.org", "--to", "b@example.org"],
        vec!["build", "--from", "a@example.org", "--to", "b@example.org\r\nX: y"],
        vec!["build", "--from", "a@example.org", "--to", "b@example.org", "--cc", "c@example.org\nX: y"],
        vec!["build", "--from", "a@example.org", "--to", "b@example.org", "--header", "X-A: b\r\nBcc: v@example.org"],
        vec!["build", "--from", "a@example.org", "--to", "b@example.org", "--header", "Bcc: v@example.org"],
        vec!["build", "--from", "a@example.org", "--to", "not an address"],
        vec!["send", "--maildir", "/tmp/never", "--from", "a@example.org", "--to", "-oQ/tmp/x@example.org"],
    ] {
        let o = mw(&args, None);
        one_line_error(&o, 1);
    }
}

#[test]
fn send_delivers_locally_and_keeps_bcc_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = dir.path().join("Maildir");
    let o = mw(
        &[
            "send",
            "--maildir",
            md.to_str().expect("utf8"),
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--bcc",
            "secret@example.org",
            "--text",
            "hi",
            "--json",
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["transport"], "maildir");
    assert_eq!(v["recipients"].as_array().expect("array").len(), 2);
    let f = std::fs::read_dir(md.join("new")).expect("new").flatten().next().expect("file");
    let raw = std::fs::read(f.path()).expect("read");
    assert!(!String::from_utf8_lossy(&raw).contains("secret@"));

    // A ready message from standard input, into an mbox.
    let mbox = dir.path().join("box");
    let o = mw(&["send", "-", "--mbox", mbox.to_str().expect("utf8")], Some(&raw));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_to_string(&mbox).expect("mbox").starts_with("From a@example.org "));

    one_line_error(&mw(&["send", "--from", "a@example.org", "--to", "b@example.org"], None), 1);
}

#[cfg(unix)]
#[test]
fn sendmail_exit_codes_map_to_75_and_69() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    for (code, want) in [(0, 0), (75, 75), (1, 69)] {
        let prog = dir.path().join(format!("sendmail-{code}"));
        std::fs::write(&prog, format!("#!/bin/sh\ncat > /dev/null\necho 'sendmail says {code}' >&2\nexit {code}\n"))
            .expect("script");
        std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let o = mw(
            &[
                "send",
                "--sendmail",
                "--sendmail-program",
                prog.to_str().expect("utf8"),
                "--from",
                "a@example.org",
                "--to",
                "b@example.org",
                "--text",
                "x",
            ],
            None,
        );
        assert_eq!(o.status.code(), Some(want), "{}", String::from_utf8_lossy(&o.stderr));
        if want != 0 {
            one_line_error(&o, want);
        }
    }
}
