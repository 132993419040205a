//! `regkit <provider> gc [--type …] [--wait] [--force]`: starts (or joins)
//! a garbage collection and, with `--wait`, follows it to its end. Where
//! the image graph can be read and the kind removes untagged manifests, it
//! first counts the untagged manifests kept images reference and refuses
//! (exit 1) unless `--force`.

use futures::StreamExt as _;
use regkit_workflows::Capability;
use regkit_workflows::gc::{GcEvent, GcWaiter, preflight};
use regkit_workflows::graph::GraphSession;
use regkit_workflows::view::{GcKind, Registry};

use crate::cli::GcArgs;
use crate::context::Context;
use crate::fail::{Fail, Result};
use crate::options::Options;
use crate::output::{self, Format};

pub async fn gc(ctx: &Context, args: GcArgs, opts: Options) -> Result<()> {
    ctx.require(Capability::GarbageCollection)?;
    let registry = ctx.pick_registry(None).await?;
    let kind = GcKind::from(args.kind);
    let session = if kind.leaves_untagged_manifests() {
        None
    } else {
        ctx.graph(&registry).await?
    };
    let result = run(ctx, &registry, kind, &args, session.as_ref(), opts).await;
    crate::context::close_graph(session, result).await
}

/// The preflight (where the image graph is read and the kind removes
/// untagged manifests), then the collection.
async fn run(
    ctx: &Context,
    registry: &Registry,
    kind: GcKind,
    args: &GcArgs,
    session: Option<&GraphSession>,
    opts: Options,
) -> Result<()> {
    if let Some(s) = session {
        let found = preflight(ctx.view.as_ref(), registry, s.reader()).await?;
        if found.referenced() > 0 {
            if !args.force {
                let refused = regkit_workflows::Error::GcWouldTakeReferenced {
                    index_children: found.index_children,
                    referrers: found.referrers,
                };
                return Err(Fail::error(format!("{refused} with --force")));
            }
            output::note(&format!("warning: --force: {found}"));
        }
    }
    let registry = registry.clone();
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
