//! Composing a message: `build` from options, and the `MessageBuilder`.

use std::path::PathBuf;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use mailwright::auth::{DkimKey, DkimSigner};
use mailwright::build::MessageBuilder as CoreBuilder;

use crate::errors::Failure;
use crate::tasks::{Job, bytes_of};

/// A file to attach: its name and bytes.
#[napi(object)]
pub struct AttachmentData {
    /// The file name shown to the recipient.
    pub filename: String,
    /// The content.
    pub content: Either<Buffer, String>,
}

/// Everything `build` takes.
#[napi(object)]
pub struct BuildOptions {
    /// The sender: `"Name <address>"` or an address.
    pub from: String,
    /// To recipients.
    pub to: Option<Either<String, Vec<String>>>,
    /// Cc recipients.
    pub cc: Option<Either<String, Vec<String>>>,
    /// Bcc recipients (envelope only).
    pub bcc: Option<Either<String, Vec<String>>>,
    /// Reply-To.
    pub reply_to: Option<String>,
    /// The Subject.
    pub subject: Option<String>,
    /// The plain-text body.
    pub text: Option<String>,
    /// The HTML body.
    pub html: Option<String>,
    /// Attachments: file paths, or `{ filename, content }`.
    pub attachments: Option<Vec<Either<String, AttachmentData>>>,
    /// Extra header fields.
    pub headers: Option<Vec<crate::parse::Header>>,
    /// Sign the finished message with DKIM.
    pub dkim: Option<DkimOptions>,
}

/// DKIM signing of a finished message.
#[napi(object)]
pub struct DkimOptions {
    /// The private key, PEM (RSA or Ed25519).
    pub key: Option<Either<Buffer, String>>,
    /// Or the path of a PEM file holding it.
    pub key_file: Option<String>,
    /// The selector (`s=`).
    pub selector: String,
    /// The signing domain (`d=`); the From domain when absent.
    pub domain: Option<String>,
}

/// The key, selector and domain of `o`, the key read and checked now.
struct Dkim {
    pem: Vec<u8>,
    selector: String,
    domain: Option<String>,
}

impl Dkim {
    fn new(o: DkimOptions) -> std::result::Result<Self, Failure> {
        let pem = match (o.key, o.key_file) {
            (Some(k), None) => bytes_of(k),
            (None, Some(path)) => std::fs::read(&path).map_err(|e| Failure::io(&e, &path))?,
            _ => return Err(Failure::usage("dkim: give key or keyFile")),
        };
        DkimKey::from_pem(&pem)?;
        Ok(Dkim { pem, selector: o.selector, domain: o.domain })
    }

    /// `b` set to sign with this key, for its From domain unless a domain was given.
    fn apply(&self, b: CoreBuilder) -> std::result::Result<CoreBuilder, Failure> {
        let key = DkimKey::from_pem(&self.pem)?;
        let signer = DkimSigner::for_sender(key, &self.selector, self.domain.as_deref(), &b.sender())?;
        Ok(b.dkim(std::sync::Arc::new(signer)))
    }
}

fn list(v: Option<Either<String, Vec<String>>>) -> Vec<String> {
    match v {
        None => Vec::new(),
        Some(Either::A(s)) => vec![s],
        Some(Either::B(l)) => l,
    }
}

/// Builds (and signs) off the JavaScript thread; a bad DKIM option rejects the Promise.
fn build_job(b: CoreBuilder, dkim: Option<std::result::Result<Arc<Dkim>, Failure>>) -> AsyncTask<Job<Vec<u8>, Buffer>> {
    Job::new(
        move || {
            let b = match dkim {
                Some(d) => d?.apply(b)?,
                None => b,
            };
            b.build().map_err(|e| Failure::new("build", e.to_string()))
        },
        |_, v| Ok(Buffer::from(v)),
    )
}

/// Builds a message in one call; resolves to its bytes (CRLF line ends). Attachment files are
/// read off the JavaScript thread.
#[napi(ts_return_type = "Promise<Buffer>")]
pub fn build(options: BuildOptions) -> AsyncTask<Job<Vec<u8>, Buffer>> {
    let mut b = CoreBuilder::new().from(options.from.as_str());
    for a in list(options.to) {
        b = b.to(a.as_str());
    }
    for a in list(options.cc) {
        b = b.cc(a.as_str());
    }
    for a in list(options.bcc) {
        b = b.bcc(a.as_str());
    }
    if let Some(r) = options.reply_to {
        b = b.reply_to(r.as_str());
    }
    if let Some(s) = options.subject {
        b = b.subject(s);
    }
    if let Some(t) = options.text {
        b = b.text(t);
    }
    if let Some(h) = options.html {
        b = b.html(h);
    }
    for h in options.headers.unwrap_or_default() {
        b = b.header(h.name, h.value);
    }
    for a in options.attachments.unwrap_or_default() {
        b = match a {
            Either::A(path) => b.attach_path(PathBuf::from(path)),
            Either::B(d) => b.attach_bytes(d.filename, bytes_of(d.content)),
        };
    }
    build_job(b, options.dkim.map(|o| Dkim::new(o).map(Arc::new)))
}

