//! `audit`: is a domain's mail built to take hits?

use pyo3::prelude::*;

use crate::errors::Error;

/// Audits a domain's mail set-up (name servers, mail servers, policies); returns the report
/// dict `{"domain", "checks": [{"id", "status", "finding", "evidence"}], "summary",
/// "exit_code"}` (exit_code 0 nothing fails, 2 a check fails). Raises when DNS cannot be asked.
#[pyfunction]
#[pyo3(signature = (domain, *, resolvers=Vec::new(), smtp_port=25, timeout=5.0, no_probe=false, ca_file=None))]
pub(crate) fn audit(
    py: Python<'_>,
    domain: String,
    resolvers: Vec<String>,
    smtp_port: u16,
    timeout: f64,
    no_probe: bool,
    ca_file: Option<std::path::PathBuf>,
) -> PyResult<Py<PyAny>> {
    let o = mailwright::audit::AuditOptions::configure(&domain, &resolvers, timeout, smtp_port, no_probe, ca_file)
        .map_err(Error::from)?;
    let report = py.detach(|| mailwright::audit::audit(&o)).map_err(Error::from)?;
    let mut json = serde_json::to_value(&report).map_err(|e| Error::Internal(e.to_string()))?;
    json["exit_code"] = report.exit_code().into();
    Ok(py.import("json")?.getattr("loads")?.call1((json.to_string(),))?.unbind())
}
