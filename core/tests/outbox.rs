//! The durable outbox: its on-disk contract, retries and reports, through local transports and
//! through direct MX delivery to real servers on loopback (dnsmasq + aiosmtpd, see
//! `tests/support`).

mod support;

use std::path::Path;
use std::time::Duration;

use mailwright::inject::RecipientStatus;
use mailwright::inject::outbox::EntryState;
use mailwright::inject::{Envelope, MaildirTransport, Outbox, RetryPolicy};
use support::{Server, delivered, message, mx};

fn quick() -> RetryPolicy {
    RetryPolicy {
        first_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_age: Duration::from_secs(3600),
        jitter: 0.2,
    }
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn add_puts_a_complete_message_in_the_queue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path()).expect("open");
    let (env, raw) = message("a@client.test", &["b@x.test", "c@y.test"], "add");
    let id = outbox.add(&env, &raw).expect("add");
    let queued = dir.path().join("queue").join(&id);
    assert_eq!(std::fs::read(queued.join("message.eml")).expect("message"), raw);
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(queued.join("state.json")).expect("state")).expect("json");
    assert_eq!(state["from"], "a@client.test");
    assert_eq!(state["recipients"][1]["address"], "c@y.test");
    assert_eq!(state["recipients"][1]["state"], "pending");
    assert_eq!(files_in(&dir.path().join("tmp")), 0);
    let status = outbox.status().expect("status");
    assert_eq!(status.len(), 1);
    assert_eq!((status[0].state, status[0].message.attempts), (EntryState::Queued, 0));
}

#[test]
fn add_message_takes_the_envelope_from_the_headers_and_drops_bcc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path()).expect("open");
    let raw = b"From: a@client.test\r\nTo: b@x.test\r\nBcc: hidden@x.test\r\nSubject: s\r\n\r\nbody\r\n";
    let id = outbox.add_message(raw).expect("add");
    let s = &outbox.status().expect("status")[0].message;
    assert_eq!(s.id, id);
    let rcpts: Vec<_> = s.recipients.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(rcpts, ["b@x.test", "hidden@x.test"]);
    let stored = std::fs::read(dir.path().join("queue").join(&id).join("message.eml")).expect("read");
    assert!(!String::from_utf8_lossy(&stored).contains("hidden"));
    assert!(outbox.add_message(b"Subject: nobody\r\n\r\nx").is_err(), "no recipients: refused");
}

#[test]
fn flush_delivers_and_empties_the_queue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path().join("out")).expect("open");
    for i in 0..20 {
        let (env, raw) = message("a@client.test", &["b@x.test"], &format!("m{i}"));
        outbox.add(&env, &raw).expect("add");
    }
    let mut t = MaildirTransport::new(dir.path().join("inbox"));
    let report = outbox.flush(&mut t).expect("flush");
    assert_eq!((report.delivered, report.deferred, report.failed), (20, 0, 0));
    assert!(outbox.status().expect("status").is_empty());
    assert_eq!(files_in(&dir.path().join("inbox/new")), 20);
    assert_eq!(files_in(&dir.path().join("out/queue")), 0);
    let again = outbox.flush(&mut t).expect("flush");
    assert_eq!(again.attempted.len(), 0);
}

#[test]
fn a_permanent_local_failure_leaves_a_report_and_retry_requeues() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path().join("out")).expect("open");
    let (env, raw) = message("a@client.test", &["b@x.test"], "perm");
    let id = outbox.add(&env, &raw).expect("add");
    let mut t = mailwright::inject::SendmailTransport::with_program("/nonexistent/sendmail");
    let report = outbox.flush(&mut t).expect("flush");
    assert_eq!(report.failed, 1, "{report:?}");
    let failed = dir.path().join("out/failed").join(&id);
    let dsn = std::fs::read_to_string(failed.join("delivery-status.txt")).expect("report");
    assert!(dsn.contains("Final-Recipient: rfc822; b@x.test") && dsn.contains("Action: failed"), "{dsn}");
    assert!(dsn.contains("/nonexistent/sendmail"), "{dsn}");
    let status = outbox.status().expect("status");
    assert_eq!(status[0].state, EntryState::Failed);
    assert_eq!(status[0].message.recipients[0].status, RecipientStatus::Permanent);

    assert_eq!(outbox.retry(Some(&id)).expect("retry"), 1);
    let status = outbox.status().expect("status");
    assert_eq!((status[0].state, status[0].message.attempts), (EntryState::Queued, 0));
    assert!(!dir.path().join("out/queue").join(&id).join("delivery-status.txt").exists());
    let mut good = MaildirTransport::new(dir.path().join("inbox"));
    assert_eq!(outbox.flush(&mut good).expect("flush").delivered, 1);

    let id2 = outbox.add(&env, &raw).expect("add");
    outbox.remove(&id2).expect("drop");
    assert!(outbox.status().expect("status").is_empty());
    assert!(outbox.remove(&id2).is_err());
    assert!(outbox.remove("../../etc").is_err());
}

