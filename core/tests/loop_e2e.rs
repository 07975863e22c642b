//! The whole loop against real servers on loopback (`scripts/mail-servers start`): a PDF sent
//! through Postfix (submission, STARTTLS, AUTH), fetched from Dovecot over IMAP by the bot's
//! source, taken apart by the bot; the PDF comes out byte-exact and the print command names it.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mailwright::bot::{Bot, Rules};
use mailwright::build::MessageBuilder;
use mailwright::inject::{SmtpConfig, SmtpTransport};
use serde_json::Value;

const CA: &str = "/etc/mailwright-test/tls/ca.pem";

fn servers_up() -> bool {
    let up = ["127.0.0.1:587", "127.0.0.1:143"]
        .iter()
        .all(|a| TcpStream::connect_timeout(&a.parse().expect("addr"), Duration::from_secs(1)).is_ok())
        && Path::new(CA).exists();
    if !up {
        let msg = "SKIPPED loop test: no Postfix/Dovecot on 127.0.0.1 (run `scripts/mail-servers start` as root)";
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{msg}; CI must not skip");
        eprintln!("\n*** {msg} ***\n");
    }
    up
}

/// A bot for `rules` whose log lines are kept.
fn logged_bot(rules: Rules) -> (Bot, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let sink = log.clone();
    (Bot::new(rules, false).expect("bot").on_log(move |v| sink.lock().expect("log").push(v.clone())), log)
}

