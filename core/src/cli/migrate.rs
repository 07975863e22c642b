//! `mailwright migrate`: move mailboxes from one system to another (IMAP or local Maildirs)
//! and prove it;
//! `mailwright migrate verify`: only the proof.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use super::{CliError, exit, fail, out};
use crate::migrate::{Event, MailboxReport, MailboxStatus, Report};

/// Arguments of `mailwright migrate`. Exit codes: 0 every mailbox copied and proven; 2 a proof
/// found a difference or the destination refused a message; 73 a destination is over quota
/// (raise it and run again: the mailbox resumes); 69 a login was refused; 75 a server failed
/// after the retries (run again); 1 usage. One mailbox's failure never stops the others.
/// `plan` and `check`: 0 nothing failed, 2 a finding or check failed, 75 DNS or a server could
/// not be asked.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// `verify`: compare both sides message by message (hash, flags, keywords, INTERNALDATE,
    /// folder) without copying. `plan`: read the domain's DNS and print the cutover plan for
    /// old and new DNS and servers. `check`: verify what can be verified before a step (TTLs
    /// lowered, new MX answers, sample logins on the new IMAP, the delta fits the window).
    #[arg(value_parser = ["verify", "plan", "check"])]
    action: Option<String>,
    /// The old system: imap://HOST[:PORT] (STARTTLS), imaps://HOST[:PORT], or a Maildir per
    /// account, maildir:/var/mail/%d/%n/Maildir (%u the user, %n before @, %d after; append
    /// :LAYOUT=fs for a directory per folder; the password column is then not used).
    #[arg(long)]
    from: Option<String>,
    /// The new system, likewise (a Maildir is created as Dovecot keeps one; run as root, what is
    /// created belongs to the owner of the tree it is in).
    #[arg(long)]
    to: Option<String>,
    /// CSV: source_user,source_password,dest_user,dest_password per line; a password may be
    /// file:PATH, env:VAR, or an OAuth2 login xoauth2:file:PATH / xoauth2:command:PROGRAM ARG…
    /// (oauthbearer:… likewise). Refused when group or others can read it.
    #[arg(long)]
    users: Option<PathBuf>,
    /// Swap the users file's columns: copy from the destination accounts back to the source
    /// ones (the rollback's reverse delta; give --from the new server and --to the old one).
    #[arg(long)]
    reverse: bool,
    /// Mailboxes migrated at once (each holds one connection to each server).
    #[arg(long, default_value_t = 4)]
    jobs: usize,
    /// Where each mailbox's state is kept (what was copied, by content): a rerun copies only
    /// what is new.
    #[arg(long, default_value = "migrate-state")]
    state: PathBuf,
    /// Move a source folder (and what is below it) elsewhere: OLD=NEW, paths with `/`.
    #[arg(long = "map", value_name = "OLD=NEW")]
    maps: Vec<String>,
    /// Only every N-th mailbox of the users file, starting at the I-th: I/N.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Do not prove the mailboxes after copying them.
    #[arg(long = "no-verify")]
    no_verify: bool,
    /// List folders, messages and bytes per mailbox, and estimate the copy's duration from the
    /// rate of earlier runs with this --state; copy nothing.
    #[arg(long = "dry-run")]
    dry_run: bool,
    /// At most this many messages a second (over all jobs).
    #[arg(long = "max-messages-per-second", value_name = "N")]
    max_messages: Option<f64>,
    /// At most this many bytes a second (over all jobs).
    #[arg(long = "max-bytes-per-second", value_name = "N")]
    max_bytes: Option<f64>,
    /// Reconnects per mailbox after server push-back (NO [LIMIT], BYE) or a dropped connection;
    /// the wait starts at a second and doubles up to a minute.
    #[arg(long, default_value_t = 8)]
    retries: u32,
    /// Seconds of the first wait before a reconnect (it doubles, up to a minute).
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    backoff: f64,
    /// Also trust this CA certificate (PEM).
    #[arg(long = "ca-file")]
    ca_file: Option<PathBuf>,
    /// Do not verify the servers' certificates (tests only).
    #[arg(long)]
    insecure: bool,
    /// Permit a server without STARTTLS.
    #[arg(long = "allow-plaintext")]
    allow_plaintext: bool,
    /// Seconds allowed for each response.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    timeout: u64,
    /// JSON lines: one per mailbox as it finishes, then the summary (plan, check: one JSON
    /// document).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    cutover: Cutover,
}

