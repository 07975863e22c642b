//! `mailwright send`: compose (or read) a message and hand it to one destination.

use std::path::PathBuf;

use super::{CliError, compose::Compose, exit, input, out};
use crate::inject::{
    Envelope, InjectError, MaildirTransport, MboxTransport, Receipt, RecipientStatus, SendmailTransport, SmtpConfig,
    SmtpTransport, Transport,
};
use crate::{Limits, Message};

/// Arguments of `mailwright send`. Exit codes: 0 when every recipient accepted the message, 75
/// when it failed (or some recipients refused) only for now, 69 when it failed for good (or some
/// recipient refused for good), 1 for usage or input errors.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("destination").required(true).args(["smtp", "maildir", "mbox", "sendmail"])))]
pub(crate) struct Args {
    /// A ready message to send (a file, or - for standard input) instead of composing one.
    message: Option<PathBuf>,
    #[command(flatten)]
    compose: Compose,
    /// Submit to this server: smtp://HOST[:PORT] (STARTTLS, required; port 587) or
    /// smtps://HOST[:PORT] (implicit TLS; port 465).
    #[arg(long)]
    smtp: Option<String>,
    /// User name for SMTP AUTH; the password comes from MAILWRIGHT_PASSWORD or --password-file,
    /// never from the command line.
    #[arg(long)]
    user: Option<String>,
    /// File whose first line is the SMTP password.
    #[arg(long = "password-file")]
    password_file: Option<PathBuf>,
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
    /// Print the receipt as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(a: Args) -> Result<(), CliError> {
    let (envelope, raw) = match &a.message {
        Some(path) => {
            if a.compose.any() {
                return Err(CliError::usage("give either a message file or composing flags, not both"));
            }
            let bytes = input::read(path, &Limits::default())?;
            let msg = Message::parse(&bytes).map_err(|e| CliError::usage(e.to_string()))?;
            let env = Envelope::from_message(&msg).map_err(inject_err)?;
            (env, crate::inject::without_bcc(&msg).into_owned())
        }
        None => {
            let b = a.compose.builder()?;
            let env = Envelope::try_from(b.envelope()).map_err(inject_err)?;
            (env, b.build().map_err(|e| CliError::usage(e.to_string()))?)
        }
    };
    let mut transport: Box<dyn Transport> = if let Some(url) = &a.smtp {
        Box::new(smtp_transport(&a, url)?)
    } else if let Some(d) = &a.maildir {
        Box::new(MaildirTransport::new(d))
    } else if let Some(f) = &a.mbox {
        Box::new(MboxTransport::new(f))
    } else {
        Box::new(SendmailTransport::with_program(a.sendmail_program.clone()))
    };
    let receipt = transport.send_raw(&envelope, &raw).map_err(inject_err)?;
    out(&show(&receipt, a.json))?;
    // Some recipients refused: the worst refusal decides the exit code.
    let refused: Vec<_> = receipt.recipients.iter().filter(|r| r.status != RecipientStatus::Accepted).collect();
    if refused.is_empty() {
        return Ok(());
    }
    let permanent = refused.iter().any(|r| r.status == RecipientStatus::Permanent);
    Err(CliError {
        code: if permanent { exit::UNAVAILABLE } else { exit::TEMPFAIL },
        message: format!(
            "delivered to {} of {} recipients; refused: {}",
            receipt.recipients.len() - refused.len(),
            receipt.recipients.len(),
            refused
                .iter()
                .map(|r| format!("{} ({} {})", r.address, r.code.map_or(String::new(), |c| c.to_string()), r.text))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

fn smtp_transport(a: &Args, url: &str) -> Result<SmtpTransport, CliError> {
    let mut c = SmtpConfig::from_url(url).map_err(|e| CliError::usage(e.to_string()))?;
    c.ca_file = a.ca_file.clone();
    c.insecure = a.insecure;
    c.allow_plaintext = a.allow_plaintext;
    if a.insecure {
        eprintln!("mailwright: warning: --insecure: the server's certificate is NOT verified");
    }
    if let Some(user) = &a.user {
        let password = match (&a.password_file, std::env::var("MAILWRIGHT_PASSWORD")) {
            (Some(p), _) => std::fs::read_to_string(p)
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}", p.display())))?
                .lines()
                .next()
                .unwrap_or("")
                .to_string(),
            (None, Ok(p)) => p,
            (None, Err(_)) => {
                return Err(CliError::usage(
                    "--user needs a password: set MAILWRIGHT_PASSWORD or give --password-file",
                ));
            }
        };
        c.credentials = Some((user.clone(), password));
    }
    SmtpTransport::new(c).map_err(|e| CliError { code: exit::SOFTWARE, message: e.to_string() })
}

fn inject_err(e: InjectError) -> CliError {
    let code = match &e {
        InjectError::NoRecipients | InjectError::BadAddress(_) | InjectError::Parse(_) => exit::USAGE,
        e if e.is_transient() => exit::TEMPFAIL,
        _ => exit::UNAVAILABLE,
    };
    CliError { code, message: e.to_string() }
}

fn show(r: &Receipt, json: bool) -> String {
    if json {
        let v = serde_json::json!({
            "transport": r.transport,
            "destination": r.destination,
            "queue_id": r.queue_id,
            "peer": r.peer,
            "tls": r.tls.as_ref().map(|t| serde_json::json!({"version": t.version, "verified": t.verified})),
            "recipients": r.recipients.iter().map(|x| serde_json::json!({
                "address": x.address,
                "status": format!("{:?}", x.status).to_lowercase(),
                "code": x.code,
                "enhanced_code": x.enhanced_code,
                "text": x.text,
            })).collect::<Vec<_>>(),
        });
        return format!("{v:#}\n");
    }
    let mut s = format!("{}: delivered to {}", r.transport, r.destination);
    if let Some(q) = &r.queue_id {
        s.push_str(&format!(" ({q})"));
    }
    if let Some(t) = &r.tls {
        s.push_str(&format!(", {}{}", t.version, if t.verified { "" } else { ", certificate NOT verified" }));
    }
    s.push('\n');
    for x in &r.recipients {
        s.push_str(&format!("  {}  {:?}\n", x.address, x.status));
    }
    s
}
