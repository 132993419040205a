//! Spec conformance: every operation of every client, sent to a Stoplight
//! Prism mock built from our own `specs/<provider>.yaml`, plus `redocly lint`
//! over every spec.
//!
//! The httpmock suites check that each client sends what its tests expect;
//! this suite checks that what it sends is what the *spec* allows. Prism
//! runs with `--errors`, so a request that breaks the spec (a missing or
//! wrongly typed parameter or body field, missing credentials) comes back
//! as 422/401/400 with an `sl-violations` header instead of a mocked answer.
//! Prism answers valid requests with the spec's own `example`s (an example
//! that breaks its own schema becomes a 500), so the examples are checked
//! against the spec and the typed models are checked to decode them.
//!
//! Tools: `tests/conformance/package.json` pins `@stoplight/prism-cli` and
//! `@redocly/cli`; CI runs `npm ci` there first, and a fresh clone gets the
//! same through [`tools`] on first use (Node.js >= 20.19 and npm needed).
//! Every Prism runs on loopback on a free port and is killed when its test
//! ends, even when it fails.

use std::process::{Command, Stdio};

use regkit_tests::prism::{Prism, Run, repo_root, tools};

use regkit_core::RetryPolicy;
use serde_json::json;

/// A request body (or any model) from JSON, so each body reads as the wire
/// format it produces.
/// The body of an error response decodes into the provider's typed error.
macro_rules! assert_decodes {
    ($ty:ty, $body:expr, $what:expr) => {
        if let Err(e) = serde_json::from_str::<$ty>(&$body) {
            panic!(
                "{}: the body does not decode into {}: {e}\n{}",
                $what,
                stringify!($ty),
                $body
            );
        }
    };
}

macro_rules! typed {
    ($ty:ty, $json:expr $(,)?) => {
        serde_json::from_value::<$ty>($json).expect("the test's JSON fits the generated type")
    };
}

/// Spec violations Prism must catch: requests it has to reject with
/// `status`, proving this suite can fail. Returns the response body.
async fn assert_rejected(
    prism: &Prism,
    request: reqwest::RequestBuilder,
    status: u16,
    what: &str,
) -> String {
    let response = request.send().await.expect("reach Prism");
    let got = response.status().as_u16();
    let violations = response
        .headers()
        .get("sl-violations")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let body = response.text().await.unwrap_or_default();
    assert!(
        got == status && violations.is_some(),
        "{what}: expected Prism to reject it with {status} and an sl-violations header, \
         got {got} (sl-violations: {violations:?}) {body}{}",
        prism.log_tail()
    );
    body
}

fn raw() -> reqwest::Client {
    reqwest::Client::new()
}

const BEARER: &str = "conformance-token-0123456789";

// -------------------------------------------------------------------- lint

