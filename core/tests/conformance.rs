//! The conformance run over real-world messages from public test suites in `../shared/corpus`
//! (beside the project; `MAILWRIGHT_CORPUS` names another folder). Skipped, loudly, when the
//! corpus is absent — except under `CI=true`, where absence fails.
//!
//! For every message: parse and dissect without a panic, every saved file inside the output
//! folder with the manifest's size and SHA-256, and every attachment's bytes equal to the part's
//! decoded bytes.

mod common;

use std::path::{Path, PathBuf};

use mailwright::{DissectOptions, Message};

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MAILWRIGHT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"));
    dir.is_dir().then_some(dir)
}

fn messages(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = common::files_below(dir)
        .into_iter()
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("eml" | "msg" | "raw" | "txt")))
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().contains("COPYING") || n == "SOURCES.md"))
        .collect();
    out.sort();
    out
}

#[test]
fn every_corpus_message_parses_and_dissects() {
    let Some(dir) = corpus_dir() else {
        let msg = "SKIPPED conformance run: ../shared/corpus not found (set MAILWRIGHT_CORPUS to a folder of messages)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}; CI must not skip");
        }
        eprintln!("\n*** {msg} ***\n");
        return;
    };
    let files = messages(&dir);
    assert!(files.len() >= 300, "expected the corpus's 370 messages, found {}", files.len());
    let mut attachments = 0;
    let mut warned = 0;
    for path in &files {
        let raw = std::fs::read(path).expect("read");
        let msg = Message::parse(&raw).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let out = tempfile::tempdir().expect("tempdir");
        let d = mailwright::dissect(&msg, &DissectOptions::new(out.path()))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        common::check_manifest(out.path(), &d);
        for (i, part) in msg.attachments().enumerate() {
            let saved = &d.manifest.attachments[i];
            assert_eq!(saved.part, part.path().to_string(), "{}", path.display());
            let written = std::fs::read(out.path().join(&saved.saved_as)).expect("read");
            assert_eq!(written, part.decoded(), "{}: part {}", path.display(), saved.part);
        }
        attachments += d.manifest.all_files().len();
        warned += usize::from(!d.warnings.is_empty());
    }
    eprintln!("conformance: {} messages, {attachments} files written, {warned} messages with warnings", files.len());
}
