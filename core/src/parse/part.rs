//! One MIME part: its place in the tree, its headers, its raw and decoded bytes.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use super::charset;
use super::data::Data;
use super::decode;
use super::header::{self, MimeValue};

/// Where a part sits, numbered as IMAP numbers body sections (RFC 3501 §6.4.5): "1", "2.1", …
/// The root container of a multipart message has the empty path; it is shown as "".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartPath(pub(crate) Vec<u32>);

impl PartPath {
    /// The numbers, outermost first.
    pub fn as_slice(&self) -> &[u32] {
        &self.0
    }

    /// The path of this part's `n`-th child (1-based).
    pub(crate) fn child(&self, n: u32) -> PartPath {
        let mut v = Vec::with_capacity(self.0.len() + 1);
        v.extend_from_slice(&self.0);
        v.push(n);
        PartPath(v)
    }

    /// Parses "2.1"; `None` for anything else but numbers joined by dots (the empty string is the root).
    pub fn parse(s: &str) -> Option<PartPath> {
        if s.is_empty() {
            return Some(PartPath::default());
        }
        s.split('.').map(|n| n.parse::<u32>().ok().filter(|&n| n > 0)).collect::<Option<Vec<_>>>().map(PartPath)
    }
}

impl fmt::Display for PartPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

/// How a part's body was encoded for transport (Content-Transfer-Encoding).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransferEncoding {
    /// 7bit, 8bit, binary, or none given: the body is the content.
    Identity,
    /// base64.
    Base64,
    /// quoted-printable.
    QuotedPrintable,
    /// x-uuencode, uuencode, x-uue.
    Uuencode,
    /// Anything else (taken as identity, with a warning).
    Other(String),
}

impl TransferEncoding {
    pub(crate) fn from_header(raw: Option<&[u8]>) -> Self {
        let Some(raw) = raw else { return TransferEncoding::Identity };
        // The usual values as written, without making a string.
        let plain = raw.trim_ascii();
        for (name, enc) in [
            (&b"quoted-printable"[..], TransferEncoding::QuotedPrintable),
            (b"base64", TransferEncoding::Base64),
            (b"7bit", TransferEncoding::Identity),
            (b"8bit", TransferEncoding::Identity),
        ] {
            if plain.eq_ignore_ascii_case(name) {
                return enc;
            }
        }
        let t = header::simple_token(raw);
        match t.as_str() {
            "" | "7bit" | "8bit" | "binary" | "7-bit" | "8-bit" => TransferEncoding::Identity,
            "base64" => TransferEncoding::Base64,
            "quoted-printable" => TransferEncoding::QuotedPrintable,
            "x-uuencode" | "uuencode" | "x-uue" | "uue" => TransferEncoding::Uuencode,
            _ => TransferEncoding::Other(t.chars().take(64).collect()),
        }
    }

    /// Whether the body is its own content: nothing to undo (an unknown encoding is taken as is).
    pub fn is_identity(&self) -> bool {
        matches!(self, TransferEncoding::Identity | TransferEncoding::Other(_))
    }

    /// The name as written in headers.
    pub fn as_str(&self) -> &str {
        match self {
            TransferEncoding::Identity => "7bit",
            TransferEncoding::Base64 => "base64",
            TransferEncoding::QuotedPrintable => "quoted-printable",
            TransferEncoding::Uuencode => "x-uuencode",
            TransferEncoding::Other(s) => s,
        }
    }
}

/// What a part is in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartKind {
    /// A multipart container; its children by index into [`Message::parts`](super::Message::parts).
    Multipart(Vec<usize>),
    /// A leaf with content.
    Leaf,
    /// A message/rfc822 (or message/global) part: `root` is the index of the nested message's root
    /// part and `summary` the index of its [`Summary`](super::Summary).
    Message {
        /// Index of the nested message's root part.
        root: usize,
        /// Index of the nested message's summary.
        summary: usize,
    },
}

/// A header field as written: name and raw value (folded, undecoded).
#[derive(Debug, Clone)]
pub struct RawHeader<'a> {
    pub(crate) name: Data<'a>,
    pub(crate) value: Data<'a>,
}

