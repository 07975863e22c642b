//! The password of every command that logs in: never from argv.

use std::path::PathBuf;

use super::CliError;

/// The password of `--user`: `--password-file`, else `MAILWRIGHT_PASSWORD`.
pub(crate) fn password(file: Option<&PathBuf>) -> Result<String, CliError> {
    crate::secret::read_secret(file.map(PathBuf::as_path)).map_err(|e| CliError::usage(format!("--user: {e}")))
}
