//! What can fail without noticeable impact, as DNS shows it: more than one name server, on more
//! than one network, each answering with authority and serving the same zone; more than one
//! mail server, on more than one network, each a name with addresses.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use hickory_resolver::proto::rr::RecordType;

use super::lookup::{Answer, Direct, Dns, network};
use super::{Check, Status};

/// A host, its addresses, and the CNAME it is (if it is one).
type Resolved = (String, Answer<Vec<IpAddr>>, Option<String>);

/// The addresses of each host, asked in parallel.
async fn resolve_all(dns: &Dns, hosts: &[String]) -> Vec<Resolved> {
    let answers = futures_util::future::join_all(hosts.iter().map(|h| dns.addresses(h))).await;
    hosts.iter().cloned().zip(answers).map(|(h, (a, c))| (h, a, c)).collect()
}

/// "Are these on more than one network?", from hosts and their addresses.
fn networks(id: &'static str, what: &str, hosts: &[Resolved]) -> Check {
    let mut nets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut evidence = Vec::new();
    let mut undecided = Vec::new();
    for (h, a, _) in hosts {
        match a {
            Answer::Found(addrs) => {
                evidence.push(format!(
                    "{h}: {}",
                    addrs.iter().map(|a| format!("{a} ({})", network(*a))).collect::<Vec<_>>().join(", ")
                ));
                for addr in addrs {
                    nets.entry(network(*addr)).or_default().insert(h.clone());
                }
            }
            Answer::None => evidence.push(format!("{h}: no address")),
            Answer::Error(e) => undecided.push(e.clone()),
        }
    }
    match nets.len() {
        n if n >= 2 => Check::new(id, Status::Pass, format!("{what} on {n} networks")).evidence(evidence),
        _ if !undecided.is_empty() => {
            evidence.extend(undecided);
            Check::new(id, Status::Error, format!("the addresses of the {what} could not all be read"))
                .evidence(evidence)
        }
        0 => Check::new(id, Status::Fail, format!("no {what} has an address")).evidence(evidence),
        _ => {
            let net = nets.keys().next().cloned().unwrap_or_default();
            Check::new(id, Status::Fail, format!("all {what} are in {net}: one network failure takes them all"))
                .evidence(evidence)
        }
    }
}

/// `ns.count`, `ns.networks`, `ns.authoritative`, `ns.serial`.
pub(crate) async fn name_servers(dns: &Dns, domain: &str) -> Vec<Check> {
    let ids = ["ns.count", "ns.networks", "ns.authoritative", "ns.serial"];
    let hosts: Vec<String> = match dns.records(domain, RecordType::NS).await {
        Answer::Error(e) => {
            return ids
                .iter()
                .map(|id| Check::new(id, Status::Error, "the NS records could not be read").evidence([e.clone()]))
                .collect();
        }
        Answer::None => {
            let none = Check::new("ns.count", Status::Fail, format!("{domain} has no NS records: is it a zone?"));
            return vec![none];
        }
        Answer::Found(rrs) => {
            let mut h: Vec<String> = rrs.into_iter().filter(|r| r.kind == "NS").map(|r| r.value).collect();
            h.sort();
            h.dedup();
            h
        }
    };
    let count = match hosts.len() {
        n if n >= 2 => Check::new("ns.count", Status::Pass, format!("{n} name servers")),
        _ => Check::new("ns.count", Status::Fail, "a single name server: when it fails, the domain disappears"),
    }
    .evidence(hosts.iter().cloned());
    let resolved = resolve_all(dns, &hosts).await;
    let nets = networks("ns.networks", "name servers", &resolved);

    // Each address of each name server, asked directly.
    let targets: Vec<(String, IpAddr)> =
        resolved.iter().flat_map(|(h, a, _)| a.found().into_iter().flatten().map(move |ip| (h.clone(), *ip))).collect();
    let answers = futures_util::future::join_all(targets.iter().map(|(_, ip)| dns.direct_soa(*ip, domain))).await;
    let mut lame = Vec::new();
    let mut undecided = Vec::new();
    let mut serials: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    let mut evidence = Vec::new();
    for ((h, ip), a) in targets.iter().zip(&answers) {
        match a {
            Answer::Found(Direct { authoritative: true, serial, .. }) => {
                evidence.push(format!(
                    "{h} [{ip}]: authoritative, serial {}",
                    serial.map_or("?".into(), |s| s.to_string())
                ));
                if let Some(s) = serial {
                    serials.entry(*s).or_default().push(format!("{h} [{ip}]"));
                }
            }
            Answer::Found(d) => lame.push(format!("{h} [{ip}]: {} without authority (lame)", d.rcode)),
            Answer::None => lame.push(format!("{h} [{ip}]: no answer")),
            Answer::Error(e) => undecided.push(format!("{h} [{ip}]: {e}")),
        }
    }
    for (h, a, _) in &resolved {
        if matches!(a, Answer::None) {
            lame.push(format!("{h}: has no address"));
        }
    }
    let authoritative = if !lame.is_empty() {
        let c = Check::new(
            "ns.authoritative",
            Status::Fail,
            format!(
                "{} of {} name server addresses do not serve {domain}",
                lame.len(),
                targets.len() + resolved.iter().filter(|(_, a, _)| matches!(a, Answer::None)).count()
            ),
        );
        c.evidence(lame.iter().chain(&evidence).chain(&undecided).cloned())
    } else if !undecided.is_empty() {
        Check::new("ns.authoritative", Status::Error, "some name servers could not be asked")
            .evidence(undecided.iter().chain(&evidence).cloned())
    } else {
        Check::new(
            "ns.authoritative",
            Status::Pass,
            format!("every name server ({} addresses) answers with authority", targets.len()),
        )
        .evidence(evidence.clone())
    };
    let serial = match serials.len() {
        0 => Check::new("ns.serial", Status::Error, "no name server gave its SOA serial").evidence(undecided.clone()),
        1 => {
            let s = serials.keys().next().copied().unwrap_or_default();
            Check::new("ns.serial", Status::Pass, format!("every name server serves serial {s}"))
        }
        _ => {
            let e: Vec<String> = serials.iter().map(|(s, who)| format!("serial {s}: {}", who.join(", "))).collect();
            Check::new(
                "ns.serial",
                Status::Fail,
                "the name servers serve different versions of the zone (a secondary is not updated)",
            )
            .evidence(e)
        }
    };
    vec![count, nets, authoritative, serial]
}

