//! The domain's published policies: SPF (one record, a closing `-all`/`~all`, and the RFC 7208
//! §4.6.4 limits counted through includes and redirects), DMARC and TLS-RPT. Records are
//! parsed by `mail-auth`, as the message checks of the `auth` module do.

use std::collections::{HashSet, VecDeque};

use hickory_resolver::proto::rr::RecordType;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::spf::{Macro, Mechanism, Qualifier, Spf};

use super::lookup::{Answer, Dns};
use super::{Check, Status};

/// DNS-querying terms allowed in an SPF evaluation.
pub const SPF_LOOKUPS: usize = 10;
/// Lookups that may come back empty.
pub const SPF_VOID: usize = 2;

/// The `v=spf1` records among TXT strings.
fn spf_records(texts: &[String]) -> Vec<&String> {
    texts
        .iter()
        .filter(|t| {
            let t = t.trim_start();
            t.len() >= 6 && t[..6].eq_ignore_ascii_case("v=spf1") && t[6..].chars().next().is_none_or(|c| c == ' ')
        })
        .collect()
}

/// A macro that is plain text (a domain); `None` when it needs the message to expand.
fn literal(m: &Macro) -> Option<String> {
    match m {
        Macro::Literal(b) => Some(String::from_utf8_lossy(b).trim_end_matches('.').to_ascii_lowercase()),
        _ => None,
    }
}

/// `spf.record` and `spf.lookups`.
pub(crate) async fn spf(dns: &Dns, domain: &str) -> Vec<Check> {
    let texts = dns.txt(domain).await;
    let record = match &texts {
        Answer::Error(e) => {
            let c = Check::new("spf.record", Status::Error, "the SPF record could not be read").evidence([e.clone()]);
            return vec![c];
        }
        Answer::None => None,
        Answer::Found(t) => Some(t.clone()),
    };
    let texts = record.unwrap_or_default();
    let found = spf_records(&texts);
    let first = match found.as_slice() {
        [] => return vec![Check::new("spf.record", Status::Fail, format!("{domain} publishes no SPF record"))],
        [one] => (*one).clone(),
        many => {
            let evidence: Vec<String> = many.iter().map(|s| s.to_string()).collect();
            let c = Check::new(
                "spf.record",
                Status::Fail,
                format!("{} SPF records: receivers must treat that as an error (RFC 7208 §3.2)", many.len()),
            );
            return vec![c.evidence(evidence)];
        }
    };
    let parsed = match Spf::parse(first.as_bytes()) {
        Ok(s) => s,
        Err(e) => {
            return vec![
                Check::new("spf.record", Status::Fail, format!("the SPF record does not parse: {e}")).evidence([first]),
            ];
        }
    };
    let all = parsed.directives.iter().find(|d| d.mechanism == Mechanism::All).map(|d| &d.qualifier);
    let record = match (all, &parsed.redirect) {
        (Some(Qualifier::Fail), _) => Check::new("spf.record", Status::Pass, "one SPF record, ending in -all"),
        (Some(Qualifier::SoftFail), _) => Check::new("spf.record", Status::Pass, "one SPF record, ending in ~all"),
        (Some(Qualifier::Pass), _) => {
            Check::new("spf.record", Status::Fail, "+all: every host on the Internet may send as this domain")
        }
        (Some(Qualifier::Neutral), _) => {
            Check::new("spf.record", Status::Warn, "?all: the record says nothing about other hosts")
        }
        (None, Some(_)) => Check::new("spf.record", Status::Pass, "one SPF record, ending in a redirect"),
        (None, None) => Check::new("spf.record", Status::Warn, "no -all or ~all: other hosts are neutral"),
    };
    let lookups = count(dns, domain, parsed).await;
    vec![record.evidence([first]), lookups]
}

