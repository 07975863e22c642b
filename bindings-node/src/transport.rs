//! Building, sending, mailboxes, the outbox and IMAP sync. Everything that touches disk or
//! network runs off the JavaScript thread and returns a Promise.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::Env;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use mailwright::build::MessageBuilder as CoreBuilder;
use mailwright::inject::{Receipt as CoreReceipt, RecipientResult, Transport as CoreTransport};
use mailwright::mailbox::{MaildirEntry, MboxFormat, MboxReader};

use crate::errors::{Failure, Job, Json, same};

/// What happened to one recipient.
#[napi(object)]
pub struct Recipient {
    /// The address.
    pub address: String,
    /// `accepted`, `transient` (try again later) or `permanent`.
    #[napi(ts_type = "'accepted' | 'transient' | 'permanent'")]
    pub status: String,
    /// The server's reply code.
    pub code: Option<u32>,
    /// The enhanced status code (`5.1.1`).
    pub enhanced_code: Option<String>,
    /// The server's or the program's text.
    pub text: String,
    /// The server that answered (`mx1.example.org[192.0.2.1]:25`).
    pub host: Option<String>,
}

impl From<&RecipientResult> for Recipient {
    fn from(r: &RecipientResult) -> Self {
        Recipient {
            address: r.address.clone(),
            status: r.status.as_str().into(),
            code: r.code.map(u32::from),
            enhanced_code: r.enhanced_code.clone(),
            text: r.text.clone(),
            host: r.host.clone(),
        }
    }
}

/// The TLS a network send used.
#[napi(object)]
pub struct Tls {
    /// `TLSv1.3` or `TLSv1.2`.
    pub version: String,
    /// Whether the certificate was verified.
    pub verified: bool,
}

/// What `send` did.
#[napi(object)]
pub struct Receipt {
    /// `smtp`, `mx`, `maildir`, `mbox` or `sendmail`.
    pub transport: String,
    /// Where it went: a path, a program, or a host.
    pub destination: String,
    /// The id the destination gave the message (Maildir file name, mbox offset, SMTP queue id).
    pub queue_id: Option<String>,
    /// The address that answered, for network transports.
    pub peer: Option<String>,
    /// The TLS used, if any.
    pub tls: Option<Tls>,
    /// Per recipient.
    pub recipients: Vec<Recipient>,
}

impl From<CoreReceipt> for Receipt {
    fn from(r: CoreReceipt) -> Self {
        Receipt {
            transport: r.transport.to_string(),
            destination: r.destination,
            queue_id: r.queue_id,
            peer: r.peer,
            tls: r.tls.map(|t| Tls { version: t.version, verified: t.verified }),
            recipients: r.recipients.iter().map(Recipient::from).collect(),
        }
    }
}

/// Where `send` and `Outbox.flush` deliver: exactly one of `smtp`, `mx`, `maildir`, `mbox`,
/// `sendmail`.
#[napi(object)]
#[derive(Default)]
pub struct SendOptions {
    /// `smtp://host[:port]` (STARTTLS required unless `allowPlaintext`) or `smtps://host[:port]`.
    pub smtp: Option<String>,
    /// Deliver straight to the recipients' MX hosts, in preference order, with failover.
    pub mx: Option<bool>,
    /// Deliver into this Maildir.
    pub maildir: Option<String>,
    /// Append to this mbox file.
    pub mbox: Option<String>,
    /// Hand to this sendmail program.
    pub sendmail: Option<String>,
    /// SMTP user (AUTH).
    pub user: Option<String>,
    /// SMTP password.
    pub password: Option<String>,
    /// Extra CA certificate (PEM) to trust.
    pub ca_file: Option<String>,
    /// Do not verify certificates (tests only).
    pub insecure: Option<bool>,
    /// Allow SMTP without TLS.
    pub allow_plaintext: Option<bool>,
    /// For `mx`: DNS servers (`IP[:PORT]`) instead of the system's.
    pub resolvers: Option<Vec<String>>,
    /// For `mx`: the SMTP port of the MX hosts (25).
    pub smtp_port: Option<u32>,
    /// For `mx`: refuse hosts without verified STARTTLS.
    pub require_tls: Option<bool>,
    /// Seconds to wait for a connection and for each reply (60).
    pub timeout: Option<f64>,
}

