//! Handing a message to a mail system.
//!
//! Every transport has one required method, [`Transport::send_raw`]: an [`Envelope`] (sender and
//! recipients, apart from the headers) and the message bytes. [`Transport::send`] derives the
//! envelope from the headers (From; To, Cc and Bcc) and takes the Bcc header out of the bytes, so
//! Bcc never appears in what is delivered. Every send returns a [`Receipt`] with a result per
//! recipient.
//!
//! | transport | delivers to | result per recipient |
//! |---|---|---|
//! | [`MaildirTransport`] | a local Maildir (`tmp/` → `new/`, fsync) | all accepted, or the error |
//! | [`MboxTransport`] | a local mbox file (locked append) | all accepted, or the error |
//! | [`SmtpTransport`] | a submission server (STARTTLS/TLS, AUTH) | the server's reply per RCPT |
//! | [`MxTransport`] | each recipient domain's MX hosts, with failover | the answering host's reply |
//! | [`SendmailTransport`] | `sendmail -i -f FROM -- RCPT…` | all accepted, or transient (exit 75) / permanent |
//!
//! [`Outbox`] sits in front of any of them: a durable queue on disk with retries.

#[cfg(feature = "smtp")]
mod destination;
mod local;
#[cfg(feature = "smtp")]
pub mod mx;
pub mod outbox;
mod sendmail;
#[cfg(feature = "smtp")]
pub mod smtp;

use std::borrow::Cow;

#[cfg(feature = "smtp")]
pub use destination::{Destination, DestinationError};
pub use local::{MaildirTransport, MboxTransport};
#[cfg(feature = "smtp")]
pub use mx::{MxConfig, MxError, MxTls, MxTransport};
pub use outbox::{Outbox, OutboxError, RetryPolicy};
pub use sendmail::SendmailTransport;
#[cfg(feature = "smtp")]
pub use smtp::{SmtpConfig, SmtpError, SmtpTransport};

use crate::parse::Message;

