//! Either side of a migration, whatever it is: an IMAP account or a local Maildir. The copy and
//! the proof ask the same questions of both.

use super::imap::{self, Appended, Message, Numbering, Side};
pub(crate) use super::maildir::Access;
use super::maildir::{self, MaildirRoot, MaildirSide};
use super::{Folder, Login, MigrateError};
use crate::fetch::ImapConfig;

/// Where mailboxes come from or go to.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // two per run
pub enum Endpoint {
    /// An IMAP server; its `user` and `password` are each mailbox's.
    Imap(ImapConfig),
    /// A Maildir per account, under a path template.
    Maildir(MaildirRoot),
}

impl Endpoint {
    /// The IMAP server, if it is one.
    pub fn imap(&self) -> Option<&ImapConfig> {
        match self {
            Endpoint::Imap(c) => Some(c),
            Endpoint::Maildir(_) => None,
        }
    }
}

impl From<ImapConfig> for Endpoint {
    fn from(c: ImapConfig) -> Self {
        Endpoint::Imap(c)
    }
}

/// One account, open.
#[allow(clippy::large_enum_variant)] // two per job
pub(crate) enum Store {
    Imap(Side),
    Maildir(MaildirSide),
}

/// Messages being stored.
pub(crate) enum Appender<'a> {
    Imap(imap::Appender<'a>),
    Maildir(maildir::Appender<'a>),
}

impl Store {
    /// Logs in (IMAP) or opens the account's Maildir as `access` says.
    pub(crate) async fn connect(
        endpoint: &Endpoint,
        login: &Login,
        state_dir: &std::path::Path,
        access: Access,
    ) -> Result<Self, MigrateError> {
        Ok(match endpoint {
            Endpoint::Imap(template) => {
                let mut c = template.clone();
                c.user = login.user.clone();
                c.password = login.password.clone();
                c.oauth2 = login.oauth2.clone();
                Store::Imap(Side::connect(c).await?)
            }
            Endpoint::Maildir(root) => {
                Store::Maildir(MaildirSide::connect(root.path_for(&login.user)?, root.layout, state_dir, access)?)
            }
        })
    }

    /// Whether stored messages come back with their UIDs.
    pub(crate) fn uidplus(&self) -> bool {
        match self {
            Store::Imap(s) => s.uidplus,
            Store::Maildir(_) => true,
        }
    }

    pub(crate) async fn folders(&mut self) -> Result<Vec<Folder>, MigrateError> {
        match self {
            Store::Imap(s) => s.folders().await,
            Store::Maildir(m) => m.folders(),
        }
    }

    pub(crate) async fn subscribed(&mut self) -> Result<Vec<String>, MigrateError> {
        match self {
            Store::Imap(s) => s.subscribed().await,
            Store::Maildir(m) => m.subscribed(),
        }
    }

    pub(crate) async fn create(&mut self, folder: &str, subscribe: bool) -> Result<(), MigrateError> {
        match self {
            Store::Imap(s) => s.create(folder, subscribe).await,
            Store::Maildir(m) => m.create(folder, subscribe),
        }
    }

    pub(crate) async fn subscribe(&mut self, folder: &str) -> Result<(), MigrateError> {
        match self {
            Store::Imap(s) => s.subscribe(folder).await,
            Store::Maildir(m) => m.subscribe(folder),
        }
    }

    pub(crate) async fn open(&mut self, folder: &str, write: bool) -> Result<Numbering, MigrateError> {
        match self {
            Store::Imap(s) => s.open(folder, write).await,
            Store::Maildir(m) => m.open(folder, write),
        }
    }

    pub(crate) async fn flags(&mut self) -> Result<Vec<(u32, Vec<String>)>, MigrateError> {
        match self {
            Store::Imap(s) => s.flags().await,
            Store::Maildir(m) => m.flags(),
        }
    }

    pub(crate) async fn sizes(&mut self) -> Result<Vec<(u32, u64)>, MigrateError> {
        match self {
            Store::Imap(s) => s.sizes().await,
            Store::Maildir(m) => m.sizes(),
        }
    }

    /// The messages `uids` (ascending; all when `None`) of the open folder, one at a time.
    pub(crate) async fn messages<F>(&mut self, uids: Option<&[u32]>, each: &mut F) -> Result<(), MigrateError>
    where
        F: AsyncFnMut(Message) -> Result<(), MigrateError>,
    {
        match self {
            Store::Imap(s) => {
                let set = uids.map_or_else(|| "1:*".to_string(), super::copy::uid_set);
                s.messages(&set, each).await
            }
            Store::Maildir(m) => m.messages(uids, each).await,
        }
    }

    pub(crate) async fn hashes_after(&mut self, after: u32) -> Result<Vec<(u32, [u8; 32])>, MigrateError> {
        match self {
            Store::Imap(s) => s.hashes_after(after).await,
            Store::Maildir(m) => m.hashes_after(after).await,
        }
    }

    pub(crate) async fn store_flags(&mut self, uids: &[u32], flags: &[String]) -> Result<(), MigrateError> {
        match self {
            Store::Imap(s) => s.store_flags(&super::copy::uid_set(uids), flags).await,
            Store::Maildir(m) => m.store_flags(uids, flags),
        }
    }

    pub(crate) async fn uidnext(&mut self, folder: &str) -> Result<u32, MigrateError> {
        match self {
            Store::Imap(s) => s.uidnext(folder).await,
            Store::Maildir(m) => m.uidnext(folder),
        }
    }

    pub(crate) fn appender(&mut self, folder: &str) -> Result<Appender<'_>, MigrateError> {
        Ok(match self {
            Store::Imap(s) => Appender::Imap(s.appender(folder)?),
            Store::Maildir(m) => Appender::Maildir(m.appender(folder)?),
        })
    }

    pub(crate) async fn logout(self) {
        if let Store::Imap(s) = self {
            s.logout().await;
        }
    }
}

impl Appender<'_> {
    /// Stores one message with its flags and INTERNALDATE (IMAP's form and seconds since 1970);
    /// returns the answers that came in meanwhile, oldest first.
    pub(crate) async fn send(
        &mut self,
        flags: &[String],
        date: Option<&(String, i64)>,
        body: &[u8],
    ) -> Result<Vec<Appended>, MigrateError> {
        match self {
            Appender::Imap(a) => a.send(flags, date.map(|(d, _)| d.as_str()), body).await,
            Appender::Maildir(a) => a.send(flags, date.map(|(_, s)| *s), body),
        }
    }

    /// Every answer still owed.
    pub(crate) async fn finish(&mut self) -> Result<Vec<Appended>, MigrateError> {
        match self {
            Appender::Imap(a) => a.finish().await,
            Appender::Maildir(a) => a.finish(),
        }
    }
}
