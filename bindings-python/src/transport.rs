//! Building, sending, mailboxes, the outbox and IMAP sync.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use mailwright::build::MessageBuilder as CoreBuilder;
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

/// Where `send` and `Outbox.flush` deliver, from their keyword arguments (checked in core).
#[allow(clippy::too_many_arguments)]
fn transport(
    smtp: Option<String>,
    mx: bool,
    maildir: Option<PathBuf>,
    mbox: Option<PathBuf>,
    sendmail: Option<String>,
    user: Option<String>,
    password: Option<String>,
    ca_file: Option<PathBuf>,
    insecure: bool,
    allow_plaintext: bool,
    resolvers: Vec<String>,
    smtp_port: u16,
    timeout: f64,
) -> Result<Box<dyn Transport + Send>, Error> {
    let timeout = Duration::try_from_secs_f64(timeout).map_err(|_| Error::Value("timeout must be seconds".into()))?;
    let d = mailwright::inject::Destination {
        smtp,
        mx,
        maildir,
        mbox,
        sendmail,
        credentials: user.map(|u| (u, password.unwrap_or_default())),
        ca_file,
        insecure,
        allow_plaintext,
        resolvers,
        smtp_port,
        require_tls: false,
        connect_timeout: timeout,
        reply_timeout: timeout,
    };
    d.transport().map_err(Error::from)
}

/// Sends a ready message (envelope from its headers, Bcc taken out) to exactly one destination:
/// `smtp="smtp://host"` (with `user`, `password`), `mx=True` (with `resolvers`, `smtp_port`),
/// `maildir=`, `mbox=` or `sendmail="/usr/sbin/sendmail"`. Returns the receipt as a `dict`.
#[pyfunction]
#[pyo3(signature = (raw, *, smtp=None, mx=false, maildir=None, mbox=None, sendmail=None, user=None, password=None,
                    ca_file=None, insecure=false, allow_plaintext=false, resolvers=Vec::new(), smtp_port=25, timeout=60.0))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn send(
    py: Python<'_>,
    raw: Vec<u8>,
    smtp: Option<String>,
    mx: bool,
    maildir: Option<PathBuf>,
    mbox: Option<PathBuf>,
    sendmail: Option<String>,
    user: Option<String>,
    password: Option<String>,
    ca_file: Option<PathBuf>,
    insecure: bool,
    allow_plaintext: bool,
    resolvers: Vec<String>,
    smtp_port: u16,
    timeout: f64,
) -> PyResult<Py<PyDict>> {
    let mut t = transport(
        smtp,
        mx,
        maildir,
        mbox,
        sendmail,
        user,
        password,
        ca_file,
        insecure,
        allow_plaintext,
        resolvers,
        smtp_port,
        timeout,
    )?;
    let receipt = py.detach(move || t.send(&raw)).map_err(Error::from)?;
    receipt_dict(py, &receipt)
}

/// A Maildir: iterate its messages, deliver into it, open its subfolders.
#[pyclass(module = "mailwright._mailwright")]
pub(crate) struct Maildir {
    md: mailwright::mailbox::Maildir,
}

/// One message of a Maildir.
#[pyclass(frozen, module = "mailwright._mailwright")]
pub(crate) struct MaildirMessage {
    entry: mailwright::mailbox::MaildirEntry,
}

#[pymethods]
impl MaildirMessage {
    /// Its file.
    #[getter]
    fn path(&self) -> PathBuf {
        self.entry.path.clone()
    }
    /// Its unique name.
    #[getter]
    fn id(&self) -> String {
        self.entry.id.clone()
    }
    /// Its flags (`S`, `R`, `F`…).
    #[getter]
    fn flags(&self) -> String {
        self.entry.flags.clone()
    }
    /// Whether it is still in `new/`.
    #[getter]
    fn is_new(&self) -> bool {
        self.entry.new
    }
    /// Its bytes.
    fn read<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let p = self.entry.path.clone();
        let data = py.detach(|| std::fs::read(&p))?;
        Ok(PyBytes::new(py, &data))
    }
}

