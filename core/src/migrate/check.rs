//! `migrate check`: what can be verified before (and after) each step of the cutover plan.
//!
//! * `ttl.lowered`: every record the switch changes has a TTL at most the plan's low TTL.
//! * `mx.answers`: every address of the new MX greets with 220 and answers EHLO (and STARTTLS
//!   when it offers it) on the SMTP port; the connection ends with QUIT, nothing is sent.
//! * `imap.login`: a sample of the destination accounts of the users file logs in on the new
//!   IMAP server.
//! * `delta.fits`: a dry run over every mailbox (what is left to copy, and what a pass over
//!   every folder costs now) at the rate the presync measured fits half the window.
//! * `dns.switched`: whether the domain's MX already names the new MX first.

use std::time::{Duration, Instant};

use super::plan::{Finding, PlanOptions, Status, Zone, build, read_zone, span};
use super::{MigrateError, Settings};

/// What `migrate check` is given.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The plan's options (domain, hosts, window, resolvers, low TTL).
    pub plan: PlanOptions,
    /// The port the new MX is probed on (25).
    pub smtp_port: u16,
    /// An extra CA (PEM) for the new MX's STARTTLS certificate.
    pub ca_file: Option<std::path::PathBuf>,
    /// The migration (servers, users file, state): needed for `imap.login` and `delta.fits`.
    pub migration: Option<Settings>,
    /// Destination accounts tried in `imap.login`.
    pub sample: usize,
}

/// What the check found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    /// The domain.
    pub domain: String,
    /// Each check, in a stable order.
    pub checks: Vec<Finding>,
    /// What DNS says now.
    pub zone: Zone,
}

impl CheckReport {
    /// 0 nothing failed; 2 a check failed; 75 a check could not be decided (DNS or a server did
    /// not answer).
    pub fn exit_code(&self) -> i32 {
        if self.checks.iter().any(|c| c.status == Status::Fail) {
            2
        } else if self.checks.iter().any(|c| c.status == Status::Error) {
            75
        } else {
            0
        }
    }
}

/// Runs every check that what was given allows.
pub fn check(o: &CheckOptions) -> Result<CheckReport, MigrateError> {
    let rt = super::runtime()?;
    let zone = rt.block_on(read_zone(&o.plan))?;
    let plan = build(&o.plan, zone, 0);
    let mut checks = Vec::new();

    let high: Vec<String> = plan
        .zone
        .records
        .iter()
        .filter(|r| r.changes && r.ttl > o.plan.low_ttl)
        .map(|r| format!("{} {} (TTL {})", r.name, r.kind, r.ttl))
        .collect();
    checks.push(if !plan.zone.errors.is_empty() {
        Finding::new("ttl.lowered", Status::Error, format!("DNS did not answer: {}", plan.zone.errors.join("; ")))
    } else if high.is_empty() {
        Finding::new(
            "ttl.lowered",
            Status::Pass,
            format!("every record the switch changes has a TTL of at most {} s", o.plan.low_ttl),
        )
    } else {
        Finding::new(
            "ttl.lowered",
            Status::Fail,
            format!(
                "not lowered to {} s yet: {}; then wait the old TTL before the switch",
                o.plan.low_ttl,
                high.join(", ")
            ),
        )
    });

    let addrs = plan.zone.addresses(&o.plan.new_mx);
    checks.push(if addrs.is_empty() {
        Finding::new("mx.answers", Status::Fail, format!("the new MX {} does not resolve", o.plan.new_mx))
    } else {
        let results = rt.block_on(futures_util::future::join_all(addrs.iter().map(|a| probe_smtp(o, *a))));
        let bad: Vec<String> = results.iter().filter_map(|r| r.as_ref().err().cloned()).collect();
        let good: Vec<String> = results.into_iter().filter_map(Result::ok).collect();
        if bad.is_empty() {
            Finding::new("mx.answers", Status::Pass, good.join("; "))
        } else {
            Finding::new("mx.answers", Status::Fail, bad.join("; "))
        }
    });

    match &o.migration {
        None => {
            for id in ["imap.login", "delta.fits"] {
                checks.push(Finding::new(id, Status::Skip, "needs --from, --to and --users (and --state)"));
            }
        }
        Some(settings) => {
            let (opts, mailboxes) = settings.resolve()?;
            checks.push(sample_logins(&rt, &opts, &mailboxes, o.sample));
            checks.push(delta(&opts, &mailboxes, o.plan.window));
        }
    }

    let first = plan
        .zone
        .records
        .iter()
        .filter(|r| r.kind == "MX" && r.name == o.plan.domain)
        .filter_map(|r| {
            let (pref, host) = r.value.split_once(' ')?;
            Some((pref.parse::<u32>().ok()?, host.to_string()))
        })
        .min();
    checks.push(match first {
        Some((_, h)) if h == o.plan.new_mx => {
            Finding::new("dns.switched", Status::Pass, format!("{}'s first MX is the new one ({h})", o.plan.domain))
        }
        Some((_, h)) => Finding::new("dns.switched", Status::Skip, format!("not switched yet: the first MX is {h}")),
        None => Finding::new("dns.switched", Status::Skip, format!("{} has no MX", o.plan.domain)),
    });
    Ok(CheckReport { domain: o.plan.domain.clone(), checks, zone: plan.zone })
}

