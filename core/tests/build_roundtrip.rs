//! What the builder makes, parse and dissect give back: bodies, headers, names and bytes. Header
//! injection through any field is an error.

mod common;

use mailwright::build::{Attachment, BuildError, MessageBuilder};
use mailwright::{DissectOptions, Message};
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "تقرير مالي.pdf",
    "季度报告.pdf",
    "😀 party 🎉.png",
    "say \"hi\" 'there'.txt",
    "Résumé 2016.pdf",
    "back\\slash;semi,comma=eq.bin",
];

fn long_name() -> String {
    format!("{}.pdf", "ü".repeat(98) + "abcd")
}

fn check_wire_format(raw: &[u8]) {
    assert!(raw.is_ascii(), "7-bit clean");
    for (i, line) in raw.split(|&b| b == b'\n').enumerate() {
        if i + 1 < raw.split(|&b| b == b'\n').count() {
            assert!(line.ends_with(b"\r"), "line {i} ends in CRLF");
        }
        assert!(!line[..line.len().saturating_sub(1)].contains(&b'\r'), "no bare CR in line {i}");
        assert!(line.len() <= 999, "line {i} is {} octets", line.len());
    }
}

#[test]
fn unicode_names_and_bytes_come_back() {
    let mut names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    names.push(long_name());
    let mut rng = mailwright::sample::Rng::new(9);
    let mut b = MessageBuilder::new()
        .from(("Jürgen Müller", "jurgen@example.org"))
        .to("Bot <bot@example.org>")
        .cc(("김민준", "kim@example.org"))
        .bcc("hidden@example.org")
        .subject("Résumé für Jürgen — 季度报告 😀")
        .text("Hello Jürgen,\r\nsee the attachments.\r\n")
        .html("<p>Hello <b>Jürgen</b> <img src=\"cid:logo@x\"></p>")
        .inline("logo@x", "logo.png", b"\x89PNG\r\n\x1a\nlogo".to_vec())
        .header("X-Mailer", "mailwright tests");
    let mut files = Vec::new();
    for n in &names {
        let len = rng.range(0, 3000);
        let data = rng.bytes(len);
        files.push((n.clone(), data.clone()));
        b = b.attach_bytes(n.clone(), data);
    }
    let env = b.envelope().expect("envelope");
    assert_eq!(env.from(), "jurgen@example.org");
    assert_eq!(env.to(), ["bot@example.org", "kim@example.org", "hidden@example.org"]);
    let raw = b.build().expect("build");
    check_wire_format(&raw);
    assert!(!String::from_utf8_lossy(&raw).to_ascii_lowercase().contains("hidden@"), "Bcc stays out of the message");

    let msg = Message::parse(&raw).expect("parse");
    assert!(msg.warnings().is_empty(), "{:?}", msg.warnings());
    assert_eq!(msg.subject(), Some("Résumé für Jürgen — 季度报告 😀"));
    assert_eq!(msg.from()[0].name.as_deref(), Some("Jürgen Müller"));
    assert_eq!(msg.cc()[0].name.as_deref(), Some("김민준"));
    assert_eq!(msg.header_text("X-Mailer").as_deref(), Some("mailwright tests"));
    assert_eq!(msg.text(), Some("Hello Jürgen,\r\nsee the attachments.\r\n"));
    assert!(msg.html().is_some_and(|h| h.contains("cid:logo@x")));
    assert!(msg.message_id().is_some() && msg.date().is_some(), "Message-ID and Date are generated");

    let dir = tempfile::tempdir().expect("tempdir");
    let d = mailwright::dissect(&msg, &DissectOptions::new(dir.path())).expect("dissect");
    common::check_manifest(dir.path(), &d);
    let inline = &d.manifest.attachments[0];
    assert_eq!((inline.filename.as_deref(), inline.content_id.as_deref()), (Some("logo.png"), Some("logo@x")));
    for ((name, data), saved) in files.iter().zip(&d.manifest.attachments[1..]) {
        assert_eq!(saved.filename.as_deref(), Some(name.as_str()));
        assert_eq!(std::fs::read(dir.path().join(&saved.saved_as)).expect("read"), *data, "{name}");
    }
}

