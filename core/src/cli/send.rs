//! `mailwright send`: compose (or read) a message and hand it to one destination.

use std::path::PathBuf;

use super::{CliError, compose::Compose, exit, input, out};
use crate::inject::{Envelope, InjectError, MaildirTransport, MboxTransport, Receipt, SendmailTransport, Transport};
use crate::{Limits, Message};

/// Arguments of `mailwright send`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("destination").required(true).args(["maildir", "mbox", "sendmail"])))]
pub(crate) struct Args {
    /// A ready message to send (a file, or - for standard input) instead of composing one.
    message: Option<PathBuf>,
    #[command(flatten)]
    compose: Compose,
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
    let mut transport: Box<dyn Transport> = if let Some(d) = &a.maildir {
        Box::new(MaildirTransport::new(d))
    } else if let Some(f) = &a.mbox {
        Box::new(MboxTransport::new(f))
    } else {
        Box::new(SendmailTransport::with_program(a.sendmail_program.clone()))
    };
    let receipt = transport.send_raw(&envelope, &raw).map_err(inject_err)?;
    out(&show(&receipt, a.json))
}

fn inject_err(e: InjectError) -> CliError {
    let code = match &e {
        InjectError::NoRecipients | InjectError::BadAddress(_) => exit::USAGE,
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
    s.push('\n');
    for x in &r.recipients {
        s.push_str(&format!("  {}  {:?}\n", x.address, x.status));
    }
    s
}
