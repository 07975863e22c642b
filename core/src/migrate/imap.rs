//! One side of a migration over IMAP. The connection (TLS, the login, OAuth2) is the fetch
//! module's; what is here is what a migration asks of a server: its folders as LIST shows them,
//! a folder's numbering, messages streamed with their flags and dates, and APPEND pipelined
//! (LITERAL+, RFC 7888) with the UIDs the server gives them (UIDPLUS, RFC 4315).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use async_imap::imap_proto::rfc4315::UidSetMember;
use async_imap::imap_proto::{Response, ResponseCode, Status};
use futures_util::{StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;

use super::MigrateError;
use super::folders::{Folder, SpecialUse, decode_mutf7, encode_mutf7};
use crate::fetch::{FetchError, ImapConfig, imap_err, timed};

/// Messages sent before their answers are read (with LITERAL+).
const APPEND_WINDOW: usize = 32;
/// With MULTIAPPEND (RFC 3502) one APPEND carries up to this many messages or bytes: the server
/// stores them in one transaction (one sync of its disk instead of one a message).
const GROUP_MESSAGES: usize = 32;
const GROUP_BYTES: usize = 8 << 20;

/// A logged-in account, driven by the caller's runtime.
pub(crate) struct Side {
    session: crate::fetch::Session,
    pub(crate) config: ImapConfig,
    /// UIDPLUS: APPEND answers with the new message's UID.
    pub(crate) uidplus: bool,
    /// LITERAL+: APPENDs can be pipelined.
    literal_plus: bool,
    /// MULTIAPPEND: one APPEND can carry many messages.
    multiappend: bool,
    /// UTF8=ACCEPT (RFC 6855) enabled: folder names travel as UTF-8, not modified UTF-7.
    pub(crate) utf8: bool,
    tag: u64,
}

/// A folder's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Numbering {
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub exists: u32,
}

/// A message as the source serves it.
pub(crate) struct Message {
    pub uid: u32,
    /// System flags and keywords, `\Recent` left out, in the server's spelling.
    pub flags: Vec<String>,
    /// INTERNALDATE in IMAP's form (`02-Dec-2026 05:16:20 +0000`) and as seconds since 1970.
    pub date: Option<(String, i64)>,
    pub body: Vec<u8>,
}

/// What the server said to one APPEND.
#[derive(Debug)]
pub(crate) enum Appended {
    /// Stored; the UID when the server says it (UIDPLUS).
    Ok(Option<u32>),
    /// Refused: the response code (`OVERQUOTA`, `LIMIT`, …) if any, and the server's words.
    No(Option<String>, String),
}

impl Side {
    pub(crate) async fn connect(config: ImapConfig) -> Result<Self, MigrateError> {
        let mut session = crate::fetch::login(&config).await?;
        let caps = timed(config.timeout, "CAPABILITY", session.capabilities()).await?;
        let (uidplus, literal_plus) = (caps.has_str("UIDPLUS"), caps.has_str("LITERAL+"));
        let multiappend = literal_plus && caps.has_str("MULTIAPPEND");
        // RFC 6855: names in UTF-8 once a server that offers it takes ENABLE (RFC 5161: it
        // enables what it advertises); otherwise modified UTF-7.
        let utf8 = if caps.has_str("UTF8=ACCEPT") || caps.has_str("UTF8=ONLY") {
            match timed(config.timeout, "ENABLE", session.run_command_and_check_ok("ENABLE UTF8=ACCEPT")).await {
                Ok(()) => true,
                // A refusal leaves the connection usable; a timeout or a drop does not.
                Err(FetchError::Imap { .. }) => false,
                Err(e) => return Err(e.into()),
            }
        } else {
            false
        };
        Ok(Side { session, config, uidplus, literal_plus, multiappend, utf8, tag: 0 })
    }

    fn timeout(&self) -> Duration {
        self.config.timeout
    }

    /// A name as LIST gives it, decoded (UTF-8 as it is once UTF8=ACCEPT is enabled).
    fn decode(&self, wire: &str) -> Result<String, MigrateError> {
        if self.utf8 { Ok(wire.to_string()) } else { decode_mutf7(wire) }
    }