/// What `migrate plan` and `migrate check` read.
#[derive(clap::Args, Debug)]
struct Cutover {
    /// The mail domain (plan, check).
    #[arg(long)]
    domain: Option<String>,
    /// The old MX host (plan, check).
    #[arg(long = "old-mx", value_name = "HOST")]
    old_mx: Option<String>,
    /// The new MX host (plan, check).
    #[arg(long = "new-mx", value_name = "HOST")]
    new_mx: Option<String>,
    /// The old IMAP host as users reach it (plan, check).
    #[arg(long = "old-imap", value_name = "HOST")]
    old_imap: Option<String>,
    /// The new IMAP host (plan, check).
    #[arg(long = "new-imap", value_name = "HOST")]
    new_imap: Option<String>,
    /// The cutover window: 6h, 90m, 1h30m (plan, check).
    #[arg(long, default_value = "6h")]
    window: String,
    /// Name server to ask, IP[:PORT], repeatable (default: the system's). The zone's own server
    /// gives exact TTLs; a caching resolver, what is left of its copy.
    #[arg(long = "resolver", value_name = "IP[:PORT]")]
    resolvers: Vec<String>,
    /// T0, when users are locked out of the old server, RFC 3339 (2026-12-12T22:00:00Z): the
    /// plan then gives times and says whether the TTLs leave enough time.
    #[arg(long)]
    start: Option<String>,
    /// The TTL to lower the switched records to, in seconds.
    #[arg(long = "low-ttl", value_name = "SECS", default_value_t = 300)]
    low_ttl: u32,
    /// Days the old server keeps receiving and is post-synced after the switch.
    #[arg(long = "keep-days", value_name = "DAYS", default_value_t = 7)]
    keep_days: u32,
    /// The port the new MX is probed on (check).
    #[arg(long = "smtp-port", value_name = "PORT", default_value_t = 25)]
    smtp_port: u16,
    /// Destination accounts that must log in on the new IMAP server (check).
    #[arg(long, value_name = "N", default_value_t = 3)]
    sample: usize,
}

fn line(r: &MailboxReport, dry_run: bool) -> String {
    let who = format!("{} -> {}", r.source_user, r.dest_user);
    if dry_run {
        return format!(
            "{who}: {} folders, {} messages ({} bytes), {} to copy ({} bytes)",
            r.folders.len(),
            r.messages,
            r.source_bytes,
            r.to_copy,
            r.to_copy_bytes
        );
    }
    let status = match r.status {
        MailboxStatus::Ok => "ok",
        MailboxStatus::Mismatch => "MISMATCH",
        MailboxStatus::OverQuota => "OVER QUOTA",
        MailboxStatus::LoginRefused => "LOGIN REFUSED",
        MailboxStatus::Failed => "FAILED",
    };
    let proof = match &r.verify {
        Some(v) if v.clean() => format!(", verified {} = {}", v.source, v.dest - v.extra),
        Some(v) => format!(
            ", verify: {} missing, {} duplicated, {} flags, {} dates differ",
            v.missing, v.duplicated, v.flag_mismatches, v.date_mismatches
        ),
        None => String::new(),
    };
    let error = r.error.as_ref().map(|e| format!(": {e}")).unwrap_or_default();
    format!("{who}: {status}, {} copied ({} bytes) of {}{proof}{error}", r.copied, r.bytes, r.messages)
}

