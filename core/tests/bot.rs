//! The mailbot: the course's rules, quarantine, crash recovery, the ledger, dry runs, replies,
//! and a bot SIGKILLed at random points while handling 500 messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailwright::bot::{Bot, Rules};
use mailwright::build::MessageBuilder;
use mailwright::mailbox::Maildir;
use serde_json::Value;

fn deliver(md: &Maildir, from: &str, subject: &str, pdf: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut b = MessageBuilder::new().from(from).to("bot@example.org").subject(subject).text("Please print.\r\n");
    if let Some((name, data)) = pdf {
        b = b.attach_bytes(name, data.to_vec());
    }
    let raw = b.build().expect("build");
    md.deliver(&raw).expect("deliver");
    raw
}

fn count(dir: &Path) -> usize {
    ["new", "cur"].iter().map(|s| std::fs::read_dir(dir.join(s)).map(|d| d.count()).unwrap_or(0)).sum()
}

const COURSE: &str = r#"
[source]
maildir = "Maildir"

[[rule]]
name = "print PDFs from allowed senders"
from = ["*@example.org", "alice@example.test"]
attachment_type = ["application/pdf"]
stop = true

  [[rule.action]]
  type = "save"
  dir = "pdfs"

  [[rule.action]]
  type = "print"
  command = ["lpr", "-P", "office", "{file}"]

[[rule]]
name = "anything else from outside goes to review"
  [[rule.action]]
  type = "move"
  folder = "Review"
"#;

fn logged(bot: Bot) -> (Bot, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = lines.clone();
    (bot.on_log(move |v| sink.lock().expect("log").push(v.clone())), lines)
}

#[test]
fn the_course_example_saves_allowed_pdfs_and_prints_the_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    let pdf = mailwright::sample::pdf("bot", 80_000, 1);
    deliver(&md, "Jane <jane@example.org>", "report", Some(("Quarterly report.pdf", &pdf)));
    deliver(&md, "mallory@evil.test", "report", Some(("x.pdf", &pdf)));
    deliver(&md, "jane@example.org", "no attachment", None);
    let rules = Rules::from_toml(COURSE, dir.path()).expect("rules");
    let (mut bot, log) = logged(Bot::new(rules, false).expect("bot"));
    let report = bot.run_once().expect("run");
    assert_eq!((report.handled, report.quarantined), (3, 0), "{report:?}");

    let saved: Vec<PathBuf> = std::fs::read_dir(dir.path().join("pdfs"))
        .expect("pdfs")
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).expect("dir").flatten().map(|f| f.path()))
        .collect();
    assert_eq!(saved.len(), 1, "only the allowed sender's PDF: {saved:?} {:#?}", log.lock().expect("log"));
    assert_eq!(std::fs::read(&saved[0]).expect("read"), pdf, "byte-exact");
    let print = log.lock().expect("log").iter().find(|v| v["action"] == "print").cloned().expect("a print action");
    let shell = print["detail"]["shell"][0].as_str().expect("command line").to_string();
    assert_eq!(shell, format!("lpr -P office '{}'", saved[0].display()));
    assert_eq!(print["detail"]["commands"][0][3], saved[0].to_string_lossy().as_ref());
    // The outsider's message and the one without a PDF went to Review; nothing left behind.
    assert_eq!(count(&dir.path().join("Maildir/.Review")), 2);
    assert_eq!(count(&dir.path().join("Maildir/.Handled")), 1);
    assert_eq!(count(md.path()), 0);
    assert_eq!(count(&dir.path().join("Maildir/.mailwright-processing")), 0);
    assert_eq!(bot.ledger_len(), 3);
    // Every message and every action is a JSON line.
    let messages = log.lock().expect("log").iter().filter(|v| v["event"] == "message").count();
    assert_eq!(messages, 3);
}

#[test]
fn a_failing_action_quarantines_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    deliver(&md, "jane@example.org", "print me", None);
    std::fs::write(dir.path().join("junk.eml"), b"").expect("write");
    let rules = Rules::from_toml(
        "[source]\nmaildir = \"Maildir\"\n[[rule]]\nname = \"printer\"\nsubject = [\"print*\"]\n\
         [[rule.action]]\ntype = \"run\"\ncommand = [\"/nonexistent/lpr\", \"{subject}\"]\n",
        dir.path(),
    )
    .expect("rules");
    let mut bot = Bot::new(rules, false).expect("bot").on_log(|_| {});
    let report = bot.run_once().expect("run");
    assert_eq!((report.handled, report.quarantined), (0, 1));
    assert_eq!(count(&dir.path().join("Maildir/.Quarantine")), 1);
    let reasons: Vec<_> =
        std::fs::read_dir(dir.path().join(".mailwright-bot/quarantine")).expect("reasons").flatten().collect();
    assert_eq!(reasons.len(), 1);
    let why: Value = serde_json::from_slice(&std::fs::read(reasons[0].path()).expect("read")).expect("json");
    let reason = why["reason"].as_str().expect("reason");
    assert!(reason.contains("printer") && reason.contains("/nonexistent/lpr"), "{reason}");
    assert_eq!(bot.ledger_len(), 0, "not handled: not in the ledger");
}