#[pymethods]
impl Maildir {
    /// Opens (creating when missing) the Maildir at `path`.
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        let md = mailwright::mailbox::Maildir::create(&path).map_err(Error::from)?;
        Ok(Maildir { md })
    }
    /// Its folder.
    #[getter]
    fn path(&self) -> PathBuf {
        self.md.path().to_path_buf()
    }
    /// Delivers bytes into `new/` (synced, renamed); returns the file's path.
    fn deliver(&self, py: Python<'_>, raw: Vec<u8>) -> PyResult<PathBuf> {
        let md = self.md.clone();
        Ok(py.detach(move || md.deliver(&raw)).map_err(Error::from)?)
    }
    /// The messages in `new/` and `cur/`.
    fn messages(&self, py: Python<'_>) -> PyResult<Vec<MaildirMessage>> {
        let md = self.md.clone();
        let list =
            py.detach(move || md.entries().and_then(|e| e.collect::<Result<Vec<_>, _>>())).map_err(Error::from)?;
        Ok(list.into_iter().map(|entry| MaildirMessage { entry }).collect())
    }
    /// Sets a message's flags; returns it as it is now.
    fn set_flags(&self, message: &MaildirMessage, flags: String) -> PyResult<MaildirMessage> {
        let entry = self.md.set_flags(&message.entry, &flags).map_err(Error::from)?;
        Ok(MaildirMessage { entry })
    }
    /// Moves a message into another Maildir.
    fn move_to(&self, message: &MaildirMessage, dest: &Maildir) -> PyResult<MaildirMessage> {
        let entry = self.md.move_to(&message.entry, &dest.md).map_err(Error::from)?;
        Ok(MaildirMessage { entry })
    }
    /// The Maildir++ subfolder `name`, created when missing.
    fn folder(&self, name: String) -> PyResult<Maildir> {
        let md = self.md.folder(&name).map_err(Error::from)?;
        Ok(Maildir { md })
    }
    /// Iterates over the messages in `new/` and `cur/`.
    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let list = self.messages(py)?;
        let items = pyo3::types::PyList::new(py, list)?;
        Ok(items.try_iter()?.into_any().unbind())
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.messages(py)?.len())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        false
    }

    /// The Maildir++ subfolder names.
    fn folders(&self) -> PyResult<Vec<String>> {
        Ok(self.md.folders().map_err(Error::from)?)
    }
}

/// An mbox file: read its messages, append to it.
#[pyclass(module = "mailwright._mailwright")]
pub(crate) struct Mbox {
    path: PathBuf,
}

#[pymethods]
impl Mbox {
    /// The mbox at `path` (created on the first append).
    #[new]
    fn new(path: PathBuf) -> Self {
        Mbox { path }
    }
    /// Its file.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }
    /// Appends a message (mboxrd quoting, locked, synced); returns its offset.
    #[pyo3(signature = (raw, sender = String::new()))]
    fn append(&self, py: Python<'_>, raw: Vec<u8>, sender: String) -> PyResult<u64> {
        let m = mailwright::mailbox::Mbox::new(&self.path);
        Ok(py.detach(move || m.append(&sender, &raw)).map_err(Error::from)?)
    }
    /// Iterates over the messages as `bytes`, streaming: the file is memory-mapped and read as
    /// the iteration goes (mboxrd unquoting).
    fn __iter__(&self) -> PyResult<MboxIter> {
        use mailwright::mailbox::{MboxFormat, MboxReader};
        let reader = MboxReader::open(&self.path, MboxFormat::Mboxrd).map_err(Error::from)?;
        Ok(MboxIter { reader: Mutex::new(reader) })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        false
    }

    /// Every message, unquoted, as `bytes` (the file is memory-mapped while reading).
    #[pyo3(signature = (mboxo = false))]
    fn messages<'py>(&self, py: Python<'py>, mboxo: bool) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        use mailwright::mailbox::{MboxFormat, MboxReader};
        let format = if mboxo { MboxFormat::Mboxo } else { MboxFormat::Mboxrd };
        let path = self.path.clone();
        let all = py
            .detach(move || {
                MboxReader::open(&path, format).map(|r| r.map(|m| m.bytes().into_owned()).collect::<Vec<_>>())
            })
            .map_err(Error::from)?;
        Ok(all.iter().map(|m| PyBytes::new(py, m)).collect())
    }
}