fn usage(m: String) -> CliError {
    CliError { code: exit::USAGE, message: m }
}

/// The migration the arguments name, if they name one (`needed`: they must).
fn settings(a: &Args, needed: bool) -> Result<Option<crate::migrate::Settings>, CliError> {
    let (from, to, users) = match (&a.from, &a.to, &a.users) {
        (Some(f), Some(t), Some(u)) => (f.clone(), t.clone(), u.clone()),
        (None, None, None) if !needed => return Ok(None),
        _ => return Err(usage("--from, --to and --users are needed".into())),
    };
    Ok(Some(crate::migrate::Settings {
        from,
        to,
        users,
        reverse: a.reverse,
        state: Some(a.state.clone()),
        jobs: Some(a.jobs),
        maps: a.maps.clone(),
        shard: a.shard.clone(),
        no_verify: a.no_verify,
        dry_run: a.dry_run,
        max_messages_per_second: a.max_messages,
        max_bytes_per_second: a.max_bytes,
        retries: Some(a.retries),
        backoff: Some(a.backoff),
        timeout: Some(a.timeout as f64),
        ca_file: a.ca_file.clone(),
        insecure: a.insecure,
        allow_plaintext: a.allow_plaintext,
    }))
}

fn plan_options(a: &Args) -> Result<crate::migrate::PlanOptions, CliError> {
    let c = &a.cutover;
    let need = |v: &Option<String>, name: &str| v.clone().ok_or_else(|| usage(format!("--{name} is needed")));
    let mut o = crate::migrate::PlanOptions::new(
        &need(&c.domain, "domain")?,
        &need(&c.old_mx, "old-mx")?,
        &need(&c.new_mx, "new-mx")?,
        &need(&c.old_imap, "old-imap")?,
        &need(&c.new_imap, "new-imap")?,
        crate::migrate::plan::parse_span(&c.window).map_err(fail)?,
    );
    o.resolvers = c
        .resolvers
        .iter()
        .map(|r| crate::dns::parse_resolver(r).map_err(|e| usage(e.to_string())))
        .collect::<Result<_, _>>()?;
    o.timeout = Duration::from_secs(a.timeout.clamp(1, 30));
    o.start = c.start.as_deref().map(crate::migrate::plan::parse_start).transpose().map_err(fail)?;
    if c.low_ttl == 0 {
        return Err(usage("--low-ttl must be at least 1".into()));
    }
    o.low_ttl = c.low_ttl;
    o.keep_days = c.keep_days;
    Ok(o)
}

fn exit_with(code: i32, what: &str) -> Result<(), CliError> {
    match code {
        0 => Ok(()),
        c => Err(CliError { code: u8::try_from(c).unwrap_or(exit::SOFTWARE), message: what.into() }),
    }
}

fn plan(a: &Args) -> Result<(), CliError> {
    let o = plan_options(a)?;
    let zone =
        crate::migrate::runtime().and_then(|rt| rt.block_on(crate::migrate::plan::read_zone(&o))).map_err(fail)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let p = crate::migrate::plan::build(&o, zone, now);
    if a.json {
        out(&format!("{}\n", serde_json::to_string(&p).unwrap_or_default()))?;
    } else {
        out(&crate::migrate::plan::render(&p))?;
    }
    exit_with(if p.failed() { exit::CHECK.into() } else { 0 }, "the plan has failed findings (see above)")
}

fn check(a: &Args) -> Result<(), CliError> {
    let o = crate::migrate::CheckOptions {
        plan: plan_options(a)?,
        smtp_port: a.cutover.smtp_port,
        ca_file: a.ca_file.clone(),
        migration: settings(a, false)?,
        sample: a.cutover.sample,
    };
    let r = crate::migrate::check(&o).map_err(fail)?;
    if a.json {
        out(&format!("{}\n", serde_json::to_string(&r).unwrap_or_default()))?;
    } else {
        out(&crate::migrate::check::render(&r))?;
    }
    exit_with(r.exit_code(), "a check failed or could not be decided (see above)")
}

