//! Composing a message: [`MessageBuilder`] over mail-builder, with every header checked first.
//!
//! mail-builder does not refuse CR or LF in header values (2.x turns them into spaces in a
//! Subject; 0.5 wrote them verbatim), so all validation happens here, in [`MessageBuilder::build`],
//! before mail-builder sees anything: CR or LF in a header name or value, a header name outside
//! RFC 5322 `ftext`, or an address that is not an address, is a [`BuildError`] — never a silent
//! repair, never an injected header.
//!
//! Output is CRLF with lines of at most 998 octets and 7-bit clean (mail-builder chooses
//! quoted-printable or base64); attachment names are RFC 2231-encoded, so any Unicode name, quote
//! or emoji survives. Bcc is never written into the message: [`MessageBuilder::envelope`] gives the
//! sender and every recipient for the transport.
//!
//! ```
//! use mailwright::build::MessageBuilder;
//! let raw = MessageBuilder::new()
//!     .from("Jane Doe <jane@example.org>")
//!     .to("bot@example.org")
//!     .subject("Quarterly report")
//!     .text("Please print the attached report.")
//!     .attach_bytes("Résumé 2016.pdf", b"%PDF-1.4 ...".to_vec())
//!     .build()?;
//! let msg = mailwright::Message::parse(&raw)?;
//! assert_eq!(msg.attachments().next().and_then(|p| p.filename()), Some("Résumé 2016.pdf"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod attachment;
mod part;

use std::io::Write;
use std::path::PathBuf;

use mail_builder::headers::address::{Address as MbAddress, EmailAddress};
use mail_builder::headers::raw::Raw;
use mail_builder::mime::MimePart;

pub use attachment::{Attachment, guess_content_type};

use crate::parse::{Address, Message};

/// Why a message could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A header value holds CR or LF: it would start a new header.
    #[error("{field} contains a line break (CR or LF), which would inject a header; remove it")]
    LineBreak {
        /// Which field.
        field: String,
    },
    /// A header value holds a control character (NUL, VT, DEL, U+0085…) or a Unicode line or
    /// paragraph separator, which some readers take as a line break.
    #[error("{field} contains the control character {character:?}; remove it")]
    ControlCharacter {
        /// Which field.
        field: String,
        /// The character.
        character: char,
    },
    /// A header value with a run of text too long to fold into lines of 998 octets.
    #[error("{field} has {length} octets without white space; no header line may pass 998 octets (RFC 5322 §2.1.1)")]
    LongLine {
        /// Which field.
        field: String,
        /// The length of the longest run.
        length: usize,
    },
    /// A header name that is not a valid field name.
    #[error("header name {name:?} is not valid: use printable ASCII without ':' or spaces")]
    HeaderName {
        /// The name given.
        name: String,
    },
    /// A custom header that the builder writes itself.
    #[error("header {name:?} is set by the builder; use its own method instead of .header()")]
    ReservedHeader {
        /// The name given.
        name: String,
    },
    /// An address that is not an address.
    #[error("{field}: {address:?} is not an email address (expected local@domain)")]
    Address {
        /// Which field.
        field: String,
        /// What was given.
        address: String,
    },
    /// An attachment file could not be read.
    #[error("cannot read attachment {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// Writing the message failed.
    #[error("cannot write the message: {0}")]
    Write(#[from] std::io::Error),
    /// DKIM signing failed.
    #[error("cannot sign the message with DKIM: {0}")]
    Sign(String),
}

/// A mailbox to put in From, To, Cc, Bcc or Reply-To: `"Jane <jane@example.org>"`,
/// `"jane@example.org"`, or `("Jane", "jane@example.org")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Display name (any Unicode; encoded as needed).
    pub name: Option<String>,
    /// The address.
    pub address: String,
}

impl From<&str> for Mailbox {
    fn from(s: &str) -> Self {
        let s = s.trim();
        if let (Some(open), true) = (s.rfind('<'), s.ends_with('>')) {
            let name = s[..open].trim().trim_matches('"').trim();
            return Mailbox {
                name: (!name.is_empty()).then(|| name.to_string()),
                address: s[open + 1..s.len() - 1].trim().to_string(),
            };
        }
        Mailbox { name: None, address: s.to_string() }
    }
}

