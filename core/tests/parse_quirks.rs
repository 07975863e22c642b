//! Every quirk of real-world mail that mailwright reads right, each as a fixture written here, in
//! LF and CRLF form.

mod common;

use common::{b64, b64_raw, dissect, forms};
use mailwright::Message;
use mailwright::parse::PartKind;

fn mixed(parts: &[String]) -> Vec<u8> {
    let mut s = String::from(
        "From: a@example.org\nTo: b@example.org\nSubject: t\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\npreamble\n",
    );
    for p in parts {
        s.push_str("--XX\n");
        s.push_str(p);
        s.push('\n');
    }
    s.push_str("--XX--\n");
    s.into_bytes()
}

fn text_part() -> String {
    "Content-Type: text/plain; charset=utf-8\n\nSee attached.\n".to_string()
}

fn only_attachment(raw: &[u8]) -> (String, Vec<u8>) {
    let msg = Message::parse(raw).expect("parse");
    let atts: Vec<_> = msg.attachments().collect();
    assert_eq!(atts.len(), 1, "attachments: {:?}", atts.iter().map(|p| p.path().to_string()).collect::<Vec<_>>());
    (atts[0].filename().unwrap_or("").to_string(), atts[0].decoded().to_vec())
}

#[test]
fn rfc2231_continuations_split_inside_a_character() {
    let pdf = b"%PDF-1.4 fake".to_vec();
    for (filename_header, want) in [
        ("attachment;\n filename*0*=UTF-8''R%C3;\n filename*1*=%A9sum%C3%A9%202016.pdf", "Résumé 2016.pdf"),
        ("attachment; filename*0*=iso-8859-1''R%E9sum; filename*1*=%E9.pdf", "Résumé.pdf"),
        ("attachment; filename*1*=%E9.pdf; filename*0*=iso-8859-1''R%E9sum", "Résumé.pdf"),
        ("attachment; filename*0=\"long name \"; filename*1=\"in two.pdf\"", "long name in two.pdf"),
        ("attachment; filename*=UTF-8''%E6%97%A5%E6%9C%AC.pdf", "日本.pdf"),
    ] {
        let part = format!(
            "Content-Type: application/pdf\nContent-Disposition: {filename_header}\nContent-Transfer-Encoding: base64\n\n{}",
            b64(&pdf)
        );
        for (form, raw) in forms(&mixed(&[text_part(), part.clone()])) {
            let (name, data) = only_attachment(&raw);
            assert_eq!(name, want, "{form}");
            assert_eq!(data, pdf, "{form}");
            let (_dir, d) = dissect(&raw);
            assert_eq!(d.manifest.attachments[0].saved_as, want, "{form}");
        }
    }
}

#[test]
fn rfc2047_words_split_inside_a_character() {
    // "Résumé für Jürgen" with "é" and "ü" split across encoded words.
    let raw = b"From: =?UTF-8?Q?Jos=C3?= =?UTF-8?Q?=A9_Garc=C3=ADa?= <jose@example.org>\n\
To: Friends: a@example.org, \"=?UTF-8?B?SsO8cmdlbg==?=\" <j@example.org>;, c@example.org\n\
Subject: =?UTF-8?B?UsOpc3Vtw6kgZsM=?=\n =?UTF-8?B?vHIgSsO8cmdlbg==?=\n\
Content-Type: multipart/mixed; boundary=b\n\n\
--b\nContent-Type: text/plain\n\nhi\n\
--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"=?UTF-8?B?w6k=?= =?UTF-8?B?dMOp?=.bin\"\n\nxyz\n--b--\n";
    for (form, raw) in forms(raw) {
        let msg = Message::parse(&raw).expect("parse");
        assert_eq!(msg.subject(), Some("Résumé für Jürgen"), "{form}");
        assert_eq!(msg.from()[0].name.as_deref(), Some("José García"), "{form}");
        assert_eq!(msg.from()[0].address.as_deref(), Some("jose@example.org"), "{form}");
        let to: Vec<_> = msg.to().iter().map(|a| (a.name.clone(), a.address.clone().unwrap_or_default())).collect();
        assert_eq!(to.len(), 3, "{form}: groups are flattened: {to:?}");
        assert_eq!(to[1], (Some("Jürgen".to_string()), "j@example.org".to_string()), "{form}");
        let (name, _) = only_attachment(&raw);
        assert_eq!(name, "été.bin", "{form}");
    }
}

