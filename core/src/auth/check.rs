//! One verification as the CLI and the bindings ask for it: where DNS goes, which records are
//! answered without it, the client for SPF (given, or read from a trusted `Received:`), and a
//! server whose `Authentication-Results` to believe, with one answer for it all.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use super::{AuthError, AuthReport, Client, TrustedResults, Verifier, VerifyConfig, client_from_received};

/// What [`check`](Self::check) takes. Reads from JSON too (the bindings' options objects, the
/// same names), refusing unknown names.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckOptions {
    /// Name servers (`IP` or `IP:PORT`); the system's when empty.
    pub resolvers: Vec<String>,
    /// Seconds one DNS query may wait (two attempts); 5 when not given.
    pub dns_timeout: Option<f64>,
    /// TXT records answered without DNS (name → record; empty: no such name), for tests.
    pub records: BTreeMap<String, String>,
    /// The client's address, for SPF (with `helo`, and `mail_from` unless a bounce).
    pub ip: Option<IpAddr>,
    /// The name the client gave in HELO/EHLO.
    pub helo: Option<String>,
    /// The envelope sender; empty for a bounce.
    pub mail_from: Option<String>,
    /// Take the client from the topmost `Received:` field this host added instead.
    pub received_by: Option<String>,
    /// Also believe the topmost `Authentication-Results` field of this `authserv-id`.
    pub trust_authserv: Option<String>,
}

/// What one check found: the report, the trusted server's word, and the one answer.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Our own checks.
    pub report: AuthReport,
    /// What the trusted server said, when one was named.
    pub trusted: Option<TrustedResults>,
    /// The `From:` domain the message proves: by our checks, or else by the trusted server's.
    pub authenticated_domain: Option<String>,
    /// What could not be done as asked (no `Received:` of that host named a client).
    pub warnings: Vec<String>,
}

impl CheckOptions {
    /// Reads options from a JSON object.
    pub fn from_json(text: &str) -> Result<Self, AuthError> {
        serde_json::from_str(text).map_err(|e| AuthError::Options(e.to_string()))
    }

    /// A verifier asking these name servers and knowing these records.
    pub fn verifier(&self) -> Result<Verifier, AuthError> {
        let resolvers = self.resolvers.iter().map(|r| crate::dns::parse_resolver(r)).collect::<Result<Vec<_>, _>>()?;
        let dns_timeout = match self.dns_timeout {
            None => VerifyConfig::default().dns_timeout,
            Some(s) => Duration::try_from_secs_f64(s)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| AuthError::Options("dns_timeout must be a positive number of seconds".into()))?,
        };
        if self.helo.is_some() && self.ip.is_none() {
            return Err(AuthError::Options("helo needs ip".into()));
        }
        if self.ip.is_some() && self.received_by.is_some() {
            return Err(AuthError::Options("give ip or received_by, not both".into()));
        }
        let mut v = Verifier::new(&VerifyConfig { resolvers, dns_timeout, ..VerifyConfig::default() })?;
        for (name, record) in &self.records {
            v = if record.is_empty() { v.with_no_record(name) } else { v.with_record(name, record)? };
        }
        Ok(v)
    }

    /// Checks `raw` with a verifier of its own.
    pub fn check(&self, raw: &[u8]) -> Result<Verdict, AuthError> {
        self.check_with(&self.verifier()?, raw)
    }

    /// Checks `raw` with `verifier` (made by [`Self::verifier`], kept for many messages).
    pub fn check_with(&self, verifier: &Verifier, raw: &[u8]) -> Result<Verdict, AuthError> {
        let mut warnings = Vec::new();
        let client = match (&self.received_by, self.ip) {
            (Some(host), _) => {
                let c = client_from_received(raw, host);
                if c.is_none() {
                    warnings.push(format!("no Received: field added by {host} names a client; SPF not checked"));
                }
                c
            }
            (None, Some(ip)) => Some(Client {
                ip,
                helo: self.helo.clone().unwrap_or_default(),
                mail_from: self.mail_from.clone().unwrap_or_default(),
            }),
            (None, None) => None,
        };
        let report = verifier.verify(raw, client.as_ref())?;
        let trusted = self.trust_authserv.as_deref().map(|id| report.trusted(id));
        let authenticated_domain = report
            .authenticated_domain()
            .or_else(|| trusted.as_ref().and_then(|t| t.authenticated_domain(report.from_domain.as_deref())))
            .map(str::to_string);
        Ok(Verdict { report, trusted, authenticated_domain, warnings })
    }
}

impl Verdict {
    /// The JSON of `mailwright verify --json`: the report's fields with `authenticated_domain`,
    /// `trusted` when a server was trusted, and `warnings`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(&self.report).unwrap_or_default();
        v["authenticated_domain"] = self.authenticated_domain.clone().into();
        if let Some(t) = &self.trusted {
            v["trusted"] = serde_json::to_value(t).unwrap_or_default();
        }
        v["warnings"] = self.warnings.clone().into();
        v
    }
}
