//! The `mailwright` command line: one subcommand per step of the loop, `--json` for scripts,
//! errors as one line on stderr, and the exit codes of DESIGN §4.

mod audit;
mod bot;
mod build;
mod compose;
mod demo;
mod destination;
mod dissect;
mod fetch;
mod input;
mod migrate;
mod parse;
mod queue;
mod secret;
mod send;
mod signals;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit codes (DESIGN §4; sysexits.h where one fits).
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Usage or input error.
    pub const USAGE: u8 = 1;
    /// Permanent delivery failure (EX_UNAVAILABLE).
    pub const UNAVAILABLE: u8 = 69;
    /// A check failed: `migrate verify` found a difference (as linters exit).
    pub const CHECK: u8 = 2;
    /// The destination is over quota (EX_CANTCREAT): raise it and run again.
    pub const CANTCREAT: u8 = 73;
    /// Internal error (EX_SOFTWARE).
    pub const SOFTWARE: u8 = 70;
    /// Temporary failure: retry later (EX_TEMPFAIL).
    pub const TEMPFAIL: u8 = 75;
}

/// An error for the command line: a one-line message and an exit code.
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub code: u8,
    /// The message, one line.
    pub message: String,
}

impl CliError {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        CliError { code: exit::USAGE, message: message.into() }
    }
}

impl From<crate::Error> for CliError {
    fn from(e: crate::Error) -> Self {
        CliError { code: exit_code(&e), message: e.to_string() }
    }
}

/// The exit code for an error, the same in every command (DESIGN §4): 1 for what the user must
/// fix (input, options, rules, a path), 75 for what may work later (a server that did not
/// answer, a lock, a full disk), 69 for what the other side refused for good (credentials, a
/// recipient, a domain without mail), 70 for what should not happen (unreadable state).
pub fn exit_code(e: &crate::Error) -> u8 {
    use crate::Error as E;
    use crate::bot::BotError;
    use crate::inject::{DestinationError, InjectError, OutboxError};
    use crate::mailbox::MailboxError;
    let mailbox = |e: &MailboxError| if e.is_transient() { exit::TEMPFAIL } else { exit::USAGE };
    let inject = |e: &InjectError| match e {
        InjectError::NoRecipients | InjectError::BadAddress(_) | InjectError::Parse(_) => exit::USAGE,
        #[cfg(feature = "smtp")]
        InjectError::Smtp(crate::inject::SmtpError::Config(_)) | InjectError::Mx(crate::inject::MxError::Config(_)) => {
            exit::USAGE
        }
        e if e.is_transient() => exit::TEMPFAIL,
        _ => exit::UNAVAILABLE,
    };
    let outbox = |e: &OutboxError| match e {
        OutboxError::Inject(e) => inject(e),
        OutboxError::NotFound(_) => exit::USAGE,
        e if e.is_transient() => exit::TEMPFAIL,
        _ => exit::SOFTWARE,
    };
    #[cfg(feature = "smtp")]
    let fetch = |e: &crate::fetch::FetchError| {
        use crate::fetch::FetchError as F;
        match e {
            F::Config(_) => exit::USAGE,
            F::Auth { .. } => exit::UNAVAILABLE,
            F::Mailbox(e) => mailbox(e),
            F::Local { .. } => exit::SOFTWARE,
            e if e.is_transient() => exit::TEMPFAIL,
            _ => exit::UNAVAILABLE,
        }
    };
    let destination = |e: &DestinationError| match e {
        DestinationError::Usage(_) => exit::USAGE,
        _ => exit::SOFTWARE,
    };
    match e {
        E::Parse(_) | E::Build(_) | E::Dissect(_) => exit::USAGE,
        E::Inject(e) => inject(e),
        E::Destination(e) => destination(e),
        E::Outbox(e) => outbox(e),
        E::Mailbox(e) => mailbox(e),
        #[cfg(feature = "smtp")]
        E::Fetch(e) => fetch(e),
        #[cfg(feature = "smtp")]
        E::Migrate(e) => {
            use crate::migrate::MigrateError as M;
            match e {
                M::Users { .. } | M::Config(_) | M::State { .. } => exit::USAGE,
                M::Imap(e) => fetch(e),
                M::OverQuota(_) | M::Maildir { .. } => exit::CANTCREAT,
                M::PushBack(_) | M::Dns(_) => exit::TEMPFAIL,
            }
        }
        #[cfg(feature = "smtp")]
        E::Audit(e) => match e {
            crate::audit::AuditError::Config(_) => exit::USAGE,
            crate::audit::AuditError::Dns(_) => exit::TEMPFAIL,
        },
        E::Auth(e) => match e {
            crate::auth::AuthError::Runtime(_) => exit::SOFTWARE,
            _ => exit::USAGE,
        },
        E::Bot(e) => match e {
            BotError::Rules(_) => exit::USAGE,
            #[cfg(feature = "smtp")]
            BotError::Auth(_) => exit::USAGE,
            BotError::Transport(e) => destination(e),
            BotError::Outbox(e) => outbox(e),
            BotError::Mailbox(e) => mailbox(e),
            #[cfg(feature = "smtp")]
            BotError::Fetch(e) => fetch(e),
            #[cfg(feature = "smtp")]
            BotError::Secret(_) => exit::USAGE,
            e if e.is_transient() => exit::TEMPFAIL,
            _ => exit::SOFTWARE,
        },
    }
}

