//! The `regkit` binary against the emulator: each command's table and JSON
//! output, exit codes, the prune plan and `--apply`, `login` into a
//! temporary `DOCKER_CONFIG`, secrets kept out of every output, faults
//! injected mid-listing, and `--emulator` for every provider.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use regkit_emulator::{Emulator, FaultRule, Provider};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A multi-threaded runtime serving an emulator with demo content while the
/// test waits for the binary.
struct Env {
    emu: Emulator,
    home: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

fn start() -> Result<Env, Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let emu = rt.block_on(Emulator::builder().demo(true).start())?;
    Ok(Env {
        emu,
        home: tempfile::tempdir()?,
        _rt: rt,
    })
}

impl Env {
    fn token(&self, p: Provider) -> String {
        self.emu.token(p).expose_secret().to_string()
    }

    /// `regkit` with a clean environment: HOME in a temporary directory, the
    /// provider's token, `--base-url` to the emulator.
    fn regkit(&self, p: Provider, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_regkit"));
        cmd.env_clear()
            .env("HOME", self.home.path())
            .env("DOCKER_CONFIG", self.home.path().join("docker"))
            .env(p.token_env(), self.token(p))
            .arg("--base-url")
            .arg(self.emu.url(p))
            .arg(p.name())
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    /// [`Env::run`] with the registry hosts the emulator serves (what
    /// reads the image graph must never reach the documented hosts).
    fn run_served(&self, p: Provider, args: &[&str]) -> Result<Output, Box<dyn std::error::Error>> {
        let mut cmd = self.regkit(p, args);
        if let Some(host) = self.emu.registry_host(p) {
            cmd.env(
                format!("REGKIT_{}_REGISTRY_HOST", p.name().to_ascii_uppercase()),
                host,
            );
        }
        let out = cmd.output()?;
        self.assert_no_token(&out);
        Ok(out)
    }

    fn run(&self, p: Provider, args: &[&str]) -> Result<Output, Box<dyn std::error::Error>> {
        let out = self.regkit(p, args).output()?;
        self.assert_no_token(&out);
        Ok(out)
    }

    /// No provider token appears in anything the binary printed.
    fn assert_no_token(&self, out: &Output) {
        for p in Provider::ALL {
            let token = self.token(p);
            for stream in [&out.stdout, &out.stderr] {
                assert!(
                    !String::from_utf8_lossy(stream).contains(&token),
                    "the {p} token leaked"
                );
            }
        }
    }

    /// DigitalOcean's tags of `repository` in registry `demo`, through the
    /// binary's JSON lines.
    fn tags(&self, repository: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let out = self.run(
            Provider::DigitalOcean,
            &["--output", "json", "tags", repository],
        )?;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        Ok(json_lines(&out.stdout)?
            .iter()
            .filter_map(|v| v["tag"].as_str().map(str::to_string))
            .collect())
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json_lines(b: &[u8]) -> Result<Vec<Value>, serde_json::Error> {
    text(b)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}

#[test]
fn ls_lists_registries_and_repositories_as_a_table_and_as_json() -> TestResult {
    let env = start()?;
    let out = env.run(Provider::DigitalOcean, &["ls"])?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("NAME") && header.contains("HOST"),
        "{table}"
    );
    let row = lines.next().unwrap_or_default();
    assert!(
        row.starts_with("demo") && row.contains("registry.digitalocean.com"),
        "{table}"
    );

    let out = env.run(Provider::DigitalOcean, &["--output", "json", "ls"])?;
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(doc["provider"], "digitalocean");
    assert_eq!(doc["registries"][0]["name"], "demo");
    assert_eq!(doc["registries"][0]["host"], "registry.digitalocean.com");

    let out = env.run(Provider::DigitalOcean, &["ls", "demo"])?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.starts_with("REPOSITORY"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("web ")), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("api/server ")),
        "{table}"
    );

