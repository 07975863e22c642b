//! The dissect manifest (DESIGN §5): what was written, with sizes and hashes.

use serde::Serialize;

use crate::parse::{Address, Message, Summary};

/// A mailbox as the manifest shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestAddress {
    /// Display name, `null` when absent.
    pub name: Option<String>,
    /// Address, `null` when absent.
    pub address: Option<String>,
}

impl From<&Address> for ManifestAddress {
    fn from(a: &Address) -> Self {
        ManifestAddress { name: a.name.clone(), address: a.address.clone() }
    }
}

/// One file written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedFile {
    /// The MIME part path ("2", "3.1").
    pub part: String,
    /// The original name after decoding; `null` when the part had none.
    pub filename: Option<String>,
    /// Path of the written file relative to the output folder.
    pub saved_as: String,
    /// MIME type.
    pub content_type: String,
    /// `attachment`, `inline` or `null`.
    pub disposition: Option<String>,
    /// Content-ID without brackets.
    pub content_id: Option<String>,
    /// Bytes written.
    pub size: u64,
    /// SHA-256 of the bytes written, lowercase hex.
    pub sha256: String,
}

/// The manifest of one message; nested messages have one each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// Decoded Subject.
    pub subject: Option<String>,
    /// From.
    pub from: Vec<ManifestAddress>,
    /// To.
    pub to: Vec<ManifestAddress>,
    /// Cc.
    pub cc: Vec<ManifestAddress>,
    /// Date, RFC 3339.
    pub date: Option<String>,
    /// Message-ID without brackets.
    pub message_id: Option<String>,
    /// The plain-text body a mail client shows.
    pub text: Option<String>,
    /// The HTML body a mail client shows.
    pub html: Option<String>,
    /// The files written for attachments.
    pub attachments: Vec<SavedFile>,
    /// Manifests of message/rfc822 attachments, dissected into subfolders.
    pub nested: Vec<Manifest>,
    /// Damage found in this message, one sentence each.
    pub warnings: Vec<String>,
    /// Bodies written on request (absent unless asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bodies: Option<Vec<SavedFile>>,
}

impl Manifest {
    pub(crate) fn from_summary(msg: &Message<'_>, e: &Summary) -> Self {
        let conv = |v: &[Address]| v.iter().map(ManifestAddress::from).collect();
        Manifest {
            subject: e.subject.clone(),
            from: conv(&e.from),
            to: conv(&e.to),
            cc: conv(&e.cc),
            date: e.date.clone(),
            message_id: e.message_id.clone(),
            text: msg.text_of(e).map(str::to_string),
            html: msg.html_of(e).map(str::to_string),
            ..Default::default()
        }
    }

    /// Every saved file in this manifest and its nested ones.
    pub fn all_files(&self) -> Vec<&SavedFile> {
        let mut out: Vec<&SavedFile> = self.attachments.iter().chain(self.bodies.iter().flatten()).collect();
        for n in &self.nested {
            out.extend(n.all_files());
        }
        out
    }

    /// The manifest as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}
