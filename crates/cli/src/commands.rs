//! What each `regkit <provider> <command>` does.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use futures::StreamExt as _;
use regkit_workflows::Capability;
use regkit_workflows::docker_config::{self, DockerConfig};
use regkit_workflows::gc::{GcEvent, GcWaiter};
use regkit_workflows::lease::{DockerCredential, Lease, Lifetime};
use regkit_workflows::retention::{
    self, ApplyOptions, ApplyReport, Deletion, Plan, Rules, Skipped,
};
use regkit_workflows::view::{GcKind, Registry};
use serde::Serialize;
use serde_json::json;

use crate::cli::{Command, GcArgs, K8sSecretArgs, LoginArgs, PruneArgs};
use crate::context::Context;
use crate::credential_helper::logins;
use crate::fail::{Fail, Result};
use crate::output::{self, Format, Progress, Table};

/// The helper name `login --helper` writes into `credHelpers`: Docker then
/// runs `docker-credential-regkit`.
pub const HELPER_NAME: &str = "regkit";

/// Options of every command.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// `--output`.
    pub format: Format,
    /// `--yes`.
    pub yes: bool,
}

impl Options {
    fn progress(&self) -> bool {
        self.format == Format::Table && output::interactive()
    }
}

/// Runs `command` in `ctx`.
pub async fn run(ctx: &Context, command: Command, opts: Options) -> Result<()> {
    match command {
        // `ls` alone lists the registries whatever --registry or
        // REGKIT_REGISTRY say; only its own argument picks a registry.
        Command::Ls { registry: None } => ls_registries(ctx, opts).await,
        Command::Ls {
            registry: Some(name),
        } => ls_repositories(ctx, &name, opts).await,
        Command::Tags { repository } => tags(ctx, &repository, opts).await,
        Command::Login(args) => login(ctx, args, opts).await,
        Command::K8sSecret(args) => k8s_secret(ctx, args).await,
        Command::Prune(args) => prune(ctx, args, opts).await,
        Command::Gc(args) => gc(ctx, args, opts).await,
        // Dispatched before a context is built (no organization needed).
        Command::Call { .. } => Err(Fail::error("`call` runs without a registry context")),
    }
}

async fn ls_registries(ctx: &Context, opts: Options) -> Result<()> {
    ctx.require(Capability::ListRegistries)?;
    let registries = ctx.view.registries().await?;
    match opts.format {
        Format::Json => output::print_json(&json!({
            "provider": ctx.provider.name(),
            "registries": registries,
        })),
        Format::Table => {
            let mut table = Table::new(&["NAME", "ID", "HOST", "STORAGE"]);
            for r in &registries {
                table.row(vec![
                    r.name.clone(),
                    r.id.clone(),
                    r.host.clone().unwrap_or_else(|| "-".into()),
                    output::bytes(r.storage_bytes),
                ]);
            }
            output::print(&table.render())
        }
    }
}

async fn ls_repositories(ctx: &Context, name: &str, opts: Options) -> Result<()> {
    ctx.require(Capability::ListRepositories)?;
    let registry = ctx.pick_registry(Some(name)).await?;
    let mut stream = ctx.view.repositories(&registry);
    let progress = Progress::new(
        opts.progress(),
        &format!("listing repositories of {}", registry.name),
    );
    let mut table = Table::new(&["REPOSITORY", "TAGS", "UPDATED"]);
    while let Some(item) = stream.next().await {
        let repo = match item {
            Ok(repo) => repo,
            Err(e) => {
                progress.finish();
                return Err(listing_failed("repositories", e));
            }
        };
        progress.inc();
        match opts.format {
            Format::Json => output::print_json_line(&repo)?,
            Format::Table => table.row(vec![
                repo.name.clone(),
                repo.tag_count
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "-".into()),
                output::time(repo.updated_at),
            ]),
        }
    }
    progress.finish();
    if opts.format == Format::Table {
        output::print(&table.render())?;
    }
    Ok(())
}

fn listing_failed(what: &str, e: regkit_workflows::Error) -> Fail {
    Fail::from(e).context(format_args!("listing {what} failed"))
}

async fn tags(ctx: &Context, repository: &str, opts: Options) -> Result<()> {
    ctx.require(Capability::ListImages)?;
    let registry = ctx.pick_registry(None).await?;
    let mut stream = ctx.view.images(&registry, repository);
    let progress = Progress::new(opts.progress(), &format!("listing images of {repository}"));
    let mut table = Table::new(&["TAG", "DIGEST", "SIZE", "UPDATED"]);
    while let Some(item) = stream.next().await {
        let image = match item {
            Ok(image) => image,
            Err(e) => {
                progress.finish();
                return Err(listing_failed("images", e));
            }
        };
        progress.inc();
        match opts.format {
            Format::Json => output::print_json_line(&image)?,
            Format::Table => table.row(vec![
                image.tag.clone().unwrap_or_else(|| "<untagged>".into()),
                output::short_digest(&image.digest),
                output::bytes(image.size_bytes),
                output::time(image.updated_at),
            ]),
        }
    }
    progress.finish();
    if opts.format == Format::Table {
        output::print(&table.render())?;
    }
    Ok(())
}

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

