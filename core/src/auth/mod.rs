//! Who really sent a message: DKIM signatures, the ARC chain, SPF for the connecting client and
//! DMARC for the `From:` domain, checked over the `mail-auth` crate, and DKIM signing.
//!
//! Anyone can write any `From:`. A bot that acts on mail asks [`AuthReport::authenticated_domain`]
//! instead, which names the `From:` domain only when the message proves it:
//!
//! - DMARC passes for it: an aligned DKIM signature or SPF pass, and the domain publishes a
//!   DMARC record; or
//! - the domain publishes no DMARC record, and a DKIM signature of that domain (or of a parent
//!   of it) passes, or SPF passes for a MAIL FROM of that domain.
//!
//! Nothing else authenticates. A signature with an `l=` body length is neutral (text added
//! after the signed length would pass with it), and rsa-sha1 signatures are reported as weak;
//! neither counts, for DMARC either. A message with more than one `From:` address
//! authenticates no domain (DMARC cannot pick one).
//!
//! SPF needs the client that handed the message over: the caller names it ([`Client`]), or
//! [`client_from_received`] reads it from the topmost `Received:` field a trusted MTA added.
//!
//! DNS answers come from the resolver of [`crate::dns`] with bounded waits; a timeout or an
//! unreachable server is `temperror` ("try again later"), never `fail`. [`Verifier::with_record`]
//! puts TXT records in front of DNS, for tests and for the demo, which checks its own signature
//! without a name server.

mod check;
mod received;
pub mod results;
mod sign;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::dmarc::Dmarc;
use mail_auth::spf::Spf;
use mail_auth::{AuthenticatedMessage, DkimResult, DmarcResult, MessageAuthenticator, Parameters, SpfResult, Txt};

pub use check::{CheckOptions, Verdict};
pub use received::client_from_received;
pub use results::{AuthResults, MethodResult, TrustedResults};
pub use sign::{DkimKey, DkimSigner, generate_ed25519};

/// What failed before any result: the input or the configuration, never a verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The input has no header section to verify.
    #[error("the input is not a message (no header section)")]
    NotAMessage,
    /// The resolver could not be set up.
    #[error(transparent)]
    Resolver(#[from] crate::dns::ResolverError),
    /// A TXT record given with [`Verifier::with_record`] does not parse.
    #[error("the record for {name} is not a DKIM key, SPF or DMARC record: {detail}")]
    BadRecord {
        /// The record's name.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// A signing key could not be read or used.
    #[error("DKIM key: {0}")]
    Key(String),
    /// Signing failed.
    #[error("cannot sign: {0}")]
    Sign(String),
    /// Verification options that do not fit together or do not parse.
    #[error("verification options: {0}")]
    Options(String),
    /// The I/O runtime could not start.
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(std::io::Error),
}

/// A verdict, in the words of RFC 8601 (`Authentication-Results`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Verified.
    Pass,
    /// Verified to be wrong.
    Fail,
    /// SPF: probably not authorized.
    SoftFail,
    /// The domain makes no statement (SPF `?all`, DKIM testing keys).
    Neutral,
    /// Nothing to check (no signature, no record).
    None,
    /// Could not be checked now (DNS timeout or failure): try later.
    TempError,
    /// Could not be checked (a broken signature or record): a later try gives the same.
    PermError,
}

impl Outcome {
    /// `pass`, `fail`, `softfail`, `neutral`, `none`, `temperror` or `permerror`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::SoftFail => "softfail",
            Outcome::Neutral => "neutral",
            Outcome::None => "none",
            Outcome::TempError => "temperror",
            Outcome::PermError => "permerror",
        }
    }
}

/// One DKIM signature and what its check found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DkimSignature {
    /// The signing domain (`d=`).
    pub domain: String,
    /// The selector (`s=`).
    pub selector: String,
    /// `rsa-sha256`, `ed25519-sha256` or `rsa-sha1`.
    pub algorithm: &'static str,
    /// The verdict.
    pub result: Outcome,
    /// Why it did not pass.
    pub reason: Option<String>,
    /// The signed body length (`l=`), when the signature limits it.
    pub body_length: Option<u64>,
    /// rsa-sha1 or an `l=` limit: reported, never counted as authentication.
    pub weak: bool,
}

