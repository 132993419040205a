//! `regkit copy SRC DST` and `regkit mirror SRC-REPO DST-REPO`: images
//! moved between registries of any providers with a data plane, with
//! credentials minted at both ends (read-only at the source, push at the
//! destination) and revoked when the command ends, whatever its outcome.
//! Never written to disk.
//!
//! Buildkite as a destination: its registry tokens only read, so pushes
//! there use the API access token the command runs with
//! ([`buildkite_push_login`]).
//!
//! References: `PROVIDER:REGISTRY/REPOSITORY[:TAG|@DIGEST]`, where
//! REGISTRY is DigitalOcean's registry name, IONOS's registry id or name,
//! or Buildkite's `ORG/REGISTRY` (`buildkite:acme/images/web:v1`).

use std::time::Duration;

use futures::TryStreamExt as _;
use regex::Regex;
use regkit_core::Provider;
use regkit_workflows::copy::{self, CopyOptions, CopyReport, OnBytes, Side};
use regkit_workflows::graph::GraphSession;
use regkit_workflows::view::Image;

use crate::context::{Context, Endpoint, close_graph};
use crate::fail::{Fail, Result};
use crate::options::Options;
use crate::output::{self, Format, Progress};

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub provider: Provider,
    pub org: Option<String>,
    pub registry: String,
    pub repository: String,
    /// A tag or `sha256:…` digest; `None` for a whole repository.
    pub reference: Option<String>,
}

/// Parses `text` (the value of argument `what`).
pub fn parse_ref(what: &str, text: &str, whole_repository: bool) -> Result<ImageRef> {
    let bad = |why: &str| {
        Fail::usage(format!(
            "{what} {text:?}: {why} (PROVIDER:REGISTRY/REPOSITORY{}, e.g. digitalocean:demo/web{})",
            if whole_repository {
                ""
            } else {
                "[:TAG|@DIGEST]"
            },
            if whole_repository { "" } else { ":v1" }
        ))
    };
    let (provider, rest) = text.split_once(':').ok_or_else(|| bad("no provider"))?;
    let provider: Provider = provider
        .parse()
        .map_err(|_| bad(&format!("{provider:?} is not a provider")))?;
    let (path, reference) = match rest.split_once('@') {
        Some((p, d)) => (p, Some(d.to_string())),
        None => match rest.rsplit_once(':') {
            Some((p, t)) if !t.contains('/') => (p, Some(t.to_string())),
            _ => (rest, None),
        },
    };
    if whole_repository && reference.is_some() {
        return Err(bad("a repository takes no tag or digest"));
    }
    if !whole_repository && reference.is_none() {
        return Err(bad("name a tag or a digest"));
    }
    let mut parts = path.splitn(
        if provider == Provider::Buildkite {
            3
        } else {
            2
        },
        '/',
    );
    let (org, registry) = if provider == Provider::Buildkite {
        (parts.next().map(str::to_string), parts.next())
    } else {
        (None, parts.next())
    };
    let registry = registry
        .filter(|r| !r.is_empty())
        .ok_or_else(|| bad("no registry"))?;
    let repository = parts
        .next()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| bad("no repository"))?;
    if reference.as_deref().is_some_and(str::is_empty) {
        return Err(bad("an empty tag or digest"));
    }
    Ok(ImageRef {
        provider,
        org,
        registry: registry.to_string(),
        repository: repository.to_string(),
        reference,
    })
}

/// One end, opened: its context, its session, its side.
struct End {
    ctx: Context,
    session: Option<GraphSession>,
    side: Side,
}

/// Each end's API is the provider's, or `REGKIT_<PROVIDER>_BASE_URL`'s
/// (as for the credential helper: one `--base-url` cannot name two APIs).
async fn open(r: &ImageRef, push: bool) -> Result<End> {
    let base_url = std::env::var(crate::credential_helper::base_url_env(r.provider))
        .ok()
        .filter(|v| !v.trim().is_empty());
    let ctx = Context::new(
        r.provider,
        Endpoint::Env {
            base_url: base_url.as_deref().map(str::trim),
        },
        r.org.clone(),
        Some(r.registry.clone()),
    )?;
    let registry = ctx.pick_registry(None).await?;
    let name = ctx
        .view
        .data_plane(&registry, &r.repository)
        .ok_or_else(|| Fail::error(format!("{} has no registry to copy with", r.provider)))?
        .name;
    let mut source = ctx.account.credentials(&registry, ctx.clock.clone());
    if let Some(s) = source.as_mut() {
        s.narrow_to_repository(&name);
    }
    let session = if push && r.provider == Provider::Buildkite {
        GraphSession::with_login(ctx.view.as_ref(), &registry, Some(buildkite_push_login()?))?
    } else {
        GraphSession::open_with(ctx.view.as_ref(), &registry, source, push).await?
    }
    .ok_or_else(|| Fail::error(format!("{} has no registry to copy with", r.provider)))?;
    let side = Side::new(session.reader().client().clone(), name);
    Ok(End {
        ctx,
        session: Some(session),
        side,
    })
}

/// Buildkite's registry tokens only read, so a copy pushes there with the
/// API access token the command runs with (it needs Write Packages): the
/// user's own, so nothing is minted there and nothing revoked.
fn buildkite_push_login() -> Result<regkit_workflows::graph::Login> {
    let env = Provider::Buildkite.token_env();
    let token = std::env::var(env)
        .ok()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            Fail::usage(format!(
                "pushing to Buildkite needs an API access token with Write Packages in {env} (its registry tokens only read)"
            ))
        })?;
    Ok(regkit_workflows::graph::Login::new(
        regkit_workflows::providers::buildkite_username(),
        token.trim(),
    ))
}

