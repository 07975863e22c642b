//! One place that turns "where to deliver" options into a [`Transport`]: the CLI, the bot and
//! the bindings all describe a destination this way.

use std::path::PathBuf;
use std::time::Duration;

use super::mx::{MxConfig, MxTls, MxTransport};
use super::{MaildirTransport, MboxTransport, SendmailTransport, SmtpConfig, SmtpTransport, Transport};

/// Why a [`Destination`] gives no transport.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// The options are wrong: fix them.
    #[error("{0}")]
    Usage(String),
    /// The transport could not be set up (the I/O runtime, the system's resolver configuration).
    #[error("{0}")]
    Setup(String),
}

/// Where to deliver: exactly one of `smtp`, `mx`, `maildir`, `mbox`, `sendmail`, with the
/// options that go with it. Its `Debug` never shows the password.
#[derive(Clone)]
pub struct Destination {
    /// `smtp://HOST[:PORT]` or `smtps://HOST[:PORT]`.
    pub smtp: Option<String>,
    /// Directly to the recipients' MX hosts.
    pub mx: bool,
    /// A Maildir.
    pub maildir: Option<PathBuf>,
    /// An mbox file.
    pub mbox: Option<PathBuf>,
    /// A sendmail program.
    pub sendmail: Option<String>,
    /// SMTP AUTH user and password.
    pub credentials: Option<(String, String)>,
    /// SMTP AUTH with an OAuth2 bearer token instead (submission only).
    #[cfg(feature = "smtp")]
    pub oauth2: Option<crate::oauth2::OAuth2>,
    /// An extra CA (PEM).
    pub ca_file: Option<PathBuf>,
    /// Skip certificate checks (submission only).
    pub insecure: bool,
    /// Permit plaintext submission.
    pub allow_plaintext: bool,
    /// Name servers for `mx`, `IP[:PORT]` (empty: the system's).
    pub resolvers: Vec<String>,
    /// The SMTP port on MX hosts.
    pub smtp_port: u16,
    /// With `mx`: STARTTLS required with a certificate valid for the MX name.
    pub require_tls: bool,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed per reply.
    pub reply_timeout: Duration,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("smtp", &self.smtp)
            .field("mx", &self.mx)
            .field("maildir", &self.maildir)
            .field("mbox", &self.mbox)
            .field("sendmail", &self.sendmail)
            .field("credentials", &crate::secret::Redacted(&self.credentials))
            .field("ca_file", &self.ca_file)
            .field("insecure", &self.insecure)
            .field("allow_plaintext", &self.allow_plaintext)
            .field("resolvers", &self.resolvers)
            .field("smtp_port", &self.smtp_port)
            .field("require_tls", &self.require_tls)
            .field("connect_timeout", &self.connect_timeout)
            .field("reply_timeout", &self.reply_timeout)
            .finish()
    }
}

impl Default for Destination {
    fn default() -> Self {
        Destination {
            smtp: None,
            mx: false,
            maildir: None,
            mbox: None,
            sendmail: None,
            credentials: None,
            #[cfg(feature = "smtp")]
            oauth2: None,
            ca_file: None,
            insecure: false,
            allow_plaintext: false,
            resolvers: Vec::new(),
            smtp_port: 25,
            require_tls: false,
            connect_timeout: Duration::from_secs(30),
            reply_timeout: Duration::from_secs(120),
        }
    }
}

impl Destination {
    /// The transport; an error (for the user to fix) when not exactly one destination is given
    /// or an option is unusable.
    pub fn transport(&self) -> Result<Box<dyn Transport + Send>, DestinationError> {
        use DestinationError::{Setup, Usage};
        let given =
            [self.smtp.is_some(), self.mx, self.maildir.is_some(), self.mbox.is_some(), self.sendmail.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(Usage("give exactly one destination: smtp, mx, maildir, mbox or sendmail".into()));
        }
        if !self.mx && (!self.resolvers.is_empty() || self.require_tls) {
            return Err(Usage("resolvers and required TLS go with mx".into()));
        }
        if let Some(url) = &self.smtp {
            let mut c = SmtpConfig::from_url(url).map_err(|e| Usage(e.to_string()))?;
            c.ca_file = self.ca_file.clone();
            c.insecure = self.insecure;
            c.allow_plaintext = self.allow_plaintext;
            c.connect_timeout = self.connect_timeout;
            c.reply_timeout = self.reply_timeout;
            c.credentials = self.credentials.clone();
            c.oauth2 = self.oauth2.clone();
            return Ok(Box::new(SmtpTransport::new(c).map_err(|e| Setup(e.to_string()))?));
        }
        if self.mx {
            let resolvers = self
                .resolvers
                .iter()
                .map(|r| super::mx::parse_resolver(r))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Usage(e.to_string()))?;
            let config = MxConfig {
                resolvers,
                port: self.smtp_port,
                tls: if self.require_tls { MxTls::Required } else { MxTls::Opportunistic },
                ca_file: self.ca_file.clone(),
                connect_timeout: self.connect_timeout,
                reply_timeout: self.reply_timeout,
                ..MxConfig::default()
            };
            return Ok(Box::new(MxTransport::new(config).map_err(|e| Setup(e.to_string()))?));
        }
        if let Some(d) = &self.maildir {
            return Ok(Box::new(MaildirTransport::new(d)));
        }
        if let Some(f) = &self.mbox {
            return Ok(Box::new(MboxTransport::new(f)));
        }
        Ok(Box::new(SendmailTransport::with_program(self.sendmail.clone().unwrap_or_default())))
    }
}
