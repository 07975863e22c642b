//! `mailwright demo`: the loop on a local Maildir, with nothing to install.

use std::path::{Path, PathBuf};

use super::{CliError, exit, out};
use crate::build::MessageBuilder;
use crate::dissect::sha256_hex;
use crate::inject::{Envelope, MaildirTransport, Transport};
use crate::{DissectOptions, Message, sample};

/// Arguments of `mailwright demo`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Working folder (a Maildir and the dissected files go there); a new temporary folder when
    /// not given.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The printer named in the print command.
    #[arg(long, default_value = "printer")]
    printer: String,
    /// Print the manifest as JSON only.
    #[arg(long)]
    json: bool,
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> CliError {
    CliError::usage(format!("cannot {what} {}: {e}", p.display()))
}

/// Quotes an argument for display in a POSIX shell.
fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

pub(crate) fn run(a: Args) -> Result<(), CliError> {
    let dir = match a.dir {
        Some(d) => d,
        None => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            std::env::temp_dir().join(format!("mailwright-demo-{}-{}", std::process::id(), now.as_micros()))
        }
    };
    // build
    let pdf = sample::pdf("Quarterly report - printed by the mailwright mailbot", 48_000, 2016);
    let want = sha256_hex(&pdf);
    let builder = MessageBuilder::new()
        .from("Jane Doe <jane@example.org>")
        .to("Mail Bot <bot@example.org>")
        .subject("Quarterly report")
        .text("Please print the attached report.\r\n")
        .attach_bytes("Quarterly report.pdf", pdf.clone());
    let envelope = Envelope::try_from(builder.envelope()).map_err(|e| CliError::usage(e.to_string()))?;
    let raw = builder.build().map_err(|e| CliError::usage(e.to_string()))?;
    // inject into the local Maildir
    let maildir = dir.join("Maildir");
    let receipt =
        MaildirTransport::new(&maildir).send_raw(&envelope, &raw).map_err(|e| CliError::usage(e.to_string()))?;
    let delivered = PathBuf::from(&receipt.destination);
    // retrieve
    let back = std::fs::read(&delivered).map_err(|e| io_err("read", &delivered, e))?;
    // dissect
    let msg = Message::parse(&back).map_err(|e| CliError::usage(e.to_string()))?;
    let out_dir = dir.join("dissected");
    let d = crate::dissect(&msg, &DissectOptions::new(&out_dir)).map_err(|e| CliError::usage(e.to_string()))?;
    let Some(file) = d.manifest.attachments.iter().find(|f| f.content_type == "application/pdf") else {
        return Err(CliError {
            code: exit::SOFTWARE,
            message: "the PDF was not found in the dissected message".into(),
        });
    };
    let saved = out_dir.join(&file.saved_as);
    let got = sha256_hex(&std::fs::read(&saved).map_err(|e| io_err("read", &saved, e))?);
    if a.json {
        out(&(d.manifest.to_json() + "\n"))?;
    } else {
        let print_cmd = ["lpr", "-P", &a.printer, &saved.to_string_lossy()]
            .iter()
            .map(|s| shell_quote(s))
            .collect::<Vec<_>>()
            .join(" ");
        let mut s = String::new();
        s.push_str(&format!(
            "built     message with {} ({} bytes), {} bytes in all\n",
            file.filename.as_deref().unwrap_or("?"),
            pdf.len(),
            raw.len()
        ));
        s.push_str(&format!("delivered {}\n", delivered.display()));
        s.push_str(&format!("dissected into {}\n", out_dir.display()));
        s.push_str(&d.manifest.to_json());
        s.push('\n');
        s.push_str(&format!("print:    {print_cmd}\n"));
        s.push_str(&format!(
            "sha256:   sent {want}\n          got  {got}  {}\n",
            if got == want { "byte-exact" } else { "DIFFERENT" }
        ));
        out(&s)?;
    }
    if got != want {
        return Err(CliError {
            code: exit::SOFTWARE,
            message: format!("the dissected PDF differs from the one sent ({got} != {want})"),
        });
    }
    Ok(())
}
