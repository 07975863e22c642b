//! The `mailwright` command line; see `mailwright --help`.

fn main() -> std::process::ExitCode {
    mailwright::cli::main()
}
