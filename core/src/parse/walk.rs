//! Turns mail-parser's tree into mailwright's parts: IMAP part paths, our own header decoding,
//! transfer decoding where mail-parser's is lossy, limits, and damage as warnings.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use bytes::Bytes;
use mail_parser::{Encoding as MpEncoding, HeaderName, HeaderValue, MessageParser, MessagePart as MpPart, PartType};

use super::data::Data;
use super::decode;
use super::header::{self, MimeValue};
use super::part::{Part, PartKind, PartPath, RawHeader, TextOwner, TransferEncoding, decode_owned, own_text, text_of};
use super::split;
use super::{Address, Message, Summary, UuAttachment};
use crate::limits::Limits;
use crate::warning::{Warning, WarningKind, Warnings};

/// One message's parts as mail-parser gave them, taken out one by one.
struct Arena<'a> {
    parts: Vec<Option<MpPart<'a>>>,
    buf: Data<'a>,
    text_body: Vec<u32>,
    html_body: Vec<u32>,
    summary: usize,
    /// mail-parser decoded its text bodies (else they are empty and the walker decodes them).
    texts: bool,
    /// mail-parser part id → index in `Message::parts`.
    map: Vec<usize>,
}

struct Work {
    arena: usize,
    id: usize,
    path: PartPath,
    depth: usize,
    parent: Option<usize>,
    digest: bool,
}

struct Walker<'a, 'l> {
    limits: &'l Limits,
    parts: Vec<Part<'a>>,
    summaries: Vec<Summary>,
    warnings: Warnings,
    arenas: Vec<Arena<'a>>,
    stack: Vec<Work>,
    /// The input was cut short (see `structure_cut`): missing closing boundaries are expected.
    cut: bool,
}

/// Drops a mail-parser part without recursion (nested messages can be thousands deep).
/// The MIME fields of a part, read from its header fields (defaults as RFC 2045 gives them; in a
/// multipart/digest a part without Content-Type is a message).
struct MimeFields {
    content_type: MimeValue,
    disposition: Option<MimeValue>,
    filename: Option<String>,
    content_id: Option<String>,
    encoding: TransferEncoding,
}

impl MimeFields {
    fn of(headers: &[RawHeader<'_>], digest: bool) -> Self {
        let find = |n: &str| headers.iter().find(|h| h.name.eq_ignore_ascii_case(n.as_bytes())).map(|h| &*h.value);
        let content_type = match find("content-type") {
            Some(raw) => header::parse_mime_value(raw),
            None => {
                MimeValue { value: if digest { "message/rfc822" } else { "text/plain" }.into(), params: Vec::new() }
            }
        };
        let content_type = if content_type.value.is_empty() || !content_type.value.contains('/') {
            MimeValue { value: "text/plain".into(), params: content_type.params }
        } else {
            content_type
        };
        let disposition = find("content-disposition").map(header::parse_mime_value);
        let filename = disposition
            .as_ref()
            .and_then(|d| d.param("filename"))
            .filter(|f| !f.trim().is_empty())
            .or_else(|| content_type.param("name").filter(|f| !f.trim().is_empty()))
            .map(clean_filename);
        let content_id = find("content-id").map(header::strip_id).filter(|s| !s.is_empty());
        let encoding = TransferEncoding::from_header(find("content-transfer-encoding"));
        MimeFields { content_type, disposition, filename, content_id, encoding }
    }
}

fn dismantle(part: MpPart<'_>) {
    let mut stack = vec![part];
    while let Some(mut p) = stack.pop() {
        if let PartType::Message(m) = std::mem::take(&mut p.body) {
            stack.extend(m.parts);
        }
    }
}

pub(super) fn parse<'a>(input: &'a [u8], owner: Option<Bytes>, limits: &Limits) -> Message<'a> {
    // Most mail holds no nested message: the split finds that out without a pass of its own.
    parse_using(input, owner, limits, |b| match split::split(b) {
        Ok(m) => (m, false),
        Err(split::Nested) if may_nest_messages(b) => (FULL.parse(b), true),
        Err(split::Nested) => (FAST.parse(b), true),
    })
}

/// Whether `input` may hold a message/rfc822 or message/global part: a cheap, generous test.
fn may_nest_messages(input: &[u8]) -> bool {
    memchr::memmem::find_iter(input, b"essage/").any(|i| i > 0 && input[i - 1].eq_ignore_ascii_case(&b'm'))
}

/// Reads a decoded message/rfc822 body with mail-parser, under the same limits and panic guard as
/// the top message; `None` when nothing could be read.
fn parse_nested(decoded: &[u8], limits: &Limits) -> Option<mail_parser::Message<'static>> {
    let seen = structure_cut(decoded, limits).map_or(decoded, |cut| &decoded[..cut]);
    let m = catch_unwind(AssertUnwindSafe(|| FULL.parse(seen))).ok().flatten()?;
    Some(mail_parser::Message {
        html_body: m.html_body,
        text_body: m.text_body,
        attachments: m.attachments,
        parts: m.parts.into_iter().map(MpPart::into_owned).collect(),
        raw_message: Cow::Borrowed(&[]),
    })
}

/// Where a uuencoded block may start in a text (built once: every text part is searched).
static UU_BEGIN: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\nbegin "));

/// U+FFFD, the mark of a decoder's repair (built once: every text part is searched).
static REPLACEMENT: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new("\u{fffd}".as_bytes()));

