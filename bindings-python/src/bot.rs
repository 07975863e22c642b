//! The mailbot: rules as data (the JSON `mailwright.Mailbot` makes, after a rules file if it
//! names one), `call` actions dispatched to Python functions.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

use crate::errors::Error;

/// The native mailbot; see `mailwright.Mailbot`.
#[pyclass(module = "mailwright._mailwright")]
pub(crate) struct Bot {
    bot: Mutex<mailwright::bot::Bot>,
    log: Arc<Mutex<Vec<String>>>,
    warnings: Vec<String>,
}

#[pymethods]
impl Bot {
    /// A bot for the rules in `rules_json` (relative paths from `base`): the whole rules document,
    /// or with `rules_file` the rules (a JSON array) that follow the file's own.
    /// `dispatch(name, message, parts)` runs `call` actions.
    #[new]
    #[pyo3(signature = (rules_json, base, dispatch, dry_run = false, rules_file = None))]
    fn new(
        rules_json: String,
        base: PathBuf,
        dispatch: Py<PyAny>,
        dry_run: bool,
        rules_file: Option<PathBuf>,
    ) -> PyResult<Self> {
        use mailwright::bot::Rules;
        let rules = match rules_file {
            Some(file) => Rules::load(&file).and_then(|mut r| r.add_json_rules(&rules_json, &base).map(|()| r)),
            None => Rules::from_json(&rules_json, &base),
        }
        .map_err(Error::from)?;
        let warnings = rules.warnings();
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let bot = mailwright::bot::Bot::new(rules, dry_run)
            .map_err(Error::from)?
            .on_log(move |v| {
                if let Ok(mut l) = sink.lock() {
                    l.push(v.to_string());
                }
            })
            .on_call(move |c| {
                Python::attach(|py| {
                    // The bot's own parse, shared: no second parse, no copy of the bytes.
                    let message = crate::parse::Message::from_shared(c.message.clone());
                    dispatch
                        .call1(py, (c.handler, message, c.attachments.to_vec()))
                        .map(|_| ())
                        .map_err(|e| format!("raised {e}").into())
                })
            });
        Ok(Bot { bot: Mutex::new(bot), log, warnings })
    }

    /// Handles every message there is now; returns the counts (handled, unmatched, already,
    /// quarantined, retrying).
    fn run_once(&self, py: Python<'_>) -> PyResult<(usize, usize, usize, usize, usize)> {
        let r = py.detach(|| -> Result<_, Error> {
            let mut bot = self.bot.lock().map_err(|_| Error::Internal("bot lock poisoned".into()))?;
            Ok(bot.run_once()?)
        })?;
        Ok((r.handled, r.unmatched, r.already, r.quarantined, r.retrying))
    }

    /// Runs cycles until `stop()` returns true: new files in the Maildir are seen within
    /// `interval` seconds; with an IMAP source the wait is an IDLE. `on_log(lines)` gets the log
    /// lines after each cycle.
    fn watch(&self, py: Python<'_>, interval: f64, stop: Py<PyAny>) -> PyResult<()> {
        let interval = std::time::Duration::try_from_secs_f64(interval)
            .map_err(|_| Error::Value("interval must be a number of seconds".into()))?;
        let stop_now = || Python::attach(|py| stop.call0(py).and_then(|v| v.is_truthy(py)).unwrap_or(true));
        py.detach(|| -> Result<_, Error> {
            let mut bot = self.bot.lock().map_err(|_| Error::Internal("bot lock poisoned".into()))?;
            Ok(bot.watch(interval, stop_now)?)
        })?;
        Ok(())
    }

    /// What the rules do that is unwise (acting on a `from` anyone can forge).
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// The log lines (JSON) since the last call.
    fn take_log(&self) -> Vec<String> {
        self.log.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default()
    }
}