#[test]
fn name_on_content_type_folded_values_and_windows_paths() {
    for (headers, want) in [
        ("Content-Type: application/pdf; name=\"report.pdf\"", "report.pdf"),
        ("Content-Type: application/pdf\nContent-Disposition: attachment; filename=\n \"folded.pdf\"", "folded.pdf"),
        ("Content-Type: application/pdf;\n\tname=\n\t\"tab folded.pdf\"", "tab folded.pdf"),
        (
            "Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"C:\\Users\\jane\\report.pdf\"",
            "report.pdf",
        ),
        (
            "Content-Type: application/pdf\nContent-Disposition: attachment; filename=\"\\\\server\\share\\q.pdf\"",
            "q.pdf",
        ),
        ("Content-Type: application/pdf; name=\"=?iso-8859-1?Q?caf=E9?=.pdf\"", "café.pdf"),
    ] {
        let part = format!("{headers}\nContent-Transfer-Encoding: base64\n\n{}", b64(b"%PDF"));
        for (form, raw) in forms(&mixed(&[text_part(), part.clone()])) {
            let (name, data) = only_attachment(&raw);
            assert_eq!(name, want, "{form}: {headers}");
            assert_eq!(data, b"%PDF", "{form}");
        }
    }
}

#[test]
fn base64_without_padding_keeps_its_last_bytes() {
    for data in [&b"hello!!"[..], b"hello!!!", b"x"] {
        let unpadded = b64_raw(data).trim_end_matches('=').to_string();
        let part = format!(
            "Content-Type: application/octet-stream; name=a.bin\nContent-Transfer-Encoding: base64\n\n{unpadded}"
        );
        for (form, raw) in forms(&mixed(&[text_part(), part.clone()])) {
            assert_eq!(only_attachment(&raw).1, data, "{form}");
        }
    }
}

#[test]
fn text_attachments_are_not_charset_converted() {
    let latin1 = b"caf\xe9;na\xefve\r\nline 2\r\n".to_vec();
    let zip: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    for (ctype, cte, data) in [
        ("text/csv; charset=iso-8859-1; name=\"t.csv\"", "base64", latin1.clone()),
        ("text/plain; name=\"archive.zip\"", "base64", zip.clone()),
        ("text/plain; charset=utf-8; name=\"bad.txt\"", "base64", b"\xff\xfe not utf-8".to_vec()),
    ] {
        let part = format!(
            "Content-Type: {ctype}\nContent-Disposition: attachment\nContent-Transfer-Encoding: {cte}\n\n{}",
            b64(&data)
        );
        for (form, raw) in forms(&mixed(&[text_part(), part.clone()])) {
            assert_eq!(only_attachment(&raw).1, data, "{form} {ctype}");
        }
    }
    // A part with a filename and no Content-Type at all, quoted-printable.
    let part = "Content-Disposition: attachment; filename=\"notes.txt\"\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9 cr=E8me=\n br=FBl=E9e";
    for (form, raw) in forms(&mixed(&[text_part(), part.to_string()])) {
        let (name, data) = only_attachment(&raw);
        assert_eq!(name, "notes.txt", "{form}");
        assert_eq!(data, b"caf\xe9 cr\xe8me br\xfbl\xe9e", "{form}");
    }
}

#[test]
fn uuencoded_files_are_found() {
    let body = "Here is the file.\n\nbegin 644 hello.txt\n&:&5L;&\\*\n`\nend\n\nBye.\n";
    let raw = format!("From: a@example.org\nSubject: uu\n\n{body}");
    for (form, raw) in forms(raw.as_bytes()) {
        let msg = Message::parse(&raw).expect("parse");
        let e = msg.summary();
        assert_eq!(e.uuencoded.len(), 1, "{form}");
        assert_eq!(e.uuencoded[0].name, "hello.txt");
        assert_eq!(&e.uuencoded[0].data[..], b"hello\n");
        let text = msg.text().expect("text");
        assert!(
            text.contains("Here is the file.") && text.contains("Bye.") && !text.contains("begin 644"),
            "{form}: {text:?}"
        );
        let (dir, d) = dissect(&raw);
        assert_eq!(d.manifest.attachments.len(), 1);
        assert_eq!(d.manifest.attachments[0].saved_as, "hello.txt");
        // A part of its own below the text that held it, listed by attachments() like any other.
        assert_eq!(d.manifest.attachments[0].part, "1.1");
        assert_eq!(std::fs::read(dir.path().join("hello.txt")).expect("read"), b"hello\n");
        let listed: Vec<_> = msg.attachments().map(|p| (p.path().to_string(), p.filename(), p.decoded())).collect();
        assert_eq!(listed, [("1.1".to_string(), Some("hello.txt"), &b"hello\n"[..])], "{form}");
    }
    let part = "Content-Type: application/octet-stream; name=\"hi.txt\"\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 hi.txt\n&:&5L;&\\*\n`\nend";
    for (form, raw) in forms(&mixed(&[text_part(), part.to_string()])) {
        assert_eq!(only_attachment(&raw), ("hi.txt".to_string(), b"hello\n".to_vec()), "{form}");
    }
}

