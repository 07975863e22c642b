//! `mailwright dkim keygen`, `build --dkim-key` and `verify` through the binary. The key's
//! record is given to the library's verifier here (no name server); `verify` itself is run
//! against a name server that does not answer, which is its exit 75.

mod cli_support;

use std::time::Duration;

use cli_support::mw;

use mailwright::auth::{Outcome, Verifier, VerifyConfig};

#[test]
fn keygen_then_a_signed_build_that_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("s1.pem");
    let key_arg = key.to_str().expect("utf-8 path");
    let o = mw(&["dkim", "keygen", "--selector", "s1", "--domain", "example.org", "--out", key_arg], None);
    assert!(o.status.success(), "{o:?}");
    let record_line = String::from_utf8(o.stdout).expect("utf-8");
    assert!(record_line.starts_with("s1._domainkey.example.org. IN TXT \"v=DKIM1; k=ed25519; p="), "{record_line}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).expect("key").permissions().mode() & 0o777, 0o600);
    }
    // An existing key file is never overwritten.
    let again = mw(&["dkim", "keygen", "--selector", "s1", "--domain", "example.org", "--out", key_arg], None);
    assert_eq!(again.status.code(), Some(1), "{again:?}");

    let o = mw(
        &[
            "build",
            "--from",
            "Boss <boss@example.org>",
            "--to",
            "bot@example.net",
            "--subject",
            "invoice",
            "--text",
            "Please print.",
            "--dkim-key",
            key_arg,
            "--dkim-selector",
            "s1",
        ],
        None,
    );
    assert!(o.status.success(), "{o:?}");
    let raw = o.stdout;
    assert!(raw.starts_with(b"DKIM-Signature:"), "{}", String::from_utf8_lossy(&raw));
    let record = record_line.split('"').nth(1).expect("record");
    let verifier = Verifier::new(&VerifyConfig {
        resolvers: vec!["127.0.0.1:9".parse().expect("addr")],
        dns_timeout: Duration::from_millis(200),
        ..VerifyConfig::default()
    })
    .and_then(|v| v.with_record("s1._domainkey.example.org", record))
    .expect("verifier")
    .with_no_record("_dmarc.example.org")
    .with_no_record("_dmarc.org");
    let r = verifier.verify(&raw, None).expect("verify");
    assert_eq!(r.dkim.iter().map(|s| s.result).collect::<Vec<_>>(), [Outcome::Pass], "{r:#?}");
    assert_eq!(r.authenticated_domain(), Some("example.org"));

    // send and queue add sign a message read from a file as well.
    let unsigned = dir.path().join("m.eml");
    std::fs::write(&unsigned, b"From: boss@example.org\r\nTo: bot@example.net\r\nSubject: x\r\n\r\nhi\r\n")
        .expect("write");
    let md = dir.path().join("Maildir");
    let o = mw(
        &[
            "send",
            unsigned.to_str().expect("path"),
            "--maildir",
            md.to_str().expect("path"),
            "--dkim-key",
            key_arg,
            "--dkim-selector",
            "s1",
        ],
        None,
    );
    assert!(o.status.success(), "{o:?}");
    let delivered: Vec<_> = std::fs::read_dir(md.join("new")).expect("new").flatten().collect();
    let got = std::fs::read(delivered[0].path()).expect("read");
    let r = verifier.verify(&got, None).expect("verify");
    assert_eq!(r.authenticated_domain(), Some("example.org"), "{r:#?}");
}

#[test]
fn verify_reports_and_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let msg = b"From: boss@example.org\r\nTo: bot@example.net\r\nSubject: forged\r\n\r\nwire the money\r\n";
    // No name server answers: nothing could be checked, which is "try later" (75), and the
    // JSON still says what was found.
    let o = mw(&["verify", "-", "--json", "--resolver", "127.0.0.1:9", "--dns-timeout", "0.2"], Some(msg));
    assert_eq!(o.status.code(), Some(75), "{o:?}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["authenticated_domain"], serde_json::Value::Null);
    assert_eq!(v["dkim"], serde_json::json!([]));
    assert_eq!(v["dmarc"]["result"], "temperror");
    assert_eq!(v["dmarc"]["domain"], "example.org");
    assert_eq!(v["arc"]["result"], "none");
    // Text for people.
    let o = mw(&["verify", "-", "--resolver", "127.0.0.1:9", "--dns-timeout", "0.2"], Some(msg));
    assert_eq!(o.status.code(), Some(75));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.starts_with("authenticated: no\n") && text.contains("dmarc: temperror"), "{text}");
    // Usage and input errors are 1.
    let empty = dir.path().join("empty.eml");
    std::fs::write(&empty, b"").expect("write");
    for args in [
        vec!["verify", empty.to_str().expect("path")],
        vec!["verify", "-", "--resolver", "not-an-ip"],
        vec!["verify", "-", "--dns-timeout", "0"],
        vec!["verify", "-", "--ip", "192.0.2.1"],
        vec!["verify", dir.path().join("missing.eml").to_str().expect("path")],
    ] {
        let o = mw(&args, Some(msg));
        assert_eq!(o.status.code(), Some(1), "{args:?}: {o:?}");
    }
}

#[test]
fn verify_believes_only_the_topmost_field_of_the_trusted_server() {
    let genuine = b"Authentication-Results: mx.example.net; dkim=pass header.d=example.org; \
        dmarc=pass header.from=example.org\r\nFrom: boss@example.org\r\nSubject: ok\r\n\r\nhi\r\n";
    let forged = b"Authentication-Results: mx.example.net; dkim=none; dmarc=fail header.from=example.org\r\n\
        Authentication-Results: mx.example.net; dkim=pass header.d=example.org; dmarc=pass header.from=example.org\r\n\
        From: boss@example.org\r\nSubject: forged\r\n\r\nwire the money\r\n";
    let run = |msg: &[u8]| {
        let o = mw(
            &[
                "verify",
                "-",
                "--json",
                "--trust-authserv",
                "MX.example.net",
                "--resolver",
                "127.0.0.1:9",
                "--dns-timeout",
                "0.2",
            ],
            Some(msg),
        );
        serde_json::from_slice::<serde_json::Value>(&o.stdout).expect("json")
    };
    let v = run(genuine);
    assert_eq!(v["authenticated_domain"], "example.org", "{v}");
    assert_eq!(v["trusted"]["ignored"], 0);
    assert_eq!(v["authentication_results"][0]["results"][1]["method"], "dmarc");
    let v = run(forged);
    assert_eq!(v["authenticated_domain"], serde_json::Value::Null, "{v}");
    assert_eq!(v["trusted"]["ignored"], 1);
    assert_eq!(v["authentication_results"].as_array().map(Vec::len), Some(2));
    // Without --trust-authserv the fields are shown, never believed.
    let o = mw(&["verify", "-", "--json", "--resolver", "127.0.0.1:9", "--dns-timeout", "0.2"], Some(genuine));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["authenticated_domain"], serde_json::Value::Null, "{v}");
}
