//! `docker-credential-regkit`: a Docker credential helper that mints
//! short-lived registry credentials (see `regkit_cli::credential_helper`).

fn main() -> std::process::ExitCode {
    regkit_cli::credential_helper::main()
}
