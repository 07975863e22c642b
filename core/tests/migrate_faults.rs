//! `mailwright migrate` through `scripts/imap-fault-proxy`, which answers APPENDs with
//! `NO [LIMIT]`, says `BYE` in the middle of them and drops the connection inside a literal: every
//! mailbox backs off, reconnects, resumes, and is proven whole, nothing doubled.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

mod migrate_support;
use migrate_support::*;

/// Kills the proxy however the test ends.
struct Proxy(std::process::Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn push_back_byes_and_drops_cost_a_reconnect_and_nothing_else() {
    if !up() {
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/imap-fault-proxy");
    let mut child = Command::new("python3")
        .arg(script)
        .args(["--listen", "127.0.4.3:0", "--upstream", &format!("{}:993", NEW.0), "--ca-file", CA])
        .args(["--every", "3", "--faults", "6"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 scripts/imap-fault-proxy");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("ready line");
    let _proxy = Proxy(child);
    let port = first.trim().strip_prefix("ready ").expect("ready PORT").to_string();

    let run = prefix("f");
    let dir = tempfile::tempdir().expect("tempdir");
    let users: Vec<(String, String)> =
        (0..3).map(|i| (format!("{run}u{i}@{DOMAIN}"), format!("{run}n{i}@{DOMAIN}"))).collect();
    for (src, _) in &users {
        let msgs: Vec<Seed> = (0..320)
            .map(|n| Seed {
                raw: message(src, n, 3000, true),
                flags: "S",
                keywords: vec!["$Label1"],
                date: 1_500_000_000,
            })
            .collect();
        seed(src, "INBOX", &msgs);
    }
    let file = users_file(dir.path(), &users, None);
    let out = Command::new(env!("CARGO_BIN_EXE_mailwright"))
        .arg("migrate")
        .args(["--from", &format!("imaps://{}", OLD.0), "--to", &format!("imap://127.0.4.3:{port}")])
        .arg("--users")
        .arg(&file)
        .arg("--state")
        .arg(dir.path().join("state"))
        .args([
            "--ca-file",
            CA,
            "--allow-plaintext",
            "--json",
            "--jobs",
            "1",
            "--backoff",
            "0.2",
            "--timeout",
            "10",
            "--no-verify",
        ])
        .output()
        .expect("migrate");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let retries: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "retry").collect();
    // Six faults, each on its own APPEND command (up to 32 messages with MULTIAPPEND), further
    // apart than the commands one connection keeps in flight (one job, two commands): each ends
    // its connection before the next is reached. A BYE or a drop
    // shows as whatever the client was doing when the connection went.
    assert_eq!(retries.len(), 6, "every fault costs a reconnect: {retries:?}");
    let said = |kind: &str| retries.iter().any(|r| r["error"].as_str().is_some_and(|e| e.contains(kind)));
    assert!(said("[LIMIT]"), "NO [LIMIT] is push-back: {retries:?}");
    assert!(!said("timed out"), "an answer out of turn is not waited for: {retries:?}");
    // The proof, straight from the server (not through the proxy).
    let (code, lines) = migrate(&["verify", "--jobs", "3"], &file, &dir.path().join("state"));
    assert_eq!(code, 0, "{lines:?}");
    for m in mailboxes(&lines) {
        let v = &m["verify"];
        assert_eq!(
            (&v["source"], &v["dest"], &v["duplicated"], &v["missing"]),
            (&320.into(), &320.into(), &0.into(), &0.into()),
            "{m}"
        );
    }
}