impl From<String> for Mailbox {
    fn from(s: String) -> Self {
        Mailbox::from(s.as_str())
    }
}

impl<N: Into<String>, A: Into<String>> From<(N, A)> for Mailbox {
    fn from((name, address): (N, A)) -> Self {
        let name = name.into();
        Mailbox { name: (!name.is_empty()).then_some(name), address: address.into() }
    }
}

impl From<&Address> for Mailbox {
    fn from(a: &Address) -> Self {
        Mailbox { name: a.name.clone(), address: a.address.clone().unwrap_or_default() }
    }
}

/// Composes a message. Setters consume and return the builder; [`build`](Self::build) checks
/// everything and writes CRLF bytes.
#[derive(Debug, Clone, Default)]
pub struct MessageBuilder {
    from: Vec<Mailbox>,
    to: Vec<Mailbox>,
    cc: Vec<Mailbox>,
    bcc: Vec<Mailbox>,
    reply_to: Vec<Mailbox>,
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<Attachment>,
    inline: Vec<Attachment>,
    messages: Vec<(String, Vec<u8>)>,
    headers: Vec<(String, String)>,
    message_id: Option<String>,
    date: Option<i64>,
    in_reply_to: Option<String>,
    references: Vec<String>,
    eight_bit: bool,
    /// Attachment files that could not be read: reported by `validate`.
    unreadable: Vec<(PathBuf, std::io::ErrorKind, String)>,
    /// Signs the finished message.
    #[cfg(feature = "smtp")]
    dkim: Option<std::sync::Arc<crate::auth::DkimSigner>>,
}

const RESERVED: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "content-id",
];

