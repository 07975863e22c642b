//! `parse`, `parseFile` and `Message` (its parts are read through `fast` and index.js).

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::{Env, JsDate};
use napi_derive::napi;

use mailwright::parse::{PartKind, SharedMessage};
use mailwright::{DissectOptions, Limits};

use crate::dissect::{DissectConfig, Dissection};
use crate::errors::{Failure, throw};
use crate::tasks::{Job, Json};
use crate::text::JsText;

/// A reference to the caller's input buffer, shared by a `Message` and its `Part` objects and
/// released when the last of them is collected, with the memory the parse holds outside the
/// JavaScript heap (reported to V8 so that it collects parsed messages as often as it should).
struct InputRef {
    js: Option<ObjectRef<false>>,
    external: i64,
}

// SAFETY: the reference is only read (`get_value`) and released (`unref`) with an `Env`, that is
// on the JavaScript thread; other threads only move `Arc`s of it around.
unsafe impl Sync for InputRef {}

impl InputRef {
    fn none() -> Arc<InputRef> {
        Arc::new(InputRef { js: None, external: 0 })
    }

    /// `js` (the input buffer, if any) with `msg`'s native size reported to V8 (given back by
    /// `release`): the copy, and about as much again for decoded parts, for every message. The
    /// wrapper is small in V8's heap, so a loop that makes little other garbage would otherwise
    /// keep every parse until something else filled the young generation (20,000 typical
    /// messages: 750 MB). A loop that reads parts collects often anyway and gives the amounts back
    /// as it goes, so V8 sees no pressure and runs no extra collections.
    fn reported(env: &Env, msg: &SharedMessage, js: Option<ObjectRef<false>>) -> Result<Arc<InputRef>> {
        let external = 2 * msg.bytes().len() as i64;
        if external > 0 {
            env.adjust_external_memory(external)?;
        }
        Ok(Arc::new(InputRef { js, external }))
    }
}

/// Releases `input` if this was its last holder (called from finalizers, on the JS thread).
fn release(input: Arc<InputRef>, env: &Env) -> Result<()> {
    let Some(r) = Arc::into_inner(input) else { return Ok(()) };
    if r.external > 0 {
        env.adjust_external_memory(-r.external)?;
    }
    match r.js {
        Some(js) => js.unref(env),
        None => Ok(()),
    }
}

/// A mailbox of an address header.
#[napi(object)]
pub struct Address {
    /// The display name, decoded.
    pub name: Option<String>,
    /// The address (`jane@example.org`); absent when the header held only a name.
    pub address: Option<String>,
}

/// A header field: its name as written and its decoded value.
#[napi(object)]
pub struct Header {
    /// The name as written (`Subject`).
    pub name: String,
    /// The value unfolded, encoded words decoded.
    pub value: String,
}

/// Damage found while parsing, and what was done about it.
#[napi(object)]
pub struct ParseWarning {
    /// What went wrong (`invalid_base64`, `missing_boundary`…).
    pub kind: String,
    /// The part it happened in (`2.1`), when it belongs to one.
    pub part: Option<String>,
    /// What happened and what was done.
    pub detail: String,
}

// Its parts are JavaScript objects (index.js), made for every part at once from one call
// (`_layout`); they read contents through `_content`/`_text`. Each call across napi costs about as
// much as making a small object, so per-part native objects spent more time crossing than parsing.
/// A parsed message. Its getters read the parse; nothing is decoded twice.
#[napi(custom_finalize)]
pub struct Message {
    /// The parse, of a private copy of the input (so that later writes to the caller's buffer
    /// cannot change it); shared with the bot when it handed the message over. Part contents
    /// are views of the caller's buffer (see `Part.content`).
    msg: Arc<SharedMessage>,
    input: Arc<InputRef>,
}

impl ObjectFinalize for Message {
    fn finalize(self, env: Env) -> Result<()> {
        release(self.input, &env)
    }
}

impl Message {
    /// Parses bytes that have no JavaScript buffer (read from a file by the core); part contents
    /// are then views of one copy, made when a content is first read.
    pub(crate) fn from_vec(data: Vec<u8>) -> std::result::Result<Message, Failure> {
        let msg = SharedMessage::new(Bytes::from(data), &Limits::default())
            .map_err(|e| Failure::new("parse", e.to_string()))?;
        Ok(Message::from_shared(Arc::new(msg)))
    }

    /// A message parsed already (by the bot): no parse and no copy; as with `from_vec`, a copy
    /// for JavaScript is made only when a content is first read.
    pub(crate) fn from_shared(msg: Arc<SharedMessage>) -> Message {
        Message { msg, input: InputRef::none() }
    }