/// `redocly lint` with tests/conformance/redocly.yaml over every
/// `specs/*.yaml`. Warnings fail too: a rule that does not apply is switched
/// off in the config, and a one-off deliberate exception would be listed in
/// tests/conformance/.redocly.lint-ignore.yaml, each with its reason.
#[test]
fn every_spec_passes_redocly_lint() {
    let root = repo_root();
    let mut specs: Vec<String> = std::fs::read_dir(root.join("specs"))
        .expect("list specs/")
        .map(|entry| {
            entry
                .expect("read specs/")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".yaml"))
        .map(|name| format!("specs/{name}"))
        .collect();
    specs.sort();
    assert!(!specs.is_empty(), "no specs/*.yaml to lint");

    let out = Command::new(tools().join("redocly"))
        .args([
            "lint",
            "--config",
            "tests/conformance/redocly.yaml",
            "--format=json",
        ])
        .args(&specs)
        .current_dir(&root)
        .env("REDOCLY_TELEMETRY", "off")
        .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run redocly lint");
    let stderr = String::from_utf8_lossy(&out.stderr);

    // One JSON report per spec, one after the other.
    let mut reports = 0;
    let mut problems = Vec::new();
    for report in serde_json::Deserializer::from_slice(&out.stdout).into_iter::<serde_json::Value>()
    {
        let report = report.unwrap_or_else(|e| {
            panic!("redocly printed something that is not its JSON report ({e}):\n{stderr}")
        });
        reports += 1;
        for p in report["problems"].as_array().into_iter().flatten() {
            let at = &p["location"][0];
            problems.push(format!(
                "{}:{}:{} {} {}: {} (at {})",
                at["source"]["ref"].as_str().unwrap_or("?"),
                at["start"]["line"],
                at["start"]["col"],
                p["severity"].as_str().unwrap_or("?"),
                p["ruleId"].as_str().unwrap_or("?"),
                p["message"].as_str().unwrap_or("?"),
                at["pointer"].as_str().unwrap_or("?"),
            ));
        }
    }
    assert!(
        problems.is_empty() && out.status.success() && reports == specs.len(),
        "redocly lint ({}, {reports} reports for {} specs) found {} problems:\n  - {}\n\n\
         Fix the spec, or, if the problem is deliberate, switch the rule off in \
         tests/conformance/redocly.yaml or list it in tests/conformance/.redocly.lint-ignore.yaml, \
         with the reason.\n\n--- redocly's stderr ---\n{stderr}",
        out.status,
        specs.len(),
        problems.len(),
        problems.join("\n  - ")
    );
}

// ---------------------------------------------------------------- DigitalOcean

