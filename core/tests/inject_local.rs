//! Local transports: Maildir, mbox and a sendmail pipe, with envelopes kept apart from headers.

use mailwright::Message;
use mailwright::build::MessageBuilder;
use mailwright::inject::{
    Envelope, InjectError, MaildirTransport, MboxTransport, RecipientStatus, SendmailTransport, Transport,
};

fn sample() -> Vec<u8> {
    MessageBuilder::new()
        .from("Jane <jane@example.org>")
        .to("bot@example.org")
        .subject("report")
        .text("see attached")
        .attach_bytes("r.pdf", mailwright::sample::pdf("x", 2000, 1))
        .build()
        .expect("build")
}

#[test]
fn maildir_delivery_is_byte_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = sample();
    let env = Envelope::new("jane@example.org", ["bot@example.org"]).expect("envelope");
    let receipt = MaildirTransport::new(dir.path().join("Maildir")).send_raw(&env, &raw).expect("deliver");
    assert_eq!(receipt.transport, "maildir");
    assert_eq!(receipt.recipients[0].status, RecipientStatus::Accepted);
    let files: Vec<_> = std::fs::read_dir(dir.path().join("Maildir/new")).expect("new").flatten().collect();
    assert_eq!(files.len(), 1);
    assert_eq!(Some(files[0].file_name().to_string_lossy().into_owned()), receipt.queue_id);
    assert_eq!(std::fs::read(files[0].path()).expect("read"), raw);
}

#[test]
fn bcc_is_in_the_envelope_not_the_message() {
    let raw = b"From: a@example.org\r\nTo: b@example.org\r\nBcc: secret@example.org,\r\n other@example.org\r\nSubject: s\r\n\r\nbody\r\n";
    let msg = Message::parse(raw).expect("parse");
    let env = Envelope::from_message(&msg).expect("envelope");
    assert_eq!(env.to(), ["b@example.org", "secret@example.org", "other@example.org"]);
    let dir = tempfile::tempdir().expect("tempdir");
    MaildirTransport::new(dir.path()).send(raw).expect("send");
    let file = std::fs::read_dir(dir.path().join("new")).expect("new").flatten().next().expect("file");
    let delivered = std::fs::read(file.path()).expect("read");
    assert_eq!(delivered, b"From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\n\r\nbody\r\n");
}

#[test]
fn envelopes_refuse_what_would_change_a_command_line() {
    assert!(matches!(Envelope::new("a@example.org", Vec::<String>::new()), Err(InjectError::NoRecipients)));
    for bad in ["-oQ/tmp@x", "a b@x", "a\r\n@x", "<a@x>"] {
        assert!(matches!(Envelope::new("a@example.org", [bad]), Err(InjectError::BadAddress(_))), "{bad:?}");
    }
    let no_to = b"From: a@example.org\r\nSubject: s\r\n\r\nx";
    let msg = Message::parse(no_to).expect("parse");
    assert!(matches!(MaildirTransport::new("/nonexistent").send(msg.raw()), Err(InjectError::NoRecipients)));
}

#[test]
fn mbox_appends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inbox.mbox");
    let mut t = MboxTransport::new(&path);
    let raw = sample();
    let first = t.send(&raw).expect("append");
    let second = t.send(&raw).expect("append");
    assert_eq!(first.queue_id.as_deref(), Some("0"));
    let text = std::fs::read(&path).expect("read");
    let off: usize = second.queue_id.as_deref().expect("offset").parse().expect("number");
    assert!(text[off..].starts_with(b"From jane@example.org "));
    let separators = text.split(|&b| b == b'\n').filter(|l| l.starts_with(b"From jane@example.org ")).count();
    assert_eq!(separators, 2);
}

#[cfg(unix)]
#[test]
fn sendmail_gets_an_argument_vector_and_the_bytes() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("sendmail");
    let log = dir.path().join("args");
    let body = dir.path().join("body");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > {}\ncat > {}\nexit ${{EXIT:-0}}\n",
            log.display(),
            body.display()
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let env = Envelope::new("jane@example.org", ["b@example.org", "c@example.org"]).expect("envelope");
    let raw = sample();
    let mut t = SendmailTransport::with_program(script.to_string_lossy());
    t.send_raw(&env, &raw).expect("send");
    assert_eq!(
        std::fs::read_to_string(&log).expect("args"),
        "-i\n-f\njane@example.org\n--\nb@example.org\nc@example.org\n"
    );
    assert_eq!(std::fs::read(&body).expect("body"), raw);

    // Exit codes through a wrapper: 75 (EX_TEMPFAIL) is transient, anything else permanent.
    for (code, transient) in [("75", true), ("1", false)] {
        let wrapper = dir.path().join(format!("sendmail-{code}"));
        std::fs::write(&wrapper, format!("#!/bin/sh\nEXIT={code} exec {} \"$@\"\n", script.display()))
            .expect("wrapper");
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let err = SendmailTransport::with_program(wrapper.to_string_lossy()).send_raw(&env, &raw).expect_err("refused");
        assert_eq!(err.is_transient(), transient, "{err}");
    }
    let err = SendmailTransport::with_program("/nonexistent/sendmail").send_raw(&env, &raw).expect_err("missing");
    assert!(matches!(err, InjectError::Spawn { .. }) && err.is_permanent());
}
