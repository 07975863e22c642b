//! Python bindings of mailwright: a thin layer over the `mailwright` crate, imported as
//! `mailwright` (the native module is the private `mailwright._mailwright`).

use pyo3::prelude::*;

/// The native module.
#[pymodule(gil_used = false)]
fn _mailwright(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
