//! `parse`, `parse_file`, `Message` and `Part`.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList, PyMemoryView, PyString};

use mailwright::parse::{Data, PartKind, SharedMessage};
use mailwright::{DissectOptions, Limits};

use crate::dissect::Dissection;
use crate::errors::Error;

/// The parsed message and the Python `bytes` object it was parsed from (views slice it).
struct Inner {
    msg: Arc<SharedMessage>,
    /// The Python `bytes` the message was parsed from. For a message the bot handed over, made
    /// (one copy) only when `raw` is asked for.
    input: PyOnceLock<Py<PyBytes>>,
    /// A memoryview of `input`, made once; part views are slices of it.
    view: PyOnceLock<Py<PyMemoryView>>,
}

/// A parsed message. Immutable and safe to share between threads.
#[pyclass(frozen, module = "mailwright._mailwright")]
pub(crate) struct Message {
    inner: Arc<Inner>,
}

impl Message {
    /// A message parsed already (by the bot): no parse and no copy of its bytes.
    pub(crate) fn from_shared(msg: Arc<SharedMessage>) -> Self {
        Message { inner: Arc::new(Inner { msg, input: PyOnceLock::new(), view: PyOnceLock::new() }) }
    }
}

fn parse_bytes(py: Python<'_>, input: Bound<'_, PyBytes>) -> PyResult<Message> {
    let backed = PyBackedBytes::from(input.clone());
    let owned: Bytes = Bytes::from_owner(backed);
    let msg = py.detach(|| SharedMessage::new(owned, &Limits::default())).map_err(Error::from)?;
    let message = Message::from_shared(Arc::new(msg));
    let _ = message.inner.input.set(py, input.unbind());
    Ok(message)
}

/// Parses a message from `bytes`, `bytearray` or any buffer (`memoryview`…). `bytes` is used in
/// place; other buffers are copied once.
#[pyfunction]
pub(crate) fn parse(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Message> {
    let input: Bound<'_, PyBytes> = match data.cast::<PyBytes>() {
        Ok(b) => b.clone(),
        Err(_) => {
            let builtins = py.import("builtins")?;
            builtins.getattr("bytes")?.call1((data,))?.cast_into::<PyBytes>()?
        }
    };
    parse_bytes(py, input)
}

/// Reads and parses the message in a file (`str` or `os.PathLike`).
#[pyfunction]
pub(crate) fn parse_file(py: Python<'_>, path: PathBuf) -> PyResult<Message> {
    let input = read_into_bytes(py, &path).map_err(|e| Error::Io(e, format!("cannot read {}", path.display())))?;
    parse_bytes(py, input)
}

