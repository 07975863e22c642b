//! The users file of a migration: one mailbox a line, CSV
//! `source_user,source_password,dest_user,dest_password`.
//!
//! * A password is written as it is, or `file:PATH` (the file's first line; a relative path is
//!   taken from the users file's folder), or `env:VAR`; a literal password that itself starts
//!   with one of those prefixes is written `plain:…`.
//! * A cloud account logs in with an OAuth2 bearer token instead: `xoauth2:file:PATH` (the
//!   token file, read again at every login so an agent can keep it fresh) or
//!   `xoauth2:command:PROGRAM ARG…` (run at every login, argv split at spaces, no shell);
//!   `oauthbearer:` in place of `xoauth2:` for RFC 7628's mechanism.
//! * The file holds passwords: it is refused when its group or others may read it (as ssh does
//!   with a private key), and so is a `file:` password file. Errors name the line, never a
//!   password.
//! * One mailbox a line (a quoted field holds commas and `""`, not line breaks). Blank lines and
//!   lines starting with `#` are skipped, and so is a first line that names the columns. A
//!   source user listed twice is refused (two jobs would race on one state).

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use super::MigrateError;

/// A login: user and password.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    /// The user name.
    pub user: String,
    /// The password (never shown by `Debug`; empty with OAuth2).
    pub password: String,
    /// An OAuth2 login instead of the password.
    pub oauth2: Option<crate::oauth2::OAuth2>,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login").field("user", &self.user).field("password", &"…").field("oauth2", &self.oauth2).finish()
    }
}

/// One mailbox to move: where it comes from and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Its line in the users file (1-based).
    pub line: usize,
    /// The source account.
    pub source: Login,
    /// The destination account.
    pub dest: Login,
}

/// Reads the users file at `path`.
pub fn read_users(path: &Path) -> Result<Vec<Mailbox>, MigrateError> {
    private(path)?;
    let text = std::fs::read_to_string(path).map_err(|e| MigrateError::users(path, 0, e.to_string()))?;
    parse_users(&text, path, &|name| std::env::var(name).ok())
}

/// Refuses a file that group or others may read.
fn private(path: &Path) -> Result<(), MigrateError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).map_err(|e| MigrateError::users(path, 0, e.to_string()))?;
        if meta.mode() & 0o077 != 0 {
            return Err(MigrateError::users(
                path,
                0,
                format!("holds passwords but others may read it (mode {:o}); chmod 600 it", meta.mode() & 0o777),
            ));
        }
    }
    Ok(())
}

