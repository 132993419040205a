//! Minting a Docker credential for a registry: what `login` and
//! `k8s-secret` share.

use regkit_workflows::lease::{DockerCredential, Lease, Lifetime};
use regkit_workflows::view::Registry;

use crate::context::Context;
use crate::fail::Result;

/// A credential for `registry` with `lifetime`, for pulls (and pushes when
/// `push`), minted now (no margin) on the context's clock.
pub async fn mint(
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
