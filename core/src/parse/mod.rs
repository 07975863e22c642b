//! Reading a message: headers, addresses, bodies and the part tree, over mail-parser, zero-copy.
//!
//! [`Message::parse`] borrows the input; [`Message::from_bytes`] (via [`SharedMessage`]) shares a
//! [`Bytes`] buffer. Parts without transfer encoding are views of the input. Parsing never panics
//! and never fails for damaged mail: damage is reported as [`Warning`]s. It fails only for input
//! larger than [`Limits::max_input_bytes`].

mod charset;
mod data;
pub(crate) mod decode;
pub mod header;
mod part;
mod split;
mod walk;

use bytes::Bytes;

pub use data::Data;
pub use decode::UuFile;
pub use part::{Part, PartKind, PartPath, RawHeader, TransferEncoding};

use crate::limits::{Limits, MAX_INPUT_BYTES};
use crate::warning::Warning;

/// Why a message could not be parsed at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The input is larger than the parser can address or than the configured limit.
    #[error(
        "message is {size} bytes, more than the limit of {max} bytes; raise Limits::max_input_bytes (at most 4 GiB - 1, mail-parser keeps 32-bit offsets) or split the input"
    )]
    TooLarge {
        /// Input size.
        size: usize,
        /// The limit in force.
        max: usize,
    },
}

/// A mailbox: display name (decoded) and address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// The display name, decoded; `None` when absent.
    pub name: Option<String>,
    /// The address (`jane@example.org`); `None` when the header held only a name.
    pub address: Option<String>,
}

/// What a message says about itself in its headers, and which of its parts are bodies and which
/// are attachments. There is one for the top message and one per nested message/rfc822 part.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Decoded Subject.
    pub subject: Option<String>,
    /// From (groups flattened).
    pub from: Vec<Address>,
    /// To.
    pub to: Vec<Address>,
    /// Cc.
    pub cc: Vec<Address>,
    /// Bcc.
    pub bcc: Vec<Address>,
    /// Reply-To.
    pub reply_to: Vec<Address>,
    /// Sender.
    pub sender: Vec<Address>,
    /// Date as RFC 3339, `None` when absent or unparseable.
    pub date: Option<String>,
    /// Date as seconds since the Unix epoch.
    pub timestamp: Option<i64>,
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// In-Reply-To ids.
    pub in_reply_to: Vec<String>,
    /// References ids.
    pub references: Vec<String>,
    /// Index of the part whose headers are this message's headers.
    pub header_part: usize,
    /// The text/plain parts a mail client shows, in order.
    pub text_parts: Vec<usize>,
    /// The text/html parts a mail client shows, in order.
    pub html_parts: Vec<usize>,
    /// Every part a mail client lists as an attachment (leaves that are not the shown bodies, and
    /// message/rfc822 parts), in document order. Does not descend into nested messages.
    pub attachments: Vec<usize>,
    /// Files found uuencoded inside this message's text bodies.
    pub uuencoded: Vec<UuAttachment>,
    /// The shown text when it had to be built: several parts joined, or uuencoded blocks taken
    /// out. With one plain part it is that part's text, borrowed (see [`Message::text_of`]).
    pub(crate) text: Option<String>,
    /// The shown HTML when several parts were joined.
    pub(crate) html: Option<String>,
}

/// A file found uuencoded inside a text body.
#[derive(Debug, Clone)]
pub struct UuAttachment {
    /// Index of the text part that held it.
    pub part: usize,
    /// The name on its `begin` line.
    pub name: String,
    /// The decoded file.
    pub data: Bytes,
}

/// A parsed message borrowing its input. See the [module docs](self).
#[derive(Debug)]
pub struct Message<'a> {
    pub(crate) input: &'a [u8],
    pub(crate) owner: Option<Bytes>,
    pub(crate) parts: Vec<Part<'a>>,
    pub(crate) summaries: Vec<Summary>,
    pub(crate) warnings: Vec<Warning>,
}

impl<'a> Message<'a> {
    /// Parses `input` with the default [`Limits`]. Never panics; fails only for oversized input.
    ///
    /// ```
    /// let msg = mailwright::Message::parse(b"Subject: hi\r\nFrom: Jane <jane@example.org>\r\n\r\nHello\r\n").unwrap();
    /// assert_eq!(msg.subject(), Some("hi"));
    /// assert_eq!(msg.from()[0].address.as_deref(), Some("jane@example.org"));
    /// assert_eq!(msg.text(), Some("Hello\r\n"));
    /// ```
    pub fn parse(input: &'a [u8]) -> Result<Self, ParseError> {
        Self::parse_with(input, &Limits::default())
    }

    /// Parses `input` within `limits`.
    pub fn parse_with(input: &'a [u8], limits: &Limits) -> Result<Self, ParseError> {
        let max = limits.max_input_bytes.min(MAX_INPUT_BYTES);
        if input.len() > max {
            return Err(ParseError::TooLarge { size: input.len(), max });
        }
        Ok(walk::parse(input, None, limits))
    }

    /// Parses a shared buffer; the message owns it, and its views share it.
    pub fn from_bytes(input: Bytes) -> Result<SharedMessage, ParseError> {
        SharedMessage::new(input, &Limits::default())
    }

    /// The top message's summary.
    pub fn summary(&self) -> &Summary {
        &self.summaries[0]
    }

