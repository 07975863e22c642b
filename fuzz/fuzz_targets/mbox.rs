//! The mbox reader on any bytes: every message it yields lies inside the input, in order, and
//! unquoting never grows a message.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mailwright::mailbox::{MboxFormat, MboxReader};

fuzz_target!(|data: &[u8]| {
    for format in [MboxFormat::Mboxrd, MboxFormat::Mboxo] {
        let input = Bytes::copy_from_slice(data);
        let mut last = 0u64;
        for m in MboxReader::from_bytes(input.clone(), format) {
            assert!(m.offset >= last && (m.offset as usize) <= data.len());
            last = m.offset;
            assert!(m.bytes().len() <= m.stored().len());
            assert!(m.stored().len() <= data.len());
        }
    }
});
