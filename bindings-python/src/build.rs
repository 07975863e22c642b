//! `MessageBuilder`: composing a message.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use mailwright::auth::{DkimKey, DkimSigner};
use mailwright::build::MessageBuilder as CoreBuilder;

use crate::errors::Error;

/// Composes a message; every setter returns the builder, `build()` gives the bytes.
#[pyclass(module = "mailwright._mailwright")]
pub(crate) struct MessageBuilder {
    b: Option<CoreBuilder>,
    /// DKIM signing asked for: the key (PEM), selector and domain; the signer is made at
    /// `build()`, when the From domain is known.
    dkim: Option<(Vec<u8>, String, Option<String>)>,
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
        MessageBuilder { b: Some(CoreBuilder::new()), dkim: None }
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

    /// Signs the finished message with DKIM: `key` is the private key (PEM `bytes`, or the path
    /// of a PEM file), `domain` the `d=` (the From domain when not given).
    #[pyo3(signature = (key, selector, domain = None))]
    fn dkim<'py>(
        mut slf: PyRefMut<'py, Self>,
        key: &Bound<'py, PyAny>,
        selector: String,
        domain: Option<String>,
    ) -> PyResult<PyRefMut<'py, Self>> {
        let pem: Vec<u8> = match key.cast::<PyBytes>() {
            Ok(b) => b.as_bytes().to_vec(),
            Err(_) => {
                let path: PathBuf = key.extract()?;
                std::fs::read(&path).map_err(|e| Error::Io(e, path.display().to_string()))?
            }
        };
        // A bad key is an error here, not at build().
        DkimKey::from_pem(&pem).map_err(Error::from)?;
        slf.dkim = Some((pem, selector, domain));
        Ok(slf)
    }

    /// The message as bytes (CRLF line ends), signed when `dkim()` asked for it.
    fn build<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let mut b = self.b.clone().unwrap_or_default();
        if let Some((pem, selector, domain)) = &self.dkim {
            let key = DkimKey::from_pem(pem).map_err(Error::from)?;
            let signer = DkimSigner::for_sender(key, selector, domain.as_deref(), &b.sender()).map_err(Error::from)?;
            b = b.dkim(std::sync::Arc::new(signer));
        }
        let raw = py.detach(move || b.build()).map_err(Error::from)?;
        Ok(PyBytes::new(py, &raw))
    }

    /// The envelope: `(sender, [recipients])` from From, To, Cc and Bcc.
    fn envelope(&self) -> (String, Vec<String>) {
        let b = self.b.clone().unwrap_or_default();
        (b.sender(), b.recipients())
    }
}

/// A new Ed25519 DKIM key for `selector._domainkey.domain`: `(pem, txt_record)`, the private key
/// to keep (0600) and the TXT record to publish.
#[pyfunction]
pub(crate) fn dkim_keygen(selector: String, domain: String) -> PyResult<(String, String)> {
    let pem = mailwright::auth::generate_ed25519().map_err(Error::from)?;
    let key = DkimKey::from_pem(pem.as_bytes()).map_err(Error::from)?;
    let record = key.dns_record();
    // Checks selector and domain the way signing will.
    DkimSigner::new(key, selector, domain).map_err(Error::from)?;
    Ok((pem, record))
}