/// The SPF check of the client that handed the message over.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpfReport {
    /// The verdict.
    pub result: Outcome,
    /// The domain checked (of MAIL FROM, or of HELO when MAIL FROM is empty).
    pub domain: String,
}

/// The DMARC check of the `From:` domain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DmarcReport {
    /// The verdict: `none` when the domain publishes no record.
    pub result: Outcome,
    /// The `From:` domain.
    pub domain: String,
    /// The domain's policy (`none`, `quarantine`, `reject`), when it publishes one.
    pub policy: Option<&'static str>,
    /// Which identifier passed aligned with the `From:` domain: `dkim` or `spf`.
    pub aligned: Option<&'static str>,
    /// Why it did not pass.
    pub reason: Option<String>,
}

/// The ARC chain's check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArcReport {
    /// The verdict: `none` without ARC sets.
    pub result: Outcome,
    /// How many ARC sets the message carries.
    pub sets: usize,
    /// Why it did not pass.
    pub reason: Option<String>,
}

/// Everything the checks found, as data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuthReport {
    /// The `From:` domain (lower case); `None` without exactly one `From:` address.
    pub from_domain: Option<String>,
    /// Every DKIM signature, in the message's order.
    pub dkim: Vec<DkimSignature>,
    /// SPF, when the client was given.
    pub spf: Option<SpfReport>,
    /// DMARC for the `From:` domain.
    pub dmarc: DmarcReport,
    /// The ARC chain.
    pub arc: ArcReport,
    /// Every `Authentication-Results` field the message carries, top first, as written: what
    /// servers on the way said. Believe one only through [`AuthReport::trusted`].
    pub authentication_results: Vec<AuthResults>,
}

impl AuthReport {
    /// The `From:` domain when the message proves it (see the module docs); else `None`.
    pub fn authenticated_domain(&self) -> Option<&str> {
        let from = self.from_domain.as_deref()?;
        if self.dmarc.result == Outcome::Pass {
            return Some(from);
        }
        if self.dmarc.policy.is_some() || self.dmarc.result != Outcome::None {
            return None;
        }
        let dkim = self.dkim.iter().any(|s| s.result == Outcome::Pass && !s.weak && aligned(&s.domain, from));
        let spf = self.spf.as_ref().is_some_and(|s| s.result == Outcome::Pass && aligned(&s.domain, from));
        (dkim || spf).then_some(from)
    }

    /// What the server `authserv_id` said: its topmost field only (see [`results`]).
    pub fn trusted(&self, authserv_id: &str) -> TrustedResults {
        results::trusted(self.authentication_results.iter().cloned(), authserv_id)
    }

    /// Whether any check could not be made now (DNS): a later try may say more.
    pub fn is_temporary(&self) -> bool {
        self.dkim.iter().any(|s| s.result == Outcome::TempError)
            || self.spf.as_ref().is_some_and(|s| s.result == Outcome::TempError)
            || self.dmarc.result == Outcome::TempError
            || self.arc.result == Outcome::TempError
    }
}

/// Relaxed alignment: `signer` is `from` or a parent domain of it.
pub(crate) fn aligned(signer: &str, from: &str) -> bool {
    let (signer, from) = (signer.trim_end_matches('.').to_ascii_lowercase(), from.to_ascii_lowercase());
    signer.contains('.') && (from == signer || from.ends_with(&format!(".{signer}")))
}

/// The client that handed the message over, for SPF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Its address.
    pub ip: IpAddr,
    /// The name it gave in HELO/EHLO.
    pub helo: String,
    /// The envelope sender (MAIL FROM); empty for a bounce.
    pub mail_from: String,
}

/// How verification looks names up.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// Name servers to ask (the system's when empty).
    pub resolvers: Vec<SocketAddr>,
    /// How long one DNS query may take, per attempt (two attempts).
    pub dns_timeout: Duration,
    /// The name this host gives itself in SPF checks (`%{r}`).
    pub host_name: String,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig { resolvers: Vec::new(), dns_timeout: Duration::from_secs(5), host_name: "localhost".into() }
    }
}

