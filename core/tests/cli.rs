//! The `mailwright` command line as scripts see it: output, exit codes, one-line errors.

mod cli_support;
mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use cli_support::mw;

use common::b64;

fn stderr_line(o: &Output) -> String {
    let s = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(s.trim_end().lines().count(), 1, "one line on stderr: {s:?}");
    assert!(s.starts_with("mailwright: "), "{s:?}");
    s
}

fn sample() -> Vec<u8> {
    format!(
        "From: Jane Doe <jane@example.org>\nTo: bot@example.org\nSubject: =?utf-8?q?Quarterly_report?=\nDate: Thu, 10 Mar 2016 09:30:00 -0800\nMessage-ID: <abc@example.org>\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nPlease print.\n--B\nContent-Type: application/pdf\nContent-Disposition: attachment; filename*=utf-8''R%C3%A9sum%C3%A9%202016.pdf\nContent-Transfer-Encoding: base64\n\n{}\n--B--\n",
        b64(b"%PDF-1.4 the file")
    )
    .into_bytes()
}

#[test]
fn dissect_json_is_the_manifest_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("m.eml");
    std::fs::write(&file, sample()).expect("write");
    let out = dir.path().join("out");
    let o = mw(&["dissect", file.to_str().expect("utf8"), "--out", out.to_str().expect("utf8"), "--json"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let keys: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["subject", "from", "to", "cc", "date", "message_id", "text", "html", "attachments", "nested", "warnings"]
    );
    assert_eq!(v["subject"], "Quarterly report");
    assert_eq!(v["from"][0]["name"], "Jane Doe");
    assert_eq!(v["from"][0]["address"], "jane@example.org");
    assert_eq!(v["to"][0]["name"], serde_json::Value::Null);
    assert_eq!(v["date"], "2016-03-10T09:30:00-08:00");
    assert_eq!(v["message_id"], "abc@example.org");
    assert_eq!(v["text"], "Please print.");
    assert_eq!(v["html"], serde_json::Value::Null);
    let a = &v["attachments"][0];
    let akeys: Vec<&str> = a.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(akeys, ["part", "filename", "saved_as", "content_type", "disposition", "content_id", "size", "sha256"]);
    assert_eq!(a["part"], "2");
    assert_eq!(a["filename"], "Résumé 2016.pdf");
    assert_eq!(a["saved_as"], "Résumé 2016.pdf");
    assert_eq!(a["content_type"], "application/pdf");
    assert_eq!(a["disposition"], "attachment");
    assert_eq!(a["size"], 17);
    assert_eq!(a["sha256"], mailwright::dissect::sha256_hex(b"%PDF-1.4 the file"));
    assert_eq!(std::fs::read(out.join("Résumé 2016.pdf")).expect("read"), b"%PDF-1.4 the file");
}

#[test]
fn stdin_bodies_and_human_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("o");
    let o = mw(&["dissect", "-", "--out", out.to_str().expect("utf8"), "--bodies"], Some(&sample()));
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("Résumé 2016.pdf") && text.contains("body.txt"), "{text}");
    assert_eq!(std::fs::read_to_string(out.join("body.txt")).expect("read"), "Please print.");
    let o = mw(&["parse", "-", "--json"], Some(&sample()));
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["parts"][2]["part"], "2");
    assert_eq!(v["parts"][2]["filename"], "Résumé 2016.pdf");
    assert_eq!(v["parts"][2]["role"], "attachment");
    let o = mw(&["parse", "-"], Some(&sample()));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Subject:    Quarterly report"));
}

#[test]
fn damaged_input_exits_zero_with_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = mw(
        &["dissect", "-", "--out", dir.path().to_str().expect("utf8"), "--json"],
        Some(b"\xff\xfe garbage \0 with no headers"),
    );
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(!v["warnings"].as_array().expect("array").is_empty());
}