    /// Every part's metadata in two values (see index.js): one string holding every part's
    /// texts one after the other, and `LAYOUT_NUMBERS` numbers per part (kind, size, where the
    /// content sits in the input or -1, attachment flag, then each text's start and end in the
    /// string, -1 for none). Two values instead of a value per field: each value made and stored
    /// across napi cost about as much as the part's parse.
    pub(crate) fn layout(&self) -> Layout {
        let m = self.msg.message();
        let parts = m.parts();
        let mut attachment = vec![false; parts.len()];
        for &i in &m.summary().attachments {
            attachment[i] = true;
        }
        let mut layout =
            Layout { text: String::new(), units: 0, numbers: Vec::with_capacity(parts.len() * LAYOUT_NUMBERS) };
        let mut path = String::new();
        for (p, &attached) in parts.iter().zip(&attachment) {
            let data = p.decoded();
            layout.numbers.extend([
                match p.kind() {
                    PartKind::Leaf => 0.0,
                    PartKind::Multipart(_) => 1.0,
                    PartKind::Message { .. } => 2.0,
                },
                data.len() as f64,
                m.input_offset(data).map_or(-1.0, |at| at as f64),
                f64::from(u8::from(attached)),
            ]);
            path.clear();
            use std::fmt::Write as _;
            let _ = write!(path, "{}", p.path());
            layout.push(Some(&path));
            layout.push(Some(p.content_type()));
            layout.push(Some(p.transfer_encoding().as_str()));
            layout.push(p.filename());
            layout.push(p.disposition());
            layout.push(p.content_id());
            layout.push(p.charset());
        }
        layout
    }

    /// Part `index`, or an error naming it.
    pub(crate) fn part(&self, index: u32) -> Result<&mailwright::parse::Part<'_>> {
        self.msg
            .message()
            .parts()
            .get(index as usize)
            .ok_or_else(|| Error::new(Status::InvalidArg, format!("no part {index}")))
    }
}

/// Parses a message from a `Buffer` or `Uint8Array`. Throws only when the input is unusable as a
/// whole (too large); damage inside a message is repaired and listed in `warnings`.
#[napi]
pub fn parse(env: Env, #[napi(ts_arg_type = "Buffer | Uint8Array")] input: Unknown) -> Result<Message> {
    let slice = unsafe { Uint8ArraySlice::from_napi_value(env.raw(), input.raw())? };
    let copy = Bytes::copy_from_slice(&slice);
    let obj = unsafe { Object::from_napi_value(env.raw(), input.raw())? };
    match SharedMessage::new(copy, &Limits::default()) {
        Ok(msg) => {
            let input = InputRef::reported(&env, &msg, Some(obj.create_ref()?))?;
            Ok(Message { msg: Arc::new(msg), input })
        }
        Err(e) => throw(&env, Failure::new("parse", e.to_string())),
    }
}

/// Reads and parses the message in a file, off the JavaScript thread.
#[napi(ts_return_type = "Promise<Message>")]
pub fn parse_file(path: String) -> AsyncTask<Job<Message, Message>> {
    Job::new(move || Message::from_vec(std::fs::read(&path).map_err(|e| Failure::io(&e, &path))?), reported)
}

/// A message parsed off the JavaScript thread, with its native size reported to V8 as `parse`
/// reports it.
fn reported(env: &Env, m: Message) -> Result<Message> {
    let input = InputRef::reported(env, &m.msg, None)?;
    Ok(Message { msg: m.msg, input })
}

fn addresses(list: &[mailwright::parse::Address]) -> Vec<Address> {
    list.iter().map(|a| Address { name: a.name.clone(), address: a.address.clone() }).collect()
}

#[napi]
impl Message {
    /// The decoded Subject.
    #[napi(getter)]
    pub fn subject(&self) -> Option<&str> {
        self.msg.message().subject()
    }

    /// From.
    #[napi(getter)]
    pub fn from(&self) -> Vec<Address> {
        addresses(self.msg.message().from())
    }

    /// To.
    #[napi(getter)]
    pub fn to(&self) -> Vec<Address> {
        addresses(self.msg.message().to())
    }

    /// Cc.
    #[napi(getter)]
    pub fn cc(&self) -> Vec<Address> {
        addresses(self.msg.message().cc())
    }

    /// Bcc.
    #[napi(getter)]
    pub fn bcc(&self) -> Vec<Address> {
        addresses(self.msg.message().bcc())
    }

    /// Reply-To.
    #[napi(getter)]
    pub fn reply_to(&self) -> Vec<Address> {
        addresses(self.msg.message().reply_to())
    }