#[test]
fn crash_leftovers_are_handled_again_or_only_finished() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    let pdf = mailwright::sample::pdf("crash", 5_000, 2);
    deliver(&md, "jane@example.org", "a", Some(("a.pdf", &pdf)));
    deliver(&md, "jane@example.org", "b", Some(("b.pdf", &pdf)));
    // A crash right after the claim: both sit in the processing folder.
    let processing = md.folder("mailwright-processing").expect("folder");
    for e in md.entries().expect("entries").flatten().collect::<Vec<_>>() {
        md.move_to(&e, &processing).expect("claim");
    }
    let rules = Rules::from_toml(COURSE, dir.path()).expect("rules");
    {
        let mut bot = Bot::new(rules.clone(), false).expect("bot").on_log(|_| {});
        assert_eq!(bot.run_once().expect("run").handled, 2);
    }
    // A crash after the ledger line but before the move: the next run only finishes it.
    let handled = md.folder("Handled").expect("folder");
    let e = handled.entries().expect("entries").flatten().next().expect("one");
    handled.move_to(&e, &processing).expect("back");
    let mut bot = Bot::new(rules, false).expect("bot").on_log(|_| {});
    let report = bot.run_once().expect("run");
    assert_eq!((report.handled, report.already), (0, 1));
    assert_eq!(count(handled.path()), 2);
    let ledger = std::fs::read_to_string(dir.path().join(".mailwright-bot/ledger.jsonl")).expect("ledger");
    assert_eq!(ledger.lines().count(), 2, "each message once in the ledger");
    // One bot per state folder.
    let rules = Rules::from_toml(COURSE, dir.path()).expect("rules");
    assert!(Bot::new(rules, false).is_err(), "the lock is held");
}

#[test]
fn dry_run_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    let pdf = mailwright::sample::pdf("dry", 5_000, 3);
    deliver(&md, "jane@example.org", "a", Some(("a.pdf", &pdf)));
    let rules = Rules::from_toml(COURSE, dir.path()).expect("rules");
    let (mut bot, log) = logged(Bot::new(rules, true).expect("bot"));
    bot.run_once().expect("run");
    assert_eq!(count(md.path()), 1);
    assert!(!dir.path().join("pdfs").exists());
    assert!(!dir.path().join(".mailwright-bot/ledger.jsonl").exists());
    let print = log.lock().expect("log").iter().find(|v| v["action"] == "print").cloned().expect("print");
    // A name not yet saved is shown `./`-prefixed: no program reads it as an option.
    assert_eq!(print["commands"][0], serde_json::json!(["lpr", "-P", "office", "./a.pdf"]));
}

#[test]
fn header_recipient_name_and_reply_through_an_outbox() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    let raw = b"From: jane@example.org\r\nTo: printer@example.org\r\nSubject: job\r\nMessage-ID: <job1@example.org>\r\nX-Priority: 1 (Highest)\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"scan.PDF\"\r\n\r\n%PDF-1.4\r\n--b--\r\n";
    md.deliver(raw).expect("deliver");
    md.deliver(b"From: jane@example.org\r\nTo: other@example.org\r\nSubject: job\r\n\r\nx\r\n").expect("deliver");
    let rules = Rules::from_toml(
        r#"
[source]
maildir = "Maildir"
[bot]
reply_unauthenticated = true
[transport]
from = "bot@example.org"
outbox = "outbox"
[[rule]]
name = "urgent scans"
to = ["printer@*"]
header = { "X-Priority" = "1*" }
attachment_name = ["*.pdf"]
  [[rule.action]]
  type = "reply"
  text = "Printed: {subject}"
  [[rule.action]]
  type = "flag"
  flags = "F"
"#,
        dir.path(),
    )
    .expect("rules");
    let mut bot = Bot::new(rules, false).expect("bot").on_log(|_| {});
    let report = bot.run_once().expect("run");
    assert_eq!((report.handled, report.unmatched), (2, 1));
    let outbox = mailwright::inject::Outbox::open(dir.path().join("outbox")).expect("outbox");
    let queued = outbox.status().expect("status");
    assert_eq!(queued.len(), 1, "one reply queued");
    assert_eq!(queued[0].message.recipients[0].address, "jane@example.org");
    let reply = std::fs::read(queued[0].path.join("message.eml")).expect("reply");
    let m = mailwright::Message::parse(&reply).expect("parse");
    assert_eq!(m.subject(), Some("Re: job"));
    assert!(String::from_utf8_lossy(&reply).contains("In-Reply-To: <job1@example.org>"));
    let flagged: Vec<String> = std::fs::read_dir(dir.path().join("Maildir/.Handled/cur"))
        .expect("handled")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(flagged.iter().any(|n| n.ends_with(":2,FS")), "{flagged:?}");
}

