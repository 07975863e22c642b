//! The cutover: what to do to old and new DNS and servers, in order, with the times the
//! domain's records imply.
//!
//! 1. [`read_zone`] asks DNS for what clients and other mail servers use to find the domain's
//!    mail today: its MX, the addresses of every host involved, the SRV records of RFC 6186 and
//!    RFC 8314 (`_imap(s)._tcp`, `_submission(s)._tcp`), and the autoconfig/autodiscover names,
//!    each with its TTL. A timeout is an error, never "no record".
//! 2. [`build`] marks the records the switch changes (those naming or pointing at an old
//!    server) and derives the times: resolvers may keep a record for its TTL, so TTLs are lowered
//!    at least one old TTL before the switch, and a TTL longer than a quarter of the window is
//!    flagged (a switch that takes that long to be seen eats the window).
//! 3. The steps: lower TTLs; prepare the new side and presync days ahead (which measures the
//!    rate); check; block users on the old server at T0; final delta; switch the records, the old
//!    MX kept as the lowest preference; post-sync the old INBOX for some days; restore TTLs. And
//!    the way back: records to old again (still low TTLs) and a reverse delta.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::RecordType;

use super::MigrateError;

/// What the plan needs to know.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The mail domain.
    pub domain: String,
    /// The old and the new MX host (names or addresses).
    pub old_mx: String,
    /// The new MX host.
    pub new_mx: String,
    /// The old IMAP host, as users reach it today.
    pub old_imap: String,
    /// The new IMAP host.
    pub new_imap: String,
    /// The cutover window.
    pub window: Duration,
    /// Name servers to ask (the system's when empty). Ask the zone's own server for exact TTLs:
    /// a caching resolver reports what is left of its cached copy.
    pub resolvers: Vec<SocketAddr>,
    /// Time allowed for each query.
    pub timeout: Duration,
    /// T0, when users are locked out of the old server (seconds since 1970); `None`: times are
    /// given relative to T0 only.
    pub start: Option<i64>,
    /// The TTL records are lowered to before the switch (seconds).
    pub low_ttl: u32,
    /// Days the old server keeps receiving and is post-synced after the switch.
    pub keep_days: u32,
}

impl PlanOptions {
    /// Options with the defaults: TTLs lowered to 300 s, the old server kept 7 days.
    pub fn new(domain: &str, old_mx: &str, new_mx: &str, old_imap: &str, new_imap: &str, window: Duration) -> Self {
        PlanOptions {
            domain: domain.trim_end_matches('.').to_ascii_lowercase(),
            old_mx: host(old_mx),
            new_mx: host(new_mx),
            old_imap: host(old_imap),
            new_imap: host(new_imap),
            window,
            resolvers: Vec::new(),
            timeout: Duration::from_secs(5),
            start: None,
            low_ttl: 300,
            keep_days: 7,
        }
    }
}

fn host(s: &str) -> String {
    s.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// One record as DNS gives it now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Record {
    /// The owner name.
    pub name: String,
    /// `MX`, `A`, `AAAA`, `SRV` or `CNAME`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The data as a zone file writes it (`10 mx.example.org`, `192.0.2.1`, …).
    pub value: String,
    /// Its TTL in seconds.
    pub ttl: u32,
    /// Whether the switch changes it (it names or points at an old server).
    pub changes: bool,
}

/// What DNS said: the records, and the names it could not answer for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Zone {
    /// Every record found.
    pub records: Vec<Record>,
    /// `NAME TYPE: error` for each query that got no answer (a timeout, SERVFAIL): not "absent".
    pub errors: Vec<String>,
}

impl Zone {
    fn of<'a>(&'a self, name: &'a str, kind: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
        self.records.iter().filter(move |r| r.kind == kind && r.name.eq_ignore_ascii_case(name))
    }

    /// The addresses of `host` (itself when it is an address).
    pub fn addresses(&self, host: &str) -> Vec<IpAddr> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return vec![ip];
        }
        let target = self.of(host, "CNAME").next().map(|c| c.value.clone()).unwrap_or_else(|| host.to_string());
        self.records
            .iter()
            .filter(|r| matches!(r.kind, "A" | "AAAA") && r.name.eq_ignore_ascii_case(&target))
            .filter_map(|r| r.value.parse().ok())
            .collect()
    }
}

