//! `migrate`: mailboxes from one system to another (IMAP or Maildir), proven message by message.

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::prelude::*;

use crate::errors::Error;

/// Migrates the mailboxes of a users file (or, with `verify_only`, compares both sides); returns
/// the report dict (with `exit_code`: 0 all clean, 2 a difference, 73 over quota, 69 a login
/// refused, 75 a server failed). `progress`, if given, is called with one dict per event
/// (`started`, `progress`, `retry`, `mailbox`) from the worker threads.
#[pyfunction]
#[pyo3(signature = (source, destination, *, users, state=None, jobs=4, maps=Vec::new(), shard=None, verify=true,
                    dry_run=false, verify_only=false, max_messages_per_second=None, max_bytes_per_second=None,
                    retries=8, backoff=1.0, timeout=120.0, ca_file=None, insecure=false, allow_plaintext=false,
                    reverse=false, progress=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn migrate(
    py: Python<'_>,
    source: String,
    destination: String,
    users: PathBuf,
    state: Option<PathBuf>,
    jobs: usize,
    maps: Vec<String>,
    shard: Option<String>,
    verify: bool,
    dry_run: bool,
    verify_only: bool,
    max_messages_per_second: Option<f64>,
    max_bytes_per_second: Option<f64>,
    retries: u32,
    backoff: f64,
    timeout: f64,
    ca_file: Option<PathBuf>,
    insecure: bool,
    allow_plaintext: bool,
    reverse: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let settings = mailwright::migrate::Settings {
        from: source,
        to: destination,
        users,
        reverse,
        state,
        jobs: Some(jobs),
        maps,
        shard,
        no_verify: !verify,
        dry_run,
        max_messages_per_second,
        max_bytes_per_second,
        retries: Some(retries),
        backoff: Some(backoff),
        timeout: Some(timeout),
        ca_file,
        insecure,
        allow_plaintext,
    };
    let (opts, mailboxes) = settings.resolve().map_err(Error::from)?;
    let failed: Mutex<Option<PyErr>> = Mutex::new(None);
    let on_event = |e: &mailwright::migrate::Event<'_>| {
        let Some(cb) = &progress else { return };
        let text = e.to_json().to_string();
        Python::attach(|py| {
            let called =
                py.import("json").and_then(|j| j.getattr("loads")?.call1((text,))).and_then(|d| cb.call1(py, (d,)));
            if let Err(err) = called
                && let Ok(mut first) = failed.lock()
            {
                first.get_or_insert(err);
            }
        });
    };
    let report = py
        .detach(|| {
            if verify_only {
                mailwright::migrate::verify_only(&opts, &mailboxes, &on_event)
            } else {
                mailwright::migrate::run(&opts, &mailboxes, &on_event)
            }
        })
        .map_err(Error::from)?;
    if let Some(err) = failed.into_inner().ok().flatten() {
        return Err(err);
    }
    let mut json = serde_json::to_value(&report).map_err(|e| Error::Internal(e.to_string()))?;
    json["exit_code"] = report.exit_code().into();
    Ok(py.import("json")?.getattr("loads")?.call1((json.to_string(),))?.unbind())
}