    /// Every folder, with its separator, special use and whether it can hold messages. Names
    /// are decoded from modified UTF-7. When the server marks no folder with a special use, the
    /// common names (Sent Items, Trash, …) stand in.
    pub(crate) async fn folders(&mut self) -> Result<Vec<Folder>, MigrateError> {
        use async_imap::types::NameAttribute as A;
        let timeout = self.timeout();
        let stream = timed(timeout, "LIST", self.session.list(Some(""), Some("*"))).await?;
        let names = all(timeout, "LIST", stream).await?;
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
                name: self.decode(n.name())?,
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

    /// The subscribed folders (decoded).
    pub(crate) async fn subscribed(&mut self) -> Result<Vec<String>, MigrateError> {
        let timeout = self.timeout();
        let stream = timed(timeout, "LSUB", self.session.lsub(Some(""), Some("*"))).await?;
        let names = all(timeout, "LSUB", stream).await?;
        names.iter().map(|n| self.decode(n.name())).collect()
    }

    /// Creates a folder (one that exists already is fine) and subscribes it when asked.
    pub(crate) async fn create(&mut self, folder: &str, subscribe: bool) -> Result<(), MigrateError> {
        let wire = wire_name(folder, self.utf8)?;
        let timeout = self.timeout();
        if let Err(e) = timed(timeout, "CREATE", self.session.run_command_and_check_ok(format!("CREATE {wire}"))).await
        {
            // Already there (ALREADYEXISTS, RFC 5530) is what a rerun sees.
            if !self.folders().await?.iter().any(|f| f.name == folder) {
                return Err(e.into());
            }
        }
        if subscribe {
            timed(timeout, "SUBSCRIBE", self.session.run_command_and_check_ok(format!("SUBSCRIBE {wire}"))).await?;
        }
        Ok(())
    }

    /// Subscribes a folder.
    pub(crate) async fn subscribe(&mut self, folder: &str) -> Result<(), MigrateError> {
        let wire = wire_name(folder, self.utf8)?;
        timed(self.timeout(), "SUBSCRIBE", self.session.run_command_and_check_ok(format!("SUBSCRIBE {wire}"))).await?;
        Ok(())
    }

    /// Opens a folder read-only (EXAMINE changes no flag, not even \Recent) or read-write.
    pub(crate) async fn open(&mut self, folder: &str, write: bool) -> Result<Numbering, MigrateError> {
        let wire = encoded(folder, self.utf8)?;
        let timeout = self.timeout();
        let mailbox = if write {
            timed(timeout, "SELECT", self.session.select(&wire)).await?
        } else {
            timed(timeout, "EXAMINE", self.session.examine(&wire)).await?
        };
        Ok(Numbering {
            uidvalidity: mailbox.uid_validity.unwrap_or(0),
            uidnext: mailbox.uid_next.unwrap_or(0),
            exists: mailbox.exists,
        })
    }

    /// Every message's UID and flags in the open folder.
    pub(crate) async fn flags(&mut self) -> Result<Vec<(u32, Vec<String>)>, MigrateError> {
        let timeout = self.timeout();
        let stream = timed(timeout, "UID FETCH FLAGS", self.session.uid_fetch("1:*", "(UID FLAGS)")).await?;
        let items = all(timeout * 4, "UID FETCH FLAGS", stream).await?;
        let mut out: Vec<(u32, Vec<String>)> =
            items.iter().filter_map(|f| Some((f.uid?, flag_names(f.flags())))).collect();
        out.sort_unstable_by_key(|(uid, _)| *uid);
        out.dedup_by_key(|(uid, _)| *uid);
        Ok(out)
    }

    /// Every message's UID and size in the open folder.
    pub(crate) async fn sizes(&mut self) -> Result<Vec<(u32, u64)>, MigrateError> {
        let timeout = self.timeout();
        let stream = timed(timeout, "UID FETCH SIZE", self.session.uid_fetch("1:*", "(UID RFC822.SIZE)")).await?;
        let items = all(timeout * 4, "UID FETCH SIZE", stream).await?;
        Ok(items.iter().filter_map(|f| Some((f.uid?, u64::from(f.size?)))).collect())
    }

    /// Streams the messages `uids` (a UID set such as `4:9,12`) of the open folder to `each`, in
    /// the server's order; a message is held in memory only while `each` has it.
    pub(crate) async fn messages<F>(&mut self, uids: &str, each: &mut F) -> Result<(), MigrateError>
    where
        F: AsyncFnMut(Message) -> Result<(), MigrateError>,
    {
        let timeout = self.timeout();
        let query = "(UID FLAGS INTERNALDATE BODY.PEEK[])";
        let mut stream = timed(timeout, "UID FETCH", self.session.uid_fetch(uids, query)).await?;
        loop {
            let item = match tokio::time::timeout(timeout, stream.next()).await {
                Err(_) => return Err(FetchError::Timeout("UID FETCH").into()),
                Ok(None) => return Ok(()),
                Ok(Some(item)) => item.map_err(imap_err("UID FETCH"))?,
            };
            let (Some(uid), Some(body)) = (item.uid, item.body()) else {
                continue;
            };
            let date = item.internal_date().map(|d| (d.format("%d-%b-%Y %H:%M:%S %z").to_string(), d.timestamp()));
            let message = Message { uid, flags: flag_names(item.flags()), date, body: body.to_vec() };
            drop(item);
            each(message).await?;
        }
    }

    /// The open folder's messages above `after`: UID and SHA-256 (bodies are not kept).
    pub(crate) async fn hashes_after(&mut self, after: u32) -> Result<Vec<(u32, [u8; 32])>, MigrateError> {
        use sha2::Digest;
        let mut out = Vec::new();
        self.messages(&format!("{}:*", after.saturating_add(1)), &mut async |m: Message| {
            // "n:*" names the last message even when its UID is below n.
            if m.uid > after {
                out.push((m.uid, sha2::Sha256::digest(&m.body).into()));
            }
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Sets the flags of messages in the open (selected) folder.
    pub(crate) async fn store_flags(&mut self, uids: &str, flags: &[String]) -> Result<(), MigrateError> {
        let list = flag_list(flags);
        let timeout = self.timeout();
        let stream = timed(timeout, "UID STORE", self.session.uid_store(uids, format!("FLAGS.SILENT {list}"))).await?;
        all(timeout, "UID STORE", stream).await?;
        Ok(())
    }

    /// The next UID a folder will give (STATUS), without opening it.
    pub(crate) async fn uidnext(&mut self, folder: &str) -> Result<u32, MigrateError> {
        let wire = encoded(folder, self.utf8)?;
        let mailbox = timed(self.timeout(), "STATUS", self.session.status(&wire, "(UIDNEXT)")).await?;
        Ok(mailbox.uid_next.unwrap_or(0))
    }

    /// Starts an APPEND pipeline into `folder`.
    pub(crate) fn appender(&mut self, folder: &str) -> Result<Appender<'_>, MigrateError> {
        let wire = wire_name(folder, self.utf8)?;
        let (window, group) = match (self.literal_plus, self.multiappend) {
            (true, true) => (APPEND_WINDOW / GROUP_MESSAGES + 1, GROUP_MESSAGES),
            (true, false) => (APPEND_WINDOW, 1),
            (false, _) => (1, 1),
        };
        Ok(Appender { side: self, wire, window, group, open: None, waiting: VecDeque::new(), early: HashMap::new() })
    }

    /// Logs out (at most five seconds).
    pub(crate) async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

/// APPENDs on their way: sent, answers read as the window fills.
pub(crate) struct Appender<'a> {
    side: &'a mut Side,
    wire: String,
    /// Commands in flight at most.
    window: usize,
    /// Messages a command carries at most.
    group: usize,
    /// The command being written: its tag, messages and bytes so far.
    open: Option<(String, usize, usize)>,
    /// Commands sent and not yet answered, oldest first, with the messages each carries.
    waiting: VecDeque<(String, usize)>,
    /// Answers that came before older ones (a proxy may answer out of turn).
    early: HashMap<String, Group>,
}

/// What the server said to one APPEND command (of one message or several).
#[derive(Debug, Clone)]
enum Group {
    /// Stored; the UIDs it gave (UIDPLUS), in order, if it said.
    Ok(Vec<u32>),
    /// Refused, all of it.
    No(Option<String>, String),
}

impl Appender<'_> {
    /// Sends one message; returns the answers that had to be read to make room (oldest first,
    /// one per message sent before).
    pub(crate) async fn send(
        &mut self,
        flags: &[String],
        date: Option<&str>,
        body: &[u8],
    ) -> Result<Vec<Appended>, MigrateError> {
        let mut answers = Vec::new();
        let mut head = String::new();
        if self.open.is_none() {
            while self.waiting.len() >= self.window {
                answers.extend(self.answer().await?);
            }
            self.side.tag += 1;
            let tag = format!("M{}", self.side.tag);
            head = format!("{tag} APPEND {}", self.wire);
            self.open = Some((tag, 0, 0));
        }
        head.push_str(&format!(" {}", flag_list(flags)));
        if let Some(d) = date {
            head.push_str(&format!(" \"{d}\""));
        }
        let plus = self.side.literal_plus;
        head.push_str(&format!(" {{{}{}}}\r\n", body.len(), if plus { "+" } else { "" }));
        self.write(&[head.as_bytes()]).await?;
        if !plus {
            // A synchronizing literal: the server says go on first.
            loop {
                match self.read().await? {
                    Reply::Continue => break,
                    Reply::Done { answer: Group::No(code, detail), .. } => {
                        self.open = None;
                        answers.push(Appended::No(code, detail));
                        return Ok(answers);
                    }
                    Reply::Bye(detail) => return Err(bye(&detail)),
                    _ => {}
                }
            }
        }
        self.write(&[body]).await?;
        let full = match &mut self.open {
            Some((_, n, bytes)) => {
                *n += 1;
                *bytes += body.len();
                *n >= self.group || *bytes >= GROUP_BYTES
            }
            None => true,
        };
        if full {
            self.close().await?;
        }
        Ok(answers)
    }

    /// Ends the command being written.
    async fn close(&mut self) -> Result<(), MigrateError> {
        if let Some((tag, n, _)) = self.open.take() {
            self.write(&[b"\r\n"]).await?;
            self.waiting.push_back((tag, n));
        }
        Ok(())
    }

    async fn write(&mut self, parts: &[&[u8]]) -> Result<(), MigrateError> {
        let timeout = self.side.timeout();
        let io = self.side.session.get_mut();
        let sent = async {
            for p in parts {
                io.write_all(p).await?;
            }
            io.flush().await
        };
        tokio::time::timeout(timeout, sent)
            .await
            .map_err(|_| FetchError::Timeout("APPEND"))?
            .map_err(|e| FetchError::Imap { stage: "APPEND".into(), detail: e.to_string() }.into())
    }

    /// Ends the command being written and reads every answer still owed.
    pub(crate) async fn finish(&mut self) -> Result<Vec<Appended>, MigrateError> {
        self.close().await?;
        let mut answers = Vec::new();
        while !self.waiting.is_empty() {
            answers.extend(self.answer().await?);
        }
        Ok(answers)
    }

    /// The next response, as much of it as an APPEND needs.
    async fn read(&mut self) -> Result<Reply, MigrateError> {
        let r = match tokio::time::timeout(self.side.timeout(), self.side.session.read_response()).await {
            Err(_) => return Err(FetchError::Timeout("APPEND").into()),
            Ok(Ok(Some(r))) => r,
            Ok(Ok(None)) => {
                return Err(FetchError::Imap {
                    stage: "APPEND".into(),
                    detail: "the server closed the connection".into(),
                }
                .into());
            }
            Ok(Err(e)) => return Err(FetchError::Imap { stage: "APPEND".into(), detail: e.to_string() }.into()),
        };
        let text =
            |o: &async_imap::imap_proto::rfc3501::Outcome<'_>| o.information.as_deref().unwrap_or("").to_string();
        Ok(match r.parsed() {
            Response::Continue { .. } => Reply::Continue,
            Response::Done { tag, status, outcome } => Reply::Done {
                tag: tag.0.to_string(),
                answer: match status {
                    Status::Ok => Group::Ok(match &outcome.code {
                        Some(ResponseCode::AppendUid(_, set)) => expand(set, self.group),
                        _ => Vec::new(),
                    }),
                    _ => {
                        let detail = text(outcome);
                        Group::No(response_code(&detail), detail)
                    }
                },
            },
            Response::Data { status: Status::Bye, outcome } => Reply::Bye(text(outcome)),
            _ => Reply::Other,
        })
    }

    /// The answers to the oldest command in flight, one per message it carried.
    async fn answer(&mut self) -> Result<Vec<Appended>, MigrateError> {
        let Some((tag, n)) = self.waiting.pop_front() else {
            return Err(MigrateError::Config("no APPEND in flight".into()));
        };
        let group = match self.early.remove(&tag) {
            Some(g) => g,
            None => loop {
                match self.read().await? {
                    Reply::Done { tag: t, answer } if t == tag => break answer,
                    Reply::Done { tag: t, answer } if self.waiting.iter().any(|w| w.0 == t) => {
                        self.early.insert(t, answer);
                    }
                    Reply::Bye(detail) => return Err(bye(&detail)),
                    _ => {}
                }
            },
        };
        Ok(match group {
            // The UIDs are the messages', in order, when the server gave one each.
            Group::Ok(uids) if uids.len() == n => uids.into_iter().map(|u| Appended::Ok(Some(u))).collect(),
            Group::Ok(_) => (0..n).map(|_| Appended::Ok(None)).collect(),
            Group::No(code, detail) => (0..n).map(|_| Appended::No(code.clone(), detail.clone())).collect(),
        })
    }
}

fn bye(detail: &str) -> MigrateError {
    FetchError::Imap { stage: "APPEND".into(), detail: format!("BYE {detail}") }.into()
}

/// An APPENDUID set as UIDs, if it names no more than `most` (a server's range is not trusted
/// to be small).
fn expand(set: &[UidSetMember], most: usize) -> Vec<u32> {
    let mut out = Vec::new();
    for m in set {
        match m {
            UidSetMember::Uid(u) => out.push(*u),
            UidSetMember::UidRange(r) => {
                let (a, b) = (*r.start(), *r.end());
                if (b.saturating_sub(a) as usize) >= most {
                    return Vec::new();
                }
                out.extend(a..=b);
            }
        }
        if out.len() > most {
            return Vec::new();
        }
    }
    out
}

/// A response, as an APPEND sees it.
enum Reply {
    Continue,
    Done { tag: String, answer: Group },
    Bye(String),
    Other,
}

/// Every item of a response stream, within `timeout`.
async fn all<T>(
    timeout: Duration,
    what: &'static str,
    stream: impl futures_util::Stream<Item = Result<T, async_imap::error::Error>>,
) -> Result<Vec<T>, MigrateError> {
    Ok(tokio::time::timeout(timeout, stream.try_collect::<Vec<_>>())
        .await
        .map_err(|_| FetchError::Timeout(what))?
        .map_err(imap_err(what))?)
}

/// A response code the parser does not know (`[OVERQUOTA] …`), from the text it leaves.
fn response_code(text: &str) -> Option<String> {
    let rest = text.strip_prefix('[')?;
    let end = rest.find([']', ' '])?;
    Some(rest[..end].to_ascii_uppercase())
}

/// A folder name as the server wants it: modified UTF-7, or UTF-8 with UTF8=ACCEPT
/// (async-imap's own commands quote it).
fn encoded(folder: &str, utf8: bool) -> Result<String, MigrateError> {
    if folder.is_empty() || folder.chars().any(char::is_control) {
        return Err(MigrateError::Config(format!("folder name {folder:?} cannot be sent to a server")));
    }
    Ok(if utf8 { folder.to_string() } else { encode_mutf7(folder) })
}

/// A folder name as our own commands send it, quoted.
fn wire_name(folder: &str, utf8: bool) -> Result<String, MigrateError> {
    let encoded = encoded(folder, utf8)?;
    Ok(format!("\"{}\"", encoded.replace('\\', "\\\\").replace('"', "\\\"")))
}

/// Flags as names, `\Recent` (which no client can set) left out.
fn flag_names<'a>(flags: impl Iterator<Item = async_imap::types::Flag<'a>>) -> Vec<String> {
    use async_imap::types::Flag;
    let mut out: Vec<String> = flags
        .filter_map(|f| match f {
            Flag::Seen => Some("\\Seen".to_string()),
            Flag::Answered => Some("\\Answered".to_string()),
            Flag::Flagged => Some("\\Flagged".to_string()),
            Flag::Deleted => Some("\\Deleted".to_string()),
            Flag::Draft => Some("\\Draft".to_string()),
            Flag::Recent | Flag::MayCreate => None,
            Flag::Custom(c) => Some(c.into_owned()),
        })
        .collect();
    out.sort_by_key(|f| f.to_ascii_lowercase());
    out.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    out
}

/// `(\Seen $Label1)`: only what is an atom (a keyword with a space or bracket in it cannot have
/// come from a server, and could not be sent back).
fn flag_list(flags: &[String]) -> String {
    let ok = |f: &&String| {
        let name = f.strip_prefix('\\').unwrap_or(f);
        !name.is_empty() && name.bytes().all(|b| b > 0x20 && b < 0x7f && !b"(){%*\"\\]".contains(&b))
    };
    format!("({})", flags.iter().filter(ok).map(String::as_str).collect::<Vec<_>>().join(" "))
}

/// A logged-in account with its own runtime, for one-off questions (which folders are there).
pub struct Account {
    runtime: tokio::runtime::Runtime,
    side: Side,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account").field("config", &self.side.config).finish()
    }
}

