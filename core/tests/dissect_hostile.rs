//! Hostile input: dangerous names, deep nesting, huge part counts, huge headers, broken structure,
//! random bytes. Each must parse and dissect without a panic, write only regular files inside the
//! output folder, and say what it skipped.

mod common;

use common::{b64, check_manifest, dissect, forms};
use mailwright::sample::Rng;
use mailwright::{DissectOptions, Message, WarningKind};

fn with_name(disposition_name: &str) -> Vec<u8> {
    format!(
        "From: a@example.org\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nhi\n--B\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"{disposition_name}\"\nContent-Transfer-Encoding: base64\n\n{}\n--B--\n",
        b64(b"payload")
    )
    .into_bytes()
}

#[test]
fn dangerous_names_stay_inside() {
    let long = "n".repeat(300) + ".pdf";
    let cases: Vec<(String, &str)> = vec![
        ("../../x".into(), "x"),
        ("/etc/passwd".into(), "passwd"),
        ("..\\\\..\\\\x.bat".into(), "x.bat"),
        ("a\u{1}b\u{7f}c.txt".into(), "abc.txt"),
        ("CON.txt".into(), "_CON.txt"),
        ("aux".into(), "_aux"),
        ("..".into(), "part-2.bin"),
        (".".into(), "part-2.bin"),
        ("   ".into(), "part-2.bin"),
        ("dir/".into(), "part-2.bin"),
        ("x\u{202e}fdp.exe".into(), "xfdp.exe"),
        ("a<b>c|d?.txt".into(), "a_b_c_d_.txt"),
        ("=?utf-8?q?..=2F..=2Fevil?=".into(), "evil"),
    ];
    for (name, want) in &cases {
        for (form, raw) in forms(&with_name(name)) {
            let (dir, d) = dissect(&raw);
            check_manifest(dir.path(), &d);
            assert_eq!(d.manifest.attachments.len(), 1, "{form} {name:?}");
            assert_eq!(&d.manifest.attachments[0].saved_as, want, "{form} {name:?}");
        }
    }
    // NUL inside a quoted name and a 300-character name.
    let mut raw = with_name("nul");
    let at = raw.windows(3).position(|w| w == b"nul").expect("nul");
    raw.splice(at..at + 3, b"n\0l.txt".iter().copied());
    let (dir, d) = dissect(&raw);
    check_manifest(dir.path(), &d);
    assert_eq!(d.manifest.attachments[0].saved_as, "nl.txt");
    let (dir, d) = dissect(&with_name(&long));
    check_manifest(dir.path(), &d);
    let saved = &d.manifest.attachments[0].saved_as;
    assert!(saved.len() <= 255 && saved.ends_with(".pdf"), "{saved}");
    assert_eq!(d.manifest.attachments[0].filename.as_deref(), Some(long.as_str()));
}

#[test]
fn clashes_and_existing_files_are_never_overwritten() {
    let raw = format!(
        "From: a@example.org\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nhi\n{}--B--\n",
        (0..3)
            .map(|i| format!("--B\nContent-Type: application/pdf; name=\"same.pdf\"\n\ncontent {i}\n"))
            .collect::<String>()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("same.pdf"), b"precious").expect("write");
    let outside = tempfile::tempdir().expect("tempdir");
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path().join("stolen"), dir.path().join("same-1.pdf")).expect("symlink");
    let msg = Message::parse(raw.as_bytes()).expect("parse");
    let d = mailwright::dissect(&msg, &DissectOptions::new(dir.path())).expect("dissect");
    let saved: Vec<&str> = d.manifest.attachments.iter().map(|a| a.saved_as.as_str()).collect();
    #[cfg(unix)]
    assert_eq!(saved, ["same-2.pdf", "same-3.pdf", "same-4.pdf"]);
    assert_eq!(std::fs::read(dir.path().join("same.pdf")).expect("read"), b"precious");
    assert!(!outside.path().join("stolen").exists(), "nothing is written through a symlink");
}

#[test]
fn ten_thousand_nested_multiparts() {
    let n = 10_000;
    let mut s = String::from("From: a@example.org\n");
    for i in 0..n {
        s.push_str(&format!("Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n"));
    }
    s.push_str("Content-Type: application/octet-stream; name=deep.bin\n\ndeep\n");
    for i in (0..n).rev() {
        s.push_str(&format!("--b{i}--\n"));
    }
    let (dir, d) = dissect(s.as_bytes());
    check_manifest(dir.path(), &d);
    assert!(d.warnings.iter().any(|w| w.kind == WarningKind::DepthLimit));
}

#[test]
fn ten_thousand_nested_messages() {
    let n = 10_000;
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!("From: level{i}@example.org\nContent-Type: multipart/mixed; boundary=m{i}\n\n--m{i}\nContent-Type: message/rfc822\n\n"));
    }
    s.push_str("From: bottom@example.org\n\nbottom\n");
    for i in (0..n).rev() {
        s.push_str(&format!("--m{i}--\n"));
    }
    let (dir, d) = dissect(s.as_bytes());
    check_manifest(dir.path(), &d);
    assert!(d.warnings.iter().any(|w| w.kind == WarningKind::DepthLimit));
}

