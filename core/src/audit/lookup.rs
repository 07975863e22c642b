//! What the audit asks DNS, and how it tells "there is none" from "nobody answered": a timeout
//! or a SERVFAIL is [`Answer::Error`], never [`Answer::None`].
//!
//! Two ways of asking: through the resolver (the view every sender has), and straight to one
//! name server over UDP, to see whether it answers with authority for the zone and what SOA
//! serial it serves.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::op::{Message, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, RecordType};

use super::AuditError;
use crate::dns::dotless;

/// An answer, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    /// Records.
    Found(T),
    /// The name does not exist, or has no record of that type.
    None,
    /// No decision: a timeout, a refusal, a server failure.
    Error(String),
}

impl<T> Answer<T> {
    /// The records, if any.
    pub fn found(&self) -> Option<&T> {
        match self {
            Answer::Found(t) => Some(t),
            _ => None,
        }
    }

    /// The error, if the question went unanswered.
    pub fn error(&self) -> Option<&str> {
        match self {
            Answer::Error(e) => Some(e),
            _ => None,
        }
    }
}

/// One record, as text (`10 mx1.example.org`, `v=spf1 -all`, `192.0.2.1`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rr {
    /// The owner name (lowercase, no final dot).
    pub name: String,
    /// `MX`, `A`, `AAAA`, `CNAME`, `NS`, `SOA`, `TXT`, `SRV`, `TLSA`.
    pub kind: &'static str,
    /// The data.
    pub value: String,
    /// Seconds.
    pub ttl: u32,
}

/// The resolver, and the bound on every question.
pub(crate) struct Dns {
    resolver: TokioResolver,
    timeout: Duration,
}

/// What one name server said to a direct question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Direct {
    /// The AA bit.
    pub authoritative: bool,
    /// `NOERROR`, `REFUSED`, …
    pub rcode: String,
    /// The SOA serial, when the answer holds the zone's SOA.
    pub serial: Option<u32>,
}

impl Dns {
    pub(crate) fn new(servers: &[SocketAddr], timeout: Duration) -> Result<Self, AuditError> {
        let resolver = crate::dns::resolver(servers, timeout).map_err(|e| AuditError::Config(e.to_string()))?;
        Ok(Dns { resolver, timeout })
    }

    /// The bound on one question (and on each step of a probe).
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The records of `kind` at `name`, CNAMEs on the way included.
    pub(crate) async fn records(&self, name: &str, kind: RecordType) -> Answer<Vec<Rr>> {
        self.ask(name, kind, |records| {
            let rrs: Vec<Rr> = records.iter().filter_map(|r| rr(&r.name, r.ttl, &r.data)).collect();
            if rrs.is_empty() { Answer::None } else { Answer::Found(rrs) }
        })
        .await
    }

    /// One question, bounded, with "no such name" and "no records" as [`Answer::None`]; `read`
    /// turns the answer section into the result.
    async fn ask<T>(
        &self,
        name: &str,
        kind: RecordType,
        read: impl FnOnce(&[hickory_resolver::proto::rr::Record]) -> Answer<T>,
    ) -> Answer<T> {
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        // Two attempts of `timeout` each inside the resolver; this bounds the whole question.
        let asked = tokio::time::timeout(self.timeout * 3, self.resolver.lookup(fqdn.as_str(), kind)).await;
        match asked {
            Err(_) => Answer::Error(format!("{name} {kind}: no answer within {} s", (self.timeout * 3).as_secs())),
            Ok(Ok(lookup)) => read(lookup.answers()),
            Ok(Err(e)) if e.is_nx_domain() || e.is_no_records_found() => Answer::None,
            Ok(Err(e)) => Answer::Error(format!("{name} {kind}: {e}")),
        }
    }

    /// How many records of `kind` are at `name`, of any type the audit reads or not (DNSKEY).
    pub(crate) async fn count(&self, name: &str, kind: RecordType) -> Answer<usize> {
        self.ask(name, kind, |records| match records.iter().filter(|r| r.record_type() == kind).count() {
            0 => Answer::None,
            n => Answer::Found(n),
        })
        .await
    }