#[tokio::test]
async fn digitalocean_conforms_to_its_spec() {
    use regkit_digitalocean::{Client, types};

    let prism = Prism::mock("digitalocean");
    let client = Client::builder()
        .base_url(prism.base_url())
        .bearer_token(BEARER)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let mut run = Run::new(&prism);
    const REG: &str = "acme-images";
    const REPO: &str = "team/api";
    const GC: &str = "9b2f7c1e-4d3a-4e8b-a6f0-2c5d8e1b7a94";
    const DIGEST: &str = "sha256:1f3a9c5e7b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a";

    // Multi-registry endpoints (/v2/registries).
    run.check("registries_list", client.registries_list().send().await);
    run.check(
        "registries_create",
        client
            .registries_create()
            .body(typed!(
                types::MultiregistryCreate,
                json!({"name": REG, "subscription_tier_slug": "professional", "region": "syd1"}),
            ))
            .send()
            .await,
    );
    run.check(
        "registries_get",
        client.registries_get().registry_name(REG).send().await,
    );
    run.check(
        "registries_delete",
        client.registries_delete().registry_name(REG).send().await,
    );
    run.check(
        "registries_get_dockerCredentials",
        client
            .registries_get_docker_credentials()
            .registry_name(REG)
            .expiry_seconds(3600u64)
            .read_write(true)
            .send()
            .await,
    );
    run.check(
        "registries_get_subscription",
        client.registries_get_subscription().send().await,
    );
    run.check(
        "registries_update_subscription",
        client
            .registries_update_subscription()
            .body(typed!(
                types::SubscriptionUpdate,
                json!({"tier_slug": "basic"})
            ))
            .send()
            .await,
    );
    run.check(
        "registries_get_options",
        client.registries_get_options().send().await,
    );
    run.check(
        "registries_get_garbageCollection",
        client
            .registries_get_garbage_collection()
            .registry_name(REG)
            .send()
            .await,
    );
    run.check(
        "registries_run_garbageCollection",
        client
            .registries_run_garbage_collection()
            .registry_name(REG)
            .body(typed!(
                types::RegistryRunGc,
                json!({"type": "untagged manifests only"}),
            ))
            .send()
            .await,
    );
    run.check(
        "registries_list_garbageCollections",
        client
            .registries_list_garbage_collections()
            .registry_name(REG)
            .per_page(20u64)
            .page(1u64)
            .send()
            .await,
    );
    run.check(
        "registries_update_garbageCollection",
        client
            .registries_update_garbage_collection()
            .registry_name(REG)
            .garbage_collection_uuid(GC)
            .body(typed!(
                types::UpdateGarbageCollection,
                json!({"cancel": true})
            ))
            .send()
            .await,
    );
    run.check(
        "registries_list_repositoriesV2",
        client
            .registries_list_repositories_v2()
            .registry_name(REG)
            .per_page(50u64)
            .page_token("Y3Vyc29yOjI=")
            .send()
            .await,
    );
    run.check(
        "registries_delete_repository",
        client
            .registries_delete_repository()
            .registry_name(REG)
            .repository_name(REPO)
            .send()
            .await,
    );
    run.check(
        "registries_list_repositoryTags",
        client
            .registries_list_repository_tags()
            .registry_name(REG)
            .repository_name(REPO)
            .per_page(50u64)
            .page(2u64)
            .send()
            .await,
    );
    run.check(
        "registries_delete_repositoryTag",
        client
            .registries_delete_repository_tag()
            .registry_name(REG)
            .repository_name(REPO)
            .repository_tag("v1.4.2")
            .send()
            .await,
    );
    run.check(
        "registries_list_repositoryManifests",
        client
            .registries_list_repository_manifests()
            .registry_name(REG)
            .repository_name(REPO)
            .per_page(10u64)
            .page(1u64)
            .send()
            .await,
    );
    run.check(
        "registries_delete_repositoryManifest",
        client
            .registries_delete_repository_manifest()
            .registry_name(REG)
            .repository_name(REPO)
            .manifest_digest(DIGEST)
            .send()
            .await,
    );
    run.check(
        "registries_validate_name",
        client
            .registries_validate_name()
            .body(typed!(
                types::ValidateRegistry,
                json!({"name": "acme-next"})
            ))
            .send()
            .await,
    );

    // The deprecated single-registry endpoints (/v2/registry).
    run.check("registry_get", client.registry_get().send().await);
    run.check(
        "registry_create",
        client
            .registry_create()
            .body(typed!(
                types::RegistryCreate,
                json!({"name": REG, "subscription_tier_slug": "basic", "region": "fra1"}),
            ))
            .send()
            .await,
    );
    run.check("registry_delete", client.registry_delete().send().await);
    run.check(
        "registry_get_subscription",
        client.registry_get_subscription().send().await,
    );
    run.check(
        "registry_update_subscription",
        client
            .registry_update_subscription()
            .body(typed!(
                types::SubscriptionUpdate,
                json!({"tier_slug": "professional"})
            ))
            .send()
            .await,
    );
    run.check(
        "registry_get_dockerCredentials",
        client
            .registry_get_docker_credentials()
            .expiry_seconds(600u64)
            .read_write(false)
            .send()
            .await,
    );
    run.check(
        "registry_validate_name",
        client
            .registry_validate_name()
            .body(typed!(
                types::ValidateRegistry,
                json!({"name": "acme-next"})
            ))
            .send()
            .await,
    );
    run.check(
        "registry_list_repositories",
        client
            .registry_list_repositories()
            .registry_name(REG)
            .per_page(20u64)
            .page(1u64)
            .send()
            .await,
    );
    run.check(
        "registry_list_repositoriesV2",
        client
            .registry_list_repositories_v2()
            .registry_name(REG)
            .per_page(20u64)
            .page_token("Y3Vyc29yOjI=")
            .send()
            .await,
    );
    run.check(
        "registry_list_repositoryTags",
        client
            .registry_list_repository_tags()
            .registry_name(REG)
            .repository_name(REPO)
            .per_page(20u64)
            .page(1u64)
            .send()
            .await,
    );
    run.check(
        "registry_delete_repositoryTag",
        client
            .registry_delete_repository_tag()
            .registry_name(REG)
            .repository_name(REPO)
            .repository_tag("latest")
            .send()
            .await,
    );
    run.check(
        "registry_list_repositoryManifests",
        client
            .registry_list_repository_manifests()
            .registry_name(REG)
            .repository_name(REPO)
            .per_page(20u64)
            .page(1u64)
            .send()
            .await,
    );
    run.check(
        "registry_delete_repositoryManifest",
        client
            .registry_delete_repository_manifest()
            .registry_name(REG)
            .repository_name(REPO)
            .manifest_digest(DIGEST)
            .send()
            .await,
    );
    run.check(
        "registry_run_garbageCollection",
        client
            .registry_run_garbage_collection()
            .registry_name(REG)
            .body(typed!(
                types::RegistryRunGc,
                json!({"type": "untagged manifests and unreferenced blobs"}),
            ))
            .send()
            .await,
    );
    run.check(
        "registry_get_garbageCollection",
        client
            .registry_get_garbage_collection()
            .registry_name(REG)
            .send()
            .await,
    );
    run.check(
        "registry_list_garbageCollections",
        client
            .registry_list_garbage_collections()
            .registry_name(REG)
            .per_page(20u64)
            .page(1u64)
            .send()
            .await,
    );
    run.check(
        "registry_update_garbageCollection",
        client
            .registry_update_garbage_collection()
            .registry_name(REG)
            .garbage_collection_uuid(GC)
            .body(typed!(
                types::UpdateGarbageCollection,
                json!({"cancel": true})
            ))
            .send()
            .await,
    );
    run.check(
        "registry_get_options",
        client.registry_get_options().send().await,
    );
    run.finish();

    let url = prism.base_url();
    let body = assert_rejected(
        &prism,
        raw().get(format!("{url}/v2/registries")),
        401,
        "listing registries without credentials",
    )
    .await;
    assert_decodes!(types::Error, body, "listing registries without credentials");
    assert_rejected(
        &prism,
        raw()
            .post(format!("{url}/v2/registries"))
            .bearer_auth(BEARER)
            .json(&json!({"region": "fra1"})),
        422,
        "creating a registry without its required name",
    )
    .await;
}

