//! What the servers themselves show: each MX address greets and speaks EHLO in time, offers
//! STARTTLS with a certificate valid for its name (and for 14 more days), treats recipients the
//! same as the other MX hosts, and relays for nobody; each access server speaks TLS.

use std::collections::BTreeMap;

use super::probe::{SmtpSeen, TlsSeen, secs};
use super::{Check, Status};

/// `mx.reachable`, `mx.starttls`, `mx.certificate`, `mx.consistent`, `mx.open_relay`.
pub(crate) fn judge_mx(seen: &[SmtpSeen]) -> Vec<Check> {
    vec![reachable(seen), starttls(seen), certificate(seen), consistent(seen), open_relay(seen)]
}

/// Greeted with 220 and answered EHLO.
fn answered(s: &SmtpSeen) -> bool {
    s.ehlo.is_some()
}

fn reachable(seen: &[SmtpSeen]) -> Check {
    let mut evidence = Vec::new();
    let mut down = 0;
    let mut timeouts = 0;
    for s in seen {
        match (&s.greeting, &s.ehlo) {
            (Some((g, took)), Some(_)) => evidence.push(format!(
                "{}: {} after {}; EHLO answered",
                s.who(),
                super::probe::clip(&g.to_string()),
                secs(*took)
            )),
            _ => {
                down += 1;
                let why = s.failed.clone().unwrap_or_else(|| "no EHLO".into());
                if why.contains("no answer") || why.contains("did not end") {
                    timeouts += 1;
                }
                evidence.insert(0, format!("{}: {why}", s.who()));
            }
        }
    }
    match down {
        _ if seen.is_empty() => Check::new("mx.reachable", Status::Error, "no MX address to connect to"),
        0 => Check::new("mx.reachable", Status::Pass, format!("all {} MX addresses greet and answer EHLO", seen.len())),
        // Nothing answering at all, each by timeout: likely port 25 blocked on this side.
        d if d == seen.len() && timeouts == d => Check::new(
            "mx.reachable",
            Status::Error,
            "no MX address answered in time: is outgoing port 25 blocked on this network?",
        ),
        d => Check::new(
            "mx.reachable",
            Status::Fail,
            format!("{d} of {} MX addresses do not answer: mail waits, or bounces when all are down", seen.len()),
        ),
    }
    .evidence(evidence)
}

fn starttls(seen: &[SmtpSeen]) -> Check {
    let talked: Vec<&SmtpSeen> = seen.iter().filter(|s| answered(s)).collect();
    if talked.is_empty() {
        return Check::new("mx.starttls", Status::Error, "no MX address answered, so STARTTLS could not be seen");
    }
    let mut without = Vec::new();
    let mut evidence = Vec::new();
    for s in &talked {
        match (&s.starttls, &s.tls) {
            (Some(true), Some(Ok(_))) => evidence.push(format!("{}: STARTTLS, handshake done", s.who())),
            (Some(true), Some(Err(e))) => without.push(format!("{}: STARTTLS offered, but {e}", s.who())),
            _ => without.push(format!("{}: no STARTTLS in the EHLO reply", s.who())),
        }
    }
    if without.is_empty() {
        Check::new("mx.starttls", Status::Pass, format!("all {} MX addresses offer STARTTLS", talked.len()))
            .evidence(evidence)
    } else {
        Check::new(
            "mx.starttls",
            Status::Fail,
            format!("{} of {} MX addresses take mail only in clear", without.len(), talked.len()),
        )
        .evidence(without.into_iter().chain(evidence))
    }
}