#[test]
fn killed_at_random_points_every_message_is_handled_once() {
    let n = 500;
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    let pdf = mailwright::sample::pdf("kill", 3_000, 4);
    let mut expected = Vec::new();
    for i in 0..n {
        let raw = deliver(&md, "jane@example.org", &format!("job {i}"), Some((&format!("job {i}.pdf"), &pdf)));
        expected.push(mailwright::dissect::sha256_hex(&raw));
    }
    let runs = dir.path().join("runs.txt");
    let rules = format!(
        r#"
[source]
maildir = "Maildir"
# The kills here are not the message's fault: on a loaded machine one message can be cut short
# more often than the default retry bound allows, which would quarantine it.
[bot]
retries = 100000
[[rule]]
name = "print"
attachment_type = ["application/pdf"]
  [[rule.action]]
  type = "save"
  dir = "pdfs"
  [[rule.action]]
  type = "run"
  command = ["sh", "-c", "echo \"$1\" >> \"$2\"", "sh", "{{hash}}", "{}"]
"#,
        runs.display()
    );
    std::fs::write(dir.path().join("rules.toml"), rules).expect("rules");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_mailwright"))
            .args(["bot", "--watch", "--interval", "0.05", "--rules"])
            .arg(dir.path().join("rules.toml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn")
    };
    let mut rng = mailwright::sample::Rng::new(5);
    let ledger_len =
        || std::fs::read_to_string(dir.path().join(".mailwright-bot/ledger.jsonl")).map_or(0, |l| l.lines().count());
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while ledger_len() < n && Instant::now() < deadline {
        let mut child = spawn();
        std::thread::sleep(Duration::from_millis(rng.range(20, 300) as u64));
        let _ = child.kill();
        let _ = child.wait();
        kills += 1;
    }
    // A last run without kills finishes whatever the last kill left claimed.
    let mut last = spawn();
    let settle = Instant::now() + Duration::from_secs(30);
    while (count(&dir.path().join("Maildir/.mailwright-processing")) > 0 || count(md.path()) > 0)
        && Instant::now() < settle
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = last.kill();
    let _ = last.wait();

    let ledger = std::fs::read_to_string(dir.path().join(".mailwright-bot/ledger.jsonl")).expect("ledger");
    let mut per_hash: BTreeMap<String, usize> = BTreeMap::new();
    for line in ledger.lines() {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            *per_hash.entry(v["hash"].as_str().unwrap_or_default().to_string()).or_default() += 1;
        }
    }
    let runs_text = std::fs::read_to_string(&runs).unwrap_or_default();
    let mut run_counts: BTreeMap<&str, usize> = BTreeMap::new();
    for l in runs_text.lines() {
        *run_counts.entry(l).or_default() += 1;
    }
    let twice: usize = run_counts.values().map(|c| c - 1).sum();
    let lost = expected.iter().filter(|h| !per_hash.contains_key(*h)).count();
    eprintln!(
        "bot kill test: {} of {n} handled, {lost} lost, {kills} kills, ledger lines {}, run action twice: {twice}",
        per_hash.len(),
        ledger.lines().count()
    );
    assert!(kills > 0);
    assert_eq!(lost, 0);
    assert_eq!(per_hash.len(), n);
    assert!(per_hash.values().all(|&c| c == 1), "each message exactly once in the ledger");
    assert_eq!(count(&dir.path().join("Maildir/.Handled")), n);
    assert_eq!(count(&dir.path().join("Maildir/.Quarantine")), 0);
    assert!(expected.iter().all(|h| run_counts.contains_key(h.as_str())), "every run action ran");
    let saved =
        std::fs::read_dir(dir.path().join("pdfs")).expect("pdfs").flatten().filter(|e| e.path().is_dir()).count();
    assert_eq!(saved, n, "one output folder per message, however often it was written");
}

