//! SMTP submission against real servers on loopback, started by `scripts/mail-servers start`:
//! Postfix with Dovecot SASL (587 STARTTLS, 465 implicit TLS) and smtp-sink (no TLS). Without
//! them the tests skip loudly; under `CI=true` they fail.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mailwright::Message;
use mailwright::build::MessageBuilder;
use mailwright::inject::{Envelope, RecipientStatus, SmtpConfig, SmtpError, SmtpTransport};

const CA: &str = "/etc/mailwright-test/tls/ca.pem";
const MAILBOXES: &str = "/var/mail/vhosts/example.test";

fn servers_up() -> bool {
    let up = TcpStream::connect_timeout(&"127.0.0.1:587".parse().expect("addr"), Duration::from_secs(1)).is_ok()
        && Path::new(CA).exists();
    if !up {
        let msg = "SKIPPED SMTP tests: no Postfix on 127.0.0.1:587 (run `scripts/mail-servers start` as root)";
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{msg}; CI must not skip");
        eprintln!("\n*** {msg} ***\n");
    }
    up
}

fn submission(port: u16, security: mailwright::inject::smtp::Security, password: &str) -> SmtpTransport {
    let mut c = SmtpConfig::from_url(&format!("smtp://127.0.0.1:{port}")).expect("url");
    c.security = security;
    c.ca_file = Some(PathBuf::from(CA));
    c.credentials = Some(("alice@example.test".into(), password.into()));
    c.reply_timeout = Duration::from_secs(20);
    SmtpTransport::new(c).expect("transport")
}

