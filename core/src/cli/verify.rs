//! `mailwright verify FILE|- [--resolver IP[:PORT]]… [--ip IP --helo NAME --mail-from ADDR]
//! [--json]` and `mailwright dkim keygen --selector S --domain D`.

use std::path::PathBuf;

use super::{CliError, exit, input, out};
use crate::Limits;
use crate::auth::{AuthError, AuthReport, CheckOptions, DkimKey, Outcome};

/// Arguments of `mailwright verify`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The message file, or - for standard input.
    file: PathBuf,
    /// A name server to ask (IP or IP:PORT), instead of the system's; repeatable.
    #[arg(long = "resolver", value_name = "IP[:PORT]")]
    resolvers: Vec<String>,
    /// Seconds one DNS query may wait (two attempts).
    #[arg(long, default_value_t = 5.0)]
    dns_timeout: f64,
    /// The client's address, for SPF (with --helo and --mail-from).
    #[arg(long, requires = "helo")]
    ip: Option<std::net::IpAddr>,
    /// The name the client gave in HELO/EHLO, for SPF.
    #[arg(long, requires = "ip")]
    helo: Option<String>,
    /// The envelope sender (MAIL FROM), for SPF; empty or absent for a bounce.
    #[arg(long, requires = "ip")]
    mail_from: Option<String>,
    /// Take the client for SPF from the topmost Received: field this host (the MTA that
    /// delivered the message) added, and MAIL FROM from Return-Path:.
    #[arg(long, value_name = "HOST", conflicts_with = "ip")]
    received_by: Option<String>,
    /// Also believe the topmost Authentication-Results field of this server (the MTA that
    /// delivered the message); fields of that id further down are counted, not believed.
    #[arg(long = "trust-authserv", value_name = "ID")]
    trust_authserv: Option<String>,
    /// Print JSON for scripts instead of text for people.
    #[arg(long)]
    json: bool,
}

/// Runs `mailwright verify`: exit 0 when the checks ran, whatever they found; 75 when no name
/// server answered at all.
pub(crate) fn run(a: Args) -> Result<(), CliError> {
    let raw = input::read(&a.file, &Limits::default())?;
    let options = CheckOptions {
        resolvers: a.resolvers,
        dns_timeout: Some(a.dns_timeout),
        records: Default::default(),
        ip: a.ip,
        helo: a.helo,
        mail_from: a.mail_from,
        received_by: a.received_by,
        trust_authserv: a.trust_authserv,
    };
    let verifier = options.verifier().map_err(|e| match e {
        AuthError::Options(_) | AuthError::Resolver(_) => CliError::usage(e.to_string()),
        e => super::fail(e),
    })?;
    let verdict = options.check_with(&verifier, &raw).map_err(super::fail)?;
    for w in &verdict.warnings {
        eprintln!("mailwright: warning: {w}");
    }
    if a.json {
        out(&format!("{}\n", verdict.to_json()))?;
    } else {
        let mut s = text(&verdict.report, verdict.authenticated_domain.as_deref());
        if let (Some(id), Some(t)) = (&options.trust_authserv, &verdict.trusted) {
            let said = t.results.as_ref().map_or("nothing".to_string(), |r| {
                r.results.iter().map(|m| format!("{}={}", m.method, m.result)).collect::<Vec<_>>().join(" ")
            });
            s.push_str(&format!("trusted {id}: {said}"));
            if t.ignored > 0 {
                s.push_str(&format!(" ({} more fields claiming {id} ignored)", t.ignored));
            }
            s.push('\n');
        }
        out(&s)?;
    }
    if unreachable(&verdict.report) {
        return Err(CliError { code: exit::TEMPFAIL, message: "no name server answered; try again later".into() });
    }
    Ok(())
}

/// Whether every check that needed DNS got no answer.
fn unreachable(r: &AuthReport) -> bool {
    let mut asked = r.dkim.iter().map(|s| s.result).collect::<Vec<_>>();
    asked.extend(r.spf.as_ref().map(|s| s.result));
    if r.from_domain.is_some() {
        asked.push(r.dmarc.result);
    }
    !asked.is_empty() && asked.iter().all(|o| *o == Outcome::TempError)
}

/// The report for people.
fn text(r: &AuthReport, authenticated: Option<&str>) -> String {
    let mut s = format!("authenticated: {}\n", authenticated.unwrap_or("no"));
    for d in &r.dkim {
        s.push_str(&format!("dkim: {} ({}, d={} s={})", d.result.as_str(), d.algorithm, d.domain, d.selector));
        if d.weak {
            s.push_str(" weak");
        }
        if let Some(why) = &d.reason {
            s.push_str(&format!(": {why}"));
        }
        s.push('\n');
    }
    if r.dkim.is_empty() {
        s.push_str("dkim: none (no signature)\n");
    }
    if let Some(spf) = &r.spf {
        s.push_str(&format!("spf: {} ({})\n", spf.result.as_str(), spf.domain));
    }
    let dm = &r.dmarc;
    s.push_str(&format!("dmarc: {} ({}", dm.result.as_str(), if dm.domain.is_empty() { "-" } else { &dm.domain }));
    if let Some(p) = dm.policy {
        s.push_str(&format!(", p={p}"));
    }
    if let Some(a) = dm.aligned {
        s.push_str(&format!(", aligned {a}"));
    }
    s.push(')');
    if let Some(why) = &dm.reason {
        s.push_str(&format!(": {why}"));
    }
    s.push_str(&format!("\narc: {} ({} sets)\n", r.arc.result.as_str(), r.arc.sets));
    s
}

/// Arguments of `mailwright dkim`.
#[derive(clap::Args, Debug)]
pub(crate) struct DkimArgs {
    #[command(subcommand)]
    command: DkimCommand,
}

#[derive(clap::Subcommand, Debug)]
enum DkimCommand {
    /// Make an Ed25519 key: write the private key (0600) and print the TXT record to publish.
    Keygen {
        /// The selector (`s=`).
        #[arg(long)]
        selector: String,
        /// The signing domain (`d=`).
        #[arg(long)]
        domain: String,
        /// Where to write the private key (PEM); standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs `mailwright dkim`.
pub(crate) fn run_dkim(a: DkimArgs) -> Result<(), CliError> {
    let DkimCommand::Keygen { selector, domain, out: path } = a.command;
    let pem = crate::auth::generate_ed25519().map_err(super::fail)?;
    let key = DkimKey::from_pem(pem.as_bytes()).map_err(super::fail)?;
    let record = format!("{selector}._domainkey.{domain}. IN TXT \"{}\"\n", key.dns_record());
    // Checks selector and domain the way signing will.
    crate::auth::DkimSigner::new(key, &selector, &domain).map_err(super::fail)?;
    match path {
        Some(p) => {
            use std::io::Write;
            let mut f = crate::files::private_file()
                .write(true)
                .create_new(true)
                .open(&p)
                .map_err(|e| CliError::usage(format!("cannot create {}: {e}", p.display())))?;
            f.write_all(pem.as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| CliError::usage(format!("cannot write {}: {e}", p.display())))?;
            out(&record)
        }
        None => out(&format!("{pem}{record}")),
    }
}
