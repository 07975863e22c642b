//! The users file of a migration: one mailbox a line, CSV
//! `source_user,source_password,dest_user,dest_password`.
//!
//! * A password is written as it is, or `file:PATH` (the file's first line; a relative path is
//!   taken from the users file's folder), or `env:VAR`; a literal password that itself starts
//!   with one of those prefixes is written `plain:…`.
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
    /// The password (never shown by `Debug`).
    pub password: String,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login").field("user", &self.user).field("password", &"…").finish()
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
        let source = Login {
            user: user(source_user, "source")?,
            password: password(source_password, &base, env).map_err(|why| MigrateError::users(path, line, why))?,
        };
        let dest = Login {
            user: user(dest_user, "destination")?,
            password: password(dest_password, &base, env).map_err(|why| MigrateError::users(path, line, why))?,
        };
        if !seen.insert(source.user.clone()) {
            return Err(MigrateError::users(path, line, format!("{} is listed twice", source.user)));
        }
        out.push(Mailbox { line, source, dest });
    }
    Ok(out)
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
    if field.is_empty() {
        return Err("a password is empty".into());
    }
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
    fn bad_lines_name_their_line_and_no_password() {
        let base = Path::new("/nonexistent/users.csv");
        for (text, line, what) in [
            ("a,secret1,b\n", 1, "3 fields"),
            ("a,secret1,b,c\na,secret2,b2,c2\n", 2, "listed twice"),
            ("a,secret1,b,env:UNSET\n", 1, "UNSET is not set"),
            (",secret1,b,c\n", 1, "source user is empty"),
            ("a,,b,c\n", 1, "empty"),
            ("a,file:missing.pw,b,c\n", 1, "missing.pw"),
        ] {
            let e = parse_users(text, base, &env).expect_err(text).to_string();
            assert!(e.contains(&format!(":{line}:")) && e.contains(what), "{text:?}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
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
