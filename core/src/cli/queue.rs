//! `mailwright queue add|flush|status|retry|drop`: the durable outbox from the shell.

use std::path::PathBuf;
use std::time::Duration;

use super::destination::Destination;
use super::fail;
use super::{CliError, compose::Compose, exit, input, out};
use crate::Limits;
use crate::inject::RecipientStatus;
use crate::inject::outbox::{Entry, EntryState, FlushReport, MessageState};
use crate::inject::{Outbox, RetryPolicy};

/// Arguments of `mailwright queue`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand, Debug)]
enum Action {
    /// Queue a message (a file, - for standard input, or composing flags); prints its id once it
    /// is safely on disk.
    Add(AddArgs),
    /// Send what is due; exit 0 when all of it went, 75 when some waits for a retry, 69 when
    /// some failed for good (its report is in the queue's failed/ folder).
    #[command(group(clap::ArgGroup::new("destination").required(true).args(["smtp", "mx", "maildir", "mbox", "sendmail"])))]
    Flush(FlushArgs),
    /// List every message with its state, attempts, next try and last error.
    Status(StatusArgs),
    /// Make a queued message (or all) due now; put a failed one back in the queue.
    Retry(IdArgs),
    /// Remove a message from the queue (or from failed/) for good.
    Drop(DropArgs),
}

#[derive(clap::Args, Debug)]
struct QueueDir {
    /// The outbox folder (created when missing).
    #[arg(long, value_name = "DIR")]
    queue: PathBuf,
}

#[derive(clap::Args, Debug)]
struct AddArgs {
    #[command(flatten)]
    dir: QueueDir,
    /// A ready message (a file, or - for standard input) instead of composing one.
    message: Option<PathBuf>,
    #[command(flatten)]
    compose: Compose,
}

#[derive(clap::Args, Debug)]
struct FlushArgs {
    #[command(flatten)]
    dir: QueueDir,
    #[command(flatten)]
    dest: Destination,
    /// Keep running: flush again as messages become due or are added, until SIGTERM or SIGINT
    /// (the message in hand is finished, then exit 0; a second signal exits at once). Nothing
    /// is lost however it stops.
    #[arg(long)]
    watch: bool,
    /// With --watch: look for new messages at least this often (seconds).
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    poll: f64,
    /// First retry delay in seconds (doubles after each failure).
    #[arg(long = "retry-first", value_name = "SECS", default_value_t = 300.0)]
    retry_first: f64,
    /// Longest retry delay in seconds.
    #[arg(long = "retry-max", value_name = "SECS", default_value_t = 14400.0)]
    retry_max: f64,
    /// Give up on a recipient still failing temporarily after this many seconds in the queue.
    #[arg(long = "max-age", value_name = "SECS", default_value_t = 432000.0)]
    max_age: f64,
    /// One JSON object per message attempted.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct StatusArgs {
    #[command(flatten)]
    dir: QueueDir,
    /// JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
struct IdArgs {
    #[command(flatten)]
    dir: QueueDir,
    /// The message id (see status); all messages when left out.
    id: Option<String>,
}

#[derive(clap::Args, Debug)]
struct DropArgs {
    #[command(flatten)]
    dir: QueueDir,
    /// The message id (see status).
    id: String,
}

pub(crate) fn run(a: Args) -> Result<(), CliError> {
    match a.action {
        Action::Add(a) => add(a),
        Action::Flush(a) => flush(a),
        Action::Status(a) => status(a),
        Action::Retry(a) => {
            let n = open(&a.dir)?.retry(a.id.as_deref()).map_err(fail)?;
            out(&format!("{n} message(s) due now\n"))
        }
        Action::Drop(a) => {
            open(&a.dir)?.remove(&a.id).map_err(fail)?;
            out(&format!("dropped {}\n", a.id))
        }
    }
}

fn open(d: &QueueDir) -> Result<Outbox, CliError> {
    Outbox::open(&d.queue).map_err(fail)
}

fn add(a: AddArgs) -> Result<(), CliError> {
    let outbox = open(&a.dir)?;
    let id = match &a.message {
        Some(path) => {
            if a.compose.any() {
                return Err(CliError::usage("give either a message file or composing flags, not both"));
            }
            let bytes = input::read(path, &Limits::default())?;
            if !a.compose.dkim.wanted() {
                outbox.add_message(&bytes).map_err(fail)?
            } else {
                let from =
                    crate::Message::parse(&bytes).ok().and_then(|m| m.from().first().and_then(|f| f.address.clone()));
                outbox.add_message(&a.compose.dkim.sign(bytes.to_vec(), from.as_deref())?).map_err(fail)?
            }
        }
        None => {
            let b = a.compose.builder()?;
            let env = b.envelope().map_err(fail)?;
            let raw = b.build().map_err(|e| CliError::usage(e.to_string()))?;
            outbox.add(&env, &raw).map_err(fail)?
        }
    };
    out(&format!("{id}\n"))
}

fn secs(name: &str, v: f64) -> Result<Duration, CliError> {
    Duration::try_from_secs_f64(v).map_err(|_| CliError::usage(format!("--{name} must be a number of seconds")))
}

fn flush(a: FlushArgs) -> Result<(), CliError> {
    let policy = RetryPolicy {
        first_delay: secs("retry-first", a.retry_first)?,
        max_delay: secs("retry-max", a.retry_max)?,
        max_age: secs("max-age", a.max_age)?,
        ..RetryPolicy::default()
    };
    let outbox = open(&a.dir)?.with_policy(policy);
    let mut transport = a.dest.transport()?;
    let json = a.json;
    let print = |r: &FlushReport| {
        let mut s = String::new();
        for m in &r.attempted {
            s.push_str(&line(m, json));
        }
        out(&s)
    };
    if a.watch {
        let poll = secs("poll", a.poll)?.max(Duration::from_millis(50));
        let stop = super::signals::Stop::on_signals()?;
        let mut failed_out = Ok(());
        outbox
            .watch(
                transport.as_mut(),
                poll,
                |r| {
                    if let Err(e) = print(r) {
                        failed_out = Err(e);
                    }
                },
                || stop.asked(),
            )
            .map_err(fail)?;
        return failed_out;
    }
    let report = outbox.flush(transport.as_mut()).map_err(fail)?;
    print(&report)?;
    if report.failed > 0 {
        return Err(CliError {
            code: exit::UNAVAILABLE,
            message: format!(
                "{} message(s) failed for good; reports in {}",
                report.failed,
                a.dir.queue.join("failed").display()
            ),
        });
    }
    if report.deferred > 0 {
        return Err(CliError {
            code: exit::TEMPFAIL,
            message: format!("{} message(s) wait for a retry", report.deferred),
        });
    }
    Ok(())
}

fn outcome(m: &MessageState) -> &'static str {
    if m.recipients.iter().any(|r| r.status == RecipientStatus::Transient) {
        "deferred"
    } else if m.recipients.iter().any(|r| r.status == RecipientStatus::Permanent) {
        "failed"
    } else {
        "delivered"
    }
}