/// How a check or a finding came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// As it should be.
    Pass,
    /// Works, but needs care.
    Warn,
    /// Must be fixed before going on.
    Fail,
    /// Could not be decided (a query or a server did not answer).
    Error,
    /// Not checked (what it needs was not given, or it is not due yet).
    Skip,
}

/// One finding, with a stable id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// `ttl.window`, `ttl.start`, `mx.old`, `mx.new`, `imap.new`, `mx.redundant`, `dns.errors`
    /// (the plan); `ttl.lowered`, `mx.answers`, `imap.login`, `delta.fits`, `dns.switched`
    /// (the check).
    pub id: &'static str,
    /// How it came out.
    pub status: Status,
    /// One line for people.
    pub finding: String,
}

impl Finding {
    pub(crate) fn new(id: &'static str, status: Status, finding: impl Into<String>) -> Self {
        Finding { id, status, finding: finding.into() }
    }
}

/// One step of the plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// Seconds from T0 (negative: before).
    pub at: i64,
    /// The time in UTC (RFC 3339) when T0 is known.
    pub when: Option<String>,
    /// `old DNS`, `new DNS`, `old server`, `new server` or `mailwright`.
    pub side: &'static str,
    /// What to do, and why then.
    pub action: String,
    /// Commands to run (mailwright's), when there are.
    pub commands: Vec<String>,
}

/// The cutover plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    /// The domain.
    pub domain: String,
    /// The window in seconds.
    pub window_seconds: u64,
    /// T0 in UTC, when given.
    pub start: Option<String>,
    /// What DNS says now.
    pub zone: Zone,
    /// The longest TTL among the records the switch changes.
    pub max_ttl: u32,
    /// What needs attention.
    pub findings: Vec<Finding>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The way back, at any time before the old server is retired.
    pub rollback: Vec<Step>,
}

impl Plan {
    /// Whether a finding says the plan cannot go ahead as it is.
    pub fn failed(&self) -> bool {
        self.findings.iter().any(|f| f.status == Status::Fail)
    }
}

/// Reads the domain's mail records now, every query in parallel.
pub async fn read_zone(o: &PlanOptions) -> Result<Zone, MigrateError> {
    let resolver = crate::dns::resolver(&o.resolvers, o.timeout).map_err(|e| MigrateError::Dns(e.to_string()))?;
    let d = &o.domain;
    let mut queries: Vec<(String, RecordType)> = vec![(d.clone(), RecordType::MX)];
    for s in ["_imap._tcp", "_imaps._tcp", "_submission._tcp", "_submissions._tcp", "_autodiscover._tcp"] {
        queries.push((format!("{s}.{d}"), RecordType::SRV));
    }
    let mut names: Vec<String> = vec![format!("autoconfig.{d}"), format!("autodiscover.{d}")];
    names.extend([&o.old_mx, &o.new_mx, &o.old_imap, &o.new_imap].iter().map(|h| h.to_string()));
    let mut zone = Zone::default();
    run_queries(&resolver, &queries, &mut zone).await;
    // The hosts the records name, then the addresses of every host.
    for r in &zone.records {
        match r.kind {
            "MX" | "SRV" => {
                if let Some(target) = r.value.rsplit(' ').next().filter(|t| *t != ".") {
                    names.push(target.to_string());
                }
            }
            _ => {}
        }
    }
    names.retain(|n| n.parse::<IpAddr>().is_err());
    names.sort();
    names.dedup();
    let queries: Vec<_> =
        names.iter().flat_map(|n| [(n.clone(), RecordType::A), (n.clone(), RecordType::AAAA)]).collect();
    run_queries(&resolver, &queries, &mut zone).await;
    if !zone.errors.is_empty() && zone.records.is_empty() {
        return Err(MigrateError::Dns(format!("no name server answered: {}", zone.errors.join("; "))));
    }
    zone.records.sort_by(|a, b| (&a.name, a.kind, &a.value).cmp(&(&b.name, b.kind, &b.value)));
    zone.records.dedup();
    Ok(zone)
}

