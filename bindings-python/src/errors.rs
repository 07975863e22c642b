//! Every core error becomes one exception of the tree in `mailwright/errors.py`, here and only
//! here.

use pyo3::prelude::*;
use pyo3::types::PyList;

use mailwright::inject::{InjectError, RecipientResult};

/// Raises `mailwright.errors.<class>(message)` with extra attributes.
fn raise(py: Python<'_>, class: &str, message: String, attrs: &[(&str, Py<PyAny>)]) -> PyErr {
    let made = (|| -> PyResult<PyErr> {
        let module = py.import("mailwright.errors")?;
        let exc = module.getattr(class)?.call1((message.clone(),))?;
        for (k, v) in attrs {
            exc.setattr(*k, v.bind(py))?;
        }
        Ok(PyErr::from_value(exc))
    })();
    made.unwrap_or_else(|e| e)
}

/// An error kind of the core, with what Python needs to raise it.
pub(crate) enum Error {
    Parse(String),
    Build(String),
    Dissect(String),
    Io(std::io::Error, String),
    Inject(InjectError),
    Outbox(String),
    Fetch(String, bool),
    Value(String),
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        Python::attach(|py| match e {
            Error::Parse(m) => raise(py, "ParseError", m, &[]),
            Error::Build(m) => raise(py, "BuildError", m, &[]),
            Error::Dissect(m) => raise(py, "DissectError", m, &[]),
            Error::Outbox(m) => raise(py, "OutboxError", m, &[]),
            Error::Value(m) => pyo3::exceptions::PyValueError::new_err(m),
            Error::Fetch(m, transient) => {
                let t = pyo3::types::PyBool::new(py, transient).to_owned().into_any().unbind();
                raise(py, "FetchError", m, &[("is_transient", t)])
            }
            Error::Io(io, context) => {
                let errno = io.raw_os_error().unwrap_or(0);
                let made = (|| -> PyResult<PyErr> {
                    let module = py.import("mailwright.errors")?;
                    let exc = module.getattr("MailboxError")?.call1((errno, format!("{context}: {io}")))?;
                    Ok(PyErr::from_value(exc))
                })();
                made.unwrap_or_else(|e| e)
            }
            Error::Inject(e) => delivery(py, e),
        })
    }
}

fn recipients_list(py: Python<'_>, rs: &[RecipientResult]) -> Py<PyAny> {
    let items: Vec<Py<PyAny>> = rs.iter().map(|r| crate::transport::recipient_dict(py, r)).collect();
    PyList::new(py, items).map(|l| l.into_any().unbind()).unwrap_or_else(|_| py.None())
}

fn delivery(py: Python<'_>, e: InjectError) -> PyErr {
    let transient = e.is_transient();
    let class = match &e {
        InjectError::Smtp(_) => "SmtpError",
        InjectError::Mx(_) => "MxError",
        InjectError::NoRecipients | InjectError::BadAddress(_) | InjectError::Parse(_) => {
            return raise(py, "BuildError", e.to_string(), &[]);
        }
        _ => "DeliveryError",
    };
    let (code, enhanced, recipients) = (e.smtp_code(), e.enhanced_code().map(str::to_string), e.recipients());
    let attrs = (|| -> PyResult<Vec<(&str, Py<PyAny>)>> {
        Ok(vec![
            ("code", code.into_pyobject(py)?.into_any().unbind()),
            ("enhanced_code", enhanced.into_pyobject(py)?.into_any().unbind()),
            ("is_transient", pyo3::types::PyBool::new(py, transient).to_owned().into_any().unbind()),
            ("recipients", recipients_list(py, recipients)),
        ])
    })();
    match attrs {
        Ok(a) => raise(py, class, e.to_string(), &a),
        Err(err) => err,
    }
}