#[test]
fn legacy_charset_bodies() {
    let cases: &[(&str, &str, &[u8], &str)] = &[
        ("iso-8859-1", "quoted-printable", b"Gr=FC=DFe aus K=F6ln", "Grüße aus Köln"),
        ("iso-8859-15", "8bit", b"\xa4 100", "€ 100"),
        ("windows-1252", "8bit", b"\x93quoted\x94 \x80", "\u{201c}quoted\u{201d} €"),
        ("windows-1251", "8bit", b"\xcf\xf0\xe8\xe2\xe5\xf2", "Привет"),
        ("koi8-r", "8bit", b"\xf0\xd2\xc9\xd7\xc5\xd4", "Привет"),
        ("koi8-u", "8bit", b"\xa6\xa7", "ії"),
        ("shift_jis", "8bit", b"\x93\xfa\x96\x7b\x8c\xea", "日本語"),
        ("euc-jp", "8bit", b"\xc6\xfc\xcb\xdc\xb8\xec", "日本語"),
        ("iso-2022-jp", "7bit", b"\x1b$BF|K\\8l\x1b(B", "日本語"),
        ("gb2312", "8bit", b"\xd6\xd0\xce\xc4", "中文"),
        ("gbk", "8bit", b"\xd6\xd0\xce\xc4", "中文"),
        ("big5", "8bit", b"\xa4\xa4\xa4\xe5", "中文"),
    ];
    for (charset, cte, body, want) in cases {
        let mut raw = format!("From: a@example.org\nSubject: cs\nContent-Type: text/plain; charset=\"{charset}\"\nContent-Transfer-Encoding: {cte}\n\n").into_bytes();
        raw.extend_from_slice(body);
        raw.push(b'\n');
        for (form, raw) in forms(&raw) {
            let msg = Message::parse(&raw).expect("parse");
            assert_eq!(msg.text().map(str::trim_end), Some(*want), "{form} {charset}");
            assert!(msg.warnings().is_empty(), "{form} {charset}: {:?}", msg.warnings());
        }
    }
}

fn nested_fixture(encode_nested: bool) -> Vec<u8> {
    let inner = format!(
        "From: Bob <bob@example.org>\nSubject: report\nMessage-ID: <inner@example.org>\nContent-Type: multipart/mixed; boundary=in\n\n--in\nContent-Type: text/plain\n\ninner text\n--in\nContent-Type: application/pdf; name=original.pdf\nContent-Transfer-Encoding: base64\n\n{}\n--in--\n",
        b64(b"%PDF-inner")
    );
    let rfc822 = if encode_nested {
        format!("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n{}", b64(inner.as_bytes()))
    } else {
        format!("Content-Type: message/rfc822\n\n{inner}")
    };
    let mut s = String::from(
        "From: Jane <jane@example.org>\nSubject: Fwd: report\nContent-Type: multipart/mixed; boundary=out\n\n",
    );
    s.push_str("--out\nContent-Type: multipart/alternative; boundary=alt\n\n--alt\nContent-Type: text/plain\n\nouter text\n--alt\nContent-Type: text/html\n\n<p>outer</p>\n--alt--\n");
    s.push_str(&format!("--out\n{rfc822}\n"));
    s.push_str(&format!("--out\nContent-Type: image/png\nContent-Disposition: inline; filename=pic.png\nContent-ID: <pic@x>\nContent-Transfer-Encoding: base64\n\n{}\n", b64(b"\x89PNG")));
    s.push_str("--out--\n");
    s.into_bytes()
}

