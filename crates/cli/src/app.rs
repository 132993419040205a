//! The `regkit` binary's entry point: parse, pick the endpoint (the
//! environment or the embedded emulator), run, exit with a documented code.

use std::process::ExitCode;

use clap::Parser as _;
use regkit_emulator::{Emulator, Provider};

use crate::cli::{Cli, ProviderArgs, ProviderCommand};
use crate::commands::{self, Options};
use crate::context::{Context, Endpoint};
use crate::fail::{Fail, Result};

/// Runs `regkit` with this process's arguments.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version exit 0, usage errors 2, as clap decides.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Fail::error(format!("cannot start the runtime: {e}")).report("regkit"),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => fail.report("regkit"),
    }
}

async fn run(cli: Cli) -> Result<()> {
    let (provider, args) = match cli.provider {
        ProviderCommand::DigitalOcean(a) => (Provider::DigitalOcean, a),
        ProviderCommand::Ionos(a) => (Provider::Ionos, a),
        ProviderCommand::Humanitec(a) => (Provider::Humanitec, a),
        ProviderCommand::Buildkite(a) => (Provider::Buildkite, a),
        ProviderCommand::Abeja(a) => (Provider::Abeja, a),
    };
    let ProviderArgs {
        org,
        registry,
        command,
    } = args;
    let emulator = if cli.global.emulator {
        Some(
            Emulator::builder()
                .demo(true)
                .start()
                .await
                .map_err(|e| Fail::error(format!("cannot start the embedded emulator: {e}")))?,
        )
    } else {
        None
    };
    let endpoint = match &emulator {
        Some(emu) => Endpoint::Emulator(emu),
        None => Endpoint::Env {
            base_url: cli.global.base_url.as_deref(),
        },
    };
    let ctx = Context::new(provider, endpoint, org, registry)?;
    let opts = Options {
        format: cli.global.output,
        yes: cli.global.yes,
    };
    commands::run(&ctx, command, opts).await
}