/// Composes a message step by step; every setter returns the builder.
#[napi]
pub struct MessageBuilder {
    b: CoreBuilder,
    dkim: Option<Arc<Dkim>>,
}

#[napi]
impl MessageBuilder {
    /// An empty message.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        MessageBuilder { b: CoreBuilder::new(), dkim: None }
    }

    fn with(&mut self, f: impl FnOnce(CoreBuilder) -> CoreBuilder) {
        let b = std::mem::take(&mut self.b);
        self.b = f(b);
    }

    /// Sets the sender.
    #[napi]
    pub fn from<'a>(&mut self, this: This<'a>, mailbox: String) -> This<'a> {
        self.with(|b| b.from(mailbox.as_str()));
        this
    }

    /// Adds a To recipient.
    #[napi]
    pub fn to<'a>(&mut self, this: This<'a>, mailbox: String) -> This<'a> {
        self.with(|b| b.to(mailbox.as_str()));
        this
    }

    /// Adds a Cc recipient.
    #[napi]
    pub fn cc<'a>(&mut self, this: This<'a>, mailbox: String) -> This<'a> {
        self.with(|b| b.cc(mailbox.as_str()));
        this
    }

    /// Adds a Bcc recipient (envelope only).
    #[napi]
    pub fn bcc<'a>(&mut self, this: This<'a>, mailbox: String) -> This<'a> {
        self.with(|b| b.bcc(mailbox.as_str()));
        this
    }

    /// Sets Reply-To.
    #[napi]
    pub fn reply_to<'a>(&mut self, this: This<'a>, mailbox: String) -> This<'a> {
        self.with(|b| b.reply_to(mailbox.as_str()));
        this
    }

    /// Sets the Subject.
    #[napi]
    pub fn subject<'a>(&mut self, this: This<'a>, subject: String) -> This<'a> {
        self.with(|b| b.subject(subject));
        this
    }

    /// Sets the plain-text body.
    #[napi]
    pub fn text<'a>(&mut self, this: This<'a>, text: String) -> This<'a> {
        self.with(|b| b.text(text));
        this
    }

    /// Sets the HTML body.
    #[napi]
    pub fn html<'a>(&mut self, this: This<'a>, html: String) -> This<'a> {
        self.with(|b| b.html(html));
        this
    }

    /// Adds a header field (checked when building).
    #[napi]
    pub fn header<'a>(&mut self, this: This<'a>, name: String, value: String) -> This<'a> {
        self.with(|b| b.header(name, value));
        this
    }

    /// Attaches a file from disk (read when building; its type from its magic bytes).
    #[napi]
    pub fn attach_path<'a>(&mut self, this: This<'a>, path: String) -> This<'a> {
        self.with(|b| b.attach_path(PathBuf::from(path)));
        this
    }

    /// Attaches bytes under a file name.
    #[napi]
    pub fn attach_bytes<'a>(&mut self, this: This<'a>, filename: String, content: Either<Buffer, String>) -> This<'a> {
        let data = bytes_of(content);
        self.with(|b| b.attach_bytes(filename, data));
        this
    }

    /// Signs the finished message with DKIM (the key is read and checked now).
    #[napi]
    pub fn dkim<'a>(&mut self, env: Env, this: This<'a>, options: DkimOptions) -> Result<This<'a>> {
        match Dkim::new(options) {
            Ok(d) => self.dkim = Some(Arc::new(d)),
            Err(f) => return Err(f.into_js(&env)),
        }
        Ok(this)
    }

    /// Resolves to the message's bytes (signed when `dkim()` asked for it).
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn build(&self) -> AsyncTask<Job<Vec<u8>, Buffer>> {
        build_job(self.b.clone(), self.dkim.clone().map(Ok))
    }

    /// The envelope: sender and recipients (To, Cc, Bcc).
    #[napi]
    pub fn envelope(&self) -> Envelope {
        Envelope { from: self.b.sender(), to: self.b.recipients() }
    }
}

/// An SMTP envelope.
#[napi(object)]
pub struct Envelope {
    /// MAIL FROM.
    pub from: String,
    /// RCPT TO.
    pub to: Vec<String>,
}
