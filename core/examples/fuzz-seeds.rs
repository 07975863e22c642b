//! Writes seed corpora for the fuzz targets from the project's own generated fixtures:
//! `cargo run -p mailwright --example fuzz-seeds -- fuzz/corpus` (used by `scripts/fuzz`). A
//! target's folder that already holds files is left alone.

use std::path::Path;

fn write_all(dir: &Path, items: &[Vec<u8>]) -> std::io::Result<()> {
    if dir.is_dir() && std::fs::read_dir(dir)?.next().is_some() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    for (i, item) in items.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:03}")), item)?;
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let root = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "fuzz/corpus".into()));
    // Messages: a slice of the typical corpus, cut small, and the shared parse cases.
    let mut messages: Vec<Vec<u8>> =
        mailwright::sample::typical_corpus(24, 7).into_iter().map(|m| m[..m.len().min(8192)].to_vec()).collect();
    let cases = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/cases/parse.json"))?;
    let cases: serde_json::Value = serde_json::from_str(&cases).map_err(std::io::Error::other)?;
    for c in cases["cases"].as_array().into_iter().flatten() {
        if let Some(input) = c["input"].as_str() {
            messages.push(input.as_bytes().to_vec());
        }
    }
    write_all(&root.join("parse"), &messages)?;
    write_all(&root.join("dissect"), &messages)?;

    let mut mbox = Vec::new();
    for (i, m) in messages.iter().take(6).enumerate() {
        mbox.extend_from_slice(format!("From sender{i}@example.org Thu Jan  1 00:00:00 2026\n").as_bytes());
        mbox.extend_from_slice(&m.iter().copied().filter(|&b| b != b'\r').collect::<Vec<u8>>());
        mbox.extend_from_slice(b"\n>From quoted line\n\n");
    }
    write_all(&root.join("mbox"), &[mbox, b"From a\n\nx\nFrom b\n\n>>From y\n".to_vec()])?;

    let rules = br#"[source]
maildir = "Maildir"
[bot]
done = "Handled"
[transport]
from = "bot@example.org"
outbox = "outbox"
[[rule]]
name = "pdfs"
from = ["*@example.org"]
attachment_type = ["application/pdf"]
[[rule.action]]
type = "save"
dir = "pdfs"
[[rule.action]]
type = "run"
command = ["lpr", "{file}"]
"#;
    write_all(&root.join("rules"), &[rules.to_vec(), b"*.pdf\nreport.PDF".to_vec()])?;
    let replies: &[&[u8]] = &[
        b"250-mx.example.org\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n",
        b"550 5.1.1 <x@example.org>: no such user\r\n",
        b"354 go\r\n",
    ];
    write_all(&root.join("smtp_reply"), &replies.iter().map(|r| r.to_vec()).collect::<Vec<_>>())?;
    let names: &[&str] = &["Résumé 2016.pdf", "../../etc/passwd", "C:\\Windows\\x.dll", "con.txt", "a\u{202e}fdp.exe"];
    write_all(&root.join("sanitize"), &names.iter().map(|n| n.as_bytes().to_vec()).collect::<Vec<_>>())?;
    let maildir: &[&str] = &["1795837041.M560481P23486Q1R886e654d.host:2,FS", "x:2,", ".hidden", "a:1,b"];
    write_all(&root.join("maildir_name"), &maildir.iter().map(|n| n.as_bytes().to_vec()).collect::<Vec<_>>())?;
    write_all(&root.join("build_roundtrip"), &[vec![0u8; 64], (0u8..=255).collect()])?;
    println!("seeds in {}", root.display());
    Ok(())
}