#[test]
fn nested_messages_and_part_paths() {
    for encode in [false, true] {
        for (form, raw) in forms(&nested_fixture(encode)) {
            let msg = Message::parse(&raw).expect("parse");
            let paths: Vec<(String, String)> =
                msg.parts().iter().map(|p| (p.path().to_string(), p.content_type().to_string())).collect();
            let want: Vec<(String, String)> = [
                ("", "multipart/mixed"),
                ("1", "multipart/alternative"),
                ("1.1", "text/plain"),
                ("1.2", "text/html"),
                ("2", "message/rfc822"),
                ("2", "multipart/mixed"),
                ("2.1", "text/plain"),
                ("2.2", "application/pdf"),
                ("3", "image/png"),
            ]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
            assert_eq!(paths, want, "{form} encoded={encode}");
            assert!(matches!(msg.parts()[4].kind(), PartKind::Message { .. }));
            assert_eq!(msg.text().map(str::trim_end), Some("outer text"));
            assert_eq!(msg.html().map(str::trim_end), Some("<p>outer</p>"));
            assert_eq!(msg.summaries()[1].subject.as_deref(), Some("report"));
            assert_eq!(msg.text_of(&msg.summaries()[1]).map(str::trim_end), Some("inner text"));
            assert!(msg.warnings().is_empty(), "{:?}", msg.warnings());

            let (dir, d) = dissect(&raw);
            common::check_manifest(dir.path(), &d);
            let m = &d.manifest;
            let saved: Vec<&str> = m.attachments.iter().map(|a| a.saved_as.as_str()).collect();
            assert_eq!(saved, ["report.eml", "pic.png"], "{form}");
            assert_eq!(m.attachments[1].disposition.as_deref(), Some("inline"));
            assert_eq!(m.attachments[1].content_id.as_deref(), Some("pic@x"));
            assert_eq!(m.nested.len(), 1);
            assert_eq!(m.nested[0].attachments[0].saved_as, "report.eml.d/original.pdf");
            assert_eq!(m.nested[0].attachments[0].part, "2.2");
            assert_eq!(std::fs::read(dir.path().join("report.eml.d/original.pdf")).expect("read"), b"%PDF-inner");
            let eml = std::fs::read(dir.path().join("report.eml")).expect("read");
            assert!(eml.starts_with(b"From: Bob"), "{form}");
        }
    }
}

#[test]
fn headers_dates_and_ids() {
    let raw = b"From: a@example.org\nDate: Thu, 10 Mar 2016 09:30:00 -0800\nMessage-ID: <abc@example.org>\nIn-Reply-To: <p@example.org>\nReferences: <r1@example.org>\n <p@example.org>\nX-Custom: =?utf-8?q?caf=C3=A9?=\n and more\nSubject: plain\n\nbody\n";
    for (form, raw) in forms(raw) {
        let msg = Message::parse(&raw).expect("parse");
        assert_eq!(msg.date(), Some("2016-03-10T09:30:00-08:00"), "{form}");
        assert_eq!(msg.message_id(), Some("abc@example.org"));
        assert_eq!(msg.in_reply_to(), ["p@example.org"]);
        assert_eq!(msg.references(), ["r1@example.org", "p@example.org"]);
        assert_eq!(msg.header_text("x-custom").as_deref(), Some("café and more"));
        let raw_value = msg.header("X-CUSTOM").expect("header").raw_value();
        assert!(raw_value.starts_with(b" =?utf-8?q?caf=C3=A9?="), "{form}");
        assert_eq!(msg.text().map(str::trim_end), Some("body"));
    }
}

#[test]
fn bodies_a_mail_client_shows() {
    let html_only = b"From: a@example.org\nContent-Type: text/html; charset=utf-8\n\n<b>hi</b>\n";
    for (form, raw) in forms(html_only) {
        let msg = Message::parse(&raw).expect("parse");
        assert_eq!(msg.text(), None, "{form}");
        assert_eq!(msg.html().map(str::trim_end), Some("<b>hi</b>"));
        assert_eq!(msg.attachments().count(), 0);
    }
    // Signed mail: the signature is listed as an attachment, the text is the body.
    let signed = b"From: a@example.org\nContent-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=s\n\n--s\nContent-Type: text/plain\n\nsigned text\n--s\nContent-Type: application/pgp-signature; name=signature.asc\n\n-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\n--s--\n";
    for (form, raw) in forms(signed) {
        let msg = Message::parse(&raw).expect("parse");
        assert_eq!(msg.text().map(str::trim_end), Some("signed text"), "{form}");
        let names: Vec<_> = msg.attachments().map(|p| p.filename().unwrap_or("")).collect();
        assert_eq!(names, ["signature.asc"]);
    }
}

