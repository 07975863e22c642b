//! Copying one folder, by content.
//!
//! 1. The source folder is EXAMINEd (nothing changes there, not even \Recent) and its UIDs and
//!    flags listed; the destination folder is created if needed and SELECTed.
//! 2. Source messages the state knows are done. If their flags changed on the source since they
//!    were copied, the new flags are stored on the destination copy (the destination's own
//!    changes are kept otherwise). Nothing is ever deleted on either side.
//! 3. The destination's messages above the last UID the state accounts for (a killed run's last
//!    batch, or mail that arrived there) are hashed once: a source message found among them is
//!    recorded, not appended again. So a killed run repeats no APPEND it got an answer to, and
//!    one it did not is found here and skipped.
//! 4. The rest is fetched (BODY.PEEK[], FLAGS, INTERNALDATE), hashed, and APPENDed with its
//!    flags, keywords and date, pipelined; each answer is recorded with the UID the server
//!    gives (UIDPLUS), and the state is committed every [`BATCH_MESSAGES`] messages or
//!    [`BATCH_TIME`].
//!
//! Identity is the SHA-256 of the message's bytes, counted: two identical messages in a folder
//! are two messages, and both arrive. After a source UIDVALIDITY change the hashes copied before
//! are matched again, one for one, and only what is left over is copied.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::Digest;

use super::imap::{Appended, Message};
use super::state::{Entry, MailboxState};
use super::store::Store;
use super::{Mapping, MigrateError, Refusal, Throttle};

/// Messages per state commit.
pub const BATCH_MESSAGES: usize = 256;
/// Longest time between state commits while messages are copied.
pub const BATCH_TIME: Duration = Duration::from_secs(2);
/// UIDs per FETCH command (keeps command lines short).
const FETCH_CHUNK: usize = 2000;

/// What happened to one folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FolderReport {
    /// The source folder.
    pub from: String,
    /// The destination folder.
    pub to: String,
    /// Why it goes there (`inbox`, `special-use`, `map`, `same name`).
    pub rule: &'static str,
    /// Messages in the source folder.
    pub messages: usize,
    /// Messages appended now.
    pub copied: usize,
    /// Bytes appended now.
    pub bytes: u64,
    /// Messages copied by an earlier run.
    pub already: usize,
    /// Messages found on the destination (by content) and recorded instead of appended.
    pub found: usize,
    /// Copies whose flags were brought up to date with the source.
    pub flags_updated: usize,
    /// Messages the destination refused (they are missing there; see `refused`).
    pub refused: usize,
}

/// What the copy reports as it goes: messages and bytes appended since the last call.
pub(crate) type Tick<'a> = &'a (dyn Fn(usize, u64) + Sync);

/// A message on its way: APPEND sent, answer awaited.
struct InFlight {
    uid: u32,
    sha256: [u8; 32],
    flags: Vec<String>,
    bytes: u64,
}

