//! `imap_sync`: IMAP folders into a Maildir.

use std::path::PathBuf;

use pyo3::prelude::*;

use crate::errors::Error;

/// Syncs IMAP folders into a Maildir (only what is new); returns one report dict per folder.
/// `url` is one server or a list of replicas (the first that answers is used).
#[pyfunction]
#[pyo3(signature = (url, *, user, maildir, password=None, folders=Vec::new(), ca_file=None, insecure=false,
                    allow_plaintext=false, auth_plain=false, timeout=60.0, connect_timeout=10.0, batch=500,
                    oauth2_token_file=None, oauth2_token_command=None, oauth2_mechanism=None,
                    flags=None, expunge=false))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn imap_sync(
    py: Python<'_>,
    url: &Bound<'_, PyAny>,
    user: String,
    maildir: PathBuf,
    password: Option<String>,
    folders: Vec<String>,
    ca_file: Option<PathBuf>,
    insecure: bool,
    allow_plaintext: bool,
    auth_plain: bool,
    timeout: f64,
    connect_timeout: f64,
    batch: usize,
    oauth2_token_file: Option<PathBuf>,
    oauth2_token_command: Option<Vec<String>>,
    oauth2_mechanism: Option<String>,
    flags: Option<String>,
    expunge: bool,
) -> PyResult<Py<PyAny>> {
    let servers = match url.extract::<String>() {
        Ok(one) => vec![one],
        Err(_) => {
            url.extract::<Vec<String>>().map_err(|_| Error::Value("url must be a string or a list of them".into()))?
        }
    };
    let options = mailwright::fetch::SyncOptions {
        servers,
        user,
        password,
        folders,
        ca_file,
        insecure,
        allow_plaintext,
        auth_plain,
        timeout: Some(timeout),
        connect_timeout: Some(connect_timeout),
        batch: Some(batch),
        oauth2_token_file,
        oauth2_token_command,
        oauth2_mechanism,
        flags,
        expunge,
    };
    let reports = py.detach(move || options.sync(&maildir)).map_err(Error::from)?;
    let json = serde_json::to_string(&reports).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(py.import("json")?.getattr("loads")?.call1((json,))?.unbind())
}