fn destination(o: SendOptions) -> std::result::Result<Box<dyn CoreTransport + Send>, Failure> {
    let timeout = Duration::try_from_secs_f64(o.timeout.unwrap_or(60.0))
        .map_err(|_| Failure::usage("timeout must be a number of seconds"))?;
    let smtp_port = u16::try_from(o.smtp_port.unwrap_or(25)).map_err(|_| Failure::usage("smtpPort must be a port"))?;
    let d = mailwright::inject::Destination {
        smtp: o.smtp,
        mx: o.mx.unwrap_or(false),
        maildir: o.maildir.map(PathBuf::from),
        mbox: o.mbox.map(PathBuf::from),
        sendmail: o.sendmail,
        credentials: o.user.map(|u| (u, o.password.unwrap_or_default())),
        ca_file: o.ca_file.map(PathBuf::from),
        insecure: o.insecure.unwrap_or(false),
        allow_plaintext: o.allow_plaintext.unwrap_or(false),
        resolvers: o.resolvers.unwrap_or_default(),
        smtp_port,
        require_tls: o.require_tls.unwrap_or(false),
        connect_timeout: timeout,
        reply_timeout: timeout,
    };
    d.transport().map_err(|e| Failure::usage(e.to_string()))
}

fn bytes_of(raw: Either<Buffer, String>) -> Vec<u8> {
    match raw {
        Either::A(b) => b.to_vec(),
        Either::B(s) => s.into_bytes(),
    }
}

/// Sends a ready message (envelope from its headers, Bcc removed) to one destination; resolves to
/// the receipt, rejects with an `Error` whose `smtpCode`, `enhancedCode` and `transient` tell why.
#[napi(ts_return_type = "Promise<Receipt>")]
pub fn send(raw: Either<Buffer, String>, options: SendOptions) -> AsyncTask<Job<Receipt, Receipt>> {
    let raw = bytes_of(raw);
    Job::new(
        move || {
            let mut t = destination(options)?;
            t.send(&raw).map(Receipt::from).map_err(Failure::inject)
        },
        same,
    )
}

/// A destination kept open between sends: an SMTP transport reuses its connection (reconnecting
/// when the server closed it). Sends on one object run one after another; use several objects for
/// parallel connections.
#[napi]
pub struct Transport {
    inner: Arc<Mutex<Option<Box<dyn CoreTransport + Send>>>>,
}

#[napi]
impl Transport {
    /// A transport for `options` (the options of `send`); nothing is connected until the first send.
    #[napi(constructor)]
    pub fn new(env: Env, options: SendOptions) -> Result<Self> {
        match destination(options) {
            Ok(t) => Ok(Transport { inner: Arc::new(Mutex::new(Some(t))) }),
            Err(f) => Err(f.into_js(&env)),
        }
    }

    /// Sends a ready message; resolves to the receipt (rejects like `send`).
    #[napi(ts_return_type = "Promise<Receipt>")]
    pub fn send(&self, raw: Either<Buffer, String>) -> AsyncTask<Job<Receipt, Receipt>> {
        let raw = bytes_of(raw);
        let inner = self.inner.clone();
        Job::new(
            move || {
                let mut slot = inner.lock().map_err(|_| Failure::new("delivery", "transport lock poisoned"))?;
                let t = slot.as_mut().ok_or_else(|| Failure::usage("the transport is closed"))?;
                t.send(&raw).map(Receipt::from).map_err(Failure::inject)
            },
            same,
        )
    }

    /// Closes the connection (after sends in progress); later sends reject.
    #[napi]
    pub fn close(&self) {
        let inner = self.inner.clone();
        // Dropping an SMTP session says QUIT: not on the JavaScript thread.
        std::thread::spawn(move || {
            if let Ok(mut slot) = inner.lock() {
                slot.take();
            }
        });
    }
}

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
    pub headers: Option<Vec<crate::message::Header>>,
}

fn list(v: Option<Either<String, Vec<String>>>) -> Vec<String> {
    match v {
        None => Vec::new(),
        Some(Either::A(s)) => vec![s],
        Some(Either::B(l)) => l,
    }
}

fn build_job(b: CoreBuilder) -> AsyncTask<Job<Vec<u8>, Buffer>> {
    Job::new(move || b.build().map_err(|e| Failure::new("build", e.to_string())), |_, v| Ok(Buffer::from(v)))
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
    build_job(b)
}

/// Composes a message step by step; every setter returns the builder.
#[napi]
pub struct MessageBuilder {
    b: CoreBuilder,
}

#[napi]
impl MessageBuilder {
    /// An empty message.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        MessageBuilder { b: CoreBuilder::new() }
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