// ------------------------------------------------------------------- IONOS

#[tokio::test]
async fn ionos_conforms_to_its_spec() {
    use regkit_ionos::{Client, types};

    let prism = Prism::mock("ionos");
    let client = Client::builder()
        .base_url(prism.base_url())
        .bearer_token(BEARER)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let mut run = Run::new(&prism);
    const REGISTRY: &str = "8f0c6a2e-3b1d-4c55-9a7e-2d4f6b8c1e90";
    const TOKEN: &str = "2b7e1c44-6a0f-4f3e-8d21-9c5b7a3e0f12";
    let schedule = json!({"days": ["Monday", "Thursday"], "time": "02:30:00+00:00"});

    run.check("locationsGet", client.locations_get().send().await);
    run.check(
        "namesCheckUsage",
        client.names_check_usage().name("my-registry").send().await,
    );
    // The hand-written wrapper over namesCheckUsage: Prism answers 200,
    // which means the name is taken.
    match client.is_registry_name_available("my-registry").await {
        Ok(false) => {}
        other => run.fail(format!(
            "is_registry_name_available: expected Ok(false) from a 200, got {other:?}"
        )),
    }
    run.check(
        "registriesGet",
        client
            .registries_get()
            .filter_name("my-registry")
            .limit(10)
            .pagination_token("eyJvZmZzZXQiOjEwfQ")
            .send()
            .await,
    );
    run.check(
        "registriesPost",
        client
            .registries_post()
            .body(typed!(
                types::PostRegistryInput,
                json!({"properties": {"name": "my-registry", "location": "de/fra",
                    "garbageCollectionSchedule": schedule,
                    "features": {"vulnerabilityScanning": {"enabled": true}},
                    "apiSubnetAllowList": ["198.51.100.7"]}}),
            ))
            .send()
            .await,
    );
    run.check(
        "registriesFindById",
        client
            .registries_find_by_id()
            .registry_id(REGISTRY)
            .send()
            .await,
    );
    run.check(
        "registriesPatch",
        client
            .registries_patch()
            .registry_id(REGISTRY)
            .body(typed!(
                types::PatchRegistryInput,
                json!({"garbageCollectionSchedule": schedule,
                    "features": {"vulnerabilityScanning": {"enabled": false}},
                    "apiSubnetAllowList": ["203.0.113.0/24", "2001:db8::/48"]}),
            ))
            .send()
            .await,
    );
    run.check(
        "registriesPut",
        client
            .registries_put()
            .registry_id(REGISTRY)
            .body(typed!(
                types::PutRegistryInput,
                json!({"properties": {"name": "my-registry", "location": "de/fra"}}),
            ))
            .send()
            .await,
    );
    run.check(
        "registriesDelete",
        client
            .registries_delete()
            .registry_id(REGISTRY)
            .send()
            .await,
    );
    run.check(
        "registriesRepositoriesGet",
        client
            .registries_repositories_get()
            .registry_id(REGISTRY)
            .offset(0)
            .limit(10)
            .filter_name("my-service")
            .filter_vulnerability_severity("HIGH")
            .order_by("-lastPush")
            .send()
            .await,
    );
    run.check(
        "registriesRepositoriesFindByName",
        client
            .registries_repositories_find_by_name()
            .registry_id(REGISTRY)
            .repository_name("team/api")
            .send()
            .await,
    );
    run.check(
        "registriesRepositoriesDelete",
        client
            .registries_repositories_delete()
            .registry_id(REGISTRY)
            .repository_name("team/api")
            .send()
            .await,
    );
    const DIGEST: &str = "sha256:9f2c4d6e8a0b1c3d5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d";
    run.check(
        "registriesArtifactsGet",
        client
            .registries_artifacts_get()
            .registry_id(REGISTRY)
            .offset(10)
            .limit(10)
            .filter_vulnerability_id("CVE-2023-44487")
            .order_by("-pullCount")
            .send()
            .await,
    );
    run.check(
        "registriesRepositoriesArtifactsGet",
        client
            .registries_repositories_artifacts_get()
            .registry_id(REGISTRY)
            .repository_name("my-service")
            .offset(0)
            .limit(1000)
            .order_by("-lastPush")
            .send()
            .await,
    );
    run.check(
        "registriesRepositoriesArtifactsFindByDigest",
        client
            .registries_repositories_artifacts_find_by_digest()
            .registry_id(REGISTRY)
            .repository_name("my-service")
            .digest(DIGEST)
            .send()
            .await,
    );
    run.check(
        "registriesRepositoriesArtifactsVulnerabilitiesGet",
        client
            .registries_repositories_artifacts_vulnerabilities_get()
            .registry_id(REGISTRY)
            .repository_name("my-service")
            .digest(DIGEST)
            .offset(0)
            .limit(50)
            .filter_severity("HIGH")
            .filter_fixable(true)
            .order_by("-score")
            .send()
            .await,
    );
    run.check(
        "vulnerabilitiesFindByID",
        client
            .vulnerabilities_find_by_id()
            .vulnerability_id("CVE-2023-44487")
            .send()
            .await,
    );
    run.check(
        "registriesTokensGet",
        client
            .registries_tokens_get()
            .registry_id(REGISTRY)
            .offset(0)
            .limit(10)
            .send()
            .await,
    );
    let token = json!({"properties": {
        "name": "ci-push",
        "expiryDate": "2026-06-30T00:00:00Z",
        "scopes": [{"name": "app/*", "type": "repository", "actions": ["pull", "push"]}],
        "status": "enabled"
    }});
    run.check(
        "registriesTokensPost",
        client
            .registries_tokens_post()
            .registry_id(REGISTRY)
            .body(typed!(types::PostTokenInput, token.clone()))
            .send()
            .await,
    );
    run.check(
        "registriesTokensFindById",
        client
            .registries_tokens_find_by_id()
            .registry_id(REGISTRY)
            .token_id(TOKEN)
            .send()
            .await,
    );
    run.check(
        "registriesTokensPatch",
        client
            .registries_tokens_patch()
            .registry_id(REGISTRY)
            .token_id(TOKEN)
            .body(types::PatchTokenInput {
                // `null`: the token never expires.
                expiry_date: Some(regkit_core::Nullable::Null),
                scopes: None,
                status: Some(types::TokenStatus::Disabled),
            })
            .send()
            .await,
    );
    run.check(
        "registriesTokensPut",
        client
            .registries_tokens_put()
            .registry_id(REGISTRY)
            .token_id(TOKEN)
            .body(typed!(types::PutTokenInput, token))
            .send()
            .await,
    );
    run.check(
        "registriesTokensDelete",
        client
            .registries_tokens_delete()
            .registry_id(REGISTRY)
            .token_id(TOKEN)
            .send()
            .await,
    );
    // The other security scheme the spec allows: Basic credentials.
    let basic = Client::builder()
        .base_url(prism.base_url())
        .basic_auth("user@example.com", "conformance-password")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    run.check("locationsGet", basic.locations_get().send().await);
    run.finish();

    let url = prism.base_url();
    let body = assert_rejected(
        &prism,
        raw().get(format!("{url}/registries")),
        401,
        "listing registries without credentials",
    )
    .await;
    assert_decodes!(
        types::ApiErrorResponse,
        body,
        "listing registries without credentials"
    );
    assert_rejected(
        &prism,
        raw()
            .post(format!("{url}/registries"))
            .bearer_auth(BEARER)
            .json(&json!({"properties": {"location": "de/fra"}})),
        422,
        "creating a registry without its required name",
    )
    .await;
}

