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
        let mut login = match (&self.token_file, &self.token_command) {
            (Some(file), _) => crate::oauth2::OAuth2::from_file(user, file),
            (None, Some(cmd)) => {
                let argv =
                    shlex::split(cmd).ok_or_else(|| CliError::usage("--oauth2-token-command: unbalanced quotes"))?;
                crate::oauth2::OAuth2::from_command(user, argv).map_err(|e| CliError::usage(e.to_string()))?
            }
            (None, None) if self.mechanism.is_some() => {
                return Err(CliError::usage("--oauth2-mechanism needs --oauth2-token-file or --oauth2-token-command"));
            }
            (None, None) => return Ok(None),
        };
        if let Some(m) = &self.mechanism {
            login.mechanism = Some(m.parse().map_err(|e: crate::oauth2::OAuth2Error| CliError::usage(e.to_string()))?);
        }
        Ok(Some(login))
    }
}
