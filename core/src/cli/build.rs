//! `mailwright build`: compose a message and write it out.

use std::path::PathBuf;

use super::{CliError, compose::Compose, exit, out_bytes};

/// Arguments of `mailwright build`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    compose: Compose,
    /// Write the message to this file instead of standard output.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

pub(crate) fn run(a: Args) -> Result<(), CliError> {
    let raw = a.compose.builder()?.build().map_err(|e| CliError::usage(e.to_string()))?;
    match a.out {
        Some(p) => std::fs::write(&p, &raw)
            .map_err(|e| CliError { code: exit::USAGE, message: format!("cannot write {}: {e}", p.display()) }),
        None => out_bytes(&raw),
    }
}