#[test]
fn stale_tmp_leftovers_are_not_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path()).expect("open");
    // What a kill in the middle of add leaves: a folder in tmp/, never queued.
    std::fs::create_dir_all(dir.path().join("tmp/0000000000001-00001-0001-00000001")).expect("mkdir");
    // Junk and a state file that does not parse in queue/.
    std::fs::write(dir.path().join("queue/README"), b"not a message").expect("write");
    assert!(outbox.status().expect("status").is_empty());
    let bad = dir.path().join("queue/0000000000002-00001-0001-00000001");
    std::fs::create_dir_all(&bad).expect("mkdir");
    std::fs::write(bad.join("message.eml"), b"x").expect("write");
    std::fs::write(bad.join("state.json"), b"{ truncated").expect("write");
    let (env, raw) = message("a@client.test", &["b@x.test"], "good");
    let good = outbox.add(&env, &raw).expect("add");
    let status = outbox.status().expect("status");
    assert_eq!(status.len(), 2);
    let corrupt = status.iter().find(|e| e.state == EntryState::Corrupt).expect("corrupt entry listed");
    assert!(corrupt.message.last_error.as_deref().is_some_and(|e| e.contains("unreadable state")), "{corrupt:?}");
    // The bad entry holds up nothing: the good one is delivered, the bad one stays for a human.
    let mut t = MaildirTransport::new(dir.path().join("inbox"));
    let report = outbox.flush(&mut t).expect("flush");
    assert_eq!((report.delivered, report.corrupt.len()), (1, 1), "{report:?}");
    assert_eq!(report.attempted[0].id, good);
    assert!(bad.join("message.eml").exists());
}

/// A spool written before recipients' results and states were one type: its `state.json` is read
/// as it was written, flushed, and what is left is written back in the same form.
#[test]
fn a_spool_in_the_earlier_state_format_is_read_and_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path()).expect("open");
    let id = "0000000000003-00001-0001-00000001";
    let entry = dir.path().join("queue").join(id);
    std::fs::create_dir_all(&entry).expect("mkdir");
    let (_, raw) = message("a@client.test", &["b@x.test"], "old spool");
    std::fs::write(entry.join("message.eml"), &raw).expect("write");
    let state = r#"{"id":"0000000000003-00001-0001-00000001","from":"a@client.test","recipients":[
        {"address":"b@x.test","state":"pending","code":null,"enhanced_code":null,"text":"","host":null,"at":null},
        {"address":"c@x.test","state":"delivered","code":250,"enhanced_code":"2.0.0","text":"ok","host":"mx[127.0.0.1]:25","at":1700000000.5},
        {"address":"d@x.test","state":"pending","code":451,"enhanced_code":"4.3.0","text":"later","host":null,"at":1700000001.0}],
        "created":CREATED,"attempts":1,"next_try":0.0,"last_error":"d@x.test: later","size":10}"#;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64();
    std::fs::write(entry.join("state.json"), state.replace("CREATED", &format!("{now}"))).expect("write");
    let status = outbox.status().expect("status");
    let r = &status[0].message.recipients;
    assert_eq!(status[0].state, EntryState::Queued);
    let got: Vec<_> = r.iter().map(|r| (r.address.as_str(), r.status, r.code, r.at)).collect();
    assert_eq!(
        got,
        [
            ("b@x.test", RecipientStatus::Transient, None, None),
            ("c@x.test", RecipientStatus::Accepted, Some(250), Some(1700000000.5)),
            ("d@x.test", RecipientStatus::Transient, Some(451), Some(1700000001.0)),
        ]
    );
    // Written back: the same keys and words as before.
    let v: serde_json::Value = serde_json::to_value(&status[0].message).expect("json");
    assert_eq!(v["recipients"][1]["state"], "delivered");
    assert_eq!(v["recipients"][0]["state"], "pending");
    let keys: Vec<&str> = v["recipients"][0].as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["address", "state", "code", "enhanced_code", "text", "host", "at"]);
    // Flushed: the two pending recipients go, the delivered one is not sent again.
    let mut t = Forgetful(vec!["d@x.test".into()]);
    let report = outbox.flush(&mut t).expect("flush");
    let after = &report.attempted[0];
    let states: Vec<_> = after.recipients.iter().map(|r| r.status.queue_state()).collect();
    assert_eq!(states, ["delivered", "delivered", "pending"], "{report:?}");
    let on_disk = std::fs::read_to_string(entry.join("state.json")).expect("state");
    let on_disk: serde_json::Value = serde_json::from_str(&on_disk).expect("json");
    let words: Vec<&str> = (0..3).map(|k| on_disk["recipients"][k]["state"].as_str().unwrap_or("?")).collect();
    assert_eq!(words, ["delivered", "delivered", "pending"]);
}

