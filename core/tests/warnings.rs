//! One hostile fixture per warning kind, each raising exactly that warning (LF and CRLF).

mod common;

use common::{b64, forms};
use mailwright::{DissectOptions, Limits, Message, WarningKind};

fn mixed(parts: &[&str]) -> Vec<u8> {
    let mut s = String::from("From: a@example.org\nSubject: w\nContent-Type: multipart/mixed; boundary=\"B\"\n\n");
    for p in parts {
        s.push_str("--B\n");
        s.push_str(p);
        s.push('\n');
    }
    s.push_str("--B--\n");
    s.into_bytes()
}

fn kinds_with(raw: &[u8], limits: &Limits) -> Vec<WarningKind> {
    let msg = Message::parse_with(raw, limits).expect("parse");
    let mut k: Vec<WarningKind> = msg.warnings().iter().map(|w| w.kind).collect();
    k.dedup();
    k
}

fn expect(raw: &[u8], kind: WarningKind) {
    expect_with(raw, kind, &Limits::default());
}

fn expect_with(raw: &[u8], kind: WarningKind, limits: &Limits) {
    for (form, raw) in forms(raw) {
        assert_eq!(kinds_with(&raw, limits), [kind], "{form}");
        let msg = Message::parse_with(&raw, limits).expect("parse");
        let w = &msg.warnings()[0];
        assert!(!w.detail.is_empty());
        assert!(w.to_string().contains(kind.as_str()), "{w}");
    }
}

const TEXT: &str = "Content-Type: text/plain\n\nhello";

#[test]
fn invalid_base64() {
    let raw = mixed(&[
        TEXT,
        "Content-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\nJVBE!!Ri0x\nLjQ=",
    ]);
    expect(&raw, WarningKind::InvalidBase64);
    let msg = Message::parse(&raw).expect("parse");
    let w = &msg.warnings()[0];
    assert_eq!(w.part.as_ref().map(|p| p.to_string()).as_deref(), Some("2"));
    let off = w.offset.expect("offset");
    assert_eq!(&raw[off..off + 2], b"!!", "the offset points at the damage");
    assert_eq!(msg.attachments().next().expect("att").decoded(), b"%PDF-1.4");
}

#[test]
fn truncated_base64() {
    expect(
        &mixed(&[TEXT, "Content-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xL"]),
        WarningKind::TruncatedBase64,
    );
}

#[test]
fn invalid_quoted_printable() {
    expect(
        &mixed(&[
            TEXT,
            "Content-Type: application/octet-stream; name=a.bin\nContent-Transfer-Encoding: quoted-printable\n\nabc=ZZdef=\n ok",
        ]),
        WarningKind::InvalidQuotedPrintable,
    );
}

#[test]
fn invalid_uuencode() {
    expect(b"From: a@example.org\n\ntext\nbegin 644 x.bin\n&:&5L;&\\*\n", WarningKind::InvalidUuencode);
}

#[test]
fn missing_boundary() {
    let raw = format!(
        "From: a@example.org\nContent-Type: multipart/mixed; boundary=B\n\n--B\n{TEXT}\n--B\nContent-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\n{}\n",
        b64(b"%PDF-1.4 data")
    );
    expect(raw.as_bytes(), WarningKind::MissingBoundary);
    let msg = Message::parse(raw.as_bytes()).expect("parse");
    assert_eq!(msg.attachments().next().expect("att").decoded(), b"%PDF-1.4 data", "the last part is still decoded");
}

#[test]
fn malformed_multipart() {
    expect(
        b"From: a@example.org\nContent-Type: multipart/mixed\n\n--x\nhello\n--x--\n",
        WarningKind::MalformedMultipart,
    );
}

#[test]
fn unknown_charset() {
    expect(
        b"From: a@example.org\nContent-Type: text/plain; charset=x-klingon\n\nqapla'\n",
        WarningKind::UnknownCharset,
    );
}

#[test]
fn charset_mismatch() {
    expect(b"From: a@example.org\nContent-Type: text/plain; charset=utf-8\n\ncaf\xe9\n", WarningKind::CharsetMismatch);
}

#[test]
fn unknown_transfer_encoding() {
    expect(
        &mixed(&[
            TEXT,
            "Content-Type: application/octet-stream; name=a.bin\nContent-Transfer-Encoding: x-martian\n\nzzz",
        ]),
        WarningKind::UnknownTransferEncoding,
    );
}

#[test]
fn malformed_header() {
    expect(b"", WarningKind::MalformedHeader);
}

#[test]
fn malformed_nested_message() {
    expect(&mixed(&[TEXT, "Content-Type: message/rfc822\n\n"]), WarningKind::MalformedNestedMessage);
}

#[test]
fn depth_limit() {
    let depth = 70;
    let mut s = String::from("From: a@example.org\n");
    for i in 0..depth {
        s.push_str(&format!("Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n"));
    }
    s.push_str("Content-Type: text/plain\n\ndeep\n");
    for i in (0..depth).rev() {
        s.push_str(&format!("--b{i}--\n"));
    }
    expect(s.as_bytes(), WarningKind::DepthLimit);
}

#[test]
fn part_limit() {
    let parts = vec![TEXT; 10];
    expect_with(&mixed(&parts), WarningKind::PartLimit, &Limits { max_parts: 5, ..Limits::default() });
}

#[test]
fn header_limit() {
    let raw = format!("From: a@example.org\nX-Long: {}\n\nbody\n", "x".repeat(500));
    expect_with(raw.as_bytes(), WarningKind::HeaderLimit, &Limits { max_header_bytes: 100, ..Limits::default() });
}

fn dissect_kinds(raw: &[u8], limits: Limits) -> Vec<WarningKind> {
    let dir = tempfile::tempdir().expect("tempdir");
    let msg = Message::parse(raw).expect("parse");
    let d = mailwright::dissect(&msg, &DissectOptions::new(dir.path()).with_limits(limits)).expect("dissect");
    d.warnings.iter().map(|w| w.kind).collect()
}

#[test]
fn output_and_file_limits() {
    let att = format!(
        "Content-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\n{}",
        b64(&[7u8; 1000])
    );
    let raw = mixed(&[TEXT, &att, &att]);
    for (form, raw) in forms(&raw) {
        assert_eq!(
            dissect_kinds(&raw, Limits { max_output_bytes: 1500, ..Limits::default() }),
            [WarningKind::OutputLimit],
            "{form}"
        );
        assert_eq!(
            dissect_kinds(&raw, Limits { max_files: 1, ..Limits::default() }),
            [WarningKind::FileLimit],
            "{form}"
        );
    }
}

#[test]
fn too_many_warnings() {
    let bad = "Content-Type: application/octet-stream; name=a.bin\nContent-Transfer-Encoding: base64\n\nab!!cd";
    let raw = mixed(&[bad, bad, bad, bad, bad]);
    for (form, raw) in forms(&raw) {
        let k = kinds_with(&raw, &Limits { max_warnings: 2, ..Limits::default() });
        assert_eq!(k, [WarningKind::InvalidBase64, WarningKind::TooManyWarnings], "{form}");
    }
}

#[test]
fn every_kind_has_a_fixture() {
    // ParserFailure is covered by a unit test that makes the MIME parser panic.
    let covered = WarningKind::ALL.len();
    assert_eq!(covered, 18, "a new WarningKind needs a fixture in this file");
}
