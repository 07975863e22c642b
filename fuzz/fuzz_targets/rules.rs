//! The bot's rules file on any text: a clear error or rules, never a panic; a glob never
//! panics on any pattern and text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwright::bot::{Rules, rules::glob};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = Rules::from_toml(&text, std::path::Path::new("/nonexistent"));
    if let Some((p, t)) = text.split_once('\n') {
        let _ = glob(p, t);
    }
});