// --------------------------------------------------------------- Humanitec

#[tokio::test]
async fn humanitec_conforms_to_its_spec() {
    use regkit_humanitec::{Client, types};

    let prism = Prism::mock("humanitec");
    let client = Client::builder()
        .base_url(prism.base_url())
        .bearer_token(BEARER)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let mut run = Run::new(&prism);
    const ORG: &str = "acme";
    const REG: &str = "ecr-prod";
    let registry = json!({
        "id": REG,
        "registry": "123456789012.dkr.ecr.eu-central-1.amazonaws.com",
        "type": "amazon_ecr",
        "enable_ci": true,
        "creds": {"username": "AKIAEXAMPLEKEYID", "password": "example-secret-key",
            "expires": "2026-12-31T23:59:59Z"}
    });

    run.check(
        "list_registries",
        client.list_registries().org_id(ORG).send().await,
    );
    run.check(
        "create_registry",
        client
            .create_registry()
            .org_id(ORG)
            .body(typed!(types::RegistryRequest, registry.clone()))
            .send()
            .await,
    );
    run.check(
        "get_registry",
        client.get_registry().org_id(ORG).reg_id(REG).send().await,
    );
    run.check(
        "update_registry",
        client
            .update_registry()
            .org_id(ORG)
            .reg_id(REG)
            .body(typed!(
                types::RegistryRequest,
                json!({"id": "team-pull-secret", "registry": "ghcr.io/acme", "type": "secret_ref",
                    "secrets": {"*": {"namespace": "dev-secrets", "secret": "ghcr-regcred"}}}),
            ))
            .send()
            .await,
    );
    run.check(
        "delete_registry",
        client
            .delete_registry()
            .org_id(ORG)
            .reg_id(REG)
            .send()
            .await,
    );
    run.check(
        "get_registry_credentials",
        client
            .get_registry_credentials()
            .org_id(ORG)
            .reg_id(REG)
            .send()
            .await,
    );
    run.finish();

    let url = prism.base_url();
    let body = assert_rejected(
        &prism,
        raw().get(format!("{url}/orgs/{ORG}/registries")),
        401,
        "listing registries without credentials",
    )
    .await;
    assert_decodes!(
        types::ErrorInfoResponse,
        body,
        "listing registries without credentials"
    );
    assert_rejected(
        &prism,
        raw()
            .post(format!("{url}/orgs/{ORG}/registries"))
            .bearer_auth(BEARER)
            .json(&json!({"id": REG, "type": "public"})),
        422,
        "creating a registry record without its required registry host",
    )
    .await;
}

