//! Direct delivery to the recipients' mail exchangers (RFC 5321 §5).
//!
//! For each recipient domain: MX records ordered by preference, equal preferences shuffled so
//! they share the load; the domain's own address records when it has no MX (the implicit MX);
//! a null MX (RFC 7505) or a domain that does not exist is a permanent failure. Each host's
//! addresses are tried in turn; a refused connection, a timeout, a TLS failure, a 4xx reply or a
//! connection lost in the middle of DATA moves on to the next address and host. Recipients are
//! grouped per domain, one transaction per host, and every recipient's result names the host
//! that gave it.
//!
//! Name servers can be chosen (`IP[:PORT]`, several); a dead one is skipped within
//! [`MxConfig::dns_timeout`], because queries go to two servers at once and the resolver keeps
//! asking the ones that answer.
//!
//! TLS: [`MxTls::Opportunistic`] (the default, as RFC 7435 and every MTA do it) uses STARTTLS
//! when offered without checking the certificate, and plaintext otherwise; [`MxTls::Required`]
//! insists on STARTTLS and a certificate valid for the MX host's name.
//!
//! Connections are kept between messages, one per MX host, as MTAs reuse them: a flush of many
//! messages to one domain pays one connection, one TLS handshake and one EHLO, not one each. A
//! kept connection is used for at most [`KEEP_FOR`] after it was opened and [`KEEP_IDLE`] after
//! its last message; one the server closed meanwhile is noticed before the message is sent
//! (the MAIL command fails) and replaced by a fresh one, so no message goes twice.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::{RData, RecordType};

use super::smtp::session::Session;
use super::smtp::{Security, SmtpConfig, SmtpError};
use super::{Envelope, InjectError, Receipt, RecipientResult, RecipientStatus, TlsInfo, Transport};

/// TLS towards MX hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MxTls {
    /// STARTTLS when the host offers it, certificate not checked; plaintext otherwise.
    #[default]
    Opportunistic,
    /// STARTTLS required and the certificate must be valid for the MX host name (system roots
    /// plus [`MxConfig::ca_file`]); a host that fails this is skipped like a dead one.
    Required,
}

/// How to reach the recipients' MX hosts.
#[derive(Debug, Clone)]
pub struct MxConfig {
    /// Name servers (`IP:PORT`); empty means the system's (`/etc/resolv.conf`).
    pub resolvers: Vec<SocketAddr>,
    /// The SMTP port on MX hosts (25).
    pub port: u16,
    /// TLS policy.
    pub tls: MxTls,
    /// An extra CA (PEM) trusted with [`MxTls::Required`].
    pub ca_file: Option<PathBuf>,
    /// The name sent in EHLO (default: this machine's host name).
    pub helo_name: String,
    /// Time allowed to connect to one address.
    pub connect_timeout: Duration,
    /// Time allowed for each reply (the greeting included; the reply after the data gets ten
    /// times this).
    pub reply_timeout: Duration,
    /// Time one name server gets to answer one query before the next is asked.
    pub dns_timeout: Duration,
}

impl Default for MxConfig {
    fn default() -> Self {
        MxConfig {
            resolvers: Vec::new(),
            port: 25,
            tls: MxTls::Opportunistic,
            ca_file: None,
            helo_name: host_name(),
            connect_timeout: Duration::from_secs(30),
            reply_timeout: Duration::from_secs(120),
            dns_timeout: Duration::from_secs(2),
        }
    }
}

/// This machine's host name, or `localhost`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
        .unwrap_or_else(|| "localhost".into())
}

pub use crate::dns::parse_resolver;

/// What went wrong before or instead of an SMTP conversation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MxError {
    /// The configuration is unusable.
    #[error("{0}")]
    Config(String),
    /// The domain publishes a null MX: it accepts no mail.
    #[error("{domain} accepts no mail (null MX, RFC 7505)")]
    NullMx {
        /// The domain.
        domain: String,
    },
    /// The domain does not exist.
    #[error("{domain} does not exist (NXDOMAIN)")]
    NoSuchDomain {
        /// The domain.
        domain: String,
    },
    /// The name servers did not answer or failed; trying later may work.
    #[error("cannot look up {domain}: {detail}; check the resolvers, or retry later")]
    Dns {
        /// The domain.
        domain: String,
        /// What the resolver said.
        detail: String,
    },
    /// No recipient was accepted; each has its own result.
    #[error("no recipient accepted: {}", summary(.recipients))]
    Undelivered {
        /// The per-recipient results.
        recipients: Vec<RecipientResult>,
    },
}

