//! The `cascade` binary: parses the command line and hands over to [`cascade::cli::run`].

fn main() -> std::process::ExitCode {
    cascade::cli::run()
}