/// Walks includes and redirects (each domain once), counting the DNS-querying terms and the
/// lookups that come back empty.
async fn count(dns: &Dns, domain: &str, top: Spf) -> Check {
    let (mut lookups, mut void) = (0usize, 0usize);
    let mut evidence = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashSet<String> = HashSet::from([domain.to_string()]);
    let mut queue: VecDeque<(String, Option<Spf>)> = VecDeque::from([(domain.to_string(), Some(top))]);
    while let Some((at, parsed)) = queue.pop_front() {
        if lookups > SPF_LOOKUPS {
            break;
        }
        let spf = match parsed {
            Some(s) => s,
            None => match dns.txt(&at).await {
                Answer::Error(e) => {
                    errors.push(e);
                    continue;
                }
                Answer::None => {
                    void += 1;
                    evidence.push(format!("{at}: no SPF record (a void lookup; an include of it is a permerror)"));
                    continue;
                }
                Answer::Found(texts) => match spf_records(&texts).first().map(|t| Spf::parse(t.as_bytes())) {
                    Some(Ok(s)) => s,
                    Some(Err(e)) => {
                        evidence.push(format!("{at}: the SPF record does not parse: {e}"));
                        continue;
                    }
                    None => {
                        void += 1;
                        evidence.push(format!("{at}: no SPF record (a void lookup; an include of it is a permerror)"));
                        continue;
                    }
                },
            },
        };
        let mut follow = |target: Option<String>, what: &str, evidence: &mut Vec<String>| match target {
            Some(t) if seen.insert(t.clone()) => queue.push_back((t, None)),
            Some(t) => evidence.push(format!("{at}: {what}:{t} again (a loop or a repeat; not followed)")),
            None => evidence.push(format!("{at}: {what} with a macro (counted, not followed)")),
        };
        for d in spf.directives.iter() {
            let (target, kind) = match &d.mechanism {
                Mechanism::Include { macro_string } => {
                    lookups += 1;
                    follow(literal(macro_string), "include", &mut evidence);
                    continue;
                }
                Mechanism::A { macro_string, .. } => (target_of(macro_string, &at), RecordType::A),
                Mechanism::Mx { macro_string, .. } => (target_of(macro_string, &at), RecordType::MX),
                Mechanism::Exists { macro_string } => (literal(macro_string), RecordType::A),
                Mechanism::Ptr { .. } => {
                    lookups += 1;
                    evidence.push(format!("{at}: ptr (slow, and RFC 7208 says do not use it)"));
                    continue;
                }
                Mechanism::All | Mechanism::Ip4 { .. } | Mechanism::Ip6 { .. } => continue,
            };
            lookups += 1;
            let Some(target) = target else { continue };
            let empty = match kind {
                RecordType::A => {
                    let (a, _) = dns.addresses(&target).await;
                    match a {
                        Answer::Error(e) => {
                            errors.push(e);
                            false
                        }
                        Answer::None => true,
                        Answer::Found(_) => false,
                    }
                }
                _ => match dns.records(&target, kind).await {
                    Answer::Error(e) => {
                        errors.push(e);
                        false
                    }
                    Answer::None => true,
                    Answer::Found(_) => false,
                },
            };
            if empty {
                void += 1;
                evidence.push(format!("{at}: {kind} {target} is empty (a void lookup)"));
            }
        }
        if let Some(r) = &spf.redirect {
            lookups += 1;
            follow(literal(r), "redirect", &mut evidence);
        }
    }
    evidence.insert(
        0,
        format!("{lookups} DNS-querying terms (at most {SPF_LOOKUPS}), {void} void lookups (at most {SPF_VOID})"),
    );
    let over = lookups > SPF_LOOKUPS || void > SPF_VOID;
    let (status, finding) = if over {
        let what = if lookups > SPF_LOOKUPS {
            format!("{lookups} DNS lookups (more than {SPF_LOOKUPS}): receivers stop with a permerror")
        } else {
            format!("{void} void lookups (more than {SPF_VOID}): receivers may stop with a permerror")
        };
        (Status::Fail, what)
    } else if !errors.is_empty() {
        evidence.extend(errors);
        (Status::Error, "part of the SPF tree could not be read".to_string())
    } else {
        (Status::Pass, format!("{lookups} lookups, {void} void, within the limits"))
    };
    Check::new("spf.lookups", status, finding).evidence(evidence)
}