impl MessageBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a From mailbox.
    pub fn from(mut self, m: impl Into<Mailbox>) -> Self {
        self.from.push(m.into());
        self
    }

    /// Adds a To recipient.
    pub fn to(mut self, m: impl Into<Mailbox>) -> Self {
        self.to.push(m.into());
        self
    }

    /// Adds a Cc recipient.
    pub fn cc(mut self, m: impl Into<Mailbox>) -> Self {
        self.cc.push(m.into());
        self
    }

    /// Adds a Bcc recipient: in the envelope only, never in the message.
    pub fn bcc(mut self, m: impl Into<Mailbox>) -> Self {
        self.bcc.push(m.into());
        self
    }

    /// Adds a Reply-To mailbox.
    pub fn reply_to(mut self, m: impl Into<Mailbox>) -> Self {
        self.reply_to.push(m.into());
        self
    }

    /// Sets the Subject (any Unicode; encoded as needed).
    pub fn subject(mut self, s: impl Into<String>) -> Self {
        self.subject = Some(s.into());
        self
    }

    /// Sets the plain-text body.
    pub fn text(mut self, s: impl Into<String>) -> Self {
        self.text = Some(s.into());
        self
    }

    /// Sets the HTML body (with a text body, the two become multipart/alternative).
    pub fn html(mut self, s: impl Into<String>) -> Self {
        self.html = Some(s.into());
        self
    }

    /// Attaches a file from disk (read now; a read error is reported by [`build`](Self::build)).
    pub fn attach_path(mut self, path: impl Into<PathBuf>) -> Self {
        match Attachment::from_path(path.into()) {
            Ok(a) => self.attachments.push(a),
            Err(BuildError::Read { path, source }) => self.unreadable.push((path, source.kind(), source.to_string())),
            Err(_) => {}
        }
        self
    }

    /// Attaches bytes under a name; the type is guessed from both.
    pub fn attach_bytes(mut self, filename: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        self.attachments.push(Attachment::from_bytes(filename, data));
        self
    }

    /// Attaches a prepared [`Attachment`].
    pub fn attach(mut self, a: Attachment) -> Self {
        self.attachments.push(a);
        self
    }

    /// Adds an inline part the HTML body shows as `cid:<content_id>` (multipart/related).
    pub fn inline(
        mut self,
        content_id: impl Into<String>,
        filename: impl Into<String>,
        data: impl Into<Vec<u8>>,
    ) -> Self {
        let mut a = Attachment::from_bytes(filename, data);
        a.content_id = Some(content_id.into());
        self.inline.push(a);
        self
    }

    /// Attaches a whole message as message/rfc822 (forwarding as attachment).
    pub fn attach_message(mut self, filename: impl Into<String>, raw: impl Into<Vec<u8>>) -> Self {
        self.messages.push((filename.into(), raw.into()));
        self
    }

    /// Signs the message with DKIM once it is finished: the bytes `build` returns are the bytes
    /// signed. One signer serves any number of builders.
    #[cfg(feature = "smtp")]
    pub fn dkim(mut self, signer: std::sync::Arc<crate::auth::DkimSigner>) -> Self {
        self.dkim = Some(signer);
        self
    }

    /// Adds a custom header (not one of those the builder sets itself).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the Message-ID (without angle brackets); generated when not set.
    pub fn message_id(mut self, id: impl Into<String>) -> Self {
        self.message_id = Some(id.into());
        self
    }

    /// Sets the Date as seconds since the Unix epoch; now when not set.
    pub fn date(mut self, timestamp: i64) -> Self {
        self.date = Some(timestamp);
        self
    }

    /// Writes non-ASCII text and HTML bodies as 8bit instead of quoted-printable or base64, for
    /// servers that offer 8BITMIME (the SMTP transport then says `BODY=8BITMIME`). Bodies with
    /// lines over 998 octets are still encoded.
    pub fn eight_bit(mut self, yes: bool) -> Self {
        self.eight_bit = yes;
        self
    }

    /// Sets In-Reply-To (without angle brackets).
    pub fn in_reply_to(mut self, id: impl Into<String>) -> Self {
        self.in_reply_to = Some(id.into());
        self
    }

    /// Adds a References id (without angle brackets).
    pub fn reference(mut self, id: impl Into<String>) -> Self {
        self.references.push(id.into());
        self
    }

    /// A reply to `original`: To is its Reply-To (or From), Subject gets "Re: ", In-Reply-To and
    /// References thread it.
    pub fn reply(original: &Message<'_>) -> Self {
        let e = original.summary();
        let mut b = MessageBuilder::new();
        let to = if e.reply_to.is_empty() { &e.from } else { &e.reply_to };
        let mut seen = std::collections::HashSet::new();
        b.to = to
            .iter()
            .filter(|a| a.address.as_deref().is_some_and(|x| seen.insert(crate::inject::address_key(x))))
            .map(Mailbox::from)
            .collect();
        b.subject = Some(prefixed("Re:", e.subject.as_deref()));
        b.references = e.references.clone();
        if let Some(id) = &e.message_id {
            b.in_reply_to = Some(id.clone());
            b.references.push(id.clone());
        }
        b
    }

    /// A forward of `original`: Subject gets "Fwd: ", References threads it; with `attach` the
    /// original goes along as a message/rfc822 attachment, byte for byte.
    pub fn forward(original: &Message<'_>, attach: bool) -> Self {
        let e = original.summary();
        let mut b = MessageBuilder::new();
        b.subject = Some(prefixed("Fwd:", e.subject.as_deref()));
        b.references = e.references.clone();
        if let Some(id) = &e.message_id {
            b.references.push(id.clone());
        }
        if attach {
            let name = format!("{}.eml", e.subject.as_deref().filter(|s| !s.trim().is_empty()).unwrap_or("message"));
            b.messages.push((name, original.raw().to_vec()));
        }
        b
    }

    /// The envelope a transport uses: [`sender`](Self::sender) and
    /// [`recipients`](Self::recipients); an error without recipients or with an address that
    /// would change a command line or the protocol.
    pub fn envelope(&self) -> Result<crate::inject::Envelope, crate::inject::InjectError> {
        crate::inject::Envelope::new(self.sender(), self.recipients())
    }

    /// The envelope sender (MAIL FROM): the first From address; empty without one.
    pub fn sender(&self) -> String {
        self.from.first().map(|m| m.address.clone()).unwrap_or_default()
    }

    /// Every To, Cc and Bcc address (RCPT TO), each once (compared as
    /// [`crate::inject::address_key`] does).
    pub fn recipients(&self) -> Vec<String> {
        crate::inject::dedup_addresses(self.to.iter().chain(&self.cc).chain(&self.bcc).map(|m| m.address.clone()))
    }

    /// Checks every field; the first problem found.
    pub fn validate(&self) -> Result<(), BuildError> {
        if let Some((path, kind, text)) = self.unreadable.first() {
            return Err(BuildError::Read { path: path.clone(), source: std::io::Error::new(*kind, text.clone()) });
        }
        for (field, list) in
            [("From", &self.from), ("To", &self.to), ("Cc", &self.cc), ("Bcc", &self.bcc), ("Reply-To", &self.reply_to)]
        {
            for m in list {
                if let Some(n) = &m.name {
                    no_line_break(&format!("{field} display name"), n)?;
                }
                check_address(field, &m.address)?;
            }
        }
        if let Some(s) = &self.subject {
            no_line_break("Subject", s)?;
        }
        for (id, field) in self
            .message_id
            .iter()
            .map(|i| (i, "Message-ID"))
            .chain(self.in_reply_to.iter().map(|i| (i, "In-Reply-To")))
            .chain(self.references.iter().map(|i| (i, "References")))
        {
            no_line_break(field, id)?;
            if id.is_empty() || id.contains(['<', '>', ' ', '\t']) || !id.contains('@') {
                return Err(BuildError::Address { field: field.into(), address: id.clone() });
            }
        }
        for (name, value) in &self.headers {
            if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
                return Err(BuildError::HeaderName { name: name.clone() });
            }
            if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                return Err(BuildError::ReservedHeader { name: name.clone() });
            }
            check_custom_value(name, value)?;
        }
        for a in self.attachments.iter().chain(&self.inline) {
            no_line_break("attachment content type", &a.content_type)?;
            if !a.content_type.contains('/') || a.content_type.contains([';', '"']) {
                return Err(BuildError::HeaderName { name: format!("content type {:?}", a.content_type) });
            }
            if let Some(cid) = &a.content_id {
                no_line_break("Content-ID", cid)?;
            }
            // File names are RFC 2231-encoded, so CR and LF cannot break out; still refuse them.
            no_line_break("attachment file name", &a.filename)?;
        }
        for (name, _) in &self.messages {
            no_line_break("attached message name", name)?;
        }
        Ok(())
    }

    /// Checks and builds the message: CRLF bytes.
    pub fn build(self) -> Result<Vec<u8>, BuildError> {
        let mut out = Vec::new();
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// Checks and writes the message to `out`.
    pub fn write_to(self, out: impl Write) -> Result<(), BuildError> {
        #[cfg(feature = "smtp")]
        if let Some(signer) = self.dkim.clone() {
            let mut unsigned = Vec::new();
            MessageBuilder { dkim: None, ..self }.write_to(&mut unsigned)?;
            let signed = signer.sign(&unsigned).map_err(|e| BuildError::Sign(e.to_string()))?;
            let mut out = out;
            out.write_all(&signed)?;
            return Ok(());
        }
        self.validate()?;
        let mut b = mail_builder::MessageBuilder::new();
        let list = |v: &[Mailbox]| -> MbAddress<'static> {
            let items: Vec<MbAddress<'static>> = v
                .iter()
                .map(|m| {
                    MbAddress::Address(EmailAddress {
                        name: m.name.clone().map(Into::into),
                        email: m.address.clone().into(),
                    })
                })
                .collect();
            if items.len() == 1 {
                items.into_iter().next().unwrap_or(MbAddress::List(Vec::new()))
            } else {
                MbAddress::List(items)
            }
        };
        if !self.from.is_empty() {
            b = b.from(list(&self.from));
        }
        if !self.to.is_empty() {
            b = b.to(list(&self.to));
        }
        if !self.cc.is_empty() {
            b = b.cc(list(&self.cc));
        }
        if !self.reply_to.is_empty() {
            b = b.reply_to(list(&self.reply_to));
        }
        if let Some(s) = self.subject {
            b = b.subject(s);
        }
        if let Some(id) = self.message_id {
            b = b.message_id(id);
        }
        if let Some(t) = self.date {
            b = b.date(t);
        }
        if let Some(id) = self.in_reply_to {
            b = b.in_reply_to(id);
        }
        if !self.references.is_empty() {
            b = b.references(self.references);
        }
        for (name, value) in self.headers {
            // Folded at white space either way; text beyond ASCII goes as RFC 2047 words, so the
            // message stays 7-bit.
            b = if value.is_ascii() {
                b.header(name, Raw::new(value))
            } else {
                b.header(name, mail_builder::headers::text::Text::new(value))
            };
        }
        b = b.body(body(self.text, self.html, self.inline, self.attachments, self.messages, self.eight_bit));
        b.write_to(out)?;
        Ok(())
    }
}