fn unique_subject(tag: &str) -> String {
    format!("{tag} {}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_nanos())
}

/// Waits (bounded) for a message with `subject` in `user`'s Maildir and returns its bytes.
fn delivered(user: &str, subject: &str) -> Vec<u8> {
    let dir = Path::new(MAILBOXES).join(user).join("new");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if let Ok(raw) = std::fs::read(e.path())
                    && Message::parse(&raw).is_ok_and(|m| m.subject() == Some(subject))
                {
                    return raw;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no message {subject:?} for {user} within 20 s");
}

#[test]
fn submission_with_starttls_and_auth_delivers_byte_exact() {
    if !servers_up() {
        return;
    }
    use mailwright::inject::smtp::Security;
    let subject = unique_subject("starttls");
    let pdf = mailwright::sample::pdf("smtp", 200_000, 3);
    let b = MessageBuilder::new()
        .from("alice@example.test")
        .to("bob@example.test")
        .subject(subject.clone())
        .text("Please print.\r\n.\r\n.. a line with dots\r\n")
        .attach_bytes("Résumé 季度 😀.pdf", pdf.clone());
    let env = b.envelope().expect("envelope");
    let raw = b.build().expect("build");
    let mut t = submission(587, Security::StartTls, "alicepw");
    let receipt = t.send_smtp(&env, &raw).expect("send");
    let tls = receipt.tls.clone().expect("TLS");
    assert!(tls.verified && tls.version.starts_with("TLSv1."), "{tls:?}");
    assert_eq!(receipt.peer.as_deref(), Some("127.0.0.1:587"));
    assert!(receipt.queue_id.as_ref().is_some_and(|q| q.len() >= 6), "{receipt:?}");
    assert_eq!(receipt.recipients[0].status, RecipientStatus::Accepted);
    assert_eq!(receipt.recipients[0].code, Some(250));

    let got = delivered("bob", &subject);
    let msg = Message::parse(&got).expect("parse");
    let text = msg.text().map(|t| t.replace("\r\n", "\n"));
    assert_eq!(
        text.as_deref(),
        Some("Please print.\n.\n.. a line with dots\n"),
        "dot-stuffing round trip (Postfix stores LF)"
    );
    let att = msg.attachments().next().expect("attachment");
    assert_eq!(att.filename(), Some("Résumé 季度 😀.pdf"));
    assert_eq!(att.decoded(), &pdf[..]);

    // One connection, many messages.
    for i in 0..20 {
        let raw = MessageBuilder::new()
            .from("alice@example.test")
            .to("bob@example.test")
            .subject(format!("{subject} #{i}"))
            .text("x")
            .build()
            .expect("build");
        t.send_smtp(&env, &raw).expect("send on the kept connection");
    }
    delivered("bob", &format!("{subject} #19"));
}

#[test]
fn implicit_tls_on_465() {
    if !servers_up() {
        return;
    }
    use mailwright::inject::smtp::Security;
    let subject = unique_subject("smtps");
    let raw = MessageBuilder::new()
        .from("alice@example.test")
        .to("bob@example.test")
        .subject(subject.clone())
        .text("x")
        .build()
        .expect("build");
    let env = Envelope::new("alice@example.test", ["bob@example.test"]).expect("envelope");
    let r = submission(465, Security::Implicit, "alicepw").send_smtp(&env, &raw).expect("send");
    assert!(r.tls.is_some_and(|t| t.verified));
    delivered("bob", &subject);
}

#[test]
fn wrong_password_is_an_authentication_error() {
    if !servers_up() {
        return;
    }
    use mailwright::inject::smtp::Security;
    let env = Envelope::new("alice@example.test", ["bob@example.test"]).expect("envelope");
    let err =
        submission(587, Security::StartTls, "wrong").send_smtp(&env, b"Subject: x\r\n\r\nx\r\n").expect_err("refused");
    match &err {
        SmtpError::Auth { reply } => assert_eq!(reply.code, 535),
        other => panic!("expected an authentication error, got {other}"),
    }
    assert!(err.is_permanent());
    assert!(!err.to_string().contains("wrong"), "the password never appears in errors");
}

#[test]
fn per_recipient_results_and_transient_or_permanent() {
    if !servers_up() {
        return;
    }
    use mailwright::inject::smtp::Security;
    let subject = unique_subject("mixed");
    let raw = MessageBuilder::new()
        .from("alice@example.test")
        .to("bob@example.test")
        .subject(subject.clone())
        .text("x")
        .build()
        .expect("build");
    let env = Envelope::new("alice@example.test", ["bob@example.test", "reject@example.test", "tempfail@example.test"])
        .expect("envelope");
    let mut t = submission(587, Security::StartTls, "alicepw");
    let r = t.send_smtp(&env, &raw).expect("partly accepted");
    let by: Vec<(RecipientStatus, Option<u16>, Option<String>)> =
        r.recipients.iter().map(|x| (x.status, x.code, x.enhanced_code.clone())).collect();
    assert_eq!(
        by,
        [
            (RecipientStatus::Accepted, Some(250), Some("2.1.5".into())),
            (RecipientStatus::Permanent, Some(550), Some("5.1.1".into())),
            (RecipientStatus::Transient, Some(450), Some("4.2.0".into())),
        ]
    );
    delivered("bob", &subject);

    let only_reject = Envelope::new("alice@example.test", ["reject@example.test"]).expect("envelope");
    let e = t.send_smtp(&only_reject, &raw).expect_err("refused");
    assert!(matches!(e, SmtpError::AllRecipientsRefused { .. }) && e.is_permanent(), "{e}");
    let only_temp = Envelope::new("alice@example.test", ["tempfail@example.test"]).expect("envelope");
    let e = t.send_smtp(&only_temp, &raw).expect_err("refused");
    assert!(e.is_transient(), "{e}");
    // The connection is still usable after refusals.
    t.send_smtp(&env, &raw).expect("send again");
}

#[test]
fn plaintext_server_is_refused_unless_allowed() {
    if !servers_up() {
        return;
    }
    let env = Envelope::new("a@example.test", ["b@example.test"]).expect("envelope");
    let mut c = SmtpConfig::from_url("smtp://127.0.0.4:2525").expect("url");
    c.reply_timeout = Duration::from_secs(10);
    let e =
        SmtpTransport::new(c.clone()).expect("t").send_smtp(&env, b"Subject: x\r\n\r\nx\r\n").expect_err("no STARTTLS");
    assert!(matches!(e, SmtpError::NoStartTls { .. }), "{e}");
    c.allow_plaintext = true;
    let r = SmtpTransport::new(c).expect("t").send_smtp(&env, b"Subject: x\r\n\r\nx\r\n").expect("plaintext allowed");
    assert!(r.tls.is_none());
}

#[test]
fn certificates_are_verified_unless_insecure() {
    if !servers_up() {
        return;
    }
    let env = Envelope::new("alice@example.test", ["bob@example.test"]).expect("envelope");
    let mut c = SmtpConfig::from_url("smtp://127.0.0.1:587").expect("url");
    c.credentials = Some(("alice@example.test".into(), "alicepw".into()));
    let e =
        SmtpTransport::new(c.clone()).expect("t").send_smtp(&env, b"Subject: x\r\n\r\nx\r\n").expect_err("unknown CA");
    assert!(matches!(e, SmtpError::Tls { .. }), "{e}");
    c.insecure = true;
    let r = SmtpTransport::new(c).expect("t").send_smtp(&env, b"Subject: insecure\r\n\r\nx\r\n").expect("insecure");
    assert!(r.tls.is_some_and(|t| !t.verified));
}

#[test]
fn nothing_listening_is_transient() {
    let env = Envelope::new("a@example.test", ["b@example.test"]).expect("envelope");
    let mut c = SmtpConfig::from_url("smtp://127.0.0.9:2599").expect("url");
    c.connect_timeout = Duration::from_secs(3);
    let e = SmtpTransport::new(c).expect("t").send_smtp(&env, b"x").expect_err("refused");
    assert!(matches!(e, SmtpError::Connect { .. } | SmtpError::Timeout { .. }) && e.is_transient(), "{e}");
}

#[test]
fn cli_send_over_smtp_and_its_exit_codes() {
    if !servers_up() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "alicepw\n").expect("write");
    let run = |extra: &[&str], env_pw: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mailwright"));
        cmd.args([
            "send",
            "--smtp",
            "smtp://127.0.0.1:587",
            "--ca-file",
            CA,
            "--from",
            "alice@example.test",
            "--text",
            "x",
        ])
        .args(extra);
        cmd.env_remove("MAILWRIGHT_PASSWORD");
        if let Some(p) = env_pw {
            cmd.env("MAILWRIGHT_PASSWORD", p);
        }
        cmd.output().expect("run")
    };
    let subject = unique_subject("cli");
    let o = run(
        &["--user", "alice@example.test", "--to", "bob@example.test", "--subject", &subject, "--json"],
        Some("alicepw"),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["tls"]["verified"], true);
    delivered("bob", &subject);
    let o = run(
        &["--user", "alice@example.test", "--password-file", pw.to_str().expect("utf8"), "--to", "bob@example.test"],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (extra, pwd, code) in [
        (vec!["--user", "alice@example.test", "--to", "bob@example.test"], Some("wrong"), 69),
        (vec!["--user", "alice@example.test", "--to", "tempfail@example.test"], Some("alicepw"), 75),
        (vec!["--user", "alice@example.test", "--to", "reject@example.test"], Some("alicepw"), 69),
        (
            vec!["--user", "alice@example.test", "--to", "bob@example.test", "--to", "tempfail@example.test"],
            Some("alicepw"),
            75,
        ),
        (vec!["--user", "alice@example.test", "--to", "bob@example.test"], None, 1),
    ] {
        let o = run(&extra, pwd);
        assert_eq!(o.status.code(), Some(code), "{extra:?}: {}", String::from_utf8_lossy(&o.stderr));
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!e.contains("alicepw") && !e.contains("wrong"), "no password in errors: {e}");
    }
    // No STARTTLS on the sink: permanent unless plaintext is allowed.
    let sink = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mailwright"))
            .args([
                "send",
                "--smtp",
                "smtp://127.0.0.4:2525",
                "--from",
                "a@example.test",
                "--to",
                "b@example.test",
                "--text",
                "x",
            ])
            .args(extra)
            .output()
            .expect("run")
    };
    assert_eq!(sink(&[]).status.code(), Some(69));
    assert_eq!(sink(&["--allow-plaintext"]).status.code(), Some(0));
}

