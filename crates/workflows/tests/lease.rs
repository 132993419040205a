//! Credential leases against the emulator: minting per provider, refresh on
//! the virtual clock, revoke, a failed revoke surfaced, and no password in
//! any `Debug` or `Display`.

use std::sync::Arc;
use std::time::Duration;

use chrono::SubsecRound as _;
use regkit_emulator::{ClockMode, Emulator, FaultRule, Provider};
use regkit_workflows::clock::Clock;
use regkit_workflows::lease::{CredentialSource, DockerCredential, Lease, Lifetime, MAX_TTL};
use regkit_workflows::providers::{self, Connect};
use regkit_workflows::providers::{
    BuildkiteSource, DigitalOceanSource, HumanitecSource, IonosSource,
};
use regkit_workflows::{Capability, Error};

async fn emulator() -> Arc<Emulator> {
    Arc::new(
        Emulator::builder()
            .clock(ClockMode::Frozen)
            .start()
            .await
            .expect("the emulator starts"),
    )
}

fn no_secret_shown(password: &str, shown: &[String]) {
    assert!(password.len() >= 8, "a real password");
    for s in shown {
        assert!(!s.contains(password), "a password leaked into {s:?}");
    }
}

fn shown_cred(c: &DockerCredential) -> Vec<String> {
    vec![
        format!("{c:?}"),
        format!("{c:#?}"),
        format!("{c}"),
        serde_json::to_string(c).unwrap(),
    ]
}

#[tokio::test]
async fn digitalocean_mints_and_refreshes_before_expiry() {
    let emu = emulator().await;
    emu.seed(|world, _, now| {
        world
            .digitalocean
            .create_registry("team", None, None, now)
            .map(|_| ())
    })
    .expect("the registry is created");
    let clock: Arc<dyn Clock> = Arc::new(emu.clock().clone());
    let source = DigitalOceanSource::new(emu.digitalocean())
        .registry("team")
        .clock(clock.clone());
    let lease = Lease::new(source)
        .ttl(Duration::from_secs(3600))
        .margin(Duration::from_secs(300))
        .write(true)
        .clock(clock.clone());

    let first = lease.get().await.unwrap();
    // The emulator's docker-credentials name the host it serves.
    assert_eq!(
        Some(first.host.clone()),
        emu.registry_host(Provider::DigitalOcean)
    );
    assert!(!first.username.is_empty());
    assert!(!first.password.is_empty());
    assert_eq!(
        first.expires_at,
        Some(emu.now() + chrono::Duration::seconds(3600))
    );
    let issued = emu.world().digitalocean.issued_credentials;
    let last = issued.last().expect("the emulator recorded the issue");
    assert!(last.read_write, "write asks for read_write");
    assert_eq!(last.expires_at, first.expires_at, "expiry_seconds was sent");

    // Well before the margin: the same credential.
    clock.sleep(Duration::from_secs(3000)).await;
    let same = lease.get().await.unwrap();
    assert_eq!(same, first);
    assert_eq!(lease.stats().await.refreshed, 0);

    // Inside the margin (3 300 s of 3 600 s): a fresh one.
    clock.sleep(Duration::from_secs(300)).await;
    let fresh = lease.get().await.unwrap();
    assert_ne!(
        fresh.password.expose_secret(),
        first.password.expose_secret()
    );
    assert_eq!(
        fresh.expires_at,
        Some(emu.now() + chrono::Duration::seconds(3600))
    );
    let stats = lease.stats().await;
    assert_eq!((stats.minted, stats.refreshed, stats.revoked), (2, 1, 0));

    // DigitalOcean cannot revoke: a typed answer, and the lease keeps it.
    let err = lease.revoke().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unsupported {
                provider: "digitalocean",
                capability: Capability::RevokeCredentials
            }
        ),
        "{err:?}"
    );
    assert_eq!(lease.get().await.unwrap(), fresh);

    let mut shown = shown_cred(&fresh);
    shown.push(format!("{lease:?}"));
    shown.push(format!("{err:?} {err}"));
    no_secret_shown(fresh.password.expose_secret(), &shown);
    no_secret_shown(first.password.expose_secret(), &shown);
}

