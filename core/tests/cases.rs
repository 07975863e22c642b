//! The data-driven parse cases of `core/testdata/cases/parse.json`, shared with the Python suite;
//! each input in LF and CRLF form.

mod common;

use mailwright::Message;
use serde_json::Value;

fn b64(s: &str) -> Vec<u8> {
    let raw = format!("Content-Transfer-Encoding: base64\r\n\r\n{s}");
    let msg = Message::parse(raw.as_bytes()).expect("parse");
    msg.parts()[0].decoded().to_vec()
}

fn names(list: &[mailwright::parse::Address]) -> Value {
    list.iter().map(|a| serde_json::json!([a.name, a.address])).collect()
}

#[test]
fn shared_parse_cases() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/cases/parse.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(path).expect("cases")).expect("json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 19);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let want = &case["expect"];
        for (form, raw) in common::forms(case["input"].as_str().expect("input").as_bytes()) {
            let msg = Message::parse(&raw).expect("parse");
            let ctx = format!("{name} ({form})");
            if let Some(s) = want.get("subject") {
                assert_eq!(msg.subject(), s.as_str(), "{ctx}");
            }
            if let Some(f) = want.get("from") {
                assert_eq!(&names(msg.from()), f, "{ctx}");
            }
            if let Some(t) = want.get("to") {
                assert_eq!(&names(msg.to()), t, "{ctx}");
            }
            for (key, got) in [("text", msg.text()), ("html", msg.html())] {
                if let Some(w) = want.get(key) {
                    assert_eq!(got.map(str::trim_end), w.as_str(), "{ctx}: {key}");
                }
            }
            if let Some(d) = want.get("date") {
                assert_eq!(msg.date(), d.as_str(), "{ctx}");
            }
            if let Some(id) = want.get("message_id") {
                assert_eq!(msg.message_id(), id.as_str(), "{ctx}");
            }
            if let Some(h) = want.get("headers").and_then(Value::as_object) {
                for (k, v) in h {
                    assert_eq!(msg.header_text(k).as_deref(), v.as_str(), "{ctx}: {k}");
                }
            }
            if let Some(list) = want.get("attachments").and_then(Value::as_array) {
                let got: Vec<_> = msg.attachments().collect();
                assert_eq!(got.len(), list.len(), "{ctx}");
                for (a, w) in got.iter().zip(list) {
                    assert_eq!(a.filename(), w[0].as_str(), "{ctx}");
                    assert_eq!(Some(a.content_type()), w[1].as_str(), "{ctx}");
                    assert_eq!(a.decoded(), b64(w[2].as_str().expect("b64")), "{ctx}");
                }
            }
            // One answer to "what are the attachments": the list and the dissect manifest agree.
            let listed: Vec<(String, Option<String>)> =
                msg.attachments().map(|a| (a.path().to_string(), a.filename().map(str::to_string))).collect();
            let (_dir, d) = common::dissect(&raw);
            let manifest: Vec<(String, Option<String>)> =
                d.manifest.attachments.iter().map(|a| (a.part.clone(), a.filename.clone())).collect();
            assert_eq!(listed, manifest, "{ctx}: attachments vs manifest");
            if let Some(list) = want.get("attachment_names").and_then(Value::as_array) {
                let got: Vec<Value> = msg.attachments().map(|a| a.filename().unwrap_or("").into()).collect();
                assert_eq!(&got, list, "{ctx}");
            }
        }
    }
}