/// The domain an `a` or `mx` term asks about: its own, or the current one.
fn target_of(m: &Macro, current: &str) -> Option<String> {
    match m {
        Macro::None => Some(current.to_string()),
        other => literal(other),
    }
}

/// `dmarc.record`: one `v=DMARC1` record at `_dmarc.DOMAIN`, its policy and where reports go.
pub(crate) async fn dmarc(dns: &Dns, domain: &str) -> Check {
    use mail_auth::dmarc::{Dmarc, Policy};
    let name = format!("_dmarc.{domain}");
    let texts = match dns.txt(&name).await {
        Answer::Error(e) => {
            return Check::new("dmarc.record", Status::Error, "the DMARC record could not be read").evidence([e]);
        }
        Answer::None => Vec::new(),
        Answer::Found(t) => t,
    };
    let records: Vec<&String> =
        texts.iter().filter(|t| t.trim_start().get(..8).is_some_and(|v| v.eq_ignore_ascii_case("v=DMARC1"))).collect();
    let record = match records.as_slice() {
        [] => return Check::new("dmarc.record", Status::Fail, format!("{name} has no DMARC record")),
        [one] => (*one).clone(),
        many => {
            let c = Check::new(
                "dmarc.record",
                Status::Fail,
                format!("{} DMARC records: receivers ignore them all", many.len()),
            );
            return c.evidence(many.iter().map(|s| s.to_string()));
        }
    };
    let parsed = match Dmarc::parse(record.as_bytes()) {
        Ok(d) => d,
        Err(e) => {
            return Check::new("dmarc.record", Status::Fail, format!("the DMARC record does not parse: {e}"))
                .evidence([record]);
        }
    };
    let rua = if parsed.rua.is_empty() {
        "no rua: nobody receives the aggregate reports".to_string()
    } else {
        format!("reports to {}", parsed.rua.iter().map(|u| u.uri.as_str()).collect::<Vec<_>>().join(", "))
    };
    let (status, policy) = match parsed.p {
        Policy::Reject => (Status::Pass, "p=reject"),
        Policy::Quarantine => (Status::Pass, "p=quarantine"),
        Policy::None => (Status::Warn, "p=none: failing mail is still delivered"),
        Policy::Unspecified => (Status::Fail, "no p= policy"),
    };
    let status = if status == Status::Pass && parsed.rua.is_empty() { Status::Warn } else { status };
    let addresses: Vec<&str> = parsed.rua.iter().map(|u| u.uri.as_str()).collect();
    let problems = report_problems(dns, domain, &addresses).await;
    if problems.is_empty() {
        return Check::new("dmarc.record", status, format!("{policy}; {rua}")).evidence([record]);
    }
    let status = if status == Status::Pass { Status::Warn } else { status };
    let finding = format!("{policy}; but the reports cannot all be delivered ({})", problems[0]);
    Check::new("dmarc.record", status, finding).evidence(std::iter::once(record).chain(problems))
}

