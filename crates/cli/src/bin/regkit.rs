//! `regkit`: one command line for five container-registry providers.

fn main() -> std::process::ExitCode {
    regkit_cli::app::main()
}
