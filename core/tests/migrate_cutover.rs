//! The cutover: `migrate plan` and `migrate check` against the test DNS (dnsmasq on
//! 127.0.0.1:5353: exam.test before the cutover with long TTLs, ready.test with them lowered),
//! the new MX (Postfix, mail.example.test) and the migration's Dovecots; the rollback's reverse
//! delta; and a destination account that logs in with an OAuth2 token.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod migrate_support;
mod token_support;
use migrate_support::{CA, DOMAIN, NEW, OLD, Seed, message, migrate, prefix, seed, summary, up, users_file};

const RESOLVER: &str = "127.0.0.1:5353";

fn cli(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mailwright")).args(args).output().expect("mailwright");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
}

fn cutover(action: &str, domain: &str, extra: &[&str]) -> (i32, Value, String) {
    let (old_mx, old_imap) = (format!("mx.old.{domain}"), format!("imap.{domain}"));
    let mut args = vec![
        "migrate",
        action,
        "--domain",
        domain,
        "--old-mx",
        &old_mx,
        "--new-mx",
        "mail.example.test",
        "--old-imap",
        &old_imap,
        "--new-imap",
        NEW.0,
        "--window",
        "6h",
        "--resolver",
        RESOLVER,
        "--ca-file",
        CA,
    ];
    args.extend_from_slice(extra);
    let owned: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    cli(&owned.iter().map(String::as_str).collect::<Vec<_>>())
}

fn status(doc: &Value, list: &str, id: &str) -> String {
    doc[list]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == id))
        .map(|f| f["status"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| panic!("no {id} in {doc}"))
}

fn seeded(tag: &str, n: usize) -> String {
    let user = format!("{}@{DOMAIN}", prefix(tag));
    let msgs: Vec<Seed> = (0..n)
        .map(|i| Seed { raw: message(tag, i, 2000, i % 3 != 0), flags: "S", keywords: vec![], date: 1_500_000_000 })
        .collect();
    seed(&user, "", &msgs);
    user
}

