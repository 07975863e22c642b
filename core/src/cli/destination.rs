//! Where `send` and `queue flush` deliver: the server options of DESIGN §4, shared.

use std::path::PathBuf;
use std::time::Duration;

use super::CliError;
use crate::inject::Transport;

/// One destination: a submission server, the recipients' MX hosts, or a local store.
#[derive(clap::Args, Debug)]
pub(crate) struct Destination {
    /// Submit to this server: smtp://HOST[:PORT] (STARTTLS, required; port 587) or
    /// smtps://HOST[:PORT] (implicit TLS; port 465).
    #[arg(long)]
    smtp: Option<String>,
    /// Deliver directly to each recipient domain's MX hosts, with failover between them.
    #[arg(long)]
    mx: bool,
    /// DNS server for --mx, IP or IP:PORT (repeatable; default: the system's).
    #[arg(long = "resolver", value_name = "IP[:PORT]")]
    resolvers: Vec<String>,
    /// SMTP port on MX hosts [default: 25].
    #[arg(long = "smtp-port", value_name = "N")]
    smtp_port: Option<u16>,
    /// With --mx: insist on STARTTLS with a certificate valid for the MX host's name (default:
    /// STARTTLS when offered, certificate not checked, as MTAs do).
    #[arg(long = "require-tls")]
    require_tls: bool,
    /// Seconds allowed to connect to one server address.
    #[arg(long = "connect-timeout", value_name = "SECS", default_value_t = 30.0)]
    connect_timeout: f64,
    /// Seconds allowed for each server reply.
    #[arg(long = "reply-timeout", value_name = "SECS", default_value_t = 120.0)]
    reply_timeout: f64,
    /// User name for SMTP AUTH; the password comes from MAILWRIGHT_PASSWORD or --password-file,
    /// never from the command line.
    #[arg(long)]
    user: Option<String>,
    /// File whose first line is the SMTP password.
    #[arg(long = "password-file")]
    password_file: Option<PathBuf>,
    #[command(flatten)]
    oauth2: super::secret::OAuth2Args,
    /// Also trust this CA certificate (PEM).
    #[arg(long = "ca-file")]
    ca_file: Option<PathBuf>,
    /// Do not verify the server's certificate (for tests only; every receipt says so).
    #[arg(long)]
    insecure: bool,
    /// Permit a server without TLS (and credentials over it).
    #[arg(long = "allow-plaintext")]
    allow_plaintext: bool,
    /// Deliver into this Maildir (created when missing).
    #[arg(long)]
    maildir: Option<PathBuf>,
    /// Append to this mbox file.
    #[arg(long)]
    mbox: Option<PathBuf>,
    /// Hand the message to the local sendmail (sendmail -i -f FROM -- RCPT…).
    #[arg(long)]
    sendmail: bool,
    /// The sendmail program.
    #[arg(long = "sendmail-program", default_value = "/usr/sbin/sendmail")]
    sendmail_program: String,
}

fn seconds(name: &str, v: f64) -> Result<Duration, CliError> {
    Duration::try_from_secs_f64(v)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| CliError::usage(format!("--{name} must be a positive number of seconds")))
}

impl Destination {
    /// The transport these options name.
    pub(crate) fn transport(&self) -> Result<Box<dyn Transport + Send>, CliError> {
        if !self.mx && (!self.resolvers.is_empty() || self.smtp_port.is_some() || self.require_tls) {
            return Err(CliError::usage("--resolver, --smtp-port and --require-tls go with --mx"));
        }
        if self.insecure && self.smtp.is_some() {
            eprintln!("mailwright: warning: --insecure: the server's certificate is NOT verified");
        }
        if self.oauth2.given() && (self.smtp.is_none() || self.user.is_none()) {
            return Err(CliError::usage("--oauth2-token-file and --oauth2-token-command go with --smtp and --user"));
        }
        let oauth2 = match &self.user {
            Some(user) => self.oauth2.login(user)?,
            None => None,
        };
        let credentials = match (&self.user, &self.smtp) {
            (Some(user), Some(_)) if oauth2.is_none() => {
                Some((user.clone(), super::secret::password(self.password_file.as_ref())?))
            }
            _ => None,
        };
        let core = crate::inject::Destination {
            smtp: self.smtp.clone(),
            mx: self.mx,
            maildir: self.maildir.clone(),
            mbox: self.mbox.clone(),
            sendmail: self.sendmail.then(|| self.sendmail_program.clone()),
            credentials,
            oauth2,
            ca_file: self.ca_file.clone(),
            insecure: self.insecure,
            allow_plaintext: self.allow_plaintext,
            resolvers: self.resolvers.clone(),
            smtp_port: self.smtp_port.unwrap_or(25),
            require_tls: self.require_tls,
            connect_timeout: seconds("connect-timeout", self.connect_timeout)?,
            reply_timeout: seconds("reply-timeout", self.reply_timeout)?,
        };
        core.transport().map_err(super::fail)
    }
}