    /// Resolves to the message's bytes.
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn build(&self) -> AsyncTask<Job<Vec<u8>, Buffer>> {
        build_job(self.b.clone())
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

/// One message of a Maildir.
#[napi(object)]
pub struct MaildirMessage {
    /// Its file.
    pub path: String,
    /// Its unique name.
    pub id: String,
    /// Its flags, sorted (`S` seen, `R` replied, `F` flagged…).
    pub flags: String,
    /// Whether it is still in `new/`.
    pub is_new: bool,
}

impl From<MaildirEntry> for MaildirMessage {
    fn from(e: MaildirEntry) -> Self {
        MaildirMessage { path: e.path.display().to_string(), id: e.id, flags: e.flags, is_new: e.new }
    }
}

fn entry(m: &MaildirMessage) -> MaildirEntry {
    MaildirEntry { path: PathBuf::from(&m.path), id: m.id.clone(), flags: m.flags.clone(), new: m.is_new }
}

fn open_maildir(path: &str) -> std::result::Result<mailwright::mailbox::Maildir, Failure> {
    mailwright::mailbox::Maildir::create(path).map_err(Failure::from)
}

/// A Maildir (created when first used). `for await (const m of maildir)` streams its messages
/// (`new/` then `cur/`); one iteration at a time per object.
#[napi(async_iterator)]
pub struct Maildir {
    path: String,
    cursor: Arc<Mutex<Option<mailwright::mailbox::Entries>>>,
}

#[napi]
impl Maildir {
    /// The Maildir at `path`.
    #[napi(constructor)]
    pub fn new(path: String) -> Self {
        Maildir { path, cursor: Arc::new(Mutex::new(None)) }
    }

    /// Its folder.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// Delivers bytes into `new/` (written, synced, renamed); resolves to the file's path.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn deliver(&self, raw: Either<Buffer, String>) -> AsyncTask<Job<String, String>> {
        let path = self.path.clone();
        let raw = bytes_of(raw);
        Job::new(
            move || {
                let md = open_maildir(&path)?;
                md.deliver(&raw).map(|p| p.display().to_string()).map_err(Failure::from)
            },
            same,
        )
    }

    /// Every message in `new/` and `cur/`.
    #[napi(ts_return_type = "Promise<MaildirMessage[]>")]
    pub fn messages(&self) -> AsyncTask<Job<Vec<MaildirMessage>, Vec<MaildirMessage>>> {
        let path = self.path.clone();
        Job::new(
            move || {
                let md = open_maildir(&path)?;
                let list = md.entries().and_then(|e| e.collect::<std::result::Result<Vec<_>, _>>());
                Ok(list.map_err(Failure::from)?.into_iter().map(MaildirMessage::from).collect())
            },
            same,
        )
    }

    /// A message's bytes.
    #[napi(ts_return_type = "Promise<Buffer>")]
    pub fn read(&self, message: MaildirMessage) -> AsyncTask<Job<Vec<u8>, Buffer>> {
        Job::new(
            move || std::fs::read(&message.path).map_err(|e| Failure::io(&e, &message.path)),
            |_, v| Ok(Buffer::from(v)),
        )
    }

    /// Sets a message's flags (moving it to `cur/`); resolves to it as it is now.
    #[napi(ts_return_type = "Promise<MaildirMessage>")]
    pub fn set_flags(&self, message: MaildirMessage, flags: String) -> AsyncTask<Job<MaildirMessage, MaildirMessage>> {
        let path = self.path.clone();
        Job::new(
            move || {
                let md = open_maildir(&path)?;
                md.set_flags(&entry(&message), &flags).map(MaildirMessage::from).map_err(Failure::from)
            },
            same,
        )
    }

    /// Moves a message into the Maildir at `dest`; resolves to it there.
    #[napi(ts_return_type = "Promise<MaildirMessage>")]
    pub fn move_to(&self, message: MaildirMessage, dest: String) -> AsyncTask<Job<MaildirMessage, MaildirMessage>> {
        let path = self.path.clone();
        Job::new(
            move || {
                let md = open_maildir(&path)?;
                let to = open_maildir(&dest)?;
                md.move_to(&entry(&message), &to).map(MaildirMessage::from).map_err(Failure::from)
            },
            same,
        )
    }

    /// The Maildir++ subfolder `name` (`Lists.rust`), created when missing.
    #[napi(ts_return_type = "Promise<Maildir>")]
    pub fn folder(&self, name: String) -> AsyncTask<Job<String, Maildir>> {
        let path = self.path.clone();
        Job::new(
            move || {
                let md = open_maildir(&path)?;
                md.folder(&name).map(|f| f.path().display().to_string()).map_err(Failure::from)
            },
            |_, p| Ok(Maildir::new(p)),
        )
    }

    /// The Maildir++ subfolder names.
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn folders(&self) -> AsyncTask<Job<Vec<String>, Vec<String>>> {
        let path = self.path.clone();
        Job::new(move || open_maildir(&path)?.folders().map_err(Failure::from), same)
    }
}

fn io_err(f: Failure) -> Error {
    Error::from_reason(format!("{f:?}"))
}

#[napi]
impl AsyncGenerator for Maildir {
    type Yield = MaildirMessage;
    type Next = ();
    type Return = ();

