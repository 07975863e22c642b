//! Can this domain's mail take hits? The checks of the lecture's part I, with evidence: what
//! can fail without noticeable impact (more than one name server and mail server, on more than
//! one network, each answering), what fails with minor impact (mailbox storage: not visible
//! from outside), and what keeps mail safe on the way (SPF, DMARC, TLS reporting).
//!
//! Every check has a stable id ([`Check::id`]) and a status: `pass`, `warn`, `fail`, or `error`
//! when it could not be decided — a DNS timeout is never "no record". All questions go out in
//! parallel; each is bounded by the timeout.
//!
//! * [`lookup`]: asking DNS (through the resolver, or one name server directly).
//! * [`redundancy`](mod@redundancy): `ns.*`, `mx.records`, `mx.count`, `mx.networks`,
//!   `mx.targets`.
//! * [`access`]: `srv.imap`, `srv.submission`, `access.count`.
//! * [`policy`]: `spf.record`, `spf.lookups`, `dmarc.record`, `tls_rpt`.
//! * [`probe`] talks to the servers; [`servers`] judges what they said: `mx.reachable`,
//!   `mx.starttls`, `mx.certificate`, `mx.consistent`, `mx.open_relay`, `imap.tls`,
//!   `submission.tls`.
//! * [`mta_sts`](mod@mta_sts): `mta_sts`; [`dane`](mod@dane): `dane`.
//!
//! The probes run once DNS has named the servers, all at once, under one deadline of 1.8 times
//! the timeout: a blackholed MX costs one timeout, not one per step.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub mod access;
pub mod dane;
pub mod lookup;
pub mod mta_sts;
pub mod policy;
pub mod probe;
pub mod redundancy;
pub mod servers;

/// At most this many MX addresses, and this many addresses of each access service, are probed.
const MAX_SMTP_PROBES: usize = 16;
const MAX_ACCESS_PROBES: usize = 8;

/// Every check id, in the order of the report: the lecture's groups, and in each the name
/// servers, the mail servers, then the access servers.
pub const ORDER: [&str; 24] = [
    "ns.count",
    "ns.networks",
    "ns.authoritative",
    "ns.serial",
    "mx.records",
    "mx.count",
    "mx.networks",
    "mx.targets",
    "mx.reachable",
    "mx.consistent",
    "srv.imap",
    "srv.submission",
    "access.count",
    "spf.record",
    "spf.lookups",
    "dmarc.record",
    "mx.starttls",
    "mx.certificate",
    "mx.open_relay",
    "mta_sts",
    "tls_rpt",
    "dane",
    "imap.tls",
    "submission.tls",
];

/// What went wrong before any check could run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// An option is wrong.
    #[error("{0}")]
    Config(String),
    /// No name server answered at all: try again, or name one with `--resolver`.
    #[error("DNS could not be asked: {0}")]
    Dns(String),
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As it should be.
    Pass,
    /// Works, but weaker than it should be.
    Warn,
    /// Broken, or a single point of failure.
    Fail,
    /// Could not be decided (a timeout, a server failure).
    Error,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// Its stable id (`ns.count`, `mx.networks`, `spf.lookups`, …).
    pub id: &'static str,
    /// How it came out.
    pub status: Status,
    /// One line for people.
    pub finding: String,
    /// What it saw: records, addresses, what a server said.
    pub evidence: Vec<String>,
}

impl Check {
    pub(crate) fn new(id: &'static str, status: Status, finding: impl Into<String>) -> Self {
        Check { id, status, finding: finding.into(), evidence: Vec::new() }
    }

    pub(crate) fn evidence<S: Into<String>>(mut self, e: impl IntoIterator<Item = S>) -> Self {
        self.evidence.extend(e.into_iter().map(Into::into));
        self
    }

    /// The lecture's group: `no impact` (redundancy), `minor impact`, or `security`.
    pub fn group(&self) -> &'static str {
        match self.id.split('.').next().unwrap_or("") {
            "ns" | "srv" | "access" => "no impact",
            "mx" if matches!(self.id, "mx.starttls" | "mx.certificate" | "mx.open_relay") => "security",
            "mx" => "no impact",
            _ => "security",
        }
    }
}

/// The counts of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Checks that passed.
    pub pass: usize,
    /// Warnings.
    pub warn: usize,
    /// Failures.
    pub fail: usize,
    /// Undecided.
    pub error: usize,
    /// Wall time in milliseconds.
    pub millis: u64,
}

/// The audit of one domain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// The domain.
    pub domain: String,
    /// Every check, in the order of the lecture's groups.
    pub checks: Vec<Check>,
    /// The counts.
    pub summary: Summary,
}

impl Report {
    /// 0 when nothing fails, 2 when a check fails.
    pub fn exit_code(&self) -> i32 {
        if self.summary.fail > 0 { 2 } else { 0 }
    }

    /// The check with this id.
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}