    let out = env.run(Provider::DigitalOcean, &["ls", "demo", "--output", "json"])?;
    let mut names: Vec<String> = json_lines(&out.stdout)?
        .iter()
        .filter_map(|v| v["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    assert_eq!(names, ["api/server", "web"]);

    let out = env.run(Provider::DigitalOcean, &["ls", "nope"])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no registry `nope`"),
        "{}",
        text(&out.stderr)
    );
    Ok(())
}

#[test]
fn tags_lists_images_as_a_table_and_as_json_lines() -> TestResult {
    let env = start()?;
    let out = env.run(Provider::DigitalOcean, &["tags", "web"])?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.starts_with("TAG"), "{table}");
    assert!(table.lines().any(|l| l.starts_with("latest ")), "{table}");
    assert!(table.lines().any(|l| l.starts_with("v12 ")), "{table}");

    let mut tags = env.tags("web")?;
    tags.sort();
    assert_eq!(tags.len(), 13, "{tags:?}");
    assert!(tags.contains(&"latest".to_string()));
    let out = env.run(Provider::DigitalOcean, &["--output", "json", "tags", "web"])?;
    for image in json_lines(&out.stdout)? {
        assert_eq!(image["repository"], "web");
        assert!(
            image["digest"]
                .as_str()
                .is_some_and(|d| d.starts_with("sha256:"))
        );
    }
    Ok(())
}

#[test]
fn exit_codes_missing_credentials_and_usage() -> TestResult {
    let env = start()?;
    // Missing credentials: 4, naming the variables.
    let out = env
        .regkit(Provider::DigitalOcean, &["ls"])
        .env_remove("DIGITALOCEAN_TOKEN")
        .output()?;
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    assert!(
        err.contains("DIGITALOCEAN_TOKEN") && err.contains("DIGITALOCEAN_ACCESS_TOKEN"),
        "{err}"
    );
    let out = env
        .regkit(Provider::Ionos, &["ls"])
        .env_remove("IONOS_TOKEN")
        .output()?;
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    assert!(
        err.contains("IONOS_TOKEN") && err.contains("IONOS_USERNAME"),
        "{err}"
    );

    // Usage: 2.
    for args in [
        &["frobnicate"][..],
        &["prune"],
        &["prune", "--older-than", "soon"],
        &["prune", "--keep", "3", "--protect", "("],
        &["tags"],
    ] {
        let out = env.run(Provider::DigitalOcean, args)?;
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!out.stderr.is_empty());
    }
    // An organization is needed for Humanitec (without --emulator).
    let out = env.run(Provider::Humanitec, &["ls"])?;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--org"), "{}", text(&out.stderr));

    // Help documents the exit codes and the variables.
    let out = Command::new(env!("CARGO_BIN_EXE_regkit"))
        .arg("--help")
        .output()?;
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for needle in [
        "Exit codes",
        "3  partial failure",
        "DIGITALOCEAN_TOKEN",
        "--emulator",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }

    // Unsupported capability: 1, naming provider and capability.
    let out = env.run(Provider::Ionos, &["gc"])?;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("ionos cannot run a garbage collection"),
        "{}",
        text(&out.stderr)
    );
    Ok(())
}

/// Seeded content has no bytes: the registry cannot show its graph, so
/// the default plan deletes nothing and says why; `--no-graph` plans from
/// the listing (the tests below).
#[test]
fn prune_fails_closed_where_the_image_graph_cannot_be_read() -> TestResult {
    let env = start()?;
    let out = env.run_served(
        Provider::DigitalOcean,
        &["prune", "--keep", "3", "--apply", "--yes"],
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Nothing to delete"),
        "{}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("warning: nothing is deleted in web")
            && err.contains("seeded without content"),
        "{err}"
    );
    Ok(())
}