    /// The TXT records at `name` (each one's strings joined).
    pub(crate) async fn txt(&self, name: &str) -> Answer<Vec<String>> {
        match self.records(name, RecordType::TXT).await {
            Answer::Found(rrs) => {
                let texts: Vec<String> = rrs.into_iter().filter(|r| r.kind == "TXT").map(|r| r.value).collect();
                if texts.is_empty() { Answer::None } else { Answer::Found(texts) }
            }
            Answer::None => Answer::None,
            Answer::Error(e) => Answer::Error(e),
        }
    }

    /// The addresses of `host` (A and AAAA), and the CNAME it is, if it is one.
    pub(crate) async fn addresses(&self, host: &str) -> (Answer<Vec<IpAddr>>, Option<String>) {
        let (a, aaaa) = futures_util::join!(self.records(host, RecordType::A), self.records(host, RecordType::AAAA));
        let mut cname = None;
        let mut addrs = Vec::new();
        let mut errors = Vec::new();
        for answer in [a, aaaa] {
            match answer {
                Answer::Found(rrs) => {
                    for r in rrs {
                        match r.kind {
                            "CNAME" if r.name == dotless(host) => cname = Some(r.value),
                            "A" | "AAAA" => addrs.extend(r.value.parse::<IpAddr>().ok()),
                            _ => {}
                        }
                    }
                }
                Answer::None => {}
                Answer::Error(e) => errors.push(e),
            }
        }
        addrs.sort();
        addrs.dedup();
        let answer = match (addrs.is_empty(), errors.is_empty()) {
            (false, _) => Answer::Found(addrs),
            (true, true) => Answer::None,
            (true, false) => Answer::Error(errors.join("; ")),
        };
        (answer, cname)
    }

    /// Asks `server` (port 53) itself for `zone`'s SOA, recursion off.
    pub(crate) async fn direct_soa(&self, server: IpAddr, zone: &str) -> Answer<Direct> {
        self.direct_soa_at(SocketAddr::new(server, 53), zone).await
    }

    pub(crate) async fn direct_soa_at(&self, server: SocketAddr, zone: &str) -> Answer<Direct> {
        let Ok(name) = Name::from_ascii(format!("{}.", zone.trim_end_matches('.'))) else {
            return Answer::Error(format!("{zone:?} is not a domain name"));
        };
        let mut query = Message::query();
        query.metadata.recursion_desired = false;
        query.add_query(Query::query(name, RecordType::SOA));
        let Ok(bytes) = query.to_vec() else { return Answer::Error("cannot encode the query".into()) };
        let id = query.metadata.id;
        let asked = async {
            let bind: SocketAddr = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().expect("literal");
            let socket = tokio::net::UdpSocket::bind(bind).await?;
            socket.connect(server).await?;
            let mut buf = vec![0u8; 4096];
            // Two tries: UDP may drop one.
            for _ in 0..2 {
                socket.send(&bytes).await?;
                if let Ok(got) = tokio::time::timeout(self.timeout, socket.recv(&mut buf)).await {
                    let n = got?;
                    if let Ok(m) = Message::from_vec(&buf[..n])
                        && m.metadata.id == id
                    {
                        return Ok(Some(m));
                    }
                }
            }
            Ok::<_, std::io::Error>(None)
        };
        match asked.await {
            Err(e) => Answer::Error(format!("{server}: {e}")),
            Ok(None) => Answer::Error(format!("{server}: no answer within {} s", (self.timeout * 2).as_secs())),
            Ok(Some(m)) => {
                let serial = m.answers.iter().find_map(|r| match &r.data {
                    RData::SOA(soa) => Some(soa.serial),
                    _ => None,
                });
                let rcode = m.metadata.response_code;
                Answer::Found(Direct {
                    authoritative: m.metadata.authoritative && rcode == ResponseCode::NoError,
                    rcode: rcode.to_string(),
                    serial,
                })
            }
        }
    }
}

/// A record as text; `None` for kinds the audit does not read.
fn rr(name: &Name, ttl: u32, data: &RData) -> Option<Rr> {
    let (kind, value) = crate::dns::record_text(data)?;
    Some(Rr { name: dotless(&name.to_ascii()), kind, value, ttl })
}

/// The network an address is in, for "are these on different networks": its /24 (IPv4) or
/// /48 (IPv6).
pub fn network(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => {
            let o = a.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_slash_24_and_slash_48() {
        assert_eq!(network("192.0.2.77".parse().expect("ip")), "192.0.2.0/24");
        assert_eq!(network("2001:db8:1:2::5".parse().expect("ip")), "2001:db8:1::/48");
    }
}
