//! `regkit <provider> call <operation> [--flags] [--body FILE]`: the
//! generated `call` subcommand of each provider (see [`crate::call`]),
//! reached from the derive-based command line with the provider's client.

use regkit_core::Provider;

use crate::call::{self, CallError, CallOutput};
use crate::call_table;
use crate::context::{self, Endpoint};
use crate::fail::{EXIT_USAGE, Fail, Result};
use crate::output::{self, Format};

/// Parses `args` (what follows `call`) with the provider's generated
/// command and sends the operation.
pub async fn run(
    provider: Provider,
    endpoint: Endpoint<'_>,
    args: Vec<String>,
    format: Format,
) -> Result<()> {
    let ops = call_table::operations(provider.name())
        .ok_or_else(|| Fail::error(format!("{provider} has no generated operations")))?;
    let command = call::command(provider.name(), ops).bin_name(format!("regkit {provider} call"));
    let matches =
        match command.try_get_matches_from(std::iter::once("call".to_string()).chain(args)) {
            Ok(m) => m,
            Err(e) => {
                // Help exits 0, usage errors 2, as clap decides.
                let _ = e.print();
                return Err(Fail {
                    code: u8::try_from(e.exit_code()).unwrap_or(EXIT_USAGE),
                    message: String::new(),
                });
            }
        };
    let Some((operation, args)) = matches.subcommand() else {
        return Err(Fail::usage(format!(
            "name an operation: `regkit {provider} call --help` lists them"
        )));
    };
    let answer = match provider {
        Provider::DigitalOcean => {
            call_table::call_digitalocean(&context::client(endpoint)?, operation, args).await
        }
        Provider::Ionos => {
            call_table::call_ionos(&context::client(endpoint)?, operation, args).await
        }
        Provider::Humanitec => {
            call_table::call_humanitec(&context::client(endpoint)?, operation, args).await
        }
        Provider::Buildkite => {
            call_table::call_buildkite(&context::client(endpoint)?, operation, args).await
        }
        Provider::Abeja => {
            call_table::call_abeja(&context::client(endpoint)?, operation, args).await
        }
    };
    let answer = answer.map_err(|e| match e {
        CallError::InvalidBody { .. } | CallError::UnknownOperation { .. } => Fail::usage(e),
        CallError::Api(api) => Fail::api(api.as_ref(), &api),
        other => Fail::error(other),
    })?;
    print(&answer, format)
}

fn print(answer: &CallOutput, format: Format) -> Result<()> {
    match format {
        Format::Json => output::print_json(answer),
        Format::Table => {
            if answer.body.is_null() {
                output::print(&format!("HTTP {}\n", answer.status))
            } else {
                output::print_json(&answer.body)
            }
        }
    }?;
    if answer.redacted && format == Format::Table {
        output::note("(secret values shown as [REDACTED]; pass --show-secrets to see them)");
    }
    Ok(())
}
