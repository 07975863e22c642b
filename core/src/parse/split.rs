//! The MIME structure of a message without nested messages, found the way mail-parser finds it
//! but with a SIMD substring search for the boundaries where mail-parser steps byte by byte, and
//! without decoding text bodies (the walker decodes them itself). Header fields are found here too
//! (mail-parser reads each name, and the values of the fields the walker uses, with its own field
//! parsers); the values of all other fields are skipped a line at a time instead of a byte at a
//! time.
//!
//! The result is what the walker's `FAST` parser gives for the same input, except that text and
//! HTML bodies are empty. A test holds the two equal over every message the project has.

use std::borrow::Cow;

use mail_parser::parsers::MessageStream;
use mail_parser::{ContentType, Encoding, GetHeader, Header, HeaderName, HeaderValue, Message, MessagePart, PartType};
use memchr::memmem::Finder;

/// The input holds a part mail-parser reads as a nested message: it must read it all.
#[derive(Debug)]
pub(super) struct Nested;

#[derive(Debug, PartialEq, Clone, Copy, Default)]
enum Mime {
    MultipartMixed,
    MultipartAlternative,
    MultipartRelated,
    MultipartDigest,
    TextPlain,
    TextHtml,
    TextOther,
    Inline,
    #[default]
    Message,
    Other,
}

/// (is multipart, is inline, is text, type), as mail-parser classifies a part.
fn mime_type(ct: Option<&ContentType<'_>>, parent: Mime) -> (bool, bool, bool, Mime) {
    let Some(ct) = ct else {
        return if parent == Mime::MultipartDigest {
            (false, false, false, Mime::Message)
        } else {
            (false, true, true, Mime::TextPlain)
        };
    };
    match ct.ctype() {
        "multipart" => (
            true,
            false,
            false,
            match ct.subtype() {
                Some("mixed") => Mime::MultipartMixed,
                Some("alternative") => Mime::MultipartAlternative,
                Some("related") => Mime::MultipartRelated,
                Some("digest") => Mime::MultipartDigest,
                _ => Mime::Other,
            },
        ),
        "text" => match ct.subtype() {
            Some("plain") => (false, true, true, Mime::TextPlain),
            Some("html") => (false, true, true, Mime::TextHtml),
            _ => (false, false, true, Mime::TextOther),
        },
        "image" | "audio" | "video" => (false, true, false, Mime::Inline),
        "message" if matches!(ct.subtype(), Some("rfc822" | "global")) => (false, false, false, Mime::Message),
        _ => (false, false, false, Mime::Other),
    }
}

#[derive(Default)]
struct State {
    mime_type: Mime,
    /// Finds `--boundary`.
    boundary: Option<Finder<'static>>,
    in_alternative: bool,
    parts: usize,
    html_parts: usize,
    text_parts: usize,
    need_html_body: bool,
    need_text_body: bool,
    part_id: u32,
    sub_part_ids: Vec<u32>,
    offset_header: usize,
    offset_body: usize,
    offset_end: usize,
}