#[test]
fn batches_pipeline_across_messages_and_keep_results_in_order() {
    if !servers_up() {
        return;
    }
    use mailwright::inject::smtp::Security;
    let subject = unique_subject("batch");
    let ok = Envelope::new("alice@example.test", ["bob@example.test"]).expect("envelope");
    let refused = Envelope::new("alice@example.test", ["reject@example.test"]).expect("envelope");
    let raws: Vec<Vec<u8>> = (0..12)
        .map(|i| {
            MessageBuilder::new()
                .from("alice@example.test")
                .to("bob@example.test")
                .subject(format!("{subject} #{i}"))
                .text(".\r\nline\r\n")
                .build()
                .expect("build")
        })
        .collect();
    let items: Vec<(Envelope, &[u8])> =
        raws.iter().enumerate().map(|(i, r)| (if i == 5 { refused.clone() } else { ok.clone() }, &r[..])).collect();
    let mut t = submission(587, Security::StartTls, "alicepw");
    let results = t.send_batch(&items);
    assert_eq!(results.len(), 12);
    for (i, r) in results.iter().enumerate() {
        if i == 5 {
            assert!(matches!(r, Err(SmtpError::AllRecipientsRefused { .. })), "{i}: {r:?}");
        } else {
            assert!(r.as_ref().is_ok_and(|x| x.queue_id.is_some()), "{i}: {r:?}");
        }
    }
    delivered("bob", &format!("{subject} #11"));
    delivered("bob", &format!("{subject} #0"));
}

#[test]
fn eight_bit_message_goes_with_body_8bitmime() {
    if !servers_up() {
        return;
    }
    use mailwright::inject::smtp::Security;
    let subject = unique_subject("8bit");
    let b = MessageBuilder::new()
        .from("alice@example.test")
        .to("bob@example.test")
        .subject(subject.clone())
        .text("Grüße — 日本語\n")
        .eight_bit(true);
    let env = b.envelope().expect("envelope");
    let raw = b.build().expect("build");
    assert!(!raw.is_ascii());
    submission(587, Security::StartTls, "alicepw").send_smtp(&env, &raw).expect("send");
    let got = delivered("bob", &subject);
    let msg = Message::parse(&got).expect("parse");
    assert_eq!(msg.text().map(|t| t.replace("\r\n", "\n")).as_deref(), Some("Grüße — 日本語\n"));
}
