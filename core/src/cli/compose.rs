//! The composing flags shared by `mailwright build`, `send` and `queue add`, with DKIM signing.

use std::path::PathBuf;

use super::CliError;
use crate::auth::{DkimKey, DkimSigner};
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
    #[command(flatten)]
    pub(crate) dkim: DkimFlags,
}

/// Flags that DKIM-sign the finished message.
#[derive(clap::Args, Debug, Default)]
pub(crate) struct DkimFlags {
    /// Sign with this private key (PEM: RSA or Ed25519; see `mailwright dkim keygen`).
    #[arg(long = "dkim-key", requires = "dkim_selector")]
    key: Option<PathBuf>,
    /// The key's selector (`s=`).
    #[arg(long = "dkim-selector", requires = "key")]
    dkim_selector: Option<String>,
    /// The signing domain (`d=`); the From domain when absent.
    #[arg(long = "dkim-domain", requires = "key")]
    domain: Option<String>,
}

impl DkimFlags {
    /// Whether the message is to be signed.
    pub(crate) fn wanted(&self) -> bool {
        self.key.is_some()
    }

    /// The signer these flags describe, for a message from `from` (its domain is the default
    /// `d=`); `None` without `--dkim-key`.
    pub(crate) fn signer(&self, from: Option<&str>) -> Result<Option<std::sync::Arc<DkimSigner>>, CliError> {
        let (Some(path), Some(selector)) = (&self.key, &self.dkim_selector) else { return Ok(None) };
        let pem = std::fs::read(path).map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
        let key = DkimKey::from_pem(&pem).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
        let signer = DkimSigner::for_sender(key, selector, self.domain.as_deref(), from.unwrap_or_default())
            .map_err(|e| CliError::usage(e.to_string().replace("give one", "give --dkim-domain")))?;
        Ok(Some(std::sync::Arc::new(signer)))
    }

    /// `raw` signed when the flags ask for it (a message read from a file, whose first `From:`
    /// address is `from`), else as it is.
    pub(crate) fn sign(&self, raw: Vec<u8>, from: Option<&str>) -> Result<Vec<u8>, CliError> {
        match self.signer(from)? {
            Some(s) => s.sign(&raw).map_err(|e| CliError::usage(e.to_string())),
            None => Ok(raw),
        }
    }
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
        if let Some(signer) = self.dkim.signer(self.from.as_deref())? {
            b = b.dkim(signer);
        }
        b.validate().map_err(|e| CliError::usage(e.to_string()))?;
        Ok(b)
    }
}