/// Greeting, EHLO and, when offered, STARTTLS with the new MX's name checked; then QUIT.
async fn probe_smtp(o: &CheckOptions, addr: std::net::IpAddr) -> Result<String, String> {
    use crate::inject::smtp::{Security, SmtpConfig};
    let c = SmtpConfig {
        host: o.plan.new_mx.clone(),
        port: o.smtp_port,
        security: Security::Opportunistic,
        credentials: None,
        oauth2: None,
        allow_plaintext: true,
        ca_file: o.ca_file.clone(),
        insecure: false,
        helo_name: "mailwright-check.invalid".into(),
        connect_timeout: o.plan.timeout,
        reply_timeout: o.plan.timeout,
    };
    let at = std::net::SocketAddr::new(addr, o.smtp_port);
    let started = Instant::now();
    let mut s = crate::inject::smtp::session::Session::connect_to(&c, Some(at))
        .await
        .map_err(|e| format!("{}[{at}]: {e}", o.plan.new_mx))?;
    let tls = if s.is_encrypted() { "STARTTLS, certificate valid" } else { "no STARTTLS" };
    let _ = s.quit().await;
    Ok(format!("{}[{at}] answers (220, EHLO, {tls}) in {:.2} s", o.plan.new_mx, started.elapsed().as_secs_f64()))
}

/// Logs in as up to `n` destination accounts, spread over the users file.
fn sample_logins(
    rt: &tokio::runtime::Runtime,
    opts: &super::Options,
    mailboxes: &[super::Mailbox],
    n: usize,
) -> Finding {
    if mailboxes.is_empty() {
        return Finding::new("imap.login", Status::Skip, "the users file lists no mailbox");
    }
    let Some(to) = opts.to.imap() else {
        return Finding::new("imap.login", Status::Skip, "the destination is a Maildir: no login to check");
    };
    let n = n.clamp(1, mailboxes.len());
    let picked: Vec<&super::Mailbox> = (0..n).map(|i| &mailboxes[i * mailboxes.len() / n]).collect();
    let results = rt.block_on(futures_util::future::join_all(picked.iter().map(|mb| async move {
        let mut c = to.clone();
        c.user = mb.dest.user.clone();
        c.password = mb.dest.password.clone();
        c.oauth2 = mb.dest.oauth2.clone();
        match crate::fetch::login(&c).await {
            Ok(mut s) => {
                let _ = tokio::time::timeout(Duration::from_secs(5), s.logout()).await;
                Ok(())
            }
            Err(e) => Err((mb.dest.user.clone(), e)),
        }
    })));
    let failed: Vec<String> =
        results.iter().filter_map(|r| r.as_ref().err()).map(|(u, e)| format!("{u}: {e}")).collect();
    let undecided = results.iter().any(|r| matches!(r, Err((_, e)) if e.is_transient()));
    match (failed.is_empty(), undecided) {
        (true, _) => Finding::new(
            "imap.login",
            Status::Pass,
            format!("{n} of {} accounts log in on {}", mailboxes.len(), to.host),
        ),
        (false, true) => Finding::new("imap.login", Status::Error, failed.join("; ")),
        (false, false) => Finding::new("imap.login", Status::Fail, failed.join("; ")),
    }
}

/// A dry run over every mailbox: what is left to copy, at the measured rate, plus what a pass
/// over every folder costs (measured now), against half the window.
fn delta(opts: &super::Options, mailboxes: &[super::Mailbox], window: Duration) -> Finding {
    let mut o = opts.clone();
    o.dry_run = true;
    o.verify = false;
    let report = match super::run(&o, mailboxes, &|_| {}) {
        Ok(r) => r,
        Err(e) => return Finding::new("delta.fits", Status::Error, e.to_string()),
    };
    let broken = report.mailboxes.iter().filter(|m| m.status != super::MailboxStatus::Ok).count();
    if broken > 0 {
        return Finding::new(
            "delta.fits",
            Status::Error,
            format!("{broken} mailboxes could not be sized (run the dry run to see why)"),
        );
    }
    let to_copy: usize = report.mailboxes.iter().map(|m| m.to_copy).sum();
    let Some(copying) = report.estimate_seconds else {
        return Finding::new(
            "delta.fits",
            Status::Skip,
            format!("{to_copy} messages to copy, no rate measured yet with this --state: run the presync first"),
        );
    };
    let total = copying + report.seconds;
    let half = window.as_secs_f64() / 2.0;
    let text = format!(
        "the final delta would take about {} ({to_copy} messages at the measured rate, plus {} for a pass over every folder) of the {} the plan gives it",
        span(total.ceil() as i64),
        span(report.seconds.ceil() as i64),
        span(half as i64)
    );
    let status = if total <= half {
        Status::Pass
    } else if total <= window.as_secs_f64() {
        Status::Warn
    } else {
        Status::Fail
    };
    Finding::new("delta.fits", status, text)
}

/// The report as people read it.
pub fn render(r: &CheckReport) -> String {
    let mut out = format!("Cutover check for {}\n", r.domain);
    for c in &r.checks {
        out.push_str(&format!("  {:<5} {:<13} {}\n", format!("{:?}", c.status).to_ascii_uppercase(), c.id, c.finding));
    }
    out
}
