//! SMTP submission (RFC 6409): STARTTLS (required by default) or implicit TLS, certificate
//! verification by rustls, AUTH PLAIN or LOGIN only over TLS unless allowed, PIPELINING when
//! offered, SIZE/8BITMIME/SMTPUTF8 honoured, DATA normalised and dot-stuffed and sent with its
//! end marker in one write on a TCP_NODELAY socket, one connection reused for many messages, and
//! a result per recipient.
//!
//! [`SmtpTransport`] is the blocking face (it owns a small tokio runtime; do not call it from
//! inside another tokio runtime). Errors are [`SmtpError`]s: [`SmtpError::is_transient`] tells a
//! bot to retry later, [`SmtpError::is_permanent`] to bounce.

mod data;
pub mod reply;
pub(crate) mod session;

use std::path::PathBuf;
use std::time::Duration;

pub use reply::Reply;

pub use super::TlsInfo;
use super::{Envelope, InjectError, Receipt, Transport};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// STARTTLS after EHLO (submission, port 587); refused if the server does not offer it.
    StartTls,
    /// TLS from the first byte (submissions, port 465).
    Implicit,
    /// STARTTLS when offered, plaintext otherwise: only with `allow_plaintext`.
    Opportunistic,
}

/// Where and how to submit. Its `Debug` never shows the password.
#[derive(Clone)]
pub struct SmtpConfig {
    /// Server host name or IP address (also the name checked in its certificate).
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS mode.
    pub security: Security,
    /// User name and password for AUTH.
    pub credentials: Option<(String, String)>,
    /// AUTH with an OAuth2 bearer token (XOAUTH2 or OAUTHBEARER) instead of a password.
    pub oauth2: Option<crate::oauth2::OAuth2>,
    /// Permit a connection without TLS (and credentials over it).
    pub allow_plaintext: bool,
    /// An extra CA certificate file (PEM) to trust.
    pub ca_file: Option<PathBuf>,
    /// Skip certificate verification (reported in every receipt).
    pub insecure: bool,
    /// The name sent in EHLO.
    pub helo_name: String,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for each reply (the final reply after DATA gets ten times this).
    pub reply_timeout: Duration,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("credentials", &crate::secret::Redacted(&self.credentials))
            .field("oauth2", &self.oauth2)
            .field("allow_plaintext", &self.allow_plaintext)
            .field("ca_file", &self.ca_file)
            .field("insecure", &self.insecure)
            .field("helo_name", &self.helo_name)
            .field("connect_timeout", &self.connect_timeout)
            .field("reply_timeout", &self.reply_timeout)
            .finish()
    }
}

impl SmtpConfig {
    /// From `smtp://HOST[:PORT]` (STARTTLS, 587) or `smtps://HOST[:PORT]` (implicit TLS, 465).
    pub fn from_url(url: &str) -> Result<Self, SmtpError> {
        let bad = || SmtpError::Config(format!("{url:?} is not smtp://HOST[:PORT] or smtps://HOST[:PORT]"));
        let (scheme, host, port) = crate::server::server_url(url).ok_or_else(bad)?;
        let (security, default_port) = match scheme.as_str() {
            "smtp" => (Security::StartTls, 587),
            "smtps" => (Security::Implicit, 465),
            _ => return Err(bad()),
        };
        Ok(SmtpConfig {
            host,
            port: port.unwrap_or(default_port),
            security,
            credentials: None,
            oauth2: None,
            allow_plaintext: false,
            ca_file: None,
            insecure: false,
            helo_name: "localhost".into(),
            connect_timeout: Duration::from_secs(15),
            reply_timeout: Duration::from_secs(60),
        })
    }
}

