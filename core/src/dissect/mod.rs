//! Taking a message apart into its original files, safely.
//!
//! [`dissect`] writes every attachment (and, on request, the bodies) of a [`Message`] into one
//! folder and returns a [`Dissection`] whose [`Manifest`] follows DESIGN §5: nested messages are
//! saved as `.eml` and dissected into a subfolder, uuencoded files inside text bodies are written
//! too, names come from [`naming::sanitize`], and only the `sandbox` module creates files — never outside the
//! folder, never over an existing file, never through a symbolic link. Limits stop work with a
//! warning.

mod manifest;
pub mod naming;
pub(crate) mod sandbox;

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use manifest::{Manifest, ManifestAddress, SavedFile};

use crate::limits::Limits;
use crate::parse::{Message, Part, PartKind, PartPath};
use crate::warning::{Warning, WarningKind};
use sandbox::Folder;

/// Why a dissection could not write its output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DissectError {
    /// The output folder cannot be created or opened.
    #[error("cannot use output folder {path}: {source}; create it, fix its permissions, or choose another")]
    OutputFolder {
        /// The folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A file could not be written (disk full, permissions, …).
    #[error("cannot write {path}: {source}; free space or fix permissions and dissect again")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// What to write, and where.
#[derive(Debug, Clone)]
pub struct DissectOptions {
    /// The output folder; created when missing.
    pub out_dir: PathBuf,
    /// Also write the text and HTML bodies (`body.txt`, `body.html`).
    pub bodies: bool,
    /// Limits on files and bytes written.
    pub limits: Limits,
}

impl DissectOptions {
    /// Attachments into `out_dir`, default limits.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        DissectOptions { out_dir: out_dir.into(), bodies: false, limits: Limits::default() }
    }

    /// Also write bodies.
    pub fn with_bodies(mut self, yes: bool) -> Self {
        self.bodies = yes;
        self
    }

    /// Use these limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// The result of a dissection.
#[derive(Debug, Clone)]
pub struct Dissection {
    /// The manifest (DESIGN §5).
    pub manifest: Manifest,
    /// Every warning, parse and dissect, structured.
    pub warnings: Vec<Warning>,
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
}

struct State<'o> {
    opts: &'o DissectOptions,
    files: usize,
    bytes: u64,
    /// Most bytes written in all: `max_output_bytes`, or the ratio to the input if less.
    budget: u64,
    /// Bytes of nested messages' `.eml` copies written, and how many they may take.
    copies: u64,
    copies_budget: u64,
    stopped_copies: bool,
    warnings: Vec<Warning>,
    stopped_files: bool,
    stopped_bytes: bool,
}

/// Writes `msg`'s attachments into `opts.out_dir`. See the [module docs](self).
///
/// ```
/// let raw = b"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n";
/// let msg = mailwright::Message::parse(raw)?;
/// let dir = tempfile::tempdir()?;
/// let d = mailwright::dissect(&msg, &mailwright::DissectOptions::new(dir.path()))?;
/// assert_eq!(d.manifest.attachments[0].saved_as, "a.pdf");
/// assert_eq!(std::fs::read(dir.path().join("a.pdf"))?, b"%PDF-");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn dissect(msg: &Message<'_>, opts: &DissectOptions) -> Result<Dissection, DissectError> {
    let root = Folder::open_root(&opts.out_dir)
        .map_err(|source| DissectError::OutputFolder { path: opts.out_dir.clone(), source })?;
    let (budget, copies_budget) = match opts.limits.max_output_ratio {
        0 => (opts.limits.max_output_bytes, opts.limits.max_output_bytes),
        r => {
            let size = msg.raw().len() as u64;
            let all = opts.limits.max_output_bytes.min(size.saturating_mul(r));
            (all, all.min(size.saturating_mul(r - 1)))
        }
    };
    let mut st = State {
        opts,
        files: 0,
        bytes: 0,
        budget,
        copies: 0,
        copies_budget,
        stopped_copies: false,
        warnings: Vec::new(),
        stopped_files: false,
        stopped_bytes: false,
    };
    let mut manifest = one(msg, 0, &root, &mut st)?;
    // Parse warnings go to the manifest of the message whose part they name.
    let mut all = msg.warnings().to_vec();
    all.extend(st.warnings.iter().cloned());
    for w in &all {
        let env = w.part.as_ref().and_then(|p| msg.part(p)).map_or(0, |p| p.summary);
        if let Some(m) = manifest_for(&mut manifest, msg, env) {
            m.warnings.push(w.to_string());
        } else {
            manifest.warnings.push(w.to_string());
        }
    }
    Ok(Dissection { manifest, warnings: all, files: st.files, bytes: st.bytes })
}

