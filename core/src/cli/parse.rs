//! `mailwright parse FILE|- [--json]`.

use std::path::PathBuf;

use serde::Serialize;

use super::{CliError, input, out};
use crate::dissect::ManifestAddress;
use crate::parse::PartKind;
use crate::{Address, Limits, Message, SharedMessage};

/// Arguments of `mailwright parse`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The message file, or - for standard input.
    file: PathBuf,
    /// Print JSON for scripts instead of text for people.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct PartJson<'m> {
    part: String,
    kind: &'static str,
    depth: usize,
    content_type: &'m str,
    params: &'m [(String, String)],
    disposition: Option<&'m str>,
    filename: Option<&'m str>,
    content_id: Option<&'m str>,
    charset: Option<&'m str>,
    transfer_encoding: &'m str,
    raw_size: usize,
    size: usize,
    role: &'static str,
}

#[derive(Serialize)]
struct HeaderJson {
    name: String,
    value: String,
}

#[derive(Serialize)]
struct ParseJson<'m> {
    subject: Option<&'m str>,
    from: Vec<ManifestAddress>,
    to: Vec<ManifestAddress>,
    cc: Vec<ManifestAddress>,
    bcc: Vec<ManifestAddress>,
    reply_to: Vec<ManifestAddress>,
    date: Option<&'m str>,
    message_id: Option<&'m str>,
    in_reply_to: &'m [String],
    references: &'m [String],
    headers: Vec<HeaderJson>,
    parts: Vec<PartJson<'m>>,
    warnings: Vec<String>,
}

fn addrs(v: &[Address]) -> Vec<ManifestAddress> {
    v.iter().map(ManifestAddress::from).collect()
}

fn role(msg: &Message<'_>, i: usize) -> &'static str {
    let p = &msg.parts()[i];
    let e = &msg.summaries()[p.summary];
    if p.is_multipart() {
        "container"
    } else if e.text_parts.contains(&i) || e.html_parts.contains(&i) {
        "body"
    } else if e.attachments.contains(&i) {
        "attachment"
    } else {
        "alternative"
    }
}

pub(crate) fn run(a: Args) -> Result<(), CliError> {
    let limits = Limits::default();
    let bytes = input::read(&a.file, &limits)?;
    let shared = SharedMessage::new(bytes, &limits).map_err(|e| CliError::usage(e.to_string()))?;
    let msg = shared.message();
    let parts: Vec<PartJson<'_>> = msg
        .parts()
        .iter()
        .enumerate()
        .map(|(i, p)| PartJson {
            part: p.path().to_string(),
            kind: match p.kind() {
                PartKind::Multipart(_) => "multipart",
                PartKind::Leaf => "leaf",
                PartKind::Message { .. } => "message",
            },
            depth: p.depth(),
            content_type: p.content_type(),
            params: p.content_type_params(),
            disposition: p.disposition(),
            filename: p.filename(),
            content_id: p.content_id(),
            charset: p.charset(),
            transfer_encoding: p.transfer_encoding().as_str(),
            raw_size: p.raw().len(),
            size: if p.is_multipart() { 0 } else { p.decoded().len() },
            role: role(msg, i),
        })
        .collect();
    let j = ParseJson {
        subject: msg.subject(),
        from: addrs(msg.from()),
        to: addrs(msg.to()),
        cc: addrs(msg.cc()),
        bcc: addrs(msg.bcc()),
        reply_to: addrs(msg.reply_to()),
        date: msg.date(),
        message_id: msg.message_id(),
        in_reply_to: msg.in_reply_to(),
        references: msg.references(),
        headers: msg.headers().iter().map(|h| HeaderJson { name: h.name().into_owned(), value: h.text() }).collect(),
        parts,
        warnings: msg.warnings().iter().map(|w| w.to_string()).collect(),
    };
    if a.json {
        let s = serde_json::to_string_pretty(&j)
            .map_err(|e| CliError { code: super::exit::SOFTWARE, message: e.to_string() })?;
        return out(&(s + "\n"));
    }
    let show = |v: &[ManifestAddress]| {
        v.iter()
            .map(|a| match (&a.name, &a.address) {
                (Some(n), Some(ad)) => format!("{n} <{ad}>"),
                (None, Some(ad)) => ad.clone(),
                (Some(n), None) => n.clone(),
                (None, None) => String::new(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = String::new();
    s.push_str(&format!("Subject:    {}\n", j.subject.unwrap_or("(none)")));
    s.push_str(&format!("From:       {}\n", show(&j.from)));
    s.push_str(&format!("To:         {}\n", show(&j.to)));
    if !j.cc.is_empty() {
        s.push_str(&format!("Cc:         {}\n", show(&j.cc)));
    }
    s.push_str(&format!("Date:       {}\n", j.date.unwrap_or("(none)")));
    s.push_str(&format!("Message-ID: {}\n", j.message_id.unwrap_or("(none)")));
    s.push_str("Parts:\n");
    for p in &j.parts {
        let indent = "  ".repeat(p.depth + 1);
        let label = if p.part.is_empty() { "(root)".to_string() } else { p.part.clone() };
        s.push_str(&format!("{indent}{label:<8} {}", p.content_type));
        if p.kind != "multipart" {
            s.push_str(&format!("  {} bytes  {}  {}", p.size, p.transfer_encoding, p.role));
        }
        if let Some(f) = p.filename {
            s.push_str(&format!("  {f:?}"));
        }
        s.push('\n');
    }
    for w in &j.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    out(&s)
}
