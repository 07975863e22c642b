//! Local delivery as transports: the [`Transport`] faces of [`Maildir`] and [`Mbox`].

use std::path::PathBuf;

use super::{Envelope, InjectError, Receipt, Transport};
use crate::mailbox::{Maildir, Mbox};

/// Delivers into a Maildir (created when missing).
#[derive(Debug, Clone)]
pub struct MaildirTransport {
    root: PathBuf,
}

impl MaildirTransport {
    /// A transport into the Maildir at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        MaildirTransport { root: root.into() }
    }
}

impl Transport for MaildirTransport {
    fn send_raw(&mut self, envelope: &Envelope, raw: &[u8]) -> Result<Receipt, InjectError> {
        let md = Maildir::create(&self.root)?;
        let path = md.deliver(raw)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        Ok(Receipt::all_accepted("maildir", path.display().to_string(), name, envelope))
    }
}

/// Appends to an mbox file.
#[derive(Debug, Clone)]
pub struct MboxTransport {
    path: PathBuf,
}

impl MboxTransport {
    /// A transport appending to the mbox at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        MboxTransport { path: path.into() }
    }
}

impl Transport for MboxTransport {
    fn send_raw(&mut self, envelope: &Envelope, raw: &[u8]) -> Result<Receipt, InjectError> {
        let offset = Mbox::new(&self.path).append(envelope.from(), raw)?;
        Ok(Receipt::all_accepted("mbox", self.path.display().to_string(), Some(offset.to_string()), envelope))
    }
}