impl State {
    /// Pushes the multipart part whose header section was just read (children to come) and gives
    /// the state for reading its children.
    fn open_multipart<'x>(
        &self,
        message: &mut Message<'x>,
        headers: Vec<Header<'x>>,
        mime_type: Mime,
        boundary: Finder<'static>,
    ) -> State {
        let inner = State {
            in_alternative: self.in_alternative || mime_type == Mime::MultipartAlternative,
            mime_type,
            boundary: Some(boundary),
            html_parts: message.html_body.len(),
            text_parts: message.text_body.len(),
            need_html_body: self.need_html_body,
            need_text_body: self.need_text_body,
            part_id: message.parts.len() as u32,
            ..Default::default()
        };
        message.parts.push(MessagePart {
            headers,
            offset_header: self.offset_header as u32,
            offset_body: self.offset_body as u32,
            offset_end: 0,
            is_encoding_problem: false,
            encoding: Encoding::None,
            body: PartType::default(),
        });
        inner
    }

    /// Whether a leaf part of type `mime` goes to the message's (HTML, text) body lists, as
    /// mail-parser decides: by type inside multipart/alternative, else while a body is wanted.
    fn body_lists(&mut self, mime: Mime, is_inline: bool) -> (bool, bool) {
        if self.mime_type == Mime::MultipartAlternative {
            return (mime == Mime::TextHtml, mime == Mime::TextPlain);
        }
        if !is_inline {
            return (false, false);
        }
        if self.in_alternative && (self.need_text_body || self.need_html_body) {
            match mime {
                Mime::TextHtml => self.need_text_body = false,
                Mime::TextPlain => self.need_html_body = false,
                _ => (),
            }
        }
        (self.need_html_body, self.need_text_body)
    }

    /// At the end of a multipart/alternative that gave only HTML or only plain text: each stands
    /// for the other.
    fn fill_alternative(&self, message: &mut Message<'_>) {
        if self.mime_type != Mime::MultipartAlternative || !self.need_html_body || !self.need_text_body {
            return;
        }
        if self.text_parts == message.text_body.len() && self.html_parts != message.html_body.len() {
            message.text_body.extend_from_slice(&message.html_body[self.html_parts..]);
        }
        if self.html_parts == message.html_body.len() && self.text_parts != message.text_body.len() {
            message.html_body.extend_from_slice(&message.text_body[self.text_parts..]);
        }
    }

    /// Gives the multipart `part` its children.
    fn close(&mut self, part: &mut MessagePart<'_>) {
        if self.sub_part_ids.len() != 1 || self.sub_part_ids[0] != 0 {
            part.body = PartType::Multipart(std::mem::take(&mut self.sub_part_ids));
        }
    }
}

/// The finder for `--boundary` and where it first occurs at or after `from`; `None` for an empty
/// boundary or one that never comes.
fn first_boundary(boundary: &str, data: &[u8], from: usize) -> Option<(usize, Finder<'static>)> {
    if boundary.is_empty() {
        return None;
    }
    let mut needle = Vec::with_capacity(boundary.len() + 2);
    needle.extend_from_slice(b"--");
    needle.extend_from_slice(boundary.as_bytes());
    let finder = Finder::new(&needle).into_owned();
    find(&finder, data, from).map(|at| (at, finder))
}

/// Puts the next leaf part (the id `message.parts.len()`) on the body lists `lists` (HTML, text)
/// and among the attachments where mail-parser puts it; gives its body (text bodies empty: the
/// walker decodes them).
fn list_leaf<'x>(
    message: &mut Message<'x>,
    (add_to_html, add_to_text): (bool, bool),
    mime: Mime,
    is_text: bool,
    is_inline: bool,
    bytes: &'x [u8],
) -> PartType<'x> {
    let id = message.parts.len() as u32;
    if add_to_html {
        message.html_body.push(id);
    }
    if add_to_text {
        message.text_body.push(id);
    }
    if !is_text {
        message.attachments.push(id);
        return if is_inline {
            PartType::InlineBinary(Cow::Borrowed(bytes))
        } else {
            PartType::Binary(Cow::Borrowed(bytes))
        };
    }
    let is_html = mime == Mime::TextHtml;
    if !add_to_html && is_html || !add_to_text && !is_html {
        message.attachments.push(id);
    }
    if is_html { PartType::Html(Cow::Borrowed("")) } else { PartType::Text(Cow::Borrowed("")) }
}

/// A stream over `data` positioned at `pos`.
fn stream_at(data: &[u8], pos: usize) -> MessageStream<'_> {
    let mut s = MessageStream::new(data);
    s.skip_bytes(pos.min(data.len()));
    s
}

/// The first `--boundary` at or after `from`.
fn find(finder: &Finder<'_>, data: &[u8], from: usize) -> Option<usize> {
    let from = from.min(data.len());
    finder.find(&data[from..]).map(|i| from + i)
}