#[tokio::test]
async fn digitalocean_account_registry_and_no_expiry_asked_for_by_name() {
    let emu = emulator().await;
    let source = DigitalOceanSource::new(emu.digitalocean());
    let cred = source.mint(Lifetime::NeverExpires, false).await.unwrap();
    assert_eq!(
        Some(cred.host.clone()),
        emu.registry_host(Provider::DigitalOcean)
    );
    assert_eq!(cred.expires_at, None);
    assert!(!source.supports_revoke());
    let issued = emu.world().digitalocean.issued_credentials;
    assert!(!issued.last().unwrap().read_write);
    assert_eq!(issued.last().unwrap().expires_at, None);
}

fn ionos_registry(emu: &Emulator) -> String {
    emu.seed(|world, _, now| {
        world
            .ionos
            .add_registry("reg-1", "team-images", "de/fra", now)
            .id
            .clone()
    })
}

#[tokio::test]
async fn ionos_mints_a_token_revokes_it_and_revokes_the_replaced_one() {
    let emu = emulator().await;
    let id = ionos_registry(&emu);
    let ionos = emu.ionos();
    let clock: Arc<dyn Clock> = Arc::new(emu.clock().clone());
    let lease = Lease::new(IonosSource::new(ionos.clone(), &id).clock(clock.clone()))
        .ttl(Duration::from_secs(1800))
        .write(true)
        .clock(clock.clone());

    let first = lease.get().await.unwrap();
    // The registry's own listener: the `hostname` the emulated API reports.
    assert_eq!(Some(first.host.clone()), emu.ionos_registry_host(&id));
    let token_id = first.id.clone().expect("a token id");
    let token = ionos
        .registries_tokens_find_by_id()
        .registry_id(&id)
        .token_id(&token_id)
        .send()
        .await
        .unwrap()
        .into_inner();
    let props = token.properties.unwrap();
    let creds = props.credentials.unwrap();
    assert_eq!(creds.username, first.username, "the token's user name");
    assert!(
        creds.password.is_empty(),
        "IONOS shows the password only when creating"
    );
    assert!(first.password.expose_secret().len() >= 16);
    assert_eq!(props.expiry_date, first.expires_at);
    assert_eq!(
        first.expires_at,
        Some((emu.now() + chrono::Duration::seconds(1800)).trunc_subsecs(0)),
        "IONOS dates expiry to the second"
    );
    let scopes = props.scopes.unwrap();
    assert_eq!(scopes.len(), 1);
    assert_eq!(
        scopes[0].actions.as_deref(),
        Some(&["pull".to_string(), "push".to_string()][..])
    );

    // Refresh: a new token, and the replaced one is deleted.
    clock.sleep(Duration::from_secs(1600)).await;
    let second = lease.get().await.unwrap();
    let second_id = second.id.clone().unwrap();
    assert_ne!(second_id, token_id);
    assert_ne!(
        second.password.expose_secret(),
        first.password.expose_secret()
    );
    let gone = ionos
        .registries_tokens_find_by_id()
        .registry_id(&id)
        .token_id(&token_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.status().map(|s| s.as_u16()), Some(404));
    let stats = lease.stats().await;
    assert_eq!((stats.minted, stats.refreshed, stats.revoked), (2, 1, 1));

    // Revoke on request: the token is gone.
    lease.revoke().await.unwrap();
    let gone = ionos
        .registries_tokens_find_by_id()
        .registry_id(&id)
        .token_id(&second_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(emu.world().ionos.registries[&id].tokens.len(), 0);
    assert_eq!(lease.stats().await.revoked, 2);

    let mut shown = shown_cred(&first);
    shown.extend(shown_cred(&second));
    shown.push(format!("{lease:?}"));
    no_secret_shown(first.password.expose_secret(), &shown);
    no_secret_shown(second.password.expose_secret(), &shown);
}

#[tokio::test]
async fn ionos_revoke_failure_is_an_error_and_the_token_is_kept_for_retry() {
    let emu = emulator().await;
    let id = ionos_registry(&emu);
    // No client retries: the injected 500 must reach the lease.
    let ionos: regkit_ionos::Client = emu
        .client_builder()
        .retry(regkit_core::RetryPolicy::none())
        .build()
        .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(emu.clock().clone());
    let lease = Lease::new(IonosSource::new(ionos.clone(), &id).clock(clock.clone()))
        .ttl(Duration::from_secs(600))
        .margin(Duration::from_secs(60))
        .clock(clock.clone());
    let cred = lease.get().await.unwrap();

    emu.inject(
        FaultRule::status(500)
            .operation("registriesTokensDelete")
            .times(1),
    );
    let err = lease.revoke().await.unwrap_err();
    assert!(
        (err.provider(), err.operation(), err.status())
            == (Some("ionos"), Some("registries_tokens_delete"), Some(500)),
        "{err:?}"
    );
    no_secret_shown(
        cred.password.expose_secret(),
        &[format!("{err:?}"), format!("{err}"), format!("{lease:?}")],
    );
    // The token is still there, and the lease still holds it.
    assert_eq!(emu.world().ionos.registries[&id].tokens.len(), 1);
    assert_eq!(lease.get().await.unwrap(), cred);
    // A retry revokes it.
    lease.revoke().await.unwrap();
    assert_eq!(emu.world().ionos.registries[&id].tokens.len(), 0);

    // A refresh whose revoke of the replaced token fails: the error is
    // returned, the new credential kept, the old one retried by revoke.
    let fresh = lease.get().await.unwrap();
    clock.sleep(Duration::from_secs(560)).await;
    emu.inject(
        FaultRule::status(500)
            .operation("registriesTokensDelete")
            .times(1),
    );
    let err = lease.get().await.unwrap_err();
    assert!(
        matches!(err, Error::Api(_)) && err.status() == Some(500),
        "{err:?}"
    );
    let stats = lease.stats().await;
    assert_eq!((stats.refreshed, stats.pending_revoke), (1, 1));
    let newer = lease.get().await.unwrap();
    assert_ne!(newer.id, fresh.id);
    assert_eq!(emu.world().ionos.registries[&id].tokens.len(), 2);
    lease.revoke().await.unwrap();
    assert_eq!(emu.world().ionos.registries[&id].tokens.len(), 0);
    assert_eq!(lease.stats().await.pending_revoke, 0);
}

#[tokio::test]
async fn ionos_registry_still_provisioning_has_no_host() {
    let emu = emulator().await;
    let ionos = emu.ionos();
    let created = ionos
        .registries_post()
        .body(regkit_ionos::types::PostRegistryInput {
            properties: regkit_ionos::types::PostRegistryProperties {
                api_subnet_allow_list: None,
                features: None,
                garbage_collection_schedule: None,
                location: "de/fra".into(),
                name: "fresh-one".parse().unwrap(),
            },
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    let source = IonosSource::new(ionos, created.id.unwrap());
    let err = source
        .mint(Duration::from_secs(60).into(), false)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unexpected(_)), "{err:?}");
}

#[tokio::test]
async fn humanitec_hands_out_the_records_login() {
    let emu = emulator().await;
    emu.seed(|world, _, now| {
        world
            .humanitec
            .orgs
            .entry("acme".into())
            .or_default()
            .registries
            .insert(
                "ecr".into(),
                regkit_emulator::providers::humanitec::Registry {
                    id: "ecr".into(),
                    registry: "123456789012.dkr.ecr.eu-central-1.amazonaws.com".into(),
                    kind: "amazon_ecr".into(),
                    created_at: Some(now),
                    ..Default::default()
                },
            );
    });
    let source = HumanitecSource::new(emu.humanitec(), "acme", "ecr");
    let lease = Lease::new(source).clock(Arc::new(emu.clock().clone()));
    let cred = lease.get().await.unwrap();
    assert_eq!(cred.host, "123456789012.dkr.ecr.eu-central-1.amazonaws.com");
    assert_eq!(cred.username, "AWS");
    assert_eq!(
        cred.expires_at,
        Some((emu.now() + regkit_emulator::providers::humanitec::CREDS_TTL).trunc_subsecs(3))
    );
    assert!(!lease.source().supports_revoke());
    let err = lease.revoke().await.unwrap_err();
    assert!(matches!(
        err,
        Error::Unsupported {
            provider: "humanitec",
            capability: Capability::RevokeCredentials
        }
    ));
    no_secret_shown(
        cred.password.expose_secret(),
        &[format!("{lease:?}"), format!("{cred:?}"), format!("{cred}")],
    );

    // The built-in record is public: no login to hand out.
    let public = HumanitecSource::new(emu.humanitec(), "acme", "humanitec");
    let err = public.mint(Duration::from_secs(60).into(), false).await;
    assert!(err.is_err());
}

#[tokio::test]
async fn buildkite_mints_a_registry_token_and_revokes_it() {
    let emu = emulator().await;
    let slug = emu.seed(|world, ids, now| {
        world
            .buildkite
            .add_registry("acme", "Images", "container", ids, now)
    });
    let buildkite = emu.buildkite();
    let lease = Lease::new(BuildkiteSource::new(buildkite.clone(), "acme", &slug));
    let cred = lease.get().await.unwrap();
    assert_eq!(cred.host, "packages.buildkite.com");
    assert_eq!(cred.username, "buildkite");
    assert_eq!(cred.expires_at, None, "registry tokens do not expire");
    let token_id = cred.id.clone().unwrap();
    let fetched = buildkite
        .get_registry_token()
        .org_slug("acme")
        .registry_slug(&slug)
        .token_id(&token_id)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(fetched.token.is_none(), "the secret is shown once");

    lease.revoke().await.unwrap();
    let gone = buildkite
        .get_registry_token()
        .org_slug("acme")
        .registry_slug(&slug)
        .token_id(&token_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.status().map(|s| s.as_u16()), Some(404));

    // Registry tokens only read.
    let err = lease
        .source()
        .mint(Duration::from_secs(60).into(), true)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Unsupported {
            provider: "buildkite",
            capability: Capability::DockerCredentials
        }
    ));
    no_secret_shown(
        cred.password.expose_secret(),
        &[format!("{lease:?}"), format!("{cred:?}"), format!("{cred}")],
    );
}