async fn login(ctx: &Context, args: LoginArgs, opts: Options) -> Result<()> {
    if args.helper && ctx.emulated {
        return Err(Fail::usage(
            "--helper with --emulator: the embedded emulator stops when this command ends, so \
             docker-credential-regkit could not reach it; run regkit-emulator and pass --base-url",
        ));
    }
    let registry = ctx.pick_registry(None).await?;
    if args.helper {
        return login_helper(ctx, &registry, opts);
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
fn login_helper(ctx: &Context, registry: &Registry, opts: Options) -> Result<()> {
    let host = registry.host.clone().ok_or_else(|| {
        Fail::error(format!(
            "{} does not say which host Docker logs in to for registry {}",
            ctx.provider, registry.name
        ))
    })?;
    // Docker asks credHelpers by host alone, and sends `get` the host.
    let docker_host = logins::docker_host(&host);
    let config = docker_config(ctx)?;
    let login = logins::for_registry(ctx, registry, &host);
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

async fn mint(
    ctx: &Context,
    registry: &Registry,
    lifetime: Lifetime,
    push: bool,
) -> Result<DockerCredential> {
    let lease = match lifetime {
        Lifetime::Ttl(ttl) => Lease::new(ctx.source(registry)?).ttl(ttl),
        Lifetime::NeverExpires => Lease::new(ctx.source(registry)?).never_expire(),
    };
    let lease = lease
        .margin(std::time::Duration::ZERO)
        .write(push)
        .clock(ctx.clock.clone());
    Ok(lease.get().await?)
}

async fn k8s_secret(ctx: &Context, args: K8sSecretArgs) -> Result<()> {
    let registry = ctx.pick_registry(None).await?;
    let credential = mint(ctx, &registry, args.lifetime(), false).await?;
    let manifest = docker_config::kubernetes_secret(&args.name, &args.namespace, &[credential]);
    output::print(&format!("{manifest}\n"))
}

fn rules(args: &PruneArgs) -> Result<Rules> {
    if args.keep.is_none() && args.older_than.is_none() {
        return Err(Fail::usage(
            "prune needs --keep N and/or --older-than AGE (e.g. --keep 10 --older-than 30d)",
        ));
    }
    let mut rules = Rules::new();
    if let Some(n) = args.keep {
        rules = rules.keep_newest(n);
    }
    if let Some(age) = args.older_than {
        rules = rules.older_than(age);
    }
    for p in &args.protect {
        rules = rules.protect(p).map_err(Fail::usage)?;
    }
    for p in &args.repositories {
        rules = rules.repository(p).map_err(Fail::usage)?;
    }
    Ok(rules)
}

fn plan_table(plan: &Plan) -> String {
    let t = &plan.totals;
    let repositories = output::count(t.repositories, "repository", Some("repositories"));
    let mut text = format!(
        "Retention plan for {} registry {}\nRules: {}\n",
        plan.provider, plan.registry.name, plan.rules
    );
    if plan.is_empty() {
        text.push_str(&format!(
            "Nothing to delete ({repositories}, {} seen).\n",
            output::plural(t.tags_seen, "tag")
        ));
        return text;
    }
    text.push('\n');
    text.push_str(&deletions_table(&plan.deletions).render());
    text.push_str(&format!(
        "\n{repositories}, {} seen, {} kept; delete {} and {}, freeing up to {}{}\n",
        output::plural(t.tags_seen, "tag"),
        t.tags_kept,
        output::plural(t.tags_deleted, "tag"),
        output::plural(t.manifests_deleted, "manifest"),
        output::bytes(Some(t.freed_bytes)),
        if t.unknown_sizes > 0 {
            format!(" (and {} of unknown size)", t.unknown_sizes)
        } else {
            String::new()
        }
    ));
    text
}

fn deletions_table(deletions: &[Deletion]) -> Table {
    let mut table = Table::new(&["REPOSITORY", "TAG", "DIGEST", "RULE", "FREES"]);
    for d in deletions {
        table.row(vec![
            d.repository.clone(),
            d.tag.clone().unwrap_or_else(|| "<manifest>".into()),
            output::short_digest(&d.digest),
            d.rule.to_string(),
            output::bytes(d.freed_bytes),
        ]);
    }
    table
}

/// `prune --apply`'s JSON.
#[derive(Serialize)]
struct ApplyJson<'a> {
    plan: &'a Plan,
    complete: bool,
    done: &'a [Deletion],
    /// Skipped: what they would delete changed since the plan.
    changed: &'a [Skipped],
    failed: Option<FailedJson<'a>>,
    not_attempted: &'a [Deletion],
}

#[derive(Serialize)]
struct FailedJson<'a> {
    deletion: &'a Deletion,
    error: String,
}

async fn prune(ctx: &Context, args: PruneArgs, opts: Options) -> Result<()> {
    let rules = rules(&args)?;
    ctx.require(Capability::ListImages)?;
    let registry = ctx.pick_registry(None).await?;
    let progress = Progress::spinner(
        opts.progress(),
        &format!("planning retention for {}", registry.name),
    );
    let plan = retention::plan(ctx.view.as_ref(), &registry, &rules, ctx.clock.now()).await;
    progress.finish();
    let plan = plan?;
    if !args.apply {
        return match opts.format {
            Format::Json => output::print_json(&plan),
            Format::Table => output::print(&plan_table(&plan)),
        };
    }
    if plan.is_empty() {
        return match opts.format {
            Format::Json => print_apply(&plan, &empty_report(), opts),
            Format::Table => output::print(&plan_table(&plan)),
        };
    }
    for (needed, capability) in [
        (plan.totals.tags_deleted > 0, Capability::DeleteTag),
        (
            plan.totals.manifests_deleted > 0,
            Capability::DeleteManifest,
        ),
    ] {
        if needed {
            ctx.require(capability)?;
        }
    }
    if !opts.yes {
        confirm(&plan, opts)?;
    }
    let progress = Progress::spinner(
        opts.progress(),
        &format!(
            "deleting {}",
            output::count(
                plan.deletions.len(),
                "tag or manifest",
                Some("tags and manifests")
            )
        ),
    );
    let report = retention::apply(ctx.view.as_ref(), &plan, ApplyOptions::new()).await;
    progress.finish();
    let report = report?;
    // A closed stdout does not hide a partial failure: the exit code 3
    // still says that part of the work was not done.
    let printed = print_apply(&plan, &report, opts);
    if report.is_complete() {
        printed
    } else {
        Err(Fail::partial(format!(
            "prune stopped after {} of {}",
            report.done.len(),
            output::plural(plan.deletions.len(), "deletion")
        )))
    }
}

fn empty_report() -> ApplyReport {
    ApplyReport::default()
}

fn confirm(plan: &Plan, opts: Options) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(Fail::error(
            "refusing to delete without confirmation: stdin is not a terminal; pass --yes",
        ));
    }
    if opts.format == Format::Table {
        output::print(&plan_table(plan))?;
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "Delete {} and {} from {} registry {}? [y/N] ",
        output::plural(plan.totals.tags_deleted, "tag"),
        output::plural(plan.totals.manifests_deleted, "manifest"),
        plan.provider,
        plan.registry.name
    );
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Fail::error(format!("reading the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Fail::error("cancelled: nothing deleted"))
    }
}