fn certificate(seen: &[SmtpSeen]) -> Check {
    let mut bad = Vec::new();
    let mut good = Vec::new();
    let mut other = Vec::new();
    for s in seen {
        match &s.tls {
            Some(Ok(cert)) => match cert.verdict() {
                Ok(()) => good.push(format!("{}: {}", s.who(), cert.describe())),
                Err(e) => bad.push(format!("{}: {e}; {}", s.who(), cert.describe())),
            },
            Some(Err(e)) => other.push(format!("{}: {e}", s.who())),
            None if answered(s) => other.push(format!("{}: no TLS (see mx.starttls)", s.who())),
            None => {}
        }
    }
    if !bad.is_empty() {
        let n = bad.len();
        Check::new(
            "mx.certificate",
            Status::Fail,
            format!(
                "{n} MX certificate{} not valid for the MX name, or expiring within 14 days",
                plural(n, " is", "s are")
            ),
        )
        .evidence(bad.into_iter().chain(good).chain(other))
    } else if good.is_empty() {
        Check::new("mx.certificate", Status::Error, "no MX showed a certificate").evidence(other)
    } else {
        Check::new(
            "mx.certificate",
            Status::Pass,
            format!(
                "{} MX certificate{} valid for the MX name for 14 days and more",
                good.len(),
                plural(good.len(), " is", "s are")
            ),
        )
        .evidence(good.into_iter().chain(other))
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// 2 accepted, 5 refused, 4 "try later" (undecided), as a word.
fn class(code: u16) -> &'static str {
    match code / 100 {
        2 => "accepts",
        5 => "refuses",
        _ => "defers",
    }
}

fn consistent(seen: &[SmtpSeen]) -> Check {
    let mut answers: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    let mut evidence = Vec::new();
    let mut undecided = Vec::new();
    for s in seen {
        match (&s.known, &s.unknown) {
            (Some(k), Some(u)) if k.code / 100 != 4 && u.code / 100 != 4 => {
                answers.entry((class(k.code), class(u.code))).or_default().push(s.who());
                evidence.push(format!("{}: postmaster {}, unknown user {}", s.who(), k, u));
            }
            (Some(k), Some(u)) => undecided.push(format!("{}: postmaster {k}, unknown user {u} (deferred)", s.who())),
            _ if answered(s) => match &s.mail {
                Some(m) if m.code / 100 != 2 => undecided.push(format!("{}: MAIL FROM:<> refused: {m}", s.who())),
                _ => undecided.push(format!("{}: {}", s.who(), s.failed.clone().unwrap_or_default())),
            },
            _ => {}
        }
    }
    let all: Vec<String> = evidence.into_iter().chain(undecided.iter().cloned()).collect();
    match answers.len() {
        0 => Check::new("mx.consistent", Status::Error, "no MX answered RCPT, so recipients could not be compared")
            .evidence(all),
        1 => match answers.keys().next().copied().unwrap_or_default() {
            ("accepts", "refuses") => Check::new(
                "mx.consistent",
                Status::Pass,
                "every MX accepts postmaster and refuses an unknown user at RCPT",
            ),
            (_, "accepts") => Check::new(
                "mx.consistent",
                Status::Warn,
                "the MX hosts accept unknown users (a catch-all, or recipients checked after the fact: backscatter)",
            ),
            _ => Check::new(
                "mx.consistent",
                Status::Warn,
                "the MX hosts refuse postmaster, which RFC 5321 §4.5.1 requires every domain to have",
            ),
        }
        .evidence(all),
        _ => Check::new(
            "mx.consistent",
            Status::Fail,
            "the MX hosts disagree about recipients: one that accepts unknown users bounces later, to forged senders (backscatter)",
        )
        .evidence(all),
    }
}

fn open_relay(seen: &[SmtpSeen]) -> Check {
    let mut open = Vec::new();
    let mut closed = Vec::new();
    let mut undecided = Vec::new();
    for s in seen {
        match &s.relay {
            Some(r) if r.code / 100 == 2 => open.push(format!("{}: RCPT to an outside domain: {r}", s.who())),
            Some(r) if r.code / 100 == 5 => closed.push(format!("{}: RCPT to an outside domain: {r}", s.who())),
            Some(r) => undecided.push(format!("{}: RCPT to an outside domain deferred: {r}", s.who())),
            None if answered(s) => undecided.push(format!("{}: did not get to RCPT", s.who())),
            None => {}
        }
    }
    if !open.is_empty() {
        Check::new(
            "mx.open_relay",
            Status::Fail,
            format!(
                "{} MX address{} relay to outside domains: spam will be sent through them",
                open.len(),
                plural(open.len(), "", "es")
            ),
        )
        .evidence(open.into_iter().chain(closed).chain(undecided))
    } else if closed.is_empty() {
        Check::new("mx.open_relay", Status::Error, "no MX answered RCPT for an outside domain").evidence(undecided)
    } else if !undecided.is_empty() {
        Check::new("mx.open_relay", Status::Error, "some MX addresses could not be asked")
            .evidence(undecided.into_iter().chain(closed))
    } else {
        Check::new("mx.open_relay", Status::Pass, "no MX relays to outside domains (asked at RCPT, nothing sent)")
            .evidence(closed)
    }
}

/// `imap.tls` or `submission.tls` from what the access servers showed.
pub(crate) fn judge_access(id: &'static str, what: &str, seen: &[TlsSeen], found: bool) -> Check {
    if seen.is_empty() {
        return if found {
            Check::new(id, Status::Error, format!("no {what} server address to connect to"))
        } else {
            Check::new(
                id,
                Status::Warn,
                format!("no {what} server found (see srv.{})", id.split('.').next().unwrap_or("")),
            )
        };
    }
    let mut bad = Vec::new();
    let mut good = Vec::new();
    let mut undecided = Vec::new();
    for s in seen {
        let who = format!("{} [{}]:{} ({})", s.host, s.addr.ip(), s.addr.port(), s.how);
        match &s.result {
            Ok(cert) => match cert.verdict() {
                Ok(()) => good.push(format!("{who}: {}", cert.describe())),
                Err(e) => bad.push(format!("{who}: {e}; {}", cert.describe())),
            },
            Err(e) if e.starts_with("connect:") || e.contains("no answer") || e.contains("did not end") => {
                undecided.push(format!("{who}: {e}"))
            }
            Err(e) => bad.push(format!("{who}: {e}")),
        }
    }
    if !bad.is_empty() {
        Check::new(
            id,
            Status::Fail,
            format!("{} of {} {what} servers lack TLS with a valid certificate", bad.len(), seen.len()),
        )
        .evidence(bad.into_iter().chain(undecided).chain(good))
    } else if !undecided.is_empty() {
        Check::new(
            id,
            Status::Error,
            format!("{} of {} {what} servers could not be reached", undecided.len(), seen.len()),
        )
        .evidence(undecided.into_iter().chain(good))
    } else {
        Check::new(id, Status::Pass, format!("every {what} server speaks TLS with a valid certificate")).evidence(good)
    }
}