#[test]
fn all_hosts_down_stays_queued_then_delivered_once_one_is_back() {
    let Some(_serial) = support::ready() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path().join("out")).expect("open").with_policy(quick());
    let (env, raw) = message("a@client.test", &["bob@down.test", "carol@down.test"], "queued down");
    let id = outbox.add(&env, &raw).expect("add");
    let mut t = mx(Duration::from_secs(2));
    for _ in 0..3 {
        let report = outbox.flush_due(&mut t, f64::MAX).expect("flush");
        assert_eq!(report.deferred, 1);
    }
    let status = outbox.status().expect("status");
    let m = &status[0].message;
    assert_eq!((m.id.as_str(), m.attempts), (id.as_str(), 3));
    assert!(m.last_error.as_deref().is_some_and(|e| e.contains("down.test")), "{m:?}");
    assert!(m.recipients.iter().all(|r| r.status == RecipientStatus::Transient));

    let spool = tempfile::tempdir().expect("tempdir");
    let _mx1 = Server::start("127.0.1.8", "sink", Some(spool.path()), &[]);
    let report = outbox.flush_due(&mut t, f64::MAX).expect("flush");
    assert_eq!(report.delivered, 1, "{report:?}");
    assert!(outbox.status().expect("status").is_empty());
    let got = delivered(spool.path());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].2, raw);
}

#[test]
fn reset_during_data_is_retried_after_the_backoff() {
    let Some(_serial) = support::ready() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = RetryPolicy { first_delay: Duration::from_secs(600), max_delay: Duration::from_secs(3600), ..quick() };
    let outbox = Outbox::open(dir.path()).expect("open").with_policy(policy);
    let spool = tempfile::tempdir().expect("tempdir");
    let _mx = Server::start("127.0.1.7", "reset", Some(spool.path()), &["--resets", "1"]);
    let (env, raw) = message("a@client.test", &["bob@reset.test"], "queued reset");
    outbox.add(&env, &raw).expect("add");
    let mut t = mx(Duration::from_secs(5));
    assert_eq!(outbox.flush(&mut t).expect("flush").deferred, 1);
    // Not due yet: a plain flush leaves it alone.
    let report = outbox.flush(&mut t).expect("flush");
    assert_eq!((report.waiting, report.attempted.len()), (1, 0));
    let next = outbox.next_due().expect("next").expect("queued");
    let wait = next - std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("now").as_secs_f64();
    assert!((470.0..=730.0).contains(&wait), "backoff {wait}");
    assert_eq!(outbox.retry(None).expect("retry"), 1);
    assert_eq!(outbox.flush(&mut t).expect("flush").delivered, 1);
    assert_eq!(delivered(spool.path()).len(), 1);
}