#[test]
fn call_actions_reach_the_registered_handler() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    let pdf = mailwright::sample::pdf("call", 2_000, 6);
    deliver(&md, "jane@example.org", "good", Some(("a.pdf", &pdf)));
    deliver(&md, "jane@example.org", "bad", Some(("b.pdf", &pdf)));
    let rules = Rules::from_toml(
        "[source]\nmaildir = \"Maildir\"\n[[rule]]\nname = \"pdfs\"\nattachment_type = [\"application/pdf\"]\n\
         [[rule.action]]\ntype = \"call\"\nhandler = \"print_it\"\n",
        dir.path(),
    )
    .expect("rules");
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = calls.clone();
    let mut bot = Bot::new(rules, false).expect("bot").on_log(|_| {}).on_call(move |c| {
        let subject = c.message.message().subject().unwrap_or_default().to_string();
        seen.lock().expect("calls").push((c.handler.to_string(), subject.clone(), c.attachments.to_vec()));
        if subject == "bad" { Err("the printer is on fire".into()) } else { Ok(()) }
    });
    let report = bot.run_once().expect("run");
    assert_eq!((report.handled, report.quarantined), (1, 1));
    let mut calls = calls.lock().expect("calls").clone();
    calls.sort();
    assert_eq!(calls[0], ("print_it".to_string(), "bad".to_string(), vec!["2".to_string()]));
    assert_eq!(calls[1].1, "good");
    let reasons = std::fs::read_dir(dir.path().join(".mailwright-bot/quarantine")).expect("q").flatten().count();
    assert_eq!(reasons, 1);
}

/// A new key signing as `s1._domainkey.example.org`, and its TXT record.
fn example_org_signer() -> (std::sync::Arc<mailwright::auth::DkimSigner>, String) {
    let pem = mailwright::auth::generate_ed25519().expect("key");
    let key = mailwright::auth::DkimKey::from_pem(pem.as_bytes()).expect("key");
    let record = key.dns_record();
    (std::sync::Arc::new(mailwright::auth::DkimSigner::new(key, "s1", "example.org").expect("signer")), record)
}

/// The course's bot with `authenticated = true`: a message signed by example.org is printed; the
/// same message with a forged `From: boss@example.org` and no signature is handled without any
/// rule acting (it ends in the done folder, its ledger line naming no rule), and so is a signed
/// message whose body was changed on the way.
#[test]
fn only_authenticated_senders_trigger_actions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    let (signer, record) = example_org_signer();
    let pdf = mailwright::sample::pdf("auth", 2_000, 3);
    let signed = |subject: &str| {
        MessageBuilder::new()
            .from("Boss <boss@example.org>")
            .to("bot@example.org")
            .subject(subject)
            .text("Please print.\r\n")
            .attach_bytes("a.pdf", pdf.clone())
            .dkim(signer.clone())
            .build()
            .expect("build")
    };
    md.deliver(&signed("genuine")).expect("deliver");
    deliver(&md, "Boss <boss@example.org>", "forged", Some(("a.pdf", &pdf)));
    let tampered = String::from_utf8(signed("tampered")).expect("utf-8").replace("Please print.", "Please pay.");
    md.deliver(tampered.as_bytes()).expect("deliver");
    let rules = format!(
        r#"
[source]
maildir = "Maildir"
[bot]
resolver = ["127.0.0.1:9"]
[bot.dns_records]
"s1._domainkey.example.org" = "{record}"
"_dmarc.example.org" = "v=DMARC1; p=reject; psd=n"
[[rule]]
name = "print PDFs from authenticated senders"
from = ["*@example.org"]
authenticated = true
attachment_type = ["application/pdf"]
  [[rule.action]]
  type = "save"
  dir = "pdfs"
"#
    );
    let rules = Rules::from_toml(&rules, dir.path()).expect("rules");
    assert!(rules.warnings().is_empty());
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let sink = lines.clone();
    let mut bot = Bot::new(rules, false).expect("bot").on_log(move |v| sink.lock().expect("log").push(v.clone()));
    let report = bot.run_once().expect("run");
    assert_eq!((report.handled, report.unmatched, report.quarantined), (3, 2, 0), "{report:?}");
    let saved = std::fs::read_dir(dir.path().join("pdfs")).expect("pdfs").count();
    assert_eq!(saved, 1, "only the genuine message was acted on");
    let lines = lines.lock().expect("log");
    let acted: Vec<&Value> =
        lines.iter().filter(|l| l["event"] == "message" && l["rules"] != serde_json::json!([])).collect();
    assert_eq!(acted.len(), 1, "{lines:?}");
}

