//! Two-way flags: \Seen, \Answered, \Flagged, \Deleted and \Draft kept equal between the server
//! and the Maildir's info flags (S, R, F, T, D), for the messages a sync fetched.
//!
//! * What each side had at the last sync is saved (the *base*), so a change is told from no
//!   change. The rule, per flag: **the side that changed it wins**; changed on both sides, both
//!   changed it the same way (a flag is on or off). With no base (the first two-way sync of a
//!   message), a flag set on either side is set on both.
//! * With CONDSTORE (RFC 7162) only what changed since the saved HIGHESTMODSEQ is asked for; an
//!   unchanged folder costs its SELECT and nothing else. Without it every flag is fetched.
//! * Deletions are never propagated unless asked (`expunge`). Asked, a message whose file was
//!   removed here is flagged \Deleted and `UID EXPUNGE`d on the server (UIDPLUS; never a plain
//!   EXPUNGE, which would take other clients' \Deleted messages too), and a message expunged on
//!   the server loses its file here. Only a deletion made since the last two-way sync counts:
//!   messages never synced both ways are left alone.
//! * Order: the server is changed first, the Maildir next, the base saved last; a sync cut
//!   short anywhere in between finds both sides already agreeing next time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::{FetchError, Session, timed};

/// How a sync treats flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlagMode {
    /// Messages are fetched; their flags are not synced (the default).
    #[default]
    OneWay,
    /// Flags are synced both ways (see the module's rule).
    TwoWay,
}

impl std::str::FromStr for FlagMode {
    type Err = FetchError;
    fn from_str(s: &str) -> Result<Self, FetchError> {
        match s {
            "one-way" => Ok(FlagMode::OneWay),
            "two-way" => Ok(FlagMode::TwoWay),
            _ => Err(FetchError::Config(format!("flags {s:?} is not one-way or two-way"))),
        }
    }
}

/// The flags both sides know, as a set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Flags(u8);

/// Maildir letter and IMAP name of each flag, in the letters' ASCII order (the order a Maildir
/// info part lists them in).
const TABLE: [(char, &str); 5] =
    [('D', "\\Draft"), ('F', "\\Flagged"), ('R', "\\Answered"), ('S', "\\Seen"), ('T', "\\Deleted")];

impl Flags {
    /// No flag.
    pub const NONE: Flags = Flags(0);

    /// The flags in a Maildir info part (`S`, `FS`, …); other letters are not synced.
    pub fn from_letters(info: &str) -> Flags {
        let bits = TABLE.iter().enumerate().filter(|(_, (c, _))| info.contains(*c)).fold(0, |b, (i, _)| b | 1 << i);
        Flags(bits)
    }

    /// The flags among IMAP flag names (`\Seen`, …; case does not matter, keywords are ignored).
    pub fn from_imap<'a>(names: impl IntoIterator<Item = &'a str>) -> Flags {
        let mut bits = 0;
        for n in names {
            if let Some(i) = TABLE.iter().position(|(_, name)| name.eq_ignore_ascii_case(n)) {
                bits |= 1 << i;
            }
        }
        Flags(bits)
    }

    /// The Maildir letters, in order.
    pub fn letters(self) -> String {
        TABLE.iter().enumerate().filter(|(i, _)| self.0 & 1 << i != 0).map(|(_, (c, _))| *c).collect()
    }

    /// The IMAP flag list, `(\Seen \Flagged)`.
    pub fn imap_list(self) -> String {
        let names: Vec<&str> =
            TABLE.iter().enumerate().filter(|(i, _)| self.0 & 1 << i != 0).map(|(_, (_, n))| *n).collect();
        format!("({})", names.join(" "))
    }

    /// Whether no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The merge of one message's flags: per flag, a side that changed it since `base` wins.
    pub fn merge(base: Flags, local: Flags, remote: Flags) -> Flags {
        Flags(base.0 ^ ((local.0 ^ base.0) | (remote.0 ^ base.0)))
    }

    fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    fn minus(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }
}

