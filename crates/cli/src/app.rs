//! The `regkit` binary's entry point: parse, pick the endpoint (the
//! environment or the embedded emulator), run, exit with a documented code.

use std::process::ExitCode;

use clap::Parser as _;
use regkit_emulator::{Emulator, Provider};

use crate::call_command;
use crate::cli::{Cli, Command, ProviderArgs, ProviderCommand};
use crate::commands::{self, Options};
use crate::context::{Context, Endpoint};
use crate::fail::{Fail, Result};
use crate::output::Format;

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

/// regkit's global flags given after `call <operation>` (where clap hands
/// everything to the generated command): taken out and applied.
fn take_globals(cli_global: &mut crate::cli::Global, args: Vec<String>) -> Result<Vec<String>> {
    let mut rest = Vec::with_capacity(args.len());
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |flag: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| Fail::usage(format!("{flag} needs a value")))
        };
        match name.as_str() {
            "--output" => {
                cli_global.output = match value("--output")?.as_str() {
                    "json" => Format::Json,
                    "table" => Format::Table,
                    other => {
                        return Err(Fail::usage(format!(
                            "invalid value {other:?} for --output: table or json"
                        )));
                    }
                }
            }
            "--base-url" => cli_global.base_url = Some(value("--base-url")?),
            "--emulator" if inline.is_none() => cli_global.emulator = true,
            "--yes" | "-y" if inline.is_none() => cli_global.yes = true,
            _ => rest.push(arg),
        }
    }
    if cli_global.emulator && cli_global.base_url.is_some() {
        return Err(Fail::usage(
            "--emulator and --base-url cannot be used together",
        ));
    }
    Ok(rest)
}

async fn run(mut cli: Cli) -> Result<()> {
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
    let command = match command {
        Command::Call { args } => Command::Call {
            args: take_globals(&mut cli.global, args)?,
        },
        other => other,
    };
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
    if let Command::Call { args } = command {
        return call_command::run(provider, endpoint, args, cli.global.output).await;
    }
    let ctx = Context::new(provider, endpoint, org, registry)?;
    let opts = Options {
        format: cli.global.output,
        yes: cli.global.yes,
    };
    commands::run(&ctx, command, opts).await
}
