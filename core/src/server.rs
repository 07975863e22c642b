//! Where a server is, from the URL a user gives (`smtp://`, `submissions://`, `imap://`, …).
//! The `url` crate reads it (already in the tree through hickory), so IPv6 literals, ports and
//! case follow RFC 3986 and the WHATWG rules rather than a hand-written split.

/// `scheme://HOST[:PORT][/]` → lower-case scheme, host (an IPv6 literal without its brackets),
/// port if given. `None` for anything else: no host, a user or password, a path, a query, a
/// fragment, a bad port.
pub(crate) fn server_url(text: &str) -> Option<(String, String, Option<u16>)> {
    let url = url::Url::parse(text).ok()?;
    let plain = url.username().is_empty()
        && url.password().is_none()
        && matches!(url.path(), "" | "/")
        && url.query().is_none()
        && url.fragment().is_none();
    let host = match url.host()? {
        url::Host::Domain(d) if !d.is_empty() && !d.contains(['%', ' ']) => d.to_string(),
        url::Host::Domain(_) => return None,
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => ip.to_string(),
    };
    plain.then(|| (url.scheme().to_string(), host, url.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_and_what_is_not_one() {
        let ok = |s: &str, h: &str, p: Option<u16>| {
            assert_eq!(
                server_url(s),
                Some((s.split("://").next().expect("scheme").to_ascii_lowercase(), h.into(), p)),
                "{s}"
            )
        };
        ok("SMTP://[::1]:25", "::1", Some(25));
        ok("imaps://h/", "h", None);
        ok("smtp://127.0.0.1:2525", "127.0.0.1", Some(2525));
        ok("submissions://mail.example.org", "mail.example.org", None);
        for bad in [
            "h",
            "x://",
            "x://u@h",
            "x://u:p@h",
            "x://h:port",
            "x://h:99999",
            "x://h/p",
            "x://h?q",
            "x://h#f",
            "x://[::1",
            "x://h%20x",
            "-x://h",
        ] {
            assert_eq!(server_url(bad), None, "{bad}");
        }
    }
}