/// Why reports to these addresses would not arrive: a domain that takes no mail (null MX, or
/// neither MX nor address), or another domain that has not agreed to take them (no
/// `DOMAIN._report._dmarc.OTHER` record, RFC 7489 §7.1). Undecided lookups say nothing.
/// (`dmarc@sub.example.org` for `example.org` needs no such record: one organization.)
async fn report_problems(dns: &Dns, domain: &str, addresses: &[&str]) -> Vec<String> {
    let domains: Vec<(&str, String)> = addresses
        .iter()
        .filter_map(|a| Some((*a, a.rsplit_once('@')?.1.trim_end_matches('.').to_ascii_lowercase())))
        .take(8)
        .collect();
    let asked = futures_util::future::join_all(domains.iter().map(|(address, d)| async move {
        let mut problems = Vec::new();
        let takes_mail = match dns.records(d, hickory_resolver::proto::rr::RecordType::MX).await {
            Answer::Found(rrs) => {
                let hosts: Vec<&str> =
                    rrs.iter().filter(|r| r.kind == "MX").filter_map(|r| r.value.split(' ').nth(1)).collect();
                Some(!hosts.iter().all(|h| h.is_empty() || *h == "."))
            }
            Answer::None => match dns.addresses(d).await.0 {
                Answer::Found(_) => Some(true),
                Answer::None => Some(false),
                Answer::Error(_) => None,
            },
            Answer::Error(_) => None,
        };
        if takes_mail == Some(false) {
            problems.push(format!("{address}: {d} receives no mail (null MX, or no MX and no address)"));
        }
        // Another organizational domain (RFC 7489 §7.1), by the Public Suffix List.
        let org = |x: &str| psl::domain_str(x).unwrap_or(x).to_string();
        if org(d) != org(domain) {
            let owner = format!("{domain}._report._dmarc.{d}");
            if let Answer::None = dns.txt(&owner).await {
                problems.push(format!("{address}: {d} has not agreed to take {domain}'s reports (no {owner} record)"));
            }
        }
        problems
    }))
    .await;
    asked.into_iter().flatten().collect()
}

/// `tls_rpt`: a `v=TLSRPTv1` record at `_smtp._tls.DOMAIN` (RFC 8460).
pub(crate) async fn tls_rpt(dns: &Dns, domain: &str) -> Check {
    use mail_auth::mta_sts::TlsRpt;
    let name = format!("_smtp._tls.{domain}");
    match dns.txt(&name).await {
        Answer::Error(e) => Check::new("tls_rpt", Status::Error, "the TLS-RPT record could not be read").evidence([e]),
        Answer::None => {
            Check::new("tls_rpt", Status::Warn, format!("no TLS-RPT record at {name}: TLS failures go unreported"))
        }
        Answer::Found(texts) => {
            let records: Vec<&String> = texts
                .iter()
                .filter(|t| t.trim_start().get(..10).is_some_and(|v| v.eq_ignore_ascii_case("v=TLSRPTv1")))
                .collect();
            match records.as_slice() {
                [] => Check::new(
                    "tls_rpt",
                    Status::Warn,
                    format!("no TLS-RPT record at {name}: TLS failures go unreported"),
                ),
                [one] => match TlsRpt::parse(one.as_bytes()) {
                    Ok(r) if !r.rua.is_empty() => Check::new(
                        "tls_rpt",
                        Status::Pass,
                        format!(
                            "TLS reports requested ({} {})",
                            r.rua.len(),
                            if r.rua.len() == 1 { "address" } else { "addresses" }
                        ),
                    )
                    .evidence([(*one).clone()]),
                    Ok(_) => Check::new("tls_rpt", Status::Fail, "the TLS-RPT record names nowhere to report")
                        .evidence([(*one).clone()]),
                    Err(e) => Check::new("tls_rpt", Status::Fail, format!("the TLS-RPT record does not parse: {e}"))
                        .evidence([(*one).clone()]),
                },
                many => Check::new(
                    "tls_rpt",
                    Status::Fail,
                    format!("{} TLS-RPT records: senders ignore them all", many.len()),
                )
                .evidence(many.iter().map(|s| s.to_string())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spf_records_are_told_from_other_txt() {
        let t =
            vec!["v=spf1 -all".to_string(), "google-site-verification=x".into(), "v=spf10 x".into(), "V=SPF1".into()];
        assert_eq!(spf_records(&t), [&t[0], &t[3]]);
    }
}
