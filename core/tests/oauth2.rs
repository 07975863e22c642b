//! OAuth2 logins against the test Dovecot (its `oauth2` passdb checks HS256 JWTs locally with
//! the key `scripts/mail-servers` made) and Postfix submission (Dovecot SASL): XOAUTH2 and
//! OAUTHBEARER over IMAP and SMTP, a token file and a token command, and an expired token that
//! the command replaces when the server refuses it.

use std::path::{Path, PathBuf};
use std::process::Command;

use mailwright::fetch::{FetchError, Fetcher};
use mailwright::oauth2::{Mechanism, OAuth2};

mod imap_support;
mod token_support;
use imap_support::{CA, MAIN, USER, config};
use token_support::{KEY, jwt};

fn up() -> bool {
    if !MAIN.up() {
        return false;
    }
    let have = Path::new(KEY).exists();
    if !have {
        let msg = "SKIPPED OAuth2 tests: no key in /etc/mailwright-test/oauth2 (run `scripts/mail-servers start`)";
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{msg}; CI must not skip");
        eprintln!("\n*** {msg} ***\n");
    }
    have
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{text}\n")).expect("write");
    p
}

#[test]
fn imap_with_xoauth2_and_oauthbearer_tokens() {
    if !up() {
        return;
    }
    let name = MAIN.folder("oauth", 2, 300);
    let dir = tempfile::tempdir().expect("tempdir");
    let token = write(dir.path(), "token", &jwt(USER, 600));
    for (mechanism, url) in [(None, "imap://127.0.0.1"), (Some(Mechanism::OAuthBearer), "imaps://127.0.0.1")] {
        let mut c = config(url);
        c.password = "not the password".into();
        let mut login = OAuth2::from_file(USER, &token);
        login.mechanism = mechanism;
        c.oauth2 = Some(login);
        let maildir = dir.path().join(format!("{mechanism:?}"));
        let mut f = Fetcher::connect(c, &maildir).unwrap_or_else(|e| panic!("{mechanism:?}: {e}"));
        assert_eq!(f.sync_folder(&name, |_| {}).expect("sync").fetched, 2);
    }
}

#[test]
fn an_expired_token_is_replaced_by_the_command_and_a_bad_one_is_refused() {
    if !up() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let expired = write(dir.path(), "expired", &jwt(USER, -60));
    let valid = write(dir.path(), "valid", &jwt(USER, 600));
    let calls = dir.path().join("calls");
    // The first call prints the expired token, later ones the fresh one; every call is counted.
    let script = "echo x >> \"$1\"; if [ \"$(wc -l < \"$1\")\" -eq 1 ]; then cat \"$2\"; else cat \"$3\"; fi";
    let mut argv: Vec<String> = ["sh", "-c", script, "sh"].iter().map(|s| s.to_string()).collect();
    argv.extend([&calls, &expired, &valid].iter().map(|p| p.display().to_string()));
    let mut c = config("imap://127.0.0.1");
    c.oauth2 = Some(OAuth2::from_command(USER, argv).expect("command"));
    let f = Fetcher::connect(c, dir.path().join("M")).expect("the second token logs in");
    f.logout();
    assert_eq!(std::fs::read_to_string(&calls).expect("calls").lines().count(), 2, "asked again after the refusal");

    // Always expired: refused, not retried for ever, and the token is in no message.
    let mut c = config("imap://127.0.0.1");
    c.oauth2 = Some(OAuth2::from_file(USER, &expired));
    let e = Fetcher::connect(c, dir.path().join("M")).expect_err("refused");
    assert!(matches!(e, FetchError::Auth { .. }) && !e.is_transient(), "{e}");
    let secret = std::fs::read_to_string(&expired).expect("token");
    assert!(!e.to_string().contains(secret.trim()) && !format!("{e:?}").contains(secret.trim()));
    // Someone else's token does not open bob's mailbox.
    let mut c = config("imap://127.0.0.1");
    c.oauth2 = Some(OAuth2::from_file(USER, write(dir.path(), "alice", &jwt("alice@example.test", 600))));
    assert!(Fetcher::connect(c, dir.path().join("M")).is_err());
}

