//! A tour of regkit with no account, no network and no credentials: it
//! starts `regkit-emulator` in this process (with demo content) and drives
//! each provider's generated client through a short workflow.
//!
//! ```sh
//! cargo run -p regkit --example tour
//! ```

use std::fmt::Write as _;
use std::num::NonZeroU64;
use std::time::Duration;

use futures::TryStreamExt as _;
use regkit_emulator::{ClockMode, Emulator};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Result {
    let emu = start().await?;
    let mut out = String::new();
    let toured = tour(&emu, &mut out).await;
    // What was seen, even when a step failed.
    print!("{out}");
    toured
}

/// The emulator the tour drives: demo content, and a frozen virtual clock
/// that moves only when told to.
async fn start() -> Result<Emulator> {
    Ok(Emulator::builder()
        .demo(true)
        .clock(ClockMode::Frozen)
        .start()
        .await?)
}

/// Every provider in turn, the tour's text for people added to `out`.
async fn tour(emu: &Emulator, out: &mut String) -> Result {
    writeln!(
        out,
        "regkit-emulator is serving all five APIs on http://{}\n",
        emu.addr()
    )?;
    digitalocean(emu, out).await?;
    ionos(emu, out).await?;
    humanitec(emu, out).await?;
    buildkite(emu, out).await?;
    abeja(emu, out).await?;
    writeln!(
        out,
        "\nThat was every provider, through the same generated clients you would point at the real APIs."
    )?;
    Ok(())
}

/// `1 tag`, `3 tags`: a count (of any integer type) with its noun,
/// singular or plural.
fn plural(n: impl std::fmt::Display, noun: &str) -> String {
    match n.to_string() {
        one if one == "1" => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    }
}

/// A value the API may leave out, for people: the value, or `unknown`.
fn shown<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "unknown".to_string(), |v| v.to_string())
}

async fn digitalocean(emu: &Emulator, out: &mut String) -> Result {
    use regkit_digitalocean::types;
    writeln!(out, "DigitalOcean")?;
    let client = emu.digitalocean();
    let registries = client.registries_list().send().await?.into_inner();
    let registry = registries
        .registries
        .first()
        .ok_or("the demo has a registry")?;
    let name = registry.name.clone().unwrap_or_default();
    writeln!(
        out,
        "  registry {name}: {} stored",
        plural(registry.storage_usage_bytes.unwrap_or_default(), "byte")
    )?;
    let tags: Vec<types::RepositoryTag> = client
        .registries_list_repository_tags()
        .registry_name(&name)
        .repository_name("web")
        .per_page(NonZeroU64::new(5).ok_or("five is not zero")?)
        .stream()
        .try_collect()
        .await?;
    writeln!(
        out,
        "  web has {}, read 5 to a page",
        plural(tags.len(), "tag")
    )?;
    // The three oldest tags go.
    let mut by_age: Vec<_> = tags
        .iter()
        .filter(|t| t.tag.as_deref() != Some("latest"))
        .collect();
    by_age.sort_by_key(|t| t.updated_at);
    for tag in by_age.iter().take(3).filter_map(|t| t.tag.clone()) {
        client
            .registries_delete_repository_tag()
            .registry_name(&name)
            .repository_name("web")
            .repository_tag(&tag)
            .send()
            .await?;
        writeln!(
            out,
            "  deleted tag web:{tag} (its manifest is now untagged)"
        )?;
    }
    let gc = client
        .registries_run_garbage_collection()
        .registry_name(&name)
        .body(types::RegistryRunGc {
            type_: Some(types::GarbageCollectionType::UntaggedManifestsAndUnreferencedBlobs),
        })
        .send()
        .await?
        .into_inner()
        .garbage_collection
        .ok_or("a garbage collection")?;
    writeln!(
        out,
        "  garbage collection started: {}",
        shown(gc.status.as_ref())
    )?;
    // The emulator's clock is virtual: an hour passes at once.
    emu.advance(Duration::from_secs(3600));
    let gcs = client
        .registries_list_garbage_collections()
        .registry_name(&name)
        .send()
        .await?
        .into_inner();
    if let Some(done) = gcs.garbage_collections.first() {
        writeln!(
            out,
            "  an hour later: {}, {} freed",
            shown(done.status.as_ref()),
            plural(done.freed_bytes.unwrap_or_default(), "byte")
        )?;
    }
    Ok(())
}