#[test]
fn a_hundred_thousand_tiny_parts() {
    let mut s = String::from("From: a@example.org\nContent-Type: multipart/mixed; boundary=B\n\n");
    for i in 0..100_000 {
        s.push_str(&format!("--B\nContent-Type: application/octet-stream; name=p{i}\n\nx\n"));
    }
    s.push_str("--B--\n");
    let (dir, d) = dissect(s.as_bytes());
    check_manifest(dir.path(), &d);
    assert!(d.warnings.iter().any(|w| w.kind == WarningKind::PartLimit));
    assert!(d.files <= 10_000);
}

#[test]
fn a_ten_megabyte_header_line() {
    let mut raw = b"From: a@example.org\nSubject: ".to_vec();
    raw.extend(std::iter::repeat_n(b'x', 10 << 20));
    raw.extend_from_slice(b"\nContent-Type: text/plain\n\nbody\n");
    let (dir, d) = dissect(&raw);
    check_manifest(dir.path(), &d);
    assert!(d.warnings.iter().any(|w| w.kind == WarningKind::HeaderLimit));
    let mut one_line = vec![b'y'; 10 << 20];
    one_line.extend_from_slice(b": z\n\nbody");
    let (dir, d) = dissect(&one_line);
    check_manifest(dir.path(), &d);
}

#[test]
fn broken_structure() {
    let cases: Vec<Vec<u8>> = vec![
        b"From: a@example.org\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQ".to_vec(),
        b"Content-Type: multipart/mixed; boundary=\"\"\n\n----\n\n------\n".to_vec(),
        b"Content-Type: multipart/mixed; boundary=B\n\n--B--\n--B\n".to_vec(),
        b"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n!!!!\n".to_vec(),
        b"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nContent-Type: message/rfc822\n\n".to_vec(),
        b"\n\n\n".to_vec(),
        b"From:".to_vec(),
        b"Received:\n\t".to_vec(),
        b"Received: from x (y)\r\n\t".to_vec(),
        b"Received: from x by y;\r\n\t".to_vec(),
        b"Content-Type: multipart/digest; boundary=a\n\n--a\n\n--a".to_vec(),
        b"Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: message/rfc822\n\n--a--".to_vec(),
        b"Content-Disposition: attachment; filename*0*=utf-8''%; filename*1*=%C3; filename*99999999999=x\n\nx".to_vec(),
        b"Content-Type: text/plain; charset=\"=?utf-8?q?x?=\"\n\nx".to_vec(),
        b"Subject: =?utf-8?b?\n\nx".to_vec(),
        b"From: a\n\nbegin 644 \nbegin 999999 x\nM\nend\nbegin 644 y\n".to_vec(),
    ];
    for raw in &cases {
        for (form, raw) in forms(raw) {
            let (dir, d) = dissect(&raw);
            check_manifest(dir.path(), &d);
            let _ = form;
        }
    }
}

fn alphabet(rng: &mut Rng, n: usize) -> Vec<u8> {
    const PIECES: &[&[u8]] = &[
        b"\r\n",
        b"\n",
        b"--",
        b"B",
        b"=",
        b":",
        b";",
        b" ",
        b"\"",
        b"Content-Type: multipart/mixed; boundary=B",
        b"Content-Type: message/rfc822",
        b"Content-Transfer-Encoding: base64",
        b"Content-Transfer-Encoding: quoted-printable",
        b"Content-Disposition: attachment; filename*0*=utf-8''%C3",
        b"=?utf-8?b?w6k=?=",
        b"begin 644 f\n",
        b"end\n",
        b"Subject: ",
        b"From: ",
        b"aGVsbG8=",
        b"=C3=A9",
        b"\0",
        b"\xff",
    ];
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        v.extend_from_slice(rng.pick(PIECES));
    }
    v
}

#[test]
fn random_bytes_and_mail_shaped_noise() {
    let mut rng = Rng::new(7);
    for round in 0..300 {
        let n = rng.range(0, 4096);
        let raw = if round % 2 == 0 { rng.bytes(n) } else { alphabet(&mut rng, n) };
        let (dir, d) = dissect(&raw);
        check_manifest(dir.path(), &d);
    }
}

#[test]
fn empty_input() {
    let (dir, d) = dissect(b"");
    check_manifest(dir.path(), &d);
    assert_eq!(d.files, 0);
    assert!(d.warnings.iter().any(|w| w.kind == WarningKind::MalformedHeader));
}

#[test]
fn oversized_input_is_refused_clearly() {
    let limits = mailwright::Limits { max_input_bytes: 10, ..Default::default() };
    let err = Message::parse_with(b"Subject: too long\n\nx", &limits).expect_err("too large");
    assert!(err.to_string().contains("max_input_bytes"), "{err}");
}