pub(crate) fn run(a: Args) -> Result<(), CliError> {
    match a.action.as_deref() {
        Some("plan") => return plan(&a),
        Some("check") => return check(&a),
        _ => {}
    }
    let Some(settings) = settings(&a, true)? else { return Err(usage("--from, --to and --users are needed".into())) };
    let (opts, mailboxes) = settings.resolve().map_err(fail)?;
    if a.insecure {
        eprintln!("mailwright: warning: --insecure: the servers' certificates are NOT verified");
    }
    let verify_only = a.action.as_deref() == Some("verify");
    let bars = Bars::new(!a.json && !a.dry_run && !verify_only, mailboxes.len());
    let json = a.json;
    let dry_run = a.dry_run;
    let printed = Mutex::new(());
    let on_event = |e: &Event<'_>| match e {
        Event::Started { index, mailbox } => bars.start(*index, &mailbox.source.user),
        Event::Progress { index, messages, bytes } => bars.tick(*index, *messages, *bytes),
        Event::Retry { index, attempt, wait, error } => {
            let _g = printed.lock();
            if json {
                println!("{}", e.to_json());
            } else {
                let who = mailboxes.get(*index).map_or("", |m| m.source.user.as_str());
                bars.println(&format!("{who}: {error}; retry {attempt} in {:.0} s", wait.as_secs_f64()));
            }
        }
        Event::Finished { index, report } => {
            let _g = printed.lock();
            bars.finish(*index);
            if json {
                println!("{}", e.to_json());
            } else {
                bars.println(&line(report, dry_run));
            }
        }
    };
    let report = if verify_only {
        crate::migrate::verify_only(&opts, &mailboxes, &on_event)
    } else {
        crate::migrate::run(&opts, &mailboxes, &on_event)
    }
    .map_err(fail)?;
    bars.clear();
    summary(&report, json, dry_run)?;
    match report.exit_code() {
        0 => Ok(()),
        code => Err(CliError {
            code: u8::try_from(code).unwrap_or(exit::SOFTWARE),
            message: format!(
                "{} of {} mailboxes did not finish clean (see above)",
                report.mailboxes.iter().filter(|m| m.status != MailboxStatus::Ok || !m.refused.is_empty()).count(),
                report.mailboxes.len()
            ),
        }),
    }
}

fn summary(r: &Report, json: bool, dry_run: bool) -> Result<(), CliError> {
    let count = |s: MailboxStatus| r.mailboxes.iter().filter(|m| m.status == s).count();
    let messages: usize = r.mailboxes.iter().map(|m| m.messages).sum();
    let to_copy: usize = r.mailboxes.iter().map(|m| m.to_copy).sum();
    let to_copy_bytes: u64 = r.mailboxes.iter().map(|m| m.to_copy_bytes).sum();
    if json {
        let v = serde_json::json!({
            "event": "summary", "mailboxes": r.mailboxes.len(), "ok": count(MailboxStatus::Ok),
            "mismatch": count(MailboxStatus::Mismatch), "over_quota": count(MailboxStatus::OverQuota),
            "login_refused": count(MailboxStatus::LoginRefused), "failed": count(MailboxStatus::Failed),
            "messages": messages, "copied": r.copied, "bytes": r.bytes, "seconds": r.seconds,
            "to_copy": to_copy, "to_copy_bytes": to_copy_bytes, "estimate_seconds": r.estimate_seconds,
        });
        return out(&format!("{v}\n"));
    }
    let mut text = format!(
        "{} mailboxes: {} ok, {} mismatch, {} over quota, {} login refused, {} failed; {} messages, {} copied ({} bytes) in {:.1} s\n",
        r.mailboxes.len(),
        count(MailboxStatus::Ok),
        count(MailboxStatus::Mismatch),
        count(MailboxStatus::OverQuota),
        count(MailboxStatus::LoginRefused),
        count(MailboxStatus::Failed),
        messages,
        r.copied,
        r.bytes,
        r.seconds
    );
    if dry_run {
        text.push_str(&match r.estimate_seconds {
            Some(s) => format!("{to_copy} messages ({to_copy_bytes} bytes) to copy: about {:.0} s at the rate measured before\n", s),
            None => format!("{to_copy} messages ({to_copy_bytes} bytes) to copy; no rate measured yet with this --state: migrate a shard first (--shard 1/100)\n"),
        });
    }
    out(&text)
}