#[test]
fn python_reads_it_back() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    if std::process::Command::new(&python).arg("--version").output().is_err() {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "CI must have python3");
        eprintln!("\n*** SKIPPED: no {python} to cross-check with Python's email package ***\n");
        return;
    }
    let mut names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    names.push(long_name());
    let mut b = MessageBuilder::new().from("a@example.org").to("b@example.org").subject("cross-check").text("body");
    let mut expect = String::new();
    for (i, n) in names.iter().enumerate() {
        let data: Vec<u8> = (0..=255u8).cycle().skip(i).take(300 + i).collect();
        expect.push_str(&format!("{}\t{}\n", n, mailwright::dissect::sha256_hex(&data)));
        b = b.attach_bytes(n.clone(), data);
    }
    let raw = b.build().expect("build");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.eml");
    std::fs::write(&path, &raw).expect("write");
    let script = "import email, email.policy, hashlib, sys\n\
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=email.policy.default)\n\
for p in m.iter_attachments():\n    print(p.get_filename() + '\\t' + hashlib.sha256(p.get_payload(decode=True)).hexdigest())\n";
    let out = std::process::Command::new(&python).arg("-c").arg(script).arg(&path).output().expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), expect);
}

#[test]
fn header_injection_is_an_error_in_every_field() {
    let evil = "x\r\nBcc: victim@example.org";
    let lf = "x\nBcc: victim@example.org";
    let base = || MessageBuilder::new().from("a@example.org").to("b@example.org");
    let cases: Vec<(&str, MessageBuilder)> = vec![
        ("from name", MessageBuilder::new().from((evil, "a@example.org")).to("b@example.org")),
        ("from address", MessageBuilder::new().from(("A", evil)).to("b@example.org")),
        ("to", base().to(evil)),
        ("to name", base().to((lf, "c@example.org"))),
        ("cc", base().cc(lf)),
        ("bcc", base().bcc(evil)),
        ("reply-to", base().reply_to(evil)),
        ("subject", base().subject(evil)),
        ("subject lf", base().subject(lf)),
        ("subject cr", base().subject("x\rBcc: v@example.org")),
        ("message-id", base().message_id(evil)),
        ("in-reply-to", base().in_reply_to(evil)),
        ("references", base().reference(evil)),
        ("header value", base().header("X-Test", evil)),
        ("header name", base().header("X-Test\r\nBcc", "v")),
        ("header name colon", base().header("X:Y", "v")),
        ("reserved header", base().header("Bcc", "v@example.org")),
        ("attachment name", base().attach_bytes(evil, b"x".to_vec())),
        (
            "content type",
            base().attach(
                Attachment::from_bytes("a.bin", b"x".to_vec()).with_content_type("text/plain\r\nBcc: v@example.org"),
            ),
        ),
        ("content id", base().inline(evil, "i.png", b"x".to_vec()).html("<p>")),
        ("message name", base().attach_message(evil, b"Subject: x\r\n\r\nx".to_vec())),
        ("bad address", base().to("not an address")),
        ("angle address", base().to("<b@example.org")),
    ];
    for (what, b) in cases {
        match b.build() {
            Err(
                BuildError::LineBreak { .. }
                | BuildError::Address { .. }
                | BuildError::HeaderName { .. }
                | BuildError::ReservedHeader { .. },
            ) => {}
            other => {
                panic!("{what}: expected an error, got {:?}", other.map(|v| String::from_utf8_lossy(&v).into_owned()))
            }
        }
    }
    let e = MessageBuilder::new().attach_path("/nonexistent/file.pdf").build().expect_err("missing file");
    assert!(matches!(e, BuildError::Read { .. }), "{e}");
}

