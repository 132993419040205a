//! A tour of regkit with no account, no network and no credentials: it
//! starts `regkit-emulator` in this process (with demo content) and drives
//! each provider's generated client through a short workflow.
//!
//! ```sh
//! cargo run -p regkit --example tour
//! ```

use std::num::NonZeroU64;
use std::time::Duration;

use futures::TryStreamExt as _;
use regkit_emulator::{ClockMode, Emulator};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Result {
    let emu = Emulator::builder()
        .demo(true)
        .clock(ClockMode::Frozen)
        .start()
        .await?;
    println!(
        "regkit-emulator is serving all five APIs on http://{}\n",
        emu.addr()
    );

    digitalocean(&emu).await?;
    ionos(&emu).await?;
    humanitec(&emu).await?;
    buildkite(&emu).await?;
    abeja(&emu).await?;
    println!(
        "\nThat was every provider, through the same generated clients you would point at the real APIs."
    );
    Ok(())
}

async fn digitalocean(emu: &Emulator) -> Result {
    use regkit_digitalocean::types;
    println!("DigitalOcean");
    let client = emu.digitalocean();
    let registries = client.registries_list().send().await?.into_inner();
    let registry = registries
        .registries
        .first()
        .ok_or("the demo has a registry")?;
    let name = registry.name.clone().unwrap_or_default();
    println!(
        "  registry {name}: {} bytes stored",
        registry.storage_usage_bytes.unwrap_or_default()
    );
    let tags: Vec<types::RepositoryTag> = client
        .registries_list_repository_tags()
        .registry_name(&name)
        .repository_name("web")
        .per_page(NonZeroU64::new(5).ok_or("five is not zero")?)
        .stream()
        .try_collect()
        .await?;
    println!("  web has {} tags, read 5 to a page", tags.len());
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
        println!("  deleted tag web:{tag} (its manifest is now untagged)");
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
    println!("  garbage collection started: {:?}", gc.status);
    // The emulator's clock is virtual: an hour passes at once.
    emu.advance(Duration::from_secs(3600));
    let gcs = client
        .registries_list_garbage_collections()
        .registry_name(&name)
        .send()
        .await?
        .into_inner();
    if let Some(done) = gcs.garbage_collections.first() {
        println!(
            "  an hour later: {:?}, {} bytes freed",
            done.status,
            done.freed_bytes.unwrap_or_default()
        );
    }
    Ok(())
}

async fn ionos(emu: &Emulator) -> Result {
    use regkit_ionos::types;
    println!("IONOS");
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
    println!("  registry {hostname}");
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
    println!(
        "  created token {:?}: its password is in this answer only (not printed)",
        token.properties.as_ref().map(|p| p.name.to_string())
    );
    let tokens: Vec<_> = client
        .registries_tokens_get()
        .registry_id(&id)
        .stream()
        .try_collect()
        .await?;
    println!("  the registry now has {} tokens", tokens.len());
    Ok(())
}

async fn humanitec(emu: &Emulator) -> Result {
    println!("Humanitec");
    let client = emu.humanitec();
    let records = client
        .list_registries()
        .org_id("demo-org")
        .send()
        .await?
        .into_inner();
    for record in &records {
        println!("  registry record {} → {}", record.id, record.registry);
    }
    if let Some(record) = records.first() {
        let creds = client
            .get_registry_credentials()
            .org_id("demo-org")
            .reg_id(record.id.as_str())
            .send()
            .await?
            .into_inner();
        println!(
            "  credentials for {} expire at {:?} (password not printed)",
            record.id, creds.expires
        );
    }
    Ok(())
}

async fn buildkite(emu: &Emulator) -> Result {
    println!("Buildkite");
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
        println!(
            "  {} registry {:?} holds {} packages",
            registry.ecosystem,
            registry.name,
            packages.len()
        );
    }
    Ok(())
}

async fn abeja(emu: &Emulator) -> Result {
    println!("ABEJA Platform");
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
        println!("  repository {} has {} tags", repository.name, tags.len());
    }
    Ok(())
}