#[test]
fn prune_plans_by_default_and_deletes_with_apply() -> TestResult {
    let env = start()?;
    let out = env.run(
        Provider::DigitalOcean,
        &["prune", "--no-graph", "--keep", "3"],
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.contains("Retention plan for digitalocean registry demo"),
        "{table}"
    );
    assert!(table.contains("delete 11 tags and 11 manifests"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("web ") && l.contains(" v1 ")),
        "{table}"
    );

    let out = env.run(
        Provider::DigitalOcean,
        &[
            "prune",
            "--no-graph",
            "--keep",
            "3",
            "--output",
            "json",
            "--protect",
            "^v1$",
        ],
    )?;
    let plan: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(plan["totals"]["tags_deleted"], 9);
    assert!(
        plan["rules"]["protect"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p == "^v1$"))
    );
    // A plan deletes nothing.
    assert_eq!(env.tags("web")?.len(), 13);

    // Without --yes and without a terminal: refused, nothing deleted.
    let out = env.run(
        Provider::DigitalOcean,
        &["prune", "--no-graph", "--keep", "3", "--apply"],
    )?;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert_eq!(env.tags("web")?.len(), 13);

    let out = env.run(
        Provider::DigitalOcean,
        &[
            "prune",
            "--no-graph",
            "--keep",
            "3",
            "--apply",
            "--yes",
            "--output",
            "json",
        ],
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(report["complete"], true);
    assert_eq!(report["done"].as_array().map(Vec::len), Some(22));
    let mut web = env.tags("web")?;
    web.sort();
    assert_eq!(web, ["latest", "v10", "v11", "v12"]);
    let out = env.run(
        Provider::DigitalOcean,
        &["prune", "--no-graph", "--keep", "3"],
    )?;
    assert!(
        text(&out.stdout).contains("Nothing to delete"),
        "{}",
        text(&out.stdout)
    );
    Ok(())
}

#[test]
fn prune_apply_on_buildkite_deletes_package_versions_to_completion() -> TestResult {
    let env = start()?;
    env.emu.seed(|world, ids, now| {
        let b = &mut world.buildkite;
        let slug = b.add_registry("demo", "Container images", "container", ids, now);
        for i in 0..6 {
            let at = now - chrono::Duration::days(10 + i);
            b.add_package("demo", &slug, "api", &format!("build-{i}"), ids, at);
        }
    });
    let out = env.run(
        Provider::Buildkite,
        &[
            "--org",
            "demo",
            "prune",
            "--no-graph",
            "--keep",
            "2",
            "--apply",
            "--yes",
            "--output",
            "json",
        ],
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(report["complete"], true, "{report}");
    assert_eq!(report["plan"]["totals"]["manifests_deleted"], 0);
    let done: Vec<&str> = report["done"]
        .as_array()
        .ok_or("done")?
        .iter()
        .filter_map(|d| d["tag"].as_str())
        .collect();
    assert_eq!(
        done.len(),
        report["plan"]["deletions"].as_array().map_or(0, Vec::len)
    );
    assert_eq!(done, ["build-2", "build-3", "build-4", "build-5"]);
    let left: Vec<String> = env.emu.world().buildkite.orgs["demo"].registries["container-images"]
        .packages
        .iter()
        .filter(|p| p.name == "api")
        .map(|p| p.version.clone())
        .collect();
    // The releases 1.4.0 and 1.5.0 are protected; the newest two builds kept.
    assert_eq!(left.len(), 4, "{left:?}");
    Ok(())
}

#[test]
fn prune_apply_partial_failure_exits_3_with_the_report() -> TestResult {
    let env = start()?;
    // Enough 500s that the client's retries give up on the third deletion.
    env.emu.inject(
        FaultRule::status(500)
            .operation("registries_delete_repositoryTag")
            .after(2)
            .times(10),
    );
    let out = env.run(
        Provider::DigitalOcean,
        &["prune", "--no-graph", "--keep", "3", "--apply", "--yes"],
    )?;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("Deleted 2 of 22"), "{report}");
    assert!(report.contains("Failed: tag "), "{report}");
    assert!(report.contains("Not attempted (19)"), "{report}");
    assert!(
        text(&out.stderr).contains("prune stopped after 2 of 22"),
        "{}",
        text(&out.stderr)
    );
    Ok(())
}