/// The MX hosts: every name the records give (by preference), and those a sender can use
/// (a name, not a CNAME or literal, with addresses) with their addresses.
#[derive(Debug, Default)]
pub(crate) struct MailHosts {
    pub names: Vec<String>,
    pub usable: Vec<(String, Vec<IpAddr>)>,
}

/// `mx.records`, `mx.count`, `mx.networks`, `mx.targets`, and the MX hosts for the probes.
pub(crate) async fn mail_servers(dns: &Dns, domain: &str) -> (Vec<Check>, MailHosts) {
    let mut mx: Vec<(u16, String)> = match dns.records(domain, RecordType::MX).await {
        Answer::Error(e) => {
            let ids = ["mx.records", "mx.count", "mx.networks", "mx.targets"];
            return (
                ids.iter()
                    .map(|id| Check::new(id, Status::Error, "the MX records could not be read").evidence([e.clone()]))
                    .collect(),
                MailHosts::default(),
            );
        }
        Answer::None => {
            return (
                vec![Check::new(
                    "mx.records",
                    Status::Fail,
                    format!("{domain} has no MX records: senders fall back to its address, if any"),
                )],
                MailHosts::default(),
            );
        }
        Answer::Found(rrs) => rrs
            .into_iter()
            .filter(|r| r.kind == "MX")
            .filter_map(|r| {
                let (p, h) = r.value.split_once(' ')?;
                Some((p.parse().ok()?, h.to_string()))
            })
            .collect(),
    };
    mx.sort();
    let listed: Vec<String> = mx.iter().map(|(p, h)| format!("{p} {h}")).collect();
    if mx.iter().any(|(_, h)| h == ".") {
        let c = if mx.len() == 1 {
            Check::new("mx.records", Status::Pass, "null MX (RFC 7505): this domain receives no mail")
        } else {
            Check::new("mx.records", Status::Fail, "a null MX beside other MX records (RFC 7505 forbids it)")
        };
        return (vec![c.evidence(listed)], MailHosts::default());
    }
    let records = Check::new(
        "mx.records",
        Status::Pass,
        format!("{} MX record{}", mx.len(), if mx.len() == 1 { "" } else { "s" }),
    )
    .evidence(listed.clone());
    let mut hosts: Vec<String> = mx.iter().map(|(_, h)| h.clone()).collect();
    hosts.dedup();
    let count = match hosts.len() {
        n if n >= 2 => Check::new("mx.count", Status::Pass, format!("{n} mail servers")),
        _ => Check::new(
            "mx.count",
            Status::Fail,
            "a single mail server: while it is down, mail waits in senders' queues",
        ),
    }
    .evidence(listed);
    // An IP literal is not looked up: it is its address (and a fault of its own).
    let literal = |h: &str| h.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
    let names: Vec<String> = hosts.iter().filter(|h| literal(h).is_none()).cloned().collect();
    let mut looked_up = resolve_all(dns, &names).await.into_iter();
    let resolved: Vec<Resolved> = hosts
        .iter()
        .map(|h| match literal(h) {
            Some(ip) => (h.clone(), Answer::Found(vec![ip]), None),
            None => looked_up.next().unwrap_or((h.clone(), Answer::None, None)),
        })
        .collect();
    let nets = networks("mx.networks", "mail servers", &resolved);
    let mut bad = Vec::new();
    let mut undecided = Vec::new();
    let mut evidence = Vec::new();
    for (h, a, cname) in &resolved {
        let literal = literal(h).is_some();
        if literal {
            bad.push(format!("{h}: an IP address, not a host name (RFC 5321 §5.1)"));
        } else if let Some(c) = cname {
            bad.push(format!("{h}: a CNAME (to {c}), which an MX must not name (RFC 2181 §10.3)"));
        }
        match a {
            Answer::Found(addrs) if !literal => {
                evidence.push(format!("{h}: {}", addrs.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ")))
            }
            Answer::Found(_) => {}
            Answer::None if !literal => bad.push(format!("{h}: does not resolve")),
            Answer::None => {}
            Answer::Error(e) => undecided.push(e.clone()),
        }
    }
    let targets = if !bad.is_empty() {
        Check::new("mx.targets", Status::Fail, format!("{} MX targets are not usable host names", bad.len()))
            .evidence(bad.into_iter().chain(evidence))
    } else if !undecided.is_empty() {
        Check::new("mx.targets", Status::Error, "the addresses of some MX targets could not be read")
            .evidence(undecided.into_iter().chain(evidence))
    } else {
        Check::new("mx.targets", Status::Pass, "every MX target is a host name with addresses").evidence(evidence)
    };
    let usable = resolved
        .into_iter()
        .filter(|(h, _, c)| c.is_none() && literal(h).is_none())
        .filter_map(|(h, a, _)| Some((h, a.found()?.clone())))
        .collect();
    (vec![records, count, nets, targets], MailHosts { names: hosts, usable })
}
