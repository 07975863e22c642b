//! MTA-STS (RFC 8461): the `_mta-sts` TXT record says a policy exists; the policy, fetched
//! over HTTPS from `mta-sts.DOMAIN/.well-known/mta-sts.txt` with a valid certificate, says
//! whether senders must use TLS (`mode`), for how long to remember it (`max_age`), and which
//! MX hosts are genuine (`mx` patterns). A sender enforcing it refuses any MX no pattern
//! covers, so an uncovered MX loses mail as surely as a broken one.

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::mta_sts::MtaSts;
use tokio::time::Instant;

use super::lookup::{Answer, Dns};
use super::probe::{Conn, Tls, clip};
use super::{Check, Status};

/// The most a policy may be (RFC 8461 §3.3 caps it at 64 KiB).
const MAX_POLICY: usize = 64 * 1024;
/// A day: shorter `max_age` values leave senders unprotected between fetches.
const MIN_MAX_AGE: u64 = 86_400;

/// A policy as fetched.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Policy {
    pub mode: String,
    pub max_age: Option<u64>,
    pub mx: Vec<String>,
}

/// Reads a policy; `Err` says what is wrong with it.
pub(crate) fn parse_policy(text: &str) -> Result<Policy, String> {
    let mut p = Policy::default();
    let mut version = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("a line that is not \"key: value\": {:?}", clip(line)));
        };
        let value = value.trim();
        match key.trim() {
            "version" => version = Some(value.to_string()),
            "mode" => p.mode = value.to_string(),
            "max_age" => {
                p.max_age = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|v| *v <= 31_557_600)
                        .ok_or(format!("max_age {value:?} is not 0 to 31557600"))?,
                )
            }
            "mx" => p.mx.push(value.to_ascii_lowercase()),
            _ => {} // Extensions are ignored (§3.2).
        }
    }
    if version.as_deref() != Some("STSv1") {
        return Err("no \"version: STSv1\"".into());
    }
    if !matches!(p.mode.as_str(), "enforce" | "testing" | "none") {
        return Err(format!("mode {:?} is not enforce, testing or none", p.mode));
    }
    if p.max_age.is_none() {
        return Err("no max_age".into());
    }
    if p.mx.is_empty() && p.mode != "none" {
        return Err("no mx pattern".into());
    }
    Ok(p)
}

/// Whether `pattern` (`mx1.example.org` or `*.example.org`, one label only) covers `host`.
pub(crate) fn covers(pattern: &str, host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(base) => {
            host.strip_suffix(base).and_then(|h| h.strip_suffix('.')).is_some_and(|l| !l.is_empty() && !l.contains('.'))
        }
        None => pattern == host,
    }
}

/// `mta_sts`: the record, the policy, and whether it covers every MX in `mx`.
pub(crate) async fn mta_sts(dns: &Dns, domain: &str, mx: &[String], tls: &Tls, deadline: Instant) -> Check {
    let owner = format!("_mta-sts.{domain}");
    let records: Vec<String> = match dns.txt(&owner).await {
        Answer::Error(e) => {
            return Check::new("mta_sts", Status::Error, "the _mta-sts record could not be read").evidence([e]);
        }
        Answer::None => Vec::new(),
        Answer::Found(t) => t.into_iter().filter(|t| t.to_ascii_lowercase().starts_with("v=stsv1")).collect(),
    };
    let id = match records.as_slice() {
        [] => {
            return Check::new(
                "mta_sts",
                Status::Warn,
                "no MTA-STS: a sender cannot tell a forged MX or a stripped STARTTLS from the real thing",
            );
        }
        [one] => match MtaSts::parse(one.as_bytes()) {
            Ok(r) => r.id,
            Err(e) => {
                return Check::new("mta_sts", Status::Fail, format!("the _mta-sts record is not valid: {e}"))
                    .evidence([format!("{owner}: {one}")]);
            }
        },
        _ => {
            return Check::new("mta_sts", Status::Fail, "more than one _mta-sts record: senders ignore them all")
                .evidence(records.iter().map(|r| format!("{owner}: {r}")));
        }
    };
    let mut evidence = vec![format!("{owner}: {}", records[0])];
    let host = format!("mta-sts.{domain}");
    let url = format!("https://{host}/.well-known/mta-sts.txt");
    let fetched = match tokio::time::timeout_at(deadline, fetch(dns, &host, tls)).await {
        Err(_) => Err((Status::Error, format!("{url}: no answer in time"))),
        Ok(r) => r,
    };
    let text = match fetched {
        Ok(t) => t,
        Err((status, why)) => {
            evidence.push(why);
            let finding = match status {
                Status::Error => "the MTA-STS policy could not be fetched".to_string(),
                _ => {
                    format!("the _mta-sts record (id {id}) announces a policy that is not there: senders cannot use it")
                }
            };
            return Check::new("mta_sts", status, finding).evidence(evidence);
        }
    };
    evidence.push(format!(
        "{url}: {}",
        text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
    ));
    let policy = match parse_policy(&text) {
        Ok(p) => p,
        Err(e) => {
            return Check::new("mta_sts", Status::Fail, format!("the MTA-STS policy is not valid: {e}"))
                .evidence(evidence);
        }
    };
    let uncovered: Vec<&String> = mx.iter().filter(|h| !policy.mx.iter().any(|p| covers(p, h))).collect();
    if !uncovered.is_empty() && policy.mode != "none" {
        let list: Vec<&str> = uncovered.iter().map(|s| s.as_str()).collect();
        return Check::new(
            "mta_sts",
            Status::Fail,
            format!("the MTA-STS policy does not cover {}: enforcing senders will not deliver there", list.join(", ")),
        )
        .evidence(evidence);
    }
    let max_age = policy.max_age.unwrap_or(0);
    match policy.mode.as_str() {
        "enforce" if max_age >= MIN_MAX_AGE => {
            Check::new("mta_sts", Status::Pass, format!("MTA-STS enforced for every MX (max_age {max_age} s)"))
        }
        "enforce" => Check::new(
            "mta_sts",
            Status::Warn,
            format!("MTA-STS enforced, but max_age {max_age} s is under a day: senders forget it between fetches"),
        ),
        "testing" => Check::new(
            "mta_sts",
            Status::Warn,
            "MTA-STS in testing mode: failures are reported, mail still goes without TLS",
        ),
        _ => Check::new("mta_sts", Status::Warn, "MTA-STS mode none: the policy is withdrawn"),
    }
    .evidence(evidence)
}

