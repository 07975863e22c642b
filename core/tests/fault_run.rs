//! The fault run (`scripts/fault-run`): 1,000 messages queued for three domains while flushers
//! are killed with SIGKILL and the domains' SMTP servers go down and up; afterwards every
//! recipient has the message and the queue is empty. Duplicates are counted and printed.

mod support;

use std::path::Path;
use std::process::Command;

#[test]
fn kills_and_outages_lose_nothing() {
    let Some(_serial) = support::ready() else { return };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fault-run");
    let out = Command::new("python3")
        .arg(script)
        .args(["--binary", env!("CARGO_BIN_EXE_mailwright"), "--messages", "1000", "--chaos", "20"])
        .output()
        .expect("run scripts/fault-run");
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    eprintln!("fault run: {line}\n{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
    assert_eq!(v["messages"], 1000, "{line}");
    assert_eq!(v["lost"], 0, "{line}");
    assert_eq!(v["delivered"], v["recipients"], "{line}");
    assert_eq!(v["left_in_queue"], 0, "{line}");
    assert!(v["flusher_kills"].as_u64().is_some_and(|k| k > 0), "{line}");
    assert!(out.status.success(), "{line}");
}
