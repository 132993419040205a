//! What each `regkit <provider> <command>` does: the dispatcher. Each
//! command is its own `cmd_<command>.rs`; `call` is dispatched by `app`
//! before a registry context exists (`cmd_call.rs`).

use crate::cli::Command;
use crate::context::Context;
use crate::fail::{Fail, Result};
use crate::options::Options;
use crate::{cmd_gc, cmd_k8s_secret, cmd_login, cmd_ls, cmd_prune, cmd_tags};

/// Runs `command` in `ctx`.
pub async fn run(ctx: &Context, command: Command, opts: Options) -> Result<()> {
    match command {
        // `ls` alone lists the registries whatever --registry or
        // REGKIT_REGISTRY say; only its own argument picks a registry.
        Command::Ls { registry: None } => cmd_ls::ls_registries(ctx, opts).await,
        Command::Ls {
            registry: Some(name),
        } => cmd_ls::ls_repositories(ctx, &name, opts).await,
        Command::Tags { repository, tree } => cmd_tags::tags(ctx, &repository, tree, opts).await,
        Command::Login(args) => cmd_login::login(ctx, args, opts).await,
        Command::K8sSecret(args) => cmd_k8s_secret::k8s_secret(ctx, args).await,
        Command::Prune(args) => cmd_prune::prune(ctx, args, opts).await,
        Command::Gc(args) => cmd_gc::gc(ctx, args, opts).await,
        // Dispatched before a context is built (no organization needed).
        Command::Call { .. } => Err(Fail::error("`call` runs without a registry context")),
    }
}