#[cfg(unix)]
fn mode(path: &Path) -> std::io::Result<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

#[test]
fn login_write_merges_into_docker_config_and_print_shows_the_password_once() -> TestResult {
    let env = start()?;
    let dir = env.home.path().join("docker");
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        r#"{"auths":{"ghcr.io":{"auth":"b3RoZXI6a2VlcA=="}},"credsStore":"desktop","proxies":{"default":{}}}"#,
    )?;

    let out = env.run(
        Provider::DigitalOcean,
        &["login", "--write", "--ttl", "30m"],
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&config)?)?;
    assert_eq!(doc["auths"]["ghcr.io"]["auth"], "b3RoZXI6a2VlcA==", "kept");
    assert_eq!(doc["credsStore"], "desktop");
    assert!(doc["proxies"].is_object());
    // The emulator's docker-credentials name the host it serves.
    let host = env
        .emu
        .registry_host(Provider::DigitalOcean)
        .ok_or("no host")?;
    let auth = doc["auths"][host.as_str()]["auth"]
        .as_str()
        .ok_or("no auth written")?;
    #[cfg(unix)]
    assert_eq!(mode(&config)?, 0o600);
    // The written password shows in no output.
    use base64::Engine as _;
    let decoded = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(auth)?)?;
    let (_, password) = decoded.split_once(':').ok_or("auth is not user:password")?;
    for stream in [&out.stdout, &out.stderr] {
        assert!(!text(stream).contains(password));
    }
    assert!(
        text(&out.stdout).contains("Written to"),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stderr).contains("credsStore") || text(&out.stderr).contains("desktop"));

    // JSON: host, expiry, no password.
    let out = env.run(Provider::DigitalOcean, &["login", "--output", "json"])?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(report["host"], host.as_str());
    assert_eq!(report["written"], false);
    assert!(report["credential"]["expires_at"].is_string());
    assert_eq!(report["credential"]["username"], "[REDACTED]");
    assert!(
        !text(&out.stdout).contains("dop_v1_"),
        "{}",
        text(&out.stdout)
    );

    // --print: the password, alone, on stdout.
    let out = env.run(Provider::DigitalOcean, &["login", "--print"])?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert_eq!(printed.lines().count(), 1, "{printed}");
    assert!(printed.trim().starts_with("dop_v1_"), "{printed}");
    assert!(!text(&out.stderr).contains(printed.trim()));

    // --helper: credHelpers for the host, the rest kept.
    let out = env.run(Provider::DigitalOcean, &["login", "--helper"])?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&config)?)?;
    assert_eq!(doc["credHelpers"]["registry.digitalocean.com"], "regkit");
    assert_eq!(doc["auths"]["ghcr.io"]["auth"], "b3RoZXI6a2VlcA==");

    // IONOS: a token on the demo registry's host.
    let out = env.run(Provider::Ionos, &["login", "--write"])?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&config)?)?;
    let ionos_host = env
        .emu
        .seed(|w, _, _| w.ionos.registries.keys().next().cloned())
        .ok_or("a registry")?;
    let ionos_host = env.emu.ionos_registry_host(&ionos_host).ok_or("a host")?;
    assert!(
        doc["auths"][ionos_host.as_str()]["auth"].is_string(),
        "{doc}"
    );
    Ok(())
}

#[test]
fn k8s_secret_and_gc() -> TestResult {
    let env = start()?;
    let out = env.run(
        Provider::DigitalOcean,
        &["k8s-secret", "--name", "pull", "--namespace", "apps"],
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let secret: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
    assert_eq!(secret["metadata"]["name"], "pull");
    assert_eq!(secret["metadata"]["namespace"], "apps");

    let out = env.run_served(Provider::DigitalOcean, &["gc", "--output", "json"])?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout)?;
    assert!(status["id"].is_string());
    assert_eq!(status["finished"], false);
    Ok(())
}