/// What went wrong talking to an SMTP server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmtpError {
    /// The configuration is unusable.
    #[error("{0}")]
    Config(String),
    /// No connection could be made.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// Host and port.
        addr: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The server took too long.
    #[error("timed out waiting for the server ({stage}); it may be overloaded: retry later")]
    Timeout {
        /// What we were waiting for.
        stage: &'static str,
    },
    /// The connection broke.
    #[error("connection lost ({stage}): {source}")]
    Io {
        /// What we were doing.
        stage: &'static str,
        /// What the system said.
        source: std::io::Error,
    },
    /// TLS could not be set up or the certificate did not verify.
    #[error("TLS with {host} failed: {detail}; trust its CA with --ca-file, or (only for tests) --insecure")]
    Tls {
        /// The server.
        host: String,
        /// What rustls said.
        detail: String,
    },
    /// The server does not offer STARTTLS and plaintext was not allowed.
    #[error(
        "{host} does not offer STARTTLS; refusing to send in plaintext (allow it explicitly with --allow-plaintext)"
    )]
    NoStartTls {
        /// The server.
        host: String,
    },
    /// Credentials would go over an unencrypted connection.
    #[error("refusing to send credentials over an unencrypted connection (use TLS, or --allow-plaintext)")]
    PlaintextCredentials,
    /// The server offers no AUTH mechanism we speak.
    #[error(
        "the server offers no AUTH mechanism mailwright speaks (PLAIN, LOGIN; XOAUTH2, OAUTHBEARER with a token): it offered {offered:?}"
    )]
    NoAuthMechanism {
        /// What it offered.
        offered: Vec<String>,
    },
    /// No OAuth2 token.
    #[error(transparent)]
    Token(#[from] crate::oauth2::OAuth2Error),
    /// Authentication was refused.
    #[error("authentication failed: {} {}", reply.code, reply.text())]
    Auth {
        /// The server's reply.
        reply: Reply,
    },
    /// The server refused a command.
    #[error("{stage} refused: {} {}", reply.code, reply.text())]
    Rejected {
        /// The command.
        stage: &'static str,
        /// The server's reply.
        reply: Reply,
    },
    /// Every recipient was refused.
    #[error("every recipient was refused")]
    AllRecipientsRefused {
        /// The per-recipient results.
        recipients: Vec<super::RecipientResult>,
    },
    /// The message needs an extension the server lacks.
    #[error("the server lacks {extension}, which this message needs ({why})")]
    MissingExtension {
        /// The extension.
        extension: &'static str,
        /// Why it is needed.
        why: &'static str,
    },
    /// The message is bigger than the server's SIZE.
    #[error("message of {size} bytes is over the server's limit of {max} bytes")]
    TooBig {
        /// Message size.
        size: usize,
        /// The server's SIZE.
        max: u64,
    },
    /// The server broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The connection failed after the whole message, final `.` included, was written and
    /// before the server answered: it may have been accepted. Transient, and never resent
    /// within the same call (an outbox sends it again later: at least once, perhaps twice).
    #[error(
        "the server's answer to the message was lost ({detail}); it may have been delivered, so it was not sent again now: retry later"
    )]
    OutcomeUnknown {
        /// What broke.
        detail: String,
    },
}

impl SmtpError {
    /// Retrying later may work: connection trouble, timeouts, 4xx replies.
    pub fn is_transient(&self) -> bool {
        match self {
            SmtpError::Connect { .. }
            | SmtpError::Timeout { .. }
            | SmtpError::Io { .. }
            | SmtpError::OutcomeUnknown { .. } => true,
            SmtpError::Auth { reply } | SmtpError::Rejected { reply, .. } => reply.is_transient(),
            SmtpError::Token(e) => e.is_transient(),
            SmtpError::AllRecipientsRefused { recipients } => {
                recipients.iter().all(|r| r.status == super::RecipientStatus::Transient)
            }
            _ => false,
        }
    }

    /// Retrying cannot work without a change.
    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }

    /// The server's reply code, when the error is a reply.
    pub fn code(&self) -> Option<u16> {
        match self {
            SmtpError::Auth { reply } | SmtpError::Rejected { reply, .. } => Some(reply.code),
            _ => None,
        }
    }

    /// The enhanced status code, when the server gave one.
    pub fn enhanced_code(&self) -> Option<&str> {
        match self {
            SmtpError::Auth { reply } | SmtpError::Rejected { reply, .. } => reply.enhanced.as_deref(),
            _ => None,
        }
    }
}

/// SMTP submission as a blocking [`Transport`]; the connection is kept for the next message.
pub struct SmtpTransport {
    config: SmtpConfig,
    runtime: tokio::runtime::Runtime,
    session: Option<session::Session>,
}

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTransport").field("host", &self.config.host).field("port", &self.config.port).finish()
    }
}