#[test]
fn a_550_recipient_is_reported_the_others_delivered() {
    let Some(_serial) = support::ready() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path()).expect("open").with_policy(quick());
    let spool = tempfile::tempdir().expect("tempdir");
    let _mx = Server::start("127.0.1.10", "sink", Some(spool.path()), &["--reject-prefix", "reject"]);
    let (env, raw) = message("a@client.test", &["ok@partial.test", "rejected@partial.test"], "queued 550");
    let id = outbox.add(&env, &raw).expect("add");
    let report = outbox.flush(&mut mx(Duration::from_secs(5))).expect("flush");
    assert_eq!(report.failed, 1);
    let dsn = std::fs::read_to_string(dir.path().join("failed").join(&id).join("delivery-status.txt")).expect("dsn");
    let expected = "Final-Recipient: rfc822; rejected@partial.test\nAction: failed\nStatus: 5.1.1\n\
                    Remote-MTA: dns; mx.partial.test[127.0.1.10]:2525\n\
                    Diagnostic-Code: smtp; 550 No such user here\n";
    assert!(dsn.contains(expected), "{dsn}");
    assert!(dsn.contains("Final-Recipient: rfc822; ok@partial.test\nAction: delivered"), "{dsn}");
    assert_eq!(delivered(spool.path()).len(), 1);
}

#[test]
fn null_mx_fails_at_once_and_old_messages_give_up() {
    let Some(_serial) = support::ready() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox =
        Outbox::open(dir.path()).expect("open").with_policy(RetryPolicy { max_age: Duration::ZERO, ..quick() });
    let (env, raw) = message("a@client.test", &["x@nullmx.test"], "queued nullmx");
    let null = outbox.add(&env, &raw).expect("add");
    let (env, raw) = message("a@client.test", &["x@down.test"], "queued too old");
    let old = outbox.add(&env, &raw).expect("add");
    let report = outbox.flush(&mut mx(Duration::from_secs(1))).expect("flush");
    assert_eq!(report.failed, 2, "{report:?}");
    let read = |id: &str| std::fs::read_to_string(dir.path().join("failed").join(id).join("delivery-status.txt"));
    let null_dsn = read(&null).expect("dsn");
    assert!(null_dsn.contains("null MX") && null_dsn.contains("Status: 5.1.10"), "{null_dsn}");
    let gave_up = read(&old).expect("dsn");
    assert!(gave_up.contains("gave up after 1 attempts") && gave_up.contains("Status: 4.4.7"), "{gave_up}");
}

#[test]
fn the_envelope_is_validated_before_queueing() {
    assert!(Envelope::new("a@x.test", ["bad address@x.test"]).is_err());
    assert!(Envelope::new("a@x.test", Vec::<String>::new()).is_err());
}

#[test]
fn a_recipient_in_to_and_cc_is_delivered_once_and_leaves_the_queue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path().join("out")).expect("open").with_policy(quick());
    // Listed twice, the second time with the domain in capitals: one recipient.
    let raw = b"From: a@client.test\r\nTo: v@x.test\r\nCc: v@X.TEST, w@x.test\r\nSubject: dup\r\n\r\nbody\r\n";
    outbox.add_message(raw).expect("add");
    let rcpts: Vec<String> =
        outbox.status().expect("status")[0].message.recipients.iter().map(|r| r.address.clone()).collect();
    assert_eq!(rcpts, ["v@x.test", "w@x.test"]);
    let mut t = MaildirTransport::new(dir.path().join("inbox"));
    let report = outbox.flush(&mut t).expect("flush");
    assert_eq!((report.delivered, report.deferred), (1, 0));
    assert!(outbox.status().expect("status").is_empty(), "queue empty");
    assert_eq!(files_in(&dir.path().join("inbox/new")), 1, "delivered once");
    // A local part differs by case: two mailboxes, as RFC 5321 lets the receiving host decide.
    let env = Envelope::new("a@client.test", ["V@x.test", "v@x.test", "v@x.TEST"]).expect("envelope");
    assert_eq!(env.to(), ["V@x.test", "v@x.test"]);
}

#[test]
fn a_queued_state_with_a_duplicate_recipient_is_still_finished() {
    // A state written before envelopes were deduplicated lists one address twice.
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path().join("out")).expect("open").with_policy(quick());
    let (env, raw) = message("a@client.test", &["v@x.test"], "old");
    let id = outbox.add(&env, &raw).expect("add");
    let state_path = dir.path().join("out/queue").join(&id).join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state_path).expect("read")).expect("json");
    let copy = state["recipients"][0].clone();
    state["recipients"].as_array_mut().expect("array").push(copy);
    std::fs::write(&state_path, serde_json::to_vec(&state).expect("json")).expect("write");
    let mut t = MaildirTransport::new(dir.path().join("inbox"));
    let report = outbox.flush(&mut t).expect("flush");
    assert_eq!((report.delivered, report.deferred), (1, 0), "{:?}", report.attempted);
    assert!(outbox.status().expect("status").is_empty());
}