#[test]
fn send_fetch_dissect_print() {
    if !servers_up() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let tag = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_nanos();
    let subject = format!("loop {tag}");
    let pdf = mailwright::sample::pdf("loop", 250_000, tag as u64);
    let b = MessageBuilder::new()
        .from("alice@example.test")
        .to("bob@example.test")
        .subject(subject.clone())
        .text("Please print the attached report.\r\n")
        .attach_bytes("Quarterly report Q3.pdf", pdf.clone());
    let env = b.envelope().expect("envelope");
    let raw = b.build().expect("build");
    let mut c = SmtpConfig::from_url("smtp://127.0.0.1:587").expect("url");
    c.ca_file = Some(PathBuf::from(CA));
    c.credentials = Some(("alice@example.test".into(), "alicepw".into()));
    let receipt = SmtpTransport::new(c).expect("transport").send_smtp(&env, &raw).expect("submitted");
    assert!(receipt.tls.is_some_and(|t| t.verified));

    std::fs::write(dir.path().join("password"), "bobpw\n").expect("password");
    let rules = format!(
        r#"
[source]
maildir = "Maildir"
imap = "imap://127.0.0.1"
user = "bob@example.test"
password_file = "password"
ca_file = "{CA}"

[bot]
done = "Printed"

[[rule]]
name = "print PDFs from alice"
from = ["alice@example.test"]
subject = ["{subject}"]
attachment_type = ["application/pdf"]
stop = true
  [[rule.action]]
  type = "dissect"
  dir = "out"
  [[rule.action]]
  type = "print"
  command = ["lpr", "-P", "office", "{{file}}"]

[[rule]]
name = "everything else stays"
  [[rule.action]]
  type = "move"
  folder = "Other"
"#
    );
    let rules = Rules::from_toml(&rules, dir.path()).expect("rules");
    let (mut bot, log) = logged_bot(rules);
    // Postfix delivers asynchronously: run cycles (bounded) until the bot has printed it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let printed = loop {
        bot.run_once().expect("cycle");
        let found = log.lock().expect("log").iter().find(|v| v["action"] == "print").cloned();
        if let Some(p) = found {
            break p;
        }
        assert!(Instant::now() < deadline, "the message never reached the bot: {:#?}", log.lock().expect("log"));
        std::thread::sleep(Duration::from_millis(300));
    };
    let file = PathBuf::from(printed["detail"]["commands"][0][3].as_str().expect("file"));
    assert_eq!(file.file_name().and_then(|n| n.to_str()), Some("Quarterly report Q3.pdf"));
    assert_eq!(std::fs::read(&file).expect("pdf"), pdf, "the PDF is byte-exact");
    assert_eq!(printed["detail"]["shell"][0], format!("lpr -P office '{}'", file.display()));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(file.parent().expect("dir").join("manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["subject"], subject.as_str());
    // The handled message went to the Printed folder.
    let printed_dir = dir.path().join("Maildir/.Printed");
    let n: usize = ["new", "cur"].iter().map(|s| std::fs::read_dir(printed_dir.join(s)).map_or(0, |d| d.count())).sum();
    assert_eq!(n, 1);
}

/// The MTA's word, through real parts: two messages from alice@signed.test go through Postfix's
/// authenticating port (2626, where scripts/auth-filter checks DKIM and writes the trusted
/// Authentication-Results of mail.example.test) into Dovecot; the bot fetches them over IMAP and
/// trusts that id. The signed one is dissected; the unsigned one, which carries a forged
/// "dkim=pass" field of that id written by its sender, is handled with no rule acting.
#[test]
fn the_trusted_mta_decides_and_a_forged_verdict_below_it_does_not() {
    if !servers_up() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let tag = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_nanos();
    let key = mailwright::auth::DkimKey::from_pem(&std::fs::read("/etc/mailwright-test/dkim/ed.pem").expect("ed.pem"))
        .expect("key");
    let signer = std::sync::Arc::new(mailwright::auth::DkimSigner::new(key, "ed", "signed.test").expect("signer"));
    let message = |what: &str| {
        MessageBuilder::new()
            .from("alice@signed.test")
            .to("bob@example.test")
            .subject(format!("auth {tag} {what}"))
            .text("Please print.\r\n")
            .attach_bytes("report.pdf", mailwright::sample::pdf("auth", 2_000, 7))
    };
    let signed = message("signed").dkim(signer);
    let env = signed.envelope().expect("envelope");
    let forged = [
        b"Authentication-Results: mail.example.test; dkim=pass header.d=signed.test\r\n".as_slice(),
        &message("forged").build().expect("build"),
    ]
    .concat();
    let mut c = SmtpConfig::from_url("smtp://127.0.0.1:2626").expect("url");
    c.ca_file = Some(PathBuf::from(CA));
    let mut t = SmtpTransport::new(c).expect("transport");
    t.send_smtp(&env, &signed.build().expect("build")).expect("signed sent");
    t.send_smtp(&env, &forged).expect("forged sent");

    std::fs::write(dir.path().join("password"), "bobpw\n").expect("password");
    let rules = format!(
        r#"
[source]
maildir = "Maildir"
imap = "imap://127.0.0.1"
user = "bob@example.test"
password_file = "password"
ca_file = "{CA}"
[bot]
done = "Checked"
trust_authserv = "mail.example.test"
[[rule]]
name = "print PDFs from signed.test"
from = ["*@signed.test"]
subject = ["auth {tag} *"]
authenticated = true
  [[rule.action]]
  type = "dissect"
  dir = "out"
"#
    );
    let rules = Rules::from_toml(&rules, dir.path()).expect("rules");
    let (mut bot, log) = logged_bot(rules);
    // Postfix delivers asynchronously: run cycles (bounded) until both are in the done folder.
    let checked = dir.path().join("Maildir/.Checked/cur");
    let ours = || -> Vec<Vec<u8>> {
        std::fs::read_dir(&checked)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| std::fs::read(e.path()).expect("read"))
            .filter(|raw| String::from_utf8_lossy(raw).contains(&format!("auth {tag} ")))
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let delivered = loop {
        bot.run_once().expect("cycle");
        let found = ours();
        if found.len() >= 2 {
            break found;
        }
        assert!(Instant::now() < deadline, "the messages never reached the bot: {:#?}", log.lock().expect("log"));
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(delivered.len(), 2);
    // One rule acted, once: on the signed message.
    let log = log.lock().expect("log");
    let dissected: Vec<&Value> = log.iter().filter(|v| v["action"] == "dissect").collect();
    assert_eq!(dissected.len(), 1, "{log:#?}");
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(PathBuf::from(dissected[0]["detail"]["dir"].as_str().expect("dir")).join("manifest.json"))
            .expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["subject"], format!("auth {tag} signed"));
    // As delivered: the filter's field on top, the forged one below it; our own check agrees.
    let options = mailwright::auth::CheckOptions {
        resolvers: vec!["127.0.0.1:5353".into()],
        trust_authserv: Some("mail.example.test".into()),
        ..Default::default()
    };
    // SPF for the client Postfix recorded (127.0.0.1, which signed.test's SPF allows).
    let spf = mailwright::auth::CheckOptions { received_by: Some("mail.example.test".into()), ..options.clone() };
    for raw in &delivered {
        let text = String::from_utf8_lossy(raw);
        let report = spf.check(raw).expect("check").report;
        assert_eq!(
            report.spf.map(|s| (s.result, s.domain)),
            Some((mailwright::auth::Outcome::Pass, "signed.test".into()))
        );
        let verdict = options.check(raw).expect("check");
        let trusted = verdict.trusted.as_ref().expect("trusted");
        if text.contains(" signed\r\n") || text.contains(" signed\n") {
            assert_eq!(verdict.authenticated_domain.as_deref(), Some("signed.test"), "{text}");
            assert_eq!(trusted.ignored, 0);
        } else {
            assert_eq!(verdict.authenticated_domain, None, "{text}");
            assert_eq!(trusted.ignored, 1, "the forged field is counted, not believed: {text}");
        }
    }
}