/// Reads a file straight into a Python `bytes` (one copy of the message in memory, not two), with
/// the interpreter released while reading. Falls back to a plain read if the file changes size.
fn read_into_bytes<'py>(py: Python<'py>, path: &std::path::Path) -> std::io::Result<Bound<'py, PyBytes>> {
    use std::io::Read;
    let mut file = py.detach(|| std::fs::File::open(path))?;
    let len = py.detach(|| file.metadata())?.len();
    let len = usize::try_from(len).map_err(|_| std::io::Error::other("file too large"))?;
    let mut failure = None;
    let mut changed = false;
    let made = PyBytes::new_with(py, len, |buf| {
        let res = py.detach(|| {
            file.read_exact(buf)?;
            let mut probe = [0u8; 1];
            Ok::<_, std::io::Error>(file.read(&mut probe)? != 0)
        });
        match res {
            Ok(grew) => changed = grew,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => changed = true,
            Err(e) => failure = Some(e),
        }
        Ok(())
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    if changed {
        let data = py.detach(|| std::fs::read(path))?;
        return Ok(PyBytes::new(py, &data));
    }
    Ok(made)
}

fn addresses(py: Python<'_>, list: &[mailwright::parse::Address]) -> PyResult<Py<PyList>> {
    let items: Vec<(Option<String>, Option<String>)> =
        list.iter().map(|a| (a.name.clone(), a.address.clone())).collect();
    Ok(PyList::new(py, items)?.unbind())
}

/// A zero-copy, read-only `memoryview` of `data`: a slice of the input's view when `data` lies
/// in a Python input, else a view of the message's own buffer (or of the bytes it decoded).
fn view(py: Python<'_>, inner: &Inner, data: Data<'_>) -> PyResult<Py<PyAny>> {
    // A message parsed in place from `input`: an offset in the message is one in `input`.
    if let Some(input) = inner.input.get(py)
        && let Some(start) = inner.msg.message().input_offset(&data).filter(|_| !data.is_empty())
    {
        let mv = inner.view.get_or_try_init(py, || PyMemoryView::from(input.bind(py).as_any()).map(Bound::unbind))?;
        let slice = pyo3::types::PySlice::new(py, start as isize, (start + data.len()) as isize, 1);
        return Ok(mv.bind(py).get_item(slice)?.unbind());
    }
    let bytes = inner.msg.message().bytes_of(&data);
    Ok(crate::buffer::memoryview(py, bytes)?.into_any().unbind())
}

#[pymethods]
impl Message {
    /// The decoded Subject, or None.
    #[getter]
    fn subject(&self) -> Option<String> {
        self.inner.msg.message().subject().map(str::to_string)
    }

    /// From: a list of `(name, address)`.
    #[getter]
    fn from_(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        addresses(py, self.inner.msg.message().from())
    }

    /// To: a list of `(name, address)`.
    #[getter]
    fn to(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        addresses(py, self.inner.msg.message().to())
    }

    /// Cc: a list of `(name, address)`.
    #[getter]
    fn cc(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        addresses(py, self.inner.msg.message().cc())
    }

    /// Bcc: a list of `(name, address)`.
    #[getter]
    fn bcc(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        addresses(py, self.inner.msg.message().bcc())
    }

    /// Reply-To: a list of `(name, address)`.
    #[getter]
    fn reply_to(&self, py: Python<'_>) -> PyResult<Py<PyList>> {
        addresses(py, self.inner.msg.message().reply_to())
    }

    /// The Date as RFC 3339 text (see `date` in the package for a `datetime`).
    #[getter]
    fn date_text(&self) -> Option<String> {
        self.inner.msg.message().date().map(str::to_string)
    }

    /// The Date as an aware `datetime`, or None.
    #[getter]
    fn date(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let Some(text) = self.inner.msg.message().date() else { return Ok(py.None()) };
        let iso = text.replace('Z', "+00:00");
        let datetime = py.import("datetime")?.getattr("datetime")?;
        Ok(datetime.call_method1("fromisoformat", (iso,))?.unbind())
    }

    /// The top-level header fields: a case-insensitive mapping of decoded values.
    #[getter]
    fn headers(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let cls = py.import("mailwright.headers")?.getattr("Headers")?;
        Ok(cls.call1((self.header_list(),))?.unbind())
    }

    /// The Message-ID without angle brackets.
    #[getter]
    fn message_id(&self) -> Option<String> {
        self.inner.msg.message().message_id().map(str::to_string)
    }

    /// The plain-text body, decoded to `str`.
    #[getter]
    fn text<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.inner.msg.message().text().map(|t| PyString::new(py, t))
    }

    /// The HTML body, decoded to `str`.
    #[getter]
    fn html<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        self.inner.msg.message().html().map(|t| PyString::new(py, t))
    }

    /// The top-level header fields as `(name, decoded value)`, in order.
    #[getter]
    fn header_list(&self) -> Vec<(String, String)> {
        let m = self.inner.msg.message();
        m.headers().iter().map(|h| (h.name().into_owned(), h.text())).collect()
    }

    /// The attachments (parts that are files).
    #[getter]
    fn attachments(&self) -> Vec<Part> {
        let m = self.inner.msg.message();
        m.summary().attachments.iter().map(|&index| Part { inner: self.inner.clone(), index }).collect()
    }

    /// Every part, depth first (the root first).
    fn walk(&self) -> Vec<Part> {
        (0..self.inner.msg.message().parts().len()).map(|index| Part { inner: self.inner.clone(), index }).collect()
    }

    /// Damage found while parsing, as `(kind, part, detail)`.
    #[getter]
    fn warnings(&self) -> Vec<(String, Option<String>, String)> {
        self.inner
            .msg
            .message()
            .warnings()
            .iter()
            .map(|w| (w.kind.to_string(), w.part.as_ref().map(|p| p.to_string()), w.detail.clone()))
            .collect()
    }

    /// The whole message as given: the `bytes` it was parsed from (for a message the bot handed
    /// over, made on first use).
    #[getter]
    fn raw(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let input = self.inner.input.get_or_init(py, || PyBytes::new(py, self.inner.msg.bytes()).unbind());
        Ok(input.clone_ref(py).into_any())
    }

    /// Writes the attachments into `dir` (created when missing) and returns the manifest.
    #[pyo3(signature = (dir, *, bodies = false))]
    fn dissect(&self, py: Python<'_>, dir: PathBuf, bodies: bool) -> PyResult<Dissection> {
        let inner = self.inner.clone();
        let d = py
            .detach(move || {
                let opts = DissectOptions::new(&dir).with_bodies(bodies);
                mailwright::dissect(inner.msg.message(), &opts)
            })
            .map_err(Error::from)?;
        Ok(Dissection::from(d))
    }

    /// Who really sent it: DKIM, ARC, SPF (with `ip`/`helo`/`mail_from`, or `received_by`) and
    /// DMARC, as the dict of `mailwright verify --json`. Options: `resolvers`, `dns_timeout`,
    /// `records`, `ip`, `helo`, `mail_from`, `received_by`, `trust_authserv`.
    #[pyo3(signature = (**options))]
    fn verify(&self, py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Py<PyAny>> {
        let json = py.import("json")?;
        let text: String = match options {
            Some(o) => json.call_method1("dumps", (o,))?.extract()?,
            None => "{}".into(),
        };
        let options = mailwright::auth::CheckOptions::from_json(&text).map_err(Error::from)?;
        let inner = self.inner.clone();
        let verdict = py.detach(move || options.check(inner.msg.bytes())).map_err(Error::from)?;
        Ok(json.call_method1("loads", (verdict.to_json().to_string(),))?.unbind())
    }

    fn __repr__(&self) -> String {
        let m = self.inner.msg.message();
        format!("<Message subject={:?} parts={}>", m.subject().unwrap_or(""), m.parts().len())
    }
}

