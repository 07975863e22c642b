//! Helpers shared by the integration tests: fixtures in LF and CRLF form, base64, and checks
//! that a dissection stayed inside its folder.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

use mailwright::{DissectOptions, Dissection, Message};

/// The fixture with LF line ends.
pub fn lf(t: &[u8]) -> Vec<u8> {
    t.iter().copied().filter(|&b| b != b'\r').collect()
}

/// The fixture with CRLF line ends.
pub fn crlf(t: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(t.len() + t.len() / 20);
    for &b in &lf(t) {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Both forms, labelled.
pub fn forms(t: &[u8]) -> [(&'static str, Vec<u8>); 2] {
    [("lf", lf(t)), ("crlf", crlf(t))]
}

/// Base64 in 76-column lines (LF).
pub fn b64(data: &[u8]) -> String {
    b64_raw(data).as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("\n")
}

/// Base64 on one line (the `base64` crate, independent of the code under test).
pub fn b64_raw(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Parses and dissects `raw` into a new temporary folder.
pub fn dissect(raw: &[u8]) -> (tempfile::TempDir, Dissection) {
    let dir = tempfile::tempdir().expect("tempdir");
    let msg = Message::parse(raw).expect("parse");
    let d = mailwright::dissect(&msg, &DissectOptions::new(dir.path())).expect("dissect");
    (dir, d)
}

/// Every file below `dir`.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let ft = e.file_type().expect("file type");
            if ft.is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// Checks that every manifest entry is a file inside `dir` whose size and SHA-256 match, and
/// that the folder holds nothing else.
pub fn check_manifest(dir: &Path, d: &Dissection) {
    let files = d.manifest.all_files();
    for f in &files {
        assert!(mailwright::dissect::is_inside(&f.saved_as), "saved_as escapes: {:?}", f.saved_as);
        let p = dir.join(&f.saved_as);
        let meta = std::fs::symlink_metadata(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(meta.file_type().is_file(), "{} is not a plain file", p.display());
        let data = std::fs::read(&p).expect("read");
        assert_eq!(data.len() as u64, f.size, "{}", f.saved_as);
        assert_eq!(mailwright::dissect::sha256_hex(&data), f.sha256, "{}", f.saved_as);
    }
    let on_disk = files_below(dir);
    assert_eq!(on_disk.len(), files.len(), "files on disk {on_disk:?} vs manifest");
    let canon = dir.canonicalize().expect("canonicalize");
    for p in on_disk {
        assert!(p.canonicalize().expect("canonicalize").starts_with(&canon), "{} is outside", p.display());
    }
}