/// Why a message could not be handed over.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InjectError {
    /// No recipient in the envelope (or none in To, Cc, Bcc).
    #[error("the message has no recipients: give at least one To, Cc or Bcc address")]
    NoRecipients,
    /// A local store (Maildir, mbox) could not be written.
    #[error("cannot deliver: {0}")]
    Mailbox(#[from] crate::mailbox::MailboxError),
    /// The outbox could not queue the message.
    #[error("cannot queue: {0}")]
    Outbox(Box<OutboxError>),
    /// The sendmail program could not be run.
    #[error("cannot run {program}: {source}; install a sendmail (Postfix provides one) or choose another transport")]
    Spawn {
        /// The program.
        program: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The sendmail program refused the message.
    #[error("{program} exited with {code:?}: {stderr}")]
    Sendmail {
        /// The program.
        program: String,
        /// Its exit code.
        code: Option<i32>,
        /// What it printed on stderr (first line).
        stderr: String,
    },
    /// The message to send could not be read.
    #[error(transparent)]
    Parse(#[from] crate::parse::ParseError),
    /// A recipient or sender that would change the command line or protocol.
    #[error("{0:?} is not a usable envelope address")]
    BadAddress(String),
    /// SMTP submission failed.
    #[cfg(feature = "smtp")]
    #[error(transparent)]
    Smtp(#[from] SmtpError),
    /// Direct delivery to MX hosts failed.
    #[cfg(feature = "smtp")]
    #[error(transparent)]
    Mx(#[from] MxError),
}

impl InjectError {
    /// Whether trying again later may work (a full disk, a busy lock, sendmail's EX_TEMPFAIL).
    pub fn is_transient(&self) -> bool {
        match self {
            InjectError::Mailbox(e) => e.is_transient(),
            InjectError::Outbox(e) => e.is_transient(),
            InjectError::Sendmail { code, .. } => *code == Some(75),
            InjectError::Spawn { .. }
            | InjectError::NoRecipients
            | InjectError::BadAddress(_)
            | InjectError::Parse(_) => false,
            #[cfg(feature = "smtp")]
            InjectError::Smtp(e) => e.is_transient(),
            #[cfg(feature = "smtp")]
            InjectError::Mx(e) => e.is_transient(),
        }
    }

    /// Whether trying again cannot work without a change.
    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }

    /// The per-recipient results that came with the failure (all refused over SMTP, or every
    /// recipient an MX delivery could not place); empty for other failures.
    pub fn recipients(&self) -> &[RecipientResult] {
        match self {
            #[cfg(feature = "smtp")]
            InjectError::Smtp(SmtpError::AllRecipientsRefused { recipients }) => recipients,
            #[cfg(feature = "smtp")]
            InjectError::Mx(MxError::Undelivered { recipients }) => recipients,
            _ => &[],
        }
    }

    /// The SMTP reply code behind the failure: the server's, or the first recipient's for MX.
    pub fn smtp_code(&self) -> Option<u16> {
        match self {
            #[cfg(feature = "smtp")]
            InjectError::Smtp(e) => e.code(),
            _ => self.recipients().iter().find_map(|r| r.code),
        }
    }

    /// The enhanced status code (RFC 3463) behind the failure, when one was given.
    pub fn enhanced_code(&self) -> Option<&str> {
        match self {
            #[cfg(feature = "smtp")]
            InjectError::Smtp(e) => e.enhanced_code(),
            _ => self.recipients().iter().find_map(|r| r.enhanced_code.as_deref()),
        }
    }
}

/// Sender and recipients, apart from the headers. Never without a recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    from: String,
    to: Vec<String>,
}

impl Envelope {
    /// An envelope; an error without recipients or with an address that holds white space,
    /// control characters or angle brackets. A recipient listed twice (To and Cc, a repeated
    /// Reply-To) is kept once: addresses are the same when their local parts are equal and
    /// their domains equal without regard to case (see [`address_key`]).
    pub fn new(from: impl Into<String>, to: impl IntoIterator<Item = impl Into<String>>) -> Result<Self, InjectError> {
        let from = from.into();
        let to = dedup_addresses(to.into_iter().map(Into::into));
        if to.is_empty() {
            return Err(InjectError::NoRecipients);
        }
        for a in std::iter::once(&from).chain(&to) {
            if a.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>') || a.starts_with('-') {
                return Err(InjectError::BadAddress(a.clone()));
            }
        }
        Ok(Envelope { from, to })
    }

    /// The envelope of a parsed message: the first From address; every To, Cc and Bcc address.
    pub fn from_message(msg: &Message<'_>) -> Result<Self, InjectError> {
        let from = msg.from().iter().find_map(|a| a.address.clone()).unwrap_or_default();
        let to: Vec<String> =
            msg.to().iter().chain(msg.cc()).chain(msg.bcc()).filter_map(|a| a.address.clone()).collect();
        Envelope::new(from, to)
    }

    /// The reverse path (may be empty: the null sender).
    pub fn from(&self) -> &str {
        &self.from
    }

    /// The recipients.
    pub fn to(&self) -> &[String] {
        &self.to
    }
}

/// The form in which two addresses are compared: the local part as written (RFC 5321 §2.4 lets
/// the receiving host decide its case), the domain in lower case.
pub fn address_key(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_ascii_lowercase()),
        None => address.to_string(),
    }
}

/// `addresses` in order, each kept the first time its [`address_key`] is seen.
pub(crate) fn dedup_addresses(addresses: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    addresses.into_iter().filter(|a| seen.insert(address_key(a))).collect()
}

/// What happened to one recipient. In the outbox's `state.json` it is where the recipient
/// stands: `delivered`, `pending` (refused for now, or not tried yet) or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RecipientStatus {
    /// Accepted for delivery.
    #[serde(rename = "delivered")]
    Accepted,
    /// Refused for now; trying later may work.
    #[serde(rename = "pending")]
    Transient,
    /// Refused.
    #[serde(rename = "failed")]
    Permanent,
}

impl RecipientStatus {
    /// `accepted`, `transient` or `permanent`: the name the CLI and the bindings show.
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientStatus::Accepted => "accepted",
            RecipientStatus::Transient => "transient",
            RecipientStatus::Permanent => "permanent",
        }
    }

    /// `delivered`, `pending` or `failed`: where a queued recipient stands, as `state.json` and
    /// `mailwright queue` say it.
    pub fn queue_state(self) -> &'static str {
        match self {
            RecipientStatus::Accepted => "delivered",
            RecipientStatus::Transient => "pending",
            RecipientStatus::Permanent => "failed",
        }
    }
}

