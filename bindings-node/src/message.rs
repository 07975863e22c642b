//! `parse`, `Message`, `Part`, `Dissection`.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi::{Env, JsDate};
use napi_derive::napi;

use mailwright::parse::{PartKind, SharedMessage};
use mailwright::{DissectOptions, Limits};

use crate::errors::{Failure, Job, JsText, throw};

/// The parsed message, from a private copy of the input, so that later writes to the caller's
/// buffer cannot change it. Part contents are views of the caller's buffer (see `Part.content`).
struct Inner {
    msg: SharedMessage,
}

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

/// A parsed message. Its getters read the parse; nothing is decoded twice.
#[napi(custom_finalize)]
pub struct Message {
    inner: Arc<Inner>,
    input: Arc<InputRef>,
}

impl ObjectFinalize for Message {
    fn finalize(self, env: Env) -> Result<()> {
        release(self.input, &env)
    }
}

impl Message {
    /// Parses bytes that have no JavaScript buffer (read from a file by the core); part contents
    /// are then copies.
    pub(crate) fn from_vec(data: Vec<u8>) -> std::result::Result<Message, Failure> {
        let msg = SharedMessage::new(Bytes::from(data), &Limits::default())
            .map_err(|e| Failure::new("parse", e.to_string()))?;
        Ok(Message { inner: Arc::new(Inner { msg }), input: InputRef::none() })
    }

    /// The parts at these paths (`2`, `3.1`), as objects.
    pub(crate) fn parts_at(&self, paths: &[String]) -> Vec<Part> {
        let m = self.inner.msg.message();
        let parts = m.parts();
        paths
            .iter()
            .filter_map(|p| parts.iter().position(|x| x.path().to_string() == *p))
            .map(|index| Part { inner: self.inner.clone(), index, input: InputRef::none() })
            .collect()
    }

    fn part_objects(&self, indexes: impl Iterator<Item = usize>) -> Vec<Part> {
        indexes.map(|index| Part { inner: self.inner.clone(), index, input: self.input.clone() }).collect()
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
            // The copy, and about as much again for decoded parts; small messages are left to
            // V8's usual pace (their wrappers alone make it collect often enough).
            let external = if msg.bytes().len() >= 256 * 1024 { 2 * msg.bytes().len() as i64 } else { 0 };
            if external > 0 {
                env.adjust_external_memory(external)?;
            }
            let input = Arc::new(InputRef { js: Some(obj.create_ref()?), external });
            Ok(Message { inner: Arc::new(Inner { msg }), input })
        }
        Err(e) => throw(&env, Failure::new("parse", e.to_string())),
    }
}

/// Reads and parses the message in a file, off the JavaScript thread.
#[napi(ts_return_type = "Promise<Message>")]
pub fn parse_file(path: String) -> AsyncTask<Job<Message, Message>> {
    Job::new(move || Message::from_vec(std::fs::read(&path).map_err(|e| Failure::io(&e, &path))?), crate::errors::same)
}

fn addresses(list: &[mailwright::parse::Address]) -> Vec<Address> {
    list.iter().map(|a| Address { name: a.name.clone(), address: a.address.clone() }).collect()
}

#[napi]
impl Message {
    /// The decoded Subject.
    #[napi(getter)]
    pub fn subject(&self) -> Option<&str> {
        self.inner.msg.message().subject()
    }

    /// From.
    #[napi(getter)]
    pub fn from(&self) -> Vec<Address> {
        addresses(self.inner.msg.message().from())
    }

    /// To.
    #[napi(getter)]
    pub fn to(&self) -> Vec<Address> {
        addresses(self.inner.msg.message().to())
    }

    /// Cc.
    #[napi(getter)]
    pub fn cc(&self) -> Vec<Address> {
        addresses(self.inner.msg.message().cc())
    }

    /// Bcc.
    #[napi(getter)]
    pub fn bcc(&self) -> Vec<Address> {
        addresses(self.inner.msg.message().bcc())
    }

    /// Reply-To.
    #[napi(getter)]
    pub fn reply_to(&self) -> Vec<Address> {
        addresses(self.inner.msg.message().reply_to())
    }