static FULL: std::sync::LazyLock<MessageParser> = std::sync::LazyLock::new(|| fields(MessageParser::new()));
pub(super) static FAST: std::sync::LazyLock<MessageParser> =
    std::sync::LazyLock::new(|| fields(MessageParser::new()).ignore_header(HeaderName::ContentTransferEncoding));

/// mail-parser set to interpret only the fields it needs to find the parts (the MIME fields) and
/// the ones read from its results (addresses and Date); every other field is only delimited, since
/// its raw value is what the walker reads. Interpreting them all (Received, List-*, Message-IDs…)
/// cost about a tenth of the parse time on mail with ordinary transport headers.
///
/// `FAST` also leaves Content-Transfer-Encoding alone, so mail-parser hands over bodies as written
/// and the walker decodes them (its quoted-printable decoder copies runs of plain text in bulk
/// where mail-parser's goes byte by byte: that was 40 % of the parse time of typical mail). It is
/// used only when the input cannot hold a nested message: mail-parser reads a message/rfc822 body
/// in place when it does not know it is encoded, which would go wrong for an encoded one.
/// `split::read_headers` parses the same fields the same way (mail-parser keeps this list private):
/// change both together; the split's agreement test fails when they differ.
fn fields(p: MessageParser) -> MessageParser {
    p.with_mime_headers()
        .header_date(HeaderName::Date)
        .header_address(HeaderName::From)
        .header_address(HeaderName::To)
        .header_address(HeaderName::Cc)
        .header_address(HeaderName::Bcc)
        .header_address(HeaderName::ReplyTo)
        .header_address(HeaderName::Sender)
        .default_header_ignore()
}

/// Where to cut the input so that mail-parser, which keeps a structure of about 1 KB for every
/// part and 2.7 KB for every nested message however small, never sees more than twice
/// [`Limits::max_parts`] boundary lines or half of it Content-Type fields. Parts past the cut would
/// be dropped by the part limit anyway. `None` when the input is within bounds.
///
/// Every part and every nested message needs a boundary line or a Content-Type field, and both
/// hold a `-`, which base64 never does: one `memchr` pass over the dashes finds both, at memory
/// speed over large attachments.
fn structure_cut(input: &[u8], limits: &Limits) -> Option<usize> {
    let max_boundaries = limits.max_parts.saturating_mul(2);
    let max_types = (limits.max_parts / 2).max(limits.max_depth);
    // Counted boundaries are at least 3 bytes apart (`\n--`), counted types 6 (`-type:`): an input
    // shorter than this cannot pass either count.
    if input.len() < max_boundaries.saturating_mul(3).min(max_types.saturating_add(1).saturating_mul(6)) {
        return None;
    }
    let (mut boundaries, mut types) = (0usize, 0usize);
    for i in memchr::memchr_iter(b'-', input) {
        let rest = &input[i + 1..];
        if rest.first() == Some(&b'-') && (i == 0 || input[i - 1] == b'\n') {
            boundaries += 1;
            if boundaries > max_boundaries {
                return Some(i);
            }
        } else if rest.len() >= 5 && rest[..4].eq_ignore_ascii_case(b"type") && matches!(rest[4], b':' | b' ' | b'\t') {
            types += 1;
            if types > max_types {
                return Some(memchr::memrchr(b'\n', &input[..i]).map_or(0, |p| p + 1));
            }
        }
    }
    None
}

/// [`parse`] with the MIME parser passed in, so the panic guard can be tested.
fn parse_using<'a>(
    input: &'a [u8],
    owner: Option<Bytes>,
    limits: &Limits,
    mime: impl FnOnce(&'a [u8]) -> (Option<mail_parser::Message<'a>>, bool),
) -> Message<'a> {
    let top: Data<'a> = Data::Borrowed(input);
    let mut w = Walker {
        limits,
        parts: Vec::new(),
        summaries: Vec::new(),
        warnings: Warnings::new(limits.max_warnings.max(1)),
        arenas: Vec::new(),
        stack: Vec::new(),
        cut: false,
    };
    let seen = match structure_cut(input, limits) {
        Some(cut) => {
            w.cut = true;
            w.warnings.push(
                Warning::new(
                    WarningKind::PartLimit,
                    format!("more than {} parts; the input past this point was not read", limits.max_parts),
                )
                .at_offset(cut),
            );
            &input[..cut]
        }
        None => input,
    };
    let parsed = catch_unwind(AssertUnwindSafe(|| mime(seen)));
    match parsed {
        Ok((Some(m), texts)) if !m.parts.is_empty() => {
            w.push_message(m, top, texts, PartPath::default(), 0);
            w.run();
        }
        Ok(_) => {
            w.warnings.push(
                Warning::new(
                    WarningKind::MalformedHeader,
                    "no header section found; the whole input is read as a plain-text body",
                )
                .at_offset(0),
            );
            w.degraded(top);
        }
        Err(_) => {
            w.warnings.push(
                Warning::new(
                    WarningKind::ParserFailure,
                    "the MIME parser failed on this input; the whole input is read as a plain-text body",
                )
                .at_offset(0),
            );
            w.degraded(top);
        }
    }
    w.finish(input, owner)
}