// --------------------------------------------------------------- Buildkite

#[tokio::test]
async fn buildkite_conforms_to_its_spec() {
    use regkit_buildkite::{Client, PackageFile, types};

    let prism = Prism::mock("buildkite");
    let client = Client::builder()
        .base_url(prism.base_url())
        .bearer_token(BEARER)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let mut run = Run::new(&prism);
    const ORG: &str = "acme";
    const REG: &str = "gems";
    const PACKAGE: &str = "0191e23a-4bc8-7f0e-9c1d-2a3b4c5d6e7f";
    const TOKEN: &str = "0191e23b-8d4e-7a6b-b5c4-d3e2f1a0b9c8";

    run.check(
        "list_registries",
        client
            .list_registries()
            .org_slug(ORG)
            .page(1u64)
            .per_page(30u64)
            .send()
            .await,
    );
    run.check(
        "create_registry",
        client
            .create_registry()
            .org_slug(ORG)
            .body(typed!(
                types::RegistryCreate,
                json!({"name": "gems", "ecosystem": "ruby", "description": "Internal gems",
                    "emoji": ":gem:", "color": "#f0ccff",
                    "oidc_policy": [{"iss": "https://agent.buildkite.com", "scopes": ["read_packages", "write_packages"],
                        "claims": {"organization_slug": "acme", "pipeline_slug": {"in": ["gems-release"]}}}]}),
            ))
            .send()
            .await,
    );
    run.check(
        "get_registry",
        client
            .get_registry()
            .org_slug(ORG)
            .registry_slug(REG)
            .send()
            .await,
    );
    run.check(
        "update_registry",
        client
            .update_registry()
            .org_slug(ORG)
            .registry_slug(REG)
            .body(types::RegistryUpdate {
                name: Some("ruby gems".into()),
                // Explicit nulls: remove the description and the policy.
                description: Some(regkit_core::Nullable::Null),
                oidc_policy: Some(regkit_core::Nullable::Null),
                ..Default::default()
            })
            .send()
            .await,
    );
    run.check(
        "delete_registry",
        client
            .delete_registry()
            .org_slug(ORG)
            .registry_slug(REG)
            .send()
            .await,
    );
    run.check(
        "list_packages",
        client
            .list_packages()
            .org_slug(ORG)
            .registry_slug(REG)
            .name("rails")
            .per_page(50u64)
            .after("MjAyNC0wMS0wMQ")
            .send()
            .await,
    );
    run.check(
        "create_package_upload",
        client
            .create_package_upload()
            .org_slug(ORG)
            .registry_slug(REG)
            .send()
            .await,
    );
    run.check(
        "publish_package",
        client
            .publish_package()
            .org_slug(ORG)
            .registry_slug(REG)
            .file(PackageFile::new(
                "banana-1.0.0.gem",
                b"a gem is a tar archive".to_vec(),
            ))
            .send()
            .await,
    );
    // The other form: a file already uploaded with create_package_upload.
    run.check(
        "publish_package",
        client
            .publish_package()
            .org_slug(ORG)
            .registry_slug(REG)
            .package_url("https://packages.example.com/uploads/banana-1.0.0.gem")
            .send()
            .await,
    );
    run.check(
        "get_package",
        client
            .get_package()
            .org_slug(ORG)
            .registry_slug(REG)
            .package_id(PACKAGE)
            .send()
            .await,
    );
    run.check(
        "delete_package",
        client
            .delete_package()
            .org_slug(ORG)
            .registry_slug(REG)
            .package_id(PACKAGE)
            .send()
            .await,
    );
    run.check(
        "copy_package",
        client
            .copy_package()
            .org_slug(ORG)
            .registry_slug(REG)
            .package_id(PACKAGE)
            .to("gems-prod")
            .send()
            .await,
    );
    run.check(
        "list_registry_tokens",
        client
            .list_registry_tokens()
            .org_slug(ORG)
            .registry_slug(REG)
            .page(1u64)
            .per_page(30u64)
            .send()
            .await,
    );
    run.check(
        "create_registry_token",
        client
            .create_registry_token()
            .org_slug(ORG)
            .registry_slug(REG)
            .body(typed!(
                types::RegistryTokenRequest,
                json!({"description": "CI pull token"}),
            ))
            .send()
            .await,
    );
    run.check(
        "get_registry_token",
        client
            .get_registry_token()
            .org_slug(ORG)
            .registry_slug(REG)
            .token_id(TOKEN)
            .send()
            .await,
    );
    run.check(
        "update_registry_token",
        client
            .update_registry_token()
            .org_slug(ORG)
            .registry_slug(REG)
            .token_id(TOKEN)
            .body(typed!(
                types::RegistryTokenRequest,
                json!({"description": "CI pull token (rotated)"}),
            ))
            .send()
            .await,
    );
    run.check(
        "delete_registry_token",
        client
            .delete_registry_token()
            .org_slug(ORG)
            .registry_slug(REG)
            .token_id(TOKEN)
            .send()
            .await,
    );
    run.finish();

    let url = prism.base_url();
    let body = assert_rejected(
        &prism,
        raw().get(format!("{url}/v2/packages/organizations/{ORG}/registries")),
        401,
        "listing registries without credentials",
    )
    .await;
    assert_decodes!(types::Error, body, "listing registries without credentials");
    assert_rejected(
        &prism,
        raw()
            .post(format!("{url}/v2/packages/organizations/{ORG}/registries"))
            .bearer_auth(BEARER)
            .json(&json!({"name": "gems"})),
        422,
        "creating a registry without its required ecosystem",
    )
    .await;
}

