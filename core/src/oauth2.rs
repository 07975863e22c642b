//! OAuth 2.0 bearer tokens for IMAP and SMTP logins, as cloud mail providers want them: SASL
//! `XOAUTH2` (Google's, which Microsoft also speaks) and `OAUTHBEARER` (RFC 7628).
//!
//! mailwright does not run the OAuth flow: a token comes from a file, which is read again at
//! every login (so an agent can keep it fresh), or from a command, run with its argv (no shell)
//! at every login — and once more when the server refuses the token, which is how an expired
//! token shows. The command's first line of output is the token; it gets the environment
//! without mailwright's own secrets, no input, and [`COMMAND_TIMEOUT`].

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

/// How long a token command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The most a token command may print (a token is a few KB).
const MAX_OUTPUT: u64 = 64 * 1024;

/// Why there is no token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OAuth2Error {
    /// The token file could not be read.
    #[error("cannot read the OAuth2 token file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The token command failed.
    #[error("the OAuth2 token command {program:?} failed: {detail}")]
    Command {
        /// Its program.
        program: String,
        /// What went wrong (its exit status and the start of its error output).
        detail: String,
    },
    /// The file or command gave no token.
    #[error("the OAuth2 token from {0} is empty")]
    Empty(String),
    /// The configuration is unusable.
    #[error("{0}")]
    Config(String),
}

impl OAuth2Error {
    /// Whether trying later may work (a token command can fail while its provider is away).
    pub fn is_transient(&self) -> bool {
        matches!(self, OAuth2Error::Command { .. })
    }
}

/// Where the token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// A file whose first line is the token.
    File(PathBuf),
    /// A program and its arguments, run without a shell.
    Command(Vec<String>),
}

/// Which SASL mechanism carries the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// `XOAUTH2`: `user=…^Aauth=Bearer …^A^A`.
    XOAuth2,
    /// `OAUTHBEARER` (RFC 7628): a GS2 header, the host and port, and the bearer token.
    OAuthBearer,
}

impl std::str::FromStr for Mechanism {
    type Err = OAuth2Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "xoauth2" => Ok(Mechanism::XOAuth2),
            "oauthbearer" => Ok(Mechanism::OAuthBearer),
            _ => Err(OAuth2Error::Config(format!("{s:?} is not xoauth2 or oauthbearer"))),
        }
    }
}

impl Mechanism {
    /// Its SASL name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// What a client answers to the server's error challenge, to get the final refusal.
    pub(crate) fn abort(self) -> &'static [u8] {
        match self {
            Mechanism::XOAuth2 => b"",
            Mechanism::OAuthBearer => b"\x01",
        }
    }
}

/// An OAuth2 login: the user, where the token comes from, and the mechanism (`None`: for SMTP
/// the one the server offers, OAUTHBEARER first; for IMAP XOAUTH2, which every provider speaks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2 {
    /// The account.
    pub user: String,
    /// Where the token comes from.
    pub source: TokenSource,
    /// The mechanism, when it must be this one.
    pub mechanism: Option<Mechanism>,
}

/// A bearer token; its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl OAuth2 {
    /// A login with a token from this file.
    pub fn from_file(user: &str, path: impl Into<PathBuf>) -> Self {
        OAuth2 { user: user.into(), source: TokenSource::File(path.into()), mechanism: None }
    }

    /// A login with a token printed by this command (program and arguments).
    pub fn from_command(user: &str, argv: Vec<String>) -> Result<Self, OAuth2Error> {
        if argv.first().is_none_or(String::is_empty) {
            return Err(OAuth2Error::Config("the OAuth2 token command is empty".into()));
        }
        Ok(OAuth2 { user: user.into(), source: TokenSource::Command(argv), mechanism: None })
    }

    /// The login that options name: a token file or a token command (not both), and a
    /// mechanism; `None` when neither source is given.
    pub fn from_options(
        user: &str,
        file: Option<&std::path::Path>,
        command: Option<&[String]>,
        mechanism: Option<&str>,
    ) -> Result<Option<Self>, OAuth2Error> {
        let mut login = match (file, command) {
            (Some(_), Some(_)) => {
                return Err(OAuth2Error::Config("give an OAuth2 token file or a token command, not both".into()));
            }
            (Some(file), None) => OAuth2::from_file(user, file),
            (None, Some(argv)) => OAuth2::from_command(user, argv.to_vec())?,
            (None, None) if mechanism.is_some() => {
                return Err(OAuth2Error::Config("an OAuth2 mechanism needs a token file or a token command".into()));
            }
            (None, None) => return Ok(None),
        };
        login.mechanism = mechanism.map(str::parse).transpose()?;
        Ok(Some(login))
    }

    /// A fresh token: the file read again, or the command run again.
    pub fn token(&self) -> Result<Token, OAuth2Error> {
        let (text, from) = match &self.source {
            TokenSource::File(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| OAuth2Error::File { path: path.clone(), source })?;
                (text, path.display().to_string())
            }
            TokenSource::Command(argv) => (run(argv)?, format!("{:?}", argv[0])),
        };
        let token = text.lines().next().unwrap_or_default().trim().to_string();
        if token.is_empty() {
            return Err(OAuth2Error::Empty(from));
        }
        Ok(Token(token))
    }

    /// The mechanism's initial response, before base64.
    pub(crate) fn initial_response(&self, mechanism: Mechanism, token: &Token, host: &str, port: u16) -> Vec<u8> {
        match mechanism {
            Mechanism::XOAuth2 => format!("user={}\x01auth=Bearer {}\x01\x01", self.user, token.0).into_bytes(),
            Mechanism::OAuthBearer => {
                // RFC 5801's saslname: "," and "=" escaped.
                let user = self.user.replace('=', "=3D").replace(',', "=2C");
                format!("n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {}\x01\x01", token.0).into_bytes()
            }
        }
    }

    /// The same, base64-encoded (for SMTP's `AUTH <mechanism> <response>`).
    pub(crate) fn initial_response_base64(&self, mechanism: Mechanism, token: &Token, host: &str, port: u16) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.initial_response(mechanism, token, host, port))
    }
}

