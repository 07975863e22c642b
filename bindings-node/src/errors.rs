//! Every core error becomes a JavaScript `Error` with `code` and `kind` (and, for delivery,
//! `smtpCode`, `enhancedCode`, `transient`, `recipients`), here and only here; a failed job's error
//! is made by [`Failure::into_js`] back on the JS thread.

use napi::Env;
use napi::bindgen_prelude::*;

use mailwright::inject::{InjectError, RecipientResult};
use mailwright::mailbox::MailboxError;

use crate::inject::Recipient;

/// A failure of the core, with what JavaScript needs to throw it.
#[derive(Debug)]
pub(crate) struct Failure {
    /// `parse`, `build`, `dissect`, `io`, `smtp`, `mx`, `delivery`, `outbox`, `fetch`, `bot`, `usage`, `busy`.
    kind: &'static str,
    /// `EMAILWRIGHT_…`, or the errno name (`ENOENT`…) for I/O.
    code: String,
    pub(crate) message: String,
    transient: Option<bool>,
    delivery: Option<Box<Delivery>>,
}

#[derive(Debug)]
struct Delivery {
    smtp_code: Option<u16>,
    enhanced_code: Option<String>,
    recipients: Vec<RecipientResult>,
}

impl Failure {
    /// A failure of `kind` with code `EMAILWRIGHT_<KIND>`.
    pub(crate) fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Failure {
            kind,
            code: format!("EMAILWRIGHT_{}", kind.to_uppercase()),
            message: message.into(),
            transient: None,
            delivery: None,
        }
    }

    /// Marks the failure as worth retrying later (or not).
    pub(crate) fn with_transient(mut self, transient: bool) -> Self {
        self.transient = Some(transient);
        self
    }

    /// A usage error (bad option).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Failure::new("usage", message)
    }

    /// An I/O error about `context` (a path…), coded with the errno name as Node does.
    pub(crate) fn io(e: &std::io::Error, context: impl std::fmt::Display) -> Self {
        let message = format!("{context}: {e}");
        Failure { kind: "io", code: errno_name(e).into(), message, transient: None, delivery: None }
    }

    /// A delivery failure, with the SMTP details.
    pub(crate) fn inject(e: InjectError) -> Self {
        let kind = match &e {
            InjectError::Smtp(_) => "smtp",
            InjectError::Mx(_) => "mx",
            InjectError::NoRecipients | InjectError::BadAddress(_) | InjectError::Parse(_) => {
                return Failure::new("build", e.to_string());
            }
            _ => "delivery",
        };
        let transient = e.is_transient();
        let code = format!("EMAILWRIGHT_{}_{}", kind.to_uppercase(), if transient { "TRANSIENT" } else { "PERMANENT" });
        let delivery = Delivery {
            smtp_code: e.smtp_code(),
            enhanced_code: e.enhanced_code().map(str::to_string),
            recipients: e.recipients().to_vec(),
        };
        Failure { kind, code, message: e.to_string(), transient: Some(transient), delivery: Some(Box::new(delivery)) }
    }

    /// A Maildir or mbox failure: kind `io`, coded with the errno name (`EAGAIN` for a lock
    /// another program holds, `ENOENT` for a folder that is not a Maildir).
    fn mailbox(e: &MailboxError) -> Self {
        let code = match e {
            MailboxError::Io { source, .. } => errno_name(source),
            MailboxError::Locked { .. } => "EAGAIN",
            MailboxError::NotMaildir(_) => "ENOENT",
            _ => "EINVAL",
        };
        let message = e.to_string();
        Failure { kind: "io", code: code.into(), message, transient: Some(e.is_transient()), delivery: None }
    }

    /// The failure for any core error: the one place that picks kind and code.
    fn core(e: mailwright::Error) -> Self {
        use mailwright::Error as E;
        use mailwright::bot::BotError;
        use mailwright::inject::OutboxError;
        use mailwright::migrate::MigrateError;
        let transient = e.is_transient();
        match e {
            E::Parse(e) => Failure::new("parse", e.to_string()),
            E::Build(e) => Failure::new("build", e.to_string()),
            E::Dissect(e) => Failure::new("dissect", e.to_string()),
            E::Destination(e) => Failure::usage(e.to_string()),
            E::Inject(e) => Failure::inject(e),
            E::Outbox(OutboxError::Inject(e)) => Failure::inject(e),
            E::Outbox(e) => Failure::new("outbox", e.to_string()).with_transient(transient),
            E::Mailbox(e) => Failure::mailbox(&e),
            E::Fetch(e) => Failure::new("fetch", e.to_string()).with_transient(transient),
            E::Migrate(e @ (MigrateError::Users { .. } | MigrateError::Config(_))) => Failure::usage(e.to_string()),
            E::Migrate(MigrateError::Imap(e)) => Failure::new("fetch", e.to_string()).with_transient(transient),
            E::Migrate(e) => Failure::new("migrate", e.to_string()).with_transient(transient),
            E::Bot(BotError::Mailbox(e)) => Failure::mailbox(&e),
            E::Bot(BotError::Fetch(e)) => Failure::new("fetch", e.to_string()).with_transient(transient),
            E::Bot(e) => Failure::new("bot", e.to_string()).with_transient(transient),
            E::Auth(e) => Failure::new("auth", e.to_string()),
            E::Audit(e @ mailwright::audit::AuditError::Config(_)) => Failure::usage(e.to_string()),
            E::Audit(e) => Failure::new("audit", e.to_string()).with_transient(transient),
            e => Failure::new("error", e.to_string()),
        }
    }

    /// The JavaScript `Error` (made on the JS thread), as a `napi::Error` that throws it as is.
    pub(crate) fn into_js(self, env: &Env) -> Error {
        let made = (|| -> Result<Error> {
            let mut obj = env.create_error(Error::new(Status::GenericFailure, self.message.clone()))?;
            obj.set_named_property("code", self.code.as_str())?;
            obj.set_named_property("kind", self.kind)?;
            if let Some(t) = self.transient {
                obj.set_named_property("transient", t)?;
            }
            if let Some(d) = self.delivery {
                obj.set_named_property("smtpCode", d.smtp_code.map(u32::from))?;
                obj.set_named_property("enhancedCode", d.enhanced_code)?;
                let rs: Vec<Recipient> = d.recipients.iter().map(Recipient::from).collect();
                obj.set_named_property("recipients", rs)?;
            }
            Ok(Error::from(obj.to_unknown()))
        })();
        made.unwrap_or_else(|e| e)
    }
}

/// The errno name Node gives an I/O error (`ENOENT`…).
fn errno_name(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind;
    match e.raw_os_error() {
        Some(2) => "ENOENT",
        Some(13) => "EACCES",
        Some(17) => "EEXIST",
        Some(20) => "ENOTDIR",
        Some(21) => "EISDIR",
        Some(28) => "ENOSPC",
        Some(1) => "EPERM",
        _ => match e.kind() {
            ErrorKind::NotFound => "ENOENT",
            ErrorKind::PermissionDenied => "EACCES",
            ErrorKind::AlreadyExists => "EEXIST",
            ErrorKind::InvalidData | ErrorKind::InvalidInput => "EINVAL",
            _ => "EIO",
        },
    }
}

impl<E: Into<mailwright::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::core(e.into())
    }
}

/// Throws `f` from a synchronous call.
pub(crate) fn throw<T>(env: &Env, f: Failure) -> Result<T> {
    Err(f.into_js(env))
}