/// One part of a message.
#[pyclass(frozen, module = "mailwright._mailwright")]
pub(crate) struct Part {
    inner: Arc<Inner>,
    index: usize,
}

impl Part {
    fn part(&self) -> &mailwright::parse::Part<'_> {
        &self.inner.msg.message().parts()[self.index]
    }
}

#[pymethods]
impl Part {
    /// Its IMAP-style path (`1`, `2.1`…).
    #[getter]
    fn path(&self) -> String {
        self.part().path().to_string()
    }

    /// The content type, lower case (`application/pdf`).
    #[getter]
    fn content_type(&self) -> String {
        self.part().content_type().to_string()
    }

    /// The file name, decoded, or None.
    #[getter]
    fn filename(&self) -> Option<String> {
        self.part().filename().map(str::to_string)
    }

    /// The disposition (`attachment`, `inline`) or None.
    #[getter]
    fn disposition(&self) -> Option<String> {
        self.part().disposition().map(str::to_string)
    }

    /// The Content-ID without brackets, or None.
    #[getter]
    fn content_id(&self) -> Option<String> {
        self.part().content_id().map(str::to_string)
    }

    /// The declared charset, or None.
    #[getter]
    fn charset(&self) -> Option<String> {
        self.part().charset().map(str::to_string)
    }

    /// The transfer encoding as written (`7bit`, `base64`, `quoted-printable`, `x-uuencode`, …).
    #[getter]
    fn transfer_encoding(&self) -> String {
        self.part().transfer_encoding().as_str().to_string()
    }

    /// `multipart`, `message` or `leaf`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.part().kind() {
            PartKind::Multipart(_) => "multipart",
            PartKind::Message { .. } => "message",
            PartKind::Leaf => "leaf",
        }
    }

    /// The content with its transfer encoding undone, as a read-only `memoryview` that copies
    /// nothing: of the input itself where there was nothing to decode, else of the bytes decoded
    /// at parse time. It stays valid after the message is gone; `bytes(...)` makes a copy.
    #[getter]
    fn content(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let data = self.part().decoded_data();
        view(py, &self.inner, data)
    }

    /// The content as text (charset converted).
    #[getter]
    fn text<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        PyString::new(py, self.part().text())
    }

    /// The decoded size in bytes.
    #[getter]
    fn size(&self) -> usize {
        self.part().decoded().len()
    }

    /// This part's own header fields: a case-insensitive mapping of decoded values.
    #[getter]
    fn headers(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let cls = py.import("mailwright.headers")?.getattr("Headers")?;
        Ok(cls.call1((self.header_list(),))?.unbind())
    }

    /// This part's own header fields as `(name, decoded value)`.
    #[getter]
    fn header_list(&self) -> Vec<(String, String)> {
        self.part().headers().iter().map(|h| (h.name().into_owned(), h.text())).collect()
    }

    fn __repr__(&self) -> String {
        let p = self.part();
        format!("<Part {} {} {:?}>", p.path(), p.content_type(), p.filename().unwrap_or(""))
    }
}
