//! `regkit <provider> ls [REGISTRY]`: the registries, or a registry's
//! repositories.

use futures::StreamExt as _;
use regkit_workflows::Capability;
use serde_json::json;

use crate::context::Context;
use crate::fail::{Result, listing_failed};
use crate::options::Options;
use crate::output::{self, Format, Progress, Table};

pub async fn ls_registries(ctx: &Context, opts: Options) -> Result<()> {
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

pub async fn ls_repositories(ctx: &Context, name: &str, opts: Options) -> Result<()> {
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
