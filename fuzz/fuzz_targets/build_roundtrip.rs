//! Build → parse from an arbitrary message spec: whatever the builder accepts parses back to the
//! same subject, addresses, body text and attachments (names and bytes).
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use mailwright::Message;
use mailwright::build::MessageBuilder;

#[derive(Debug, Arbitrary)]
struct Spec {
    from_name: String,
    from_local: u16,
    to: Vec<u8>,
    subject: String,
    text: String,
    html: Option<String>,
    attachments: Vec<(String, Vec<u8>)>,
}

/// Display text as the builder is meant to carry it: no control characters, spaces collapsed.
fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

fuzz_target!(|spec: Spec| {
    let subject = clean(&spec.subject);
    let from = format!("u{}@example.org", spec.from_local);
    let name = clean(&spec.from_name).replace(['"', '\\'], "");
    let to: Vec<String> = spec.to.iter().take(5).map(|n| format!("r{n}@example.net")).collect();
    let text: String = spec.text.chars().filter(|&c| c != '\r' && (c == '\n' || c == '\t' || !c.is_control())).collect();
    let mut b = MessageBuilder::new().from(format!("{name} <{from}>").as_str()).subject(subject.clone()).text(text.clone());
    for t in &to {
        b = b.to(t.as_str());
    }
    if let Some(h) = &spec.html {
        b = b.html(clean(h));
    }
    let files: Vec<(String, Vec<u8>)> = spec
        .attachments
        .iter()
        .take(4)
        .map(|(n, d)| (clean(n).replace(['/', '\\'], "_"), d.clone()))
        .filter(|(n, _)| !n.is_empty() && !n.starts_with('.'))
        .collect();
    for (n, d) in &files {
        b = b.attach_bytes(n.clone(), d.clone());
    }
    let Ok(raw) = b.build() else { return };
    let msg = Message::parse(&raw).expect("what we build parses");
    assert_eq!(msg.subject().unwrap_or(""), subject, "{raw:?}");
    assert_eq!(msg.from().first().and_then(|a| a.address.as_deref()), Some(from.as_str()));
    let got_to: Vec<&str> = msg.to().iter().filter_map(|a| a.address.as_deref()).collect();
    assert_eq!(got_to, to.iter().map(String::as_str).collect::<Vec<_>>());
    let body = msg.text().unwrap_or("").replace("\r\n", "\n");
    assert_eq!(body.trim_end(), text.trim_end(), "{raw:?}");
    let atts: Vec<(String, Vec<u8>)> =
        msg.attachments().map(|a| (a.filename().unwrap_or("").to_string(), a.decoded().to_vec())).collect();
    assert_eq!(atts, files, "{raw:?}");
});
