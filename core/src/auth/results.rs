//! Trusting the server instead of checking again: `Authentication-Results:` (RFC 8601), as the
//! MTA that filled the Maildir wrote it (Postfix with OpenDKIM/OpenDMARC or rspamd, Gmail,
//! Microsoft 365).
//!
//! Anyone can put such a field in a message, so one is believed only when it names the
//! configured `authserv-id`, and only the topmost of those: the receiving MTA adds its field at
//! the top, above whatever the sender wrote, and RFC 8601 §5 has it remove fields that claim its
//! id. Fields with that id further down are not believed and are counted in
//! [`TrustedResults::ignored`], since they were probably forged by the sender. This relies on the named MTA adding
//! a field to every message; an MTA that does not would leave a forged one on top.

use serde::Serialize;

/// One `method=result` of an `Authentication-Results` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MethodResult {
    /// `dkim`, `spf`, `dmarc`, `arc`, `iprev`, `auth`… (lower case).
    pub method: String,
    /// `pass`, `fail`, `none`, `temperror`… (lower case).
    pub result: String,
    /// The `reason=` text, when given.
    pub reason: Option<String>,
    /// The properties, such as `("header.d", "example.org")` and `("smtp.mailfrom", …)`.
    pub properties: Vec<(String, String)>,
}

impl MethodResult {
    /// The value of property `name` (`header.from`, `header.d`, `smtp.mailfrom`…).
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One `Authentication-Results` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthResults {
    /// Who wrote it.
    pub authserv_id: String,
    /// What it found (empty for `none`).
    pub results: Vec<MethodResult>,
}

/// The field believed for one `authserv-id`, and how many others claimed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct TrustedResults {
    /// The topmost field of the trusted id, when there is one.
    pub results: Option<AuthResults>,
    /// Fields below it that claim the same id: not believed (probably forged by the sender).
    pub ignored: usize,
}

impl TrustedResults {
    /// The `From:` domain `from` when the trusted results prove it, by the rule of
    /// [`super::AuthReport::authenticated_domain`]: DMARC pass for it; or, when the server
    /// reports no DMARC result, an aligned DKIM or SPF pass.
    pub fn authenticated_domain<'f>(&self, from: Option<&'f str>) -> Option<&'f str> {
        let from = from?;
        let r = self.results.as_ref()?;
        fn of<'r>(r: &'r AuthResults, m: &'static str) -> impl Iterator<Item = &'r MethodResult> {
            r.results.iter().filter(move |x| x.method == m)
        }
        let dmarc: Vec<&MethodResult> = of(r, "dmarc").collect();
        if !dmarc.is_empty() {
            let pass = dmarc
                .iter()
                .any(|d| d.result == "pass" && d.property("header.from").is_none_or(|h| h.eq_ignore_ascii_case(from)));
            return pass.then_some(from);
        }
        let dkim = of(r, "dkim").any(|d| {
            d.result == "pass" && d.property("header.d").or(d.property("header.i")).is_some_and(|s| aligned(s, from))
        });
        let spf = of(r, "spf").any(|s| {
            s.result == "pass"
                && s.property("smtp.mailfrom").is_some_and(|m| aligned(m.rsplit('@').next().unwrap_or(m), from))
        });
        (dkim || spf).then_some(from)
    }
}

fn aligned(signer: &str, from: &str) -> bool {
    let signer = signer.trim_start_matches('@').rsplit('@').next().unwrap_or(signer);
    super::aligned(signer, from)
}

/// The trusted field among `fields` (top first) for `authserv_id` (compared without regard to
/// case).
pub fn trusted(fields: impl IntoIterator<Item = AuthResults>, authserv_id: &str) -> TrustedResults {
    let mut out = TrustedResults::default();
    for field in fields.into_iter().filter(|f| f.authserv_id.eq_ignore_ascii_case(authserv_id)) {
        match out.results {
            None => out.results = Some(field),
            Some(_) => out.ignored += 1,
        }
    }
    out
}

/// Every `Authentication-Results` field of `msg`'s own header section, top first.
pub fn of_message(msg: &crate::Message<'_>) -> Vec<AuthResults> {
    let Some(root) = msg.parts().first() else { return Vec::new() };
    root.headers()
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case("Authentication-Results"))
        .filter_map(|h| parse(&h.text()))
        .collect()
}