/// What to audit, and how.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The domain.
    pub domain: String,
    /// Name servers to ask (the system's when empty).
    pub resolvers: Vec<SocketAddr>,
    /// The bound on each question and probe.
    pub timeout: Duration,
    /// The SMTP port of the mail servers (25).
    pub smtp_port: u16,
    /// Only ask DNS: connect to no server (the checks that need one are left out).
    pub no_probe: bool,
    /// A CA to trust besides the system's, for the servers' certificates.
    pub ca_file: Option<PathBuf>,
}

impl AuditOptions {
    /// Defaults: the system's resolver, 5 s, port 25, probes on.
    pub fn new(domain: impl Into<String>) -> Self {
        AuditOptions {
            domain: domain.into(),
            resolvers: Vec::new(),
            timeout: Duration::from_secs(5),
            smtp_port: 25,
            no_probe: false,
            ca_file: None,
        }
    }
}

impl AuditOptions {
    /// Options as the command line and the bindings take them: resolvers as `IP[:PORT]`, the
    /// timeout in seconds (more than 0, at most 120).
    pub fn configure(
        domain: &str,
        resolvers: &[String],
        timeout: f64,
        smtp_port: u16,
        no_probe: bool,
        ca_file: Option<PathBuf>,
    ) -> Result<Self, AuditError> {
        let mut o = AuditOptions::new(domain_name(domain)?);
        o.resolvers = resolvers
            .iter()
            .map(|r| crate::dns::parse_resolver(r).map_err(|e| AuditError::Config(e.to_string())))
            .collect::<Result<_, _>>()?;
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= 120.0) {
            return Err(AuditError::Config("the timeout must be more than 0 and at most 120 seconds".into()));
        }
        o.timeout = Duration::from_secs_f64(timeout);
        o.smtp_port = smtp_port;
        o.no_probe = no_probe;
        if smtp_port == 0 {
            return Err(AuditError::Config("the SMTP port must be 1 to 65535".into()));
        }
        o.ca_file = ca_file;
        Ok(o)
    }
}

/// A name as a domain to audit: lowercase, no final dot, letters, digits, `-` and `.` only.
fn domain_name(d: &str) -> Result<String, AuditError> {
    let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok { Ok(d) } else { Err(AuditError::Config(format!("{d:?} is not a domain name"))) }
}

/// Audits a domain (on its own runtime).
pub fn audit(o: &AuditOptions) -> Result<Report, AuditError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AuditError::Config(format!("cannot start the I/O runtime: {e}")))?;
    runtime.block_on(audit_async(o))
}

/// Audits a domain on the caller's runtime.
pub async fn audit_async(o: &AuditOptions) -> Result<Report, AuditError> {
    let started = Instant::now();
    let domain = domain_name(&o.domain)?;
    if o.timeout.is_zero() {
        return Err(AuditError::Config("the timeout must be more than 0 s".into()));
    }
    let dns = lookup::Dns::new(&o.resolvers, o.timeout)?;
    let tls = if o.no_probe { None } else { Some(probe::Tls::new(o.ca_file.as_deref())?) };
    let (ns, (mx, hosts), (access, imap, submission), spf, dmarc, tls_rpt) = futures_util::join!(
        redundancy::name_servers(&dns, &domain),
        redundancy::mail_servers(&dns, &domain),
        access::access(&dns, &domain),
        policy::spf(&dns, &domain),
        policy::dmarc(&dns, &domain),
        policy::tls_rpt(&dns, &domain),
    );
    let mut checks: Vec<Check> = Vec::new();
    checks.extend(ns);
    checks.extend(mx);
    checks.extend(access);
    checks.extend(spf);
    checks.push(dmarc);
    checks.push(tls_rpt);
    if let Some(tls) = &tls {
        checks.extend(probes(o, &dns, &domain, tls, &hosts, &imap, &submission).await);
    }
    // DNS itself unreachable: every question about the domain went unanswered.
    let base = ["ns.count", "mx.records", "spf.record", "dmarc.record"];
    if base.iter().all(|id| checks.iter().any(|c| c.id == *id && c.status == Status::Error)) {
        let why: Vec<String> = checks.iter().flat_map(|c| c.evidence.iter().cloned()).take(3).collect();
        return Err(AuditError::Dns(why.join("; ")));
    }
    checks.sort_by_key(|c| ORDER.iter().position(|id| *id == c.id).unwrap_or(ORDER.len()));
    let mut summary = Summary::default();
    for c in &checks {
        match c.status {
            Status::Pass => summary.pass += 1,
            Status::Warn => summary.warn += 1,
            Status::Fail => summary.fail += 1,
            Status::Error => summary.error += 1,
        }
    }
    summary.millis = started.elapsed().as_millis() as u64;
    Ok(Report { domain, checks, summary })
}

