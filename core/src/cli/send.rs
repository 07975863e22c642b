//! `mailwright send`: compose (or read) a message and hand it to one destination.

use super::fail;
use std::path::PathBuf;

use super::destination::Destination;
use super::{CliError, compose::Compose, exit, input, out};
use crate::inject::{Envelope, Receipt, RecipientStatus};
use crate::{Limits, Message};

/// Arguments of `mailwright send`. Exit codes: 0 when every recipient accepted the message, 75
/// when it failed (or some recipients refused) only for now, 69 when it failed for good (or some
/// recipient refused for good), 1 for usage or input errors.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("destination").required(true).args(["smtp", "mx", "maildir", "mbox", "sendmail"])))]
pub(crate) struct Args {
    /// A ready message to send (a file, or - for standard input) instead of composing one.
    message: Option<PathBuf>,
    #[command(flatten)]
    compose: Compose,
    #[command(flatten)]
    dest: Destination,
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
            let env = Envelope::from_message(&msg).map_err(fail)?;
            let from = msg.from().first().and_then(|f| f.address.as_deref());
            (env, a.compose.dkim.sign(crate::inject::without_bcc(&msg).into_owned(), from)?)
        }
        None => {
            let b = a.compose.builder()?;
            let env = b.envelope().map_err(fail)?;
            (env, b.build().map_err(|e| CliError::usage(e.to_string()))?)
        }
    };
    let mut transport = a.dest.transport()?;
    let receipt = transport.send_raw(&envelope, &raw).map_err(fail)?;
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
                "host": x.host,
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
