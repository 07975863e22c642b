//! The mail access servers users reach (IMAP to read, submission to send): found the way mail
//! clients find them — SRV records (RFC 6186, RFC 8314), else the conventional names — and
//! whether there is more than one.

use std::collections::BTreeSet;
use std::net::IpAddr;

use hickory_resolver::proto::rr::RecordType;

use super::lookup::{Answer, Dns};
use super::{Check, Status};

/// An access server: its host, port (0: the usual ones), whether that port speaks TLS from
/// the first byte, and its addresses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Server {
    pub host: String,
    pub port: u16,
    pub implicit: bool,
    pub addrs: Vec<IpAddr>,
}

/// A service's servers, how they were found, and what went wrong.
pub(crate) struct Found {
    pub servers: Vec<Server>,
    how: String,
    broken: Vec<String>,
    errors: Vec<String>,
}

async fn find(dns: &Dns, domain: &str, srv: &[&str], names: &[&str]) -> Found {
    let mut f = Found { servers: Vec::new(), how: String::new(), broken: Vec::new(), errors: Vec::new() };
    let owners: Vec<String> = srv.iter().map(|s| format!("{s}.{domain}")).collect();
    let answers = futures_util::future::join_all(owners.iter().map(|o| dns.records(o, RecordType::SRV))).await;
    let mut targets: Vec<(String, u16, String, bool)> = Vec::new();
    for ((owner, service), a) in owners.iter().zip(srv).zip(answers) {
        // `_imaps`, `_submissions`: TLS from the first byte (RFC 8314).
        let implicit = service.starts_with("_imaps") || service.starts_with("_submissions");
        match a {
            Answer::Found(rrs) => {
                for r in rrs.into_iter().filter(|r| r.kind == "SRV") {
                    let parts: Vec<&str> = r.value.split(' ').collect();
                    if let [_, _, port, host] = parts[..] {
                        targets.push((host.to_string(), port.parse().unwrap_or(0), owner.clone(), implicit));
                    }
                }
            }
            Answer::None => {}
            Answer::Error(e) => f.errors.push(e),
        }
    }
    if !targets.is_empty() {
        f.how = "SRV, RFC 6186".into();
        for (host, port, owner, implicit) in targets {
            if host == "." {
                // RFC 6186 §4: the service is deliberately not offered.
                continue;
            }
            match dns.addresses(&host).await.0 {
                Answer::Found(addrs) => f.servers.push(Server { host, port, implicit, addrs }),
                Answer::None => f.broken.push(format!("{owner} points to {host}:{port}, which does not resolve")),
                Answer::Error(e) => f.errors.push(e),
            }
        }
        f.servers.sort();
        return f;
    }
    if !f.errors.is_empty() {
        // Whether SRV records exist is not known: the names would not decide it.
        return f;
    }
    // The conventional names, asked at once, taken in order.
    let hosts: Vec<String> = names.iter().map(|n| format!("{n}.{domain}")).collect();
    let answers = futures_util::future::join_all(hosts.iter().map(|h| dns.addresses(h))).await;
    for (host, (answer, _)) in hosts.into_iter().zip(answers) {
        match answer {
            Answer::Found(addrs) => {
                f.how = format!("no SRV records: the conventional name {host}");
                f.servers.push(Server { host, port: 0, implicit: false, addrs });
                return f;
            }
            Answer::None => {}
            Answer::Error(e) => f.errors.push(e),
        }
    }
    f
}

fn judge(id: &'static str, what: &str, f: &Found) -> Check {
    let evidence: Vec<String> = f
        .servers
        .iter()
        .map(|s| {
            let port = if s.port == 0 { String::new() } else { format!(":{}", s.port) };
            format!("{}{port}: {}", s.host, s.addrs.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", "))
        })
        .collect();
    if !f.broken.is_empty() {
        let c = Check::new(id, Status::Fail, format!("{what}: {} of its SRV targets do not resolve", f.broken.len()));
        return c.evidence(f.broken.iter().cloned().chain(evidence));
    }
    if f.servers.is_empty() {
        if !f.errors.is_empty() {
            return Check::new(id, Status::Error, format!("{what}: the records could not be read"))
                .evidence(f.errors.clone());
        }
        return Check::new(id, Status::Warn, format!("no {what} server found (no SRV records, no conventional name)"));
    }
    Check::new(id, Status::Pass, format!("{what} at {} ({})", f.servers[0].host, f.how)).evidence(evidence)
}

/// `srv.imap`, `srv.submission`, `access.count`, and the IMAP and submission servers found.
pub(crate) async fn access(dns: &Dns, domain: &str) -> (Vec<Check>, Found, Found) {
    let (imap, submission) = futures_util::join!(
        find(dns, domain, &["_imaps._tcp", "_imap._tcp"], &["imap", "mail"]),
        find(dns, domain, &["_submissions._tcp", "_submission._tcp"], &["smtp", "mail"]),
    );
    let srv_imap = judge("srv.imap", "IMAP", &imap);
    let srv_submission = judge("srv.submission", "submission", &submission);
    let addresses: BTreeSet<IpAddr> = imap.servers.iter().flat_map(|s| s.addrs.iter().copied()).collect();
    let count = match addresses.len() {
        0 if srv_imap.status == Status::Error => {
            Check::new("access.count", Status::Error, "the IMAP servers could not be found")
        }
        0 => Check::new("access.count", Status::Warn, "no IMAP server to count"),
        1 => Check::new(
            "access.count",
            Status::Warn,
            "a single IMAP server address: while it is down users cannot read mail (none is lost)",
        ),
        n => Check::new("access.count", Status::Pass, format!("{n} IMAP server addresses")),
    }
    .evidence(addresses.iter().map(IpAddr::to_string));
    (vec![srv_imap, srv_submission, count], imap, submission)
}