/// The MIME structure: mixed( alternative(text, related(html, inline…)), attachments…, messages… ),
/// with every level left out when it would hold one part.
fn body(
    text: Option<String>,
    html: Option<String>,
    inline: Vec<Attachment>,
    attachments: Vec<Attachment>,
    messages: Vec<(String, Vec<u8>)>,
    eight_bit: bool,
) -> MimePart<'static> {
    let text_part = |ctype: &'static str, t: String| -> MimePart<'static> {
        if eight_bit && !t.is_ascii() {
            let crlf = to_crlf(t.as_bytes());
            if crlf.split(|&b| b == b'\n').all(|l| l.len() <= 999) && !crlf.contains(&0) {
                let s = String::from_utf8(crlf).unwrap_or_default();
                return MimePart::new(ctype, s).transfer_encoding("8bit");
            }
        }
        MimePart::new(ctype, t)
    };
    let html_part = html.map(|h| {
        let h = text_part("text/html", h);
        if inline.is_empty() {
            h
        } else {
            let mut parts = vec![h];
            parts.extend(inline.into_iter().map(|a| {
                let cid = a.content_id.clone().unwrap_or_default();
                MimePart::raw(part::attachment(&a.content_type, "inline", &a.filename, Some(&cid), &a.data))
            }));
            MimePart::new("multipart/related", parts)
        }
    });
    let content = match (text.map(|t| text_part("text/plain", t)), html_part) {
        (Some(t), Some(h)) => Some(MimePart::new("multipart/alternative", vec![t, h])),
        (Some(t), None) => Some(t),
        (None, Some(h)) => Some(h),
        (None, None) => None,
    };
    let mut parts: Vec<MimePart<'static>> = content.into_iter().collect();
    parts.extend(
        attachments
            .into_iter()
            .map(|a| MimePart::raw(part::attachment(&a.content_type, "attachment", &a.filename, None, &a.data))),
    );
    parts.extend(messages.into_iter().map(|(name, raw)| {
        let (raw, cte) = as_rfc822(raw);
        MimePart::raw(part::message(&name, &raw, cte))
    }));
    match parts.len() {
        0 => MimePart::new("text/plain", "\r\n"),
        1 => parts.pop().unwrap_or_else(|| MimePart::new("text/plain", "\r\n")),
        _ => MimePart::new("multipart/mixed", parts),
    }
}