fn print_apply(plan: &Plan, report: &ApplyReport, opts: Options) -> Result<()> {
    match opts.format {
        Format::Json => output::print_json(&ApplyJson {
            plan,
            complete: report.is_complete(),
            done: &report.done,
            changed: &report.changed,
            failed: report.failed.as_ref().map(|(d, e)| FailedJson {
                deletion: d,
                error: e.to_string(),
            }),
            not_attempted: &report.not_attempted,
        }),
        Format::Table => {
            let mut text = format!(
                "Deleted {} of {} ({} and {} planned)\n",
                report.done.len(),
                plan.deletions.len(),
                output::plural(plan.totals.tags_deleted, "tag"),
                output::plural(plan.totals.manifests_deleted, "manifest")
            );
            if !report.changed.is_empty() {
                text.push_str(&format!(
                    "Skipped, changed since the plan ({}):\n",
                    report.changed.len()
                ));
                for skipped in &report.changed {
                    text.push_str(&format!("  {skipped}\n"));
                }
            }
            if let Some((d, e)) = &report.failed {
                text.push_str(&format!("Failed: {d}: {e}\n"));
            }
            if !report.not_attempted.is_empty() {
                text.push_str(&format!(
                    "Not attempted ({}):\n",
                    report.not_attempted.len()
                ));
                text.push_str(&deletions_table(&report.not_attempted).render());
            }
            output::print(&text)
        }
    }
}

async fn gc(ctx: &Context, args: GcArgs, opts: Options) -> Result<()> {
    ctx.require(Capability::GarbageCollection)?;
    let registry = ctx.pick_registry(None).await?;
    let kind = GcKind::from(args.kind);
    if !args.wait {
        let status = ctx.view.start_gc(&registry, kind).await?;
        return match opts.format {
            Format::Json => output::print_json(&status),
            Format::Table => output::print(&format!(
                "Garbage collection {} on {}: {}\n",
                status.id, registry.name, status.status
            )),
        };
    }
    let waiter = GcWaiter::new().clock(ctx.clock.clone());
    let mut events = waiter.run(ctx.view.as_ref(), &registry, kind);
    let mut last = None;
    while let Some(event) = events.next().await {
        let event = event?;
        match opts.format {
            Format::Json => output::print_json_line(&event)?,
            Format::Table => output::print(&format!("{event}\n"))?,
        }
        if let GcEvent::Finished(status) = event {
            last = Some(status);
        }
    }
    match last {
        Some(status) if status.succeeded => Ok(()),
        Some(status) => Err(Fail::error(format!(
            "garbage collection {} ended {}",
            status.id, status.status
        ))),
        None => Err(Fail::error("the garbage collection's events ended early")),
    }
}
