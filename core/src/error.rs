//! The top-level error: one variant per module, each saying what failed and what to do.

#[cfg(feature = "smtp")]
use crate::auth::AuthError;
use crate::bot::{BotError, RulesError};
use crate::build::BuildError;
use crate::dissect::DissectError;
#[cfg(feature = "smtp")]
use crate::fetch::FetchError;
#[cfg(feature = "smtp")]
use crate::inject::DestinationError;
use crate::inject::{InjectError, OutboxError};
#[cfg(feature = "smtp")]
use crate::inject::{MxError, SmtpError};
use crate::mailbox::MailboxError;
use crate::parse::ParseError;

/// Any mailwright error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A message could not be parsed at all.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A dissection could not write its output.
    #[error(transparent)]
    Dissect(#[from] DissectError),
    /// A message could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A message could not be handed over (SMTP and MX failures are in here).
    #[error(transparent)]
    Inject(#[from] InjectError),
    /// The delivery options name no usable transport.
    #[cfg(feature = "smtp")]
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// The outbox could not be used.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// A Maildir or mbox could not be used.
    #[error(transparent)]
    Mailbox(#[from] MailboxError),
    /// IMAP sync failed.
    #[cfg(feature = "smtp")]
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A migration could not run (a mailbox's own failure is in its report).
    #[cfg(feature = "smtp")]
    #[error(transparent)]
    Migrate(#[from] crate::migrate::MigrateError),
    /// A domain audit could not run (its findings are data, not errors).
    #[cfg(feature = "smtp")]
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// The bot could not run (a failing action only quarantines its message).
    #[error(transparent)]
    Bot(#[from] BotError),
    /// Sender authentication could not run (its verdicts are data, not errors).
    #[cfg(feature = "smtp")]
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl Error {
    /// Whether trying again later may work: a server that did not answer, a lock another
    /// process holds, a full disk.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Inject(e) => e.is_transient(),
            Error::Outbox(e) => e.is_transient(),
            Error::Mailbox(e) => e.is_transient(),
            #[cfg(feature = "smtp")]
            Error::Fetch(e) => e.is_transient(),
            #[cfg(feature = "smtp")]
            Error::Migrate(e) => e.is_transient(),
            #[cfg(feature = "smtp")]
            Error::Audit(e) => matches!(e, crate::audit::AuditError::Dns(_)),
            Error::Bot(e) => e.is_transient(),
            Error::Parse(_) | Error::Dissect(_) | Error::Build(_) => false,
            #[cfg(feature = "smtp")]
            Error::Destination(_) | Error::Auth(_) => false,
        }
    }
}

#[cfg(feature = "smtp")]
impl From<SmtpError> for Error {
    fn from(e: SmtpError) -> Self {
        Error::Inject(e.into())
    }
}

#[cfg(feature = "smtp")]
impl From<MxError> for Error {
    fn from(e: MxError) -> Self {
        Error::Inject(e.into())
    }
}

impl From<RulesError> for Error {
    fn from(e: RulesError) -> Self {
        Error::Bot(e.into())
    }
}

/// Whether a failed file operation may work later (a full disk, a busy device), as every
/// module's `is_transient` answers it: not when the path is missing, forbidden or read-only, or
/// the request itself was refused.
pub(crate) fn io_is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{InvalidInput, NotFound, PermissionDenied, ReadOnlyFilesystem};
    !matches!(e.kind(), NotFound | PermissionDenied | ReadOnlyFilesystem | InvalidInput)
}

/// `Result` with mailwright's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
