//! `regkit <provider> login [--ttl 1h] [--write] [--push] [--print]
//! [--helper]`: a short-lived Docker credential, shown, merged into Docker's
//! `config.json`, or left to `docker-credential-regkit`.

use regkit_workflows::docker_config::DockerConfig;
use regkit_workflows::lease::DockerCredential;
use regkit_workflows::view::Registry;
use serde::Serialize;

use crate::cli::LoginArgs;
use crate::context::Context;
use crate::credential_helper::logins;
use crate::fail::{Fail, Result};
use crate::mint::mint;
use crate::options::Options;
use crate::output::{self, Format};

/// The helper name `login --helper` writes into `credHelpers`: Docker then
/// runs `docker-credential-regkit`.
pub const HELPER_NAME: &str = "regkit";

/// What `login` reports (never the password).
#[derive(Serialize)]
struct LoginReport<'a> {
    provider: &'static str,
    registry: &'a str,
    credential: Option<&'a DockerCredential>,
    host: &'a str,
    config: Option<String>,
    written: bool,
    helper: Option<&'static str>,
    /// Where `--helper` recorded what the helper needs to mint later.
    helper_logins: Option<String>,
}

/// Docker's configuration, unless the emulator answers and `DOCKER_CONFIG`
/// is not set: the emulator's credentials must not replace real ones in
/// `~/.docker/config.json`.
fn docker_config(ctx: &Context) -> Result<DockerConfig> {
    if ctx.emulated && std::env::var_os("DOCKER_CONFIG").is_none_or(|d| d.is_empty()) {
        return Err(Fail::usage(
            "with --emulator, set DOCKER_CONFIG to a scratch directory: the emulator's \
             credentials must not replace real ones in ~/.docker/config.json",
        ));
    }
    Ok(DockerConfig::from_env()?)
}

pub async fn login(ctx: &Context, args: LoginArgs, opts: Options) -> Result<()> {
    if args.helper && ctx.emulated {
        return Err(Fail::usage(
            "--helper with --emulator: the embedded emulator stops when this command ends, so \
             docker-credential-regkit could not reach it; run regkit-emulator and pass --base-url",
        ));
    }
    let registry = ctx.pick_registry(None).await?;
    if args.helper {
        return login_helper(ctx, &registry, args.push, opts);
    }
    let credential = mint(ctx, &registry, args.lifetime(), args.push).await?;
    if args.print {
        return output::print(&format!("{}\n", credential.password.expose_secret()));
    }
    let config = if args.write {
        let config = docker_config(ctx)?;
        let merged = config.merge_credential(&credential)?;
        if let Some(helper) = merged.shadowed_by {
            eprintln!(
                "warning: Docker asks the credential helper `{helper}` for {} before config.json's auths",
                credential.host
            );
        }
        Some(config)
    } else {
        None
    };
    let report = LoginReport {
        provider: ctx.provider.name(),
        registry: &registry.name,
        credential: Some(&credential),
        host: &credential.host,
        config: config.as_ref().map(|c| c.path().display().to_string()),
        written: config.is_some(),
        helper: None,
        helper_logins: None,
    };
    match opts.format {
        Format::Json => output::print_json(&report),
        Format::Table => {
            let mut text = format!("Minted {credential}\n");
            match &config {
                Some(c) => text.push_str(&format!("Written to {}\n", c.path().display())),
                None => text.push_str(
                    "Nothing written: pass --write to merge it into Docker's config.json, \
                     --print to show the password, or --helper to use docker-credential-regkit\n",
                ),
            }
            output::print(&text)
        }
    }
}

/// `login --helper`: records for the credential helper which registry the
/// host is (provider, registry, organization, API address; no secret),
/// then points `credHelpers[host]` at it. Recorded first, so Docker never
/// asks the helper about a host it cannot mint for.
fn login_helper(ctx: &Context, registry: &Registry, push: bool, opts: Options) -> Result<()> {
    let host = registry.host.clone().ok_or_else(|| {
        Fail::error(format!(
            "{} does not say which host Docker logs in to for registry {}",
            ctx.provider, registry.name
        ))
    })?;
    // Docker asks credHelpers by host alone, and sends `get` the host.
    let docker_host = logins::docker_host(&host);
    let config = docker_config(ctx)?;
    let login = logins::for_registry(ctx, registry, &host, push);
    let recorded = logins::record(&docker_host, &login)?;
    config.set_cred_helper(&docker_host, HELPER_NAME)?;
    let report = LoginReport {
        provider: ctx.provider.name(),
        registry: &registry.name,
        credential: None,
        host: &docker_host,
        config: Some(config.path().display().to_string()),
        written: true,
        helper: Some(HELPER_NAME),
        helper_logins: Some(recorded.display().to_string()),
    };
    match opts.format {
        Format::Json => output::print_json(&report),
        Format::Table => output::print(&format!(
            "Docker now asks docker-credential-regkit for {docker_host} (credHelpers in {}); \
             it mints for {} registry {} (recorded in {})\n",
            config.path().display(),
            ctx.provider,
            registry.name,
            recorded.display()
        )),
    }
}
