//! The mailbot against hostile mail and faults: message data that would become a program's
//! option, placeholders inside message data, names that would escape or collide, two bots on
//! one Maildir, secrets in children's environments, programs that time out or kill the bot,
//! and mail a client already marked as seen.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use mailwright::bot::{Bot, Rules};
use mailwright::build::MessageBuilder;
use mailwright::mailbox::Maildir;
use serde_json::Value;

fn deliver(md: &Maildir, subject: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = MessageBuilder::new().from("jane@example.org").to("bot@example.org").subject(subject).text("hi\r\n");
    for (name, data) in files {
        b = b.attach_bytes(*name, data.to_vec());
    }
    let raw = b.build().expect("build");
    md.deliver(&raw).expect("deliver");
    raw
}

fn count(dir: &Path) -> usize {
    ["new", "cur"].iter().map(|s| std::fs::read_dir(dir.join(s)).map(|d| d.count()).unwrap_or(0)).sum()
}

/// A rules file with one rule running `sh -c SCRIPT sh ARGS…` (the arguments land in `args.txt`
/// one per line when the script is the default).
fn rules(dir: &Path, bot: &str, command: &[&str]) -> Rules {
    let cmd: Vec<String> = command.iter().map(|a| format!("{a:?}")).collect();
    let text = format!(
        "[source]\nmaildir = \"Maildir\"\n[bot]\n{bot}\n[[rule]]\nname = \"r\"\n  [[rule.action]]\n  type = \"run\"\n  command = [{}]\n",
        cmd.join(", ")
    );
    Rules::from_toml(&text, dir).expect("rules")
}

fn quiet(bot: Bot) -> Bot {
    bot.on_log(|_| {})
}

fn reasons(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join(".mailwright-bot/quarantine"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let v: Value = serde_json::from_slice(&std::fs::read(e.path()).expect("read")).expect("json");
            v["reason"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

const RECORD: &str = "printf '%s\\n' \"$@\" > \"$0.args\"";

#[test]
fn message_data_never_becomes_an_option() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    let out = dir.path().join("out");
    let out_s = out.to_string_lossy().into_owned();
    // A subject that is an option: refused, the message quarantined with the reason.
    deliver(&md, "-rf", &[]);
    let r = rules(dir.path(), "", &["sh", "-c", RECORD, &out_s, "{subject}"]);
    let report = quiet(Bot::new(r, false).expect("bot")).run_once().expect("run");
    assert_eq!((report.handled, report.quarantined), (0, 1));
    assert!(!Path::new(&format!("{out_s}.args")).exists(), "the program never ran");
    let why = reasons(dir.path());
    assert!(why[0].contains("'-'") && why[0].contains("-rf"), "{why:?}");
    // The same subject after a template's own text is fine: it cannot start the argument.
    std::fs::remove_dir_all(dir.path().join(".mailwright-bot")).expect("reset");
    deliver(&md, "-rf", &[]);
    let r = rules(dir.path(), "", &["sh", "-c", RECORD, &out_s, "--subject={subject}"]);
    let report = quiet(Bot::new(r, false).expect("bot")).run_once().expect("run");
    assert_eq!(report.handled, 1);
    assert_eq!(std::fs::read_to_string(format!("{out_s}.args")).expect("args"), "--subject=-rf\n");
}

#[test]
fn attachment_names_reach_programs_as_paths_and_placeholders_expand_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    let out = dir.path().join("out");
    let out_s = out.to_string_lossy().into_owned();
    deliver(&md, "see {dir} and {hash}", &[("-o=evil.pdf", b"%PDF-1 evil")]);
    let r = rules(dir.path(), "", &["sh", "-c", RECORD, &out_s, "{file}", "{subject}"]);
    let report = quiet(Bot::new(r, false).expect("bot")).run_once().expect("run");
    assert_eq!(report.handled, 1, "{:?}", reasons(dir.path()));
    let args = std::fs::read_to_string(format!("{out_s}.args")).expect("args");
    let lines: Vec<&str> = args.lines().collect();
    assert!(lines[0].starts_with('/') && lines[0].ends_with("/-o=evil.pdf"), "{lines:?}");
    assert_eq!(std::fs::read(lines[0]).expect("saved"), b"%PDF-1 evil");
    // Placeholders inside the subject reach the program as written.
    assert_eq!(lines[1], "see {dir} and {hash}");
}

#[test]
fn saved_names_go_through_the_sandbox_and_never_meet_the_manifest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    deliver(&md, "names", &[("..", b"dots"), ("manifest.json", b"{\"fake\": true}"), ("a/../../b.txt", b"b")]);
    let text = "[source]\nmaildir = \"Maildir\"\n[[rule]]\nname = \"r\"\n  [[rule.action]]\n  type = \"save\"\n  dir = \"saved\"\n  [[rule.action]]\n  type = \"dissect\"\n  dir = \"parts\"\n";
    let r = Rules::from_toml(text, dir.path()).expect("rules");
    let report = quiet(Bot::new(r, false).expect("bot")).run_once().expect("run");
    assert_eq!((report.handled, report.quarantined), (1, 0), "{:?}", reasons(dir.path()));
    let only = |p: &Path| std::fs::read_dir(p).expect("read").next().expect("one").expect("entry").path();
    let saved = only(&dir.path().join("saved"));
    let mut names: Vec<String> =
        std::fs::read_dir(&saved).expect("read").map(|e| e.expect("e").file_name().to_string_lossy().into()).collect();
    names.sort();
    assert_eq!(names, ["b.txt", "manifest.json", "part-2.bin"]);
    assert_eq!(std::fs::read(saved.join("part-2.bin")).expect("read"), b"dots");
    // The dissect output's manifest is the bot's; the attachment of that name got another.
    let parts = only(&dir.path().join("parts"));
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(parts.join("manifest.json")).expect("m")).expect("json");
    let fake = manifest["attachments"].as_array().expect("list").iter().find(|a| a["filename"] == "manifest.json");
    let fake = fake.expect("listed");
    assert_eq!(fake["saved_as"], "manifest-1.json");
    let bytes = std::fs::read(parts.join("manifest-1.json")).expect("read");
    assert_eq!(fake["sha256"], mailwright::dissect::sha256_hex(&bytes));
    assert_eq!(bytes, b"{\"fake\": true}");
    // Nothing anywhere outside the two output folders.
    assert!(!dir.path().join("b.txt").exists());
}

