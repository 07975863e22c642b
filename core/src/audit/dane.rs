//! DANE for SMTP (RFC 7672): TLSA records at `_25._tcp.MX` name the certificate (or its key,
//! or the CA) each MX must present. Records that match nothing make DANE senders refuse the
//! MX; records in an unsigned zone are ignored by them (no DNSSEC, no DANE).

use hickory_resolver::proto::rr::RecordType;
use sha2::{Digest, Sha256, Sha512};

use super::lookup::{Answer, Dns};
use super::probe::SmtpSeen;
use super::{Check, Status};

/// One TLSA record: usage, selector, matching type, data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

impl Tlsa {
    /// From `crate::dns::record_text`'s "U S M HEX".
    fn parse(text: &str) -> Option<Tlsa> {
        let mut f = text.split(' ');
        let (u, s, m, hex) = (f.next()?.parse().ok()?, f.next()?.parse().ok()?, f.next()?.parse().ok()?, f.next()?);
        let data = (0..hex.len())
            .step_by(2)
            .map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
            .collect::<Option<Vec<u8>>>()?;
        Some(Tlsa { usage: u, selector: s, matching: m, data })
    }

    /// Whether this record matches the chain (end entity first).
    pub(crate) fn matches(&self, chain: &[impl AsRef<[u8]>]) -> bool {
        let candidates: Vec<&[u8]> = match self.usage {
            // PKIX-EE, DANE-EE: the server's own certificate.
            1 | 3 => chain.first().map(|c| c.as_ref()).into_iter().collect(),
            // PKIX-TA, DANE-TA: a CA in the chain.
            0 | 2 => chain.iter().skip(1).map(|c| c.as_ref()).collect(),
            _ => return false,
        };
        candidates.into_iter().any(|der| {
            let selected: Vec<u8> = match self.selector {
                0 => der.to_vec(),
                1 => match x509_parser::parse_x509_certificate(der) {
                    Ok((_, c)) => c.public_key().raw.to_vec(),
                    Err(_) => return false,
                },
                _ => return false,
            };
            match self.matching {
                0 => selected == self.data,
                1 => Sha256::digest(&selected).as_slice() == self.data,
                2 => Sha512::digest(&selected).as_slice() == self.data,
                _ => false,
            }
        })
    }
}

/// The TLSA records of each MX host at `port`, and whether the domain's zone is signed.
pub(crate) struct Records {
    per_host: Vec<(String, Answer<Vec<Tlsa>>)>,
    signed: Answer<usize>,
}

/// Asks for the TLSA records of the MX hosts and for the domain's DNSKEY.
pub(crate) async fn records(dns: &Dns, domain: &str, hosts: &[String], port: u16) -> Records {
    let owners: Vec<String> = hosts.iter().map(|h| format!("_{port}._tcp.{h}")).collect();
    let (answers, signed) = futures_util::join!(
        futures_util::future::join_all(owners.iter().map(|o| dns.records(o, RecordType::TLSA))),
        dns.count(domain, RecordType::DNSKEY),
    );
    let per_host = hosts
        .iter()
        .cloned()
        .zip(answers)
        .map(|(h, a)| {
            let a = match a {
                Answer::Found(rrs) => {
                    let t: Vec<Tlsa> =
                        rrs.iter().filter(|r| r.kind == "TLSA").filter_map(|r| Tlsa::parse(&r.value)).collect();
                    if t.is_empty() { Answer::None } else { Answer::Found(t) }
                }
                Answer::None => Answer::None,
                Answer::Error(e) => Answer::Error(e),
            };
            (h, a)
        })
        .collect();
    Records { per_host, signed }
}

