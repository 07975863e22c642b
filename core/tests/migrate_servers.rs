//! The migration's two servers (`scripts/mail-servers start`): "old" on 127.0.4.1 names its
//! special folders as Exchange does ("Sent Items", hierarchy "/"), "new" on 127.0.4.2 as Dovecot
//! does ("Sent", hierarchy "."), and the folder plan meets them by SPECIAL-USE.

use std::path::PathBuf;
use std::time::Duration;

use mailwright::fetch::{FetchError, ImapConfig};
use mailwright::migrate::MigrateError;
use mailwright::migrate::folders::plan;
use mailwright::migrate::imap::Account;

mod migrate_support;
use migrate_support::{CA, NEW, OLD, up};

fn config(addr: &str, user: &str, password: &str) -> ImapConfig {
    let mut c = ImapConfig::from_url(&format!("imaps://{addr}"), user, password).expect("url");
    c.ca_file = Some(PathBuf::from(CA));
    c.timeout = Duration::from_secs(20);
    c
}

#[test]
fn special_folders_of_old_and_new_meet_by_their_use() {
    if !up() {
        return;
    }
    let user = format!("plan{}@example.test", std::process::id());
    let mut old = Account::connect(config(OLD.0, &user, "oldpw")).expect("old");
    let mut new = Account::connect(config(NEW.0, &user, "newpw")).expect("new");
    let (from, to) = (old.folders().expect("old folders"), new.folders().expect("new folders"));
    old.logout();
    new.logout();
    assert!(from.iter().any(|f| f.name == "Sent Items" && f.separator == Some('/')), "{from:?}");
    assert!(to.iter().any(|f| f.name == "Sent" && f.separator == Some('.')), "{to:?}");
    let got: Vec<(String, String)> = plan(&from, &to, &[], '.').into_iter().map(|m| (m.from, m.to)).collect();
    for pair in [
        ("INBOX", "INBOX"),
        ("Sent Items", "Sent"),
        ("Deleted Items", "Trash"),
        ("Junk E-mail", "Junk"),
        ("Drafts", "Drafts"),
    ] {
        assert!(got.contains(&(pair.0.to_string(), pair.1.to_string())), "{pair:?} in {got:?}");
    }
}

#[test]
fn a_wrong_password_is_refused_as_a_login_error() {
    if !up() {
        return;
    }
    match Account::connect(config(OLD.0, "someone@example.test", "wrong")) {
        Err(MigrateError::Imap(FetchError::Auth { .. })) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn new_enforces_a_quota_written_for_one_user() {
    if !up() {
        return;
    }
    use std::io::Write;
    let user = format!("quota{}@example.test", std::process::id());
    // Dovecot notices the file by its modification time: a second later than any earlier write.
    std::thread::sleep(Duration::from_millis(1100));
    let mut f =
        std::fs::OpenOptions::new().append(true).open("/etc/mailwright-test/migrate-quota").expect("quota file");
    writeln!(f, "{user}:::::::userdb_quota_rule=*:storage=1M").expect("write");
    drop(f);
    // Dovecot looks at the file at most once a second, at a lookup (other tests log in meanwhile).
    let mut text = String::new();
    for _ in 0..50 {
        let out = std::process::Command::new("doveadm")
            .args(["-c", NEW.1, "quota", "get", "-u", &user])
            .output()
            .expect("doveadm");
        text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.lines().any(|l| l.contains("STORAGE") && l.contains("1024")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("no quota of 1024 kB: {text}");
}