#[test]
fn views_not_copies() {
    let raw = mixed(&[
        text_part(),
        "Content-Type: application/octet-stream; name=x.bin\nContent-Transfer-Encoding: binary\n\nRAW BYTES"
            .to_string(),
    ]);
    let msg = Message::parse(&raw).expect("parse");
    let att = msg.attachments().next().expect("attachment");
    let range = raw.as_ptr() as usize..raw.as_ptr() as usize + raw.len();
    assert!(range.contains(&(att.decoded().as_ptr() as usize)), "an undecoded part is a slice of the input");
    assert!(att.decoded_data().is_borrowed());

    let shared = bytes::Bytes::from(raw.clone());
    let owned = Message::from_bytes(shared.clone()).expect("parse");
    let msg = owned.message();
    let att = msg.attachments().next().expect("attachment");
    let b = msg.bytes_of(&att.decoded_data());
    assert_eq!(&b[..], b"RAW BYTES");
    let r = shared.as_ptr() as usize..shared.as_ptr() as usize + shared.len();
    assert!(r.contains(&(b.as_ptr() as usize)), "a view of the shared buffer");
    fn is_send_sync<T: Send + Sync + 'static>(_: &T) {}
    is_send_sync(&owned);
}

#[test]
fn decoded_utf8_text_is_kept_once() {
    // Decoded UTF-8 is its own text: one buffer. Text in another charset is converted; invalid
    // UTF-8 is repaired in the text while the decoded bytes stay as sent.
    let parts = [
        ("utf-8", "quoted-printable", "Gr=C3=BC=C3=9Fe, caf=C3=A9 =E2=80=93 =E6=97=A5=E6=9C=AC=\n end"),
        ("iso-8859-1", "quoted-printable", "caf=E9 cr=E8me"),
        ("utf-8", "quoted-printable", "bad =FF byte"),
        ("utf-8", "base64", "w6nDqMOg"),
    ];
    let body: String = parts
        .iter()
        .map(|(cs, enc, body)| format!("--B\nContent-Type: text/plain; charset={cs}\nContent-Disposition: attachment; filename=t.txt\nContent-Transfer-Encoding: {enc}\n\n{body}\n"))
        .collect();
    let raw = format!("Subject: t\nContent-Type: multipart/mixed; boundary=B\n\n{body}--B--\n");
    let msg = Message::parse(raw.as_bytes()).expect("parse");
    let got: Vec<_> = msg.attachments().map(|p| (p.text().to_string(), p.decoded().to_vec())).collect();
    assert_eq!(got[0].0, "Grüße, café – 日本 end");
    assert_eq!(got[0].1, got[0].0.as_bytes());
    assert_eq!(got[1], ("café crème".to_string(), b"caf\xe9 cr\xe8me".to_vec()));
    assert_eq!(got[2], ("bad \u{fffd} byte".to_string(), b"bad \xff byte".to_vec()));
    assert_eq!(got[3], ("éèà".to_string(), "éèà".as_bytes().to_vec()));
    let first = msg.attachments().next().expect("part");
    assert_eq!(first.text().as_ptr(), first.decoded().as_ptr(), "one buffer, not a copy");
    assert!(!msg.warnings().is_empty(), "the invalid byte is reported");
}

#[test]
fn named_inline_text_parts_are_files() {
    // Apple Mail style: a text file sent inline, named only in Content-Disposition.
    let part = "Content-Type: text/plain; charset=us-ascii\nContent-Disposition: inline; filename=notes.txt\nContent-Transfer-Encoding: 7bit\n\nline one\nline two";
    for (form, raw) in forms(&mixed(&[text_part(), part.to_string()])) {
        let (name, data) = only_attachment(&raw);
        assert_eq!(name, "notes.txt", "{form}");
        assert_eq!(lf(&data), b"line one\nline two", "{form}");
        let msg = Message::parse(&raw).expect("parse");
        assert_eq!(msg.text().map(str::trim_end), Some("See attached."), "{form}");
    }
}

fn lf(b: &[u8]) -> Vec<u8> {
    common::lf(b)
}