/// Maps any module's error through [`exit_code`].
pub(crate) fn fail(e: impl Into<crate::Error>) -> CliError {
    CliError::from(e.into())
}

#[derive(Parser, Debug)]
#[command(name = "mailwright", version, about = "Build, inject, retrieve, dissect and automate mail.", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show a message's headers and part tree (JSON with --json).
    #[command(after_help = "Examples:\n  mailwright parse message.eml\n  mailwright parse - --json < message.eml")]
    Parse(parse::Args),
    /// Write a message's attachments into a folder and print the manifest.
    #[command(after_help = "Examples:\n  mailwright dissect message.eml --out files/ --json\n  \
                            cat message.eml | mailwright dissect - --out files/")]
    Dissect(dissect::Args),
    /// Compose a message and write it to standard output or a file.
    #[command(after_help = "Example:\n  mailwright build --from me@example.org --to you@example.org \
                            --subject Report --text 'See the file.' --attach report.pdf > report.eml")]
    Build(build::Args),
    /// Compose (or read) a message and deliver it: a submission server, the recipients' MX
    /// hosts, a Maildir, an mbox or sendmail.
    #[command(after_help = "Examples:\n  MAILWRIGHT_PASSWORD=... mailwright send --smtp smtp://mail.example.org \
                            --user me@example.org --from me@example.org --to you@example.org --text hi\n  \
                            mailwright send --mx --from me@example.org --to you@example.net --attach report.pdf\n  \
                            mailwright send --maildir ~/Maildir --from me@example.org --to me@example.org --text note")]
    Send(Box<send::Args>),
    /// A durable outbox: add messages, flush them with retries, see and manage what waits.
    #[command(
        after_help = "Examples:\n  mailwright queue add --queue outbox/ --from me@example.org --to you@example.org \
                            --text hi\n  mailwright queue flush --queue outbox/ --mx\n  \
                            mailwright queue status --queue outbox/"
    )]
    Queue(queue::Args),
    /// Sync IMAP folders into a local Maildir (only what is new; resumes after a crash).
    #[command(after_help = "Example:\n  mailwright fetch --imap imaps://imap.example.org --user me@example.org \
                            --password-file ~/.imap-pw --maildir ~/Maildir --folder INBOX --folder Archive")]
    Fetch(fetch::Args),
    /// Move mailboxes from one IMAP server to another, byte-identical with flags, keywords and
    /// dates, and prove it message by message; a rerun copies only what is new.
    #[command(
        after_help = "Examples:\n  mailwright migrate --from imaps://old.example.org --to imaps://new.example.org \
                            --users users.csv --jobs 8 --state state/\n  \
                            mailwright migrate verify --from imaps://old.example.org --to imaps://new.example.org \
                            --users users.csv --json"
    )]
    Migrate(Box<migrate::Args>),
    /// Can this domain's mail take hits? Redundancy (name servers, mail servers, networks),
    /// reachability and the published policies, each check with its evidence; exit 0 when
    /// nothing fails, 2 when a check fails, 75 when DNS could not be asked.
    #[command(after_help = "Examples:\n  mailwright audit example.org\n  \
                            mailwright audit example.org --json --resolver 192.0.2.53")]
    Audit(audit::Args),
    /// Run a rules file over a Maildir: dissect, save, run, print, reply, forward, move, flag;
    /// every message handled once.
    #[command(after_help = "Examples:\n  mailwright bot --rules rules.toml --dry-run\n  \
                            mailwright bot --rules rules.toml --watch")]
    Bot(bot::Args),
    /// Check who really sent a message: DKIM signatures, ARC, SPF (for --ip, --helo and
    /// --mail-from) and DMARC; exit 0 whatever they find, 75 when no name server answered.
    #[command(after_help = "Examples:\n  mailwright verify message.eml\n  \
                            mailwright verify - --json --ip 192.0.2.1 --helo mail.example.org \
                            --mail-from bounces@example.org < message.eml")]
    Verify(verify::Args),
    /// DKIM keys: make one and print the DNS record to publish.
    #[command(after_help = "Example:\n  mailwright dkim keygen --selector s1 --domain example.org --out s1.pem")]
    Dkim(verify::DkimArgs),
    /// Run the loop on a local Maildir: make a message with a PDF, deliver it, read it back,
    /// dissect it, print the command that would print the PDF, and check it is byte-exact.
    #[command(after_help = "Example:\n  mailwright demo")]
    Demo(demo::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Examples:\n  mailwright completions bash > /etc/bash_completion.d/mailwright\n  \
                            mailwright completions zsh > \"${fpath[1]}/_mailwright\"")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), made from this help.
    #[command(after_help = "Example:\n  mailwright manpage > /usr/local/share/man/man1/mailwright.1")]
    Manpage,
}

