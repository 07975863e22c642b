//! One side of a migration over IMAP: an account's folders as LIST shows them. The connection
//! (TLS, the login, OAuth2) is the fetch module's.

use futures_util::TryStreamExt;

use super::MigrateError;
use super::folders::{Folder, SpecialUse, decode_mutf7};
use crate::fetch::{FetchError, ImapConfig};

/// A logged-in account on one server.
pub struct Account {
    runtime: tokio::runtime::Runtime,
    session: crate::fetch::Session,
    config: ImapConfig,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account").field("config", &self.config).finish()
    }
}

impl Account {
    /// Connects and logs in.
    pub fn connect(config: ImapConfig) -> Result<Self, MigrateError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| MigrateError::Config(format!("cannot start the I/O runtime: {e}")))?;
        let session = runtime.block_on(crate::fetch::login(&config))?;
        Ok(Account { runtime, session, config })
    }

    /// Every folder, with its separator, special use and whether it can hold messages. Names
    /// are decoded from modified UTF-7. When the server marks no folder with a special use, the
    /// common names (Sent Items, Trash, …) stand in.
    pub fn folders(&mut self) -> Result<Vec<Folder>, MigrateError> {
        use async_imap::types::NameAttribute as A;
        let timeout = self.config.timeout;
        let session = &mut self.session;
        let names = self.runtime.block_on(async {
            let stream = tokio::time::timeout(timeout, session.list(Some(""), Some("*")))
                .await
                .map_err(|_| FetchError::Timeout("LIST"))?
                .map_err(|e| FetchError::Imap { stage: "LIST".into(), detail: e.to_string() })?;
            tokio::time::timeout(timeout, stream.try_collect::<Vec<_>>())
                .await
                .map_err(|_| FetchError::Timeout("LIST"))?
                .map_err(|e| FetchError::Imap { stage: "LIST".into(), detail: e.to_string() })
        })?;
        let mut out = Vec::with_capacity(names.len());
        for n in &names {
            let special = n.attributes().iter().find_map(|a| match a {
                A::Sent => Some(SpecialUse::Sent),
                A::Drafts => Some(SpecialUse::Drafts),
                A::Trash => Some(SpecialUse::Trash),
                A::Junk => Some(SpecialUse::Junk),
                A::Archive => Some(SpecialUse::Archive),
                _ => None,
            });
            let selectable = !n.attributes().iter().any(|a| {
                matches!(a, A::NoSelect) || matches!(a, A::Extension(e) if e.eq_ignore_ascii_case("\\NonExistent"))
            });
            out.push(Folder {
                name: decode_mutf7(n.name())?,
                separator: n.delimiter().and_then(|d| d.chars().next()),
                special,
                selectable,
            });
        }
        if out.iter().all(|f| f.special.is_none()) {
            for f in &mut out {
                let last = match f.separator {
                    Some(sep) => f.name.rsplit(sep).next().unwrap_or(&f.name),
                    None => &f.name,
                };
                f.special = SpecialUse::from_name(last);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Logs out (at most five seconds).
    pub fn logout(mut self) {
        let _ = self
            .runtime
            .block_on(async { tokio::time::timeout(std::time::Duration::from_secs(5), self.session.logout()).await });
    }
}