#[test]
fn errors_are_one_line_with_exit_code_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().to_str().expect("utf8");
    let o = mw(&["dissect", "/nonexistent/message.eml", "--out", out], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr_line(&o).contains("/nonexistent/message.eml"));

    let file = dir.path().join("m.eml");
    std::fs::write(&file, sample()).expect("write");
    let not_a_dir = dir.path().join("plain-file");
    std::fs::write(&not_a_dir, b"x").expect("write");
    let o = mw(&["dissect", file.to_str().expect("utf8"), "--out", not_a_dir.to_str().expect("utf8")], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr_line(&o).contains("output folder"));

    let o = mw(&["dissect", "--bogus"], None);
    assert_eq!(o.status.code(), Some(1));
    stderr_line(&o);
    let o = mw(&["dissect", file.to_str().expect("utf8")], None);
    assert_eq!(o.status.code(), Some(1), "--out is required");
    stderr_line(&o);
    let o = mw(&["parse", dir.path().to_str().expect("utf8")], None);
    assert_eq!(o.status.code(), Some(1), "a folder is not a message");
    stderr_line(&o);
}

#[test]
fn help_documents_every_flag() {
    let o = mw(&["dissect", "--help"], None);
    assert!(o.status.success());
    let h = String::from_utf8_lossy(&o.stdout);
    for flag in ["--out", "--json", "--bodies", "standard input"] {
        assert!(h.contains(flag), "{flag} in {h}");
    }
    let o = mw(&["--help"], None);
    let h = String::from_utf8_lossy(&o.stdout);
    for cmd in ["parse", "dissect", "demo"] {
        assert!(h.contains(cmd), "{cmd} in {h}");
    }
}

#[test]
fn demo_runs_the_loop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = mw(&["demo", "--dir", dir.path().to_str().expect("utf8")], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("byte-exact") && s.contains("lpr -P printer"), "{s}");
    assert!(s.contains("a second run handled 0 messages"), "{s}");
    // The forged copy of the message was handled with no rule acting: one print, not two.
    assert!(s.contains("forged:   handled, no rule acted (1 of 2 messages matched a rule)"), "{s}");
    assert_eq!(s.matches("\"action\":\"print\"").count(), 1, "{s}");
    let rules = std::fs::read_to_string(dir.path().join("rules.toml")).expect("rules");
    assert!(rules.contains("authenticated = true"), "{rules}");
    // The mailbot moved both messages out of the inbox into its done folder.
    assert_eq!(std::fs::read_dir(dir.path().join("Maildir/.Printed/cur")).expect("done folder").count(), 2);
    assert_eq!(std::fs::read_dir(dir.path().join("Maildir/new")).expect("maildir").count(), 0);
}

#[test]
fn version_completions_man_page_and_examples() {
    let v = mw(&["--version"], None);
    assert!(v.status.success());
    assert_eq!(String::from_utf8_lossy(&v.stdout).trim(), format!("mailwright {}", env!("CARGO_PKG_VERSION")));
    let commands = ["parse", "dissect", "build", "send", "queue", "fetch", "bot", "demo", "completions", "manpage"];
    for shell in ["bash", "zsh", "fish"] {
        let o = mw(&["completions", shell], None);
        assert!(o.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(commands.iter().all(|c| script.contains(c)), "{shell}: {script}");
        if shell == "bash" {
            // The script is valid bash.
            let mut check = Command::new("bash").args(["-n"]).stdin(Stdio::piped()).spawn().expect("bash");
            check.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("write");
            assert!(check.wait().expect("bash -n").success());
        }
    }
    assert_eq!(mw(&["completions", "nosuchshell"], None).status.code(), Some(1));
    let man = String::from_utf8_lossy(&mw(&["manpage"], None).stdout).into_owned();
    assert!(man.contains(".TH mailwright 1") && commands.iter().all(|c| man.contains(c)), "{man}");
    for c in commands {
        let help = String::from_utf8_lossy(&mw(&[c, "--help"], None).stdout).into_owned();
        assert!(help.contains("Example"), "{c} --help has no example: {help}");
    }
}