/// Where a part's body that starts at `start` ends, given the first `--boundary` at `at`: before
/// the line break ahead of it when it starts a line, else right before it.
fn end_before(data: &[u8], start: usize, at: usize) -> usize {
    if at > start && data[at - 1] == b'\n' {
        if at - 1 > start && data[at - 2] == b'\r' { at - 2 } else { at - 1 }
    } else if at > start {
        at
    } else {
        start
    }
}

/// Reads a part's body up to the next `--boundary` (to the end without one): its end, with the
/// stream past the boundary; `usize::MAX` with the stream unmoved when the boundary never comes.
fn mime_part<'x>(data: &'x [u8], stream: &mut MessageStream<'x>, boundary: Option<&Finder<'_>>) -> usize {
    let start = stream.offset();
    match boundary {
        None => {
            *stream = stream_at(data, data.len());
            data.len()
        }
        Some(f) => match find(f, data, start) {
            Some(at) => {
                *stream = stream_at(data, at + f.needle().len());
                end_before(data, start, at)
            }
            None => usize::MAX,
        },
    }
}

/// Moves past the next `--boundary`, giving where the line before it ends; unmoved and `None`
/// without one.
fn seek_next_part_offset<'x>(data: &'x [u8], stream: &mut MessageStream<'x>, boundary: &Finder<'_>) -> Option<usize> {
    let start = stream.offset();
    let at = find(boundary, data, start)?;
    *stream = stream_at(data, at + boundary.needle().len());
    Some(match memchr::memrchr(b'\n', &data[start..at]) {
        Some(i) if i > 0 && data[start + i - 1] == b'\r' => start + i - 1,
        Some(i) => start + i,
        None => start,
    })
}

/// Reads a header section into `headers` as `MessageStream::parse_headers` does with the walker's
/// `FAST` settings (MIME fields, Date and the address fields parsed; Content-Transfer-Encoding and
/// every other field kept without a value; the list is `walk::fields` again, which mail-parser does
/// not let us read): true when the section ended with an empty line.
fn read_headers<'x>(data: &'x [u8], stream: &mut MessageStream<'x>, headers: &mut Vec<Header<'x>>) -> bool {
    loop {
        loop {
            match stream.peek() {
                Some(b'\n') => {
                    stream.next();
                    return true;
                }
                None => return false,
                Some(ch) if !ch.is_ascii_whitespace() => break,
                _ => {
                    stream.next();
                }
            }
        }
        let offset_field = stream.offset();
        let Some(name) = stream.parse_header_name() else {
            if stream.is_eof() {
                return false;
            }
            continue;
        };
        let offset_start = stream.offset();
        let value = match name {
            HeaderName::ContentType | HeaderName::ContentDisposition => stream.parse_content_type(),
            HeaderName::ContentId => stream.parse_id(),
            HeaderName::ContentDescription | HeaderName::ContentLocation => stream.parse_unstructured(),
            HeaderName::Date => stream.parse_date(),
            HeaderName::From
            | HeaderName::To
            | HeaderName::Cc
            | HeaderName::Bcc
            | HeaderName::ReplyTo
            | HeaderName::Sender => stream.parse_address(),
            _ => {
                // The field ends at the first line break not followed by a space or a tab.
                let mut at = offset_start;
                let end = loop {
                    match memchr::memchr(b'\n', &data[at..]) {
                        None => break data.len(),
                        Some(i) => {
                            at += i + 1;
                            match data.get(at) {
                                Some(b' ' | b'\t') => at += 1,
                                _ => break at,
                            }
                        }
                    }
                };
                *stream = stream_at(data, end);
                HeaderValue::Empty
            }
        };
        headers.push(Header {
            name,
            value,
            offset_field: offset_field as u32,
            offset_start: offset_start as u32,
            offset_end: stream.offset() as u32,
        });
    }
}