/// Runs the token command: its standard output, or why not.
fn run(argv: &[String]) -> Result<String, OAuth2Error> {
    let program = argv[0].clone();
    let failed = |detail: String| OAuth2Error::Command { program: program.clone(), detail };
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .env_remove(crate::secret::PASSWORD_VAR)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(e.to_string()))?;
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(failed("no output pipes".into()));
    };
    // Read both on threads, so that a command filling one pipe never blocks on the other and
    // the timeout below holds however it behaves.
    // Past the limit the pipe is closed: the command gets SIGPIPE rather than an audience.
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stdout).take(MAX_OUTPUT).read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stderr).take(4096).read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).trim().to_string()
    });
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!("did not finish within {} s", COMMAND_TIMEOUT.as_secs())));
            }
            Err(e) => return Err(failed(e.to_string())),
        }
    };
    let (out, err) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    if !status.success() {
        let said = if err.is_empty() { String::new() } else { format!(": {}", err.lines().next().unwrap_or("")) };
        return Err(failed(format!("{status}{said}")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_responses_follow_the_mechanisms() {
        let o = OAuth2::from_file("bob,x=@example.test", "/nonexistent");
        let t = Token("tok".into());
        assert_eq!(
            o.initial_response(Mechanism::XOAuth2, &t, "h", 1),
            b"user=bob,x=@example.test\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(
            o.initial_response(Mechanism::OAuthBearer, &t, "imap.example.test", 993),
            b"n,a=bob=2Cx=3D@example.test,\x01host=imap.example.test\x01port=993\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(format!("{t:?}"), "Token(…)");
        assert_eq!("OAuthBearer".parse::<Mechanism>().expect("name"), Mechanism::OAuthBearer);
        assert!("plain".parse::<Mechanism>().is_err());
    }

    #[test]
    fn tokens_from_files_and_commands_and_their_failures() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("token");
        std::fs::write(&file, "  abc.def  \nsecond line\n").expect("write");
        assert_eq!(OAuth2::from_file("u", &file).token().expect("token").0, "abc.def");
        std::fs::write(&file, "\n").expect("write");
        assert!(matches!(OAuth2::from_file("u", &file).token(), Err(OAuth2Error::Empty(_))));
        assert!(matches!(OAuth2::from_file("u", dir.path().join("none")).token(), Err(OAuth2Error::File { .. })));

        let cmd = |args: &[&str]| OAuth2::from_command("u", args.iter().map(|s| s.to_string()).collect());
        let o = cmd(&["sh", "-c", "echo \"t-$1\"; echo ignored", "sh", "arg; not a shell"]).expect("command");
        assert_eq!(o.token().expect("token").0, "t-arg; not a shell");
        // The command never sees mailwright's password.
        let o = cmd(&["sh", "-c", "echo \"[${MAILWRIGHT_PASSWORD:-unset}]\""]).expect("command");
        assert_eq!(o.token().expect("token").0, "[unset]");
        let e = cmd(&["sh", "-c", "echo expired >&2; exit 3"]).expect("command").token().expect_err("fails");
        assert!(e.to_string().contains("expired") && e.to_string().contains('3'), "{e}");
        assert!(cmd(&["/nonexistent/program"]).expect("command").token().is_err());
        assert!(cmd(&[]).is_err() && cmd(&[""]).is_err());
        // A command that floods its output is cut off, not buffered without bound or waited for.
        let start = Instant::now();
        let o = cmd(&["sh", "-c", "echo tok; exec yes"]).expect("command");
        assert!(o.token().is_err(), "killed by the closed pipe");
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
