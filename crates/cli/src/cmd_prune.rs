//! `regkit <provider> prune --keep N --older-than AGE [--protect REGEX]…
//! [--apply]`: a retention plan, and with `--apply` (confirmed) its
//! deletions.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use regkit_workflows::Capability;
use regkit_workflows::retention::{
    self, ApplyOptions, ApplyReport, Deletion, Plan, Rules, Skipped,
};
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

pub async fn prune(ctx: &Context, args: PruneArgs, opts: Options) -> Result<()> {
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