/// The manifest of summary `env` inside the tree rooted at the top manifest.
fn manifest_for<'m>(top: &'m mut Manifest, msg: &Message<'_>, env: usize) -> Option<&'m mut Manifest> {
    if env == 0 {
        return Some(top);
    }
    // The chain of message parts from the top down to `env`.
    let mut chain = Vec::new();
    let mut cur = env;
    while cur != 0 {
        let (i, p) = msg
            .parts()
            .iter()
            .enumerate()
            .find(|(_, p)| matches!(p.kind(), PartKind::Message { summary, .. } if *summary == cur))?;
        chain.push((p.summary, i));
        cur = p.summary;
    }
    let mut m = top;
    for (parent_env, part_idx) in chain.into_iter().rev() {
        let pos = msg.summaries()[parent_env]
            .attachments
            .iter()
            .filter(|&&a| matches!(msg.parts()[a].kind(), PartKind::Message { .. }))
            .position(|&a| a == part_idx)?;
        m = m.nested.get_mut(pos)?;
    }
    Some(m)
}

fn one(msg: &Message<'_>, env: usize, folder: &Folder, st: &mut State<'_>) -> Result<Manifest, DissectError> {
    let e = &msg.summaries()[env];
    let mut m = Manifest::from_summary(msg, e);
    for &i in &e.attachments {
        let part = &msg.parts()[i];
        let name = file_name(msg, part);
        let data = part.decoded();
        let nested = match part.kind() {
            PartKind::Message { summary, .. } => Some(*summary),
            _ => None,
        };
        let saved = if nested.is_some() && !copy_fits(part.path(), data.len() as u64, st) {
            None
        } else {
            write(folder, &name, part.path(), data, st)?
        };
        let final_name = match saved {
            Some((saved_as, final_name)) => {
                m.attachments.push(saved_file(part, saved_as, data));
                if nested.is_some() {
                    st.copies += data.len() as u64;
                }
                final_name
            }
            // A nested message whose copy did not fit is still dissected, unless a limit
            // stopped all writing.
            None if nested.is_some() && !st.stopped_files && !st.stopped_bytes => name,
            None => continue,
        };
        if let Some(summary) = nested {
            let dir_name = naming::fit(&format!("{final_name}.d"), "", naming::MAX_NAME_BYTES);
            let (sub, _) = folder
                .create_folder(&dir_name)
                .map_err(|source| DissectError::Write { path: folder.path().join(&dir_name), source })?;
            let nested = one(msg, summary, &sub, st)?;
            m.nested.push(nested);
        }
    }
    if st.opts.bodies {
        let mut bodies = Vec::new();
        for (body, name, ctype, parts) in [
            (msg.text_of(e), "body.txt", "text/plain", &e.text_parts),
            (msg.html_of(e), "body.html", "text/html", &e.html_parts),
        ] {
            let Some(body) = body else { continue };
            let path = parts.first().map(|&i| msg.parts()[i].path().clone()).unwrap_or_default();
            if let Some((saved_as, _)) = write(folder, name, &path, body.as_bytes(), st)? {
                bodies.push(SavedFile {
                    part: path.to_string(),
                    filename: None,
                    saved_as,
                    content_type: format!("{ctype}; charset=utf-8"),
                    disposition: None,
                    content_id: None,
                    size: body.len() as u64,
                    sha256: sha256_hex(body.as_bytes()),
                });
            }
        }
        m.bodies = Some(bodies);
    }
    Ok(m)
}