#[test]
fn reply_and_forward_thread_the_original() {
    let original = MessageBuilder::new()
        .from("Jane <jane@example.org>")
        .reply_to("list@example.org")
        .to("bot@example.org")
        .subject("Quarterly report")
        .message_id("orig@example.org")
        .reference("older@example.org")
        .text("hi")
        .build()
        .expect("build");
    let msg = Message::parse(&original).expect("parse");
    let reply = MessageBuilder::reply(&msg).from("bot@example.org").text("thanks").build().expect("reply");
    let r = Message::parse(&reply).expect("parse");
    assert_eq!(r.subject(), Some("Re: Quarterly report"));
    assert_eq!(r.to()[0].address.as_deref(), Some("list@example.org"));
    assert_eq!(r.in_reply_to(), ["orig@example.org"]);
    assert_eq!(r.references(), ["older@example.org", "orig@example.org"]);

    let fwd = MessageBuilder::forward(&msg, true)
        .from("bot@example.org")
        .to("boss@example.org")
        .text("FYI")
        .build()
        .expect("fwd");
    let f = Message::parse(&fwd).expect("parse");
    assert_eq!(f.subject(), Some("Fwd: Quarterly report"));
    let att = f.attachments().next().expect("attached original");
    assert_eq!(att.content_type(), "message/rfc822");
    assert_eq!(att.decoded(), &original[..], "the original goes along byte for byte");
    assert_eq!(f.summaries()[1].subject.as_deref(), Some("Quarterly report"));
}

