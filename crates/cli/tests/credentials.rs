//! Credentials that shipped must hold up: concurrent `regkit login --write`
//! and `docker-credential-regkit get` processes lose no entry, no TTL entry
//! point mints a credential that never expires unless asked by name, the
//! helper's cache serves a credential only to the account that minted it,
//! and what `login --helper` sets up is enough for Docker's `get` in a
//! clean environment, for every provider `login --helper` supports.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use regkit_emulator::{Emulator, FaultRule, Provider};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Providers whose registries have a host Docker logs in to, the ones
/// `login --helper` supports; with the flags that pick their demo registry.
const HELPER_PROVIDERS: [(Provider, &[&str]); 4] = [
    (Provider::DigitalOcean, &[]),
    (Provider::Ionos, &[]),
    (
        Provider::Humanitec,
        &["--org", "demo-org", "--registry", "ecr-prod"],
    ),
    (Provider::Buildkite, &["--org", "demo"]),
];

/// An emulator with demo content on its own runtime, and a home directory.
struct Env {
    emu: Emulator,
    home: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

fn start() -> Result<Env, Box<dyn std::error::Error>> {
    // The providers' own host names (the data plane, whose listeners the
    // API would report instead, is off).
    start_with(Emulator::builder().demo(true).data_plane(false))
}

fn start_with(
    builder: regkit_emulator::EmulatorBuilder,
) -> Result<Env, Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let emu = rt.block_on(builder.start())?;
    Ok(Env {
        emu,
        home: tempfile::tempdir()?,
        _rt: rt,
    })
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Env {
    fn token(&self, p: Provider) -> String {
        self.emu.token(p).expose_secret().to_string()
    }

    fn docker_dir(&self) -> PathBuf {
        self.home.path().join("docker")
    }

    fn cache_file(&self) -> PathBuf {
        self.home
            .path()
            .join(".cache")
            .join("regkit")
            .join("docker-credentials.json")
    }

    /// `regkit --base-url <emulator> <provider> <args>`, in a clean
    /// environment: HOME, DOCKER_CONFIG and the provider's token.
    fn regkit(&self, p: Provider, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_regkit"));
        cmd.env_clear()
            .env("HOME", self.home.path())
            .env("DOCKER_CONFIG", self.docker_dir())
            .env(p.token_env(), self.token(p))
            .arg("--base-url")
            .arg(self.emu.url(p))
            .arg(p.name())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run(&self, p: Provider, args: &[&str]) -> Result<Output, Box<dyn std::error::Error>> {
        let out = self.regkit(p, args).output()?;
        self.assert_no_token(&out);
        Ok(out)
    }

    /// `docker-credential-regkit <action>` as Docker runs it: HOME, and
    /// only the variables given (a provider token, say).
    fn helper(&self, action: &str, vars: &[(&str, String)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_docker-credential-regkit"));
        cmd.env_clear()
            .env("HOME", self.home.path())
            .envs(vars.iter().map(|(k, v)| (*k, v)))
            .arg(action)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn spawn_get(
        &self,
        server: &str,
        vars: &[(&str, String)],
    ) -> Result<Child, Box<dyn std::error::Error>> {
        let mut child = self.helper("get", vars).spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(server.as_bytes())?;
        }
        Ok(child)
    }

    fn get(
        &self,
        server: &str,
        vars: &[(&str, String)],
    ) -> Result<Output, Box<dyn std::error::Error>> {
        let out = self.spawn_get(server, vars)?.wait_with_output()?;
        self.assert_no_token(&out);
        Ok(out)
    }

    /// The provider's token and, for the helper, where its API is.
    fn helper_vars(&self, p: Provider) -> Vec<(&'static str, String)> {
        vec![
            (p.token_env(), self.token(p)),
            (base_url_var(p), self.emu.url(p)),
        ]
    }

    fn assert_no_token(&self, out: &Output) {
        for p in Provider::ALL {
            let token = self.token(p);
            for stream in [&out.stdout, &out.stderr] {
                assert!(!text(stream).contains(&token), "the {p} token leaked");
            }
        }
    }

    /// Seeds `n` IONOS registries and returns their hosts, as `ls` shows
    /// them, with their ids.
    fn ionos_registries(
        &self,
        n: usize,
    ) -> Result<Vec<(String, String)>, Box<dyn std::error::Error>> {
        self.emu.seed(|world, _, now| {
            for i in 0..n {
                world.ionos.add_registry(
                    &format!("reg-{i:02}"),
                    &format!("team{i:02}"),
                    "de/fra",
                    now,
                );
            }
        });
        let out = self.run(Provider::Ionos, &["--output", "json", "ls"])?;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let doc: Value = serde_json::from_slice(&out.stdout)?;
        let mut found: Vec<(String, String)> = doc["registries"]
            .as_array()
            .ok_or("no registries")?
            .iter()
            .filter(|r| r["id"].as_str().is_some_and(|id| id.starts_with("reg-")))
            .map(|r| {
                (
                    r["host"].as_str().unwrap_or_default().to_string(),
                    r["id"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        found.sort();
        assert_eq!(found.len(), n, "{doc}");
        Ok(found)
    }

    fn ionos_token_count(&self) -> usize {
        self.emu
            .world()
            .ionos
            .registries
            .values()
            .map(|r| r.tokens.len())
            .sum()
    }
}

fn base_url_var(p: Provider) -> &'static str {
    match p {
        Provider::DigitalOcean => "REGKIT_DIGITALOCEAN_BASE_URL",
        Provider::Ionos => "REGKIT_IONOS_BASE_URL",
        Provider::Humanitec => "REGKIT_HUMANITEC_BASE_URL",
        Provider::Buildkite => "REGKIT_BUILDKITE_BASE_URL",
        Provider::Abeja => "REGKIT_ABEJA_BASE_URL",
    }
}

fn read_json(path: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

fn cache_entries(env: &Env) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
    Ok(read_json(&env.cache_file())?["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

#[cfg(unix)]
fn mode(path: &Path) -> std::io::Result<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

// ------------------------------------------------ 2. concurrent writers

#[test]
fn twenty_concurrent_login_write_processes_keep_all_twenty_hosts() -> TestResult {
    let env = start()?;
    let registries = env.ionos_registries(20)?;
    let tokens_before = env.ionos_token_count();
    let config = env.docker_dir().join("config.json");
    std::fs::create_dir_all(env.docker_dir())?;
    std::fs::write(
        &config,
        r#"{"auths":{"ghcr.io":{"auth":"b3RoZXI6a2VlcA=="}}}"#,
    )?;
    let children: Vec<Child> = registries
        .iter()
        .map(|(_, id)| {
            env.regkit(Provider::Ionos, &["--registry", id, "login", "--write"])
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    for child in children {
        let out = child.wait_with_output()?;
        env.assert_no_token(&out);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let doc = read_json(&config)?;
    let auths = doc["auths"].as_object().ok_or("no auths")?;
    for (host, _) in &registries {
        assert!(auths[host]["auth"].is_string(), "{host} lost: {doc}");
    }
    assert_eq!(auths["ghcr.io"]["auth"], "b3RoZXI6a2VlcA==", "kept");
    assert_eq!(auths.len(), 21);
    assert_eq!(env.ionos_token_count(), tokens_before + 20);
    #[cfg(unix)]
    assert_eq!(mode(&config)?, 0o600);
    Ok(())
}

#[test]
fn ten_concurrent_helper_gets_keep_ten_entries_and_mint_each_host_once() -> TestResult {
    let env = start()?;
    let registries = env.ionos_registries(10)?;
    let tokens_before = env.ionos_token_count();
    let vars = env.helper_vars(Provider::Ionos);
    for round in 0..2 {
        let children: Vec<Child> = registries
            .iter()
            .map(|(host, _)| env.spawn_get(host, &vars))
            .collect::<Result<_, _>>()?;
        for child in children {
            let out = child.wait_with_output()?;
            env.assert_no_token(&out);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        }
        let entries = cache_entries(&env)?;
        let mut hosts: Vec<&str> = entries.iter().filter_map(|e| e["host"].as_str()).collect();
        hosts.sort();
        let expected: Vec<&str> = registries.iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(hosts, expected, "round {round}");
        // The second round is served from the cache: no token piles up.
        assert_eq!(env.ionos_token_count(), tokens_before + 10, "round {round}");
    }
    #[cfg(unix)]
    assert_eq!(mode(&env.cache_file())?, 0o600);
    Ok(())
}

// ------------------------------------------------ 3. TTLs

/// Zero, under a second, just over a year, and a unit typo.
const REFUSED_TTLS: [&str; 5] = ["0", "0s", "500ms", "366d", "100000d"];

#[test]
fn login_and_k8s_secret_refuse_a_zero_or_absurd_ttl_for_every_provider() -> TestResult {
    let env = start()?;
    let tokens_before = env.ionos_token_count();
    for p in Provider::ALL {
        for command in ["login", "k8s-secret"] {
            for ttl in REFUSED_TTLS {
                let out = env.run(p, &[command, "--ttl", ttl])?;
                let stderr = text(&out.stderr);
                assert_eq!(
                    out.status.code(),
                    Some(2),
                    "{p} {command} --ttl {ttl}: {stderr}"
                );
                assert!(stderr.contains("--ttl"), "the flag is named: {stderr}");
            }
        }
    }
    let zero = env.run(Provider::DigitalOcean, &["login", "--ttl", "0"])?;
    assert!(
        text(&zero.stderr).contains("--never-expire"),
        "{}",
        text(&zero.stderr)
    );
    assert!(env.emu.world().digitalocean.issued_credentials.is_empty());
    assert_eq!(env.ionos_token_count(), tokens_before);
    Ok(())
}

#[test]
fn a_credential_that_never_expires_is_minted_only_when_asked_by_name() -> TestResult {
    let env = start()?;
    let out = env.run(Provider::DigitalOcean, &["login", "--output", "json"])?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout)?;
    assert!(report["credential"]["expires_at"].is_string(), "{report}");

    let out = env.run(
        Provider::DigitalOcean,
        &["login", "--never-expire", "--output", "json"],
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout)?;
    assert!(report["credential"]["expires_at"].is_null(), "{report}");
    let issued = env.emu.world().digitalocean.issued_credentials;
    assert_eq!(issued.len(), 2);
    assert!(issued[0].expires_at.is_some());
    assert_eq!(issued[1].expires_at, None);

    let out = env.run(Provider::DigitalOcean, &["k8s-secret", "--never-expire"])?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(env.emu.world().digitalocean.issued_credentials.len(), 3);

    for args in [
        &["login", "--never-expire", "--ttl", "1h"][..],
        &["login", "--never-expire", "--helper"],
        &["k8s-secret", "--never-expire", "--ttl", "1h"],
    ] {
        let out = env.run(Provider::DigitalOcean, args)?;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(env.emu.world().digitalocean.issued_credentials.len(), 3);
    Ok(())
}

#[test]
fn the_helper_refuses_a_zero_or_absurd_ttl_and_never_caches_for_ever() -> TestResult {
    let env = start()?;
    for ttl in REFUSED_TTLS.iter().chain(&["soon"]) {
        let mut vars = env.helper_vars(Provider::DigitalOcean);
        vars.push(("REGKIT_CREDENTIAL_TTL", ttl.to_string()));
        let out = env.get("registry.digitalocean.com", &vars)?;
        assert_eq!(out.status.code(), Some(1), "{ttl}");
        assert!(
            text(&out.stdout).contains("REGKIT_CREDENTIAL_TTL"),
            "{ttl}: {}",
            text(&out.stdout)
        );
    }
    assert!(env.emu.world().digitalocean.issued_credentials.is_empty());
    assert!(!env.cache_file().exists());

    // Buildkite registry tokens do not expire: cached for the TTL only.
    let mut vars = env.helper_vars(Provider::Buildkite);
    vars.push(("REGKIT_CREDENTIAL_TTL", "2h".into()));
    let before = chrono::Utc::now();
    let out = env.get("packages.buildkite.com/demo/container-images", &vars)?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let entries = cache_entries(&env)?;
    assert_eq!(entries.len(), 1);
    assert!(entries[0]["expires_at"].is_null());
    let fresh_until: chrono::DateTime<chrono::Utc> = entries[0]["fresh_until"]
        .as_str()
        .ok_or("no fresh_until")?
        .parse()?;
    assert!(fresh_until >= before + chrono::Duration::hours(2));
    assert!(fresh_until <= chrono::Utc::now() + chrono::Duration::hours(2));
    Ok(())
}

#[test]
fn the_helper_serves_a_credential_only_to_the_account_that_minted_it() -> TestResult {
    let a = start()?;
    // Another account: its own emulator, token and address.
    let b = start_with(Emulator::builder().demo(true).data_plane(false).token(
        Provider::DigitalOcean,
        "dop_v1_0ther0ther0ther0ther0ther0ther0ther0ther0ther0ther0ther0ther0th",
    ))?;
    let host = "registry.digitalocean.com";
    let vars_a = a.helper_vars(Provider::DigitalOcean);
    let vars_b = b.helper_vars(Provider::DigitalOcean);
    assert_ne!(vars_a, vars_b);
    let secret = |out: &Output| -> Result<String, Box<dyn std::error::Error>> {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        let answer: Value = serde_json::from_slice(&out.stdout)?;
        Ok(answer["Secret"].as_str().ok_or("no Secret")?.to_string())
    };
    let issued = |env: &Env| env.emu.world().digitalocean.issued_credentials.len();

    let first = secret(&a.get(host, &vars_a)?)?;
    assert_eq!(issued(&a), 1);

    // Same cache (same HOME), the user switched token and base URL.
    secret(&a.get(host, &vars_b)?)?;
    assert_eq!(issued(&b), 1, "minted by the new account");
    assert_eq!(issued(&a), 1);

    // Only the token switched: the old account's credential is not served
    // (the API refuses the other token).
    let token_only = vec![
        (
            Provider::DigitalOcean.token_env(),
            b.token(Provider::DigitalOcean),
        ),
        (
            base_url_var(Provider::DigitalOcean),
            a.emu.url(Provider::DigitalOcean),
        ),
    ];
    let out = a.get(host, &token_only)?;
    assert_eq!(out.status.code(), Some(4), "refused: {}", text(&out.stdout));
    assert!(!text(&out.stdout).contains(&first));

    // Back to the first account: its cached credential, nothing minted,
    // even with its API failing.
    a.emu.inject(FaultRule::status(500));
    assert_eq!(secret(&a.get(host, &vars_a)?)?, first);
    assert_eq!(issued(&a), 1);
    assert_eq!(cache_entries(&a)?.len(), 2);
    Ok(())
}

// ------------------------------------------------ 4. login --helper

#[test]
fn login_helper_then_get_in_a_clean_environment_works_for_every_provider() -> TestResult {
    for (p, flags) in HELPER_PROVIDERS {
        let env = start()?;
        let mut args: Vec<&str> = flags.to_vec();
        args.extend(["login", "--helper", "--output", "json"]);
        let out = env.run(p, &args)?;
        assert_eq!(out.status.code(), Some(0), "{p}: {}", text(&out.stderr));
        let report: Value = serde_json::from_slice(&out.stdout)?;
        let host = report["host"].as_str().ok_or("no host")?.to_string();
        assert!(!host.contains('/'), "Docker asks by host alone: {host}");
        let config = read_json(&env.docker_dir().join("config.json"))?;
        assert_eq!(config["credHelpers"][&host], "regkit", "{p}: {config}");
        let recorded = std::fs::read_to_string(
            env.home
                .path()
                .join(".config")
                .join("regkit")
                .join("credential-helper.json"),
        )?;
        assert!(!recorded.contains(&env.token(p)), "no secret recorded");

        // Docker: the host alone, and only the provider's token set.
        let out = env.get(&host, &[(p.token_env(), env.token(p))])?;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{p} get {host}: {}",
            text(&out.stdout)
        );
        let answer: Value = serde_json::from_slice(&out.stdout)?;
        assert_eq!(answer["ServerURL"], host.as_str());
        assert!(
            answer["Username"].as_str().is_some_and(|u| !u.is_empty()),
            "{p}"
        );
        assert!(
            answer["Secret"].as_str().is_some_and(|s| !s.is_empty()),
            "{p}"
        );
        // With a scheme, as some clients send it: the same login.
        let out = env.get(&format!("https://{host}"), &[(p.token_env(), env.token(p))])?;
        assert_eq!(out.status.code(), Some(0), "{p}: {}", text(&out.stdout));
    }
    Ok(())
}

#[test]
fn login_helper_for_a_record_with_a_path_registers_its_host_and_refuses_the_embedded_emulator()
-> TestResult {
    let env = start()?;
    let out = env.run(
        Provider::Humanitec,
        &[
            "--org",
            "demo-org",
            "--registry",
            "team-pull-secret",
            "login",
            "--helper",
            "--output",
            "json",
        ],
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(report["host"], "ghcr.io");

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_regkit"));
    let out = cmd
        .env_clear()
        .env("HOME", env.home.path())
        .env("DOCKER_CONFIG", env.docker_dir())
        .args(["--emulator", "digitalocean", "login", "--helper"])
        .output()?;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--base-url"),
        "{}",
        text(&out.stderr)
    );
    Ok(())
}
