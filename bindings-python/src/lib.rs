//! Python bindings of mailwright: a thin layer over the `mailwright` crate, imported as
//! `mailwright` (the native module is the private `mailwright._mailwright`). Behaviour lives in
//! the crate; this layer extracts arguments, releases the interpreter for the work, and maps
//! results and errors.

mod bot;
mod buffer;
mod errors;
mod message;
mod transport;

use pyo3::prelude::*;

/// The native module.
#[pymodule(gil_used = false)]
fn _mailwright(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(message::parse, m)?)?;
    m.add_function(wrap_pyfunction!(message::parse_file, m)?)?;
    m.add_class::<message::Message>()?;
    m.add_class::<message::Part>()?;
    m.add_class::<message::Dissection>()?;
    m.add_class::<transport::MessageBuilder>()?;
    m.add_function(wrap_pyfunction!(transport::send, m)?)?;
    m.add_class::<transport::Maildir>()?;
    m.add_class::<transport::MaildirMessage>()?;
    m.add_class::<transport::Mbox>()?;
    m.add_class::<transport::MboxIter>()?;
    m.add_class::<transport::Outbox>()?;
    m.add_function(wrap_pyfunction!(transport::imap_sync, m)?)?;
    m.add_class::<bot::Bot>()?;
    Ok(())
}