fn summary(rs: &[RecipientResult]) -> String {
    rs.iter()
        .map(|r| {
            let code = r.code.map(|c| format!("{c} ")).unwrap_or_default();
            let host = r.host.as_deref().map(|h| format!(" ({h})")).unwrap_or_default();
            format!("{}: {code}{}{host}", r.address, r.text)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl MxError {
    /// Whether trying later may work.
    pub fn is_transient(&self) -> bool {
        match self {
            MxError::Dns { .. } => true,
            MxError::Undelivered { recipients } => recipients.iter().any(|r| r.status == RecipientStatus::Transient),
            MxError::Config(_) | MxError::NullMx { .. } | MxError::NoSuchDomain { .. } => false,
        }
    }
}

/// One mail exchanger of a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxHost {
    /// Its name (the domain itself for an implicit MX).
    pub name: String,
    /// Its preference (lower first).
    pub preference: u16,
}

/// How long a kept connection is used after it was opened (Postfix's
/// `smtp_connection_reuse_time_limit`).
pub const KEEP_FOR: Duration = Duration::from_secs(300);

/// How long a kept connection may sit unused (servers close idle ones after a minute or more).
pub const KEEP_IDLE: Duration = Duration::from_secs(30);

/// The most MX hosts with a kept connection at once.
const KEEP_HOSTS: usize = 16;

/// Direct-to-MX delivery as a blocking [`Transport`].
pub struct MxTransport {
    config: MxConfig,
    runtime: tokio::runtime::Runtime,
    resolver: TokioResolver,
    kept: Kept,
}

/// Open connections between messages, by MX host name.
#[derive(Default)]
struct Kept(HashMap<String, KeptSession>);

struct KeptSession {
    session: Session,
    /// `host[ip]:port`, for the results.
    label: String,
    opened: Instant,
    used: Instant,
}

impl Kept {
    /// The host's kept connection, if it is still fresh enough to use (a stale one is closed).
    async fn take(&mut self, host: &str, c: &MxConfig) -> Option<KeptSession> {
        let mut k = self.0.remove(host)?;
        if k.opened.elapsed() < KEEP_FOR && k.used.elapsed() < KEEP_IDLE {
            return Some(k);
        }
        let _ = tokio::time::timeout(c.reply_timeout.min(Duration::from_secs(2)), k.session.quit()).await;
        None
    }

    /// Keeps a connection after a message, unless the outcome says it is broken.
    async fn keep(&mut self, host: &str, k: KeptSession, outcome: &Result<Receipt, SmtpError>, c: &MxConfig) {
        let broken = matches!(
            outcome,
            Err(SmtpError::Io { .. }
                | SmtpError::Timeout { .. }
                | SmtpError::Protocol(_)
                | SmtpError::OutcomeUnknown { .. })
        );
        if broken {
            return;
        }
        if self.0.len() >= KEEP_HOSTS && !self.0.contains_key(host) {
            let oldest = self.0.iter().min_by_key(|(_, k)| k.used).map(|(h, _)| h.clone());
            if let Some(mut old) = oldest.and_then(|h| self.0.remove(&h)) {
                let _ = tokio::time::timeout(c.reply_timeout.min(Duration::from_secs(2)), old.session.quit()).await;
            }
        }
        self.0.insert(host.to_string(), KeptSession { used: Instant::now(), ..k });
    }

    /// Says goodbye on every kept connection (bounded: two seconds in all).
    async fn close_all(&mut self) {
        let all: Vec<KeptSession> = self.0.drain().map(|(_, k)| k).collect();
        let quits = all.into_iter().map(|mut k| async move {
            let _ = k.session.quit().await;
        });
        let _ = tokio::time::timeout(Duration::from_secs(2), futures_util::future::join_all(quits)).await;
    }
}

impl Drop for MxTransport {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for MxTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MxTransport").field("config", &self.config).finish()
    }
}

impl MxTransport {
    /// A transport for `config`; fails when the system's resolver configuration is needed and
    /// unreadable.
    pub fn new(config: MxConfig) -> Result<Self, MxError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| MxError::Config(format!("cannot start the I/O runtime: {e}")))?;
        let resolver = {
            let _guard = runtime.enter();
            build_resolver(&config)?
        };
        Ok(MxTransport { config, runtime, resolver, kept: Kept::default() })
    }

    /// The configuration.
    pub fn config(&self) -> &MxConfig {
        &self.config
    }

    /// Says QUIT on the connections kept open (at most two seconds), as dropping it does.
    pub fn close(&mut self) {
        let kept = &mut self.kept;
        self.runtime.block_on(kept.close_all());
    }

    /// The mail exchangers of `domain`, in the order they will be tried (equal preferences in a
    /// fresh random order each call).
    pub fn route(&self, domain: &str) -> Result<Vec<MxHost>, MxError> {
        self.runtime.block_on(route(&self.resolver, domain))
    }

    /// Delivers to every recipient's MX hosts; one result per recipient, in envelope order.
    /// `Err` only when no recipient was accepted.
    pub fn send_mx(&mut self, envelope: &Envelope, raw: &[u8]) -> Result<Receipt, MxError> {
        let mut by_domain: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut results: Vec<RecipientResult> = Vec::new();
        for rcpt in envelope.to() {
            match rcpt.rsplit_once('@').map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase()) {
                Some(d) if valid_domain(&d) => by_domain.entry(d).or_default().push(rcpt.clone()),
                _ => results.push(failed(rcpt, RecipientStatus::Permanent, "no usable domain in the address", None)),
            }
        }
        let domains: Vec<String> = by_domain.keys().cloned().collect();
        let mut tls = None;
        for (domain, rcpts) in by_domain {
            let (r, t) = self.runtime.block_on(deliver_domain(
                (&self.config, &self.resolver, &mut self.kept),
                &domain,
                envelope.from(),
                rcpts,
                raw,
            ));
            results.extend(r);
            tls = t.or(tls);
        }
        conclude(envelope, results, &domains.join(","), tls)
    }

    /// Delivers messages whose recipients are all in `domain`, in order. The first goes the
    /// usual way; the rest follow on the connection that took it, pipelined across messages
    /// (one round trip a message). A message that connection does not take whole (a recipient
    /// deferred, the connection broken before its data) goes the usual way for what is left;
    /// one whose outcome is unknown (the connection broke after its data) is not sent again.
    fn send_run(&mut self, domain: &str, run: &[(Envelope, &[u8])]) -> Vec<Result<Receipt, MxError>> {
        let Some(((first_env, first_raw), rest)) = run.split_first() else { return Vec::new() };
        let first = self.send_mx(first_env, first_raw);
        let peer = match &first {
            Ok(r) if r.recipients.iter().all(|x| x.status == RecipientStatus::Accepted) => r.peer.clone(),
            _ => None,
        };
        let mut out = vec![first];
        let kept = peer.and_then(|p| self.kept.0.iter().find(|(_, k)| k.label == p).map(|(h, _)| h.clone()));
        let Some(mut k) = kept.and_then(|h| self.kept.0.remove(&h).map(|k| (h, k))) else {
            out.extend(rest.iter().map(|(env, raw)| self.send_mx(env, raw)));
            return out;
        };
        let outcomes = self.runtime.block_on(k.1.session.send_batch(rest));
        let broken = outcomes.iter().any(|o| {
            matches!(
                o,
                Err(SmtpError::Io { .. }
                    | SmtpError::Timeout { .. }
                    | SmtpError::Protocol(_)
                    | SmtpError::OutcomeUnknown { .. })
            )
        });
        let label = k.1.label.clone();
        if !broken {
            let (host, session) = k;
            self.kept.0.insert(host, KeptSession { used: Instant::now(), ..session });
        }
        for ((env, raw), outcome) in rest.iter().zip(outcomes) {
            let mut progress = Progress { pending: env.to().to_vec(), ..Progress::default() };
            let results = match progress.record(label.clone(), outcome) {
                Next::Stop => progress.finish(domain),
                Next::Address | Next::Host => {
                    // What this connection did not settle goes the usual way.
                    let mut done = std::mem::take(&mut progress.done);
                    let tls = progress.tls.take();
                    match Envelope::new(env.from(), progress.pending.clone()) {
                        Ok(left) => match self.send_mx(&left, raw) {
                            Ok(r) => done.extend(r.recipients),
                            Err(MxError::Undelivered { recipients }) => done.extend(recipients),
                            Err(e) => done.extend(
                                progress
                                    .pending
                                    .iter()
                                    .map(|a| failed(a, RecipientStatus::Transient, &e.to_string(), None)),
                            ),
                        },
                        Err(_) => done.extend(progress.finish(domain).0),
                    }
                    (done, tls)
                }
            };
            out.push(conclude(env, results.0, domain, results.1));
        }
        out
    }
}