/// No backscatter: a reply goes to a signed sender; not to a forged From:, and not to a
/// Reply-To: outside the domain that signed.
#[test]
fn replies_go_only_to_authenticated_senders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    let (signer, record) = example_org_signer();
    let mail = |subject: &str, reply_to: Option<&str>, sign: bool| {
        let mut b =
            MessageBuilder::new().from("boss@example.org").to("bot@example.org").subject(subject).text("hi\r\n");
        if let Some(r) = reply_to {
            b = b.reply_to(r);
        }
        if sign {
            b = b.dkim(signer.clone());
        }
        md.deliver(&b.build().expect("build")).expect("deliver");
    };
    mail("genuine", None, true);
    mail("forged", None, false);
    mail("elsewhere", Some("victim@elsewhere.test"), true);
    mail("subdomain", Some("desk@office.example.org"), true);
    let rules = format!(
        "[source]\nmaildir = \"Maildir\"\n[bot]\nresolver = [\"127.0.0.1:9\"]\n\
         [bot.dns_records]\n\"s1._domainkey.example.org\" = \"{record}\"\n\"_dmarc.example.org\" = \"v=DMARC1; p=reject; psd=n\"\n\
         [transport]\nfrom = \"bot@example.org\"\noutbox = \"outbox\"\n\
         [[rule]]\nname = \"receipt\"\nto = [\"bot@*\"]\n[[rule.action]]\ntype = \"reply\"\ntext = \"Got it: {{subject}}\"\n"
    );
    let rules = Rules::from_toml(&rules, dir.path()).expect("rules");
    let (bot, lines) = logged(Bot::new(rules, false).expect("bot"));
    let mut bot = bot;
    let report = bot.run_once().expect("run");
    assert_eq!((report.handled, report.quarantined), (4, 0), "{report:?}");
    let outbox = mailwright::inject::Outbox::open(dir.path().join("outbox")).expect("outbox");
    let mut to: Vec<String> =
        outbox.status().expect("status").iter().map(|q| q.message.recipients[0].address.clone()).collect();
    to.sort();
    assert_eq!(to, ["boss@example.org", "desk@office.example.org"]);
    let lines = lines.lock().expect("log");
    let skipped: Vec<&str> = lines.iter().filter_map(|l| l["detail"]["skipped"].as_str()).collect();
    assert_eq!(skipped.len(), 2, "{lines:?}");
    assert!(skipped.iter().any(|s| s.contains("not authenticated")), "{skipped:?}");
    assert!(skipped.iter().any(|s| s.contains("victim@elsewhere.test")), "{skipped:?}");
}

#[test]
fn the_trusted_servers_word_and_a_forged_one_below_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    let body = "From: boss@example.org\r\nTo: bot@example.org\r\nSubject: s\r\n\r\nhi\r\n";
    let pass = "Authentication-Results: mx.example.net; dkim=pass header.d=example.org; dmarc=pass header.from=example.org\r\n";
    let fail = "Authentication-Results: mx.example.net; dkim=none; dmarc=fail header.from=example.org\r\n";
    md.deliver(format!("{pass}{body}").as_bytes()).expect("deliver");
    md.deliver(format!("{fail}{pass}{body}").as_bytes()).expect("deliver");
    let rules = Rules::from_toml(
        "[source]\nmaildir = \"Maildir\"\n[bot]\ntrust_authserv = \"mx.example.net\"\n\
         [[rule]]\nname = \"ok\"\nauthenticated_domain = [\"example.org\"]\n[[rule.action]]\ntype = \"flag\"\nflags = \"F\"\n",
        dir.path(),
    )
    .expect("rules");
    let mut bot = Bot::new(rules, false).expect("bot").on_log(|_| {});
    let report = bot.run_once().expect("run");
    assert_eq!((report.handled, report.unmatched), (2, 1), "{report:?}");
}

#[test]
fn acting_on_from_alone_is_warned_about() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = |extra: &str| {
        Rules::from_toml(
            &format!(
                "[source]\nmaildir = \"M\"\n[[rule]]\nname = \"r\"\nfrom = [\"*@example.org\"]\n{extra}\
                 [[rule.action]]\ntype = \"run\"\ncommand = [\"lpr\", \"{{file}}\"]\n"
            ),
            dir.path(),
        )
        .expect("rules")
    };
    assert_eq!(rules("").warnings().len(), 1);
    assert!(rules("").warnings()[0].contains("authenticated = true"));
    assert!(rules("authenticated = true\n").warnings().is_empty());
}
