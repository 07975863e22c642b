//! Replays every input in `core/testdata/fuzz` (past crashes, see its README) and, when present,
//! every file of the fuzz corpora in `fuzz/corpus/<target>/` through what that target exercises:
//! messages must parse and dissect without a panic, writing only inside the output folder; mbox,
//! rules, SMTP replies, file names and Maildir names go through their own readers.

mod common;

use std::path::{Path, PathBuf};

fn replay(target: &str, raw: &[u8]) {
    match target {
        "mbox" => {
            for format in [mailwright::mailbox::MboxFormat::Mboxrd, mailwright::mailbox::MboxFormat::Mboxo] {
                for m in mailwright::mailbox::MboxReader::from_bytes(bytes::Bytes::copy_from_slice(raw), format) {
                    assert!(m.bytes().len() <= raw.len());
                }
            }
        }
        "rules" => {
            let text = String::from_utf8_lossy(raw);
            let _ = mailwright::bot::Rules::from_toml(&text, Path::new("/nonexistent"));
            if let Some((p, t)) = text.split_once('\n') {
                let _ = mailwright::bot::rules::glob(p, t);
            }
        }
        "smtp_reply" => {
            let mut rest = raw;
            while let Ok(Some((r, used))) = mailwright::inject::smtp::reply::parse(rest) {
                assert!(used > 0 && used <= rest.len() && (200..600).contains(&r.code));
                rest = &rest[used..];
            }
        }
        "sanitize" => {
            let s = mailwright::dissect::naming::sanitize(&String::from_utf8_lossy(raw));
            assert!(!s.contains(['/', '\\', '\0']) && s != "." && s != "..", "{s:?}");
        }
        "maildir_name" => {
            let name = String::from_utf8_lossy(raw).replace(['/', '\0'], "_");
            if !name.is_empty()
                && let Some(e) =
                    mailwright::mailbox::MaildirEntry::from_file_name(PathBuf::from("/m/cur").join(&name), false)
            {
                assert!(!e.id.contains(":2,"));
            }
        }
        _ => {
            let (dir, d) = common::dissect(raw);
            common::check_manifest(dir.path(), &d);
        }
    }
}

#[test]
fn past_crashes_and_corpora_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let crashes: Vec<_> = common::files_below(&root.join("testdata/fuzz"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("crash-")))
        .collect();
    assert!(crashes.len() >= 6, "the regression inputs are missing");
    let mut n = 0;
    for f in &crashes {
        replay("parse", &std::fs::read(f).expect("read"));
        n += 1;
    }
    let corpus = root.join("../fuzz/corpus");
    if let Ok(targets) = std::fs::read_dir(&corpus) {
        for t in targets.flatten() {
            let target = t.file_name().to_string_lossy().into_owned();
            for f in common::files_below(&t.path()) {
                replay(&target, &std::fs::read(&f).expect("read"));
                n += 1;
            }
        }
    }
    eprintln!("replayed {n} fuzz inputs");
}