async fn run_queries(resolver: &TokioResolver, queries: &[(String, RecordType)], zone: &mut Zone) {
    let answers = futures_util::future::join_all(queries.iter().map(|(name, kind)| async move {
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        (name, *kind, resolver.lookup(fqdn.as_str(), *kind).await)
    }))
    .await;
    for (name, kind, answer) in answers {
        match answer {
            Ok(lookup) => {
                for r in lookup.answers() {
                    let owner = r.name.to_ascii().trim_end_matches('.').to_ascii_lowercase();
                    let Some((kind, value)) = crate::dns::record_text(&r.data) else { continue };
                    zone.records.push(Record { name: owner, kind, value, ttl: r.ttl, changes: false });
                }
            }
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => {}
            Err(e) => zone.errors.push(format!("{name} {kind}: {e}")),
        }
    }
}

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// The plan for this zone (`now`: seconds since 1970, to judge `start`).
pub fn build(o: &PlanOptions, mut zone: Zone, now: i64) -> Plan {
    let window = o.window.as_secs() as i64;
    let d = &o.domain;
    let in_domain = |n: &str| n == d || n.ends_with(&format!(".{d}"));
    let old_hosts = [o.old_mx.as_str(), o.old_imap.as_str()];
    let mut old_addrs: Vec<IpAddr> = old_hosts.iter().flat_map(|h| zone.addresses(h)).collect();
    let new_addrs: Vec<IpAddr> = [&o.new_mx, &o.new_imap].iter().flat_map(|h| zone.addresses(h)).collect();
    // An address the new side also has is not a sign of "old" (one host name moved across).
    old_addrs.retain(|a| !new_addrs.contains(a));
    let is_old =
        |target: &str| old_hosts.contains(&target) || zone.addresses(target).iter().any(|a| old_addrs.contains(a));
    let target_of = |r: &Record| r.value.rsplit(' ').next().unwrap_or_default().to_string();
    let user_names: Vec<String> = [format!("autoconfig.{d}"), format!("autodiscover.{d}"), o.old_imap.clone()]
        .into_iter()
        .filter(|n| in_domain(n) && *n != o.new_imap)
        .collect();
    let changes: Vec<bool> = zone
        .records
        .iter()
        .map(|r| match r.kind {
            "MX" | "SRV" => is_old(&target_of(r)),
            "CNAME" => user_names.contains(&r.name) && is_old(&r.value),
            "A" | "AAAA" => {
                user_names.contains(&r.name) && r.value.parse().is_ok_and(|a: IpAddr| old_addrs.contains(&a))
            }
            _ => false,
        })
        .collect();
    for (r, c) in zone.records.iter_mut().zip(changes) {
        r.changes = c;
    }
    let changing: Vec<&Record> = zone.records.iter().filter(|r| r.changes).collect();
    let max_ttl = changing.iter().map(|r| r.ttl).max().unwrap_or(0);

    let mut findings = Vec::new();
    if !zone.errors.is_empty() {
        findings.push(Finding::new(
            "dns.errors",
            Status::Error,
            format!("no answer for {} (not the same as no record): {}", zone.errors.len(), zone.errors.join("; ")),
        ));
    }
    let quarter = (window / 4) as u32;
    let long: Vec<String> = zone
        .records
        .iter()
        .filter(|r| r.ttl > quarter && (r.changes || r.kind == "MX"))
        .map(|r| format!("{} {} {} (TTL {})", r.name, r.kind, r.value, r.ttl))
        .collect();
    findings.push(if long.is_empty() {
        Finding::new(
            "ttl.window",
            Status::Pass,
            format!("every TTL the switch depends on is at most {quarter} s (a quarter of the window)"),
        )
    } else {
        Finding::new(
            "ttl.window",
            Status::Warn,
            format!(
                "TTL longer than a quarter of the window ({quarter} s): {}; lower to {} s at least {} before T0",
                long.join(", "),
                o.low_ttl,
                span(max_ttl as i64)
            ),
        )
    });
    let lower_at = -(max_ttl as i64 + DAY).max(2 * DAY);
    if let Some(t0) = o.start {
        let latest = t0 - max_ttl as i64;
        findings.push(if now > latest {
            Finding::new(
                "ttl.start",
                Status::Fail,
                format!(
                    "T0 is too soon: resolvers may keep the old records {} after the TTLs are lowered; the earliest T0 is {}",
                    span(max_ttl as i64),
                    rfc3339(now + max_ttl as i64)
                ),
            )
        } else {
            Finding::new("ttl.start", Status::Pass, format!("lower the TTLs by {} at the latest", rfc3339(latest)))
        });
    }
    let mx: Vec<&Record> = zone.of(d, "MX").collect();
    let old_mx: Vec<&&Record> = mx.iter().filter(|r| r.changes).collect();
    findings.push(if mx.iter().any(|r| r.value.ends_with(" .")) {
        Finding::new("mx.old", Status::Fail, format!("{d} publishes a null MX: it receives no mail"))
    } else if old_mx.is_empty() {
        Finding::new(
            "mx.old",
            Status::Warn,
            format!(
                "{d}'s MX ({}) does not name the old MX {}: check --old-mx",
                if mx.is_empty() { "none".to_string() } else { values(&mx) },
                o.old_mx
            ),
        )
    } else {
        Finding::new("mx.old", Status::Pass, format!("{d} MX {}", values(&mx)))
    });
    for (id, h) in [("mx.new", &o.new_mx), ("imap.new", &o.new_imap)] {
        let addrs = zone.addresses(h);
        findings.push(if addrs.is_empty() {
            Finding::new(id, Status::Fail, format!("{h} does not resolve: create its records before T0"))
        } else {
            Finding::new(
                id,
                Status::Pass,
                format!("{h} is {}", addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
            )
        });
    }
    if mx.len() < 2 {
        findings.push(Finding::new(
            "mx.redundant",
            Status::Warn,
            format!("{d} has one MX: during the switch the old one stays as a backup (lowest preference)"),
        ));
    }

    let steps = steps(o, &zone, max_ttl, lower_at, window);
    let rollback = rollback(o, &zone);
    let with_times = |mut s: Vec<Step>| {
        for step in &mut s {
            step.when = o.start.map(|t0| rfc3339(t0 + step.at));
        }
        s
    };
    Plan {
        domain: d.clone(),
        window_seconds: window as u64,
        start: o.start.map(rfc3339),
        zone,
        max_ttl,
        findings,
        steps: with_times(steps),
        rollback: with_times(rollback),
    }
}

fn values(rs: &[&Record]) -> String {
    rs.iter().map(|r| r.value.as_str()).collect::<Vec<_>>().join(", ")
}

fn step(at: i64, side: &'static str, action: String, commands: Vec<String>) -> Step {
    Step { at, when: None, side, action, commands }
}

/// The record changes of the switch, one line each.
fn switch_lines(o: &PlanOptions, zone: &Zone) -> Vec<String> {
    let worst = zone.of(&o.domain, "MX").filter_map(|r| r.value.split(' ').next()?.parse::<u32>().ok()).max();
    let mut out = Vec::new();
    for r in zone.records.iter().filter(|r| r.changes) {
        let line = match r.kind {
            "MX" => {
                let pref = r.value.split(' ').next().unwrap_or("10");
                format!(
                    "{} MX: {} -> {pref} {}, and keep the old host as {} {} (lowest preference: it keeps receiving)",
                    r.name,
                    r.value,
                    o.new_mx,
                    worst.unwrap_or(10) + 10,
                    r.value.rsplit(' ').next().unwrap_or_default()
                )
            }
            "SRV" => {
                let mut f: Vec<&str> = r.value.split(' ').collect();
                if let Some(t) = f.last_mut() {
                    *t = &o.new_imap;
                }
                let host = if r.name.starts_with("_submission") { " (or the new submission host)" } else { "" };
                format!("{} SRV: {} -> {}{host}", r.name, r.value, f.join(" "))
            }
            "CNAME" => format!("{} CNAME: {} -> {}", r.name, r.value, o.new_imap),
            _ => format!(
                "{} {}: {} -> the address(es) of {} (or CNAME {})",
                r.name, r.kind, r.value, o.new_imap, o.new_imap
            ),
        };
        out.push(line);
    }
    out.dedup();
    out
}

fn steps(o: &PlanOptions, zone: &Zone, max_ttl: u32, lower_at: i64, window: i64) -> Vec<Step> {
    let changing: Vec<String> = zone
        .records
        .iter()
        .filter(|r| r.changes && r.ttl > o.low_ttl)
        .map(|r| format!("{} {} (TTL {} s)", r.name, r.kind, r.ttl))
        .collect();
    let none = if zone.records.iter().any(|r| r.changes) {
        "every one is at most that already"
    } else {
        "none found (check --old-mx/--old-imap)"
    };
    let mw = migrate_command(o, &o.old_imap, false);
    let old_later = old_after_switch(o, zone);
    let mw_after = migrate_command(o, &old_later, false);
    let moved = if old_later == o.old_imap {
        String::new()
    } else {
        format!(
            " {} now names the new server: the old one is reached by its address {old_later} (its certificate must name it, or give the old server a name of its own now)",
            o.old_imap
        )
    };
    let switch_at = window / 2;
    let mut s = vec![
        step(
            lower_at,
            "old DNS",
            format!(
                "Lower the TTL of every record the switch changes to {} s: {}. Resolvers may keep the old values for the old TTL ({}), so this must happen at least that long before the switch; keep a note of the old TTLs to restore them.",
                o.low_ttl,
                if changing.is_empty() { none.to_string() } else { changing.join(", ") },
                span(max_ttl as i64)
            ),
            vec![],
        ),
        step(
            -2 * DAY,
            "new server",
            format!(
                "Create the accounts on the new system with quotas at least the old mailboxes' sizes (the dry run lists them), and make the new MX {} accept mail for {} (it must not bounce the domain's users).",
                o.new_mx, o.domain
            ),
            vec![format!("{mw} --dry-run")],
        ),
        step(
            -2 * DAY,
            "mailwright",
            "Presync: the full copy, proven message by message, while users work on the old system. Rerun it daily: each rerun copies only what is new, and the state keeps the measured rate for the estimate of the final delta.".into(),
            vec![mw.clone()],
        ),
        step(-DAY, "mailwright", "Rerun the presync (the delta of one day: this is about what the final delta costs).".into(), vec![mw.clone()]),
        step(
            -HOUR,
            "mailwright",
            "Check before starting: TTLs lowered, the new MX answers, a sample of accounts logs in on the new IMAP server, the delta fits the window at the measured rate.".into(),
            vec![check_command(o)],
        ),
        step(
            0,
            "old server",
            format!(
                "T0: lock users out of the old server {} (IMAP, POP3, submission: e.g. stop the login services or refuse logins); it keeps receiving on port 25, so nothing is lost and nothing changes under the copy.",
                o.old_imap
            ),
            vec![],
        ),
        step(
            0,
            "mailwright",
            format!("Final delta sync, then its proof. It must be done by T0+{} to leave the second half of the window for the switch and the checks.", span(switch_at)),
            vec![mw.clone()],
        ),
        step(
            switch_at,
            "new DNS",
            format!("Switch the records (the old TTLs are gone: resolvers see the change within {} s): {}", o.low_ttl, {
                let lines = switch_lines(o, zone);
                if lines.is_empty() { "none found".to_string() } else { lines.join("; ") }
            }),
            vec![],
        ),
        step(
            switch_at,
            "old DNS",
            format!(
                "If the old DNS serves the zone (or caches it for others), make the same changes there, or delegate to the new DNS; keep the old MX {} resolving.",
                o.old_mx
            ),
            vec![],
        ),
        step(
            switch_at + o.low_ttl as i64,
            "new server",
            format!(
                "Open the new system to users ({}). From now on nothing is ever deleted on the new side by the migration (it never deletes), and users' changes there are kept.",
                o.new_imap
            ),
            vec![mw_after.replacen("migrate ", "migrate verify ", 1)],
        ),
        step(
            window,
            "mailwright",
            format!(
                "Post-sync: mail the old server still gets (queued mail, senders with stale DNS, the lowest-preference MX) is copied to the new INBOX; rerun hourly for {} days.{moved}",
                o.keep_days
            ),
            vec![mw_after.clone()],
        ),
        step(
            o.keep_days as i64 * DAY,
            "old DNS",
            format!(
                "Remove the old MX {} from {}'s MX, restore the TTLs noted in the first step, retire the old server (keep its store read-only as a backup).",
                o.old_mx, o.domain
            ),
            vec![],
        ),
    ];
    s.sort_by_key(|st| st.at);
    s
}

fn rollback(o: &PlanOptions, zone: &Zone) -> Vec<Step> {
    let changed: Vec<String> =
        zone.records.iter().filter(|r| r.changes).map(|r| format!("{} {} {}", r.name, r.kind, r.value)).collect();
    vec![
        step(
            0,
            "new DNS",
            format!(
                "Put the records back as they were ({}); with the TTLs still at {} s resolvers follow within minutes.",
                if changed.is_empty() { "none changed".to_string() } else { changed.join(", ") },
                o.low_ttl
            ),
            vec![],
        ),
        step(
            0,
            "mailwright",
            "Reverse delta: what arrived or was filed on the new side since the switch is copied back to the old one (messages already there are found by content and skipped). Then reopen the old server to users.".into(),
            vec![migrate_command(o, &old_after_switch(o, zone), true)],
        ),
    ]
}

/// `mailwright migrate …` for this plan, the old server reached as `old` (`reverse`: new to
/// old).
fn migrate_command(o: &PlanOptions, old: &str, reverse: bool) -> String {
    let (from, to) = if reverse { (o.new_imap.as_str(), old) } else { (old, o.new_imap.as_str()) };
    let mut c = format!("mailwright migrate --from imaps://{from} --to imaps://{to} --users users.csv");
    c.push_str(if reverse { " --reverse --state rollback-state" } else { " --state migrate-state" });
    c
}

/// How the old IMAP server is reached once its name points at the new one: by its address.
fn old_after_switch(o: &PlanOptions, zone: &Zone) -> String {
    let switched =
        zone.records.iter().any(|r| r.changes && r.name == o.old_imap && matches!(r.kind, "A" | "AAAA" | "CNAME"));
    match zone.addresses(&o.old_imap).first() {
        Some(ip) if switched => match ip {
            IpAddr::V6(v6) => format!("[{v6}]"),
            IpAddr::V4(v4) => v4.to_string(),
        },
        _ => o.old_imap.clone(),
    }
}

fn check_command(o: &PlanOptions) -> String {
    format!(
        "mailwright migrate check --domain {} --old-mx {} --new-mx {} --old-imap {} --new-imap {} --window {} --from imaps://{} --to imaps://{} --users users.csv --state migrate-state",
        o.domain,
        o.old_mx,
        o.new_mx,
        o.old_imap,
        o.new_imap,
        span(o.window.as_secs() as i64).replace(' ', ""),
        o.old_imap,
        o.new_imap
    )
}

/// `6h`, `90m`, `2d`, `3600s`, `1h30m`, or plain seconds → a duration.
pub fn parse_span(s: &str) -> Result<Duration, MigrateError> {
    let bad = || MigrateError::Config(format!("{s:?} is not a duration (like 6h, 90m, 1h30m, 2d)"));
    let t = s.trim().to_ascii_lowercase();
    if let Ok(n) = t.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let (mut total, mut num) = (0u64, String::new());
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = num.parse().map_err(|_| bad())?;
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
        num.clear();
    }
    if !num.is_empty() || total == 0 || total > 365 * 86_400 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// A span for people: `2 d`, `6 h`, `1 h 30 min`, `45 s`.
pub fn span(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let mut parts = Vec::new();
    for (n, u) in [(d, "d"), (h, "h"), (m, "min"), (sec, "s")] {
        if n > 0 {
            parts.push(format!("{n} {u}"));
        }
    }
    if parts.is_empty() { "0 s".into() } else { parts.join(" ") }
}

/// Reads T0: RFC 3339 (`2026-12-12T22:00:00Z`, an offset allowed).
pub fn parse_start(s: &str) -> Result<i64, MigrateError> {
    mail_parser::DateTime::parse_rfc3339(s.trim())
        .filter(|d| d.is_valid())
        .map(|d| d.to_timestamp())
        .ok_or_else(|| MigrateError::Config(format!("{s:?} is not a time like 2026-12-12T22:00:00Z")))
}

fn rfc3339(t: i64) -> String {
    let mut d = mail_parser::DateTime::from_timestamp(t);
    d.tz_before_gmt = false;
    d.tz_hour = 0;
    d.tz_minute = 0;
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", d.year, d.month, d.day, d.hour, d.minute, d.second)
}

/// The plan as people read it.
pub fn render(p: &Plan) -> String {
    let mut out = String::new();
    let rel = |at: i64| {
        if at == 0 {
            "T0".to_string()
        } else {
            format!("T0{}{}", if at < 0 { "-" } else { "+" }, span(at).replace(' ', ""))
        }
    };
    out.push_str(&format!("Cutover plan for {} (window {})\n\n", p.domain, span(p.window_seconds as i64)));
    out.push_str("DNS now (* = the switch changes it):\n");
    for r in &p.zone.records {
        out.push_str(&format!(
            "  {} {:<40} {:>7} {:<5} {}\n",
            if r.changes { "*" } else { " " },
            r.name,
            r.ttl,
            r.kind,
            r.value
        ));
    }
    out.push_str("\nFindings:\n");
    for f in &p.findings {
        out.push_str(&format!("  {:<5} {:<13} {}\n", format!("{:?}", f.status).to_ascii_uppercase(), f.id, f.finding));
    }
    for (title, steps) in [("Steps", &p.steps), ("Rollback (any time before the old server is retired)", &p.rollback)] {
        out.push_str(&format!("\n{title}:\n"));
        for (i, s) in steps.iter().enumerate() {
            let when = s.when.as_ref().map(|w| format!(" ({w})")).unwrap_or_default();
            out.push_str(&format!(
                "{:>3}. {}{} [{}] {}\n",
                i + 1,
                if title == "Steps" { rel(s.at) } else { "R".into() },
                when,
                s.side,
                s.action
            ));
            for c in &s.commands {
                out.push_str(&format!("       $ {c}\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr(name: &str, kind: &'static str, value: &str, ttl: u32) -> Record {
        Record { name: name.into(), kind, value: value.into(), ttl, changes: false }
    }

    fn zone() -> Zone {
        Zone {
            records: vec![
                rr("exam.test", "MX", "10 mx.old.exam.test", 3600),
                rr("mx.old.exam.test", "A", "192.0.2.1", 86_400),
                rr("imap.exam.test", "A", "192.0.2.2", 600),
                rr("_imaps._tcp.exam.test", "SRV", "0 1 993 imap.exam.test", 3600),
                rr("autoconfig.exam.test", "CNAME", "imap.exam.test", 300),
                rr("mx.new.example", "A", "198.51.100.1", 300),
                rr("imap.new.example", "A", "198.51.100.2", 300),
            ],
            errors: vec![],
        }
    }

    fn options() -> PlanOptions {
        PlanOptions::new(
            "exam.test",
            "mx.old.exam.test",
            "mx.new.example",
            "imap.exam.test",
            "imap.new.example",
            Duration::from_secs(6 * 3600),
        )
    }

    #[test]
    fn the_switch_changes_what_points_at_old_and_long_ttls_are_flagged() {
        let p = build(&options(), zone(), 0);
        let changed: Vec<(&str, &str)> =
            p.zone.records.iter().filter(|r| r.changes).map(|r| (r.name.as_str(), r.kind)).collect();
        assert_eq!(
            changed,
            [
                ("exam.test", "MX"),
                ("imap.exam.test", "A"),
                ("_imaps._tcp.exam.test", "SRV"),
                ("autoconfig.exam.test", "CNAME")
            ]
        );
        // The old MX host's own A record does not change (it stays as the backup MX).
        assert_eq!(p.max_ttl, 3600);
        let ttl = p.findings.iter().find(|f| f.id == "ttl.window").expect("ttl finding");
        assert_eq!(ttl.status, Status::Pass, "{ttl:?}: 3600 s is a sixth of the window");
        let mut z = zone();
        z.records[0].ttl = 86_400;
        let p = build(&options(), z, 0);
        let ttl = p.findings.iter().find(|f| f.id == "ttl.window").expect("ttl finding");
        assert_eq!(ttl.status, Status::Warn);
        assert!(ttl.finding.contains("exam.test MX 10 mx.old.exam.test (TTL 86400)"), "{}", ttl.finding);
        assert_eq!(p.steps[0].at, -(86_400 + DAY), "TTLs lowered an old TTL plus a day before T0");
        assert!(p.steps[0].action.contains("exam.test MX (TTL 86400 s)"));
        // A record already at the low TTL is not listed for lowering.
        assert!(!p.steps[0].action.contains("autoconfig.exam.test"), "{}", p.steps[0].action);
    }

    #[test]
    fn steps_are_ordered_and_name_both_sides_and_the_way_back() {
        let mut o = options();
        o.start = Some(parse_start("2026-12-12T22:00:00Z").expect("start"));
        let p = build(&o, zone(), parse_start("2026-12-01T00:00:00Z").expect("now"));
        assert!(p.steps.windows(2).all(|w| w[0].at <= w[1].at));
        let sides: std::collections::HashSet<&str> = p.steps.iter().map(|s| s.side).collect();
        for side in ["old DNS", "new DNS", "old server", "new server", "mailwright"] {
            assert!(sides.contains(side), "{side} missing");
        }
        let switch = p.steps.iter().find(|s| s.side == "new DNS").expect("switch");
        assert_eq!(switch.at, 3 * 3600, "the switch at half the window");
        assert_eq!(switch.when.as_deref(), Some("2026-12-13T01:00:00Z"));
        assert!(
            switch.action.contains(
                "exam.test MX: 10 mx.old.exam.test -> 10 mx.new.example, and keep the old host as 20 mx.old.exam.test"
            ),
            "{}",
            switch.action
        );
        assert!(
            switch.action.contains("_imaps._tcp.exam.test SRV: 0 1 993 imap.exam.test -> 0 1 993 imap.new.example")
        );
        assert!(p.rollback[1].commands[0].contains("--reverse"));
        assert_eq!(p.findings.iter().find(|f| f.id == "ttl.start").map(|f| f.status), Some(Status::Pass));
        // Starting in ten minutes leaves no time for the TTL to run out.
        o.start = Some(parse_start("2026-12-01T00:10:00Z").expect("start"));
        let p = build(&o, zone(), parse_start("2026-12-01T00:00:00Z").expect("now"));
        assert_eq!(p.findings.iter().find(|f| f.id == "ttl.start").map(|f| f.status), Some(Status::Fail));
        let text = render(&p);
        assert!(text.contains("T0+3h (2026-12-01T03:10:00Z) [new DNS]"), "{text}");
        // After the switch the old IMAP name is the new server's: the commands reach the old
        // one by its address.
        let post = p.steps.iter().find(|s| s.action.starts_with("Post-sync")).expect("post-sync");
        assert!(post.commands[0].starts_with("mailwright migrate --from imaps://192.0.2.2 "), "{:?}", post.commands);
        assert!(p.rollback[1].commands[0].contains("--to imaps://192.0.2.2"), "{:?}", p.rollback[1].commands);
    }

    #[test]
    fn missing_new_hosts_and_a_null_mx_fail_and_timeouts_are_errors() {
        let mut z = zone();
        z.records.retain(|r| r.name != "mx.new.example");
        z.errors.push("exam.test TXT: timed out".into());
        let p = build(&options(), z, 0);
        let status = |id| p.findings.iter().find(|f| f.id == id).map(|f| f.status);
        assert_eq!(status("mx.new"), Some(Status::Fail));
        assert_eq!(status("dns.errors"), Some(Status::Error));
        assert_eq!(status("mx.redundant"), Some(Status::Warn));
        assert!(p.failed());
        let mut z = zone();
        z.records[0].value = "0 .".into();
        assert_eq!(
            build(&options(), z, 0).findings.iter().find(|f| f.id == "mx.old").map(|f| f.status),
            Some(Status::Fail)
        );
    }

    #[test]
    fn spans_read_and_print() {
        assert_eq!(parse_span("6h").expect("6h").as_secs(), 21_600);
        assert_eq!(parse_span("1h30m").expect("1h30m").as_secs(), 5400);
        assert_eq!(parse_span("2d").expect("2d").as_secs(), 172_800);
        assert_eq!(parse_span("3600").expect("3600").as_secs(), 3600);
        for bad in ["", "h", "6x", "0h", "-1h", "6h5", "99999999999999999999d", "400d"] {
            assert!(parse_span(bad).is_err(), "{bad}");
        }
        assert_eq!(span(5400), "1 h 30 min");
        assert_eq!(rfc3339(parse_start("2026-12-12T23:00:00+01:00").expect("start")), "2026-12-12T22:00:00Z");
        assert!(parse_start("tomorrow").is_err());
    }
}