impl Serialize for Flags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.letters())
    }
}

impl<'de> Deserialize<'de> for Flags {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Flags::from_letters(&String::deserialize(d)?))
    }
}

/// What a two-way flag sync of one folder did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlagReport {
    /// Messages whose flags were changed on the server.
    pub to_server: usize,
    /// Messages whose flags were changed here (the file renamed).
    pub to_local: usize,
    /// Messages expunged on the server because their file was removed here (`expunge`).
    pub expunged: usize,
    /// Files removed here because the server expunged the message (`expunge`).
    pub removed: usize,
    /// Deletions on one side left alone on the other (no `expunge`, or no UIDPLUS).
    pub kept: usize,
    /// Whether the server's CONDSTORE narrowed the sync to what changed.
    pub condstore: bool,
}

/// The base of a folder's two-way sync, saved next to its state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct FlagState {
    pub uidvalidity: u32,
    /// The folder's HIGHESTMODSEQ when the base was taken (CONDSTORE servers).
    pub modseq: Option<u64>,
    /// Every UID on the server up to the folder's last UID: the flags both sides had at the
    /// last sync, or `None` when no file here was synced with it.
    pub messages: BTreeMap<u32, Option<Flags>>,
    /// UIDs the server no longer has whose files are kept here: no longer synced.
    pub gone: BTreeSet<u32>,
    /// The folder's last UID when the base was saved: `messages` covers every UID up to it.
    pub through: u32,
}

impl FlagState {
    pub(super) fn load(path: &Path, uidvalidity: u32) -> Option<FlagState> {
        let raw = std::fs::read(path).ok()?;
        serde_json::from_slice::<FlagState>(&raw).ok().filter(|s| s.uidvalidity == uidvalidity)
    }

    pub(super) fn save(&self, path: &Path) -> Result<(), FetchError> {
        crate::files::replace_synced(path, &serde_json::to_vec(self).unwrap_or_default())
            .map_err(|source| FetchError::Local { path: path.to_path_buf(), source })
    }
}

/// A fetched message's file here.
#[derive(Debug, Clone)]
pub(super) struct Local {
    pub path: PathBuf,
    /// The info part after `:2,` (empty in `new/`).
    pub info: String,
}

impl Local {
    pub(super) fn flags(&self) -> Flags {
        Flags::from_letters(&self.info)
    }
}

/// The files in `new/` and `cur/` named `<prefix><uid>[:2,<info>]`, by UID.
pub(super) fn scan(maildir: &Path, prefix: &str) -> HashMap<u32, Local> {
    let mut out = HashMap::new();
    for sub in ["new", "cur"] {
        for e in std::fs::read_dir(maildir.join(sub)).into_iter().flatten().flatten() {
            let name = e.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else { continue };
            let (digits, info) = match rest.split_once(':') {
                Some((d, i)) => (d, i.strip_prefix("2,").unwrap_or_default()),
                None => (rest, ""),
            };
            if let Ok(uid) = digits.parse::<u32>() {
                out.insert(uid, Local { path: e.path(), info: info.to_string() });
            }
        }
    }
    out
}

/// Where a file with `flags` belongs: in `cur/` with the synced letters replaced, other letters
/// (P, Dovecot's keyword letters) kept.
pub(super) fn renamed(local: &Local, flags: Flags) -> Option<PathBuf> {
    let name = local.path.file_name()?.to_str()?;
    let base = name.split(':').next()?;
    let mut letters: Vec<char> =
        local.info.chars().filter(|c| !TABLE.iter().any(|(l, _)| l == c)).chain(flags.letters().chars()).collect();
    letters.sort_unstable();
    letters.dedup();
    let info: String = letters.into_iter().collect();
    let maildir = local.path.parent()?.parent()?;
    Some(maildir.join("cur").join(format!("{base}:2,{info}")))
}

