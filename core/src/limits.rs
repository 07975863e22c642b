//! Bounds on the work done for one message, so hostile input cannot take unbounded time, memory
//! or disk.

/// The largest input the parser accepts: mail-parser 0.11 keeps byte offsets as `u32`, so a
/// message must stay below 4 GiB.
pub const MAX_INPUT_BYTES: usize = u32::MAX as usize;

/// Bounds for parsing and dissecting. Reaching one stops that work with a
/// [`Warning`](crate::Warning), never with a panic. `Limits::default()` suits mail as people send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest input accepted, in bytes (never above [`MAX_INPUT_BYTES`]). Default: 1 GiB.
    pub max_input_bytes: usize,
    /// Deepest part nesting read (multiparts and message/rfc822 together). Default: 64.
    pub max_depth: usize,
    /// Most parts read from one message, nested ones included. Default: 10,000.
    pub max_parts: usize,
    /// Longest header section that is decoded, in bytes. Default: 1 MiB.
    pub max_header_bytes: usize,
    /// Most bytes a dissection writes. Default: 4 GiB.
    pub max_output_bytes: u64,
    /// Most bytes a dissection writes, as a multiple of the message's size (0: no such bound).
    /// Attachments can only shrink when decoded; what grows is the `.eml` copy of each nested
    /// message, which holds every level below it. So the `.eml` copies together may take
    /// `max_output_ratio - 1` times the message's size, and one that would pass that is not
    /// written (a warning says so) while its message is still dissected: the files inside are
    /// what matters. Default: 4.
    pub max_output_ratio: u64,
    /// Most files a dissection writes. Default: 10,000.
    pub max_files: usize,
    /// Most warnings kept per message. Default: 100.
    pub max_warnings: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 1 << 30,
            max_depth: 64,
            max_parts: 10_000,
            max_header_bytes: 1 << 20,
            max_output_bytes: 4 << 30,
            max_output_ratio: 4,
            max_files: 10_000,
            max_warnings: 100,
        }
    }
}