/// GET the policy: `Err((Fail, why))` when the server is there but the policy is not,
/// `Err((Error, why))` when it could not be decided.
async fn fetch(dns: &Dns, host: &str, tls: &Tls) -> Result<String, (Status, String)> {
    let addrs = match dns.addresses(host).await.0 {
        Answer::Found(a) => a,
        Answer::None => return Err((Status::Fail, format!("{host} does not resolve"))),
        Answer::Error(e) => return Err((Status::Error, e)),
    };
    let mut last = (Status::Error, format!("{host}: no address"));
    for ip in addrs.iter().take(4) {
        let addr = std::net::SocketAddr::new(*ip, 443);
        let fail = |s: Status, e: String| (s, format!("{host} [{ip}]:443: {e}"));
        let (c, _) = match Conn::connect(addr, dns.timeout()).await {
            Ok(c) => c,
            Err(e) => {
                last = fail(if e.contains("no answer") { Status::Error } else { Status::Fail }, e);
                continue;
            }
        };
        let (mut c, cert) = c.tls(tls, host).await.map_err(|e| fail(Status::Fail, e))?;
        if let Err(e) = &cert.now {
            return Err(fail(Status::Fail, format!("{e}; {}", cert.describe())));
        }
        // HTTP/1.0: no chunked body; redirects are not followed (RFC 8461 §3.3).
        let request =
            format!("GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: {host}\r\nUser-Agent: mailwright-audit\r\n");
        c.send(&request).await.map_err(|e| fail(Status::Error, e))?;
        let status = c.line().await.map_err(|e| fail(Status::Error, e))?;
        let code = status.split(' ').nth(1).unwrap_or("");
        let mut content_type = String::new();
        for _ in 0..100 {
            let h = c.line().await.map_err(|e| fail(Status::Error, e))?;
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.trim().eq_ignore_ascii_case("content-type")
            {
                content_type = v.trim().to_ascii_lowercase();
            }
        }
        if code != "200" {
            return Err(fail(Status::Fail, format!("HTTP {}", clip(&status))));
        }
        if !content_type.starts_with("text/plain") {
            return Err(fail(Status::Fail, format!("served as {content_type:?}, not text/plain (RFC 8461 §3.2)")));
        }
        let body = c.rest(MAX_POLICY).await.map_err(|e| fail(Status::Fail, e))?;
        return String::from_utf8(body).map_err(|_| fail(Status::Fail, "the policy is not UTF-8".into()));
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_cover_one_label() {
        assert!(covers("*.example.org", "mx1.example.org"));
        assert!(covers("*.example.org", "MX1.Example.org"));
        assert!(!covers("*.example.org", "a.b.example.org"));
        assert!(!covers("*.example.org", "example.org"));
        assert!(!covers("*.example.org", "mx1.badexample.org"));
        assert!(covers("mx1.example.org", "mx1.example.org"));
        assert!(!covers("mx1.example.org", "mx2.example.org"));
    }

    #[test]
    fn policies_are_read_strictly() {
        let p = parse_policy(
            "version: STSv1\r\nmode: enforce\r\nmx: *.example.org\r\nmx: mx.example.net\r\nmax_age: 604800\r\n",
        )
        .expect("valid");
        assert_eq!((p.mode.as_str(), p.max_age, p.mx.len()), ("enforce", Some(604_800), 2));
        for bad in [
            "mode: enforce\nmx: a\nmax_age: 1\n",
            "version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n",
            "version: STSv1\nmode: enforce\nmax_age: 1\n",
            "version: STSv1\nmode: enforce\nmx: a\nmax_age: 99999999999\n",
            "version: STSv1\nmode: enforce\nmx: a\n",
            "version: STSv1\ngarbage\n",
        ] {
            assert!(parse_policy(bad).is_err(), "{bad}");
        }
    }
}