#[test]
fn one_bot_per_maildir_whatever_the_state_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    Maildir::create(dir.path().join("Maildir")).expect("maildir");
    let first = Bot::new(rules(dir.path(), "state = \"s1\"", &["true"]), false).expect("bot");
    let err = Bot::new(rules(dir.path(), "state = \"s2\"", &["true"]), false).expect_err("second bot");
    assert!(matches!(err, mailwright::bot::BotError::MaildirBusy(_)), "{err}");
    assert!(err.to_string().contains("Maildir"), "{err}");
    drop(first);
    Bot::new(rules(dir.path(), "state = \"s2\"", &["true"]), false).expect("free again");
}

#[test]
fn children_get_a_clean_environment_and_no_debug_shows_a_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    deliver(&md, "env", &[]);
    let env_file = dir.path().join("env.txt");
    // SAFETY: this test binary's other tests do not read these variables.
    unsafe {
        std::env::set_var("MAILWRIGHT_PASSWORD", "hunter2-secret");
        std::env::set_var("SOME_TOKEN", "tok-secret");
        std::env::set_var("LC_ALL", "C");
    }
    let r = rules(dir.path(), "", &["sh", "-c", "env > \"$0\"", &env_file.to_string_lossy()]);
    let report = quiet(Bot::new(r, false).expect("bot")).run_once().expect("run");
    assert_eq!(report.handled, 1);
    let env = std::fs::read_to_string(&env_file).expect("env");
    assert!(!env.contains("hunter2") && !env.contains("tok-secret"), "{env}");
    assert!(env.lines().any(|l| l.starts_with("PATH=")) && env.contains("LC_ALL=C"), "{env}");

    let mut c = mailwright::inject::SmtpConfig::from_url("smtp://127.0.0.1").expect("url");
    c.credentials = Some(("bob".into(), "hunter2-secret".into()));
    let d = mailwright::inject::Destination {
        credentials: Some(("bob".into(), "hunter2-secret".into())),
        oauth2: None,
        ..Default::default()
    };
    for shown in [format!("{c:?}"), format!("{d:?}")] {
        assert!(!shown.contains("hunter2") && shown.contains("bob"), "{shown}");
    }
}