/// Copies one folder. Errors leave the state with everything answered so far recorded (the
/// caller commits it).
pub(crate) async fn copy_folder(
    src: &mut Store,
    dst: &mut Store,
    m: &Mapping,
    state: &mut MailboxState,
    throttle: &Arc<Throttle>,
    tick: Tick<'_>,
    refusals: &mut Vec<Refusal>,
) -> Result<FolderReport, MigrateError> {
    let mut report = FolderReport { from: m.from.clone(), to: m.to.clone(), rule: m.rule, ..Default::default() };
    let source = src.open(&m.from, false).await?;
    if m.create {
        dst.create(&m.to, false).await?;
    }
    let dest = dst.open(&m.to, true).await?;
    state.start_folder(&m.from, source.uidvalidity, &m.to, dest.uidvalidity);
    let listing = if source.exists == 0 { Vec::new() } else { src.flags().await? };
    report.messages = listing.len();

    // 2. Done before; flags carried over where the source changed them.
    let folder = &state.folders[&m.from];
    let mut changed: BTreeMap<Vec<String>, Vec<(u32, u32)>> = BTreeMap::new();
    let mut todo = Vec::new();
    for (uid, flags) in &listing {
        match folder.messages.get(uid) {
            Some(e) => {
                report.already += 1;
                if let (Some(d), false) = (e.dest_uid, same_flags(&e.flags, flags)) {
                    changed.entry(flags.clone()).or_default().push((*uid, d));
                }
            }
            None => todo.push(*uid),
        }
    }
    for (flags, uids) in changed {
        let dest: Vec<u32> = uids.iter().map(|(_, d)| *d).collect();
        dst.store_flags(&dest, &flags).await?;
        for (uid, _) in &uids {
            state.set_flags(&m.from, *uid, flags.clone());
        }
        report.flags_updated += uids.len();
    }
    if todo.is_empty() {
        state.commit()?;
        return Ok(report);
    }

    // 3. The destination's tail: what a killed run appended without recording it.
    let folder = &state.folders[&m.from];
    let mut present: HashMap<[u8; 32], Vec<u32>> = HashMap::new();
    let mut tail_end = folder.through;
    if dest.uidnext.saturating_sub(1) > folder.through {
        let ours: std::collections::HashSet<u32> = folder.messages.values().filter_map(|e| e.dest_uid).collect();
        let mut unplaced = folder.unplaced.clone();
        for (uid, hash) in dst.hashes_after(folder.through).await? {
            tail_end = tail_end.max(uid);
            if ours.contains(&uid) {
                continue;
            }
            if let Some(i) = unplaced.iter().position(|h| *h == hash) {
                unplaced.swap_remove(i);
                continue;
            }
            present.entry(hash).or_default().push(uid);
        }
    }

    // 4. Copy what is left.
    let uidplus = dst.uidplus();
    let mut appender = dst.appender(&m.to)?;
    let mut flight: std::collections::VecDeque<InFlight> = std::collections::VecDeque::new();
    let mut since_commit = (0usize, Instant::now());
    let mut last_appended = 0u32;
    let settle = |answers: Vec<Appended>,
                  flight: &mut std::collections::VecDeque<InFlight>,
                  state: &mut MailboxState,
                  report: &mut FolderReport,
                  refusals: &mut Vec<Refusal>,
                  last_appended: &mut u32|
     -> Result<(), MigrateError> {
        for answer in answers {
            let Some(f) = flight.pop_front() else { break };
            match answer {
                Appended::Ok(dest_uid) => {
                    let entry = Entry { sha256: f.sha256, dest_uid, flags: f.flags };
                    match dest_uid {
                        Some(d) => {
                            *last_appended = (*last_appended).max(d);
                            state.record(&m.from, f.uid, entry);
                        }
                        None => state.record_unplaced(&m.from, f.uid, entry),
                    }
                    report.copied += 1;
                    report.bytes += f.bytes;
                    tick(1, f.bytes);
                }
                Appended::No(code, detail) => match code.as_deref() {
                    Some("OVERQUOTA") => return Err(MigrateError::OverQuota(detail)),
                    Some("LIMIT") | Some("THROTTLED") | Some("INUSE") | Some("UNAVAILABLE") => {
                        return Err(MigrateError::PushBack(format!("APPEND: {detail}")));
                    }
                    _ => {
                        report.refused += 1;
                        refusals.push(Refusal { folder: m.from.clone(), uid: f.uid, detail });
                    }
                },
            }
        }
        Ok(())
    };
    for chunk in todo.chunks(FETCH_CHUNK) {
        src.messages(Some(chunk), &mut async |msg: Message| {
            let sha256: [u8; 32] = sha2::Sha256::digest(&msg.body).into();
            if let Some(d) = present.get_mut(&sha256).and_then(Vec::pop) {
                state.record(&m.from, msg.uid, Entry { sha256, dest_uid: Some(d), flags: msg.flags });
                report.found += 1;
            } else if let Some(dest_uid) = state.use_earlier(&m.from, &sha256) {
                state.record(&m.from, msg.uid, Entry { sha256, dest_uid, flags: msg.flags });
                report.already += 1;
            } else {
                throttle.wait(msg.body.len() as u64).await;
                let answers = appender.send(&msg.flags, msg.date.as_ref(), &msg.body).await?;
                flight.push_back(InFlight { uid: msg.uid, sha256, flags: msg.flags, bytes: msg.body.len() as u64 });
                settle(answers, &mut flight, state, &mut report, refusals, &mut last_appended)?;
            }
            since_commit.0 += 1;
            if since_commit.0 >= BATCH_MESSAGES || since_commit.1.elapsed() >= BATCH_TIME {
                if uidplus {
                    state.through(&m.from, last_appended);
                }
                state.commit()?;
                since_commit = (0, Instant::now());
            }
            Ok(())
        })
        .await?;
    }
    let answers = appender.finish().await?;
    settle(answers, &mut flight, state, &mut report, refusals, &mut last_appended)?;
    drop(appender);
    let through = if uidplus {
        last_appended.max(tail_end)
    } else {
        // Without UIDPLUS, everything up to the folder's end now is accounted for.
        dst.uidnext(&m.to).await?.saturating_sub(1)
    };
    state.through(&m.from, through);
    state.commit()?;
    Ok(report)
}

/// Flags compared as IMAP does: case does not matter, order neither.
pub(crate) fn same_flags(a: &[String], b: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v.iter().map(|f| f.to_ascii_lowercase()).collect();
        v.sort();
        v.dedup();
        v
    };
    norm(a) == norm(b)
}

/// A UID set (`1:4,7,9:10`) from UIDs in ascending order.
pub(crate) fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_are_ranges() {
        assert_eq!(uid_set(&[1, 2, 3, 4, 7, 9, 10]), "1:4,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn flags_compare_as_sets_without_case() {
        let a = ["\\Seen".to_string(), "$Label1".to_string()];
        let b = ["$label1".to_string(), "\\SEEN".to_string()];
        assert!(same_flags(&a, &b));
        assert!(!same_flags(&a, &b[..1]));
    }
}