    /// The Date header as a `Date`, or null when absent or unreadable.
    #[napi(getter, ts_return_type = "Date | null")]
    pub fn date<'e>(&self, env: &'e Env) -> Result<Option<JsDate<'e>>> {
        match self.msg.message().summary().timestamp {
            Some(t) => Ok(Some(env.create_date(t as f64 * 1000.0)?)),
            None => Ok(None),
        }
    }

    /// The Message-ID without angle brackets.
    #[napi(getter)]
    pub fn message_id(&self) -> Option<&str> {
        self.msg.message().message_id()
    }

    /// The plain-text body (charset converted).
    #[napi(getter, ts_return_type = "string | null")]
    pub fn text(&self) -> Option<JsText<'_>> {
        self.msg.message().text().map(JsText)
    }

    /// The HTML body (charset converted).
    #[napi(getter, ts_return_type = "string | null")]
    pub fn html(&self) -> Option<JsText<'_>> {
        self.msg.message().html().map(JsText)
    }

    /// The top-level header fields in order, values decoded.
    #[napi(getter)]
    pub fn headers(&self) -> Vec<Header> {
        let m = self.msg.message();
        m.headers().iter().map(|h| Header { name: h.name().into_owned(), value: h.text() }).collect()
    }

    /// The decoded value of the first header field called `name` (any case), or null.
    #[napi]
    pub fn header(&self, name: String) -> Option<String> {
        self.msg.message().header_text(&name)
    }

    /// The header fields of part `index`.
    #[napi(js_name = "_headers", skip_typescript)]
    pub fn headers_of(&self, index: u32) -> Result<Vec<Header>> {
        Ok(self
            .part(index)?
            .headers()
            .iter()
            .map(|h| Header { name: h.name().into_owned(), value: h.text() })
            .collect())
    }

    /// Damage found while parsing.
    #[napi(getter)]
    pub fn warnings(&self) -> Vec<ParseWarning> {
        self.msg
            .message()
            .warnings()
            .iter()
            .map(|w| ParseWarning {
                kind: w.kind.to_string(),
                part: w.part.as_ref().map(|p| p.to_string()),
                detail: w.detail.clone(),
            })
            .collect()
    }

    /// The whole message: the buffer it was parsed from (the same object).
    #[napi(getter, ts_return_type = "Buffer | Uint8Array")]
    pub fn raw<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        match &self.input.js {
            Some(r) => Ok(r.get_value(env)?.to_unknown()),
            None => fresh_buffer(env, self.msg.bytes()),
        }
    }

    /// Writes the attachments into `dir` (created when missing), off the JavaScript thread, and
    /// resolves to the manifest. Names are sanitised; nothing is written outside `dir`.
    #[napi(ts_return_type = "Promise<Dissection>")]
    pub fn dissect(&self, dir: String, options: Option<DissectConfig>) -> AsyncTask<Job<Dissection, Dissection>> {
        let msg = self.msg.clone();
        let bodies = options.and_then(|o| o.bodies).unwrap_or(false);
        Job::new(
            move || {
                let opts = DissectOptions::new(PathBuf::from(&dir)).with_bodies(bodies);
                let d =
                    mailwright::dissect(msg.message(), &opts).map_err(|e| Failure::new("dissect", e.to_string()))?;
                let manifest = serde_json::to_value(&d.manifest).map_err(|e| Failure::new("dissect", e.to_string()))?;
                Ok(Dissection { manifest, files: d.files as u32, bytes: d.bytes as f64 })
            },
            crate::tasks::same,
        )
    }

    /// Who really sent it: DKIM, ARC, SPF (with `ip`/`helo`/`mailFrom`, or `receivedBy`) and
    /// DMARC, checked off the JavaScript thread; resolves to what `mailwright verify --json`
    /// prints.
    #[napi(ts_return_type = "Promise<VerifyReport>")]
    pub fn verify(&self, options: Option<VerifyOptions>) -> AsyncTask<Job<Json, Json>> {
        let msg = self.msg.clone();
        Job::new(
            move || {
                let options = options.map(VerifyOptions::into_core).transpose()?.unwrap_or_default();
                Ok(Json(options.check(msg.bytes()).map_err(Failure::from)?.to_json()))
            },
            crate::tasks::same,
        )
    }
}