    /// Every summary: the top message first, then nested messages in document order.
    pub fn summaries(&self) -> &[Summary] {
        &self.summaries
    }

    /// Decoded Subject.
    pub fn subject(&self) -> Option<&str> {
        self.summary().subject.as_deref()
    }

    /// From.
    pub fn from(&self) -> &[Address] {
        &self.summary().from
    }

    /// To.
    pub fn to(&self) -> &[Address] {
        &self.summary().to
    }

    /// Cc.
    pub fn cc(&self) -> &[Address] {
        &self.summary().cc
    }

    /// Bcc.
    pub fn bcc(&self) -> &[Address] {
        &self.summary().bcc
    }

    /// Reply-To.
    pub fn reply_to(&self) -> &[Address] {
        &self.summary().reply_to
    }

    /// Date as RFC 3339.
    pub fn date(&self) -> Option<&str> {
        self.summary().date.as_deref()
    }

    /// Message-ID without angle brackets.
    pub fn message_id(&self) -> Option<&str> {
        self.summary().message_id.as_deref()
    }

    /// In-Reply-To ids.
    pub fn in_reply_to(&self) -> &[String] {
        &self.summary().in_reply_to
    }

    /// References ids.
    pub fn references(&self) -> &[String] {
        &self.summary().references
    }

    /// The plain-text body a mail client shows (text parts joined), without uuencoded blocks.
    pub fn text(&self) -> Option<&str> {
        self.text_of(self.summary())
    }

    /// The HTML body a mail client shows (HTML parts joined).
    pub fn html(&self) -> Option<&str> {
        self.html_of(self.summary())
    }

    /// The plain-text body of `summary` (this message's or a nested one's).
    pub fn text_of<'m>(&'m self, summary: &'m Summary) -> Option<&'m str> {
        match (&summary.text, summary.text_parts.as_slice()) {
            (Some(t), _) => Some(t),
            (None, [one]) => Some(self.parts[*one].text()),
            _ => None,
        }
    }

    /// The HTML body of `summary`.
    pub fn html_of<'m>(&'m self, summary: &'m Summary) -> Option<&'m str> {
        match (&summary.html, summary.html_parts.as_slice()) {
            (Some(t), _) => Some(t),
            (None, [one]) => Some(self.parts[*one].text()),
            _ => None,
        }
    }

    /// The top message's header fields.
    pub fn headers(&self) -> &[RawHeader<'a>] {
        self.parts.first().map_or(&[], |p| p.headers())
    }

    /// The first top-level header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&RawHeader<'a>> {
        self.parts.first().and_then(|p| p.header(name))
    }

    /// The first top-level header named `name`, unfolded and decoded.
    pub fn header_text(&self, name: &str) -> Option<String> {
        self.header(name).map(RawHeader::text)
    }

    /// Every part, nested messages' parts included, in document order.
    pub fn parts(&self) -> &[Part<'a>] {
        &self.parts
    }

    /// The part at `path` in the top message's numbering.
    pub fn part(&self, path: &PartPath) -> Option<&Part<'a>> {
        self.parts
            .iter()
            .find(|p| &p.path == path && !p.is_multipart())
            .or_else(|| self.parts.iter().find(|p| &p.path == path))
    }

    /// The top message's attachments.
    pub fn attachments(&self) -> impl Iterator<Item = &Part<'a>> {
        self.summary().attachments.iter().map(|&i| &self.parts[i])
    }

    /// Damage found while parsing.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The input.
    pub fn raw(&self) -> &'a [u8] {
        self.input
    }

    /// Where `bytes` start in the input, when they are a slice of it (a part's content that had no
    /// transfer encoding, say): what a binding needs to hand out a view instead of a copy.
    pub fn input_offset(&self, bytes: &[u8]) -> Option<usize> {
        part::offset_in(self.input, bytes)
    }

    /// `data` as a shared buffer: a view of the input buffer when the message was made from
    /// [`Bytes`] and `data` borrows it; a copy otherwise.
    pub fn bytes_of(&self, data: &Data<'a>) -> Bytes {
        data.to_bytes(self.owner.as_ref())
    }
}

self_cell::self_cell!(
    struct SharedCell {
        owner: Bytes,
        #[covariant]
        dependent: Message,
    }

    impl {Debug}
);

/// A [`Message`] that owns its input as [`Bytes`]: `'static`, `Send` and `Sync`, for bindings and
/// queues. Views of undecoded parts share the buffer.
#[derive(Debug)]
pub struct SharedMessage(SharedCell);

impl SharedMessage {
    /// Parses `input` within `limits`.
    pub fn new(input: Bytes, limits: &Limits) -> Result<Self, ParseError> {
        let max = limits.max_input_bytes.min(MAX_INPUT_BYTES);
        if input.len() > max {
            return Err(ParseError::TooLarge { size: input.len(), max });
        }
        let owner = input.clone();
        Ok(SharedMessage(SharedCell::new(input, move |b| walk::parse(b, Some(owner), limits))))
    }

    /// The parsed message.
    pub fn message(&self) -> &Message<'_> {
        self.0.borrow_dependent()
    }

    /// The input buffer.
    pub fn bytes(&self) -> &Bytes {
        self.0.borrow_owner()
    }
}
