//! The DNS resolver of everything that looks names up: MX routing (`inject::mx`) and sender
//! authentication (`auth`). The system's configuration, or a list of name servers given by the
//! user (`--resolver IP[:PORT]`, then `/etc/hosts` is not read), and bounded waits: a timeout
//! is an answer ("try later"), never a hang.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;

/// Why there is no resolver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolverError {
    /// A name server address that is not `IP`, `IP:PORT` or `[IPv6]:PORT`.
    #[error("{0:?} is not a name server address (IP or IP:PORT)")]
    BadAddress(String),
    /// The system's configuration (`/etc/resolv.conf`) could not be read.
    #[error("cannot read the system's resolver configuration: {0}")]
    System(String),
    /// The resolver could not be set up.
    #[error("cannot set up the resolver: {0}")]
    Setup(String),
}

/// Reads a name server given as `IP`, `IP:PORT`, `[IPv6]:PORT` or a bare IPv6 address; the
/// port defaults to 53.
pub fn parse_resolver(s: &str) -> Result<SocketAddr, ResolverError> {
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let ip = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(s);
    ip.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)).map_err(|_| ResolverError::BadAddress(s.to_string()))
}

/// A resolver over `servers` (the system's when empty), each query waiting at most `timeout`
/// per attempt, two attempts.
pub(crate) fn resolver(servers: &[SocketAddr], timeout: Duration) -> Result<TokioResolver, ResolverError> {
    let mut opts = ResolverOpts::default();
    opts.timeout = timeout;
    opts.attempts = 2;
    opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    opts.ndots = 0;
    let mut builder = if servers.is_empty() {
        TokioResolver::builder_tokio().map_err(|e| ResolverError::System(e.to_string()))?
    } else {
        opts.use_hosts_file = ResolveHosts::Never;
        let servers = servers
            .iter()
            .map(|a| {
                let mut udp = ConnectionConfig::udp();
                udp.port = a.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = a.port();
                NameServerConfig::new(a.ip(), true, vec![udp, tcp])
            })
            .collect();
        TokioResolver::builder_with_config(ResolverConfig::from_name_servers(servers), TokioRuntimeProvider::default())
    };
    *builder.options_mut() = opts;
    // Name servers are asked over UDP and TCP only; without a TLS configuration of its own,
    // hickory would load and parse every system root certificate (milliseconds) per resolver.
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let unused = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ResolverError::Setup(e.to_string()))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    builder.with_tls_config(unused).build().map_err(|e| ResolverError::Setup(e.to_string()))
}

/// A name lowercase without its final dot (`.` stays `.`: the null MX root).
pub(crate) fn dotless(name: &str) -> String {
    match name {
        "." | "" => ".".into(),
        n => n.trim_end_matches('.').to_ascii_lowercase(),
    }
}

/// A record's type and data as text (`MX`, `10 mx1.example.org`); `None` for types no caller
/// reads. TXT strings are joined, as SPF and DMARC read them.
pub(crate) fn record_text(data: &hickory_resolver::proto::rr::RData) -> Option<(&'static str, String)> {
    use hickory_resolver::proto::rr::RData;
    Some(match data {
        RData::MX(mx) => ("MX", format!("{} {}", mx.preference, dotless(&mx.exchange.to_ascii()))),
        RData::A(a) => ("A", a.0.to_string()),
        RData::AAAA(a) => ("AAAA", a.0.to_string()),
        RData::CNAME(c) => ("CNAME", dotless(&c.0.to_ascii())),
        RData::NS(ns) => ("NS", dotless(&ns.0.to_ascii())),
        RData::SOA(soa) => ("SOA", format!("{} {}", dotless(&soa.mname.to_ascii()), soa.serial)),
        RData::SRV(s) => ("SRV", format!("{} {} {} {}", s.priority, s.weight, s.port, dotless(&s.target.to_ascii()))),
        RData::TXT(t) => {
            let joined: Vec<u8> = t.txt_data.iter().flat_map(|s| s.iter().copied()).collect();
            ("TXT", String::from_utf8_lossy(&joined).into_owned())
        }
        RData::TLSA(t) => {
            let hex: String = t.cert_data.iter().map(|b| format!("{b:02x}")).collect();
            ("TLSA", format!("{} {} {} {hex}", u8::from(t.cert_usage), u8::from(t.selector), u8::from(t.matching)))
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolvers() {
        assert_eq!(parse_resolver("127.0.0.1").ok(), Some("127.0.0.1:53".parse().expect("addr")));
        assert_eq!(parse_resolver("127.0.0.1:5353").ok(), Some("127.0.0.1:5353".parse().expect("addr")));
        assert_eq!(parse_resolver("::1").ok(), Some("[::1]:53".parse().expect("addr")));
        assert_eq!(parse_resolver("[::1]:5353").ok(), Some("[::1]:5353".parse().expect("addr")));
        for bad in ["", "dns.example", "1.2.3.4:x", "1.2.3.4:70000"] {
            assert!(parse_resolver(bad).is_err(), "{bad}");
        }
    }
}