/// The users in `text` (read from `path`, which relative `file:` paths start from); `env` looks
/// up `env:` variables.
pub fn parse_users(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Mailbox>, MigrateError> {
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (i, text_line) in text.lines().enumerate() {
        let line = i + 1;
        if text_line.trim().is_empty() || text_line.trim_start().starts_with('#') {
            continue;
        }
        // One record a line, so that errors name the line the operator sees.
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text_line.as_bytes());
        let record = match reader.records().next() {
            Some(Ok(r)) => r,
            _ => return Err(MigrateError::users(path, line, "not a CSV line of four fields".to_string())),
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let fields: Vec<&str> = record.iter().collect();
        if out.is_empty() && seen.is_empty() && fields.first().is_some_and(|f| f.trim() == "source_user") {
            continue;
        }
        let [source_user, source_password, dest_user, dest_password] = fields[..] else {
            return Err(MigrateError::users(
                path,
                line,
                format!("{} fields; want source_user,source_password,dest_user,dest_password", fields.len()),
            ));
        };
        let user = |u: &str, which: &str| -> Result<String, MigrateError> {
            let u = u.trim();
            if u.is_empty() || u.chars().any(|c| c.is_control()) {
                return Err(MigrateError::users(
                    path,
                    line,
                    format!("the {which} user is empty or has control characters"),
                ));
            }
            Ok(u.to_string())
        };
        let login = |u: &str, p: &str, which: &str| -> Result<Login, MigrateError> {
            let user = user(u, which)?;
            let (password, oauth2) =
                credential(&user, p, &base, env).map_err(|why| MigrateError::users(path, line, why))?;
            Ok(Login { user, password, oauth2 })
        };
        let source = login(source_user, source_password, "source")?;
        let dest = login(dest_user, dest_password, "destination")?;
        if !seen.insert(source.user.clone()) {
            return Err(MigrateError::users(path, line, format!("{} is listed twice", source.user)));
        }
        out.push(Mailbox { line, source, dest });
    }
    Ok(out)
}

/// A password field, or an OAuth2 login (`xoauth2:`/`oauthbearer:` then `file:PATH` or
/// `command:ARGV`).
fn credential(
    user: &str,
    field: &str,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Option<crate::oauth2::OAuth2>), String> {
    use crate::oauth2::{Mechanism, OAuth2};
    let oauth = [("xoauth2:", Mechanism::XOAuth2), ("oauthbearer:", Mechanism::OAuthBearer)]
        .into_iter()
        .find_map(|(prefix, m)| field.strip_prefix(prefix).map(|rest| (rest, m)));
    let Some((source, mechanism)) = oauth else {
        return Ok((password(field, base, env)?, None));
    };
    let mut login = if let Some(file) = source.strip_prefix("file:") {
        let p = PathBuf::from(file);
        let p = if p.is_absolute() { p } else { base.join(p) };
        private(&p).map_err(|e| e.to_string())?;
        OAuth2::from_file(user, p)
    } else if let Some(command) = source.strip_prefix("command:") {
        OAuth2::from_command(user, command.split_whitespace().map(String::from).collect()).map_err(|e| e.to_string())?
    } else {
        return Err("an OAuth2 login is xoauth2:file:PATH or xoauth2:command:PROGRAM ARG… (or oauthbearer:…)".into());
    };
    login.mechanism = Some(mechanism);
    Ok((String::new(), Some(login)))
}

/// A password field: literal, `file:PATH`, `env:VAR` or `plain:LITERAL`. The error never holds
/// the field.
fn password(field: &str, base: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    if let Some(literal) = field.strip_prefix("plain:") {
        return Ok(literal.to_string());
    }
    if let Some(var) = field.strip_prefix("env:") {
        return env(var).ok_or_else(|| format!("the environment variable {var} is not set"));
    }
    if let Some(file) = field.strip_prefix("file:") {
        let p = PathBuf::from(file);
        let p = if p.is_absolute() { p } else { base.join(p) };
        private(&p).map_err(|e| e.to_string())?;
        let text = std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        return Ok(text.lines().next().unwrap_or_default().to_string());
    }
    // Empty is for a Maildir side, which needs none; an IMAP side refuses it (Settings).
    Ok(field.to_string())
}

/// The mailboxes of shard `i` of `n` (`i` from 1): every n-th, so that several machines can
/// split one users file.
pub fn shard(mailboxes: Vec<Mailbox>, i: usize, n: usize) -> Result<Vec<Mailbox>, MigrateError> {
    if n == 0 || i == 0 || i > n {
        return Err(MigrateError::Config(format!("shard {i}/{n}: want I/N with 1 ≤ I ≤ N")));
    }
    Ok(mailboxes.into_iter().enumerate().filter(|(k, _)| k % n == i - 1).map(|(_, m)| m).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "NEW_PW").then(|| "from-env".to_string())
    }

    #[test]
    fn passwords_come_literal_from_files_and_from_the_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pw = dir.path().join("alice.pw");
        std::fs::write(&pw, "from,file\nsecond line\n").expect("write");
        #[cfg(unix)]
        std::fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        let text = "source_user,source_password,dest_user,dest_password\n\
                    # a comment\n\
                    alice,file:alice.pw,alice@new.test,env:NEW_PW\n\
                    \n\
                    bob,\"pa,ss\"\"word\",bob@new.test,plain:env:literal\n";
        let users = parse_users(text, &dir.path().join("users.csv"), &env).expect("users");
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].source.password, "from,file");
        assert_eq!(users[0].dest.password, "from-env");
        assert_eq!(
            (users[1].source.password.as_str(), users[1].dest.password.as_str()),
            ("pa,ss\"word", "env:literal")
        );
        assert_eq!(users[1].line, 5);
        assert!(!format!("{users:?}").contains("pa,ss"), "no password in Debug");
    }

    #[test]
    fn cloud_accounts_log_in_with_oauth2_tokens() {
        use crate::oauth2::{Mechanism, TokenSource};
        let dir = tempfile::tempdir().expect("tempdir");
        let token = dir.path().join("bob.token");
        std::fs::write(&token, "eyJ\n").expect("write");
        #[cfg(unix)]
        std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        let text = "alice,pw,alice@cloud.test,xoauth2:command:get-token --for alice\n\
                    bob,pw,bob@cloud.test,oauthbearer:file:bob.token\n";
        let users = parse_users(text, &dir.path().join("users.csv"), &env).expect("users");
        let a = users[0].dest.oauth2.as_ref().expect("oauth2");
        assert_eq!(a.source, TokenSource::Command(vec!["get-token".into(), "--for".into(), "alice".into()]));
        assert_eq!((a.user.as_str(), a.mechanism), ("alice@cloud.test", Some(Mechanism::XOAuth2)));
        let b = users[1].dest.oauth2.as_ref().expect("oauth2");
        assert_eq!((&b.source, b.mechanism), (&TokenSource::File(token), Some(Mechanism::OAuthBearer)));
        assert!(users[0].source.oauth2.is_none() && users[1].dest.password.is_empty());
        for bad in ["a,pw,b,xoauth2:", "a,pw,b,xoauth2:command:", "a,pw,b,xoauth2:file:missing.token"] {
            assert!(parse_users(bad, &dir.path().join("users.csv"), &env).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_lines_name_their_line_and_no_password() {
        let base = Path::new("/nonexistent/users.csv");
        for (text, line, what) in [
            ("a,secret1,b\n", 1, "3 fields"),
            ("a,secret1,b,c\na,secret2,b2,c2\n", 2, "listed twice"),
            ("a,secret1,b,env:UNSET\n", 1, "UNSET is not set"),
            (",secret1,b,c\n", 1, "source user is empty"),
            ("a,file:missing.pw,b,c\n", 1, "missing.pw"),
        ] {
            let e = parse_users(text, base, &env).expect_err(text).to_string();
            assert!(e.contains(&format!(":{line}:")) && e.contains(what), "{text:?}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
        // An empty password is for a Maildir side; the settings refuse it for an IMAP one.
        assert!(parse_users("a,,b,c\n", base, &env).expect("parses")[0].source.password.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_users_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("users.csv");
        std::fs::write(&path, "a,b,c,d\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let e = read_users(&path).expect_err("readable by others").to_string();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(read_users(&path).expect("private").len(), 1);
    }

    #[test]
    fn shards_split_the_list_without_overlap() {
        let users =
            parse_users(&(0..10).map(|i| format!("u{i},p,v{i},q\n")).collect::<String>(), Path::new("u.csv"), &env)
                .expect("users");
        let parts: Vec<Vec<String>> = (1..=3)
            .map(|i| shard(users.clone(), i, 3).expect("shard").into_iter().map(|m| m.source.user).collect())
            .collect();
        assert_eq!(parts[0], ["u0", "u3", "u6", "u9"]);
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 10);
        for (i, n) in [(0, 3), (4, 3), (1, 0)] {
            assert!(shard(users.clone(), i, n).is_err());
        }
    }
}