    fn next(
        &mut self,
        _: Option<()>,
    ) -> impl std::future::Future<Output = Result<Option<MaildirMessage>>> + Send + 'static {
        let cursor = self.cursor.clone();
        let path = self.path.clone();
        async move {
            let mut c = cursor.lock().map_err(|_| Error::from_reason("Maildir iteration lock poisoned"))?;
            if c.is_none() {
                let md = open_maildir(&path).map_err(io_err)?;
                *c = Some(md.entries().map_err(|e| Error::from_reason(format!("{path}: {e}")))?);
            }
            match c.as_mut().and_then(Iterator::next) {
                Some(Ok(e)) => Ok(Some(MaildirMessage::from(e))),
                Some(Err(e)) => {
                    *c = None;
                    Err(Error::from_reason(format!("{path}: {e}")))
                }
                None => {
                    *c = None;
                    Ok(None)
                }
            }
        }
    }
}

/// An mbox file. `for await (const raw of mbox)` streams its messages as Buffers (the file is
/// memory-mapped and read as the iteration goes, mboxrd unquoting); one iteration at a time.
#[napi(async_iterator)]
pub struct Mbox {
    path: String,
    cursor: Arc<Mutex<Option<MboxReader>>>,
}

#[napi]
impl Mbox {
    /// The mbox at `path` (created by the first append).
    #[napi(constructor)]
    pub fn new(path: String) -> Self {
        Mbox { path, cursor: Arc::new(Mutex::new(None)) }
    }

    /// Its file.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// Appends a message (mboxrd quoting, locked, synced); resolves to its offset.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn append(&self, raw: Either<Buffer, String>, sender: Option<String>) -> AsyncTask<Job<f64, f64>> {
        let path = self.path.clone();
        let raw = bytes_of(raw);
        Job::new(
            move || {
                let m = mailwright::mailbox::Mbox::new(&path);
                m.append(&sender.unwrap_or_default(), &raw).map(|o| o as f64).map_err(Failure::from)
            },
            same,
        )
    }

    /// Every message, unquoted.
    #[napi(ts_return_type = "Promise<Buffer[]>")]
    pub fn messages(&self) -> AsyncTask<Job<Vec<Vec<u8>>, Vec<Buffer>>> {
        let path = self.path.clone();
        Job::new(
            move || {
                let r = MboxReader::open(&path, MboxFormat::Mboxrd).map_err(Failure::from)?;
                Ok(r.map(|m| m.bytes().into_owned()).collect())
            },
            |_, all| Ok(all.into_iter().map(Buffer::from).collect()),
        )
    }
}

#[napi]
impl AsyncGenerator for Mbox {
    type Yield = Buffer;
    type Next = ();
    type Return = ();

    fn next(&mut self, _: Option<()>) -> impl std::future::Future<Output = Result<Option<Buffer>>> + Send + 'static {
        let cursor = self.cursor.clone();
        let path = self.path.clone();
        async move {
            let mut c = cursor.lock().map_err(|_| Error::from_reason("mbox iteration lock poisoned"))?;
            if c.is_none() {
                *c = Some(
                    MboxReader::open(&path, MboxFormat::Mboxrd)
                        .map_err(|e| Error::from_reason(format!("{path}: {e}")))?,
                );
            }
            match c.as_mut().and_then(Iterator::next) {
                Some(m) => Ok(Some(Buffer::from(m.bytes().into_owned()))),
                None => {
                    *c = None;
                    Ok(None)
                }
            }
        }
    }
}

fn outbox_err(e: mailwright::inject::OutboxError) -> Failure {
    Failure::from(e)
}

