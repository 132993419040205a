//! `regkit <provider> tags REPO`: a repository's images (tag, digest, size,
//! updated).

use futures::StreamExt as _;
use regkit_workflows::Capability;

use crate::context::Context;
use crate::fail::{Result, listing_failed};
use crate::options::Options;
use crate::output::{self, Format, Progress, Table};

pub async fn tags(ctx: &Context, repository: &str, opts: Options) -> Result<()> {
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
