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
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let sink = log.clone();
    let mut bot = Bot::new(rules, false).expect("bot").on_log(move |v| sink.lock().expect("log").push(v.clone()));
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