/// Runs `f` on a thread and fails if it has not finished after `secs` (a guard against
/// quadratic work: the fixed code takes a small fraction of that).
fn finishes_within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs)).expect("did not finish: quadratic work?")
}

#[test]
fn tens_of_thousands_of_parameters_are_read_in_linear_time() {
    // 80,000 parameters took 22 s (each name was compared with every earlier one).
    let mut ct = String::from("application/octet-stream");
    for i in 0..80_000 {
        ct.push_str(&format!(";p{i}={i}"));
    }
    // A repeat of an early name: the first one wins.
    ct.push_str(";p7=late;name*0*=utf-8''a%C3;name*1*=%A9.bin");
    let raw = format!(
        "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: {ct}\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--B--\r\n",
        b64(b"payload")
    );
    let (names, p7) = finishes_within(60, move || {
        let msg = Message::parse(raw.as_bytes()).expect("parse");
        let part = msg.attachments().next().expect("attachment");
        let p7 = part.content_type_params().iter().find(|(n, _)| n == "p7").map(|(_, v)| v.clone());
        (part.filename().map(str::to_string), p7)
    });
    assert_eq!(names.as_deref(), Some("aé.bin"));
    assert_eq!(p7.as_deref(), Some("7"));
}

#[test]
fn thousands_of_attachments_of_one_name_get_numbered_in_linear_time() {
    // 5,000 attachments named a.pdf took 57 s (a-1, a-2, … tried from the start each time).
    let mut raw = String::from("From: a@example.org\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n");
    for i in 0..5_000 {
        raw.push_str(&format!(
            // No Content-Type: 5,000 of them would pass the parser's structure bound (max_parts / 2).
            "--B\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n{i}\r\n"
        ));
    }
    raw.push_str("--B--\r\n");
    let (dir, d) = finishes_within(60, move || dissect(raw.as_bytes()));
    let saved: Vec<&str> = d.manifest.attachments.iter().map(|a| a.saved_as.as_str()).collect();
    assert_eq!(saved.len(), 5_000, "{:?} {:?}", &saved[..3], d.warnings);
    assert_eq!(&saved[..3], ["a.pdf", "a-1.pdf", "a-2.pdf"]);
    assert_eq!(saved[4_999], "a-4999.pdf");
    assert_eq!(std::fs::read(dir.path().join("a-4999.pdf")).expect("read"), b"4999");
}

/// `levels` message/rfc822 parts, one inside the other, around a PDF.
fn nested_around(levels: usize, pdf: &[u8]) -> Vec<u8> {
    let mut inner = mailwright::sample::message_with_pdf("deep.pdf", pdf);
    for k in 0..levels {
        let mut m =
            format!("From: a@example.org\r\nSubject: level {k}\r\nContent-Type: message/rfc822\r\n\r\n").into_bytes();
        m.extend_from_slice(&inner);
        inner = m;
    }
    inner
}

#[test]
fn nesting_cannot_amplify_what_is_written() {
    // 64 levels around a 200 KB attachment wrote 13.6 MB: each level's .eml holds all below it.
    let pdf = mailwright::sample::pdf("deep", 200_000, 7);
    let raw = nested_around(60, &pdf);
    let (dir, d) = dissect(&raw);
    check_manifest(dir.path(), &d);
    assert!(d.bytes <= 4 * raw.len() as u64, "{} bytes written for {} in", d.bytes, raw.len());
    assert!(d.warnings.iter().any(|w| w.kind == WarningKind::OutputLimit), "{:?}", d.warnings);
    assert!(d.manifest.warnings.iter().any(|w| w.contains(".eml copy")), "{:?}", d.manifest.warnings);
    // The file inside is still recovered, byte for byte, however deep.
    let mut m = &d.manifest;
    let mut depth = 0;
    while let Some(n) = m.nested.first() {
        m = n;
        depth += 1;
    }
    assert_eq!(depth, 60);
    let pdf_file = m.attachments.iter().find(|a| a.saved_as.ends_with("deep.pdf")).expect("the PDF");
    assert_eq!(std::fs::read(dir.path().join(&pdf_file.saved_as)).expect("read"), pdf);
    // With the ratio off every copy is written (the old behaviour), and a shallow forward is
    // untouched by the default.
    let limits = mailwright::Limits { max_output_ratio: 0, ..Default::default() };
    let out = tempfile::tempdir().expect("tempdir");
    let msg = Message::parse(&raw).expect("parse");
    let all = mailwright::dissect(&msg, &DissectOptions::new(out.path()).with_limits(limits)).expect("dissect");
    assert!(all.bytes > 10 * raw.len() as u64);
    let shallow = nested_around(2, &pdf);
    let (dir, d) = dissect(&shallow);
    check_manifest(dir.path(), &d);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(d.manifest.attachments.len(), 1);
    assert_eq!(d.manifest.nested[0].attachments.len(), 1);
}