impl RawHeader<'_> {
    /// The field name as written.
    pub fn name(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.name)
    }

    /// The raw value: everything after the colon, with folding and encoded words left in.
    pub fn raw_value(&self) -> &[u8] {
        &self.value
    }

    /// Byte offset of the field's first byte in `raw`, when the field lies in it.
    pub(crate) fn name_offset_in(&self, raw: &[u8]) -> Option<usize> {
        offset_in(raw, &self.name)
    }

    /// Byte offset just past the field's line break in `raw`, when the field lies in it.
    pub(crate) fn value_end_in(&self, raw: &[u8]) -> Option<usize> {
        let mut end = offset_in(raw, &self.value)? + self.value.len();
        if raw[end..].starts_with(b"\r\n") {
            end += 2;
        } else if raw[end..].starts_with(b"\n") {
            end += 1;
        }
        Some(end)
    }

    /// The value unfolded, with RFC 2047 encoded words decoded and outer white space trimmed.
    pub fn text(&self) -> String {
        let v = header::unfold(&self.value);
        header::decode_words(&v).trim().to_string()
    }
}

/// One MIME part. Its bytes borrow from the input (or share its buffer) wherever no decoding was
/// needed; decoded bytes and text are computed once.
#[derive(Debug)]
pub struct Part<'a> {
    pub(crate) path: PartPath,
    pub(crate) kind: PartKind,
    pub(crate) depth: usize,
    pub(crate) summary: usize,
    pub(crate) headers: Vec<RawHeader<'a>>,
    pub(crate) raw_header: Data<'a>,
    pub(crate) raw_body: Data<'a>,
    pub(crate) offset: usize,
    pub(crate) content_type: MimeValue,
    pub(crate) disposition: Option<MimeValue>,
    pub(crate) filename: Option<String>,
    pub(crate) content_id: Option<String>,
    pub(crate) encoding: TransferEncoding,
    /// Decoded bytes known at parse time (views, or data decoded anyway).
    pub(crate) decoded: Option<Data<'a>>,
    /// Decoded bytes computed on first use (owned, so `Part` stays covariant).
    pub(crate) decoded_lazy: OnceLock<bytes::Bytes>,
    pub(crate) text: Option<Cow<'a, str>>,
    /// Decoded bytes that are their own text (UTF-8, nothing converted): kept once, shared with
    /// `decoded` (`text` is then `None`).
    pub(crate) shared_text: Option<std::sync::Arc<String>>,
    pub(crate) text_lazy: OnceLock<String>,
}

impl<'a> Part<'a> {
    /// Where the part sits ("1", "2.1").
    pub fn path(&self) -> &PartPath {
        &self.path
    }

    /// Container, leaf or nested message.
    pub fn kind(&self) -> &PartKind {
        &self.kind
    }

    /// Nesting depth: 0 for the root.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Byte offset of the part's headers in the buffer it lives in (the input, or the decoded bytes
    /// of an encoded nested message).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The part's header fields, in order.
    pub fn headers(&self) -> &[RawHeader<'a>] {
        &self.headers
    }

    /// The first header field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&RawHeader<'a>> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name.as_bytes()))
    }

    /// The MIME type, lowercased (`application/pdf`); `text/plain` when none was given.
    pub fn content_type(&self) -> &str {
        &self.content_type.value
    }

    /// Content-Type parameters (decoded, RFC 2231 joined).
    pub fn content_type_params(&self) -> &[(String, String)] {
        &self.content_type.params
    }

    /// `attachment`, `inline`, another value as written (lowercased), or `None` when absent.
    pub fn disposition(&self) -> Option<&str> {
        self.disposition.as_ref().map(|d| d.value.as_str()).filter(|v| !v.is_empty())
    }

    /// Content-Disposition parameters (decoded, RFC 2231 joined).
    pub fn disposition_params(&self) -> &[(String, String)] {
        self.disposition.as_ref().map_or(&[], |d| &d.params)
    }

    /// The file name: Content-Disposition `filename`, else Content-Type `name`, decoded (RFC 2231,
    /// RFC 2047 even inside quotes). A Windows path (`C:\…`, `\\server\…`) gives its last component.
    pub fn filename(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// Content-ID without angle brackets.
    pub fn content_id(&self) -> Option<&str> {
        self.content_id.as_deref()
    }

    /// The declared charset, if any.
    pub fn charset(&self) -> Option<&str> {
        self.content_type.param("charset")
    }

    /// The transfer encoding.
    pub fn transfer_encoding(&self) -> &TransferEncoding {
        &self.encoding
    }

    /// The header block as written.
    pub fn raw_header(&self) -> &[u8] {
        &self.raw_header
    }

    /// The body as written (still transfer-encoded).
    pub fn raw(&self) -> &[u8] {
        &self.raw_body
    }

    /// The body with its transfer encoding undone: exactly the original file, no charset conversion.
    /// A view of the input when the part had no transfer encoding.
    pub fn decoded(&self) -> &[u8] {
        match &self.decoded {
            Some(d) => d,
            None if self.encoding.is_identity() => &self.raw_body,
            None => self.decoded_lazy.get_or_init(|| match decode_body(&self.encoding, &self.raw_body).0 {
                Data::Shared(b) => b,
                Data::Borrowed(s) => bytes::Bytes::copy_from_slice(s),
            }),
        }
    }

    /// The decoded body as [`Data`]: a view of the input where no decoding was needed.
    pub fn decoded_data(&self) -> Data<'a> {
        match &self.decoded {
            Some(d) => d.clone(),
            None if self.encoding.is_identity() => self.raw_body.clone(),
            None => {
                self.decoded();
                Data::Shared(self.decoded_lazy.get().cloned().unwrap_or_default())
            }
        }
    }

    /// The body as text: transfer-decoded, then converted from its declared charset.
    pub fn text(&self) -> &str {
        match &self.text {
            Some(t) => t,
            None if let Some(t) = &self.shared_text => t,
            None => self.text_lazy.get_or_init(|| charset::decode(self.decoded(), self.charset()).text.into_owned()),
        }
    }

    /// Whether this part is a multipart container.
    pub fn is_multipart(&self) -> bool {
        matches!(self.kind, PartKind::Multipart(_))
    }

    /// Whether the content type is `text/*`.
    pub fn is_text(&self) -> bool {
        self.content_type.value.starts_with("text/")
    }
}