/// The safe name for an attachment part: the sanitised file name, a nested message's subject,
/// else `part-<path>.<ext>`.
pub(crate) fn file_name(msg: &Message<'_>, part: &Part<'_>) -> String {
    let mut name = part.filename().map(naming::sanitize).unwrap_or_default();
    if name.is_empty()
        && let PartKind::Message { summary, .. } = part.kind()
        && let Some(subject) = &msg.summaries()[*summary].subject
    {
        let s = naming::sanitize(subject);
        if !s.is_empty() {
            name = naming::fit(&format!("{s}.eml"), "", naming::MAX_NAME_BYTES);
        }
    }
    if name.is_empty() {
        name = naming::fallback(part.path(), part.content_type());
    }
    name
}

fn saved_file(part: &Part<'_>, saved_as: String, data: &[u8]) -> SavedFile {
    SavedFile {
        part: part.path().to_string(),
        filename: part.filename().map(str::to_string),
        saved_as,
        content_type: part.content_type().to_string(),
        disposition: part.disposition().filter(|d| *d == "attachment" || *d == "inline").map(str::to_string),
        content_id: part.content_id().map(str::to_string),
        size: data.len() as u64,
        sha256: sha256_hex(data),
    }
}

/// Whether the `.eml` copy of a nested message fits what copies may take; warns once if not.
fn copy_fits(path: &PartPath, len: u64, st: &mut State<'_>) -> bool {
    if st.copies + len <= st.copies_budget {
        return true;
    }
    if !st.stopped_copies {
        st.stopped_copies = true;
        // No part of its own: the budget is the whole dissection's, so the top manifest says it.
        st.warnings.push(Warning::new(
            WarningKind::OutputLimit,
            format!(
                "part {path}: the .eml copy of this nested message (and of any later one that does not \
                     fit) was not written: copies may take {} bytes, {}x the message's size; its files were \
                     still dissected",
                st.copies_budget,
                st.opts.limits.max_output_ratio.saturating_sub(1)
            ),
        ));
    }
    false
}

/// Writes one file within the limits; `None` when a limit stopped it.
fn write(
    folder: &Folder,
    name: &str,
    path: &PartPath,
    data: &[u8],
    st: &mut State<'_>,
) -> Result<Option<(String, String)>, DissectError> {
    let limits = &st.opts.limits;
    if st.files >= limits.max_files {
        if !st.stopped_files {
            st.stopped_files = true;
            st.warnings.push(
                Warning::new(WarningKind::FileLimit, format!("stopped after {} files", limits.max_files)).at_part(path),
            );
        }
        return Ok(None);
    }
    if st.bytes + data.len() as u64 > st.budget {
        if !st.stopped_bytes {
            st.stopped_bytes = true;
            st.warnings.push(
                Warning::new(
                    WarningKind::OutputLimit,
                    format!("not written: it would pass the limit of {} bytes written", st.budget),
                )
                .at_part(path),
            );
        }
        return Ok(None);
    }
    let (mut file, final_name) =
        folder.create_file(name).map_err(|source| DissectError::Write { path: folder.path().join(name), source })?;
    file.write_all(data).map_err(|source| DissectError::Write { path: folder.path().join(&final_name), source })?;
    st.files += 1;
    st.bytes += data.len() as u64;
    Ok(Some((folder.rel(&final_name), final_name)))
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Whether `p` (a `saved_as`) stays inside the output folder: relative, no `..`, no root.
pub fn is_inside(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty() && path.is_relative() && path.components().all(|c| matches!(c, std::path::Component::Normal(_)))
}
