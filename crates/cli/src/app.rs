//! The `regkit` binary's entry point: parse, pick the endpoint (the
//! environment or the embedded emulator), run, exit with a documented code.

use std::process::ExitCode;

use clap::Parser as _;
use regkit_core::Provider;
#[cfg(feature = "emulator")]
use regkit_emulator::Emulator;

use crate::cli::{Cli, Command, ProviderArgs, ProviderCommand};
use crate::commands;
use crate::context::{Context, Endpoint};
use crate::fail::{Fail, Result};
use crate::options::Options;
use crate::output::Format;
use crate::{cmd_call, cmd_copy};

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
                            "invalid value `{other}` for --output: table or json"
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
    let opts = Options {
        format: cli.global.output,
        yes: cli.global.yes,
    };
    let copies = matches!(
        cli.provider,
        ProviderCommand::Copy { .. } | ProviderCommand::Mirror { .. }
    );
    if copies && cli.global.emulator {
        return Err(Fail::usage(
            "copy and mirror need registries that serve content: run regkit-emulator and export what it prints",
        ));
    }
    if copies && cli.global.base_url.is_some() {
        return Err(Fail::usage(
            "--base-url cannot name the APIs of both ends: set REGKIT_<PROVIDER>_BASE_URL for each",
        ));
    }
    let (provider, args) = match cli.provider {
        ProviderCommand::Copy {
            src,
            dst,
            no_referrers,
        } => return cmd_copy::copy(&src, &dst, !no_referrers, opts).await,
        ProviderCommand::Mirror {
            src,
            dst,
            tags,
            since,
            no_referrers,
        } => {
            return cmd_copy::mirror(&src, &dst, tags.as_deref(), since, !no_referrers, opts).await;
        }
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
    #[cfg(feature = "emulator")]
    let emulator = if cli.global.emulator {
        Some(
            // It lives as long as the command: registries it served would
            // be gone before a client could push, so the APIs report the
            // providers' own hosts.
            Emulator::builder()
                .demo(true)
                .data_plane(false)
                .start()
                .await
                .map_err(|e| Fail::error(format!("cannot start the embedded emulator: {e}")))?,
        )
    } else {
        None
    };
    #[cfg(not(feature = "emulator"))]
    if cli.global.emulator {
        return Err(Fail::usage(
            "--emulator: this regkit was built without the embedded emulator \
             (cargo feature `emulator`); run regkit-emulator and pass --base-url",
        ));
    }
    let env = Endpoint::Env {
        base_url: cli.global.base_url.as_deref(),
    };
    #[cfg(feature = "emulator")]
    let endpoint = match &emulator {
        Some(emu) => Endpoint::Emulator(emu),
        None => env,
    };
    #[cfg(not(feature = "emulator"))]
    let endpoint = env;
    if let Command::Call { args } = command {
        return cmd_call::run(provider, endpoint, args, cli.global.output).await;
    }
    let ctx = Context::new(provider, endpoint, org, registry)?;
    commands::run(&ctx, command, opts).await
}

#[cfg(test)]
mod tests {
    use std::any::TypeId;

    use clap::error::ErrorKind;
    use clap::{CommandFactory as _, Parser as _};

    use crate::cli::Cli;

    /// Whether `arg` parses into an integer type; whether that type is
    /// signed.
    fn integer(arg: &clap::Arg) -> Option<bool> {
        let id = arg.get_value_parser().type_id();
        let unsigned = [
            TypeId::of::<u8>(),
            TypeId::of::<u16>(),
            TypeId::of::<u32>(),
            TypeId::of::<u64>(),
            TypeId::of::<usize>(),
        ];
        let signed = [
            TypeId::of::<i8>(),
            TypeId::of::<i16>(),
            TypeId::of::<i32>(),
            TypeId::of::<i64>(),
            TypeId::of::<isize>(),
        ];
        if unsigned.iter().any(|t| id == *t) {
            Some(false)
        } else if signed.iter().any(|t| id == *t) {
            Some(true)
        } else {
            None
        }
    }

    /// Every `--flag` of the command tree that takes an integer: the
    /// subcommand path to it, the flag, and whether it is signed.
    fn integer_flags(
        cmd: &clap::Command,
        path: &[String],
        found: &mut Vec<(Vec<String>, String, bool)>,
    ) {
        let mut here = path.to_vec();
        here.push(cmd.get_name().to_string());
        for arg in cmd.get_arguments() {
            if let (Some(long), Some(signed)) = (arg.get_long(), integer(arg)) {
                found.push((here.clone(), format!("--{long}"), signed));
            }
        }
        for sub in cmd.get_subcommands() {
            integer_flags(sub, &here, found);
        }
    }

    /// The class: every integer flag of `regkit`, given `-1` (where the
    /// type is unsigned), `abc` or a number too large, fails with a usage
    /// error (exit 2) that names the flag, not "unexpected argument".
    #[test]
    fn every_integer_flag_names_itself_on_a_bad_value() {
        let mut found = Vec::new();
        integer_flags(&Cli::command(), &[], &mut found);
        assert!(
            found.iter().any(|(_, flag, _)| flag == "--keep"),
            "{found:?}"
        );
        for (path, flag, signed) in &found {
            let mut bad = vec!["abc", "99999999999999999999999"];
            if !signed {
                bad.push("-1");
            }
            for value in bad {
                let mut argv = path.clone();
                argv.extend([flag.clone(), value.to_string()]);
                let err = Cli::try_parse_from(&argv).expect_err(&argv.join(" "));
                assert_eq!(err.kind(), ErrorKind::ValueValidation, "{argv:?}: {err}");
                assert_eq!(err.exit_code(), 2);
                let text = err.to_string();
                assert!(text.contains(&format!("'{flag} <")), "{argv:?}: {text}");
                assert!(text.contains(value), "{argv:?}: {text}");
            }
            if *signed {
                let mut argv = path.clone();
                argv.extend([flag.clone(), "-1".to_string()]);
                if let Err(e) = Cli::try_parse_from(&argv) {
                    assert_ne!(e.kind(), ErrorKind::UnknownArgument, "{argv:?}: {e}");
                }
            }
        }
    }

    #[test]
    fn ls_takes_its_registry_from_its_argument_only() {
        use crate::cli::{Command, ProviderCommand};
        let ls = |argv: &[&str]| match Cli::try_parse_from(argv).map(|c| c.provider) {
            Ok(ProviderCommand::DigitalOcean(a)) => (a.registry, a.command),
            other => panic!("{argv:?}: {other:?}"),
        };
        let (flag, command) = ls(&["regkit", "digitalocean", "--registry", "x", "ls"]);
        assert_eq!(flag.as_deref(), Some("x"));
        assert!(
            matches!(command, Command::Ls { registry: None }),
            "{command:?}"
        );
        let (flag, command) = ls(&["regkit", "digitalocean", "--registry", "x", "ls", "y"]);
        assert_eq!(flag.as_deref(), Some("x"));
        assert!(
            matches!(&command, Command::Ls { registry: Some(r) } if r == "y"),
            "{command:?}"
        );
    }
}