    /// The Date header as a `Date`, or null when absent or unreadable.
    #[napi(getter, ts_return_type = "Date | null")]
    pub fn date<'e>(&self, env: &'e Env) -> Result<Option<JsDate<'e>>> {
        match self.inner.msg.message().envelope().timestamp {
            Some(t) => Ok(Some(env.create_date(t as f64 * 1000.0)?)),
            None => Ok(None),
        }
    }

    /// The Message-ID without angle brackets.
    #[napi(getter)]
    pub fn message_id(&self) -> Option<&str> {
        self.inner.msg.message().message_id()
    }

    /// The plain-text body (charset converted).
    #[napi(getter, ts_return_type = "string | null")]
    pub fn text(&self) -> Option<JsText<'_>> {
        self.inner.msg.message().text().map(JsText)
    }

    /// The HTML body (charset converted).
    #[napi(getter, ts_return_type = "string | null")]
    pub fn html(&self) -> Option<JsText<'_>> {
        self.inner.msg.message().html().map(JsText)
    }

    /// The top-level header fields in order, values decoded.
    #[napi(getter)]
    pub fn headers(&self) -> Vec<Header> {
        let m = self.inner.msg.message();
        m.headers().iter().map(|h| Header { name: h.name().into_owned(), value: h.text() }).collect()
    }

    /// The decoded value of the first header field called `name` (any case), or null.
    #[napi]
    pub fn header(&self, name: String) -> Option<String> {
        self.inner.msg.message().header_text(&name)
    }

    /// The parts that are files.
    #[napi(getter)]
    pub fn attachments(&self) -> Vec<Part> {
        let m = self.inner.msg.message();
        let parts = m.parts();
        self.part_objects(m.attachments().filter_map(|a| parts.iter().position(|p| std::ptr::eq(p, a))))
    }

    /// Every part, depth first, the root first.
    #[napi(getter)]
    pub fn parts(&self) -> Vec<Part> {
        self.part_objects(0..self.inner.msg.message().parts().len())
    }

    /// Damage found while parsing.
    #[napi(getter)]
    pub fn warnings(&self) -> Vec<ParseWarning> {
        self.inner
            .msg
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
            None => fresh_buffer(env, self.inner.msg.bytes()),
        }
    }

    /// Writes the attachments into `dir` (created when missing), off the JavaScript thread, and
    /// resolves to the manifest. Names are sanitised; nothing is written outside `dir`.
    #[napi(ts_return_type = "Promise<Dissection>")]
    pub fn dissect(&self, dir: String, options: Option<DissectConfig>) -> AsyncTask<Job<Dissection, Dissection>> {
        let inner = self.inner.clone();
        let bodies = options.and_then(|o| o.bodies).unwrap_or(false);
        Job::new(
            move || {
                let opts = DissectOptions::new(PathBuf::from(&dir)).with_bodies(bodies);
                let d = mailwright::dissect(inner.msg.message(), &opts)
                    .map_err(|e| Failure::new("dissect", e.to_string()))?;
                let manifest = serde_json::to_value(&d.manifest).map_err(|e| Failure::new("dissect", e.to_string()))?;
                Ok(Dissection { manifest, files: d.files as u32, bytes: d.bytes as f64 })
            },
            crate::errors::same,
        )
    }
}

/// Options of `dissect`.
#[napi(object)]
pub struct DissectConfig {
    /// Also write the text and HTML bodies as files.
    pub bodies: Option<bool>,
}

/// What `dissect` wrote.
#[napi(object)]
pub struct Dissection {
    /// The manifest (the same JSON as `manifest.json`: subject, from, attachments with sha256…).
    pub manifest: serde_json::Value,
    /// Files written.
    pub files: u32,
    /// Bytes written.
    pub bytes: f64,
}

/// One part of a message.
#[napi(custom_finalize)]
pub struct Part {
    inner: Arc<Inner>,
    index: usize,
    input: Arc<InputRef>,
}

impl ObjectFinalize for Part {
    fn finalize(self, env: Env) -> Result<()> {
        release(self.input, &env)
    }
}

