//! `regkit <provider> prune --keep N --older-than AGE [--protect REGEX]…
//! [--apply | --out FILE]`: a retention plan, and with `--apply`
//! (confirmed) its deletions; `--out` writes the plan to a file that
//! `prune --apply-plan FILE` carries out later. Where the provider has a
//! data plane, the plan reads the image graph through a pull credential
//! minted for it (and revoked at the end).

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use std::path::Path;
use std::time::Duration;

use regkit_workflows::Capability;
use regkit_workflows::graph::GraphSession;
use regkit_workflows::retention::{
    self, ApplyOptions, ApplyReport, Deletion, Plan, Rules, Skipped,
};
use regkit_workflows::view::Registry;
use serde::Serialize;

use crate::cli::PruneArgs;
use crate::context::Context;
use crate::fail::{Fail, Result};
use crate::options::Options;
use crate::output::{self, Format, Progress, Table};

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
    for d in &args.pin {
        rules = rules
            .pin(d)
            .map_err(|e| Fail::usage(format!("--pin: {e}")))?;
    }
    Ok(rules.orphaned_referrers(!args.keep_orphaned_referrers))
}

/// How old a plan `--apply-plan` carries out by default: a day, long
/// enough to review a plan, short enough that the registry has not moved
/// far from it (each deletion is checked again anyway).
pub const MAX_PLAN_AGE: Duration = Duration::from_secs(24 * 3600);

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

pub async fn prune(ctx: &Context, args: PruneArgs, opts: Options) -> Result<()> {
    let (plan, registry) = match &args.apply_plan {
        Some(path) => {
            let plan = read_plan(path)?;
            let registry = ctx.pick_registry(Some(&plan.registry.id)).await?;
            plan.check_applies(
                ctx.provider.name(),
                &registry,
                ctx.clock.now(),
                args.max_plan_age.unwrap_or(MAX_PLAN_AGE),
            )
            .map_err(|e| Fail::error(format!("--apply-plan {}: {e}", path.display())))?;
            (Some(plan), registry)
        }
        None => {
            ctx.require(Capability::ListImages)?;
            (None, ctx.pick_registry(None).await?)
        }
    };
    let rules = match plan {
        Some(_) => None,
        None => Some(rules(&args)?),
    };
    // A plan from a file is checked against the graph when it read one.
    let graph = match &plan {
        Some(p) => p.graph_read,
        None => !args.no_graph,
    };
    let session = if graph {
        ctx.graph(&registry).await?
    } else {
        None
    };
    let result = run(ctx, &registry, plan, rules, &args, session.as_ref(), opts).await;
    crate::context::close_graph(session, result).await
}

async fn run(
    ctx: &Context,
    registry: &Registry,
    plan: Option<Plan>,
    rules: Option<Rules>,
    args: &PruneArgs,
    session: Option<&GraphSession>,
    opts: Options,
) -> Result<()> {
    let plan = match (plan, rules) {
        (Some(plan), _) => plan,
        (None, rules) => {
            let rules = rules.unwrap_or_default();
            let progress = Progress::spinner(
                opts.progress(),
                &format!("planning retention for {}", registry.name),
            );
            let now = ctx.clock.now();
            let planned = match session {
                Some(s) => {
                    retention::plan_with_graph(ctx.view.as_ref(), registry, &rules, now, s.reader())
                        .await
                }
                None => retention::plan(ctx.view.as_ref(), registry, &rules, now).await,
            };
            progress.finish();
            planned?
        }
    };
    for b in &plan.blocked {
        output::note(&format!(
            "warning: nothing is deleted in {}: {}",
            b.repository, b.reason
        ));
    }
    if let Some(path) = &args.out {
        write_plan(path, &plan)?;
        output::note(&format!(
            "Plan written to {}: {} and {} to delete; carry it out with `prune --apply-plan {}`",
            path.display(),
            output::plural(plan.totals.tags_deleted, "tag"),
            output::plural(plan.totals.manifests_deleted, "manifest"),
            path.display()
        ));
        return Ok(());
    }
    if !args.apply && args.apply_plan.is_none() {
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
    let mut options = ApplyOptions::new();
    if let Some(s) = session {
        options = options.graph(s.reader().clone());
    }
    let report = retention::apply(ctx.view.as_ref(), &plan, options).await;
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

fn read_plan(path: &Path) -> Result<Plan> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Fail::error(format!("--apply-plan {}: {e}", path.display())))?;
    Plan::from_json(&text).map_err(|e| Fail::error(format!("--apply-plan {}: {e}", path.display())))
}

/// Writes the plan through a temporary file beside it, renamed into
/// place: a reader never sees half a plan.
fn write_plan(path: &Path, plan: &Plan) -> Result<()> {
    let fail = |e: std::io::Error| Fail::error(format!("--out {}: {e}", path.display()));
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, plan.to_json() + "\n").map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
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