impl SmtpTransport {
    /// A transport for `config` (no connection is made until the first send).
    pub fn new(config: SmtpConfig) -> Result<Self, SmtpError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| SmtpError::Config(format!("cannot start the I/O runtime: {e}")))?;
        Ok(SmtpTransport { config, runtime, session: None })
    }

    /// `smtp://…` or `smtps://…` with default settings; see [`SmtpConfig::from_url`].
    pub fn submission(url: &str) -> Result<Self, SmtpError> {
        Self::new(SmtpConfig::from_url(url)?)
    }

    /// The configuration, to change before the first send.
    pub fn config_mut(&mut self) -> &mut SmtpConfig {
        &mut self.config
    }

    /// Sends, reconnecting once if a kept connection turned out to be closed before the message
    /// was written (never after: see [`SmtpError::OutcomeUnknown`]).
    pub fn send_smtp(&mut self, envelope: &Envelope, raw: &[u8]) -> Result<Receipt, SmtpError> {
        let reused = self.session.is_some();
        match self.try_send(envelope, raw) {
            Err(SmtpError::Io { .. } | SmtpError::Protocol(_)) if reused => {
                self.session = None;
                self.try_send(envelope, raw)
            }
            other => other,
        }
    }

    fn try_send(&mut self, envelope: &Envelope, raw: &[u8]) -> Result<Receipt, SmtpError> {
        let config = &self.config;
        let session = &mut self.session;
        let result = self.runtime.block_on(async {
            if session.is_none() {
                *session = Some(session::Session::connect(config).await?);
            }
            match session.as_mut() {
                Some(s) => s.send(envelope, raw).await,
                None => Err(SmtpError::Protocol("no session".into())),
            }
        });
        if matches!(
            result,
            Err(SmtpError::Io { .. }
                | SmtpError::Timeout { .. }
                | SmtpError::Protocol(_)
                | SmtpError::OutcomeUnknown { .. })
        ) {
            self.session = None;
        }
        result
    }

    /// Sends several messages on one connection, pipelined across messages when the server
    /// offers PIPELINING (one round trip per message); one result per message, in order.
    pub fn send_batch(&mut self, items: &[(Envelope, &[u8])]) -> Vec<Result<Receipt, SmtpError>> {
        let config = &self.config;
        let session = &mut self.session;
        let results = self.runtime.block_on(async {
            if session.is_none() {
                match session::Session::connect(config).await {
                    Ok(s) => *session = Some(s),
                    Err(e) => return Err(e),
                }
            }
            match session.as_mut() {
                Some(s) => Ok(s.send_batch(items).await),
                None => Err(SmtpError::Protocol("no session".into())),
            }
        });
        match results {
            Ok(r) => {
                if r.iter().any(|x| {
                    matches!(
                        x,
                        Err(SmtpError::Io { .. }
                            | SmtpError::Timeout { .. }
                            | SmtpError::Protocol(_)
                            | SmtpError::OutcomeUnknown { .. })
                    )
                }) {
                    self.session = None;
                }
                r
            }
            Err(e) => {
                let mut v = vec![Err(e)];
                while v.len() < items.len() {
                    v.push(Err(SmtpError::Io { stage: "connect", source: std::io::Error::other("no connection") }));
                }
                v.truncate(items.len());
                v
            }
        }
    }

    /// Says QUIT and closes the connection, if one is open.
    pub fn close(&mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = self.runtime.block_on(s.quit());
        }
    }
}

impl Drop for SmtpTransport {
    fn drop(&mut self) {
        self.close();
    }
}

impl Transport for SmtpTransport {
    fn send_raw(&mut self, envelope: &Envelope, raw: &[u8]) -> Result<Receipt, InjectError> {
        self.send_smtp(envelope, raw).map_err(InjectError::Smtp)
    }

    /// Pipelined across messages ([`SmtpTransport::send_batch`]); a message the connection broke
    /// before its data is sent again on a fresh one, one whose outcome is unknown is not.
    fn send_many(&mut self, items: &[(Envelope, &[u8])]) -> Vec<Result<Receipt, InjectError>> {
        let results = self.send_batch(items);
        results
            .into_iter()
            .zip(items)
            .map(|(r, (envelope, raw))| match r {
                Err(SmtpError::Io { .. } | SmtpError::Timeout { .. } | SmtpError::Protocol(_)) => {
                    self.send_smtp(envelope, raw)
                }
                other => other,
            })
            .map(|r| r.map_err(InjectError::Smtp))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c = SmtpConfig::from_url("smtp://mail.example.org").expect("url");
        assert_eq!((c.host.as_str(), c.port, c.security), ("mail.example.org", 587, Security::StartTls));
        let c = SmtpConfig::from_url("smtps://127.0.0.1:10465").expect("url");
        assert_eq!((c.host.as_str(), c.port, c.security), ("127.0.0.1", 10465, Security::Implicit));
        let c = SmtpConfig::from_url("smtp://[::1]:2525").expect("url");
        assert_eq!((c.host.as_str(), c.port), ("::1", 2525));
        for bad in ["http://x", "smtp://", "smtp://u@x", "smtp://x:notaport", "x"] {
            assert!(SmtpConfig::from_url(bad).is_err(), "{bad}");
        }
    }
}
