//! Replays every input in `core/testdata/fuzz` (past crashes, see its README) and, when present,
//! every file of the fuzz corpora in `fuzz/corpus/*`: each must parse and dissect without a
//! panic, writing only inside the output folder.

mod common;

use std::path::Path;

#[test]
fn past_crashes_and_corpora_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = common::files_below(&root.join("testdata/fuzz"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("crash-")))
        .collect();
    assert!(files.len() >= 6, "the regression inputs are missing");
    let corpus = root.join("../fuzz/corpus");
    if corpus.is_dir() {
        files.extend(common::files_below(&corpus));
    }
    for f in &files {
        let raw = std::fs::read(f).expect("read");
        let (dir, d) = common::dissect(&raw);
        common::check_manifest(dir.path(), &d);
    }
    eprintln!("replayed {} fuzz inputs", files.len());
}
