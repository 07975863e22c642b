//! The file-name sanitiser always gives one safe component (or nothing, for the fallback).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwright::dissect::naming::{MAX_NAME_BYTES, numbered, sanitize};

fuzz_target!(|data: &[u8]| {
    let name = String::from_utf8_lossy(data);
    for s in [sanitize(&name), numbered(&sanitize(&name), 7)] {
        if s.is_empty() {
            continue;
        }
        assert!(s.len() <= MAX_NAME_BYTES, "{s:?}");
        assert!(!s.contains(['/', '\\', '\0']), "{s:?}");
        assert!(s != "." && s != "..", "{s:?}");
        assert!(!s.chars().any(char::is_control), "{s:?}");
    }
});