#[test]
fn the_plan_reads_the_zone_flags_the_long_ttl_and_orders_both_sides() {
    if !up() {
        return;
    }
    let (code, plan, text) = cutover("plan", "exam.test", &["--json"]);
    assert_eq!(code, 0, "{text}");
    let changed: Vec<String> = plan["zone"]["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["changes"] == true)
        .map(|r| {
            format!(
                "{} {} {}",
                r["name"].as_str().unwrap_or_default(),
                r["type"].as_str().unwrap_or_default(),
                r["ttl"]
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            "_imaps._tcp.exam.test SRV 60",
            "autoconfig.exam.test CNAME 3600",
            "exam.test MX 60",
            "imap.exam.test A 86400"
        ]
    );
    assert_eq!(status(&plan, "findings", "ttl.window"), "warn");
    assert!(plan["findings"].to_string().contains("imap.exam.test A 127.0.4.1 (TTL 86400)"), "{}", plan["findings"]);
    for id in ["mx.old", "mx.new", "imap.new"] {
        assert_eq!(status(&plan, "findings", id), "pass", "{id}");
    }
    let steps = plan["steps"].as_array().expect("steps");
    let first = &steps[0];
    assert_eq!((first["side"].as_str(), first["at"].as_i64()), (Some("old DNS"), Some(-(86_400 + 86_400))));
    let sides: Vec<&str> = steps.iter().filter_map(|s| s["side"].as_str()).collect();
    for side in ["old DNS", "new DNS", "old server", "new server", "mailwright"] {
        assert!(sides.contains(&side), "{side}: {sides:?}");
    }
    let switch = steps.iter().find(|s| s["side"] == "new DNS").expect("switch");
    assert!(
        switch["action"].as_str().unwrap_or_default().contains("keep the old host as 20 mx.old.exam.test"),
        "{switch}"
    );
    // People read the same plan as a table and numbered steps.
    let (code, _, text) = cutover("plan", "exam.test", &[]);
    assert_eq!(code, 0);
    assert!(text.contains("* imap.exam.test") && text.contains("[old DNS] Lower the TTL"), "{text}");

    // A T0 an hour away leaves the 86400 s TTL no time to run out: the plan fails.
    let soon = time_in(3600);
    let (code, plan, _) = cutover("plan", "exam.test", &["--json", "--start", &soon]);
    assert_eq!((code, status(&plan, "findings", "ttl.start").as_str()), (2, "fail"));
    let (code, plan, _) = cutover("plan", "exam.test", &["--json", "--start", &time_in(3 * 86_400)]);
    assert_eq!((code, status(&plan, "findings", "ttl.start").as_str()), (0, "pass"));
    assert!(plan["steps"][0]["when"].as_str().is_some_and(|w| w.ends_with('Z')));
}

fn time_in(seconds: u64) -> String {
    let t = std::time::SystemTime::now() + std::time::Duration::from_secs(seconds);
    let secs = t.duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64;
    let d = mail_parser::DateTime::from_timestamp(secs);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", d.year, d.month, d.day, d.hour, d.minute, d.second)
}

#[test]
fn a_dns_that_does_not_answer_is_a_temporary_failure_and_bad_arguments_are_usage() {
    // Nothing answers DNS on port 9 of 127.0.0.1: not "no records", exit 75.
    let (code, _, text) = cli(&[
        "migrate",
        "plan",
        "--domain",
        "exam.test",
        "--old-mx",
        "a",
        "--new-mx",
        "b",
        "--old-imap",
        "c",
        "--new-imap",
        "d",
        "--resolver",
        "127.0.0.1:9",
        "--timeout",
        "1",
    ]);
    assert_eq!(code, 75, "{text}");
    for bad in [
        vec!["migrate", "plan", "--domain", "exam.test"],
        vec![
            "migrate",
            "plan",
            "--domain",
            "x",
            "--old-mx",
            "a",
            "--new-mx",
            "b",
            "--old-imap",
            "c",
            "--new-imap",
            "d",
            "--window",
            "6x",
        ],
        vec![
            "migrate",
            "plan",
            "--domain",
            "x",
            "--old-mx",
            "a",
            "--new-mx",
            "b",
            "--old-imap",
            "c",
            "--new-imap",
            "d",
            "--start",
            "soon",
        ],
        vec!["migrate", "--from", "imaps://127.0.4.1"],
    ] {
        let (code, _, text) = cli(&bad);
        assert_eq!(code, 1, "{bad:?}: {text}");
    }
}

#[test]
fn check_fails_before_the_ttls_are_lowered_and_passes_when_everything_is_ready() {
    if !up() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let users: Vec<(String, String)> =
        (0..2).map(|i| seeded("chk", 60 + i)).map(|u| (u.clone(), u.replace("chk", "chkn"))).collect();
    let file = users_file(dir.path(), &users, None);
    let state = dir.path().join("state");
    let migration = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> =
            ["--json", "--from", &format!("imaps://{}", OLD.0), "--to", &format!("imaps://{}", NEW.0)]
                .iter()
                .map(|s| s.to_string())
                .collect();
        v.extend(["--users".into(), file.display().to_string(), "--state".into(), state.display().to_string()]);
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let args = migration(&[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // Before: TTLs too long; no presync yet, so no rate to judge the delta by.
    let (code, r, text) = cutover("check", "exam.test", &args);
    assert_eq!(code, 2, "{text}");
    assert_eq!(status(&r, "checks", "ttl.lowered"), "fail");
    assert!(r["checks"].to_string().contains("imap.exam.test A (TTL 86400)"), "{text}");
    assert_eq!(status(&r, "checks", "mx.answers"), "pass", "{text}");
    assert_eq!(status(&r, "checks", "imap.login"), "pass", "{text}");
    assert_eq!(status(&r, "checks", "delta.fits"), "skip", "{text}");
    assert_eq!(status(&r, "checks", "dns.switched"), "skip");

    // The presync measures the rate; then everything is ready for ready.test.
    let (code, lines) = migrate(&[], &file, &state);
    assert_eq!((code, summary(&lines)["copied"].as_u64()), (0, Some(121)), "{lines:?}");
    let (code, r, text) = cutover("check", "ready.test", &args);
    assert_eq!(code, 0, "{text}");
    for id in ["ttl.lowered", "mx.answers", "imap.login", "delta.fits"] {
        assert_eq!(status(&r, "checks", id), "pass", "{id}: {text}");
    }
    assert!(r["checks"].to_string().contains("0 messages at the measured rate"), "{text}");

    // A destination account that cannot log in fails the sample.
    let wrong = dir.path().join("wrong.csv");
    std::fs::write(&wrong, format!("{},oldpw,{},not-newpw\n", users[0].0, users[0].1)).expect("write");
    std::fs::set_permissions(&wrong, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let args = migration(&[]);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    let file_text = file.display().to_string();
    let wrong_text = wrong.display().to_string();
    for a in &mut args {
        if *a == file_text {
            *a = &wrong_text;
        }
    }
    let (code, r, text) = cutover("check", "ready.test", &args);
    assert_eq!((code, status(&r, "checks", "imap.login").as_str()), (2, "fail"), "{text}");
    assert!(!text.contains("not-newpw"), "no password in the report");
}

#[test]
fn the_rollback_copies_back_only_what_arrived_on_the_new_side() {
    if !up() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let user = seeded("rb", 20);
    let dest = user.replace("rb", "rbn");
    let file = users_file(dir.path(), &[(user.clone(), dest.clone())], None);
    let (code, lines) = migrate(&[], &file, &dir.path().join("state"));
    assert_eq!((code, summary(&lines)["copied"].as_u64()), (0, Some(20)), "{lines:?}");
    // After the switch two messages arrive on the new side, one of them in Sent.
    for (folder, n) in [("INBOX", 100), ("Sent", 101)] {
        save(NEW.1, &dest, folder, &message("rb-new", n, 1500, true));
    }
    let reverse = |state: &Path| -> (i32, Value) {
        let (code, lines) = migrate_support::migrate_between(NEW.0, OLD.0, &["--reverse"], &file, state);
        (code, summary(&lines).clone())
    };
    let back = dir.path().join("rollback-state");
    let (code, s) = reverse(&back);
    assert_eq!((code, s["copied"].as_u64()), (0, Some(2)), "{s}");
    let (code, s) = reverse(&back);
    assert_eq!((code, s["copied"].as_u64()), (0, Some(0)), "{s}");
    let old_sent = doveadm_count(OLD.1, &user, "Sent Items");
    assert_eq!((doveadm_count(OLD.1, &user, "INBOX"), old_sent), (21, 1));
}

fn save(conf: &str, user: &str, folder: &str, raw: &[u8]) {
    use std::io::Write;
    let mut child = Command::new("doveadm")
        .args(["-c", conf, "save", "-u", user, "-m", folder])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("doveadm save");
    child.stdin.take().expect("stdin").write_all(raw).expect("write");
    assert!(child.wait().expect("wait").success(), "doveadm save into {folder}");
}

fn doveadm_count(conf: &str, user: &str, folder: &str) -> u64 {
    let out = migrate_support::doveadm(conf, &["mailbox", "status", "-u", user, "messages", folder]);
    out.trim().rsplit("messages=").next().unwrap_or_default().parse().unwrap_or_else(|_| panic!("{out}"))
}

#[test]
fn a_cloud_destination_logs_in_with_an_oauth2_token() {
    if !up() || !Path::new(token_support::KEY).exists() {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "no OAuth2 key; CI must not skip");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let user = seeded("oa", 12);
    let dest = user.replace("oa", "oan");
    let token = dir.path().join("dest.token");
    std::fs::write(&token, token_support::jwt(&dest, 3600) + "\n").expect("token");
    std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let file = dir.path().join("users.csv");
    std::fs::write(&file, format!("{user},oldpw,{dest},xoauth2:file:dest.token\n")).expect("users");
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let (code, lines) = migrate(&[], &file, &dir.path().join("state"));
    assert_eq!((code, summary(&lines)["copied"].as_u64()), (0, Some(12)), "{lines:?}");
    // An expired token is a refused login for that mailbox (69), not a retry loop.
    std::fs::write(&token, token_support::jwt(&dest, -60) + "\n").expect("token");
    let (code, _) = migrate(&["--no-verify"], &file, &dir.path().join("state2"));
    assert_eq!(code, 69);
}
