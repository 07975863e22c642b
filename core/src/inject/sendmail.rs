//! Piping to a local `sendmail`: `sendmail -i -f FROM -- RCPT…`, run with an argument vector
//! (no shell), the message on standard input.

use std::io::Write;
use std::process::{Command, Stdio};

use super::{Envelope, InjectError, Receipt, Transport};

/// Hands messages to a sendmail program.
#[derive(Debug, Clone)]
pub struct SendmailTransport {
    program: String,
}

impl Default for SendmailTransport {
    fn default() -> Self {
        SendmailTransport { program: "/usr/sbin/sendmail".into() }
    }
}

impl SendmailTransport {
    /// `/usr/sbin/sendmail`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Another program with sendmail's interface.
    pub fn with_program(program: impl Into<String>) -> Self {
        SendmailTransport { program: program.into() }
    }
}

impl Transport for SendmailTransport {
    fn send_raw(&mut self, envelope: &Envelope, raw: &[u8]) -> Result<Receipt, InjectError> {
        let mut cmd = Command::new(&self.program);
        cmd.arg("-i");
        if !envelope.from().is_empty() {
            cmd.arg("-f").arg(envelope.from());
        }
        cmd.arg("--").args(envelope.to());
        cmd.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
        // The local MTA needs its own environment (MAIL_CONFIG…), not our secrets.
        cmd.env_remove("MAILWRIGHT_PASSWORD");
        let mut child = cmd.spawn().map_err(|source| InjectError::Spawn { program: self.program.clone(), source })?;
        let wrote = child.stdin.take().map(|mut stdin| stdin.write_all(raw));
        let out =
            child.wait_with_output().map_err(|source| InjectError::Spawn { program: self.program.clone(), source })?;
        if out.status.success() && !matches!(wrote, Some(Err(_))) {
            return Ok(Receipt::all_accepted("sendmail", self.program.clone(), None, envelope));
        }
        let stderr = String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("").to_string();
        Err(InjectError::Sendmail { program: self.program.clone(), code: out.status.code(), stderr })
    }
}