fn json<T: serde::Serialize>(v: &T) -> std::result::Result<Json, Failure> {
    serde_json::to_value(v).map(Json).map_err(|e| Failure::new("outbox", e.to_string()))
}

/// A durable outbox folder: `add` returns once the message is on disk; `flush` sends what is due,
/// retrying transient failures with backoff and moving permanent ones to `failed/` with a
/// delivery-status report. Any number of processes may flush one outbox at once.
#[napi]
pub struct Outbox {
    path: String,
}

fn open_outbox(path: &str) -> std::result::Result<mailwright::inject::Outbox, Failure> {
    mailwright::inject::Outbox::open(path).map_err(outbox_err)
}

#[napi]
impl Outbox {
    /// The outbox at `path` (created when first used).
    #[napi(constructor)]
    pub fn new(path: String) -> Self {
        Outbox { path }
    }

    /// Queues a ready message; resolves to its id once it is synced to disk.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn add(&self, raw: Either<Buffer, String>) -> AsyncTask<Job<String, String>> {
        let path = self.path.clone();
        let raw = bytes_of(raw);
        Job::new(move || open_outbox(&path)?.add_message(&raw).map_err(outbox_err), same)
    }

    /// Every message with its state (`queued`, `sending`, `failed`, `corrupt`), attempts, next try.
    #[napi(ts_return_type = "Promise<any[]>")]
    pub fn status(&self) -> AsyncTask<Job<Json, Json>> {
        let path = self.path.clone();
        Job::new(move || json(&open_outbox(&path)?.status().map_err(outbox_err)?), same)
    }

    /// Sends what is due through one destination (the options of `send`); resolves to counts.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn flush(&self, options: SendOptions) -> AsyncTask<Job<Json, Json>> {
        let path = self.path.clone();
        Job::new(
            move || {
                let mut t = destination(options)?;
                let o = open_outbox(&path)?;
                json(&o.flush(t.as_mut()).map_err(outbox_err)?)
            },
            same,
        )
    }
}

/// Options of `imapSync`.
#[napi(object)]
pub struct ImapSyncOptions {
    /// `imaps://host[:port]` or `imap://host[:port]` (STARTTLS).
    pub url: String,
    /// The account.
    pub user: String,
    /// Its password.
    pub password: String,
    /// The Maildir to fill (INBOX → the Maildir, other folders → Maildir++ subfolders).
    pub maildir: String,
    /// Folders to sync (INBOX when empty).
    pub folders: Option<Vec<String>>,
    /// Extra CA certificate (PEM).
    pub ca_file: Option<String>,
    /// Do not verify certificates (tests only).
    pub insecure: Option<bool>,
    /// Allow IMAP without TLS.
    pub allow_plaintext: Option<bool>,
    /// AUTHENTICATE PLAIN instead of LOGIN.
    pub auth_plain: Option<bool>,
    /// Seconds for connecting and each response (60).
    pub timeout: Option<f64>,
}

/// Copies what is new in the IMAP folders into the Maildir (each message once, state kept
/// beside the Maildir); resolves to one report per folder.
#[napi(ts_return_type = "Promise<any[]>")]
pub fn imap_sync(options: ImapSyncOptions) -> AsyncTask<Job<Json, Json>> {
    use mailwright::fetch::{Fetcher, ImapAuth, ImapConfig};
    Job::new(
        move || {
            let fetch_err = Failure::from;
            let o = options;
            let mut c = ImapConfig::from_url(&o.url, &o.user, &o.password).map_err(fetch_err)?;
            c.ca_file = o.ca_file.map(PathBuf::from);
            c.insecure = o.insecure.unwrap_or(false);
            c.allow_plaintext = o.allow_plaintext.unwrap_or(false);
            c.auth = if o.auth_plain.unwrap_or(false) { ImapAuth::Plain } else { ImapAuth::Login };
            c.timeout = Duration::try_from_secs_f64(o.timeout.unwrap_or(60.0))
                .map_err(|_| Failure::usage("timeout must be a number of seconds"))?;
            let folders = o.folders.filter(|f| !f.is_empty()).unwrap_or_else(|| vec!["INBOX".into()]);
            let mut f = Fetcher::connect(c, std::path::Path::new(&o.maildir)).map_err(fetch_err)?;
            let mut out = Vec::new();
            for folder in &folders {
                out.push(f.sync_folder(folder, |_| {}).map_err(fetch_err)?);
            }
            f.logout();
            serde_json::to_value(&out).map(Json).map_err(|e| Failure::new("fetch", e.to_string()))
        },
        same,
    )
}