#[test]
fn cli_fetch_and_send_with_tokens() {
    if !up() || std::net::TcpStream::connect("127.0.0.1:587").is_err() {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "no Postfix on 587; CI must not skip");
        return;
    }
    let name = MAIN.folder("oauthcli", 1, 300);
    let dir = tempfile::tempdir().expect("tempdir");
    let token = write(dir.path(), "token", &jwt("alice@example.test", 600));
    let bob = write(dir.path(), "bob", &jwt(USER, 600));
    let mw = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mailwright"));
        c.env_remove("MAILWRIGHT_PASSWORD");
        c
    };
    let o = mw()
        .args(["fetch", "--imap", "imaps://127.0.0.1", "--user", USER, "--ca-file", CA, "--folder", &name])
        .args(["--oauth2-token-command", &format!("cat '{}'", bob.display())])
        .arg("--maildir")
        .arg(dir.path().join("M"))
        .output()
        .expect("fetch");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for mechanism in ["oauthbearer", "xoauth2"] {
        let o = mw()
            .args(["send", "--smtp", "smtp://127.0.0.1:587", "--user", "alice@example.test", "--ca-file", CA])
            .args(["--oauth2-token-file", token.to_str().expect("utf-8"), "--oauth2-mechanism", mechanism])
            .args(["--from", "alice@example.test", "--to", USER, "--subject", "oauth2", "--text", "hello"])
            .output()
            .expect("send");
        assert!(o.status.success(), "{mechanism}: {}", String::from_utf8_lossy(&o.stderr));
    }
    // Bob's token is not Alice's login.
    let o = mw()
        .args(["send", "--smtp", "smtp://127.0.0.1:587", "--user", "alice@example.test", "--ca-file", CA])
        .args(["--oauth2-token-file", bob.to_str().expect("utf-8")])
        .args(["--from", "alice@example.test", "--to", USER, "--subject", "oauth2", "--text", "hello"])
        .output()
        .expect("send");
    // Refused (535, exit 69); or, when Dovecot's delay after failed logins outlasts Postfix's
    // wait for its answer, "454 temporary authentication failure" (exit 75). Never sent.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(matches!(o.status.code(), Some(69 | 75)) && err.contains("authentication failed"), "{err}");
}

#[test]
fn a_bot_replies_through_submission_with_a_token() {
    if !up() || std::net::TcpStream::connect("127.0.0.1:587").is_err() {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "no Postfix on 587; CI must not skip");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let md = mailwright::mailbox::Maildir::create(dir.path().join("Maildir")).expect("maildir");
    md.deliver(format!("From: {USER}\r\nTo: alice@example.test\r\nSubject: ping\r\n\r\nhi\r\n").as_bytes())
        .expect("deliver");
    write(dir.path(), "token", &jwt("alice@example.test", 600));
    let text = format!(
        "[source]\nmaildir = \"Maildir\"\n[bot]\nreply_unauthenticated = true\n[transport]\n\
         from = \"alice@example.test\"\nsmtp = \"smtp://127.0.0.1:587\"\nuser = \"alice@example.test\"\n\
         ca_file = \"{CA}\"\noauth2_token_file = \"token\"\n[[rule]]\nname = \"pong\"\n  [[rule.action]]\n  \
         type = \"reply\"\n  text = \"pong\"\n"
    );
    let rules = mailwright::bot::Rules::from_toml(&text, dir.path()).expect("rules");
    let mut bot = mailwright::bot::Bot::new(rules, false).expect("bot").on_log(|_| {});
    let report = bot.run_once().expect("run");
    assert_eq!((report.handled, report.quarantined), (1, 0), "{report:?}");
    drop(bot);
    // With someone else's token the reply cannot leave: the message is not counted as handled.
    md.deliver(format!("From: {USER}\r\nTo: alice@example.test\r\nSubject: ping 2\r\n\r\nhi\r\n").as_bytes())
        .expect("deliver");
    write(dir.path(), "token", &jwt(USER, 600));
    let rules = mailwright::bot::Rules::from_toml(&text, dir.path()).expect("rules");
    let mut bot = mailwright::bot::Bot::new(rules, false).expect("bot").on_log(|_| {});
    let report = bot.run_once().expect("run");
    assert_eq!(report.handled, 0, "{report:?}");
}
