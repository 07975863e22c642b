//! Sending: `send` to one destination, a `Transport` kept open, and the durable `Outbox`. The
//! work runs off the JavaScript thread and returns a Promise.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::Env;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use mailwright::inject::{Receipt as CoreReceipt, RecipientResult, Transport as CoreTransport};

use crate::errors::Failure;
use crate::tasks::{Job, Json, bytes_of, same};

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
        oauth2: None,
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
