//! Dissect into a temporary folder: every created path stays inside it and every manifest hash
//! matches the file written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwright::{DissectOptions, Limits, Message};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_parts: 100, max_depth: 8, max_files: 50, ..Limits::default() };
    let Ok(msg) = Message::parse_with(data, &limits) else { return };
    let Ok(dir) = tempfile_dir() else { return };
    let Ok(d) = mailwright::dissect(&msg, &DissectOptions::new(&dir).with_limits(limits)) else {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    };
    for f in d.manifest.all_files() {
        assert!(mailwright::dissect::is_inside(&f.saved_as), "{:?}", f.saved_as);
        let bytes = std::fs::read(dir.join(&f.saved_as)).expect("saved file");
        assert_eq!(mailwright::dissect::sha256_hex(&bytes), f.sha256);
    }
    let _ = std::fs::remove_dir_all(&dir);
});

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!("mailwright-fuzz-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