async fn ionos(emu: &Emulator, out: &mut String) -> Result {
    use regkit_ionos::types;
    writeln!(out, "IONOS")?;
    let client = emu.ionos();
    let registries = client.registries_get().send().await?.into_inner();
    let registry = registries
        .items
        .as_deref()
        .and_then(<[_]>::first)
        .ok_or("the demo has a registry")?;
    let id = registry.id.clone().ok_or("a registry id")?;
    let hostname = registry
        .properties
        .as_ref()
        .and_then(|p| p.hostname.clone())
        .unwrap_or_default();
    writeln!(out, "  registry {hostname}")?;
    let token = client
        .registries_tokens_post()
        .registry_id(&id)
        .body(types::PostTokenInput {
            properties: types::PostTokenProperties {
                expiry_date: None,
                name: "tour-pull".parse()?,
                scopes: Some(vec![types::Scope {
                    actions: Some(vec!["pull".into()]),
                    name: "*".into(),
                    type_: "repository".into(),
                }]),
                status: None,
            },
        })
        .send()
        .await?
        .into_inner();
    writeln!(
        out,
        "  created token {}: its password is in this answer only (not printed)",
        shown(token.properties.as_ref().map(|p| &p.name))
    )?;
    let tokens: Vec<_> = client
        .registries_tokens_get()
        .registry_id(&id)
        .stream()
        .try_collect()
        .await?;
    writeln!(
        out,
        "  the registry now has {}",
        plural(tokens.len(), "token")
    )?;
    Ok(())
}

async fn humanitec(emu: &Emulator, out: &mut String) -> Result {
    writeln!(out, "Humanitec")?;
    let client = emu.humanitec();
    let records = client
        .list_registries()
        .org_id("demo-org")
        .send()
        .await?
        .into_inner();
    for record in &records {
        writeln!(out, "  registry record {} → {}", record.id, record.registry)?;
    }
    if let Some(record) = records.first() {
        let creds = client
            .get_registry_credentials()
            .org_id("demo-org")
            .reg_id(record.id.as_str())
            .send()
            .await?
            .into_inner();
        writeln!(
            out,
            "  credentials for {} expire at {} (password not printed)",
            record.id,
            shown(creds.expires.as_ref())
        )?;
    }
    Ok(())
}

async fn buildkite(emu: &Emulator, out: &mut String) -> Result {
    writeln!(out, "Buildkite")?;
    let client = emu.buildkite();
    let registries: Vec<_> = client
        .list_registries()
        .org_slug("demo")
        .stream()
        .try_collect()
        .await?;
    for registry in &registries {
        let packages: Vec<_> = client
            .list_packages()
            .org_slug("demo")
            .registry_slug(registry.slug.as_str())
            .stream()
            .try_collect()
            .await?;
        writeln!(
            out,
            "  registry {} ({}) holds {}",
            registry.name,
            registry.ecosystem,
            plural(packages.len(), "package")
        )?;
    }
    Ok(())
}

async fn abeja(emu: &Emulator, out: &mut String) -> Result {
    writeln!(out, "ABEJA Platform")?;
    let client = emu.abeja();
    let organization = "1410000000000";
    let repositories: Vec<_> = client
        .list_repositories()
        .organization_id(organization)
        .stream()
        .try_collect()
        .await?;
    for repository in &repositories {
        let tags: Vec<_> = client
            .list_repository_tags()
            .organization_id(organization)
            .repository_id(repository.id.as_str())
            .stream()
            .try_collect()
            .await?;
        writeln!(
            out,
            "  repository {} has {}",
            repository.name,
            plural(tags.len(), "tag")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(plural(0usize, "tag"), "0 tags");
        assert_eq!(plural(1usize, "tag"), "1 tag");
        assert_eq!(plural(1u64, "byte"), "1 byte");
        assert_eq!(plural(2i64, "package"), "2 packages");
        assert_eq!(shown(None::<&str>), "unknown");
    }

    /// The tour's text is for people: values, not Rust's `Debug` (no
    /// `Some(…)`, `None` or quoted strings), and no count of one with a
    /// plural noun.
    #[tokio::test]
    async fn the_tour_shows_values_and_counts_agree_with_nouns() -> Result {
        let emu = start().await?;
        let mut out = String::new();
        tour(&emu, &mut out).await?;
        for debug in ["Some(", "None", "\"", "Ok(", "Err("] {
            assert!(!out.contains(debug), "{debug} in:\n{out}");
        }
        let words: Vec<&str> = out.split_whitespace().collect();
        for pair in words.windows(2) {
            let noun = pair[1].trim_end_matches([',', '.', ':', ')']);
            assert!(
                !(pair[0] == "1" && noun.ends_with('s')),
                "`{} {}` in:\n{out}",
                pair[0],
                pair[1]
            );
        }
        // The demo has counts of one, so the singular is exercised.
        assert!(out.contains("holds 1 package\n"), "{out}");
        assert!(
            out.contains("garbage collection started: requested"),
            "{out}"
        );
        Ok(())
    }
}
