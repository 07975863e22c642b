//! `imap_sync`: IMAP folders into a Maildir.

use std::path::PathBuf;
use std::time::Duration;

use pyo3::prelude::*;

use crate::errors::Error;

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
