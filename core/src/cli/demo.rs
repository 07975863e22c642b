//! `mailwright demo`: the whole loop on a local Maildir, with nothing to install: build, queue
//! in the outbox, flush into the Maildir, let the mailbot dissect it and print the command.

use std::path::{Path, PathBuf};

use super::{CliError, exit, out};
use crate::build::MessageBuilder;
use crate::dissect::sha256_hex;
use crate::inject::MaildirTransport;
use crate::sample;

/// Arguments of `mailwright demo`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Working folder (a Maildir and the dissected files go there); a new temporary folder when
    /// not given.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The printer named in the print command.
    #[arg(long, default_value = "printer")]
    printer: String,
    /// Print the manifest as JSON only.
    #[arg(long)]
    json: bool,
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> CliError {
    CliError::usage(format!("cannot {what} {}: {e}", p.display()))
}

pub(crate) fn run(a: Args) -> Result<(), CliError> {
    let dir = match a.dir {
        Some(d) => d,
        None => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            std::env::temp_dir().join(format!("mailwright-demo-{}-{}", std::process::id(), now.as_micros()))
        }
    };
    // build
    let pdf = sample::pdf("Quarterly report - printed by the mailwright mailbot", 48_000, 2016);
    let want = sha256_hex(&pdf);
    // example.org signs its mail with a key made now; the bot learns the key from its rules file.
    let usage = |e: &dyn std::fmt::Display| CliError::usage(e.to_string());
    let key = crate::auth::DkimKey::from_pem(crate::auth::generate_ed25519().map_err(|e| usage(&e))?.as_bytes())
        .map_err(|e| usage(&e))?;
    let record = key.dns_record();
    let signer = std::sync::Arc::new(crate::auth::DkimSigner::new(key, "demo", "example.org").map_err(|e| usage(&e))?);
    let message = |subject: &str| {
        MessageBuilder::new()
            .from("Jane Doe <jane@example.org>")
            .to("Mail Bot <bot@example.org>")
            .subject(subject)
            .text("Please print the attached report.\r\n")
            .attach_bytes("Quarterly report.pdf", pdf.clone())
    };
    let builder = message("Quarterly report").dkim(signer);
    let envelope = builder.envelope().map_err(|e| usage(&e))?;
    let raw = builder.build().map_err(|e| usage(&e))?;
    // Anyone can write that From: the same message, unsigned.
    let forged = message("Quarterly report (forged)").build().map_err(|e| usage(&e))?;
    // inject: into a durable outbox, then flushed into the local Maildir
    let outbox = crate::inject::Outbox::open(dir.join("outbox")).map_err(|e| usage(&e))?;
    let queue_id = outbox.add(&envelope, &raw).map_err(|e| usage(&e))?;
    outbox.add(&envelope, &forged).map_err(|e| usage(&e))?;
    let maildir = dir.join("Maildir");
    let flushed = outbox.flush(&mut MaildirTransport::new(&maildir)).map_err(|e| usage(&e))?;
    if flushed.delivered != 2 {
        return Err(CliError { code: exit::SOFTWARE, message: format!("the outbox did not deliver: {flushed:?}") });
    }
    // retrieve, dissect, automate: the mailbot with the course's rule
    let rules_path = dir.join("rules.toml");
    let rules_text = format!(
        "# The course's mailbot: every PDF from an allowed sender that proves who it is (a DKIM\n\
         # signature DMARC accepts) is taken out and the command that would print it is printed.\n\
         [source]\nmaildir = \"Maildir\"\n\n\
         [bot]\ndone = \"Printed\"\n\n\
         # The demo's own DNS: example.org's key and DMARC record, answered without a name server.\n\
         # A test hook; a bot reading real mail has no such table.\n\
         [bot.dns_records]\n\"demo._domainkey.example.org\" = \"{record}\"\n\
         \"_dmarc.example.org\" = \"v=DMARC1; p=reject\"\n\n\
         [[rule]]\nname = \"print PDFs from allowed senders\"\nfrom = [\"*@example.org\"]\n\
         authenticated = true\nattachment_type = [\"application/pdf\"]\n\n\
         [[rule.action]]\ntype = \"dissect\"\ndir = \"dissected\"\n\n\
         [[rule.action]]\ntype = \"print\"\ncommand = [\"lpr\", \"-P\", {printer}, \"{{file}}\"]\n",
        printer = serde_json::to_string(&a.printer).unwrap_or_default()
    );
    std::fs::write(&rules_path, &rules_text).map_err(|e| io_err("write", &rules_path, e))?;
    let rules = crate::bot::Rules::load(&rules_path).map_err(|e| CliError::usage(e.to_string()))?;
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<serde_json::Value>::new()));
    let sink = log.clone();
    let mut bot =
        crate::bot::Bot::new(rules.clone(), false).map_err(|e| CliError::usage(e.to_string()))?.on_log(move |v| {
            if let Ok(mut l) = sink.lock() {
                l.push(v.clone());
            }
        });
    let first = bot.run_once().map_err(|e| CliError::usage(e.to_string()))?;
    let second = bot.run_once().map_err(|e| CliError::usage(e.to_string()))?;
    let lines = log.lock().map(|l| l.clone()).unwrap_or_default();
    let prints: Vec<&serde_json::Value> = lines.iter().filter(|v| v["action"] == "print").collect();
    let [printed] = prints.as_slice() else {
        return Err(CliError {
            code: exit::SOFTWARE,
            message: format!("the mailbot printed {} messages, not the signed one alone", prints.len()),
        });
    };
    let saved = PathBuf::from(printed["detail"]["commands"][0][3].as_str().unwrap_or_default());
    let out_dir = saved.parent().map(Path::to_path_buf).unwrap_or_default();
    let manifest_path = out_dir.join("manifest.json");
    let manifest = std::fs::read_to_string(&manifest_path).map_err(|e| io_err("read", &manifest_path, e))?;
    let got = sha256_hex(&std::fs::read(&saved).map_err(|e| io_err("read", &saved, e))?);
    if a.json {
        out(&(manifest.trim_end().to_string() + "\n"))?;
    } else {
        let print_cmd = printed["detail"]["shell"][0].as_str().unwrap_or_default().to_string();
        let mut s = String::new();
        s.push_str(&format!(
            "built     message with Quarterly report.pdf ({} bytes), {} bytes in all\n",
            pdf.len(),
            raw.len()
        ));
        s.push_str("signed    by example.org (DKIM ed25519, selector demo)\n");
        s.push_str("forged    the same message unsigned, From: jane@example.org all the same\n");
        s.push_str(&format!("queued    {queue_id} and the forged one in {}\n", outbox.path().display()));
        s.push_str(&format!("delivered into {} (flushed from the outbox)\n", maildir.display()));
        s.push_str(&format!(
            "mailbot   {} with {}\n",
            serde_json::to_string(&first).unwrap_or_default(),
            rules_path.display()
        ));
        for l in &lines {
            s.push_str(&format!("  log     {l}\n"));
        }
        s.push_str(&format!(
            "forged:   handled, no rule acted ({} of {} messages matched a rule)\n",
            first.handled - first.unmatched,
            first.handled
        ));
        s.push_str(&format!("dissected into {}\n", out_dir.display()));
        s.push_str(manifest.trim_end());
        s.push('\n');
        s.push_str(&format!("print:    {print_cmd}\n"));
        s.push_str(&format!(
            "sha256:   sent {want}\n          got  {got}  {}\n",
            if got == want { "byte-exact" } else { "DIFFERENT" }
        ));
        s.push_str(&format!(
            "again:    a second run handled {} messages (the ledger has {}): each message is handled once\n",
            second.handled,
            bot.ledger_len()
        ));
        out(&s)?;
    }
    if got != want {
        return Err(CliError {
            code: exit::SOFTWARE,
            message: format!("the dissected PDF differs from the one sent ({got} != {want})"),
        });
    }
    Ok(())
}