impl<'a> Walker<'a, '_> {
    /// A message mail-parser could not read: one text part holding everything.
    fn degraded(&mut self, top: Data<'a>) {
        self.summaries.push(Summary { header_part: 0, text_parts: vec![0], ..Default::default() });
        self.parts.push(Part {
            path: PartPath(vec![1]),
            kind: PartKind::Leaf,
            depth: 0,
            summary: 0,
            headers: Vec::new(),
            raw_header: top.slice(0..0),
            raw_body: top.clone(),
            offset: 0,
            content_type: MimeValue { value: "text/plain".into(), params: Vec::new() },
            disposition: None,
            filename: None,
            content_id: None,
            encoding: TransferEncoding::Identity,
            decoded: Some(top),
            decoded_lazy: OnceLock::new(),
            text: None,
            shared_text: None,
            text_lazy: OnceLock::new(),
        });
    }

    fn run(&mut self) {
        let mut depth_warned = false;
        let mut parts_warned = false;
        while let Some(work) = self.stack.pop() {
            let Some(mp) = self.arenas[work.arena].parts.get_mut(work.id).and_then(Option::take) else {
                continue;
            };
            if self.parts.len() >= self.limits.max_parts {
                if !parts_warned {
                    parts_warned = true;
                    self.warnings.push(
                        Warning::new(
                            WarningKind::PartLimit,
                            format!("more than {} parts; the rest were not read", self.limits.max_parts),
                        )
                        .at_part(&work.path),
                    );
                }
                dismantle(mp);
                continue;
            }
            if work.depth > self.limits.max_depth {
                if !depth_warned {
                    depth_warned = true;
                    self.warnings.push(
                        Warning::new(
                            WarningKind::DepthLimit,
                            format!("parts nested deeper than {} were not read", self.limits.max_depth),
                        )
                        .at_part(&work.path),
                    );
                }
                dismantle(mp);
                continue;
            }
            self.visit(work, mp);
        }
        for arena in self.arenas.iter_mut().rev() {
            for p in arena.parts.drain(..).flatten() {
                dismantle(p);
            }
        }
    }

    fn visit(&mut self, work: Work, mut mp: MpPart<'a>) {
        let arena = &self.arenas[work.arena];
        let buf = arena.buf.clone();
        let env_idx = arena.summary;
        let texts = arena.texts;
        let idx = self.parts.len();
        self.arenas[work.arena].map[work.id] = idx;

        let hstart = mp.offset_header as usize;
        let bstart = (mp.offset_body as usize).max(hstart);
        let bend = (mp.offset_end as usize).max(bstart);
        let headers = self.raw_headers(&work, &mp, &buf, hstart..bstart);
        if work.id == 0 {
            self.fill_summary(env_idx, idx, &mp, &headers);
        }
        let fields = MimeFields::of(&headers, work.digest);
        let mut part = Part {
            path: work.path.clone(),
            kind: PartKind::Leaf,
            depth: work.depth,
            summary: env_idx,
            headers,
            raw_header: buf.slice(hstart..bstart),
            raw_body: buf.slice(bstart..bend),
            offset: hstart,
            content_type: fields.content_type,
            disposition: fields.disposition,
            filename: fields.filename,
            content_id: fields.content_id,
            encoding: fields.encoding,
            decoded: None,
            decoded_lazy: OnceLock::new(),
            text: None,
            shared_text: None,
            text_lazy: OnceLock::new(),
        };
        if let Some(parent) = work.parent
            && let PartKind::Multipart(children) = &mut self.parts[parent].kind
        {
            children.push(idx);
        }

        match std::mem::take(&mut mp.body) {
            PartType::Multipart(ids) => {
                part.kind = PartKind::Multipart(Vec::with_capacity(ids.len()));
                self.check_final_boundary(&part, bend);
                let digest = part.content_type.value == "multipart/digest";
                for (k, id) in ids.iter().enumerate().rev() {
                    self.stack.push(Work {
                        arena: work.arena,
                        id: *id as usize,
                        path: work.path.child(k as u32 + 1),
                        depth: work.depth + 1,
                        parent: Some(idx),
                        digest,
                    });
                }
            }
            PartType::Message(nested) => self.nested(&work, &mut part, mp.encoding, nested, buf, bstart),
            PartType::Text(t) | PartType::Html(t) => {
                self.leaf_text(&mut part, mp.encoding, mp.is_encoding_problem, texts.then_some(t));
            }
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                self.leaf_binary(&mut part, mp.encoding, mp.is_encoding_problem, b);
            }
        }
        self.check_kind(&part, bstart);
        dismantle(mp);
        self.parts.push(part);
    }

    /// The part's header fields as slices of `buf` (none, with a warning, when the section at
    /// `section` is over the limit); a warning for a line without a valid field name.
    fn raw_headers(
        &mut self,
        work: &Work,
        mp: &MpPart<'a>,
        buf: &Data<'a>,
        section: std::ops::Range<usize>,
    ) -> Vec<RawHeader<'a>> {
        let size = section.end - section.start;
        if size > self.limits.max_header_bytes {
            let why = format!(
                "header section of {size} bytes is over the limit of {}; its fields were not decoded",
                self.limits.max_header_bytes
            );
            self.warnings
                .push(Warning::new(WarningKind::HeaderLimit, why).at_part(&work.path).at_offset(section.start));
            return Vec::new();
        }
        let headers: Vec<RawHeader<'a>> = mp
            .headers
            .iter()
            .map(|h| {
                let f = h.offset_field as usize;
                let s = (h.offset_start as usize).max(f);
                let e = (h.offset_end as usize).max(s);
                let name = buf.slice(f..s);
                let nlen = name.iter().position(|&b| b == b':').unwrap_or(name.len());
                let nlen = name[..nlen].trim_ascii_end().len();
                RawHeader { name: name.slice(0..nlen), value: buf.slice(s..e) }
            })
            .collect();
        // An mbox "From " separator line at the top is not damage.
        let from_line = |k: usize, h: &RawHeader<'_>| k == 0 && h.name.starts_with(b"From ");
        let bad_name = |h: &RawHeader<'_>| h.name.is_empty() || h.name.iter().any(|&b| !(33..=126).contains(&b));
        if let Some((_, bad)) = headers.iter().enumerate().find(|(k, h)| !from_line(*k, h) && bad_name(h)) {
            let at = bad.name.as_ptr() as usize - buf.as_ptr() as usize;
            let why = "a header line has no valid field name; it was kept as written";
            self.warnings.push(Warning::new(WarningKind::MalformedHeader, why).at_part(&work.path).at_offset(at));
        }
        headers
    }

    /// A message/rfc822 part: its content decoded (where mail-parser did not) and, when it reads
    /// as a message, a new arena whose parts are walked next, under this part.
    fn nested(
        &mut self,
        work: &Work,
        part: &mut Part<'a>,
        mp_enc: MpEncoding,
        nested: mail_parser::Message<'a>,
        buf: Data<'a>,
        bstart: usize,
    ) {
        // `decoded` is the part's content, `nested_buf` the buffer the nested parts lie in. An
        // encoded body that mail-parser did not decode (it named the encoding differently) is
        // decoded and read here.
        let (nested, nested_buf, decoded) = if part.encoding.is_identity() {
            (Some(nested), buf, part.raw_body.clone())
        } else if mp_enc != MpEncoding::None {
            let mut nested = nested;
            let decoded = match std::mem::take(&mut nested.raw_message) {
                Cow::Owned(v) => Data::from(v),
                Cow::Borrowed(b) => Data::Borrowed(b),
            };
            (Some(nested), decoded.clone(), decoded)
        } else {
            let decoded = self.own_decode(part);
            (parse_nested(&decoded, self.limits), decoded.clone(), decoded)
        };
        part.decoded = Some(decoded);
        let Some(nested) = nested.filter(|n| !n.parts.is_empty()) else {
            part.kind = PartKind::Leaf;
            return;
        };
        if nested.parts[0].headers.is_empty() {
            let why = "message/rfc822 part has no header section";
            self.warnings
                .push(Warning::new(WarningKind::MalformedNestedMessage, why).at_part(&work.path).at_offset(bstart));
        }
        let root = self.parts.len() + 1;
        let summary = self.push_message(nested, nested_buf, true, work.path.clone(), work.depth + 1);
        part.kind = PartKind::Message { root, summary };
    }

    /// Walks the parts of `m` (lying in `buf`) next, in an arena and with a header summary of
    /// their own: the top message, or one nested at `path`, `depth`. Gives the summary's index.
    fn push_message(
        &mut self,
        m: mail_parser::Message<'a>,
        buf: Data<'a>,
        texts: bool,
        path: PartPath,
        depth: usize,
    ) -> usize {
        let summary = self.summaries.len();
        self.summaries.push(Summary::default());
        let arena = self.arenas.len();
        // A multipart root is the message itself; a single part is part 1 of it.
        let path =
            if matches!(m.parts.first().map(|p| &p.body), Some(PartType::Multipart(_))) { path } else { path.child(1) };
        self.arenas.push(Arena {
            map: vec![usize::MAX; m.parts.len()],
            parts: m.parts.into_iter().map(Some).collect(),
            buf,
            text_body: m.text_body,
            html_body: m.html_body,
            summary,
            texts,
        });
        self.stack.push(Work { arena, id: 0, path, depth, parent: None, digest: false });
        summary
    }

    /// Warnings for a part whose type says multipart or message but that could not be read so.
    fn check_kind(&mut self, part: &Part<'a>, bstart: usize) {
        let ct = part.content_type.value.as_str();
        let why = if ct.starts_with("multipart/") && !part.is_multipart() {
            (WarningKind::MalformedMultipart, "multipart with no usable boundary; its body was read as text")
        } else if (ct == "message/rfc822" || ct == "message/global") && !matches!(part.kind, PartKind::Message { .. }) {
            (WarningKind::MalformedNestedMessage, "message/rfc822 part could not be read as a message; kept as bytes")
        } else {
            return;
        };
        self.warnings.push(Warning::new(why.0, why.1).at_part(&part.path).at_offset(bstart));
    }

    fn check_final_boundary(&mut self, part: &Part<'a>, end: usize) {
        let Some(boundary) = part.content_type.param("boundary") else { return };
        if self.cut {
            return;
        }
        let mut needle = Vec::with_capacity(boundary.len() + 4);
        needle.extend_from_slice(b"--");
        needle.extend_from_slice(boundary.as_bytes());
        needle.extend_from_slice(b"--");
        let body = part.raw();
        let window = &body[body.len().saturating_sub(64 * 1024)..];
        // Usually the body ends with it (no searcher to build for that).
        if !window.trim_ascii_end().ends_with(&needle) && memchr::memmem::rfind(window, &needle).is_none() {
            self.warnings.push(
                Warning::new(
                    WarningKind::MissingBoundary,
                    format!("multipart has no closing boundary \"--{boundary}--\"; its last part runs to the end"),
                )
                .at_part(&part.path)
                .at_offset(end),
            );
        }
    }

    fn problem(&mut self, path: &PartPath, base: usize, p: Option<decode::Problem>) {
        if let Some((kind, rel, detail)) = p {
            self.warnings.push(Warning::new(kind, detail).at_part(path).at_offset(base + rel));
        }
    }

    /// Decodes the body ourselves, reporting damage.
    fn own_decode(&mut self, part: &Part<'a>) -> Data<'a> {
        match self.own_decode_owned(part) {
            Some(v) => v.into(),
            None => part.raw_body.clone(),
        }
    }

    /// `own_decode` as a new buffer; `None` when the body is kept as written (no transfer
    /// encoding, or an unknown one, reported).
    fn own_decode_owned(&mut self, part: &Part<'a>) -> Option<Vec<u8>> {
        if let TransferEncoding::Other(name) = &part.encoding {
            self.warnings.push(
                Warning::new(
                    WarningKind::UnknownTransferEncoding,
                    format!("unknown transfer encoding {name:?}; body taken as is"),
                )
                .at_part(&part.path)
                .at_offset(part.offset + part.raw_header.len()),
            );
        }
        let (data, p) = decode_owned(&part.encoding, &part.raw_body)?;
        self.problem(&part.path, part.offset + part.raw_header.len(), p);
        Some(data)
    }

    /// Whether mail-parser's decoding of this part can be used as is. `decoded_len` is the length
    /// of its decoded bytes, when known.
    fn trust(part: &Part<'a>, mp_enc: MpEncoding, problem: bool, decoded_len: Option<usize>) -> bool {
        !problem
            && match (&part.encoding, mp_enc) {
                (TransferEncoding::Identity, MpEncoding::None) => true,
                (TransferEncoding::QuotedPrintable, MpEncoding::QuotedPrintable) => {
                    decode::quoted_printable_valid(&part.raw_body)
                }
                (TransferEncoding::Base64, MpEncoding::Base64) => match decoded_len {
                    Some(len) => decode::base64_complete(&part.raw_body, len),
                    None => decode::base64_tail(&part.raw_body) == 0,
                },
                _ => false,
            }
    }

    fn leaf_binary(&mut self, part: &mut Part<'a>, mp_enc: MpEncoding, problem: bool, b: Cow<'a, [u8]>) {
        let data = if Self::trust(part, mp_enc, problem, Some(b.len())) {
            match b {
                Cow::Borrowed(s) => Data::Borrowed(s),
                Cow::Owned(v) => Data::from(v),
            }
        } else {
            self.own_decode(part)
        };
        part.decoded = Some(data);
    }

    /// `t` is mail-parser's text, when it decoded it.
    fn leaf_text(&mut self, part: &mut Part<'a>, mp_enc: MpEncoding, problem: bool, t: Option<Cow<'a, str>>) {
        let charset = part.charset().map(str::to_string);
        let known = charset.as_deref().is_none_or(charset_known);
        if part.encoding == TransferEncoding::Identity {
            part.decoded = Some(part.raw_body.clone());
        }
        // The text's length is its decoded length only when no charset conversion happened.
        let utf8 = charset.as_deref().is_none_or(super::charset::is_utf8_label);
        if let Some(t) = t
            && Self::trust(part, mp_enc, problem, utf8.then_some(t.len()))
            && known
            && REPLACEMENT.find(t.as_bytes()).is_none()
        {
            part.text = Some(t);
            return;
        }
        let data = match self.own_decode_owned(part) {
            // Decoded text that needs no conversion is kept once, as text, with the bytes a view
            // of it (no second check when it is read).
            Some(v) => match own_text(v, charset.as_deref()) {
                Ok(t) => {
                    part.decoded = Some(Data::Shared(bytes::Bytes::from_owner(TextOwner(t.clone()))));
                    part.shared_text = Some(t);
                    return;
                }
                Err(v) => Data::from(v),
            },
            None => part.raw_body.clone(),
        };
        let (text, p) = text_of(&data, charset.as_deref());
        if let Some((kind, detail)) = p {
            self.warnings
                .push(Warning::new(kind, detail).at_part(&part.path).at_offset(part.offset + part.raw_header.len()));
        }
        part.decoded = Some(data);
        part.text = text;
    }

    fn fill_summary(&mut self, env: usize, idx: usize, mp: &MpPart<'a>, headers: &[RawHeader<'a>]) {
        let e = &mut self.summaries[env];
        e.header_part = idx;
        for (h, raw) in mp.headers.iter().zip(headers.iter()) {
            let raw = &*raw.value;
            match h.name {
                HeaderName::Subject if e.subject.is_none() => {
                    e.subject = Some(header::decode_words(&header::unfold(raw)).trim().to_string());
                }
                HeaderName::From => addresses(&h.value, raw, &mut e.from),
                HeaderName::To => addresses(&h.value, raw, &mut e.to),
                HeaderName::Cc => addresses(&h.value, raw, &mut e.cc),
                HeaderName::Bcc => addresses(&h.value, raw, &mut e.bcc),
                HeaderName::ReplyTo => addresses(&h.value, raw, &mut e.reply_to),
                HeaderName::Sender => addresses(&h.value, raw, &mut e.sender),
                HeaderName::Date if e.date.is_none() => {
                    if let HeaderValue::DateTime(dt) = &h.value
                        && dt.is_valid()
                    {
                        e.date = Some(rfc3339(dt));
                        e.timestamp = Some(dt.to_timestamp());
                    }
                }
                HeaderName::MessageId if e.message_id.is_none() => {
                    e.message_id = Some(header::strip_id(raw)).filter(|s| !s.is_empty());
                }
                HeaderName::InReplyTo if e.in_reply_to.is_empty() => e.in_reply_to = header::id_list(raw),
                HeaderName::References if e.references.is_empty() => e.references = header::id_list(raw),
                _ => {}
            }
        }
    }

    fn finish(mut self, input: &'a [u8], owner: Option<Bytes>) -> Message<'a> {
        // Bodies and attachments per message, from mail-parser's choice of bodies.
        let mut chosen = vec![false; self.parts.len()];
        let arenas = std::mem::take(&mut self.arenas);
        for arena in &arenas {
            let map = |ids: &[u32]| -> Vec<usize> {
                ids.iter().filter_map(|&id| arena.map.get(id as usize).copied().filter(|&i| i != usize::MAX)).collect()
            };
            // mail-parser lists inline images among the bodies; a mail client shows them, but
            // lists them as attachments too, so only text parts count as bodies here. A named
            // text part in a message with other parts is a file someone attached.
            let leaves = self.parts.iter().filter(|p| p.summary == arena.summary && !p.is_multipart()).count();
            let is_text = |i: &usize| {
                let p = &self.parts[*i];
                p.content_type.value.starts_with("text/") && (p.filename.is_none() || leaves == 1)
            };
            let text_ids: Vec<usize> = map(&arena.text_body).into_iter().filter(is_text).collect();
            let html_ids: Vec<usize> = map(&arena.html_body).into_iter().filter(is_text).collect();
            for &i in text_ids.iter().chain(html_ids.iter()) {
                chosen[i] = true;
            }
            let e = &mut self.summaries[arena.summary];
            e.text_parts = text_ids.into_iter().filter(|&i| self.parts[i].content_type.value != "text/html").collect();
            e.html_parts = html_ids.into_iter().filter(|&i| self.parts[i].content_type.value == "text/html").collect();
        }
        if arenas.is_empty() {
            // degraded: the single part is the text body
            chosen.iter_mut().for_each(|c| *c = true);
        }
        for (i, p) in self.parts.iter().enumerate() {
            if !chosen[i] && !p.is_multipart() {
                self.summaries[p.summary].attachments.push(i);
            }
        }
        let mut msg = Message { input, owner, parts: self.parts, summaries: self.summaries, warnings: Vec::new() };
        let mut warnings = self.warnings;
        for e in 0..msg.summaries.len() {
            let text_parts = std::mem::take(&mut msg.summaries[e].text_parts);
            let mut uu = Vec::new();
            let mut pieces: Vec<Cow<'_, str>> = Vec::with_capacity(text_parts.len());
            let mut stripped = false;
            for &i in &text_parts {
                let t = msg.parts[i].text();
                let found = t.starts_with("begin ") || UU_BEGIN.find(t.as_bytes()).is_some();
                if !found {
                    pieces.push(Cow::Borrowed(t));
                    continue;
                }
                let (files, p) = decode::uuencoded_files(t.as_bytes(), self.limits.max_parts);
                if let Some((kind, rel, detail)) = p {
                    let part = &msg.parts[i];
                    warnings.push(
                        Warning::new(kind, detail)
                            .at_part(&part.path)
                            .at_offset(part.offset + part.raw_header.len() + rel),
                    );
                }
                if files.is_empty() {
                    pieces.push(Cow::Borrowed(t));
                    continue;
                }
                let mut kept = String::with_capacity(t.len());
                let mut at = 0;
                for f in &files {
                    kept.push_str(&t[at..f.offset]);
                    at = f.end;
                }
                kept.push_str(&t[at.min(t.len())..]);
                pieces.push(Cow::Owned(kept));
                stripped = true;
                uu.extend(files.into_iter().map(|f| UuAttachment { part: i, name: f.name, data: Bytes::from(f.data) }));
            }
            // One plain part is shown borrowed (Message::text_of); only joins and strips are built.
            let text = (pieces.len() > 1 || stripped).then(|| join(&pieces));
            let html_parts = &msg.summaries[e].html_parts;
            let html = (html_parts.len() > 1)
                .then(|| join(&html_parts.iter().map(|&i| Cow::Borrowed(msg.parts[i].text())).collect::<Vec<_>>()));
            let env = &mut msg.summaries[e];
            env.text_parts = text_parts;
            env.text = text;
            env.html = html;
            env.uuencoded = uu;
        }
        add_uuencoded_parts(&mut msg);
        msg.warnings = warnings.into_vec();
        msg
    }
}

