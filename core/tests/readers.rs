//! What the builder sends, real readers take apart byte for byte: ripmime and munpack (Debian's
//! `ripmime` and `mpack`, installed by `scripts/mail-servers start`), with the names they can
//! read. Quoted-printable text attachments and RFC 2231 segments of plain ASCII names were what
//! they got wrong.

use std::path::Path;
use std::process::Command;

use mailwright::build::MessageBuilder;

fn have(tool: &str) -> bool {
    let ok = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success());
    if !ok {
        let msg = format!("SKIPPED reader tests: {tool} is not installed (scripts/mail-servers start installs it)");
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{msg}; CI must not skip");
        eprintln!("\n*** {msg} ***\n");
    }
    ok
}

/// The files and names that tripped readers up.
fn files() -> Vec<(String, Vec<u8>)> {
    let text = "trailing spaces   \nan = sign and a very long line ".repeat(40) + "\nno final line break";
    vec![
        ("report.pdf".into(), mailwright::sample::pdf("readers", 30_000, 2)),
        ("notes.txt".into(), text.into_bytes()),
        (format!("{}.txt", "long-name-".repeat(12)), b"a long ASCII name\r\n".to_vec()),
        ("two words.csv".into(), b"a,b\n1,2\n".to_vec()),
        ("data.bin".into(), (0..=255u8).cycle().take(5_000).collect()),
    ]
}

fn message() -> Vec<u8> {
    let mut b = MessageBuilder::new().from("a@example.org").to("b@example.org").subject("files").text("see files\n");
    for (name, data) in files() {
        b = b.attach_bytes(name, data);
    }
    b.build().expect("build")
}

/// With `local_newlines`, text files are compared as the reader writes them: munpack turns a
/// text part's CRLF into the local LF (as it documents), whatever the sender did.
/// munpack also writes a space in a name as `X`, its own rule.
fn check(dir: &Path, reader: &str, local_newlines: bool) {
    for (name, mut data) in files() {
        let name = if local_newlines { name.replace(' ', "X") } else { name };
        let got = std::fs::read(dir.join(&name)).unwrap_or_else(|e| panic!("{reader}: {name}: {e}"));
        if local_newlines && (name.ends_with(".txt") || name.ends_with(".csv")) {
            data = String::from_utf8(data).expect("text").replace("\r\n", "\n").into_bytes();
        }
        assert!(got == data, "{reader}: {name} differs ({} bytes, want {})", got.len(), data.len());
    }
}

/// Runs `tool` on the message (`args` with `{in}` and `{out}` filled) and checks what it wrote.
fn unpack(tool: &str, args: &[&str], local_newlines: bool) {
    if !have(tool) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let eml = dir.path().join("m.eml");
    std::fs::write(&eml, message()).expect("write");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("out");
    let fill = |a: &&str| match *a {
        "{in}" => eml.clone().into_os_string(),
        "{out}" => out.clone().into_os_string(),
        other => other.into(),
    };
    let run = Command::new(tool).args(args.iter().map(fill)).output().expect(tool);
    assert!(run.status.success(), "{tool}: {}", String::from_utf8_lossy(&run.stderr));
    check(&out, tool, local_newlines);
}

#[test]
fn ripmime_gets_every_file_byte_exact_with_its_name() {
    unpack("ripmime", &["-i", "{in}", "-d", "{out}"], false);
}

#[test]
fn munpack_gets_every_file_byte_exact_with_its_name() {
    unpack("munpack", &["-q", "-C", "{out}", "{in}"], true);
}

#[test]
fn attachments_go_base64_with_one_quoted_name_and_text_declares_its_charset() {
    let raw = String::from_utf8(message()).expect("ascii");
    let long = format!("{}.txt", "long-name-".repeat(12));
    assert!(raw.contains(&format!(" filename=\"{long}\"")), "one quoted filename");
    assert!(!raw.contains("filename*0"), "no segments for a name that fits");
    assert!(!raw.to_ascii_lowercase().contains("quoted-printable\r\ncontent-disposition"));
    assert_eq!(raw.matches("Content-Transfer-Encoding: base64").count(), 5);
    assert!(raw.contains("Content-Type: text/plain; charset=us-ascii;\r\n name=\"notes.txt\""), "{raw:.2000}");
    // Only a name that must be encoded uses RFC 2231, and mailwright reads it back.
    let b = MessageBuilder::new()
        .from("a@example.org")
        .to("b@example.org")
        .attach_bytes("Résumé 季度.pdf", b"%PDF".to_vec());
    let raw = b.build().expect("build");
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("filename*=utf-8''R%C3%A9sum%C3%A9%20%E5%AD%A3%E5%BA%A6.pdf"), "{text}");
    let msg = mailwright::Message::parse(&raw).expect("parse");
    assert_eq!(msg.attachments().next().and_then(|p| p.filename()), Some("Résumé 季度.pdf"));
}
