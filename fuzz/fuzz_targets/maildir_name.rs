//! Maildir file names and flags: any name gives an entry (or none for dot files) whose id holds
//! no flag section; flags normalise to sorted unique letters, idempotently; an entry written back
//! as `ID:2,FLAGS` reads the same.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use mailwright::mailbox::{MaildirEntry, normalize_flags};

fuzz_target!(|data: &[u8]| {
    let name = String::from_utf8_lossy(data).replace(['/', '\0'], "_");
    if name.is_empty() {
        return;
    }
    let path = PathBuf::from("/m/cur").join(&name);
    let Some(e) = MaildirEntry::from_file_name(path, false) else {
        assert!(name.starts_with('.'), "{name:?}");
        return;
    };
    assert!(!e.id.contains(":2,"), "{e:?}");
    let flags = normalize_flags(&e.flags);
    assert_eq!(normalize_flags(&flags), flags);
    assert!(flags.chars().all(|c| c.is_ascii_alphabetic()));
    assert!(flags.as_bytes().windows(2).all(|w| w[0] < w[1]), "{flags:?}");
    if !e.id.contains(':') && !e.id.starts_with('.') {
        let again = MaildirEntry::from_file_name(PathBuf::from(format!("/m/cur/{}:2,{flags}", e.id)), false);
        let again = again.expect("a written-back name reads");
        assert_eq!((again.id.as_str(), again.flags.as_str()), (e.id.as_str(), flags.as_str()));
    }
});