/// Makes each uuencoded file a part of its own, listed after its summary's other attachments:
/// `Message::attachments`, the bindings' lists and the dissect manifest are then one set, in one
/// order. Its path is the text part's with its number among that part's files (`1` → `1.1`, a
/// leaf has no other children); it is `application/octet-stream`, an attachment named as its
/// `begin` line says, and its content is the decoded file.
fn add_uuencoded_parts(msg: &mut Message<'_>) {
    for e in 0..msg.summaries.len() {
        let mut per_part: Vec<(usize, u32)> = Vec::new();
        for k in 0..msg.summaries[e].uuencoded.len() {
            let uu = &msg.summaries[e].uuencoded[k];
            let n = match per_part.iter_mut().find(|(p, _)| *p == uu.part) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    per_part.push((uu.part, 1));
                    1
                }
            };
            let holder = &msg.parts[uu.part];
            let name = uu.name.clone();
            let part = Part {
                path: holder.path.child(n),
                kind: PartKind::Leaf,
                depth: holder.depth + 1,
                summary: e,
                headers: Vec::new(),
                raw_header: Data::Borrowed(b""),
                raw_body: Data::Shared(uu.data.clone()),
                offset: holder.offset,
                content_type: header::MimeValue { value: "application/octet-stream".into(), params: Vec::new() },
                disposition: Some(header::MimeValue {
                    value: "attachment".into(),
                    params: vec![("filename".into(), name.clone())],
                }),
                filename: Some(name),
                content_id: None,
                encoding: TransferEncoding::Uuencode,
                decoded: Some(Data::Shared(uu.data.clone())),
                decoded_lazy: OnceLock::new(),
                text: None,
                shared_text: None,
                text_lazy: OnceLock::new(),
            };
            msg.summaries[e].attachments.push(msg.parts.len());
            msg.parts.push(part);
        }
    }
}