/// The receipt of one message from its recipients' results (sorted into envelope order, so
/// callers can zip), or `Undelivered` when none was accepted.
fn conclude(
    envelope: &Envelope,
    mut results: Vec<RecipientResult>,
    destination: &str,
    tls: Option<TlsInfo>,
) -> Result<Receipt, MxError> {
    results.sort_by_key(|r| envelope.to().iter().position(|a| *a == r.address).unwrap_or(usize::MAX));
    if !results.iter().any(|r| r.status == RecipientStatus::Accepted) {
        return Err(MxError::Undelivered { recipients: results });
    }
    let peer = results.iter().rev().find(|r| r.status == RecipientStatus::Accepted).and_then(|r| r.host.clone());
    Ok(Receipt {
        transport: "mx",
        destination: destination.to_string(),
        queue_id: None,
        recipients: results,
        peer,
        tls,
    })
}

/// The one domain of all of an envelope's recipients, if they have one.
fn single_domain(envelope: &Envelope) -> Option<String> {
    let mut domains =
        envelope.to().iter().map(|a| a.rsplit_once('@').map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase()));
    let first = domains.next()??;
    (valid_domain(&first) && domains.all(|d| d.as_deref() == Some(first.as_str()))).then_some(first)
}

impl Transport for MxTransport {
    fn send_raw(&mut self, envelope: &Envelope, raw: &[u8]) -> Result<Receipt, InjectError> {
        self.send_mx(envelope, raw).map_err(InjectError::Mx)
    }