/// Where `part` starts in `whole`, when it is a sub-slice of it.
pub(crate) fn offset_in(whole: &[u8], part: &[u8]) -> Option<usize> {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    (p >= w && p + part.len() <= w + whole.len()).then(|| p - w)
}

/// Undoes a transfer encoding; gives the bytes and the first problem.
pub(crate) fn decode_body<'a>(enc: &TransferEncoding, raw: &Data<'a>) -> (Data<'a>, Option<decode::Problem>) {
    match decode_owned(enc, raw) {
        Some((v, p)) => (v.into(), p),
        None => (raw.clone(), None),
    }
}

/// The decoded bytes of `raw` as a new buffer; `None` when `enc` leaves them as they are.
pub(crate) fn decode_owned(enc: &TransferEncoding, raw: &[u8]) -> Option<(Vec<u8>, Option<decode::Problem>)> {
    match enc {
        TransferEncoding::Identity | TransferEncoding::Other(_) => None,
        TransferEncoding::Base64 => Some(decode::base64(raw, None)),
        TransferEncoding::QuotedPrintable => Some(decode::quoted_printable(raw)),
        TransferEncoding::Uuencode => Some(decode::uudecode_body(raw)),
    }
}

/// Decoded bytes as their own text, when they are UTF-8 and `charset` asks for no conversion;
/// else the bytes back.
pub(crate) fn own_text(data: Vec<u8>, charset: Option<&str>) -> Result<std::sync::Arc<String>, Vec<u8>> {
    let s = charset::into_utf8(data)?;
    let label = charset.map(|c| c.trim().trim_matches('"')).filter(|c| !c.is_empty());
    let as_is = label.is_none_or(charset::is_utf8_label) || {
        let d = charset::decode(s.as_bytes(), label);
        d.problem.is_none() && matches!(d.text, Cow::Borrowed(t) if t.len() == s.len())
    };
    if as_is { Ok(std::sync::Arc::new(s)) } else { Err(s.into_bytes()) }
}

/// A shared text as the owner of a `Bytes` view of it.
pub(crate) struct TextOwner(pub(crate) std::sync::Arc<String>);

impl AsRef<[u8]> for TextOwner {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Charset-decodes `data`, borrowing where the input is already UTF-8. `None` for the text when
/// `data` is a shared buffer that is its own text (valid UTF-8, nothing converted): `Part::text`
/// then makes it when first read (freshly decoded bodies take `own_text` instead, and are kept
/// once).
pub(crate) fn text_of<'a>(
    data: &Data<'a>,
    charset: Option<&str>,
) -> (Option<Cow<'a, str>>, Option<(crate::WarningKind, String)>) {
    match data {
        Data::Borrowed(s) => {
            let d = charset::decode(s, charset);
            (Some(d.text), d.problem)
        }
        Data::Shared(b) => {
            let d = charset::decode(b, charset);
            match d.text {
                Cow::Borrowed(t) if d.problem.is_none() && t.len() == b.len() => (None, None),
                t => (Some(Cow::Owned(t.into_owned())), d.problem),
            }
        }
    }
}
