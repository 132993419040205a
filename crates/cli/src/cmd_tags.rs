//! `regkit <provider> tags REPO [--tree]`: a repository's images (tag,
//! digest, size, updated), or with `--tree` each tag's image graph.

use futures::StreamExt as _;
use regkit_workflows::Capability;

use futures::TryStreamExt as _;
use regkit_workflows::graph::GraphSession;
use regkit_workflows::view::{Image, Registry};

use crate::context::Context;
use crate::fail::{Fail, Result, listing_failed};
use crate::image_tree::{TaggedTree, render, tree};
use crate::options::Options;
use crate::output::{self, Format, Progress, Table};

pub async fn tags(ctx: &Context, repository: &str, tree: bool, opts: Options) -> Result<()> {
    ctx.require(Capability::ListImages)?;
    let registry = ctx.pick_registry(None).await?;
    if tree {
        let Some(session) = ctx.graph(&registry).await? else {
            return Err(Fail::error(format!(
                "--tree reads the registry itself: {} has no data plane{}",
                ctx.provider,
                if ctx.emulated {
                    " under --emulator (run regkit-emulator and point regkit at it)"
                } else {
                    ""
                }
            )));
        };
        let result = trees(ctx, &registry, repository, &session, opts).await;
        return crate::context::close_graph(Some(session), result).await;
    }
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

async fn trees(
    ctx: &Context,
    registry: &Registry,
    repository: &str,
    session: &GraphSession,
    opts: Options,
) -> Result<()> {
    let progress = Progress::spinner(
        opts.progress(),
        &format!("reading the graph of {repository}"),
    );
    let listed: std::result::Result<Vec<Image>, _> =
        ctx.view.images(registry, repository).try_collect().await;
    let listed = match listed {
        Ok(l) => l,
        Err(e) => {
            progress.finish();
            return Err(listing_failed("images", e));
        }
    };
    let graph = session
        .reader()
        .repository(ctx.view.as_ref(), registry, repository, &listed)
        .await;
    progress.finish();
    let graph = graph.map_err(Fail::error)?;
    let trees: Vec<TaggedTree> = graph
        .tags
        .iter()
        .map(|(tag, digest)| TaggedTree {
            tag: tag.clone(),
            root: tree(&graph, digest, None),
        })
        .collect();
    match opts.format {
        Format::Json => {
            for t in &trees {
                output::print_json_line(t)?;
            }
            Ok(())
        }
        Format::Table => output::print(&render(&trees)),
    }
}