/// What SELECT said about the folder.
#[derive(Debug, Clone, Copy)]
pub(super) struct Selected {
    pub exists: u32,
    pub uid_next: Option<u32>,
    pub highest_modseq: Option<u64>,
}

/// One folder's flag sync: its messages up to `last` (what earlier syncs fetched).
pub(super) struct FlagSync<'a> {
    pub state: FlagState,
    pub fresh: bool,
    pub local: HashMap<u32, Local>,
    pub last: u32,
    pub selected: Selected,
    pub uidplus: bool,
    pub expunge: bool,
    pub timeout: Duration,
    pub commands: &'a mut usize,
}

/// A set of UIDs as IMAP sequence sets (`1:5,7`), cut so that no command line grows past what
/// servers accept (Dovecot: 64 KiB).
fn uid_sets(uids: impl IntoIterator<Item = u32>) -> Vec<String> {
    let mut sorted: Vec<u32> = uids.into_iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = Vec::new();
    let mut line = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        i += 1;
        if line.len() > 16_000 {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(',');
        }
        if start == end { line.push_str(&start.to_string()) } else { line.push_str(&format!("{start}:{end}")) }
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

impl FlagSync<'_> {
    /// `UID FETCH set (UID FLAGS) [modifiers]`: the flags of each message answered.
    async fn fetch_flags(
        &mut self,
        session: &mut Session,
        set: &str,
        modifiers: &str,
    ) -> Result<HashMap<u32, Flags>, FetchError> {
        *self.commands += 1;
        let mut out = HashMap::new();
        let stream =
            timed(self.timeout, "UID FETCH FLAGS", session.uid_fetch(set, format!("(UID FLAGS){modifiers}"))).await?;
        let mut stream = std::pin::pin!(stream);
        while let Some(f) = timed(self.timeout, "UID FETCH FLAGS", stream.try_next()).await? {
            if let Some(uid) = f.uid {
                let names: Vec<String> = f.flags().map(|fl| flag_name(&fl)).collect();
                out.insert(uid, Flags::from_imap(names.iter().map(String::as_str)));
            }
        }
        Ok(out)
    }

    async fn store(&mut self, session: &mut Session, uids: &[u32], op: &str, flags: Flags) -> Result<(), FetchError> {
        for set in uid_sets(uids.iter().copied()) {
            *self.commands += 1;
            let query = format!("{op}FLAGS.SILENT {}", flags.imap_list());
            let stream = timed(self.timeout, "UID STORE", session.uid_store(&set, &query)).await?;
            let mut stream = std::pin::pin!(stream);
            while timed(self.timeout, "UID STORE", stream.try_next()).await?.is_some() {}
        }
        Ok(())
    }

    /// Syncs the flags; the base to save and what was done.
    pub(super) async fn run(mut self, session: &mut Session) -> Result<(FlagState, FlagReport), FetchError> {
        let mut report = FlagReport::default();
        let last = self.last;
        self.local.retain(|uid, _| *uid <= last);
        if last == 0 {
            self.state.modseq = self.selected.highest_modseq;
            return Ok((self.state, report));
        }
        let condstore = self.selected.highest_modseq.is_some() && self.state.modseq.is_some() && !self.fresh;
        report.condstore = condstore;
        // The server's flags where they may differ from the base, and which UIDs it still has.
        let (mut remote, mut present): (HashMap<u32, Flags>, BTreeSet<u32>) = if condstore {
            let mut remote = HashMap::new();
            if self.selected.highest_modseq != self.state.modseq {
                let since = format!(" (CHANGEDSINCE {})", self.state.modseq.unwrap_or(0));
                remote = self.fetch_flags(session, &format!("1:{last}"), &since).await?;
            }
            // Files without a base need the server's flags.
            let unknown: Vec<u32> = self
                .local
                .keys()
                .copied()
                .filter(|u| !self.state.gone.contains(u) && !matches!(self.state.messages.get(u), Some(Some(_))))
                .filter(|u| !remote.contains_key(u))
                .collect();
            for set in uid_sets(unknown) {
                remote.extend(self.fetch_flags(session, &set, "").await?);
            }
            // The server holds every UID of the base unless its count says otherwise (it
            // cannot gain UIDs up to `last`), and then a search says which went.
            let newer = self.selected.uid_next.map(|n| n.saturating_sub(last + 1));
            let counted = newer.map(|n| self.state.messages.len() as u64 + u64::from(n));
            let vanished: BTreeSet<u32> = if counted == Some(u64::from(self.selected.exists)) {
                BTreeSet::new()
            } else {
                *self.commands += 1;
                let found = timed(self.timeout, "UID SEARCH", session.uid_search(format!("UID 1:{last}"))).await?;
                self.state.messages.keys().copied().filter(|u| !found.contains(u)).collect()
            };
            let mut present: BTreeSet<u32> =
                self.state.messages.keys().copied().filter(|u| !vanished.contains(u)).collect();
            present.extend(remote.keys().copied());
            (remote, present)
        } else {
            let remote = self.fetch_flags(session, &format!("1:{last}"), "").await?;
            let present = remote.keys().copied().collect();
            (remote, present)
        };

        // A server that answers for UIDs beyond those asked for is not believed.
        remote.retain(|uid, _| *uid <= last);
        present.retain(|uid| *uid <= last);
        let mut uids: BTreeSet<u32> = self.state.messages.keys().copied().collect();
        uids.extend(self.local.keys().copied().filter(|u| !self.state.gone.contains(u)));
        uids.extend(remote.keys().copied());
        let mut add: HashMap<Flags, Vec<u32>> = HashMap::new();
        let mut remove: HashMap<Flags, Vec<u32>> = HashMap::new();
        let mut renames: Vec<(u32, Flags)> = Vec::new();
        let mut to_expunge: Vec<u32> = Vec::new();
        let mut to_remove: Vec<u32> = Vec::new();
        for uid in uids {
            let base = self.state.messages.get(&uid).copied().flatten();
            let local = self.local.get(&uid);
            match (present.contains(&uid), local) {
                (true, Some(l)) => {
                    let Some(r) = remote.get(&uid).copied().or(base) else { continue };
                    let lf = l.flags();
                    let merged = match base {
                        Some(b) => Flags::merge(b, lf, r),
                        None => lf.union(r),
                    };
                    if !merged.minus(r).is_empty() {
                        add.entry(merged.minus(r)).or_default().push(uid);
                    }
                    if !r.minus(merged).is_empty() {
                        remove.entry(r.minus(merged)).or_default().push(uid);
                    }
                    if merged != lf {
                        renames.push((uid, merged));
                    }
                    // Until the file is renamed, the base stays where the file is.
                    self.state.messages.insert(uid, Some(if merged != lf { base.unwrap_or(lf) } else { merged }));
                    if merged != r {
                        report.to_server += 1;
                    }
                }
                (true, None) if base.is_some() => {
                    if self.expunge && self.uidplus {
                        to_expunge.push(uid);
                    } else {
                        report.kept += 1;
                    }
                }
                (true, None) => {
                    self.state.messages.insert(uid, None);
                }
                (false, Some(_)) => {
                    self.state.messages.remove(&uid);
                    if base.is_some() && self.expunge {
                        to_remove.push(uid);
                    } else {
                        self.state.gone.insert(uid);
                        report.kept += usize::from(base.is_some());
                    }
                }
                (false, None) => {
                    self.state.messages.remove(&uid);
                }
            }
        }
        // The server first.
        for (flags, uids) in add {
            self.store(session, &uids, "+", flags).await?;
        }
        for (flags, uids) in remove {
            self.store(session, &uids, "-", flags).await?;
        }
        if !to_expunge.is_empty() {
            self.store(session, &to_expunge, "+", Flags::from_imap(["\\Deleted"])).await?;
            for set in uid_sets(to_expunge.iter().copied()) {
                *self.commands += 1;
                let stream = timed(self.timeout, "UID EXPUNGE", session.uid_expunge(&set)).await?;
                let mut stream = std::pin::pin!(stream);
                while timed(self.timeout, "UID EXPUNGE", stream.try_next()).await?.is_some() {}
            }
            for uid in &to_expunge {
                self.state.messages.remove(uid);
            }
            report.expunged = to_expunge.len();
        }
        // Then the Maildir. A file a reader moved meanwhile keeps its base: next time tells.
        for (uid, flags) in renames {
            let Some(l) = self.local.get(&uid) else { continue };
            let Some(to) = renamed(l, flags) else { continue };
            if to == l.path || std::fs::rename(&l.path, &to).is_ok() {
                self.state.messages.insert(uid, Some(flags));
                report.to_local += 1;
            }
        }
        for uid in to_remove {
            if let Some(l) = self.local.get(&uid)
                && std::fs::remove_file(&l.path).is_ok()
            {
                report.removed += 1;
            }
        }
        self.state.gone.retain(|u| self.local.contains_key(u));
        self.state.modseq = self.selected.highest_modseq;
        Ok((self.state, report))
    }
}

