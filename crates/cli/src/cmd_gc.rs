//! `regkit <provider> gc [--type …] [--wait]`: starts (or joins) a garbage
//! collection and, with `--wait`, follows it to its end.

use futures::StreamExt as _;
use regkit_workflows::Capability;
use regkit_workflows::gc::{GcEvent, GcWaiter};
use regkit_workflows::view::GcKind;

use crate::cli::GcArgs;
use crate::context::Context;
use crate::fail::{Fail, Result};
use crate::options::Options;
use crate::output::{self, Format};

pub async fn gc(ctx: &Context, args: GcArgs, opts: Options) -> Result<()> {
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
