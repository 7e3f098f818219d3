//! The `ferry` binary: parses arguments, calls the library, prints, and picks the exit code.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
