//! `Dissection`: what `Message.dissect` wrote, with its manifest.

use napi_derive::napi;

/// Options of `dissect`.
#[napi(object)]
pub struct DissectConfig {
    /// Also write the text and HTML bodies as files.
    pub bodies: Option<bool>,
}

/// What `dissect` wrote.
#[napi(object)]
pub struct Dissection {
    /// The manifest (the same JSON as `manifest.json`: subject, from, attachments with sha256…).
    pub manifest: serde_json::Value,
    /// Files written.
    pub files: u32,
    /// Bytes written.
    pub bytes: f64,
}
