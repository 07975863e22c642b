//! `mailwright bot`: run the rules of a rules file over a Maildir (optionally fed from IMAP).

use super::fail;
use std::path::PathBuf;
use std::time::Duration;

use super::{CliError, out};
use crate::bot::{Bot, Rules};

/// Arguments of `mailwright bot`. Logs one JSON line per message and per action on stdout
/// (commands of `print` actions are printed as lines a shell could run). Exit codes: 0, 75
/// when the source could not be reached for now, 1 for a bad rules file, 70 when the state or
/// source cannot be used.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("mode").args(["once", "watch"])))]
pub(crate) struct Args {
    /// The rules file (TOML; see the README).
    #[arg(long)]
    rules: PathBuf,
    /// Handle what is there now, then exit (the default).
    #[arg(long)]
    once: bool,
    /// Keep handling new messages as they arrive, until SIGTERM or SIGINT (the message in hand
    /// is finished and committed, then exit 0; a second signal exits at once). A local Maildir
    /// is watched with inotify where available.
    #[arg(long)]
    watch: bool,
    /// Change nothing: print what would be done.
    #[arg(long = "dry-run")]
    dry_run: bool,
    /// With --watch: seconds between looks at the Maildir when change notifications are not
    /// available (with them, a look at least every 30 s), or the longest IMAP IDLE.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    interval: f64,
}

pub(crate) fn run(a: Args) -> Result<(), CliError> {
    let rules = Rules::load(&a.rules).map_err(fail)?;
    for w in rules.warnings() {
        eprintln!("mailwright: warning: {w}");
    }
    let mut bot = Bot::new(rules, a.dry_run).map_err(fail)?;
    if a.watch {
        let interval = Duration::try_from_secs_f64(a.interval)
            .map_err(|_| CliError::usage("--interval must be a number of seconds"))?
            .max(Duration::from_millis(50));
        let stop = super::signals::Stop::on_signals()?;
        return bot.watch(interval, || stop.asked()).map_err(fail);
    }
    let report = bot.run_once().map_err(fail)?;
    out(&format!("{}\n", serde_json::json!({"event": "done", "report": report})))
}