/// Options of `message.verify()`.
#[napi(object)]
pub struct VerifyOptions {
    /// Name servers (`IP` or `IP:PORT`); the system's when absent.
    pub resolvers: Option<Vec<String>>,
    /// Seconds one DNS query may wait (two attempts; 5).
    pub dns_timeout: Option<f64>,
    /// TXT records answered without DNS (name → record; `''`: no such name), for tests.
    pub records: Option<std::collections::HashMap<String, String>>,
    /// The client's address, for SPF (with `helo` and `mailFrom`).
    pub ip: Option<String>,
    /// The name the client gave in HELO/EHLO.
    pub helo: Option<String>,
    /// The envelope sender (empty for a bounce).
    pub mail_from: Option<String>,
    /// Take the SPF client from the topmost Received: field this host added.
    pub received_by: Option<String>,
    /// Also believe the topmost Authentication-Results of this authserv-id.
    pub trust_authserv: Option<String>,
}

impl VerifyOptions {
    fn into_core(self) -> std::result::Result<mailwright::auth::CheckOptions, Failure> {
        let ip = match self.ip {
            Some(ip) => Some(ip.parse().map_err(|_| Failure::usage(format!("ip {ip:?} is not an IP address")))?),
            None => None,
        };
        Ok(mailwright::auth::CheckOptions {
            resolvers: self.resolvers.unwrap_or_default(),
            dns_timeout: self.dns_timeout,
            records: self.records.unwrap_or_default().into_iter().collect(),
            ip,
            helo: self.helo,
            mail_from: self.mail_from,
            received_by: self.received_by,
            trust_authserv: self.trust_authserv,
        })
    }
}

/// A new Buffer in V8's own memory (so V8 counts it) holding a copy of `data`.
pub(crate) fn fresh_buffer<'e>(env: &'e Env, data: &[u8]) -> Result<Unknown<'e>> {
    let b = BufferSlice::copy_from(env, data)?;
    unsafe { Unknown::from_napi_value(env.raw(), <&BufferSlice as ToNapiValue>::to_napi_value(env.raw(), &b)?) }
}

/// The numbers `_layout` gives first for each part, in order (index.js reads them by position).
const LAYOUT_FIELDS: [&str; 4] = ["kind", "size", "start", "attachment"];

/// The texts `_layout` gives next, a start and an end for each, in order: each is read by the
/// `Part` getter of index.js of that name (a test holds the two sides together).
const LAYOUT_TEXTS: [&str; 7] =
    ["path", "contentType", "transferEncoding", "filename", "disposition", "contentId", "charset"];

/// How many numbers `_layout` gives per part.
const LAYOUT_NUMBERS: usize = LAYOUT_FIELDS.len() + 2 * LAYOUT_TEXTS.len();

/// What `_layout` gives.
pub(crate) struct Layout {
    /// Every part's texts one after the other.
    pub(crate) text: String,
    /// `text`'s length in UTF-16 code units (JavaScript string positions).
    units: usize,
    /// `LAYOUT_NUMBERS` per part.
    pub(crate) numbers: Vec<f64>,
}

impl Layout {
    fn push(&mut self, s: Option<&str>) {
        let Some(s) = s else {
            self.numbers.extend([-1.0, -1.0]);
            return;
        };
        let start = self.units;
        self.units += if s.is_ascii() { s.len() } else { s.chars().map(char::len_utf16).sum() };
        self.text.push_str(s);
        self.numbers.extend([start as f64, self.units as f64]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// index.js reads the layout by position: every position it uses is the one named here. (That
    /// `layout` writes the texts in this order is checked from JavaScript, in layout.test.js: the
    /// test binary cannot link napi's functions.)
    #[test]
    fn index_js_reads_the_layout_where_it_is_written() {
        let js = include_str!("../index.js");
        let has = |needle: &str| assert!(js.contains(needle), "index.js should contain {needle:?}");
        has(&format!("const LAYOUT_NUMBERS = {LAYOUT_NUMBERS}\n"));
        has("const KINDS = ['leaf', 'multipart', 'message']");
        let at = |name: &str| LAYOUT_FIELDS.iter().position(|f| *f == name).expect("field");
        has("return KINDS[this.#l.n[this.#at]]");
        assert_eq!(at("kind"), 0);
        has(&format!("get size() {{\n    return this.#l.n[this.#at + {}]", at("size")));
        has(&format!("const start = this.#l.n[this.#at + {}]", at("start")));
        has(&format!("if (n[at + {}] === 1) attachments.push(p)", at("attachment")));
        let first = LAYOUT_FIELDS.len();
        has(&format!("const start = l.n[at + {first} + 2 * k]"));
        has(&format!("l.s.slice(start, l.n[at + {} + 2 * k])", first + 1));
        for (k, name) in LAYOUT_TEXTS.iter().enumerate() {
            has(&format!("get {name}() {{\n    return text(this.#l, this.#at, {k})"));
        }
    }
}
