//! `Dissection`: what `Message.dissect` wrote, with its manifest.

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// What `Message.dissect` wrote.
#[pyclass(frozen, module = "mailwright._mailwright")]
pub(crate) struct Dissection {
    json: String,
    files: usize,
    bytes: u64,
}

#[pymethods]
impl Dissection {
    /// The manifest (DESIGN §5) as JSON text.
    #[getter]
    fn manifest_json(&self) -> String {
        self.json.clone()
    }

    /// Files written.
    #[getter]
    fn files(&self) -> usize {
        self.files
    }

    /// Bytes written.
    #[getter]
    fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The manifest's fields as attributes: `subject`, `from_`, `to`, `cc`, `date`, `message_id`,
    /// `text`, `html`, `attachments`, `nested`, `warnings`, `bodies`.
    fn __getattr__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let key = if name == "from_" { "from" } else { name };
        match self.to_dict(py)?.get_item(key)? {
            Some(v) => Ok(v),
            None => Err(pyo3::exceptions::PyAttributeError::new_err(format!("Dissection has no attribute {name:?}"))),
        }
    }

    /// The manifest as a `dict`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let json = py.import("json")?;
        Ok(json.getattr("loads")?.call1((self.json.as_str(),))?.cast_into::<PyDict>()?)
    }
}

impl From<mailwright::Dissection> for Dissection {
    fn from(d: mailwright::Dissection) -> Self {
        Dissection { json: d.manifest.to_json(), files: d.files, bytes: d.bytes }
    }
}
