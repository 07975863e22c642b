//! `mailwright audit DOMAIN`: is the domain's mail built to take hits?

use super::{CliError, exit, fail, out};

/// Arguments of `mailwright audit`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The domain (example.org).
    domain: String,
    /// Name server to ask, IP[:PORT], repeatable (default: the system's).
    #[arg(long = "resolver", value_name = "IP[:PORT]")]
    resolvers: Vec<String>,
    /// The SMTP port of the mail servers.
    #[arg(long, default_value_t = 25)]
    smtp_port: u16,
    /// Seconds allowed for each question and each probe.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    /// Print the JSON document {"domain", "checks": [{"id", "status", "finding", "evidence"}],
    /// "summary"} instead of the table.
    #[arg(long)]
    json: bool,
    /// Only ask DNS; connect to no server (the checks that need one are left out).
    #[arg(long)]
    no_probe: bool,
    /// A CA certificate (PEM) to trust besides the system's, for the servers' certificates.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<std::path::PathBuf>,
}

pub(crate) fn run(a: Args) -> Result<(), CliError> {
    let o =
        crate::audit::AuditOptions::configure(&a.domain, &a.resolvers, a.timeout, a.smtp_port, a.no_probe, a.ca_file)
            .map_err(fail)?;
    let report = crate::audit::audit(&o).map_err(fail)?;
    if a.json {
        out(&format!("{}\n", serde_json::to_string(&report).unwrap_or_default()))?;
    } else {
        out(&crate::audit::render(&report))?;
    }
    match report.exit_code() {
        0 => Ok(()),
        _ => Err(CliError {
            code: exit::CHECK,
            message: match report.summary.fail {
                1 => "1 check failed (see above)".into(),
                n => format!("{n} checks failed (see above)"),
            },
        }),
    }
}