fn name_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._-]{1,40}",
        "\\PC{1,60}",
        proptest::collection::vec(
            proptest::sample::select(vec!['é', 'ß', '中', '文', '😀', '"', '\'', ' ', 'a', 'ض', '\\', ';']),
            1..80
        )
        .prop_map(|v| v.into_iter().collect()),
    ]
    .prop_map(|s: String| s.replace(['\r', '\n'], ""))
    .prop_filter("a usable name", |s| {
        !s.trim().is_empty() && !s.contains(['/', '\\']) && s.trim() == s && !s.starts_with('.')
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn build_parse_dissect_round_trip(
        subject in "\\PC{0,80}",
        text in proptest::option::of("\\PC{0,300}"),
        html in proptest::option::of("[a-z <>/]{0,100}"),
        files in proptest::collection::vec((name_strategy(), proptest::collection::vec(any::<u8>(), 0..2000)), 0..5),
    ) {
        let subject = subject.replace(['\r', '\n'], " ");
        let mut b = MessageBuilder::new().from("a@example.org").to("b@example.org").subject(subject.clone());
        if let Some(t) = &text { b = b.text(t.clone()); }
        if let Some(h) = &html { b = b.html(h.clone()); }
        for (n, d) in &files { b = b.attach_bytes(n.clone(), d.clone()); }
        let raw = b.build().expect("build");
        check_wire_format(&raw);
        let msg = Message::parse(&raw).expect("parse");
        prop_assert_eq!(msg.subject().unwrap_or(""), subject.trim());
        if let Some(t) = &text {
            let got = msg.text().unwrap_or("").replace("\r\n", "\n");
            let want = t.replace("\r\n", "\n").replace('\r', "\n");
            prop_assert_eq!(got.trim_end(), want.trim_end());
        }
        let atts: Vec<_> = msg.attachments().collect();
        prop_assert_eq!(atts.len(), files.len());
        for ((n, d), p) in files.iter().zip(atts) {
            prop_assert_eq!(p.filename(), Some(n.as_str()));
            prop_assert_eq!(p.decoded(), &d[..]);
        }
    }
}

#[test]
fn long_lines_and_bare_line_ends_are_encoded() {
    let long = "word ".repeat(2000);
    let text = format!("{long}\nbare LF\rbare CR\r\nend");
    let raw = MessageBuilder::new()
        .from("a@example.org")
        .to("b@example.org")
        .subject("x".repeat(2000))
        .text(text.clone())
        .html(long.clone())
        .build()
        .expect("build");
    check_wire_format(&raw);
    let msg = Message::parse(&raw).expect("parse");
    assert_eq!(msg.subject(), Some("x".repeat(2000).as_str()));
    assert!(msg.text().is_some_and(|t| t.starts_with(&long[..100]) && t.contains("bare LF")));
}

#[test]
fn eight_bit_bodies_when_asked() {
    let text = "Grüße aus Köln — 日本語\nzweite Zeile\n";
    let raw = MessageBuilder::new()
        .from("a@example.org")
        .to("b@example.org")
        .text(text)
        .eight_bit(true)
        .build()
        .expect("build");
    let s = String::from_utf8(raw.clone()).expect("utf-8 message");
    assert!(s.contains("Content-Transfer-Encoding: 8bit") && s.contains("Grüße aus Köln"), "{s}");
    let msg = Message::parse(&raw).expect("parse");
    assert_eq!(msg.text().map(|t| t.replace("\r\n", "\n")), Some(text.to_string()));
    let seven = MessageBuilder::new().from("a@example.org").to("b@example.org").text(text).build().expect("build");
    assert!(seven.is_ascii(), "7-bit clean unless asked");
}

#[test]
fn a_reply_to_a_repeated_reply_to_goes_to_each_address_once() {
    let raw =
        b"From: x@a.test\r\nReply-To: v@x.test, v@X.test, w@x.test\r\nMessage-ID: <m@a>\r\nSubject: s\r\n\r\nhi\r\n";
    let msg = Message::parse(raw).expect("parse");
    let b = MessageBuilder::reply(&msg).from("bot@b.test").text("ok");
    assert_eq!(b.recipients(), ["v@x.test", "w@x.test"]);
    let b = MessageBuilder::new().from("a@b.test").to("c@d.test").cc("c@D.test").bcc("c@d.test").text("x");
    assert_eq!(b.recipients(), ["c@d.test"]);
}

#[test]
fn custom_headers_refuse_control_characters_and_fold_long_values() {
    let base = || MessageBuilder::new().from("a@example.org").to("b@example.org").text("x");
    for bad in ["a\u{b}b", "a\0b", "a\u{7f}b", "a\u{85}b", "a\u{2028}b", "a\u{2029}b", "a\u{1b}[31mb"] {
        match base().header("X-Test", bad).build() {
            Err(BuildError::ControlCharacter { .. }) => {}
            other => panic!("{bad:?}: {:?}", other.map(|v| String::from_utf8_lossy(&v).into_owned())),
        }
    }
    // One run of 3,000 octets cannot be folded: refused.
    match base().header("X-Long", "y".repeat(3_000)).build() {
        Err(BuildError::LongLine { length, .. }) => assert_eq!(length, 3_008),
        other => panic!("{:?}", other.map(|v| v.len())),
    }
    // 3,000 octets in words are folded into short lines and read back the same.
    let words = (0..400).map(|i| format!("w{i:05}")).collect::<Vec<_>>().join(" ");
    let raw = base().header("X-Words", words.as_str()).header("X-Tab", "a\tb").header("X-Uni", "Grüße 😀").build();
    let raw = raw.expect("build");
    assert!(raw.split(|&b| b == b'\n').all(|l| l.len() <= 1000), "a line over 998 octets");
    assert!(raw.split(|&b| b == b'\n').filter(|l| l.starts_with(b" w")).count() > 10, "folded");
    assert!(raw.is_ascii(), "7-bit clean");
    let msg = Message::parse(&raw).expect("parse");
    let root = &msg.parts()[0];
    let value = |n: &str| root.headers().iter().find(|h| h.name().eq_ignore_ascii_case(n)).map(|h| h.text());
    assert_eq!(value("X-Words").as_deref().map(str::trim), Some(words.as_str()));
    assert_eq!(value("X-Uni").as_deref().map(str::trim), Some("Grüße 😀"));
}