/// The parts of `data`, as the walker's `FAST` parser finds them (see the module's description);
/// `Ok(None)` when it has no header section.
pub(super) fn split<'x>(data: &'x [u8]) -> Result<Option<Message<'x>>, Nested> {
    let mut stream = MessageStream::new(data);
    let mut message = Message::default();
    let mut state = State { need_text_body: true, need_html_body: true, ..Default::default() };
    let mut stack: Vec<State> = Vec::with_capacity(4);
    let mut part_headers = Vec::new();

    'outer: loop {
        state.offset_header = stream.offset();
        if !read_headers(data, &mut stream, &mut part_headers) {
            break;
        }
        state.offset_body = stream.offset();
        state.parts += 1;
        state.sub_part_ids.push(message.parts.len() as u32);

        let content_type = part_headers.header_value(&HeaderName::ContentType).and_then(|c| c.as_content_type());
        let (is_multipart, mut is_inline, mut is_text, mut mime_type) = mime_type(content_type, state.mime_type);

        if is_multipart && let Some(b) = content_type.and_then(|f| f.attribute("boundary")) {
            if let Some((at, finder)) = first_boundary(b, data, stream.offset()) {
                stream = stream_at(data, at + finder.needle().len());
                let inner = state.open_multipart(&mut message, std::mem::take(&mut part_headers), mime_type, finder);
                stack.push(std::mem::replace(&mut state, inner));
                stream.skip_crlf();
                continue;
            }
            mime_type = Mime::TextOther;
            is_text = true;
        }

        if mime_type == Mime::Message {
            return Err(Nested);
        }

        let end = mime_part(data, &mut stream, state.boundary.as_ref());
        let is_encoding_problem = end == usize::MAX;
        if is_encoding_problem {
            if mime_type != Mime::TextPlain {
                mime_type = Mime::TextOther;
            }
            is_inline = false;
            is_text = true;
            // The boundary never comes: the part runs to the end of the input.
            stream = stream_at(data, data.len());
            state.offset_end = data.len();
            state.boundary = None;
        } else {
            state.offset_end = end;
        }
        let bytes = data.get(state.offset_body..state.offset_end).unwrap_or_default();

        let is_inline = is_inline
            && part_headers
                .header_value(&HeaderName::ContentDisposition)
                .is_none_or(|d| !d.as_content_type().is_some_and(|ct| ct.is_attachment()))
            && (state.parts == 1
                || state.mime_type != Mime::MultipartRelated
                    && (mime_type == Mime::Inline || content_type.is_none_or(|c| !c.has_attribute("name"))));
        // A message of one text/plain part is text whatever its damage (mail-parser's rule).
        let is_inline = is_inline
            || state.parts == 1
                && state.mime_type == Mime::Message
                && mime_type == Mime::TextPlain
                && is_encoding_problem;

        let (add_to_html, add_to_text) = state.body_lists(mime_type, is_inline);
        let body = list_leaf(&mut message, (add_to_html, add_to_text), mime_type, is_text, is_inline, bytes);
        message.parts.push(MessagePart {
            headers: std::mem::take(&mut part_headers),
            encoding: Encoding::None,
            is_encoding_problem,
            body,
            offset_header: state.offset_header as u32,
            offset_body: state.offset_body as u32,
            offset_end: state.offset_end as u32,
        });

        if state.boundary.is_none() {
            if stream.offset() >= data.len() {
                break 'outer;
            }
            continue;
        }
        loop {
            if !stream.is_multipart_end() {
                // The next part's header section follows.
                continue 'outer;
            }
            state.fill_alternative(&mut message);
            let Some(part) = message.parts.get_mut(state.part_id as usize) else { break 'outer };
            state.close(part);
            if let Some(prev) = stack.pop() {
                state = prev;
                if let Some(b) = &state.boundary
                    && let Some(offset) = seek_next_part_offset(data, &mut stream, b)
                {
                    part.offset_end = offset as u32;
                    continue;
                }
            }
            part.offset_end = stream.offset() as u32;
            break 'outer;
        }
    }

    // Damaged structure: close what is still open.
    while let Some(prev) = stack.pop() {
        if let Some(part) = message.parts.get_mut(state.part_id as usize) {
            part.offset_end = stream.offset() as u32;
            state.close(part);
        }
        state = prev;
    }

    Ok(finish(message, part_headers, data))
}

