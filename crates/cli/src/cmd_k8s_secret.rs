//! `regkit <provider> k8s-secret [--name N] [--namespace NS]`: a
//! `kubernetes.io/dockerconfigjson` Secret manifest with a fresh credential.

use regkit_workflows::docker_config;

use crate::cli::K8sSecretArgs;
use crate::context::Context;
use crate::fail::Result;
use crate::mint::mint;
use crate::output;

pub async fn k8s_secret(ctx: &Context, args: K8sSecretArgs) -> Result<()> {
    let registry = ctx.pick_registry(None).await?;
    let credential = mint(ctx, &registry, args.lifetime(), false).await?;
    let manifest = docker_config::kubernetes_secret(&args.name, &args.namespace, &[credential]);
    output::print(&format!("{manifest}\n"))
}