#[test]
fn a_fault_mid_listing_is_retried_or_reported() -> TestResult {
    let env = start()?;
    env.emu.inject(
        FaultRule::reset()
            .operation("registries_list_repositoryTags")
            .times(1),
    );
    assert_eq!(env.tags("web")?.len(), 13);

    env.emu.inject(
        FaultRule::reset()
            .operation("registries_list_repositoryTags")
            .times(100),
    );
    let out = env.run(Provider::DigitalOcean, &["tags", "web"])?;
    assert_eq!(out.status.code(), Some(6), "a transport failure may pass");
    let err = text(&out.stderr);
    assert!(err.contains("listing images failed"), "{err}");
    assert!(err.contains("registries_list_repository_tags"), "{err}");
    assert!(err.contains("try again later"), "{err}");
    Ok(())
}

/// Every provider's API errors, by class: the exit code the README
/// documents and the hint that says what to do.
#[test]
fn api_errors_exit_by_class_with_a_hint_for_every_provider() -> TestResult {
    let env = start()?;
    for p in Provider::ALL {
        let org = regkit_emulator::demo_org(p).map(|org| ["--org", org]);
        let ls: Vec<&str> = org.iter().flatten().copied().chain(["ls"]).collect();
        let ls = ls.as_slice();
        // A token the provider does not know: its real 401, naming the
        // variables the credentials came from.
        let out = env
            .regkit(p, ls)
            .env(p.token_env(), "not-a-token")
            .output()?;
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{p} 401: {err}");
        assert!(err.contains("refused the credentials"), "{p}: {err}");
        assert!(err.contains(p.token_env()), "{p} names its variable: {err}");
        if p == Provider::DigitalOcean {
            assert!(
                err.contains("(request id "),
                "DigitalOcean sends one: {err}"
            );
        }

        let cases: [(FaultRule, i32, &str); 4] = [
            (FaultRule::status(403), 4, "lack a permission"),
            (FaultRule::status(404), 5, ""),
            (
                FaultRule::rate_limit(std::time::Duration::from_secs(7200)),
                6,
                "is rate limiting; try again in 7200 s",
            ),
            (FaultRule::status(503), 6, "did not answer; try again later"),
        ];
        for (fault, code, hint) in cases {
            let what = format!("{p} {fault:?}");
            env.emu.inject(fault.provider(p));
            let out = env.run(p, ls)?;
            env.emu.clear_faults();
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(code), "{what}: {err}");
            assert!(err.contains(hint), "{what}: {err}");
            assert_eq!(
                err.lines().count(),
                1 + usize::from(!hint.is_empty()),
                "{what}: {err}"
            );
        }
    }
    Ok(())
}

/// `regkit --emulator …`: no credentials at all.
fn emulated(args: &[&str]) -> Result<Output, Box<dyn std::error::Error>> {
    let home = tempfile::tempdir()?;
    emulated_in(home.path(), args, true)
}

fn emulated_in(
    home: &Path,
    args: &[&str],
    docker_config: bool,
) -> Result<Output, Box<dyn std::error::Error>> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_regkit"));
    cmd.env_clear().env("HOME", home);
    if docker_config {
        cmd.env("DOCKER_CONFIG", home.join("docker"));
    }
    Ok(cmd
        .arg("--emulator")
        .args(args)
        .stdin(Stdio::null())
        .output()?)
}