/// Bare LF made CRLF.
fn to_crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 40);
    let mut prev = 0u8;
    for &b in raw {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// A message to embed as message/rfc822: CRLF line ends (a CRLF message goes in byte for byte), and the transfer encoding that says
/// what it holds (message/rfc822 may not be base64-encoded, RFC 2046 §5.2.1).
fn as_rfc822(raw: Vec<u8>) -> (Vec<u8>, &'static str) {
    let out = to_crlf(&raw);
    let long_line = out.split(|&b| b == b'\n').any(|l| l.len() > 999);
    let cte = if long_line || out.contains(&0) {
        "binary"
    } else if out.iter().any(|&b| b >= 0x80) {
        "8bit"
    } else {
        "7bit"
    };
    (out, cte)
}

fn prefixed(prefix: &str, subject: Option<&str>) -> String {
    let s = subject.unwrap_or("").trim();
    if s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix) {
        s.to_string()
    } else {
        format!("{prefix} {s}").trim_end().to_string()
    }
}

/// A custom header's value: no line break, no control character (tab aside), no Unicode line
/// or paragraph separator, and foldable at white space into lines of at most 998 octets.
fn check_custom_value(name: &str, value: &str) -> Result<(), BuildError> {
    let field = || format!("header {name}");
    no_line_break(&field(), value)?;
    if let Some(c) = value.chars().find(|&c| (c.is_control() && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}')) {
        return Err(BuildError::ControlCharacter { field: field(), character: c });
    }
    // Only ASCII is written as it is; the first run shares its line with the name.
    if value.is_ascii() {
        let mut runs = value.split([' ', '\t']);
        let first = runs.next().map_or(0, str::len) + name.len() + 2;
        let longest = runs.map(|r| r.len() + 1).chain([first]).max().unwrap_or(0);
        if longest > 998 {
            return Err(BuildError::LongLine { field: field(), length: longest });
        }
    }
    Ok(())
}

