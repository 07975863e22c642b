//! Local stores: `Maildir` (and its messages) and `Mbox`.

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::Error;

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
