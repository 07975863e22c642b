//! The password for a server: from a file or the `MAILWRIGHT_PASSWORD` environment variable,
//! never from a command-line argument (where `ps` shows it to every user).

use std::path::{Path, PathBuf};

/// The environment variable that holds a password when no password file is given.
pub const PASSWORD_VAR: &str = "MAILWRIGHT_PASSWORD";

/// Why there is no password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The password file could not be read.
    #[error("cannot read the password file {path}: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// Neither a password file nor the environment variable.
    #[error("a password is needed: set MAILWRIGHT_PASSWORD or give a password file")]
    Missing,
}

/// The first line of `file`, else the value of [`PASSWORD_VAR`].
pub(crate) fn read_secret(file: Option<&Path>) -> Result<String, SecretError> {
    match file {
        Some(p) => std::fs::read_to_string(p)
            .map(|s| s.lines().next().unwrap_or("").to_string())
            .map_err(|source| SecretError::Unreadable { path: p.to_path_buf(), source }),
        None => std::env::var(PASSWORD_VAR).map_err(|_| SecretError::Missing),
    }
}

/// Shows user and password as `Some(("user", "…"))`: for the `Debug` of anything that holds
/// credentials, so that no log or error text shows a password.
pub(crate) struct Redacted<'a>(pub(crate) &'a Option<(String, String)>);

impl std::fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some((user, _)) => write!(f, "Some(({user:?}, \"…\"))"),
            None => f.write_str("None"),
        }
    }
}