/// TXT records put in front of DNS: looked up first, never expire.
#[derive(Default)]
struct Records(std::collections::HashMap<Box<str>, Txt>);

impl Records {
    /// Keys are lookups' fully qualified, lower-case names.
    fn insert(&mut self, name: &str, txt: Txt) {
        let mut key = name.trim_end_matches('.').to_ascii_lowercase();
        key.push('.');
        self.0.insert(key.into(), txt);
    }
}

impl mail_auth::ResolverCache<Box<str>, Txt> for Records {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.get(name).cloned()
    }
    fn remove<Q>(&self, _: &Q) -> Option<Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        None
    }
    fn insert(&self, _: Box<str>, _: Txt, _: std::time::Instant) {}
}

/// Checks messages (blocking; it owns a small tokio runtime, so do not call it from inside
/// another one). One verifier serves any number of messages.
pub struct Verifier {
    runtime: tokio::runtime::Runtime,
    authenticator: MessageAuthenticator,
    records: Records,
    host_name: String,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("records", &self.records.0.len()).finish()
    }
}

impl Verifier {
    /// A verifier that asks the name servers of `config`.
    pub fn new(config: &VerifyConfig) -> Result<Self, AuthError> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(AuthError::Runtime)?;
        // hickory builds its connections inside a runtime.
        let resolver = runtime.block_on(async { crate::dns::resolver(&config.resolvers, config.dns_timeout) })?;
        Ok(Verifier {
            runtime,
            authenticator: MessageAuthenticator(resolver),
            records: Records::default(),
            host_name: config.host_name.clone(),
        })
    }

    /// Answers lookups of the TXT record `name` (`sel._domainkey.example.org`, `example.org`,
    /// `_dmarc.example.org`) with `value` instead of asking DNS. For tests, and for a demo that
    /// checks its own signature without a name server; a verifier of real mail needs none.
    pub fn with_record(mut self, name: &str, value: &str) -> Result<Self, AuthError> {
        let bad = |e: mail_auth::Error| AuthError::BadRecord { name: name.to_string(), detail: e.to_string() };
        let text = value.as_bytes();
        let txt: Txt = if value.starts_with("v=spf1") {
            Spf::parse(text).map(Txt::from).map_err(bad)?
        } else if value.starts_with("v=DMARC1") {
            Dmarc::parse(text).map(Txt::from).map_err(bad)?
        } else {
            DomainKey::parse(text).map(Txt::from).map_err(bad)?
        };
        self.records.insert(name, txt);
        Ok(self)
    }

    /// Answers lookups of `name` with "no such name" (NXDOMAIN) instead of asking DNS: a domain
    /// without a DMARC record, a selector without a key. For tests, like [`Self::with_record`].
    pub fn with_no_record(mut self, name: &str) -> Self {
        use mail_auth::hickory_resolver::proto::op::ResponseCode;
        let missing = Txt::Error(mail_auth::Error::Dns(mail_auth::DnsError::RecordNotFound(ResponseCode::NXDomain)));
        self.records.insert(name, missing);
        self
    }

    /// Checks only the DKIM signatures of `raw` (no ARC, SPF or DMARC), as in the report.
    pub fn dkim(&self, raw: &[u8]) -> Result<Vec<DkimSignature>, AuthError> {
        let msg = AuthenticatedMessage::parse(raw).ok_or(AuthError::NotAMessage)?;
        let outputs =
            self.runtime.block_on(self.authenticator.verify_dkim(Parameters::new(&msg).with_txt_cache(&self.records)));
        Ok(signatures(&msg, &outputs))
    }

    /// Checks `raw`: every DKIM signature, the ARC chain, SPF when `client` is given, and DMARC
    /// for the `From:` domain. Errors only for input that is not a message; what the checks
    /// find, including DNS trouble, is in the report.
    pub fn verify(&self, raw: &[u8], client: Option<&Client>) -> Result<AuthReport, AuthError> {
        let msg = AuthenticatedMessage::parse(raw).ok_or(AuthError::NotAMessage)?;
        let records = &self.records;
        let a = &self.authenticator;
        self.runtime.block_on(async {
            let dkim = a.verify_dkim(Parameters::new(&msg).with_txt_cache(records)).await;
            let signatures = signatures(&msg, &dkim);
            let arc = a.verify_arc(Parameters::new(&msg).with_txt_cache(records)).await;
            let from_domain = single_from_domain(&msg);
            let spf = match client {
                Some(c) => {
                    let helo = c.helo.as_str();
                    let params = if c.mail_from.is_empty() {
                        mail_auth::spf::verify::SpfParameters::verify_ehlo(c.ip, helo, &self.host_name)
                    } else {
                        mail_auth::spf::verify::SpfParameters::verify_mail_from(
                            c.ip,
                            helo,
                            &self.host_name,
                            &c.mail_from,
                        )
                    };
                    Some(a.verify_spf(Parameters::new(params).with_txt_cache(records)).await)
                }
                None => None,
            };
            let no_spf = mail_auth::SpfOutput::new(String::new());
            let spf_output = spf.as_ref().unwrap_or(&no_spf);
            let mail_from_domain = client.and_then(|c| c.mail_from.rsplit_once('@')).map_or("", |(_, d)| d);
            let dmarc = match &from_domain {
                Some(_) => {
                    // Weak signatures (rsa-sha1, l=) are reported but give DMARC nothing to align.
                    let strong: Vec<_> =
                        dkim.iter().zip(&signatures).filter(|(_, s)| !s.weak).map(|(o, _)| o.clone()).collect();
                    let params =
                        mail_auth::dmarc::verify::DmarcParameters::new(&msg, &strong, mail_from_domain, spf_output);
                    Some(a.verify_dmarc(Parameters::new(params).with_txt_cache(records)).await)
                }
                None => None,
            };
            Ok(AuthReport {
                dkim: signatures,
                spf: spf
                    .as_ref()
                    .map(|s| SpfReport { result: spf_outcome(s.result()), domain: s.domain().to_string() }),
                dmarc: dmarc_report(dmarc.as_ref(), from_domain.as_deref(), msg.from.len()),
                arc: ArcReport {
                    result: dkim_outcome(arc.result()).0,
                    sets: arc.sets().len(),
                    reason: dkim_outcome(arc.result()).1,
                },
                from_domain,
                authentication_results: msg
                    .headers
                    .iter()
                    .filter(|(name, _)| name.eq_ignore_ascii_case(b"Authentication-Results"))
                    .filter_map(|(_, value)| results::parse(&String::from_utf8_lossy(value)))
                    .collect(),
            })
        })
    }
}