/// Opens both ends, runs `work`, and closes both (revoking what they
/// minted) whatever happened.
async fn with_ends<F, Fut>(src: &ImageRef, dst: &ImageRef, work: F) -> Result<()>
where
    F: FnOnce(Side, Side, Context) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut source = open(src, false).await?;
    let mut dest = match open(dst, true).await {
        Ok(d) => d,
        Err(e) => return close_graph(source.session.take(), Err(e)).await,
    };
    let result = work(source.side.clone(), dest.side.clone(), source.ctx).await;
    let result = close_graph(dest.session.take(), result).await;
    close_graph(source.session.take(), result).await
}

/// The copy's options: referrers or not, and bytes fed to `progress`.
fn options(referrers: bool, progress: &Progress) -> CopyOptions {
    CopyOptions {
        referrers,
        on_bytes: Some(OnBytes::new(progress.byte_feed())),
        ..CopyOptions::default()
    }
}

fn print(report: &CopyReport, opts: Options) -> Result<()> {
    let printed = match opts.format {
        Format::Json => output::print_json(report),
        Format::Table => {
            let mut text = format!("{report}\n");
            for (tag, why) in &report.failed {
                text.push_str(&format!("  failed: {tag}: {why}\n"));
            }
            output::print(&text)
        }
    };
    if report.is_complete() {
        printed
    } else {
        Err(Fail::partial(format!(
            "{} of the tags could not be copied",
            report.failed.len()
        )))
    }
}

/// `regkit copy SRC DST`.
pub async fn copy(src: &str, dst: &str, referrers: bool, opts: Options) -> Result<()> {
    let from = parse_ref("SRC", src, false)?;
    let mut to = parse_ref("DST", dst, true).or_else(|_| parse_ref("DST", dst, false))?;
    let reference = from.reference.clone().unwrap_or_default();
    let tag = to
        .reference
        .take()
        .or_else(|| (!reference.contains(':')).then(|| reference.clone()));
    with_ends(&from, &to, |s, d, _| async move {
        let progress = Progress::bytes(opts.progress(), &format!("copying {src}"));
        let mut report = CopyReport::default();
        let options = options(referrers, &progress);
        let done = copy::copy(&s, &d, &reference, tag.as_deref(), &options, &mut report).await;
        progress.finish();
        if let Err(e) = done {
            report.failed.push((reference.clone(), e.to_string()));
            let _ = print(&report, opts);
            return Err(Fail::error(format!("copy failed; nothing was tagged: {e}")));
        }
        print(&report, opts)
    })
    .await
}

/// `regkit mirror SRC-REPO DST-REPO`.
pub async fn mirror(
    src: &str,
    dst: &str,
    tags: Option<&str>,
    since: Option<Duration>,
    referrers: bool,
    opts: Options,
) -> Result<()> {
    let from = parse_ref("SRC-REPO", src, true)?;
    let to = parse_ref("DST-REPO", dst, true)?;
    let filter = tags
        .map(Regex::new)
        .transpose()
        .map_err(|e| Fail::usage(format!("--tags: {e}")))?;
    let repository = from.repository.clone();
    with_ends(&from, &to, |s, d, ctx| async move {
        let progress = Progress::bytes(opts.progress(), &format!("mirroring {src}"));
        let mut names = s
            .client
            .tags(&s.name)
            .await
            .map_err(|e| Fail::error(e.to_string()))?;
        if let Some(since) = since {
            let registry = ctx.pick_registry(None).await?;
            let cutoff = ctx.clock.now()
                - chrono::TimeDelta::from_std(since).unwrap_or(chrono::TimeDelta::MAX);
            let listed: Vec<Image> = ctx
                .view
                .images(&registry, &repository)
                .try_collect()
                .await?;
            names.retain(|t| {
                listed.iter().any(|i| {
                    i.tag.as_deref() == Some(t) && i.updated_at.is_none_or(|u| u >= cutoff)
                })
            });
        }
        if let Some(f) = &filter {
            names.retain(|t| f.is_match(t));
        }
        let options = options(referrers, &progress);
        let report = copy::mirror(&s, &d, &names, &options).await;
        progress.finish();
        print(&report?, opts)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_provider_registry_repository_and_tag_or_digest() {
        let r = parse_ref("SRC", "digitalocean:demo/team/web:v1", false).unwrap();
        assert_eq!(
            (
                r.provider,
                r.registry.as_str(),
                r.repository.as_str(),
                r.reference.as_deref()
            ),
            (Provider::DigitalOcean, "demo", "team/web", Some("v1"))
        );
        let r = parse_ref("SRC", "buildkite:acme/images/web@sha256:ab", false).unwrap();
        assert_eq!(r.org.as_deref(), Some("acme"));
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("images", "web")
        );
        assert_eq!(r.reference.as_deref(), Some("sha256:ab"));
        let r = parse_ref("DST", "ionos:prod/web", true).unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.reference),
            ("prod", "web", None)
        );
        for bad in [
            "web:v1",
            "nope:demo/web:v1",
            "digitalocean:demo:v1",
            "digitalocean:demo/web",
            "digitalocean:demo/web:",
        ] {
            let e = parse_ref("SRC", bad, false).unwrap_err();
            assert!(
                e.message.contains("SRC") && e.code == 2,
                "{bad}: {}",
                e.message
            );
        }
        assert!(parse_ref("SRC-REPO", "digitalocean:demo/web:v1", true).is_err());
    }
}
