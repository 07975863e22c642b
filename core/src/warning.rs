//! Recoverable damage found while reading a message.
//!
//! Parsing and dissecting never stop for damaged input: what they could not read cleanly is reported
//! as a [`Warning`] that names its [`WarningKind`], the part it happened in and, where known, the
//! byte offset in the input. Warnings are capped per message ([`crate::Limits::max_warnings`]).

use std::fmt;

use crate::parse::PartPath;

/// What kind of damage a [`Warning`] reports. Its `as_str` name is stable and used in JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WarningKind {
    /// Base64 content held characters outside the alphabet; they were skipped.
    InvalidBase64,
    /// Base64 content ended in the middle of a 4-character group (missing padding or truncation).
    TruncatedBase64,
    /// Quoted-printable content held a malformed `=` escape; it was kept literally.
    InvalidQuotedPrintable,
    /// A uuencoded block was malformed (bad line, missing `end`); what could be read was kept.
    InvalidUuencode,
    /// A multipart had no closing boundary; its last part runs to the end of the input.
    MissingBoundary,
    /// A multipart declared no boundary, or none of its boundaries occur; its body was read as text.
    MalformedMultipart,
    /// A text part declared a charset that is not known; it was read as UTF-8 (or Windows-1252).
    UnknownCharset,
    /// Text bytes were not valid in the declared charset; invalid sequences were replaced.
    CharsetMismatch,
    /// A Content-Transfer-Encoding that is not known; the body was taken as is.
    UnknownTransferEncoding,
    /// The message has no header section, or its headers could not be read.
    MalformedHeader,
    /// A message/rfc822 part could not be read as a message; it is kept as bytes.
    MalformedNestedMessage,
    /// The underlying parser failed on this input; the message was read in a degraded mode.
    ParserFailure,
    /// Parts nested deeper than [`crate::Limits::max_depth`] were not read.
    DepthLimit,
    /// More parts than [`crate::Limits::max_parts`]; the rest were not read.
    PartLimit,
    /// A header section longer than [`crate::Limits::max_header_bytes`]; it was not decoded.
    HeaderLimit,
    /// A file was not written: it would pass [`crate::Limits::max_output_bytes`], or a nested
    /// message's `.eml` copy would pass [`crate::Limits::max_output_ratio`].
    OutputLimit,
    /// Writing stopped at [`crate::Limits::max_files`].
    FileLimit,
    /// More warnings than [`crate::Limits::max_warnings`]; the rest were dropped.
    TooManyWarnings,
}

impl WarningKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [WarningKind] = &[
        WarningKind::InvalidBase64,
        WarningKind::TruncatedBase64,
        WarningKind::InvalidQuotedPrintable,
        WarningKind::InvalidUuencode,
        WarningKind::MissingBoundary,
        WarningKind::MalformedMultipart,
        WarningKind::UnknownCharset,
        WarningKind::CharsetMismatch,
        WarningKind::UnknownTransferEncoding,
        WarningKind::MalformedHeader,
        WarningKind::MalformedNestedMessage,
        WarningKind::ParserFailure,
        WarningKind::DepthLimit,
        WarningKind::PartLimit,
        WarningKind::HeaderLimit,
        WarningKind::OutputLimit,
        WarningKind::FileLimit,
        WarningKind::TooManyWarnings,
    ];

    /// The stable snake_case name of this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            WarningKind::InvalidBase64 => "invalid_base64",
            WarningKind::TruncatedBase64 => "truncated_base64",
            WarningKind::InvalidQuotedPrintable => "invalid_quoted_printable",
            WarningKind::InvalidUuencode => "invalid_uuencode",
            WarningKind::MissingBoundary => "missing_boundary",
            WarningKind::MalformedMultipart => "malformed_multipart",
            WarningKind::UnknownCharset => "unknown_charset",
            WarningKind::CharsetMismatch => "charset_mismatch",
            WarningKind::UnknownTransferEncoding => "unknown_transfer_encoding",
            WarningKind::MalformedHeader => "malformed_header",
            WarningKind::MalformedNestedMessage => "malformed_nested_message",
            WarningKind::ParserFailure => "parser_failure",
            WarningKind::DepthLimit => "depth_limit",
            WarningKind::PartLimit => "part_limit",
            WarningKind::HeaderLimit => "header_limit",
            WarningKind::OutputLimit => "output_limit",
            WarningKind::FileLimit => "file_limit",
            WarningKind::TooManyWarnings => "too_many_warnings",
        }
    }
}

impl fmt::Display for WarningKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of recoverable damage: what, where, and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What went wrong.
    pub kind: WarningKind,
    /// The part it happened in, when it belongs to one.
    pub part: Option<PartPath>,
    /// Byte offset in the input where it happened, when known. Offsets inside a base64-encoded
    /// nested message count from the start of that message's decoded bytes.
    pub offset: Option<usize>,
    /// What happened and what was done about it.
    pub detail: String,
}

impl Warning {
    /// A warning of `kind` with a detail sentence.
    pub fn new(kind: WarningKind, detail: impl Into<String>) -> Self {
        Warning { kind, part: None, offset: None, detail: detail.into() }
    }

    /// The same warning, attached to `part`.
    pub fn at_part(mut self, part: &PartPath) -> Self {
        self.part = Some(part.clone());
        self
    }

    /// The same warning, attached to a byte offset.
    pub fn at_offset(mut self, offset: usize) -> Self {
        self.offset = Some(offset);
        self
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(part) = &self.part {
            write!(f, "part {part}: ")?;
        }
        f.write_str(&self.detail)?;
        if let Some(offset) = self.offset {
            write!(f, " (at byte {offset})")?;
        }
        write!(f, " [{}]", self.kind)
    }
}

/// A capped list of warnings: past the cap, one [`WarningKind::TooManyWarnings`] counts the rest.
#[derive(Debug, Clone, Default)]
pub(crate) struct Warnings {
    list: Vec<Warning>,
    cap: usize,
    dropped: usize,
}

impl Warnings {
    pub(crate) fn new(cap: usize) -> Self {
        Warnings { list: Vec::new(), cap, dropped: 0 }
    }

    pub(crate) fn push(&mut self, warning: Warning) {
        if self.list.len() < self.cap {
            self.list.push(warning);
        } else {
            self.dropped += 1;
        }
    }

    pub(crate) fn into_vec(mut self) -> Vec<Warning> {
        if self.dropped > 0 {
            self.list.push(Warning::new(
                WarningKind::TooManyWarnings,
                format!("{} more warnings were dropped", self.dropped),
            ));
        }
        self.list
    }
}