/// A new Buffer in V8's own memory (so V8 counts it) holding a copy of `data`.
fn fresh_buffer<'e>(env: &'e Env, data: &[u8]) -> Result<Unknown<'e>> {
    let b = BufferSlice::copy_from(env, data)?;
    unsafe { Unknown::from_napi_value(env.raw(), <&BufferSlice as ToNapiValue>::to_napi_value(env.raw(), &b)?) }
}

impl Part {
    fn part(&self) -> &mailwright::parse::Part<'_> {
        &self.inner.msg.message().parts()[self.index]
    }
}

/// A `Buffer` over `len` bytes of `input` from `start`: the same memory, no copy.
fn view<'e>(env: &'e Env, input: &ObjectRef<false>, start: usize, len: usize) -> Result<Unknown<'e>> {
    let obj = input.get_value(env)?;
    let array_buffer: Unknown = obj.get_named_property("buffer")?;
    let offset: f64 = obj.get_named_property("byteOffset")?;
    let ctor: Object = env.get_global()?.get_named_property_unchecked("Buffer")?;
    let from: Function<FnArgs<(Unknown, f64, f64)>, Unknown> = ctor.get_named_property("from")?;
    from.apply(ctor, FnArgs::from((array_buffer, offset + start as f64, len as f64)))
}

#[napi]
impl Part {
    /// Its IMAP-style path (`1`, `2.1`; the root is ``).
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.part().path().to_string()
    }

    /// The content type, lower case (`application/pdf`).
    #[napi(getter)]
    pub fn content_type(&self) -> String {
        self.part().content_type().to_string()
    }

    /// The file name, decoded and as a mail client shows it.
    #[napi(getter)]
    pub fn filename(&self) -> Option<String> {
        self.part().filename().map(str::to_string)
    }

    /// `attachment`, `inline`, or null.
    #[napi(getter)]
    pub fn disposition(&self) -> Option<String> {
        self.part().disposition().map(str::to_string)
    }

    /// The Content-ID without brackets.
    #[napi(getter)]
    pub fn content_id(&self) -> Option<String> {
        self.part().content_id().map(str::to_string)
    }

    /// The declared charset.
    #[napi(getter)]
    pub fn charset(&self) -> Option<String> {
        self.part().charset().map(str::to_string)
    }

    /// The transfer encoding as written (`7bit`, `base64`, `quoted-printable`…).
    #[napi(getter)]
    pub fn transfer_encoding(&self) -> String {
        self.part().transfer_encoding().as_str().to_string()
    }

    /// `multipart`, `message` or `leaf`.
    #[napi(getter, ts_return_type = "'multipart' | 'message' | 'leaf'")]
    pub fn kind(&self) -> &'static str {
        match self.part().kind() {
            PartKind::Multipart(_) => "multipart",
            PartKind::Message { .. } => "message",
            PartKind::Leaf => "leaf",
        }
    }

    /// The content with its transfer encoding undone. Where there was nothing to decode this is
    /// a view of the buffer given to `parse` (no copy: it shares that memory); else a new Buffer.
    #[napi(getter, ts_return_type = "Buffer")]
    pub fn content<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        let data = self.part().decoded();
        let base = self.inner.msg.bytes();
        let (b, p) = (base.as_ptr() as usize, data.as_ptr() as usize);
        if let Some(input) = &self.input.js
            && !data.is_empty()
            && p >= b
            && p + data.len() <= b + base.len()
        {
            return view(env, input, p - b, data.len());
        }
        fresh_buffer(env, data)
    }

    /// The content as text (transfer-decoded, charset converted).
    #[napi(getter, ts_return_type = "string")]
    pub fn text(&self) -> JsText<'_> {
        JsText(self.part().text())
    }

    /// The decoded size in bytes.
    #[napi(getter)]
    pub fn size(&self) -> u32 {
        self.part().decoded().len() as u32
    }

    /// This part's own header fields.
    #[napi(getter)]
    pub fn headers(&self) -> Vec<Header> {
        self.part().headers().iter().map(|h| Header { name: h.name().into_owned(), value: h.text() }).collect()
    }
}