/// Opens the emulator's accounts through the provider table.
struct OnEmulator<'a>(&'a Emulator);

impl Connect for OnEmulator<'_> {
    type Error = Error;

    fn client<C>(&self) -> Result<C, Error>
    where
        C: regkit_core::GeneratedClient
            + regkit_core::runtime::ClientInfo<regkit_core::Inner>
            + Clone
            + Send
            + Sync
            + 'static,
    {
        let p: regkit_core::Provider = C::PROVIDER.name.parse().unwrap();
        regkit_core::ClientBuilder::<C>::new()
            .base_url(self.0.url(p))
            .bearer_token(self.0.token(p))
            .build()
            .map_err(|e| Error::InvalidInput(e.to_string()))
    }
}

/// ABEJA's API mints nothing: its account has no credential source, and
/// asking it for a host's credential is `Unsupported`, said once in the
/// provider table (no source stub that fails).
#[tokio::test]
async fn abeja_has_no_credentials_api() {
    let emu = emulator().await;
    let account = providers::account(
        regkit_core::Provider::Abeja,
        Some("1410000000000"),
        &OnEmulator(&emu),
    )
    .unwrap();
    let registry = account.view().registries().await.unwrap().remove(0);
    assert!(
        account
            .credentials(&registry, Arc::new(emu.clock().clone()))
            .is_none()
    );
    let err = account
        .credential_for_host(
            "abeja.example",
            None,
            Lifetime::Ttl(Duration::from_secs(60)),
            false,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unsupported {
                provider: "abeja",
                capability: Capability::DockerCredentials
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "abeja cannot mint Docker credentials");
}

#[tokio::test]
async fn a_margin_not_shorter_than_the_ttl_is_refused() {
    let emu = emulator().await;
    let lease = Lease::new(DigitalOceanSource::new(emu.digitalocean()))
        .ttl(Duration::from_secs(60))
        .margin(Duration::from_secs(60));
    assert!(matches!(
        lease.get().await.unwrap_err(),
        Error::InvalidInput(_)
    ));
}

/// TTLs no source and no lease may use: zero (DigitalOcean would read it
/// as "never expires"), under a second, just over [`MAX_TTL`], and a unit
/// typo.
fn refused_ttls() -> Vec<Duration> {
    vec![
        Duration::ZERO,
        Duration::from_millis(500),
        MAX_TTL + Duration::from_secs(1),
        Duration::from_secs(100_000 * 86_400),
    ]
}

#[tokio::test]
async fn every_source_and_lease_refuse_a_zero_or_absurd_ttl_before_sending() {
    let emu = emulator().await;
    let ionos_id = ionos_registry(&emu);
    let slug = emu.seed(|world, ids, now| {
        world
            .buildkite
            .add_registry("acme", "Images", "container", ids, now)
    });
    // Any request that did go out fails differently (an API error).
    emu.inject(FaultRule::status(500));
    let sources = || -> Vec<Box<dyn CredentialSource>> {
        vec![
            Box::new(DigitalOceanSource::new(emu.digitalocean())),
            Box::new(DigitalOceanSource::new(emu.digitalocean()).registry("demo")),
            Box::new(IonosSource::new(emu.ionos(), &ionos_id)),
            Box::new(HumanitecSource::new(emu.humanitec(), "acme", "ecr")),
            Box::new(BuildkiteSource::new(emu.buildkite(), "acme", &slug)),
        ]
    };
    for ttl in refused_ttls() {
        for source in sources() {
            let err = source.mint(ttl.into(), false).await.unwrap_err();
            assert!(
                matches!(err, Error::InvalidInput(_)),
                "{} minted with a TTL of {ttl:?}: {err:?}",
                source.provider()
            );
            let lease = Lease::new(source).ttl(ttl).margin(Duration::ZERO);
            let err = lease.get().await.unwrap_err();
            assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        }
    }
    let zero = DigitalOceanSource::new(emu.digitalocean())
        .mint(Duration::ZERO.into(), false)
        .await
        .unwrap_err();
    assert!(zero.to_string().contains("never expires"), "{zero}");
    assert!(emu.world().digitalocean.issued_credentials.is_empty());
}

#[tokio::test]
async fn the_longest_ttl_is_a_year_and_never_expiring_is_asked_for_by_name() {
    let emu = emulator().await;
    let clock: Arc<dyn Clock> = Arc::new(emu.clock().clone());
    let lease = Lease::new(DigitalOceanSource::new(emu.digitalocean()).clock(clock.clone()))
        .clock(clock.clone())
        .ttl(MAX_TTL);
    let cred = lease.get().await.unwrap();
    assert_eq!(
        cred.expires_at,
        Some(emu.now() + chrono::TimeDelta::from_std(MAX_TTL).unwrap())
    );
    let issued = emu.world().digitalocean.issued_credentials;
    assert!(issued.last().unwrap().expires_at.is_some());

    let lease = Lease::new(DigitalOceanSource::new(emu.digitalocean()))
        .clock(clock)
        .never_expire();
    let cred = lease.get().await.unwrap();
    assert_eq!(cred.expires_at, None);
    let issued = emu.world().digitalocean.issued_credentials;
    assert_eq!(issued.last().unwrap().expires_at, None);
}

#[test]
fn credentials_never_show_their_password() {
    // Property: for many passwords, no formatting shows them.
    for i in 0..200u32 {
        let password = format!("pw-{i:04}-{}", "x".repeat((i % 37) as usize));
        let cred = DockerCredential {
            host: "registry.example.com".into(),
            username: format!("user{i}"),
            password: password.clone().into(),
            expires_at: None,
            id: Some(format!("id-{i}")),
        };
        no_secret_shown(&password, &shown_cred(&cred));
        let auth = cred.docker_auth();
        assert_eq!(format!("{auth:?}"), "[REDACTED]");
        // DigitalOcean's token is both user name and password.
        let same = DockerCredential {
            username: password.clone(),
            ..cred
        };
        no_secret_shown(&password, &shown_cred(&same));
        assert_eq!(same.shown_username(), "[REDACTED]");
    }
}