/// The IMAP name of a flag as async-imap hands it over.
pub(super) fn flag_name(f: &async_imap::types::Flag<'_>) -> String {
    use async_imap::types::Flag;
    match f {
        Flag::Seen => "\\Seen".into(),
        Flag::Answered => "\\Answered".into(),
        Flag::Flagged => "\\Flagged".into(),
        Flag::Deleted => "\\Deleted".into(),
        Flag::Draft => "\\Draft".into(),
        Flag::Recent => "\\Recent".into(),
        Flag::MayCreate => "\\*".into(),
        Flag::Custom(c) => c.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_names_round_trip() {
        let f = Flags::from_imap(["\\Seen", "\\flagged", "$Label1", "\\Recent"]);
        assert_eq!(f.letters(), "FS");
        assert_eq!(f.imap_list(), "(\\Flagged \\Seen)");
        assert_eq!(Flags::from_letters("PRSa"), Flags::from_imap(["\\Answered", "\\Seen"]));
        assert_eq!(Flags::from_letters("DFRST").letters(), "DFRST");
    }

    #[test]
    fn the_side_that_changed_a_flag_wins() {
        let l = Flags::from_letters;
        // Read here, flagged there: both.
        assert_eq!(Flags::merge(l(""), l("S"), l("F")), l("FS"));
        // Unread here, unchanged there: unread.
        assert_eq!(Flags::merge(l("S"), l(""), l("S")), l(""));
        // Unflagged there, replied here.
        assert_eq!(Flags::merge(l("FS"), l("FRS"), l("S")), l("RS"));
        // Both made the same change.
        assert_eq!(Flags::merge(l(""), l("S"), l("S")), l("S"));
    }

    #[test]
    fn renaming_keeps_other_letters_and_moves_to_cur() {
        let local = Local { path: PathBuf::from("/m/new/imap-a-b-1-7"), info: String::new() };
        assert_eq!(renamed(&local, Flags::from_letters("S")), Some(PathBuf::from("/m/cur/imap-a-b-1-7:2,S")));
        let local = Local { path: PathBuf::from("/m/cur/imap-a-b-1-7:2,PSa"), info: "PSa".into() };
        assert_eq!(renamed(&local, Flags::from_letters("F")), Some(PathBuf::from("/m/cur/imap-a-b-1-7:2,FPa")));
    }

    #[test]
    fn uid_sets_are_ranges_and_split_long_lines() {
        assert_eq!(uid_sets([5, 1, 2, 3, 7, 9, 10]), vec!["1:3,5,7,9:10"]);
        let sets = uid_sets((1..=40_000).map(|u| u * 2));
        assert!(sets.len() > 1 && sets.iter().all(|s| s.len() < 17_000));
        let back: usize = sets.iter().map(|s| s.split(',').count()).sum();
        assert_eq!(back, 40_000);
    }
}
