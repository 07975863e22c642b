//! Python bindings of mailwright: a thin layer over the `mailwright` crate, imported as
//! `mailwright` (the native module is the private `mailwright._mailwright`). Behaviour lives in
//! the crate; this layer extracts arguments, releases the interpreter for the work, and maps
//! results and errors.

mod audit;
mod bot;
mod buffer;
mod build;
mod dissect;
mod errors;
mod fetch;
mod inject;
mod mailbox;
mod migrate;
mod parse;

use pyo3::prelude::*;

/// The native module.
#[pymodule(gil_used = false)]
fn _mailwright(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(parse::parse, m)?)?;
    m.add_function(wrap_pyfunction!(parse::parse_file, m)?)?;
    m.add_class::<parse::Message>()?;
    m.add_class::<parse::Part>()?;
    m.add_class::<dissect::Dissection>()?;
    m.add_class::<build::MessageBuilder>()?;
    m.add_function(wrap_pyfunction!(build::dkim_keygen, m)?)?;
    m.add_function(wrap_pyfunction!(inject::send, m)?)?;
    m.add_class::<mailbox::Maildir>()?;
    m.add_class::<mailbox::MaildirMessage>()?;
    m.add_class::<mailbox::Mbox>()?;
    m.add_class::<mailbox::MboxIter>()?;
    m.add_class::<inject::Outbox>()?;
    m.add_function(wrap_pyfunction!(fetch::imap_sync, m)?)?;
    m.add_function(wrap_pyfunction!(migrate::migrate, m)?)?;
    m.add_function(wrap_pyfunction!(audit::audit, m)?)?;
    m.add_class::<bot::Bot>()?;
    Ok(())
}