/// Runs the command line with `args` (program name first); returns the exit code.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    exit::USAGE
                } else {
                    exit::OK
                };
            }
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments").trim_start_matches("error: ");
            eprintln!("mailwright: {first} (see mailwright --help)");
            return exit::USAGE;
        }
    };
    let outcome = std::panic::catch_unwind(|| match cli.command {
        Command::Parse(a) => parse::run(a),
        Command::Dissect(a) => dissect::run(a),
        Command::Build(a) => build::run(a),
        Command::Send(a) => send::run(*a),
        Command::Queue(a) => queue::run(a),
        Command::Fetch(a) => fetch::run(a),
        Command::Migrate(a) => migrate::run(*a),
        Command::Audit(a) => audit::run(a),
        Command::Bot(a) => bot::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Dkim(a) => verify::run_dkim(a),
        Command::Demo(a) => demo::run(a),
        Command::Completions { shell } => completions(shell),
        Command::Manpage => manpage(),
    });
    match outcome {
        Ok(Ok(())) => exit::OK,
        Ok(Err(e)) => {
            eprintln!("mailwright: {}", e.message.replace('\n', " "));
            e.code
        }
        Err(_) => {
            eprintln!("mailwright: internal error; please report it with the input that caused it");
            exit::SOFTWARE
        }
    }
}

/// Writes the completion script for `shell`.
fn completions(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "mailwright", &mut script);
    out_bytes(&script)
}

/// Writes the man page.
fn manpage() -> Result<(), CliError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
        .render(&mut page)
        .map_err(|e| CliError { code: exit::SOFTWARE, message: format!("cannot render the man page: {e}") })?;
    out_bytes(&page)
}

/// `main` for the binary.
pub fn main() -> ExitCode {
    ExitCode::from(run(std::env::args_os()))
}

/// Writes `s` to stdout; a closed pipe is not an error.
pub(crate) fn out(s: &str) -> Result<(), CliError> {
    out_bytes(s.as_bytes())
}

/// Writes bytes to stdout; a closed pipe is not an error.
pub(crate) fn out_bytes(b: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(b).and_then(|_| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError { code: exit::SOFTWARE, message: format!("cannot write output: {e}") }),
    }
}