/// One recipient's result: what a transport answered and, in the outbox, the last answer a
/// queued recipient got (its `state.json` form).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecipientResult {
    /// The address.
    pub address: String,
    /// Accepted or refused (`state` in the outbox's files).
    #[serde(rename = "state")]
    pub status: RecipientStatus,
    /// The server's reply code, for network transports.
    pub code: Option<u16>,
    /// The enhanced status code (RFC 3463), when given.
    pub enhanced_code: Option<String>,
    /// The server's or the program's text.
    pub text: String,
    /// The server that gave this result (`address:port`), for network transports.
    pub host: Option<String>,
    /// When the answer came (seconds since the Unix epoch); `None` for a queued recipient not
    /// tried yet.
    #[serde(default)]
    pub at: Option<f64>,
}

impl RecipientResult {
    /// `address`'s result with `status` and `text`, answered now; no code or host yet.
    pub fn new(address: impl Into<String>, status: RecipientStatus, text: impl Into<String>) -> Self {
        let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs_f64());
        RecipientResult {
            address: address.into(),
            status,
            code: None,
            enhanced_code: None,
            text: text.into(),
            host: None,
            at,
        }
    }
}

/// The TLS a network send used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.3` or `TLSv1.2`.
    pub version: String,
    /// Whether the server's certificate was verified (false only with the insecure option).
    pub verified: bool,
}

/// What a send did.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// Which transport (`maildir`, `mbox`, `sendmail`, `smtp`).
    pub transport: &'static str,
    /// Where it went: a path, a program, or host and address.
    pub destination: String,
    /// The identifier the destination gave the message (a Maildir file name, an mbox offset,
    /// an SMTP queue id).
    pub queue_id: Option<String>,
    /// Per recipient.
    pub recipients: Vec<RecipientResult>,
    /// The address that answered, for network transports.
    pub peer: Option<String>,
    /// The TLS used, for network transports; `None` for plaintext or local delivery.
    pub tls: Option<TlsInfo>,
}

impl Receipt {
    fn all_accepted(transport: &'static str, destination: String, queue_id: Option<String>, env: &Envelope) -> Self {
        let recipients =
            env.to.iter().map(|a| RecipientResult::new(a.clone(), RecipientStatus::Accepted, "")).collect();
        Receipt { transport, destination, queue_id, recipients, peer: None, tls: None }
    }
}

/// A way to hand over a message. See the [module docs](self).
pub trait Transport {
    /// Delivers `raw` to the envelope's recipients.
    fn send_raw(&mut self, envelope: &Envelope, raw: &[u8]) -> Result<Receipt, InjectError>;

    /// Delivers several messages: one result per message, in order. A transport that can share
    /// round trips between messages (SMTP pipelining on one connection) overrides it; the
    /// default sends one after another.
    fn send_many(&mut self, items: &[(Envelope, &[u8])]) -> Vec<Result<Receipt, InjectError>> {
        items.iter().map(|(envelope, raw)| self.send_raw(envelope, raw)).collect()
    }

    /// Delivers a ready message: the envelope comes from its From, To, Cc and Bcc headers, and
    /// the Bcc header is taken out of the bytes delivered.
    fn send(&mut self, raw: &[u8]) -> Result<Receipt, InjectError> {
        let msg = Message::parse(raw)?;
        let envelope = Envelope::from_message(&msg)?;
        let bytes = without_bcc(&msg);
        self.send_raw(&envelope, &bytes)
    }
}

/// The message without its Bcc header fields (top level only).
pub fn without_bcc<'m>(msg: &Message<'m>) -> Cow<'m, [u8]> {
    let raw = msg.raw();
    let Some(root) = msg.parts().first() else { return Cow::Borrowed(raw) };
    let bcc: Vec<&crate::parse::RawHeader<'_>> =
        root.headers().iter().filter(|h| h.name().eq_ignore_ascii_case("bcc")).collect();
    if bcc.is_empty() {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    for h in bcc {
        let start = h.name_offset_in(raw);
        let end = h.value_end_in(raw);
        if let (Some(start), Some(end)) = (start, end)
            && start >= at
        {
            out.extend_from_slice(&raw[at..start]);
            at = end;
        }
    }
    out.extend_from_slice(&raw[at..]);
    Cow::Owned(out)
}