/// Progress on a terminal (standard error): the whole run (mailboxes done of all, with the ETA
/// their pace gives; messages, bytes and rate) and one line per job (its mailbox, messages and
/// bytes so far).
struct Bars {
    multi: Option<indicatif::MultiProgress>,
    total: Option<indicatif::ProgressBar>,
    jobs: Mutex<std::collections::HashMap<usize, (indicatif::ProgressBar, String, usize)>>,
    counts: Mutex<(u64, u64)>,
    started: std::time::Instant,
}

impl Bars {
    fn new(wanted: bool, mailboxes: usize) -> Self {
        use std::io::IsTerminal;
        let mut bars = Bars {
            multi: None,
            total: None,
            jobs: Mutex::default(),
            counts: Mutex::default(),
            started: std::time::Instant::now(),
        };
        if !(wanted && std::io::stderr().is_terminal()) {
            return bars;
        }
        let multi = indicatif::MultiProgress::new();
        let total = multi.add(indicatif::ProgressBar::new(mailboxes as u64));
        total.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:24} {pos}/{len} mailboxes, {msg} [{elapsed_precise}, ETA {eta}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        total.enable_steady_tick(Duration::from_millis(200));
        bars.multi = Some(multi);
        bars.total = Some(total);
        bars
    }

    fn start(&self, index: usize, who: &str) {
        if let Some(m) = &self.multi {
            let bar = m.add(indicatif::ProgressBar::new_spinner());
            bar.set_style(
                indicatif::ProgressStyle::with_template("  {spinner} {msg} {binary_bytes}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_message(format!("{who}: 0 messages,"));
            if let Ok(mut j) = self.jobs.lock() {
                j.insert(index, (bar, who.to_string(), 0));
            }
        }
    }

    fn tick(&self, index: usize, messages: usize, bytes: u64) {
        let Some(t) = &self.total else { return };
        if let Ok(mut j) = self.jobs.lock()
            && let Some((bar, who, n)) = j.get_mut(&index)
        {
            *n += messages;
            bar.inc(bytes);
            bar.set_message(format!("{who}: {n} messages,"));
        }
        if let Ok(mut c) = self.counts.lock() {
            c.0 += messages as u64;
            c.1 += bytes;
            let rate = c.0 as f64 / self.started.elapsed().as_secs_f64().max(0.001);
            t.set_message(format!("{} messages, {:.1} MB, {rate:.0} messages/s", c.0, c.1 as f64 / 1e6));
        }
    }

    fn finish(&self, index: usize) {
        if let Some(t) = &self.total {
            t.inc(1);
        }
        if let (Some(m), Ok(mut j)) = (&self.multi, self.jobs.lock())
            && let Some((bar, _, _)) = j.remove(&index)
        {
            bar.finish_and_clear();
            m.remove(&bar);
        }
    }

    /// A result line on standard output, the bars kept out of its way.
    fn println(&self, s: &str) {
        match &self.multi {
            Some(m) => m.suspend(|| println!("{s}")),
            None => println!("{s}"),
        }
    }

    fn clear(&self) {
        if let Some(t) = &self.total {
            t.finish_and_clear();
        }
    }
}