/// The `From:` domain when the message has exactly one `From:` address.
fn single_from_domain(msg: &AuthenticatedMessage<'_>) -> Option<String> {
    match msg.from.as_slice() {
        [one] => one.rsplit_once('@').map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase()),
        _ => None,
    }
}

fn dkim_outcome(r: &DkimResult) -> (Outcome, Option<String>) {
    match r {
        DkimResult::Pass => (Outcome::Pass, None),
        // A body that does not match its hash fails (RFC 6376 §6.1.3: PERMFAIL); mail-auth
        // calls it neutral.
        DkimResult::Neutral(e @ mail_auth::Error::Dkim(mail_auth::dkim::DkimError::FailedBodyHashMatch)) => {
            (Outcome::Fail, Some(e.to_string()))
        }
        DkimResult::Neutral(e) => (Outcome::Neutral, Some(e.to_string())),
        DkimResult::Fail(e) => (Outcome::Fail, Some(e.to_string())),
        DkimResult::PermError(e) => (Outcome::PermError, Some(e.to_string())),
        DkimResult::TempError(e) => (Outcome::TempError, Some(e.to_string())),
        DkimResult::None => (Outcome::None, None),
    }
}

fn dkim_signature(o: &mail_auth::DkimOutput<'_>) -> DkimSignature {
    let (result, reason) = dkim_outcome(o.result());
    let sig = o.signature();
    let algorithm = match sig.map(|s| s.a) {
        Some(mail_auth::common::crypto::Algorithm::RsaSha1) => "rsa-sha1",
        Some(mail_auth::common::crypto::Algorithm::Ed25519Sha256) => "ed25519-sha256",
        _ => "rsa-sha256",
    };
    let body_length = sig.map(|s| s.l).filter(|&l| l > 0);
    DkimSignature {
        domain: sig.map(|s| s.d.to_ascii_lowercase()).unwrap_or_default(),
        selector: sig.map(|s| s.s.clone()).unwrap_or_default(),
        algorithm,
        result,
        reason,
        body_length,
        weak: algorithm == "rsa-sha1" || body_length.is_some(),
    }
}