#[test]
fn emulator_runs_every_command_without_credentials() -> TestResult {
    // (provider, args, exit code, text expected on stdout or stderr)
    let cases: &[(&[&str], i32, &str)] = &[
        // The embedded emulator ends with the command: it reports the
        // providers' own hosts.
        (&["digitalocean", "ls"], 0, "registry.digitalocean.com"),
        (&["digitalocean", "ls", "demo"], 0, "api/server"),
        (&["digitalocean", "tags", "web"], 0, "latest"),
        (&["digitalocean", "login"], 0, "Minted"),
        (&["digitalocean", "k8s-secret"], 0, "dockerconfigjson"),
        (
            &["digitalocean", "prune", "--keep", "3"],
            0,
            "delete 11 tags",
        ),
        (
            &["digitalocean", "prune", "--keep", "3", "--apply", "--yes"],
            0,
            "Deleted 22 of 22",
        ),
        (&["digitalocean", "gc", "--wait"], 0, "succeeded"),
        (&["ionos", "ls"], 0, "demo.cr.de-fra.ionos.com"),
        (&["ionos", "ls", "demo"], 0, "web"),
        (&["ionos", "tags", "web"], 0, "latest"),
        (&["ionos", "login"], 0, "demo.cr.de-fra.ionos.com"),
        (&["ionos", "prune", "--keep", "1"], 0, "Retention plan"),
        (
            &["ionos", "prune", "--keep", "1", "--apply", "--yes"],
            1,
            "ionos cannot delete a tag",
        ),
        (&["ionos", "gc"], 1, "ionos cannot run a garbage collection"),
        (&["humanitec", "ls"], 0, "ecr-prod"),
        (
            &["humanitec", "--registry", "ecr-prod", "login"],
            0,
            "amazonaws.com",
        ),
        (
            &["humanitec", "tags", "x"],
            1,
            "humanitec cannot list images",
        ),
        (&["buildkite", "ls"], 0, "packages.buildkite.com"),
        (&["buildkite", "tags", "api"], 0, "1.5.0"),
        (&["buildkite", "login"], 0, "packages.buildkite.com"),
        (
            &["buildkite", "gc"],
            1,
            "buildkite cannot run a garbage collection",
        ),
        (&["abeja", "ls"], 0, "demo-org"),
        (&["abeja", "tags", "object-detector"], 0, "0.0.3"),
        (
            &["abeja", "login"],
            1,
            "abeja cannot mint Docker credentials",
        ),
    ];
    for (args, code, needle) in cases {
        let out = emulated(args)?;
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("dop_v1_"),
            "{args:?}: a secret leaked"
        );
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {all}");
        assert!(all.contains(needle), "{args:?}: {needle:?} not in {all}");
    }

    // --write with the emulator writes only where DOCKER_CONFIG says.
    let home = tempfile::tempdir()?;
    let out = emulated_in(home.path(), &["digitalocean", "login", "--write"], false)?;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("DOCKER_CONFIG"),
        "{}",
        text(&out.stderr)
    );
    assert!(!home.path().join(".docker").exists());
    let out = emulated_in(home.path(), &["digitalocean", "login", "--write"], true)?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(home.path().join("docker").join("config.json").exists());
    Ok(())
}

#[test]
fn call_reaches_generated_operations_from_each_provider() -> TestResult {
    let env = start()?;
    let out = env.run(
        Provider::DigitalOcean,
        &["call", "registries_get", "--registry-name", "demo"],
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let body: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(body["registry"]["name"], "demo");

    // Global flags after the operation still count; secrets stay redacted.
    let out = env.run(
        Provider::DigitalOcean,
        &[
            "call",
            "registries_get_dockerCredentials",
            "--registry-name",
            "demo",
            "--output",
            "json",
        ],
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(answer["status"], 200);
    assert_eq!(answer["redacted"], true);
    let host = env
        .emu
        .registry_host(Provider::DigitalOcean)
        .ok_or("no host")?;
    assert_eq!(answer["body"]["auths"][host.as_str()]["auth"], "[REDACTED]");

    // A missing required flag is a usage error.
    let out = env.run(Provider::DigitalOcean, &["call", "registries_get"])?;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--registry-name"),
        "{}",
        text(&out.stderr)
    );

    // No organization flag needed: it is the operation's parameter.
    let out = emulated(&[
        "humanitec",
        "call",
        "list_registries",
        "--org-id",
        "demo-org",
    ])?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ecr-prod"));
    let out = emulated(&["digitalocean", "call", "--help"])?;
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("registries_list"));
    Ok(())
}