impl Account {
    /// Connects and logs in.
    pub fn connect(config: ImapConfig) -> Result<Self, MigrateError> {
        let runtime = super::runtime()?;
        let side = runtime.block_on(Side::connect(config))?;
        Ok(Account { runtime, side })
    }

    /// Every folder, with its separator, special use and whether it can hold messages. Names
    /// are decoded from modified UTF-7. When the server marks no folder with a special use, the
    /// common names (Sent Items, Trash, …) stand in.
    pub fn folders(&mut self) -> Result<Vec<Folder>, MigrateError> {
        self.runtime.block_on(self.side.folders())
    }

    /// Logs out (at most five seconds).
    pub fn logout(self) {
        self.runtime.block_on(self.side.logout());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_flags_go_out_quoted_and_as_atoms() {
        assert_eq!(wire_name("Sent Items", false).expect("test"), "\"Sent Items\"");
        assert_eq!(wire_name("a\"b\\c", false).expect("test"), "\"a\\\"b\\\\c\"");
        assert_eq!(wire_name("Entwürfe", false).expect("test"), "\"Entw&APw-rfe\"");
        assert!(wire_name("bad\r\nA1 LOGOUT", false).is_err());
        // With UTF8=ACCEPT names go as they are (RFC 6855), and "&" is only an ampersand.
        assert_eq!(wire_name("Entwürfe & 草稿", true).expect("test"), "\"Entwürfe & 草稿\"");
        assert!(wire_name("bad\u{85}name", true).is_err());
        let flags = ["\\Seen".to_string(), "$Label1".to_string(), "x) A2 DELETE".to_string(), "\\".to_string()];
        assert_eq!(flag_list(&flags), "(\\Seen $Label1)");
        assert_eq!(response_code("[OVERQUOTA] Quota exceeded"), Some("OVERQUOTA".into()));
        assert_eq!(response_code("[LIMIT] slow down"), Some("LIMIT".into()));
        assert_eq!(response_code("no code"), None);
    }
}
