//! Transfer decodings (RFC 2045 §6.7, §6.8; uuencode), lenient and reporting what they skipped.
//!
//! Each decoder returns what it could read and, at most, the first problem it met: the offset
//! (relative to its input) and a sentence for the warning.

use crate::warning::WarningKind;

/// The first problem a decoder met: kind, offset within the decoded input, detail.
pub(crate) type Problem = (WarningKind, usize, String);

mod base64;
mod quoted_printable;
mod uuencode;

pub(crate) use base64::{base64, base64_complete, base64_tail};
pub(crate) use quoted_printable::{quoted_printable, quoted_printable_valid};
pub use uuencode::UuFile;
pub(crate) use uuencode::{uudecode_body, uuencoded_files};
