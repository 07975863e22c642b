//! Byte views that are either borrowed from the input or share a reference-counted buffer.

use std::ops::{Deref, Range};

use bytes::Bytes;

/// Bytes of a message: a slice of the caller's input, or a shared buffer (for data that had to be
/// decoded, or for messages made with [`Message::from_bytes`](super::Message::from_bytes)).
/// Cloning never copies the bytes.
#[derive(Clone)]
pub enum Data<'a> {
    /// A slice of the input.
    Borrowed(&'a [u8]),
    /// A shared buffer.
    Shared(Bytes),
}

impl Data<'_> {
    /// The same bytes as a shared buffer; `owner` is the buffer the input lives in, when there is one,
    /// so that a borrowed slice becomes a view of it instead of a copy.
    pub fn to_bytes(&self, owner: Option<&Bytes>) -> Bytes {
        match self {
            Data::Shared(b) => b.clone(),
            Data::Borrowed(s) => match owner {
                Some(o) if contains(o, s) => o.slice_ref(s),
                _ => Bytes::copy_from_slice(s),
            },
        }
    }

    /// A sub-range of these bytes (clamped to their length), without copying.
    pub(crate) fn slice(&self, range: Range<usize>) -> Self {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        match self {
            Data::Borrowed(s) => Data::Borrowed(&s[start..end]),
            Data::Shared(b) => Data::Shared(b.slice(start..end)),
        }
    }

    /// Whether these bytes are a view of the input or of a shared buffer, not a decoded copy.
    pub fn is_borrowed(&self) -> bool {
        matches!(self, Data::Borrowed(_))
    }
}

fn contains(owner: &Bytes, s: &[u8]) -> bool {
    super::part::offset_in(owner, s).is_some()
}

impl Deref for Data<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Data::Borrowed(s) => s,
            Data::Shared(b) => b,
        }
    }
}

impl AsRef<[u8]> for Data<'_> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for Data<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Data({} bytes, {})", self.len(), if self.is_borrowed() { "borrowed" } else { "shared" })
    }
}

impl From<Vec<u8>> for Data<'_> {
    fn from(v: Vec<u8>) -> Self {
        Data::Shared(Bytes::from(v))
    }
}
