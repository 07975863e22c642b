//! `MessageBuilder`: composing a message.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use mailwright::build::MessageBuilder as CoreBuilder;

use crate::errors::Error;

/// Composes a message; every setter returns the builder, `build()` gives the bytes.
#[pyclass(module = "mailwright._mailwright")]
pub(crate) struct MessageBuilder {
    b: Option<CoreBuilder>,
}

impl MessageBuilder {
    fn with(slf: PyRefMut<'_, Self>, f: impl FnOnce(CoreBuilder) -> CoreBuilder) -> PyRefMut<'_, Self> {
        let mut slf = slf;
        let b = slf.b.take().unwrap_or_default();
        slf.b = Some(f(b));
        slf
    }
}

#[pymethods]
impl MessageBuilder {
    #[new]
    fn new() -> Self {
        MessageBuilder { b: Some(CoreBuilder::new()) }
    }

    /// Sets the sender (`"Name <address>"` or an address).
    fn from_(slf: PyRefMut<'_, Self>, mailbox: String) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.from(mailbox.as_str()))
    }

    /// Adds a To recipient.
    fn to(slf: PyRefMut<'_, Self>, mailbox: String) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.to(mailbox.as_str()))
    }

    /// Adds a Cc recipient.
    fn cc(slf: PyRefMut<'_, Self>, mailbox: String) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.cc(mailbox.as_str()))
    }

    /// Adds a Bcc recipient (envelope only).
    fn bcc(slf: PyRefMut<'_, Self>, mailbox: String) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.bcc(mailbox.as_str()))
    }

    /// Adds a Reply-To mailbox.
    fn reply_to(slf: PyRefMut<'_, Self>, mailbox: String) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.reply_to(mailbox.as_str()))
    }

    /// Sets the Subject.
    fn subject(slf: PyRefMut<'_, Self>, subject: String) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.subject(subject))
    }

    /// Sets the plain-text body.
    fn text(slf: PyRefMut<'_, Self>, text: String) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.text(text))
    }

    /// Sets the HTML body.
    fn html(slf: PyRefMut<'_, Self>, html: String) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.html(html))
    }

    /// Adds a header field (checked when building).
    fn header(slf: PyRefMut<'_, Self>, name: String, value: String) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.header(name, value))
    }

    /// Attaches a file from disk (its type from its magic bytes, then its extension).
    fn attach_path(slf: PyRefMut<'_, Self>, path: PathBuf) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.attach_path(path))
    }

    /// Attaches bytes under a file name.
    fn attach_bytes(slf: PyRefMut<'_, Self>, filename: String, data: Vec<u8>) -> PyRefMut<'_, Self> {
        Self::with(slf, |b| b.attach_bytes(filename, data))
    }

    /// The message as bytes (CRLF line ends).
    fn build<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let b = self.b.clone().unwrap_or_default();
        let raw = py.detach(move || b.build()).map_err(Error::from)?;
        Ok(PyBytes::new(py, &raw))
    }

    /// The envelope: `(sender, [recipients])` from From, To, Cc and Bcc.
    fn envelope(&self) -> (String, Vec<String>) {
        let b = self.b.clone().unwrap_or_default();
        (b.sender(), b.recipients())
    }
}
