//! The SMTP reply parser: any bytes give a reply, "need more", or an error; never a panic, and a
//! reply never claims more bytes than it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwright::inject::smtp::reply;

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((r, used))) = reply::parse(rest) {
        assert!(used > 0 && used <= rest.len());
        assert!((200..600).contains(&r.code));
        rest = &rest[used..];
    }
});
