//! The top-level error: one variant per module, each saying what failed and what to do.

use crate::build::BuildError;
use crate::dissect::DissectError;
use crate::inject::InjectError;
use crate::parse::ParseError;

/// Any mailwright error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A message could not be parsed at all.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A dissection could not write its output.
    #[error(transparent)]
    Dissect(#[from] DissectError),
    /// A message could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// A message could not be handed over.
    #[error(transparent)]
    Inject(#[from] InjectError),
}

/// `Result` with mailwright's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
