//! The SPF client as the receiving MTA recorded it: its address and HELO name from the
//! `Received:` field the MTA prepended, the envelope sender from `Return-Path:`.
//!
//! Fields are prepended, so a sender can write any `Received:` it likes, but only *below* the
//! ones added on the way. The topmost field whose `by` names the trusted host is that host's
//! own record. This holds when every message reaches the Maildir through that host; a message
//! dropped into the Maildir another way could carry a forged one on top.

#[cfg(test)]
use std::net::IpAddr;

use mail_parser::{HeaderName, HeaderValue, Host, MessageParser};

use super::Client;

/// The client that handed the message to `trusted_by` (a host name, compared without case and a
/// trailing dot), read from the topmost `Received:` field that host added, with the topmost
/// `Return-Path:` as MAIL FROM (none or `<>`: a bounce, checked by HELO).
///
/// Fields of that host that name no client (its own hops: pickup, a content filter's
/// reinjection) are passed over. `None` when no `Received:` field of `trusted_by` names a
/// client: then SPF cannot be checked.
pub fn client_from_received(raw: &[u8], trusted_by: &str) -> Option<Client> {
    let trusted = normal(trusted_by);
    let msg = MessageParser::new().parse_headers(raw)?;
    let mut mail_from = None;
    for h in msg.headers() {
        match (&h.name, &h.value) {
            (HeaderName::ReturnPath, v) if mail_from.is_none() => mail_from = Some(return_path(v)),
            (HeaderName::Received, HeaderValue::Received(r)) => {
                let by = match &r.by {
                    Some(Host::Name(n)) => normal(n),
                    _ => continue,
                };
                if by != trusted {
                    continue;
                }
                // A hop of the host itself (pickup, a content filter's reinjection) names no
                // client: the one that does is below it.
                let Some(ip) = r.from_ip else { continue };
                let helo = match r.helo.as_ref().or(r.from.as_ref()) {
                    Some(Host::Name(n)) => n.to_string(),
                    Some(Host::IpAddr(a)) => format!("[{a}]"),
                    None => String::new(),
                };
                // Return-Path is written at final delivery, above every Received.
                return Some(Client { ip, helo, mail_from: mail_from.unwrap_or_default() });
            }
            _ => {}
        }
    }
    None
}

fn normal(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn return_path(v: &HeaderValue<'_>) -> String {
    let text = match v {
        HeaderValue::Address(a) => a.first().and_then(|a| a.address.as_deref()).unwrap_or_default().to_string(),
        HeaderValue::Text(t) => t.to_string(),
        _ => String::new(),
    };
    text.trim().trim_start_matches('<').trim_end_matches('>').trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POSTFIX: &str = "Return-Path: <alice@example.org>\r\n\
        Delivered-To: bob@example.net\r\n\
        Received: from mail.example.org (mail.example.org [192.0.2.25])\r\n\
        \tby mx.example.net (Postfix) with ESMTPS id 4ABC\r\n\
        \tfor <bob@example.net>; Wed,  2 Dec 2026 10:00:00 +0000 (UTC)\r\n\
        Received: from forged.example (forged.example [203.0.113.9])\r\n\
        \tby mx.example.net (Postfix) with ESMTP id 4XYZ; Wed,  2 Dec 2026 09:00:00 +0000\r\n\
        From: alice@example.org\r\n\r\nbody\r\n";

    #[test]
    fn the_topmost_field_of_the_trusted_host_names_the_client() {
        let c = client_from_received(POSTFIX.as_bytes(), "MX.example.net.").expect("client");
        assert_eq!(c.ip, "192.0.2.25".parse::<IpAddr>().expect("ip"));
        assert_eq!(c.helo, "mail.example.org");
        assert_eq!(c.mail_from, "alice@example.org");
    }

    #[test]
    fn fields_of_other_hosts_are_passed_over_and_an_unknown_host_gives_none() {
        let msg = format!(
            "Received: from lmtp by store.example.net (Dovecot) with LMTP; Wed, 2 Dec 2026 10:00:01 +0000\r\n{POSTFIX}"
        );
        let c = client_from_received(msg.as_bytes(), "mx.example.net").expect("client");
        assert_eq!(c.ip, "192.0.2.25".parse::<IpAddr>().expect("ip"));
        assert!(client_from_received(POSTFIX.as_bytes(), "other.example.net").is_none());
        assert!(client_from_received(b"not a message", "mx.example.net").is_none());
    }

    #[test]
    fn a_hop_of_the_host_itself_is_passed_over() {
        let msg = format!(
            "Received: by mx.example.net (Postfix, from userid 65534) id 9F; Wed, 2 Dec 2026 10:00:02 +0000\r\n{POSTFIX}"
        );
        let c = client_from_received(msg.as_bytes(), "mx.example.net").expect("client");
        assert_eq!(c.ip, "192.0.2.25".parse::<IpAddr>().expect("ip"));
    }

    #[test]
    fn a_bounce_has_an_empty_mail_from_and_an_ipv6_client_is_read() {
        let msg = "Return-Path: <>\r\nReceived: from [IPv6:2001:db8::1] (unknown [IPv6:2001:db8::1])\r\n\
            \tby mx.example.net (Postfix) with ESMTP id 1; Wed, 2 Dec 2026 10:00:00 +0000\r\n\r\nx\r\n";
        let c = client_from_received(msg.as_bytes(), "mx.example.net").expect("client");
        assert_eq!(c.ip, "2001:db8::1".parse::<IpAddr>().expect("ip"));
        assert_eq!(c.mail_from, "");
    }
}