fn line(m: &MessageState, json: bool) -> String {
    if json {
        let mut v = serde_json::to_value(m).unwrap_or_default();
        v["outcome"] = outcome(m).into();
        return format!("{v}\n");
    }
    let mut s = format!("{} {}", m.id, outcome(m));
    for r in &m.recipients {
        s.push_str(&format!(" {}={}", r.address, r.status.queue_state()));
        if r.status != RecipientStatus::Accepted && !r.text.is_empty() {
            s.push_str(&format!(" ({})", one_line(&r.text)));
        }
    }
    s.push('\n');
    s
}

fn one_line(t: &str) -> String {
    t.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn status(a: StatusArgs) -> Result<(), CliError> {
    let entries = open(&a.dir)?.status().map_err(fail)?;
    if a.json {
        let v = serde_json::to_value(&entries).unwrap_or_default();
        return out(&format!("{v:#}\n"));
    }
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    let mut s = String::new();
    for e in &entries {
        s.push_str(&row(e, now));
    }
    if entries.is_empty() {
        s.push_str("the outbox is empty\n");
    }
    out(&s)
}

fn row(e: &Entry, now: f64) -> String {
    let m = &e.message;
    let state = match e.state {
        EntryState::Queued => "queued",
        EntryState::Sending => "sending",
        EntryState::Failed => "failed",
        EntryState::Corrupt => "corrupt",
    };
    let next = if matches!(e.state, EntryState::Failed | EntryState::Corrupt) {
        "-".to_string()
    } else if m.next_try <= now {
        "now".to_string()
    } else {
        format!("in {:.0}s", m.next_try - now)
    };
    let pending = m.recipients.iter().filter(|r| r.status != RecipientStatus::Accepted).count();
    let mut s = format!(
        "{}  {state:<7}  attempts {}  next {next}  {} bytes  {}/{} recipients left",
        m.id,
        m.attempts,
        m.size,
        pending,
        m.recipients.len()
    );
    if let Some(err) = &m.last_error {
        s.push_str(&format!("  last error: {}", one_line(err)));
    }
    s.push('\n');
    s
}