/// The messages of an mbox, one at a time.
#[pyclass(module = "mailwright._mailwright")]
pub(crate) struct MboxIter {
    reader: Mutex<mailwright::mailbox::MboxReader>,
}

#[pymethods]
impl MboxIter {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let mut r = self.reader.lock().map_err(|_| Error::Internal("mbox reader lock poisoned".into()))?;
        Ok(r.next().map(|m| PyBytes::new(py, &m.bytes())))
    }
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
    #[pyo3(signature = (*, smtp=None, mx=false, maildir=None, mbox=None, sendmail=None, user=None, password=None,
                        ca_file=None, insecure=false, allow_plaintext=false, resolvers=Vec::new(), smtp_port=25, timeout=60.0))]
    #[allow(clippy::too_many_arguments)]
    fn flush(
        &self,
        py: Python<'_>,
        smtp: Option<String>,
        mx: bool,
        maildir: Option<PathBuf>,
        mbox: Option<PathBuf>,
        sendmail: Option<String>,
        user: Option<String>,
        password: Option<String>,
        ca_file: Option<PathBuf>,
        insecure: bool,
        allow_plaintext: bool,
        resolvers: Vec<String>,
        smtp_port: u16,
        timeout: f64,
    ) -> PyResult<Py<PyAny>> {
        let mut t = transport(
            smtp,
            mx,
            maildir,
            mbox,
            sendmail,
            user,
            password,
            ca_file,
            insecure,
            allow_plaintext,
            resolvers,
            smtp_port,
            timeout,
        )?;
        let o = self.outbox.lock().map_err(|_| Error::Internal("outbox lock poisoned".into()))?.clone();
        let report = py.detach(move || o.flush(t.as_mut())).map_err(outbox_err)?;
        let json = serde_json::to_string(&report).map_err(|e| Error::Internal(e.to_string()))?;
        Ok(py.import("json")?.getattr("loads")?.call1((json,))?.unbind())
    }
}

/// Syncs IMAP folders into a Maildir (only what is new); returns one report dict per folder.
#[pyfunction]
#[pyo3(signature = (url, *, user, password, maildir, folders=Vec::new(), ca_file=None, insecure=false,
                    allow_plaintext=false, auth_plain=false, timeout=60.0))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn imap_sync(
    py: Python<'_>,
    url: String,
    user: String,
    password: String,
    maildir: PathBuf,
    folders: Vec<String>,
    ca_file: Option<PathBuf>,
    insecure: bool,
    allow_plaintext: bool,
    auth_plain: bool,
    timeout: f64,
) -> PyResult<Py<PyAny>> {
    use mailwright::fetch::{Fetcher, ImapAuth, ImapConfig};
    let fetch_err = Error::from;
    let mut c = ImapConfig::from_url(&url, &user, &password).map_err(fetch_err)?;
    c.ca_file = ca_file;
    c.insecure = insecure;
    c.allow_plaintext = allow_plaintext;
    c.auth = if auth_plain { ImapAuth::Plain } else { ImapAuth::Login };
    c.timeout = Duration::try_from_secs_f64(timeout).map_err(|_| Error::Value("timeout must be seconds".into()))?;
    let folders = if folders.is_empty() { vec!["INBOX".to_string()] } else { folders };
    let reports = py
        .detach(move || -> Result<Vec<mailwright::fetch::FolderReport>, mailwright::fetch::FetchError> {
            let mut f = Fetcher::connect(c, &maildir)?;
            let mut out = Vec::new();
            for folder in &folders {
                out.push(f.sync_folder(folder, |_| {})?);
            }
            f.logout();
            Ok(out)
        })
        .map_err(fetch_err)?;
    let json = serde_json::to_string(&reports).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(py.import("json")?.getattr("loads")?.call1((json,))?.unbind())
}