/// Body texts joined as a mail client shows them, one after the other on new lines.
fn join(pieces: &[Cow<'_, str>]) -> String {
    let mut s = String::with_capacity(pieces.iter().map(|p| p.len() + 1).sum());
    for (k, piece) in pieces.iter().enumerate() {
        if k > 0 && !s.ends_with('\n') {
            s.push('\n');
        }
        s.push_str(piece);
    }
    s
}

fn charset_known(label: &str) -> bool {
    let l = label.trim().trim_matches('"');
    l.is_empty()
        || l.eq_ignore_ascii_case("utf-8")
        || l.eq_ignore_ascii_case("us-ascii")
        || encoding_rs::Encoding::for_label(l.as_bytes()).is_some_and(|e| e != encoding_rs::REPLACEMENT)
        || mail_parser::decoders::charsets::map::charset_decoder(l.as_bytes()).is_some()
}

/// A decoded file name as a mail client shows it: a Windows path gives its last component.
fn clean_filename(name: &str) -> String {
    let n = name.trim();
    let b = n.as_bytes();
    let windows_path = (b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/'))
        || n.starts_with('\\');
    if windows_path {
        return n.rsplit(['\\', '/']).next().unwrap_or(n).to_string();
    }
    n.to_string()
}

/// `dt` as mail-parser's `to_rfc3339` writes it (`2023-11-14T22:13:20+01:00`, `…Z` at UTC), in
/// one allocation instead of the formatting machinery's several.
fn rfc3339(dt: &mail_parser::DateTime) -> String {
    fn num(s: &mut String, v: u32, width: usize) {
        let mut digits = [b'0'; 10];
        let (mut at, mut v) = (digits.len(), v);
        loop {
            at -= 1;
            digits[at] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for &d in &digits[at.min(digits.len() - width)..] {
            s.push(char::from(d));
        }
    }
    let mut s = String::with_capacity(25);
    num(&mut s, u32::from(dt.year), 4);
    for (sep, v) in [('-', dt.month), ('-', dt.day), ('T', dt.hour), (':', dt.minute), (':', dt.second)] {
        s.push(sep);
        num(&mut s, u32::from(v), 2);
    }
    if dt.tz_hour != 0 || dt.tz_minute != 0 {
        s.push(if dt.tz_before_gmt { '-' } else { '+' });
        num(&mut s, u32::from(dt.tz_hour), 2);
        s.push(':');
        num(&mut s, u32::from(dt.tz_minute), 2);
    } else {
        s.push('Z');
    }
    s
}

fn addresses(value: &HeaderValue<'_>, raw: &[u8], out: &mut Vec<Address>) {
    let start = out.len();
    push_addresses(value, out);
    let damaged = out[start..].iter().any(|a| a.name.as_deref().is_some_and(|n| n.contains('\u{fffd}')));
    if damaged && header::has_encoded_word(raw) {
        // A character split across encoded words: join the words, then parse again.
        let mut merged = header::merge_words(raw);
        merged.extend_from_slice(b"\r\n");
        let value = mail_parser::parsers::MessageStream::new(&merged).parse_address();
        let mut again = Vec::new();
        push_addresses(&value, &mut again);
        out.truncate(start);
        out.extend(again);
    }
}

fn push_addresses(value: &HeaderValue<'_>, out: &mut Vec<Address>) {
    let conv = |a: &mail_parser::Addr<'_>| Address {
        name: a.name.as_ref().map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
        address: a.address.as_ref().map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
    };
    match value {
        HeaderValue::Address(mail_parser::Address::List(list)) => out.extend(list.iter().map(conv)),
        HeaderValue::Address(mail_parser::Address::Group(groups)) => {
            for g in groups {
                out.extend(g.addresses.iter().map(conv));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_cut_skips_only_inputs_too_short_to_be_cut() {
        for max_parts in [4, 10, 31, 100] {
            let limits = Limits { max_parts, max_depth: 3, ..Limits::default() };
            let (max_boundaries, max_types) = (max_parts * 2, (max_parts / 2).max(3));
            // The densest inputs that pass each count: cut at their last counted dash.
            let boundaries = "\n--".repeat(max_boundaries + 1);
            let types = "-type:".repeat(max_types + 1);
            assert_eq!(structure_cut(boundaries.as_bytes(), &limits), Some(boundaries.len() - 2));
            assert_eq!(structure_cut(types.as_bytes(), &limits), Some(0));
            // One short of each: never cut, whatever the length check decides.
            let boundaries = &boundaries[3..];
            let types = &types[6..];
            assert_eq!(structure_cut(boundaries.as_bytes(), &limits), None);
            assert_eq!(structure_cut(types.as_bytes(), &limits), None);
            // Both at once, each one short, padded: not cut either.
            let both = format!("{boundaries}{types}{}", "x".repeat(max_parts * 7));
            assert_eq!(structure_cut(both.as_bytes(), &limits), None);
        }
    }

    #[test]
    fn rfc3339_matches_mail_parser() {
        let mut rng = crate::sample::Rng::new(9);
        for k in 0..20_000 {
            let dt = mail_parser::DateTime {
                year: if k % 50 == 0 { rng.range(0, 65_536) as u16 } else { rng.range(1900, 2100) as u16 },
                month: rng.range(0, 13) as u8,
                day: rng.range(0, 32) as u8,
                hour: rng.range(0, 25) as u8,
                minute: rng.range(0, 61) as u8,
                second: rng.range(0, 61) as u8,
                tz_before_gmt: rng.range(0, 2) == 1,
                tz_hour: if k % 3 == 0 { 0 } else { rng.range(0, 15) as u8 },
                tz_minute: if k % 5 == 0 { 0 } else { rng.range(0, 60) as u8 },
            };
            assert_eq!(rfc3339(&dt), dt.to_rfc3339(), "{dt:?}");
        }
    }

    #[test]
    fn a_parser_panic_becomes_a_warning() {
        let input = b"Subject: x\r\n\r\nbody";
        let msg = parse_using(input, None, &Limits::default(), |_| -> (Option<mail_parser::Message<'_>>, bool) {
            panic!("crafted input")
        });
        assert_eq!(msg.warnings().len(), 1);
        assert_eq!(msg.warnings()[0].kind, WarningKind::ParserFailure);
        assert_eq!(msg.parts().len(), 1);
        assert_eq!(msg.parts()[0].decoded(), input);
    }
}

#[cfg(test)]
mod view_tests {
    use crate::Message;

    #[test]
    fn bodies_without_transfer_encoding_are_views_even_for_containers() {
        let input = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhello\r\n--b--\r\n";
        let msg = Message::parse(input).expect("small input");
        let range = input.as_ptr_range();
        for part in msg.parts() {
            let d = part.decoded();
            assert!(range.contains(&d.as_ptr()), "part {} was copied", part.path());
            assert!(matches!(part.decoded_data(), crate::parse::Data::Borrowed(_)));
        }
    }

    #[test]
    fn input_offset_finds_views_and_refuses_the_rest() {
        let input = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhello\r\n--b\r\n\
            Content-Transfer-Encoding: base64\r\n\r\naGk=\r\n--b--\r\n";
        let msg = Message::parse(input).expect("small input");
        let [_, plain, encoded] = msg.parts() else { panic!("three parts") };
        let at = msg.input_offset(plain.decoded()).expect("a view");
        assert_eq!(&input[at..at + 5], b"hello");
        assert_eq!(encoded.decoded(), b"hi");
        assert_eq!(msg.input_offset(encoded.decoded()), None, "decoded bytes are not in the input");
        assert_eq!(msg.input_offset(b"hello"), None, "equal bytes elsewhere are not in the input");
    }
}

#[cfg(test)]
mod shared_text_tests {
    use crate::Message;

    fn part_of(body: &str, header: &str) -> Vec<u8> {
        format!("Subject: t\r\nContent-Type: text/plain; {header}\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{body}").into_bytes()
    }

    #[test]
    fn decoded_text_without_conversion_is_kept_once() {
        for header in ["charset=utf-8", "charset=\"US-ASCII\"", "format=flowed", "charset=iso-8859-1"] {
            // ASCII only in the Latin-1 case: nothing to convert there either.
            let body =
                if header.contains("8859") { "plain =3D text=\r\n here" } else { "caf=C3=A9 =3D na=C3=AFve=\r\n ok" };
            let input = part_of(body, header);
            let msg = Message::parse(&input).expect("small input");
            let p = &msg.parts()[0];
            let text = p.text();
            assert_eq!(text.as_bytes(), p.decoded(), "{header}");
            assert_eq!(text.as_ptr(), p.decoded().as_ptr(), "{header}: one buffer for both");
            let data = p.decoded_data();
            assert_eq!(data.as_ptr(), text.as_ptr(), "{header}: the shared bytes view the text");
        }
    }

    #[test]
    fn decoded_text_that_needs_conversion_or_repair_is_converted() {
        // Latin-1 é is C3 A9 in UTF-8: converted, so text and bytes differ.
        let input = part_of("caf=E9", "charset=iso-8859-1");
        let msg = Message::parse(&input).expect("small input");
        assert_eq!(msg.parts()[0].text(), "café");
        assert_eq!(msg.parts()[0].decoded(), b"caf\xe9");
        // Declared UTF-8 but invalid: repaired text, a warning, the bytes as decoded.
        let input = part_of("caf=E9 ok", "charset=utf-8");
        let msg = Message::parse(&input).expect("small input");
        assert_eq!(msg.parts()[0].text(), "caf\u{fffd} ok");
        assert_eq!(msg.parts()[0].decoded(), b"caf\xe9 ok");
        assert!(!msg.warnings().is_empty());
    }
}
