//! The composing flags shared by `mailwright build` and `mailwright send`.

use std::path::PathBuf;

use super::CliError;
use crate::build::MessageBuilder;

/// Flags that compose a message.
#[derive(clap::Args, Debug, Default)]
pub(crate) struct Compose {
    /// Sender: "Name <address>" or an address.
    #[arg(long)]
    from: Option<String>,
    /// Recipient (repeatable).
    #[arg(long)]
    to: Vec<String>,
    /// Copy recipient (repeatable).
    #[arg(long)]
    cc: Vec<String>,
    /// Blind copy recipient (repeatable): in the envelope only, never in the message.
    #[arg(long)]
    bcc: Vec<String>,
    /// Reply-To mailbox (repeatable).
    #[arg(long = "reply-to")]
    reply_to: Vec<String>,
    /// Subject (any Unicode).
    #[arg(long)]
    subject: Option<String>,
    /// Plain-text body.
    #[arg(long, conflicts_with = "text_file")]
    text: Option<String>,
    /// Plain-text body from a UTF-8 file.
    #[arg(long = "text-file")]
    text_file: Option<PathBuf>,
    /// HTML body from a UTF-8 file.
    #[arg(long = "html-file")]
    html_file: Option<PathBuf>,
    /// File to attach (repeatable); its type comes from its magic bytes, then its extension.
    #[arg(long)]
    attach: Vec<PathBuf>,
    /// Extra header "Name: value" (repeatable).
    #[arg(long)]
    header: Vec<String>,
    /// Write non-ASCII bodies as 8bit (for servers with 8BITMIME) instead of quoted-printable.
    #[arg(long = "8bit")]
    eight_bit: bool,
}

impl Compose {
    /// Whether any composing flag was given.
    pub(crate) fn any(&self) -> bool {
        self.from.is_some()
            || !self.to.is_empty()
            || !self.cc.is_empty()
            || !self.bcc.is_empty()
            || self.subject.is_some()
            || self.text.is_some()
            || self.text_file.is_some()
            || self.html_file.is_some()
            || !self.attach.is_empty()
    }

    /// The builder these flags describe.
    pub(crate) fn builder(&self) -> Result<MessageBuilder, CliError> {
        let read = |p: &PathBuf| {
            std::fs::read_to_string(p).map_err(|e| CliError::usage(format!("cannot read {}: {e}", p.display())))
        };
        let mut b = MessageBuilder::new();
        if let Some(f) = &self.from {
            b = b.from(f.as_str());
        }
        for a in &self.to {
            b = b.to(a.as_str());
        }
        for a in &self.cc {
            b = b.cc(a.as_str());
        }
        for a in &self.bcc {
            b = b.bcc(a.as_str());
        }
        for a in &self.reply_to {
            b = b.reply_to(a.as_str());
        }
        if let Some(s) = &self.subject {
            b = b.subject(s.clone());
        }
        if let Some(t) = &self.text {
            b = b.text(t.clone());
        }
        if let Some(p) = &self.text_file {
            b = b.text(read(p)?);
        }
        if let Some(p) = &self.html_file {
            b = b.html(read(p)?);
        }
        for p in &self.attach {
            b = b.attach_path(p);
        }
        for h in &self.header {
            let (name, value) = h
                .split_once(':')
                .ok_or_else(|| CliError::usage(format!("--header {h:?}: expected \"Name: value\"")))?;
            b = b.header(name.trim(), value.trim_start());
        }
        b = b.eight_bit(self.eight_bit);
        b.validate().map_err(|e| CliError::usage(e.to_string()))?;
        Ok(b)
    }
}
