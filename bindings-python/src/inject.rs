//! Sending: `send` to one destination, and the durable `Outbox`; receipts as `dict`s.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use mailwright::inject::{Receipt, RecipientResult, Transport};

use crate::errors::Error;

pub(crate) fn recipient_dict(py: Python<'_>, r: &RecipientResult) -> Py<PyAny> {
    let d = PyDict::new(py);
    let _ = d.set_item("address", &r.address);
    let _ = d.set_item("status", r.status.as_str());
    let _ = d.set_item("code", r.code);
    let _ = d.set_item("enhanced_code", &r.enhanced_code);
    let _ = d.set_item("text", &r.text);
    let _ = d.set_item("host", &r.host);
    d.into_any().unbind()
}

fn receipt_dict(py: Python<'_>, r: &Receipt) -> PyResult<Py<PyDict>> {
    let d = PyDict::new(py);
    d.set_item("transport", r.transport)?;
    d.set_item("destination", &r.destination)?;
    d.set_item("queue_id", &r.queue_id)?;
    d.set_item("peer", &r.peer)?;
    d.set_item("tls", r.tls.as_ref().map(|t| (t.version.clone(), t.verified)))?;
    let rs: Vec<Py<PyAny>> = r.recipients.iter().map(|x| recipient_dict(py, x)).collect();
    d.set_item("recipients", rs)?;
    Ok(d.unbind())
}

/// The keywords of `send` and `Outbox.flush` (typed in `_mailwright.pyi`).
const DESTINATION_KEYWORDS: [&str; 13] = [
    "smtp",
    "mx",
    "maildir",
    "mbox",
    "sendmail",
    "user",
    "password",
    "ca_file",
    "insecure",
    "allow_plaintext",
    "resolvers",
    "smtp_port",
    "timeout",
];

/// Where `send` and `Outbox.flush` deliver, from their keyword arguments (checked in core): an
/// unknown keyword is a `TypeError`, as Python makes it; a missing one takes its default.
fn transport(options: Option<&Bound<'_, PyDict>>) -> PyResult<Box<dyn Transport + Send>> {
    let given = |key: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        Ok(options.map(|o| o.get_item(key)).transpose()?.flatten().filter(|v| !v.is_none()))
    };
    if let Some(o) = options {
        for key in o.keys() {
            let key: String = key.extract()?;
            if !DESTINATION_KEYWORDS.contains(&key.as_str()) {
                let msg = format!("unexpected keyword argument {key:?}");
                return Err(pyo3::exceptions::PyTypeError::new_err(msg));
            }
        }
    }
    fn get<'py, T: for<'a> pyo3::FromPyObject<'a, 'py>>(v: Option<Bound<'py, PyAny>>) -> PyResult<Option<T>> {
        v.map(|v| v.extract::<T>().map_err(Into::into)).transpose()
    }
    let timeout: f64 = get(given("timeout")?)?.unwrap_or(60.0);
    let timeout = Duration::try_from_secs_f64(timeout).map_err(|_| Error::Value("timeout must be seconds".into()))?;
    let user: Option<String> = get(given("user")?)?;
    let password: Option<String> = get(given("password")?)?;
    let d = mailwright::inject::Destination {
        smtp: get(given("smtp")?)?,
        mx: get(given("mx")?)?.unwrap_or(false),
        maildir: get(given("maildir")?)?,
        mbox: get(given("mbox")?)?,
        sendmail: get(given("sendmail")?)?,
        credentials: user.map(|u| (u, password.unwrap_or_default())),
        oauth2: None,
        ca_file: get(given("ca_file")?)?,
        insecure: get(given("insecure")?)?.unwrap_or(false),
        allow_plaintext: get(given("allow_plaintext")?)?.unwrap_or(false),
        resolvers: get(given("resolvers")?)?.unwrap_or_default(),
        smtp_port: get(given("smtp_port")?)?.unwrap_or(25),
        require_tls: false,
        connect_timeout: timeout,
        reply_timeout: timeout,
    };
    Ok(d.transport().map_err(Error::from)?)
}

/// Sends a ready message (envelope from its headers, Bcc taken out) to exactly one destination:
/// `smtp="smtp://host"` (with `user`, `password`), `mx=True` (with `resolvers`, `smtp_port`),
/// `maildir=`, `mbox=` or `sendmail="/usr/sbin/sendmail"`. Returns the receipt as a `dict`.
#[pyfunction]
#[pyo3(signature = (raw, **options))]
pub(crate) fn send(py: Python<'_>, raw: Vec<u8>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Py<PyDict>> {
    let mut t = transport(options)?;
    let receipt = py.detach(move || t.send(&raw)).map_err(Error::from)?;
    receipt_dict(py, &receipt)
}

/// A durable outbox folder (see the Rust docs of `mailwright::inject::Outbox`).
#[pyclass(module = "mailwright._mailwright")]
pub(crate) struct Outbox {
    outbox: Mutex<mailwright::inject::Outbox>,
}

fn outbox_err(e: mailwright::inject::OutboxError) -> Error {
    Error::from(e)
}

#[pymethods]
impl Outbox {
    /// Opens (creating when missing) the outbox at `path`.
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        let o = mailwright::inject::Outbox::open(&path).map_err(outbox_err)?;
        Ok(Outbox { outbox: Mutex::new(o) })
    }
    /// Queues a ready message (envelope from its headers); returns its id once it is on disk.
    fn add(&self, py: Python<'_>, raw: Vec<u8>) -> PyResult<String> {
        let o = self.outbox.lock().map_err(|_| Error::Internal("outbox lock poisoned".into()))?.clone();
        Ok(py.detach(move || o.add_message(&raw)).map_err(outbox_err)?)
    }
    /// Every message with its state, as dicts.
    fn status(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let o = self.outbox.lock().map_err(|_| Error::Internal("outbox lock poisoned".into()))?.clone();
        let entries = py.detach(move || o.status()).map_err(outbox_err)?;
        let json = serde_json::to_string(&entries).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(py.import("json")?.getattr("loads")?.call1((json,))?.unbind())
    }
    /// Sends what is due through one destination (same keywords as `send`); returns counts.
    #[pyo3(signature = (**options))]
    fn flush(&self, py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Py<PyAny>> {
        let mut t = transport(options)?;
        let o = self.outbox.lock().map_err(|_| Error::Internal("outbox lock poisoned".into()))?.clone();
        let report = py.detach(move || o.flush(t.as_mut())).map_err(outbox_err)?;
        let json = serde_json::to_string(&report).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(py.import("json")?.getattr("loads")?.call1((json,))?.unbind())
    }
}