/// `dane`: the TLSA records against the certificates the MX sessions saw.
pub(crate) fn judge(r: &Records, port: u16, seen: &[SmtpSeen]) -> Check {
    let signed = match &r.signed {
        Answer::Found(_) => "the zone is signed (DNSKEY present)".to_string(),
        Answer::None => "the zone is unsigned (no DNSKEY)".to_string(),
        Answer::Error(e) => format!("whether the zone is signed is unknown ({e})"),
    };
    let mut mismatched = Vec::new();
    let mut matched = Vec::new();
    let mut undecided = Vec::new();
    let mut any = false;
    for (host, answer) in &r.per_host {
        let records = match answer {
            Answer::None => continue,
            Answer::Error(e) => {
                undecided.push(format!("_{port}._tcp.{host}: {e}"));
                continue;
            }
            Answer::Found(t) => t,
        };
        any = true;
        for s in seen.iter().filter(|s| &s.host == host) {
            match &s.tls {
                Some(Ok(cert)) if records.iter().any(|t| t.matches(&cert.chain)) => {
                    matched.push(format!("{}: matches a TLSA record of {host}", s.who()))
                }
                Some(Ok(cert)) => mismatched.push(format!(
                    "{}: its certificate matches none of the {} TLSA records of {host} ({})",
                    s.who(),
                    records.len(),
                    cert.describe()
                )),
                Some(Err(e)) => mismatched.push(format!("{}: TLSA records, but no TLS: {e}", s.who())),
                None if s.ehlo.is_some() => mismatched.push(format!("{}: TLSA records, but no STARTTLS", s.who())),
                None => undecided.push(format!("{}: not reached", s.who())),
            }
        }
    }
    if !any {
        return if undecided.is_empty() {
            Check::new("dane", Status::Pass, format!("no TLSA records: DANE not in use; {signed}"))
        } else {
            Check::new("dane", Status::Error, "the TLSA records could not be read").evidence(undecided)
        };
    }
    let evidence: Vec<String> =
        mismatched.iter().chain(&matched).chain(&undecided).cloned().chain([signed.clone()]).collect();
    if !mismatched.is_empty() {
        return Check::new(
            "dane",
            Status::Fail,
            match mismatched.len() {
                1 => "1 MX address does not match its TLSA records: DANE senders will not deliver there".to_string(),
                n => format!("{n} MX addresses do not match their TLSA records: DANE senders will not deliver there"),
            },
        )
        .evidence(evidence);
    }
    if !undecided.is_empty() {
        return Check::new("dane", Status::Error, "some TLSA records could not be compared").evidence(evidence);
    }
    match &r.signed {
        Answer::Found(_) => Check::new("dane", Status::Pass, "every MX matches its TLSA records, in a signed zone"),
        _ => Check::new(
            "dane",
            Status::Warn,
            "the TLSA records match, but in an unsigned zone senders ignore them (RFC 7672 §2.2)",
        ),
    }
    .evidence(evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_match_by_usage_selector_and_type() {
        let chain = [b"end entity".to_vec(), b"issuer".to_vec()];
        let sha = |d: &[u8]| Sha256::digest(d).to_vec();
        let t = |usage, matching, data| Tlsa { usage, selector: 0, matching, data };
        assert!(t(3, 1, sha(b"end entity")).matches(&chain));
        assert!(t(3, 0, b"end entity".to_vec()).matches(&chain));
        assert!(!t(3, 1, sha(b"issuer")).matches(&chain));
        assert!(t(2, 1, sha(b"issuer")).matches(&chain));
        assert!(!t(2, 1, sha(b"end entity")).matches(&chain));
        assert!(t(3, 2, Sha512::digest(b"end entity").to_vec()).matches(&chain));
        assert!(!t(9, 1, sha(b"end entity")).matches(&chain));
        // Selector 1 needs a certificate to take the key from.
        assert!(!Tlsa { usage: 3, selector: 1, matching: 0, data: vec![] }.matches(&chain));
        assert_eq!(Tlsa::parse("3 1 1 0aff"), Some(Tlsa { usage: 3, selector: 1, matching: 1, data: vec![10, 255] }));
        assert_eq!(Tlsa::parse("3 1 1 0af"), None);
    }
}