/// The message once every part is read; `None` when `data` had no header section.
fn finish<'x>(mut message: Message<'x>, part_headers: Vec<Header<'x>>, data: &'x [u8]) -> Option<Message<'x>> {
    message.raw_message = Cow::Borrowed(data);
    if !message.parts.is_empty() {
        message.parts[0].offset_end = data.len() as u32;
        Some(message)
    } else if !part_headers.is_empty() {
        // Headers without a body.
        message.parts.push(MessagePart {
            headers: part_headers,
            encoding: Encoding::None,
            is_encoding_problem: true,
            body: PartType::Text(Cow::Borrowed("")),
            offset_header: 0,
            offset_body: data.len() as u32,
            offset_end: data.len() as u32,
        });
        Some(message)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::sample::Rng;

    /// mail-parser's result with the text bodies emptied, as `split` gives them.
    fn reference(data: &[u8]) -> Option<Option<Message<'_>>> {
        let mut m = catch_unwind(AssertUnwindSafe(|| super::super::walk::FAST.parse(data))).ok()?;
        for p in m.iter_mut().flat_map(|m| m.parts.iter_mut()) {
            match &mut p.body {
                PartType::Text(t) | PartType::Html(t) => *t = Cow::Borrowed(""),
                _ => {}
            }
        }
        Some(m)
    }

    /// Whether `split` agrees with mail-parser on `data`; `None` when it left the input to
    /// mail-parser (a nested message) or mail-parser itself failed.
    fn agrees(data: &[u8]) -> Option<bool> {
        let want = reference(data)?;
        let got = catch_unwind(AssertUnwindSafe(|| split(data))).unwrap_or_else(|_| {
            panic!("split panicked on {:?}", String::from_utf8_lossy(&data[..data.len().min(300)]))
        });
        let got = got.ok()?;
        Some(got == want)
    }

    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() { files(&p, out) } else { out.push(p) }
        }
    }

    fn check(inputs: impl IntoIterator<Item = (String, Vec<u8>)>) -> (usize, usize) {
        let (mut same, mut left) = (0, 0);
        for (name, data) in inputs {
            match agrees(&data) {
                Some(true) => same += 1,
                Some(false) => panic!("split differs from mail-parser on {name}"),
                None => left += 1,
            }
        }
        (same, left)
    }

    #[test]
    fn boundary_edge_cases_agree() {
        let cases: &[&str] = &[
            "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n",
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
            "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--b\n\n\n--b--",
            "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx--b\ny\n---b\n\nz\n--b--",
            "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--bb\n\nz\n--b--\r\n\r\nepilogue",
            "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n\n<p>x\n",
            "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: image/png; name=a\n\nAAAA",
            "Content-Type: multipart/mixed; boundary=\"\"\n\n--\n\nx\n",
            "Content-Type: multipart/mixed\n\n--b\n\nx\n--b--\n",
            "Content-Type: multipart/mixed; boundary=b\n\nno boundary at all\n",
            "Content-Type: multipart/alternative; boundary=a\n\n--a\nContent-Type: text/html\n\nh\n--a--\n",
            "Content-Type: multipart/alternative; boundary=a\n\n--a\nContent-Type: text/plain\n\np\n--a--\n",
            "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; boundary=i\n\n\
             --i\n\np\n--i\nContent-Type: text/html\n\nh\n--i--\n--o\nContent-Type: application/pdf\n\n%PDF\n--o--\n",
            "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/related; boundary=i\n\n\
             --i\nContent-Type: text/html\n\nh\n--i\nContent-Type: image/gif\n\nG\n--o--\n",
            "Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/mixed; boundary=i\n\n--i\n\nx",
            "Content-Type: multipart/mixed; boundary=o\n\n\n--o\r\n\r\n\r\n--o \t \r\n\r\nz\n--o--",
            "Content-Type: text/plain\n\n--b\n",
            "Subject: only headers\n",
            "Subject: x\n\n",
            "\n\nbody without headers",
            "",
            "Content-Type: multipart/digest; boundary=d\n\n--d\nContent-Type: text/plain\n\nx\n--d--\n",
            "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Disposition: attachment\nContent-Type: text/plain\n\nf\n--b--",
            // Header fields: skipped values that fold, end the input, or fold onto an empty line.
            "X-A: 1\n 2\n\t3\nX-B: \n \nContent-Type: text/html\n\nb",
            "X-A: 1\r\n 2\r\nX-B: x\r\n\r\nb",
            "Received: from a\n by b\nX-Last: no line break",
            "X-Last: folds to the end\n ",
            "X-A: x\n\n",
            "  leading: space\n :colon first: v\nmal formed: v\nno colon at all\nTo: a@b.c\n\nb",
            "X-Very-Long-Header-Name-Past-Thirty-Four-Bytes: v\nOriginal-Encoded-Information-Types-Extra: v\n\nb",
            "Content-Transfer-Encoding: base64\nDate: Tue, 14 Nov 2023 22:13:20 +0000\nCc: x <y@z>\n\nQUJD\n",
            "Content-Id: <a@b>\nContent-Description: d\nContent-Location: l\nSender: s@t\nReply-To: r@t\n\nb",
        ];
        let (same, left) = check(cases.iter().enumerate().map(|(i, c)| (format!("case {i}"), c.as_bytes().to_vec())));
        assert_eq!(left, 0, "none of these holds a nested message");
        assert_eq!(same, cases.len());
        // A digest child without Content-Type is a nested message: mail-parser reads those.
        let digest = b"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: s\n\nx\n--d--\n";
        assert!(split(digest).is_err());
    }

    /// The test data, the fuzz corpora, generated mail and mutations of it, and the public
    /// test suites beside the project when present: `split` gives what mail-parser gives.
    #[test]
    fn agrees_with_mail_parser_everywhere() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut paths = Vec::new();
        for dir in [
            "testdata/fuzz",
            "../fuzz/corpus/parse",
            "../fuzz/corpus/dissect",
            "../fuzz/corpus/mbox",
            "../../shared/corpus",
        ] {
            files(&root.join(dir), &mut paths);
        }
        paths.sort();
        let read = paths.iter().filter_map(|p| Some((p.display().to_string(), std::fs::read(p).ok()?)));
        let (same, left) = check(read);
        assert!(same > 1000 || paths.len() < 1000, "only {same} of {} files compared", paths.len());

        let cases: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join("testdata/cases/parse.json")).expect("cases"))
                .expect("json");
        let inputs: Vec<String> = cases["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .filter_map(|c| c["input"].as_str().map(String::from))
            .collect();
        let crlf = inputs.iter().map(|s| s.replace('\n', "\r\n"));
        check(inputs.iter().cloned().chain(crlf).map(|s| ("a shared case".to_string(), s.into_bytes())));

        let mut generated = crate::sample::typical_corpus(300, 7);
        generated.extend(crate::sample::large_corpus(3, 7).into_iter().map(|m| m[..m.len().min(200_000)].to_vec()));
        // Mutations where boundaries are decided: line breaks, dashes and boundary text.
        let mut rng = Rng::new(11);
        let mut mutated = Vec::new();
        for m in generated.iter().take(300) {
            let mut m = m.clone();
            for _ in 0..rng.range(1, 6) {
                let marks: Vec<usize> = memchr::memchr_iter(b'-', &m).collect();
                let at = if marks.is_empty() { rng.range(0, m.len()) } else { marks[rng.range(0, marks.len())] };
                let insert: &[u8] = rng.pick(&[&b"\r"[..], b"\n", b"-", b"--", b"\r\n--", b"x", b""]);
                match rng.range(0, 3) {
                    0 => {
                        m.splice(at..at, insert.iter().copied());
                    }
                    1 if at < m.len() => {
                        m.remove(at);
                    }
                    _ => m.truncate(at),
                }
            }
            mutated.push(m);
        }
        let (g, _) =
            check(generated.into_iter().chain(mutated).enumerate().map(|(i, m)| (format!("generated {i}"), m)));
        assert!(g > 500, "only {g} generated messages compared");
        eprintln!("split agrees with mail-parser: {same} files ({left} left to it), {g} generated");
    }
}