/// Every check that talks to a server, at once, under one deadline.
async fn probes(
    o: &AuditOptions,
    dns: &lookup::Dns,
    domain: &str,
    tls: &probe::Tls,
    hosts: &redundancy::MailHosts,
    imap: &access::Found,
    submission: &access::Found,
) -> Vec<Check> {
    let deadline = tokio::time::Instant::now() + o.timeout.mul_f64(1.8);
    let rcpts = probe::Recipients::for_domain(domain);
    let b = probe::Bounds { step: o.timeout, deadline, tls };
    let smtp_targets: Vec<(&str, SocketAddr)> = hosts
        .usable
        .iter()
        .flat_map(|(h, addrs)| addrs.iter().map(move |ip| (h.as_str(), SocketAddr::new(*ip, o.smtp_port))))
        .take(MAX_SMTP_PROBES)
        .collect();
    let access_targets = |f: &access::Found| -> Vec<(String, std::net::IpAddr, u16, bool)> {
        f.servers
            .iter()
            .flat_map(|s| s.addrs.iter().map(move |ip| (s.host.clone(), *ip, s.port, s.implicit)))
            .take(MAX_ACCESS_PROBES)
            .collect()
    };
    let (imap_targets, submission_targets) = (access_targets(imap), access_targets(submission));
    let usable: Vec<String> = hosts.usable.iter().map(|(h, _)| h.clone()).collect();
    let (smtp_seen, imap_seen, submission_seen, sts, tlsa) = futures_util::join!(
        futures_util::future::join_all(smtp_targets.iter().map(|(h, a)| probe::smtp(h, *a, &rcpts, b))),
        futures_util::future::join_all(imap_targets.iter().map(|(h, ip, port, implicit)| probe::access_tls(
            probe::Access::Imap,
            h,
            *ip,
            *port,
            *implicit,
            b
        ))),
        futures_util::future::join_all(submission_targets.iter().map(|(h, ip, port, implicit)| probe::access_tls(
            probe::Access::Submission,
            h,
            *ip,
            *port,
            *implicit,
            b
        ))),
        mta_sts::mta_sts(dns, domain, &hosts.names, tls, deadline),
        dane::records(dns, domain, &usable, o.smtp_port),
    );
    let mut checks = Vec::new();
    // No MX, or a null MX: nothing receives mail, so nothing of it to probe.
    if !hosts.names.is_empty() {
        checks.extend(servers::judge_mx(&smtp_seen));
        checks.push(sts);
        checks.push(dane::judge(&tlsa, o.smtp_port, &smtp_seen));
    }
    checks.push(servers::judge_access("imap.tls", "IMAP", &imap_seen, !imap.servers.is_empty()));
    checks.push(servers::judge_access(
        "submission.tls",
        "submission",
        &submission_seen,
        !submission.servers.is_empty(),
    ));
    checks
}

/// The report as a table for people, grouped as the lecture groups it.
pub fn render(r: &Report) -> String {
    let mut out = format!("audit of {}\n", r.domain);
    for (group, title) in [
        ("no impact", "Can fail without noticeable impact (redundancy)"),
        ("minor impact", "Fails with minor impact"),
        ("security", "Security on the way"),
    ] {
        out.push_str(&format!("\n{title}\n"));
        let mut any = false;
        for c in r.checks.iter().filter(|c| c.group() == group) {
            any = true;
            let mark = match c.status {
                Status::Pass => "pass",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
                Status::Error => "ERROR",
            };
            out.push_str(&format!("  {mark:<5}  {:<16} {}\n", c.id, c.finding));
            if c.status != Status::Pass {
                for e in c.evidence.iter().take(6) {
                    out.push_str(&format!("  {:<5}  {:<16}   {e}\n", "", ""));
                }
            }
        }
        if !any && group == "minor impact" {
            out.push_str(
                "  mailbox storage is not visible from outside: keep backups, and prove them (migrate verify)\n",
            );
        }
    }
    let s = &r.summary;
    out.push_str(&format!(
        "\n{} pass, {} warn, {} fail, {} undecided in {:.1} s\n",
        s.pass,
        s.warn,
        s.fail,
        s.error,
        s.millis as f64 / 1000.0
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_names_and_nothing_else() {
        assert_eq!(domain_name("Example.ORG.").expect("ok"), "example.org");
        for bad in ["", "-x.org", "a..b", "x y.org", "a/b", "x.org;rm"] {
            assert!(domain_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checks_fall_into_the_lectures_groups() {
        let g = |id| Check::new(id, Status::Pass, "").group();
        assert_eq!(
            (g("ns.count"), g("mx.networks"), g("mx.starttls"), g("spf.lookups")),
            ("no impact", "no impact", "security", "security")
        );
        // ORDER lists each id once, group by group.
        let groups: Vec<&str> = ORDER.iter().map(|id| g(id)).collect();
        let mut sorted = groups.clone();
        sorted.sort_by_key(|g| if *g == "no impact" { 0 } else { 1 });
        assert_eq!(groups, sorted);
        let unique: std::collections::BTreeSet<&str> = ORDER.iter().copied().collect();
        assert_eq!(unique.len(), ORDER.len());
    }
}
