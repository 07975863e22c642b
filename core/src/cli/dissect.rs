//! `mailwright dissect FILE|- --out DIR [--json]`.

use std::path::PathBuf;

use super::{CliError, input, out};
use crate::{DissectOptions, Limits, SharedMessage};

/// Arguments of `mailwright dissect`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The message file, or - for standard input.
    file: PathBuf,
    /// The folder to write attachments into (created when missing). Nothing is written outside
    /// it, nothing is overwritten, and no symbolic link is followed.
    #[arg(long, short)]
    out: PathBuf,
    /// Print the manifest as JSON (the contract of DESIGN §5).
    #[arg(long)]
    json: bool,
    /// Also write the text and HTML bodies (body.txt, body.html).
    #[arg(long)]
    bodies: bool,
}

pub(crate) fn run(a: Args) -> Result<(), CliError> {
    let limits = Limits::default();
    let bytes = input::read(&a.file, &limits)?;
    let msg = SharedMessage::new(bytes, &limits).map_err(|e| CliError::usage(e.to_string()))?;
    let opts = DissectOptions::new(&a.out).with_bodies(a.bodies).with_limits(limits);
    let d = crate::dissect(msg.message(), &opts).map_err(|e| CliError::usage(e.to_string()))?;
    if a.json {
        return out(&(d.manifest.to_json() + "\n"));
    }
    let files = d.manifest.all_files();
    let mut s = format!("{} file(s), {} bytes written into {}\n", files.len(), d.bytes, a.out.display());
    for f in files {
        s.push_str(&format!("  {:<8} {:<28} {:>10}  {}\n", f.part, f.content_type, f.size, f.saved_as));
    }
    for w in &d.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    out(&s)
}