/// The report of each DKIM output. Signatures mail-auth refused to parse (an `l=` tag, bad
/// syntax) come first and without their tags: d=, s=, a= and l= are read from the fields.
fn signatures(msg: &AuthenticatedMessage<'_>, outputs: &[mail_auth::DkimOutput<'_>]) -> Vec<DkimSignature> {
    let mut refused = msg.errors.iter().filter(|e| matches!(e.header, mail_auth::Error::Dkim(_)));
    outputs
        .iter()
        .map(|o| {
            let s = dkim_signature(o);
            match o.signature() {
                None => match refused.next() {
                    Some(h) => with_tags(s, h.value),
                    None => s,
                },
                Some(_) => s,
            }
        })
        .collect()
}

/// `s` with domain, selector, algorithm and body length read from the raw DKIM-Signature `value`.
fn with_tags(mut s: DkimSignature, value: &[u8]) -> DkimSignature {
    let text = String::from_utf8_lossy(value);
    for tag in text.split(';') {
        let Some((k, v)) = tag.split_once('=') else { continue };
        let v: String = v.chars().filter(|c| !c.is_whitespace()).collect();
        match k.trim() {
            "d" => s.domain = v.to_ascii_lowercase(),
            "s" => s.selector = v,
            "a" if v == "rsa-sha1" => s.algorithm = "rsa-sha1",
            "a" if v == "ed25519-sha256" => s.algorithm = "ed25519-sha256",
            "l" => s.body_length = v.parse().ok(),
            _ => {}
        }
    }
    s.weak = s.algorithm == "rsa-sha1" || s.body_length.is_some();
    s
}

fn spf_outcome(r: SpfResult) -> Outcome {
    match r {
        SpfResult::Pass => Outcome::Pass,
        SpfResult::Fail => Outcome::Fail,
        SpfResult::SoftFail => Outcome::SoftFail,
        SpfResult::Neutral => Outcome::Neutral,
        SpfResult::TempError => Outcome::TempError,
        SpfResult::PermError => Outcome::PermError,
        SpfResult::None => Outcome::None,
    }
}

fn dmarc_report(o: Option<&mail_auth::DmarcOutput>, from: Option<&str>, from_count: usize) -> DmarcReport {
    let Some(o) = o else {
        let reason = match from_count {
            0 => "the message has no From: address",
            _ => "the message has more than one From: address; DMARC cannot pick one",
        };
        return DmarcReport {
            result: Outcome::PermError,
            domain: from.unwrap_or_default().to_string(),
            policy: None,
            aligned: None,
            reason: Some(reason.into()),
        };
    };
    let policy = o.dmarc_record().map(|_| match o.policy() {
        mail_auth::dmarc::Policy::Quarantine => "quarantine",
        mail_auth::dmarc::Policy::Reject => "reject",
        _ => "none",
    });
    let aligned = if *o.dkim_result() == DmarcResult::Pass {
        Some("dkim")
    } else if *o.spf_result() == DmarcResult::Pass {
        Some("spf")
    } else {
        None
    };
    let (result, reason) = match o.result() {
        DmarcResult::Pass => (Outcome::Pass, None),
        DmarcResult::Fail(e) => (Outcome::Fail, Some(e.to_string())),
        DmarcResult::TempError(e) => (Outcome::TempError, Some(e.to_string())),
        DmarcResult::PermError(e) => (Outcome::PermError, Some(e.to_string())),
        DmarcResult::None => (Outcome::None, None),
    };
    DmarcReport { result, domain: o.domain().to_string(), policy, aligned, reason }
}