    /// Consecutive messages to one domain share the connection that took the first of them,
    /// pipelined across messages. A message the connection does not take whole goes the usual
    /// way for what is left; one whose outcome is unknown is not sent again.
    fn send_many(&mut self, items: &[(Envelope, &[u8])]) -> Vec<Result<Receipt, InjectError>> {
        let mut out = Vec::with_capacity(items.len());
        let mut i = 0;
        while i < items.len() {
            let Some(domain) = single_domain(&items[i].0) else {
                out.push(self.send_mx(&items[i].0, items[i].1).map_err(InjectError::Mx));
                i += 1;
                continue;
            };
            let mut end = i + 1;
            while end < items.len() && single_domain(&items[end].0).as_deref() == Some(domain.as_str()) {
                end += 1;
            }
            out.extend(self.send_run(&domain, &items[i..end]).into_iter().map(|r| r.map_err(InjectError::Mx)));
            i = end;
        }
        out
    }
}

fn valid_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80)
        })
}

fn failed(address: &str, status: RecipientStatus, text: &str, host: Option<String>) -> RecipientResult {
    RecipientResult { host, ..RecipientResult::new(address, status, text) }
}

fn build_resolver(c: &MxConfig) -> Result<TokioResolver, MxError> {
    crate::dns::resolver(&c.resolvers, c.dns_timeout).map_err(|e| MxError::Config(e.to_string()))
}

async fn route(resolver: &TokioResolver, domain: &str) -> Result<Vec<MxHost>, MxError> {
    let fqdn = format!("{}.", domain.trim_end_matches('.'));
    let lookup = match resolver.lookup(fqdn.as_str(), RecordType::MX).await {
        Ok(l) => l,
        Err(e) if e.is_nx_domain() => return Err(MxError::NoSuchDomain { domain: domain.into() }),
        // No MX: the domain itself is the implicit MX (RFC 5321 §5.1).
        Err(e) if e.is_no_records_found() => return Ok(vec![MxHost { name: domain.into(), preference: 0 }]),
        Err(e) => return Err(MxError::Dns { domain: domain.into(), detail: e.to_string() }),
    };
    let mut hosts: Vec<MxHost> = lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::MX(mx) => Some(MxHost {
                name: mx.exchange.to_ascii().trim_end_matches('.').to_string(),
                preference: mx.preference,
            }),
            _ => None,
        })
        .collect();
    if hosts.iter().any(|h| h.name.is_empty()) {
        // A root exchange is the null MX; RFC 7505 says it must stand alone, and a domain that
        // publishes one does not want mail even if it also lists hosts.
        return Err(MxError::NullMx { domain: domain.into() });
    }
    if hosts.is_empty() {
        return Ok(vec![MxHost { name: domain.into(), preference: 0 }]);
    }
    // Sort by preference with a random key inside each preference (DNS order should the system
    // have no randomness to give).
    let mut keyed: Vec<(u16, u64, MxHost)> =
        hosts.drain(..).map(|h| (h.preference, getrandom::u64().unwrap_or_default(), h)).collect();
    keyed.sort_by_key(|(p, k, _)| (*p, *k));
    hosts.extend(keyed.into_iter().map(|(_, _, h)| h));
    hosts.dedup_by(|a, b| a.name.eq_ignore_ascii_case(&b.name));
    Ok(hosts)
}

