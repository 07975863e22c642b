//! The mailbot: rules as TOML (written by `mailwright.Mailbot`), `call` actions dispatched to
//! Python functions.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;

use crate::errors::Error;

/// The native mailbot; see `mailwright.Mailbot`.
#[pyclass(module = "mailwright._mailwright")]
pub(crate) struct Bot {
    bot: Mutex<mailwright::bot::Bot>,
    log: Arc<Mutex<Vec<String>>>,
}

#[pymethods]
impl Bot {
    /// A bot for the rules in `toml` (relative paths from `base`); `dispatch(name, raw, parts)`
    /// runs `call` actions.
    #[new]
    #[pyo3(signature = (toml, base, dispatch, dry_run = false))]
    fn new(toml: String, base: PathBuf, dispatch: Py<PyAny>, dry_run: bool) -> PyResult<Self> {
        let rules = mailwright::bot::Rules::from_toml(&toml, &base).map_err(|e| Error::Value(e.to_string()))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let bot = mailwright::bot::Bot::new(rules, dry_run)
            .map_err(|e| Error::Outbox(e.to_string()))?
            .on_log(move |v| {
                if let Ok(mut l) = sink.lock() {
                    l.push(v.to_string());
                }
            })
            .on_call(move |name, raw, parts| {
                Python::attach(|py| {
                    dispatch
                        .call1(py, (name, pyo3::types::PyBytes::new(py, raw), parts.to_vec()))
                        .map(|_| ())
                        .map_err(|e| format!("handler {name} raised {e}"))
                })
            });
        Ok(Bot { bot: Mutex::new(bot), log })
    }

    /// Handles every message there is now; returns the counts.
    fn run_once(&self, py: Python<'_>) -> PyResult<(usize, usize, usize, usize)> {
        let r = py
            .detach(|| {
                self.bot.lock().map_err(|_| "bot lock poisoned".to_string())?.run_once().map_err(|e| e.to_string())
            })
            .map_err(Error::Outbox)?;
        Ok((r.handled, r.unmatched, r.already, r.quarantined))
    }

    /// Runs cycles until `stop()` returns true: new files in the Maildir are seen within
    /// `interval` seconds; with an IMAP source the wait is an IDLE. `on_log(lines)` gets the log
    /// lines after each cycle.
    fn watch(&self, py: Python<'_>, interval: f64, stop: Py<PyAny>) -> PyResult<()> {
        let interval = std::time::Duration::try_from_secs_f64(interval)
            .map_err(|_| Error::Value("interval must be a number of seconds".into()))?;
        let stop_now = || Python::attach(|py| stop.call0(py).and_then(|v| v.is_truthy(py)).unwrap_or(true));
        py.detach(|| {
            self.bot
                .lock()
                .map_err(|_| "bot lock poisoned".to_string())?
                .watch(interval, stop_now)
                .map_err(|e| e.to_string())
        })
        .map_err(Error::Outbox)?;
        Ok(())
    }

    /// The log lines (JSON) since the last call.
    fn take_log(&self) -> Vec<String> {
        self.log.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default()
    }
}
