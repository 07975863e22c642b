//! The password of every command that logs in: never from argv.

use std::path::PathBuf;

use super::CliError;

/// The password of `--user`: `--password-file`, else `MAILWRIGHT_PASSWORD`.
pub(crate) fn password(file: Option<&PathBuf>) -> Result<String, CliError> {
    crate::secret::read_secret(file.map(PathBuf::as_path)).map_err(|e| CliError::usage(format!("--user: {e}")))
}

/// OAuth2 instead of a password (`fetch`, and `send`/`queue flush` to a submission server).
#[derive(clap::Args, Debug, Default)]
pub(crate) struct OAuth2Args {
    /// Log in with an OAuth2 bearer token: the first line of this file, read again at every
    /// login (so that an agent can keep it fresh).
    #[arg(long = "oauth2-token-file", value_name = "FILE", conflicts_with = "token_command")]
    token_file: Option<PathBuf>,
    /// Log in with the OAuth2 bearer token this command prints: words split as a shell would,
    /// run without a shell, again at every login and when the server refuses the token.
    #[arg(long = "oauth2-token-command", value_name = "COMMAND")]
    token_command: Option<String>,
    /// The SASL mechanism for the token: xoauth2 or oauthbearer [default: IMAP xoauth2; SMTP
    /// what the server offers, oauthbearer first].
    #[arg(long = "oauth2-mechanism", value_name = "MECHANISM")]
    mechanism: Option<String>,
}

impl OAuth2Args {
    /// Whether a token was asked for.
    pub(crate) fn given(&self) -> bool {
        self.token_file.is_some() || self.token_command.is_some()
    }

    /// The OAuth2 login of `user`, when a token was asked for.
    pub(crate) fn login(&self, user: &str) -> Result<Option<crate::oauth2::OAuth2>, CliError> {
        let argv = match &self.token_command {
            Some(cmd) => {
                Some(shlex::split(cmd).ok_or_else(|| CliError::usage("--oauth2-token-command: unbalanced quotes"))?)
            }
            None => None,
        };
        crate::oauth2::OAuth2::from_options(
            user,
            self.token_file.as_deref(),
            argv.as_deref(),
            self.mechanism.as_deref(),
        )
        .map_err(|e| CliError::usage(format!("--oauth2-*: {e}")))
    }
}