/// Accepts every recipient but the ones it is told to leave out of its receipt.
struct Forgetful(Vec<String>);

impl mailwright::inject::Transport for Forgetful {
    fn send_raw(
        &mut self,
        envelope: &Envelope,
        _raw: &[u8],
    ) -> Result<mailwright::inject::Receipt, mailwright::inject::InjectError> {
        let recipients = envelope
            .to()
            .iter()
            .filter(|a| !self.0.contains(a))
            .map(|a| mailwright::inject::RecipientResult {
                code: Some(250),
                ..mailwright::inject::RecipientResult::new(a.clone(), RecipientStatus::Accepted, "ok")
            })
            .collect();
        Ok(mailwright::inject::Receipt {
            transport: "test",
            destination: "nowhere".into(),
            queue_id: None,
            recipients,
            peer: None,
            tls: None,
        })
    }
}

#[test]
fn a_recipient_without_a_result_is_a_transient_failure_that_max_age_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path().join("out")).expect("open").with_policy(quick());
    let (env, raw) = message("a@client.test", &["a@x.test", "lost@x.test"], "forgotten");
    outbox.add(&env, &raw).expect("add");
    let mut t = Forgetful(vec!["lost@x.test".into()]);
    let report = outbox.flush(&mut t).expect("flush");
    assert_eq!(report.deferred, 1);
    let r = &report.attempted[0].recipients;
    assert_eq!((r[0].status, r[1].status), (RecipientStatus::Accepted, RecipientStatus::Transient));
    assert!(r[1].text.contains("no result"), "{}", r[1].text);
    // Past the maximum age it fails for good, with a report.
    let old = Outbox::open(dir.path().join("out"))
        .expect("open")
        .with_policy(RetryPolicy { max_age: Duration::ZERO, ..quick() });
    std::thread::sleep(Duration::from_millis(20));
    let report = old.flush(&mut t).expect("flush");
    assert_eq!(report.failed, 1, "{:?}", report.attempted);
    let status = old.status().expect("status");
    assert_eq!(status[0].state, EntryState::Failed);
    assert_eq!(status[0].message.recipients[1].enhanced_code.as_deref(), Some("4.4.7"));
}

#[test]
fn a_lost_answer_after_the_data_is_never_resent_in_the_same_call() {
    let Some(_serial) = support::ready() else { return };
    let spool = tempfile::tempdir().expect("tempdir");
    // Answers the first message; then reads two whole messages and hangs up without a word.
    let _s = Server::start("127.0.1.23", "lose-reply", Some(spool.path()), &["--resets", "2", "--after", "1"]);
    let mut c = mailwright::inject::SmtpConfig::from_url("smtp://127.0.1.23:2525").expect("url");
    c.security = mailwright::inject::smtp::Security::Opportunistic;
    c.allow_plaintext = true;
    c.reply_timeout = Duration::from_secs(5);
    let mut t = mailwright::inject::SmtpTransport::new(c).expect("transport");
    let (env, first) = message("a@client.test", &["b@x.test"], "first");
    t.send_smtp(&env, &first).expect("first");
    // On the kept connection: the answer is lost, and the message is not sent again.
    let (env, second) = message("a@client.test", &["b@x.test"], "second");
    let err = t.send_smtp(&env, &second).expect_err("no answer");
    assert!(matches!(err, mailwright::inject::SmtpError::OutcomeUnknown { .. }), "{err}");
    assert!(err.is_transient());
    assert_eq!(delivered(spool.path()).len(), 2, "the second message went out once");
    // Through the outbox it stays queued, and goes again on a later flush: at least once.
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = Outbox::open(dir.path()).expect("open").with_policy(quick());
    let (env, third) = message("a@client.test", &["b@x.test"], "third");
    outbox.add(&env, &third).expect("add");
    let report = outbox.flush(&mut t).expect("flush");
    assert_eq!(report.deferred, 1);
    assert!(report.attempted[0].recipients[0].text.contains("may have been delivered"));
    assert_eq!(delivered(spool.path()).len(), 3);
    outbox.retry(None).expect("retry");
    assert_eq!(outbox.flush(&mut t).expect("flush").delivered, 1);
    assert_eq!(delivered(spool.path()).len(), 4);
    assert!(outbox.status().expect("status").is_empty());
}
