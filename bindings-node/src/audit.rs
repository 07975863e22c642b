//! `audit`: is a domain's mail built to take hits?

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use crate::errors::Failure;
use crate::tasks::{Job, Json, same};

/// Options of `audit`.
#[napi(object)]
pub struct AuditOptions {
    /// Name servers to ask, `IP[:PORT]` (the system's by default).
    pub resolvers: Option<Vec<String>>,
    /// The SMTP port of the mail servers (25).
    pub smtp_port: Option<u16>,
    /// Seconds allowed for each question and probe (5).
    pub timeout: Option<f64>,
    /// Only ask DNS; connect to no server (the checks that need one are left out).
    pub no_probe: Option<bool>,
    /// A CA certificate (PEM) to trust besides the system's.
    pub ca_file: Option<String>,
}

/// Audits a domain's mail set-up (name servers, mail servers, policies); resolves to the report
/// `{domain, checks: [{id, status, finding, evidence}], summary, exit_code}` (exit_code 0
/// nothing fails, 2 a check fails); rejects when DNS cannot be asked.
#[napi(ts_return_type = "Promise<any>")]
pub fn audit(domain: String, options: Option<AuditOptions>) -> AsyncTask<Job<Json, Json>> {
    Job::new(
        move || {
            let o = options.unwrap_or(AuditOptions {
                resolvers: None,
                smtp_port: None,
                timeout: None,
                no_probe: None,
                ca_file: None,
            });
            let opts = mailwright::audit::AuditOptions::configure(
                &domain,
                &o.resolvers.unwrap_or_default(),
                o.timeout.unwrap_or(5.0),
                o.smtp_port.unwrap_or(25),
                o.no_probe.unwrap_or(false),
                o.ca_file.map(Into::into),
            )
            .map_err(Failure::from)?;
            let report = mailwright::audit::audit(&opts).map_err(Failure::from)?;
            let mut json = serde_json::to_value(&report).map_err(|e| Failure::new("audit", e.to_string()))?;
            json["exit_code"] = report.exit_code().into();
            Ok(Json(json))
        },
        same,
    )
}