// ------------------------------------------------------------------- ABEJA

#[tokio::test]
async fn abeja_conforms_to_its_spec() {
    use regkit_abeja::{Client, types};

    let prism = Prism::mock("abeja");
    let client = Client::builder()
        .base_url(prism.base_url())
        .bearer_token(BEARER)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let mut run = Run::new(&prism);
    const ORG: &str = "1410000000000";
    const REPO: &str = "1520000000001";

    run.check(
        "list_repositories",
        client
            .list_repositories()
            .organization_id(ORG)
            .limit(20u64)
            .offset(0u64)
            .send()
            .await,
    );
    run.check(
        "create_repository",
        client
            .create_repository()
            .organization_id(ORG)
            .body(typed!(
                types::RepositoryCreate,
                json!({"name": "inference-api", "description": "Images of the inference service"}),
            ))
            .send()
            .await,
    );
    run.check(
        "get_repository",
        client
            .get_repository()
            .organization_id(ORG)
            .repository_id(REPO)
            .send()
            .await,
    );
    run.check(
        "delete_repository",
        client
            .delete_repository()
            .organization_id(ORG)
            .repository_id(REPO)
            .send()
            .await,
    );
    run.check(
        "list_repository_tags",
        client
            .list_repository_tags()
            .organization_id(ORG)
            .repository_id(REPO)
            .limit(20u64)
            .offset(20u64)
            .send()
            .await,
    );
    // The other security scheme the spec allows: Basic credentials.
    let basic = Client::builder()
        .base_url(prism.base_url())
        .basic_auth("user-1234567890123", "conformance-personal-access-token")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    run.check(
        "list_repositories",
        basic.list_repositories().organization_id(ORG).send().await,
    );
    run.finish();

    let url = prism.base_url();
    let body = assert_rejected(
        &prism,
        raw().get(format!("{url}/organizations/{ORG}/registry/repositories")),
        401,
        "listing repositories without credentials",
    )
    .await;
    assert_decodes!(
        types::Error,
        body,
        "listing repositories without credentials"
    );
    assert_rejected(
        &prism,
        raw()
            .post(format!("{url}/organizations/{ORG}/registry/repositories"))
            .bearer_auth(BEARER)
            .json(&json!({"description": "no name"})),
        422,
        "creating a repository without its required name",
    )
    .await;
}
