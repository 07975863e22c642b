//! Every core error becomes one exception of the tree in `mailwright/errors.py`, here and only
//! here: [`Error`] holds the typed core error, and one conversion picks the class and the
//! attributes from it. (The tree is written in Python because its classes have two bases —
//! `ParseError` is a `ValueError`, `MailboxError` an `OSError` with `errno` — which
//! `create_exception!` cannot express.)

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyModule};

use mailwright::bot::BotError;
use mailwright::fetch::FetchError;
use mailwright::inject::{InjectError, OutboxError, RecipientResult};
use mailwright::mailbox::MailboxError;

/// A failure of a binding call.
pub(crate) enum Error {
    /// What the core said.
    Core(mailwright::Error),
    /// A file the binding itself read (`parse_file`).
    Io(std::io::Error, String),
    /// An argument from Python that is not usable (`ValueError`).
    Value(String),
    /// The binding's own state (a poisoned lock, a report that would not convert).
    Internal(String),
}

impl<E: Into<mailwright::Error>> From<E> for Error {
    fn from(e: E) -> Self {
        Error::Core(e.into())
    }
}

/// `mailwright.errors`, imported once.
fn module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    ERRORS.get_or_try_init(py, || py.import("mailwright.errors").map(Bound::unbind)).map(|m| m.bind(py))
}

/// `mailwright.errors.<class>(*args)` with extra attributes.
fn raise<'py>(
    py: Python<'py>,
    class: &str,
    args: impl pyo3::call::PyCallArgs<'py>,
    attrs: &[(&str, Py<PyAny>)],
) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let exc = module(py)?.getattr(class)?.call1(args)?;
        for (k, v) in attrs {
            exc.setattr(*k, v.bind(py))?;
        }
        Ok(PyErr::from_value(exc))
    })();
    made.unwrap_or_else(|e| e)
}

fn flag(py: Python<'_>, b: bool) -> Py<PyAny> {
    pyo3::types::PyBool::new(py, b).to_owned().into_any().unbind()
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        Python::attach(|py| match e {
            Error::Core(e) => core(py, e),
            Error::Io(io, context) => {
                raise(py, "MailboxError", (io.raw_os_error().unwrap_or(0), format!("{context}: {io}")), &[])
            }
            Error::Value(m) => pyo3::exceptions::PyValueError::new_err(m),
            Error::Internal(m) => raise(py, "MailwrightError", (m,), &[]),
        })
    }
}

fn core(py: Python<'_>, e: mailwright::Error) -> PyErr {
    use mailwright::Error as E;
    let text = e.to_string();
    match e {
        E::Parse(_) => raise(py, "ParseError", (text,), &[]),
        E::Build(_) => raise(py, "BuildError", (text,), &[]),
        E::Dissect(_) => raise(py, "DissectError", (text,), &[]),
        E::Destination(_) => pyo3::exceptions::PyValueError::new_err(text),
        E::Inject(e) => delivery(py, e),
        E::Outbox(e) => outbox(py, e),
        E::Mailbox(e) => mailbox(py, &e),
        E::Fetch(e) => fetch(py, &e),
        E::Migrate(mailwright::migrate::MigrateError::Imap(e)) => fetch(py, &e),
        E::Migrate(
            e @ (mailwright::migrate::MigrateError::Users { .. } | mailwright::migrate::MigrateError::Config(_)),
        ) => pyo3::exceptions::PyValueError::new_err(e.to_string()),
        E::Migrate(e) => raise(py, "MigrateError", (e.to_string(),), &[("is_transient", flag(py, e.is_transient()))]),
        E::Audit(mailwright::audit::AuditError::Config(m)) => pyo3::exceptions::PyValueError::new_err(m),
        E::Bot(e) => bot(py, e),
        E::Auth(_) => raise(py, "AuthError", (text,), &[]),
        _ => raise(py, "MailwrightError", (text,), &[]),
    }
}

fn mailbox(py: Python<'_>, e: &MailboxError) -> PyErr {
    raise(py, "MailboxError", (e.raw_os_error().unwrap_or(0), e.to_string()), &[])
}

fn fetch(py: Python<'_>, e: &FetchError) -> PyErr {
    raise(py, "FetchError", (e.to_string(),), &[("is_transient", flag(py, e.is_transient()))])
}

fn outbox(py: Python<'_>, e: OutboxError) -> PyErr {
    match e {
        OutboxError::Inject(e) => delivery(py, e),
        e => raise(py, "OutboxError", (e.to_string(),), &[]),
    }
}

fn bot(py: Python<'_>, e: BotError) -> PyErr {
    match e {
        BotError::Rules(e) => pyo3::exceptions::PyValueError::new_err(e.to_string()),
        BotError::Fetch(e) => fetch(py, &e),
        BotError::Mailbox(e) => mailbox(py, &e),
        e => raise(py, "BotError", (e.to_string(),), &[("is_transient", flag(py, e.is_transient()))]),
    }
}

fn recipients_list(py: Python<'_>, rs: &[RecipientResult]) -> Py<PyAny> {
    let items: Vec<Py<PyAny>> = rs.iter().map(|r| crate::inject::recipient_dict(py, r)).collect();
    PyList::new(py, items).map(|l| l.into_any().unbind()).unwrap_or_else(|_| py.None())
}

fn delivery(py: Python<'_>, e: InjectError) -> PyErr {
    let transient = e.is_transient();
    let class = match &e {
        InjectError::Smtp(_) => "SmtpError",
        InjectError::Mx(_) => "MxError",
        InjectError::NoRecipients | InjectError::BadAddress(_) | InjectError::Parse(_) => {
            return raise(py, "BuildError", (e.to_string(),), &[]);
        }
        _ => "DeliveryError",
    };
    let (code, enhanced, recipients) = (e.smtp_code(), e.enhanced_code().map(str::to_string), e.recipients());
    let attrs = (|| -> PyResult<Vec<(&str, Py<PyAny>)>> {
        Ok(vec![
            ("code", code.into_pyobject(py)?.into_any().unbind()),
            ("enhanced_code", enhanced.into_pyobject(py)?.into_any().unbind()),
            ("is_transient", flag(py, transient)),
            ("recipients", recipients_list(py, recipients)),
        ])
    })();
    match attrs {
        Ok(a) => raise(py, class, (e.to_string(),), &a),
        Err(err) => err,
    }
}