fn no_line_break(field: &str, value: &str) -> Result<(), BuildError> {
    if value.contains(['\r', '\n']) {
        return Err(BuildError::LineBreak { field: field.to_string() });
    }
    Ok(())
}

/// `local@domain`: a dot-atom local part (UTF-8 allowed, for SMTPUTF8) or a quoted string without
/// line breaks, and a domain of letters, digits and hyphens (UTF-8 allowed) or an address literal.
fn check_address(field: &str, address: &str) -> Result<(), BuildError> {
    let bad = || BuildError::Address { field: field.to_string(), address: address.to_string() };
    no_line_break(field, address)?;
    let (local, domain) = address.rsplit_once('@').ok_or_else(bad)?;
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || (c as u32) >= 0x80;
    let local_ok = if local.starts_with('"') && local.ends_with('"') && local.len() >= 2 {
        !local[1..local.len() - 1].chars().any(|c| c.is_control() || c == '"' || c == '\\')
    } else {
        !local.is_empty() && local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atext))
    };
    let domain_ok = if domain.starts_with('[') && domain.ends_with(']') {
        domain[1..domain.len() - 1]
            .chars()
            .all(|c| c.is_ascii_hexdigit() || ".:".contains(c) || c.is_ascii_alphabetic())
    } else {
        !domain.is_empty()
            && domain.len() <= 255
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-' || (c as u32) >= 0x80)
            })
    };
    if local_ok && domain_ok && local.len() <= 64 { Ok(()) } else { Err(bad()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for good in ["a@b.c", "jane.doe+tag@example.org", "\"odd name\"@example.org", "用户@例子.广告", "x@[127.0.0.1]"]
        {
            assert!(check_address("To", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "no-at",
            "@x.org",
            "a@",
            "a b@x.org",
            "a@x..org",
            "a@-x.org",
            "a@x.org\r\nBcc: e@x",
            "a..b@x.org",
            "<a@x.org>",
            "a@x,org",
        ] {
            assert!(check_address("To", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Mailbox::from("Jane Doe <jane@x.org>"),
            Mailbox { name: Some("Jane Doe".into()), address: "jane@x.org".into() }
        );
        assert_eq!(Mailbox::from("\"Doe, Jane\" <jane@x.org>").name.as_deref(), Some("Doe, Jane"));
    }

    #[test]
    fn prefixes() {
        assert_eq!(prefixed("Re:", Some("hello")), "Re: hello");
        assert_eq!(prefixed("Re:", Some("RE: hello")), "RE: hello");
        assert_eq!(prefixed("Fwd:", None), "Fwd:");
    }
}
