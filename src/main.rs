//! The `scanstation` binary: parses the command line and hands over to [`scanstation::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    scanstation::cli::main()
}