/// Reads one field's value (unfolded); `None` when it has no authserv-id.
pub fn parse(value: &str) -> Option<AuthResults> {
    let text = without_comments(value);
    let mut parts = split_outside_quotes(&text, ';').into_iter();
    let head = parts.next()?;
    let authserv_id = head.split_whitespace().next()?.to_string();
    let mut results = Vec::new();
    for part in parts {
        let words = split_outside_quotes(part.trim(), ' ');
        let mut words = words.into_iter().map(str::trim).filter(|w| !w.is_empty());
        let Some(first) = words.next() else { continue };
        if first.eq_ignore_ascii_case("none") {
            continue;
        }
        let Some((method, result)) = first.split_once('=') else { continue };
        let method = method.split('/').next().unwrap_or(method).trim().to_ascii_lowercase();
        let mut r =
            MethodResult { method, result: result.trim().to_ascii_lowercase(), reason: None, properties: Vec::new() };
        for w in words {
            let Some((k, v)) = w.split_once('=') else { continue };
            let v = unquote(v.trim());
            if k.eq_ignore_ascii_case("reason") {
                r.reason = Some(v);
            } else if k.contains('.') {
                r.properties.push((k.trim().to_ascii_lowercase(), v));
            }
        }
        results.push(r);
    }
    Some(AuthResults { authserv_id, results })
}

/// `value` without RFC 5322 comments (nested parentheses, backslash escapes, quoted strings
/// kept).
fn without_comments(value: &str) -> String {
    let (mut out, mut depth, mut quoted, mut escaped) = (String::with_capacity(value.len()), 0usize, false, false);
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(if c == '\r' || c == '\n' || c == '\t' { ' ' } else { c }),
            _ => {}
        }
    }
    out
}

/// `text` split at `sep`, except inside quoted strings.
fn split_outside_quotes(text: &str, sep: char) -> Vec<&str> {
    let (mut out, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                out.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_as_servers_write_them() {
        let postfix = "mx.example.net; dkim=pass (2048-bit key; unprotected) header.d=example.org \
                       header.i=@example.org header.a=rsa-sha256 header.s=s1 header.b=abcd;\r\n\tspf=pass \
                       (mx.example.net: domain of bounces@example.org designates 192.0.2.1 as permitted sender) \
                       smtp.mailfrom=bounces@example.org; dmarc=pass (p=reject dis=none) header.from=example.org";
        let r = parse(postfix).expect("parse");
        assert_eq!(r.authserv_id, "mx.example.net");
        let methods: Vec<(&str, &str)> = r.results.iter().map(|m| (m.method.as_str(), m.result.as_str())).collect();
        assert_eq!(methods, [("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]);
        assert_eq!(r.results[0].property("header.d"), Some("example.org"));
        assert_eq!(r.results[1].property("smtp.mailfrom"), Some("bounces@example.org"));
        let t = TrustedResults { results: Some(r), ignored: 0 };
        assert_eq!(t.authenticated_domain(Some("example.org")), Some("example.org"));
        assert_eq!(t.authenticated_domain(Some("other.example")), None);

        let gmail = "mx.google.com; dkim=fail header.i=@example.org; spf=softfail smtp.mailfrom=x@example.org; \
                     dmarc=fail (p=QUARANTINE sp=QUARANTINE dis=QUARANTINE) header.from=example.org";
        let t = TrustedResults { results: parse(gmail), ignored: 0 };
        assert_eq!(t.authenticated_domain(Some("example.org")), None);
        assert_eq!(parse("mx.example.net 1; none").map(|r| r.results.len()), Some(0));
        assert_eq!(
            parse("mx.example.net; dkim=pass reason=\"good; really\" header.d=example.org")
                .map(|r| r.results[0].reason.clone()),
            Some(Some("good; really".into()))
        );
        assert!(parse("").is_none() && parse(" ; ").is_none());
    }

    #[test]
    fn only_the_topmost_field_of_the_trusted_id_counts() {
        let fields = [
            "other.example; dkim=pass header.d=example.org",
            "MX.example.net; dkim=fail header.d=example.org",
            // Below: what a forger wrote before sending.
            "mx.example.net; dkim=pass header.d=example.org; dmarc=pass header.from=example.org",
        ];
        let parsed = || fields.iter().filter_map(|f| parse(f));
        let t = trusted(parsed(), "mx.example.net");
        assert_eq!(t.ignored, 1);
        assert_eq!(t.results.as_ref().map(|r| r.results[0].result.as_str()), Some("fail"));
        assert_eq!(t.authenticated_domain(Some("example.org")), None);
        assert_eq!(trusted(parsed(), "absent.example").results, None);
        // Without DMARC: an aligned DKIM pass (a subdomain's From under the signer).
        let t = trusted(parse("mx.example.net; dkim=pass header.d=example.org"), "mx.example.net");
        assert_eq!(t.authenticated_domain(Some("lists.example.org")), Some("lists.example.org"));
        assert_eq!(t.authenticated_domain(Some("example.org.evil")), None);
    }

    #[test]
    fn hostile_values_do_not_panic() {
        for v in ["(", ")))", "\"", "a; =", "a; ==; b=c=d", "a;\\", "a; dkim=pass (unclosed", "a; x=\"\\"] {
            let _ = parse(v);
        }
        let deep = format!("a; dkim=pass {}", "(".repeat(100_000));
        assert_eq!(parse(&deep).map(|r| r.results.len()), Some(1));
    }
}
