//! Proof, message by message: every message of both sides fetched and compared by SHA-256,
//! flags (keywords included), INTERNALDATE and folder.
//!
//! Messages are counted, not merely matched: a source folder with two identical messages needs
//! two on the destination. Per destination folder (several source folders may feed one):
//! * `missing`: source messages with no copy there;
//! * `duplicated`: copies beyond the source's count of that message;
//! * `extra`: destination messages that are no source message (mail that arrived there, or
//!   was there before): reported, not a failure;
//! * `flag_mismatches`, `date_mismatches`: copies whose flags or INTERNALDATE (the instant;
//!   servers may show another time zone) differ from their source's.

use std::collections::{BTreeMap, HashMap};

use sha2::Digest;

use super::imap::Message;
use super::store::Store;
use super::{Mapping, MigrateError, copy::same_flags};

/// The comparison of one mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Source messages looked at.
    pub source: usize,
    /// Destination messages looked at (in the folders the source maps to).
    pub dest: usize,
    /// Source messages with no copy.
    pub missing: usize,
    /// Copies beyond the source's count.
    pub duplicated: usize,
    /// Destination messages that are no source message.
    pub extra: usize,
    /// Copies whose flags differ.
    pub flag_mismatches: usize,
    /// Copies whose INTERNALDATE differs.
    pub date_mismatches: usize,
    /// The first few differences, for a person to look at: folder, what, and the message's
    /// SHA-256.
    pub examples: Vec<String>,
}

impl VerifyReport {
    /// Nothing lost, nothing doubled, nothing altered.
    pub fn clean(&self) -> bool {
        self.missing == 0 && self.duplicated == 0 && self.flag_mismatches == 0 && self.date_mismatches == 0
    }

    fn example(&mut self, text: String) {
        if self.examples.len() < 20 {
            self.examples.push(text);
        }
    }
}

/// What a message is, for comparing: its flags (lowercased, sorted) and date.
type Seen = (Vec<String>, Option<i64>);

async fn collect(
    side: &mut Store,
    folder: &str,
    out: &mut HashMap<[u8; 32], Vec<Seen>>,
) -> Result<usize, MigrateError> {
    let numbering = side.open(folder, false).await?;
    if numbering.exists == 0 {
        return Ok(0);
    }
    let mut n = 0;
    side.messages(None, &mut async |m: Message| {
        let hash: [u8; 32] = sha2::Sha256::digest(&m.body).into();
        let mut flags: Vec<String> = m.flags.iter().map(|f| f.to_ascii_lowercase()).collect();
        flags.sort();
        out.entry(hash).or_default().push((flags, m.date.map(|(_, t)| t)));
        n += 1;
        Ok(())
    })
    .await?;
    Ok(n)
}

/// Compares what `plan` says should have moved.
pub(crate) async fn verify(src: &mut Store, dst: &mut Store, plan: &[Mapping]) -> Result<VerifyReport, MigrateError> {
    let mut report = VerifyReport::default();
    let mut by_dest: BTreeMap<&str, Vec<&Mapping>> = BTreeMap::new();
    for m in plan {
        by_dest.entry(&m.to).or_default().push(m);
    }
    let existing: Vec<String> = dst.folders().await?.into_iter().map(|f| f.name).collect();
    for (to, sources) in by_dest {
        let mut want: HashMap<[u8; 32], Vec<Seen>> = HashMap::new();
        for m in &sources {
            report.source += collect(src, &m.from, &mut want).await?;
        }
        let mut got: HashMap<[u8; 32], Vec<Seen>> = HashMap::new();
        if existing.iter().any(|f| f == to) {
            report.dest += collect(dst, to, &mut got).await?;
        }
        for (hash, mut w) in want {
            let short = super::state::hex(&hash)[..12].to_string();
            let g = got.remove(&hash).unwrap_or_default();
            if g.len() < w.len() {
                report.missing += w.len() - g.len();
                report.example(format!("{to}: {} missing of {short}", w.len() - g.len()));
            } else if g.len() > w.len() {
                report.duplicated += g.len() - w.len();
                report.example(format!("{to}: {} more copies of {short}", g.len() - w.len()));
            }
            // Pair the copies with their sources, alike with alike; what is left differs.
            let mut left: HashMap<Seen, usize> = HashMap::new();
            for c in g {
                *left.entry(c).or_default() += 1;
            }
            w.sort();
            let mut unpaired_w = Vec::new();
            for s in w {
                match left.get_mut(&s) {
                    Some(n) if *n > 0 => *n -= 1,
                    _ => unpaired_w.push(s),
                }
            }
            let mut rest: Vec<Seen> = left.into_iter().flat_map(|(c, n)| std::iter::repeat_n(c, n)).collect();
            rest.sort();
            for (s, c) in unpaired_w.iter().zip(rest.iter()) {
                if !same_flags(&s.0, &c.0) {
                    report.flag_mismatches += 1;
                    report.example(format!("{to}: flags {:?} became {:?} on {short}", s.0, c.0));
                }
                if s.1 != c.1 {
                    report.date_mismatches += 1;
                    report.example(format!("{to}: date {:?} became {:?} on {short}", s.1, c.1));
                }
            }
        }
        report.extra += got.values().map(Vec::len).sum::<usize>();
    }
    Ok(report)
}