#[test]
fn a_timeout_kills_the_whole_group_and_is_retried_then_quarantined() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    deliver(&md, "slow", &[]);
    let pids = dir.path().join("pids");
    // The program leaves a grandchild behind and waits for it.
    let script = "sleep 30 & echo $! >> \"$0\"; wait";
    let r = rules(dir.path(), "run_timeout = 1\nretries = 2", &["sh", "-c", script, &pids.to_string_lossy()]);
    let mut bot = quiet(Bot::new(r, false).expect("bot"));
    for round in 0..3 {
        let report = bot.run_once().expect("run");
        assert_eq!((report.retrying, report.quarantined), (1, 0), "round {round}");
        assert_eq!(count(&dir.path().join("Maildir/.mailwright-processing")), 1, "kept claimed");
    }
    let report = bot.run_once().expect("run");
    assert_eq!((report.retrying, report.quarantined), (0, 1), "tried 1 + 2 times, then quarantined");
    assert_eq!(count(&dir.path().join("Maildir/.Quarantine")), 1);
    assert!(reasons(dir.path())[0].contains("tried 3 times"), "{:?}", reasons(dir.path()));
    let text = std::fs::read_to_string(&pids).expect("pids");
    assert_eq!(text.lines().count(), 3);
    std::thread::sleep(Duration::from_millis(200));
    for pid in text.lines() {
        // Gone, or a zombie nobody reaped yet: not running.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().unwrap_or("").split_whitespace().next().unwrap_or("");
        assert!(stat.is_empty() || state == "Z", "grandchild {pid} still runs: {stat}");
    }
}

#[test]
fn a_message_that_kills_the_bot_is_quarantined_after_its_retries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    deliver(&md, "fatal", &[]);
    // The program kills the bot that runs it: a crash in the middle of the message.
    let text = "[source]\nmaildir = \"Maildir\"\n[[rule]]\nname = \"r\"\n  [[rule.action]]\n  type = \"run\"\n  command = [\"sh\", \"-c\", \"kill -9 $PPID\"]\n";
    std::fs::write(dir.path().join("rules.toml"), text).expect("rules");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_mailwright"))
            .args(["bot", "--rules"])
            .arg(dir.path().join("rules.toml"))
            .output()
            .expect("bot")
    };
    for k in 0..4 {
        let out = run();
        assert!(!out.status.success(), "run {k} was killed");
    }
    let out = run();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&dir.path().join("Maildir/.Quarantine")), 1);
    assert!(reasons(dir.path())[0].contains("tried 4 times"), "{:?}", reasons(dir.path()));
}

#[test]
fn with_done_empty_a_message_marked_seen_elsewhere_is_still_handled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let md = Maildir::create(dir.path().join("Maildir")).expect("maildir");
    deliver(&md, "read in a client", &[]);
    // A mail client showed it: cur/, flagged S, never handled by the bot.
    let e = md.entries().expect("entries").next().expect("one").expect("entry");
    md.set_flags(&e, "S").expect("flag");
    let marks = dir.path().join("marks");
    let r = rules(dir.path(), "done = \"\"", &["sh", "-c", "echo x >> \"$0\"", &marks.to_string_lossy()]);
    let mut bot = quiet(Bot::new(r, false).expect("bot"));
    assert_eq!(bot.run_once().expect("run").handled, 1);
    // Now in the ledger: the next runs leave it where it is.
    assert_eq!(bot.run_once().expect("run").handled, 0);
    drop(bot);
    let r = rules(dir.path(), "done = \"\"", &["sh", "-c", "echo x >> \"$0\"", &marks.to_string_lossy()]);
    assert_eq!(quiet(Bot::new(r, false).expect("bot")).run_once().expect("run").handled, 0);
    assert_eq!(std::fs::read_to_string(&marks).expect("marks"), "x\n");
    assert_eq!(count(md.path()), 1);
}