async fn addresses(resolver: &TokioResolver, host: &str) -> Result<Vec<IpAddr>, hickory_resolver::net::NetError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let fqdn = format!("{}.", host.trim_end_matches('.'));
    Ok(resolver.lookup_ip(fqdn.as_str()).await?.iter().collect())
}

/// The recipients of one domain, tried host after host until each has a final answer.
async fn deliver_domain(
    (c, resolver, kept): (&MxConfig, &TokioResolver, &mut Kept),
    domain: &str,
    from: &str,
    rcpts: Vec<String>,
    raw: &[u8],
) -> (Vec<RecipientResult>, Option<TlsInfo>) {
    let hosts = match route(resolver, domain).await {
        Ok(h) => h,
        Err(e) => return (route_failed(&e, &rcpts), None),
    };
    let mut progress = Progress { pending: rcpts, ..Progress::default() };
    'hosts: for host in hosts {
        if let Some(mut k) = kept.take(&host.name, c).await {
            let Ok(env) = Envelope::new(from, progress.pending.clone()) else { break 'hosts };
            let outcome = k.session.send(&env, raw).await;
            // Closed by the server while kept: nothing was sent; a fresh connection follows.
            if !matches!(outcome, Err(SmtpError::Io { .. } | SmtpError::Protocol(_))) {
                let label = k.label.clone();
                kept.keep(&host.name, k, &outcome, c).await;
                match progress.record(label, outcome) {
                    Next::Address => {}
                    Next::Host => continue 'hosts,
                    Next::Stop => break 'hosts,
                }
            }
        }
        let addrs = match addresses(resolver, &host.name).await {
            Ok(a) if !a.is_empty() => a,
            Ok(_) => {
                progress.last_host_error = Some((host.name.clone(), format!("{} has no address", host.name)));
                continue;
            }
            Err(e) => {
                let why = format!("cannot find the address of {}: {e}", host.name);
                progress.last_host_error = Some((host.name.clone(), why));
                continue;
            }
        };
        for ip in addrs {
            let at = SocketAddr::new(ip, c.port);
            let label = format!("{}[{}]:{}", host.name, ip, c.port);
            let mut session = match Session::connect_to(&smtp_config(c, &host.name), Some(at)).await {
                Ok(s) => s,
                Err(e) => {
                    progress.last_host_error = Some((label, e.to_string()));
                    continue;
                }
            };
            let Ok(env) = Envelope::new(from, progress.pending.clone()) else { break 'hosts };
            let outcome = session.send(&env, raw).await;
            let now = Instant::now();
            let k = KeptSession { session, label: label.clone(), opened: now, used: now };
            kept.keep(&host.name, k, &outcome, c).await;
            match progress.record(label, outcome) {
                Next::Address => continue,
                Next::Host => continue 'hosts,
                Next::Stop => break 'hosts,
            }
        }
    }
    progress.finish(domain)
}

/// Every recipient's result when the domain has no route: permanent for a null MX or a domain
/// that does not exist (RFC 7505 §4.2, RFC 3463 §3.2), transient for a DNS failure.
fn route_failed(e: &MxError, rcpts: &[String]) -> Vec<RecipientResult> {
    let status = if e.is_transient() { RecipientStatus::Transient } else { RecipientStatus::Permanent };
    let enhanced = match e {
        MxError::NullMx { .. } => "5.1.10",
        MxError::NoSuchDomain { .. } => "5.1.2",
        _ => "4.4.3",
    };
    rcpts
        .iter()
        .map(|a| RecipientResult {
            enhanced_code: Some(enhanced.to_string()),
            ..failed(a, status, &e.to_string(), None)
        })
        .collect()
}

/// What one domain's delivery knows so far, host after host.
#[derive(Default)]
struct Progress {
    /// Recipients with a final answer (delivered, refused, or outcome unknown).
    done: Vec<RecipientResult>,
    /// Recipients the next host should be asked to take.
    pending: Vec<String>,
    /// The last transient answer per recipient (or for all, from a host that failed as a whole).
    last: BTreeMap<String, RecipientResult>,
    /// The last host that could not be used at all, and why.
    last_host_error: Option<(String, String)>,
    tls: Option<TlsInfo>,
}

/// Where a delivery goes after one session.
enum Next {
    /// The host's next address (this one failed as a whole, transiently).
    Address,
    /// The next host (some recipients got a 4xx).
    Host,
    /// Nowhere: every recipient has a final answer, or must not be sent again.
    Stop,
}

impl Progress {
    /// Takes in the outcome of one session with the host at `label`.
    fn record(&mut self, label: String, outcome: Result<Receipt, SmtpError>) -> Next {
        let answers = match outcome {
            Ok(receipt) => {
                self.tls = receipt.tls.or(self.tls.take());
                receipt.recipients
            }
            Err(SmtpError::AllRecipientsRefused { recipients }) => recipients,
            Err(e) => return self.session_failed(label, e),
        };
        let mut still = Vec::new();
        for mut r in answers {
            r.host.get_or_insert_with(|| label.clone());
            if r.status == RecipientStatus::Transient {
                still.push(r.address.clone());
                self.last.insert(r.address.clone(), r);
            } else {
                self.last.remove(&r.address);
                self.done.push(r);
            }
        }
        self.pending = still;
        if self.pending.is_empty() { Next::Stop } else { Next::Host }
    }

    /// A session that failed as a whole: final for every pending recipient when the error is
    /// permanent or the host may have the message (another one must not get it too).
    fn session_failed(&mut self, label: String, e: SmtpError) -> Next {
        let permanent = e.is_permanent()
            && !matches!(e, SmtpError::Tls { .. } | SmtpError::NoStartTls { .. } | SmtpError::Protocol(_));
        let mut r = failed("", RecipientStatus::Transient, &e.to_string(), Some(label.clone()));
        r.code = e.code();
        r.enhanced_code = e.enhanced_code().map(str::to_string);
        if permanent {
            r.status = RecipientStatus::Permanent;
        }
        if permanent || matches!(e, SmtpError::OutcomeUnknown { .. }) {
            self.done.extend(self.pending.drain(..).map(|a| RecipientResult { address: a, ..r.clone() }));
            return Next::Stop;
        }
        for a in &self.pending {
            self.last.insert(a.clone(), RecipientResult { address: a.clone(), ..r.clone() });
        }
        self.last_host_error = Some((label, e.to_string()));
        Next::Address
    }

    /// The results: recipients still pending get their last transient answer.
    fn finish(mut self, domain: &str) -> (Vec<RecipientResult>, Option<TlsInfo>) {
        for a in std::mem::take(&mut self.pending) {
            let r = self.last.remove(&a).unwrap_or_else(|| match &self.last_host_error {
                Some((h, e)) => failed(&a, RecipientStatus::Transient, e, Some(h.clone())),
                None => failed(&a, RecipientStatus::Transient, &format!("no usable mail exchanger for {domain}"), None),
            });
            self.done.push(r);
        }
        (self.done, self.tls)
    }
}

fn smtp_config(c: &MxConfig, host: &str) -> SmtpConfig {
    let (security, insecure) = match c.tls {
        MxTls::Opportunistic => (Security::Opportunistic, true),
        MxTls::Required => (Security::StartTls, false),
    };
    SmtpConfig {
        host: host.to_string(),
        port: c.port,
        security,
        credentials: None,
        oauth2: None,
        allow_plaintext: c.tls == MxTls::Opportunistic,
        ca_file: c.ca_file.clone(),
        insecure,
        helo_name: c.helo_name.clone(),
        connect_timeout: c.connect_timeout,
        reply_timeout: c.reply_timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert!(valid_domain("example.test"));
        assert!(valid_domain("xn--bcher-kva.example"));
        for bad in ["", "a..b", ".a", "a b", "a/b", &"x".repeat(64)] {
            assert!(!valid_domain(bad), "{bad}");
        }
    }
}
