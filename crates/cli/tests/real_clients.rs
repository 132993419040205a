//! Container clients nobody here wrote, against the emulator's registries:
//! skopeo copies, inspects, lists and deletes on every provider that hosts
//! images, logging in through `docker-credential-regkit` (skopeo's
//! `credHelpers`), podman pushes a two-platform manifest list, and
//! docker-registry (distribution 2.8) is the reference the same skopeo
//! scenario is compared against.
//!
//! The clients come from Debian (`.ci/run` installs skopeo, podman and
//! docker-registry). Where one is missing the test says so and passes,
//! unless `REGKIT_REAL_CLIENTS=require` (CI sets it), where it fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use base64::Engine as _;
use regkit_emulator::{ClockMode, Emulator, Provider};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Whether `tool` is on the PATH; without it, a skip (or a failure where
/// CI requires the clients).
fn have(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    if !found {
        let required = std::env::var("REGKIT_REAL_CLIENTS").is_ok_and(|v| v == "require");
        assert!(
            !required,
            "{tool} is not installed and REGKIT_REAL_CLIENTS=require"
        );
        eprintln!("skipped: {tool} is not installed (apt-get install {tool})");
    }
    found
}

fn sha256(bytes: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Writes an OCI layout with a two-platform index tagged `v1` and each
/// platform's image tagged by its architecture; returns the index's digest.
fn layout(dir: &Path, layer_size: usize) -> std::io::Result<String> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    let put = |bytes: &[u8], media: &str| -> std::io::Result<Value> {
        let digest = sha256(bytes);
        std::fs::write(blobs.join(digest.trim_start_matches("sha256:")), bytes)?;
        Ok(json!({"mediaType": media, "digest": digest, "size": bytes.len()}))
    };
    let mut rng = fastrand::Rng::new();
    let mut refs = Vec::new();
    let mut platforms = Vec::new();
    for arch in ["amd64", "arm64"] {
        let layer: Vec<u8> = (0..layer_size).map(|_| rng.u8(..)).collect();
        let layer = put(&layer, "application/vnd.oci.image.layer.v1.tar")?;
        let config = json!({"architecture": arch, "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}});
        let config = put(
            config.to_string().as_bytes(),
            "application/vnd.oci.image.config.v1+json",
        )?;
        let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config, "layers": [layer]});
        let mut m = put(
            manifest.to_string().as_bytes(),
            "application/vnd.oci.image.manifest.v1+json",
        )?;
        m["platform"] = json!({"architecture": arch, "os": "linux"});
        let mut tagged = m.clone();
        tagged["annotations"] = json!({"org.opencontainers.image.ref.name": arch});
        refs.push(tagged);
        platforms.push(m);
    }
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": platforms});
    let index_bytes = index.to_string().into_bytes();
    let mut idx = put(&index_bytes, "application/vnd.oci.image.index.v1+json")?;
    idx["annotations"] = json!({"org.opencontainers.image.ref.name": "v1"});
    refs.push(idx);
    std::fs::write(
        dir.join("index.json"),
        json!({"schemaVersion": 2, "manifests": refs}).to_string(),
    )?;
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;
    Ok(sha256(&index_bytes))
}

/// An emulator, scratch directories for Docker's and regkit's files, and
/// the environment the clients and regkit run with.
struct World {
    emu: Emulator,
    rt: tokio::runtime::Runtime,
    home: tempfile::TempDir,
}

impl World {
    fn start() -> Result<World, Box<dyn std::error::Error>> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let emu = rt.block_on(Emulator::builder().clock(ClockMode::Frozen).start())?;
        emu.seed(|w, ids, now| {
            w.digitalocean
                .create_registry("reg", None, None, now)
                .map(|_| ())
                .expect("a registry");
            w.ionos.add_registry("reg-id", "reg", "de/fra", now);
            w.buildkite
                .add_registry("org", "reg", "container", ids, now);
        });
        let home = tempfile::tempdir()?;
        std::fs::create_dir_all(home.path().join("docker"))?;
        std::fs::write(home.path().join("docker/config.json"), "{}")?;
        Ok(World { emu, rt, home })
    }

    /// `provider`'s image name for repository `repo`, as a client writes it.
    fn image(&self, provider: Provider, repo: &str) -> String {
        match provider {
            Provider::DigitalOcean => {
                format!("{}/reg/{repo}", self.emu.registry_host(provider).unwrap())
            }
            Provider::Buildkite => format!(
                "{}/org/reg/{repo}",
                self.emu.registry_host(provider).unwrap()
            ),
            _ => format!("{}/{repo}", self.emu.ionos_registry_host("reg-id").unwrap()),
        }
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        let bin = Path::new(env!("CARGO_BIN_EXE_docker-credential-regkit"))
            .parent()
            .unwrap()
            .to_path_buf();
        let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))
        .unwrap();
        let home = self.home.path();
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", home)
            .env("DOCKER_CONFIG", home.join("docker"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_RUNTIME_DIR", home.join("run"))
            .env("REGKIT_BUILDKITE_ORG", "org")
            .stdin(Stdio::null());
        for p in [Provider::DigitalOcean, Provider::Ionos, Provider::Buildkite] {
            let upper = p.name().to_ascii_uppercase();
            cmd.env(p.token_env(), self.emu.token(p).expose_secret())
                .env(format!("REGKIT_{upper}_BASE_URL"), self.emu.url(p));
            if let Some(host) = self.emu.registry_host(p) {
                cmd.env(format!("REGKIT_{upper}_REGISTRY_HOST"), host);
            }
        }
        cmd
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let out = self
            .command(program)
            .args(args)
            .output()
            .expect("the program runs");
        for p in Provider::ALL {
            let token = self.emu.token(p).expose_secret().to_string();
            assert!(
                !String::from_utf8_lossy(&out.stderr).contains(&token),
                "{program} printed a token"
            );
        }
        out
    }

    fn ok(&self, program: &str, args: &[&str]) -> String {
        let out = self.run(program, args);
        assert!(
            out.status.success(),
            "{program} {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `regkit <provider> login --helper [--push]`: skopeo then asks the
    /// helper for the host.
    fn login_helper(&self, provider: Provider, push: bool) {
        let url = self.emu.url(provider);
        let mut args = vec![
            provider.name(),
            "--base-url",
            url.as_str(),
            "login",
            "--helper",
            "--registry",
        ];
        args.push(if provider == Provider::Ionos {
            "reg-id"
        } else {
            "reg"
        });
        if provider == Provider::Buildkite {
            args.extend(["--org", "org"]);
        }
        if push {
            args.push("--push");
        }
        self.ok(env!("CARGO_BIN_EXE_regkit"), &args);
    }

    /// Tags the management API lists for `repo`.
    fn api_tags(&self, provider: Provider, repo: &str) -> Vec<String> {
        let url = self.emu.url(provider);
        let mut args = vec![
            provider.name(),
            "--base-url",
            url.as_str(),
            "tags",
            "--registry",
        ];
        args.push(if provider == Provider::Ionos {
            "reg-id"
        } else {
            "reg"
        });
        if provider == Provider::Buildkite {
            args.extend(["--org", "org"]);
        }
        args.extend([repo, "--output", "json"]);
        let out = self.ok(env!("CARGO_BIN_EXE_regkit"), &args);
        let mut tags: Vec<String> = out
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|i| i["tag"].as_str().map(str::to_string))
            .collect();
        tags.sort();
        tags
    }
}

fn buildkite_creds(w: &World) -> String {
    format!(
        "buildkite:{}",
        w.emu.token(Provider::Buildkite).expose_secret()
    )
}

#[test]
fn skopeo_copies_inspects_lists_and_deletes_on_every_provider_through_the_helper() -> TestResult {
    if !have("skopeo") {
        return Ok(());
    }
    let w = World::start()?;
    let src = w.home.path().join("src");
    let index_digest = layout(&src, 4096)?;
    let src_ref = format!("oci:{}:v1", src.display());
    for p in [Provider::DigitalOcean, Provider::Ionos, Provider::Buildkite] {
        let image = w.image(p, "app");
        // DigitalOcean and IONOS push with what the helper mints; Buildkite
        // registry tokens only read, so its push takes the API token.
        w.login_helper(p, p != Provider::Buildkite);
        let dest = format!("docker://{image}:v1");
        let mut copy = vec![
            "copy",
            "--all",
            "--dest-tls-verify=false",
            "--preserve-digests",
        ];
        let bk = buildkite_creds(&w);
        if p == Provider::Buildkite {
            copy.extend(["--dest-creds", bk.as_str()]);
        }
        copy.extend([src_ref.as_str(), dest.as_str()]);
        w.ok("skopeo", &copy);

        let raw = w.ok("skopeo", &["inspect", "--tls-verify=false", "--raw", &dest]);
        assert_eq!(
            sha256(raw.as_bytes()),
            index_digest,
            "{p}: the index, byte for byte"
        );
        let tags: Value = serde_json::from_str(&w.ok(
            "skopeo",
            &[
                "list-tags",
                "--tls-verify=false",
                &format!("docker://{image}"),
            ],
        ))?;
        assert_eq!(tags["Tags"], json!(["v1"]), "{p}");
        assert_eq!(w.api_tags(p, "app"), ["v1"], "{p}: the API lists the push");

        let back = w.home.path().join(format!("back-{}", p.name()));
        w.ok(
            "skopeo",
            &[
                "copy",
                "--all",
                "--preserve-digests",
                "--src-tls-verify=false",
                &dest,
                &format!("oci:{}:v1", back.display()),
            ],
        );
        let mut sent: Vec<_> = std::fs::read_dir(src.join("blobs/sha256"))?
            .map(|e| e.unwrap().file_name())
            .collect();
        let mut got: Vec<_> = std::fs::read_dir(back.join("blobs/sha256"))?
            .map(|e| e.unwrap().file_name())
            .collect();
        sent.sort();
        got.sort();
        assert_eq!(sent, got, "{p}: every blob back");

        let delete = ["delete", "--tls-verify=false"];
        match p {
            Provider::Ionos => {
                // The helper's token pulls and pushes; deleting is outside its scopes.
                let out = w.run("skopeo", &[&delete[..], &[dest.as_str()]].concat());
                assert!(!out.status.success(), "{p}: the token may not delete");
                assert!(
                    String::from_utf8_lossy(&out.stderr)
                        .to_lowercase()
                        .contains("denied"),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Provider::Buildkite => {
                w.ok(
                    "skopeo",
                    &[&delete[..], &["--creds", bk.as_str(), dest.as_str()]].concat(),
                );
            }
            _ => {
                w.ok("skopeo", &[&delete[..], &[dest.as_str()]].concat());
            }
        }
        if p != Provider::Ionos {
            let gone = w.run("skopeo", &["inspect", "--tls-verify=false", "--raw", &dest]);
            assert!(!gone.status.success(), "{p}: deleted");
        }
    }
    // The helper minted each credential once per host and cached it.
    let cache =
        std::fs::read_to_string(w.home.path().join("cache/regkit/docker-credentials.json"))?;
    for p in [Provider::DigitalOcean, Provider::Ionos] {
        assert!(cache.contains(p.name()), "{p} minted through the helper");
    }
    drop(w.rt);
    Ok(())
}

#[test]
fn a_read_only_helper_login_pulls_and_cannot_push() -> TestResult {
    if !have("skopeo") {
        return Ok(());
    }
    let w = World::start()?;
    let src = w.home.path().join("src");
    layout(&src, 1024)?;
    w.login_helper(Provider::DigitalOcean, false);
    let dest = format!("docker://{}:v1", w.image(Provider::DigitalOcean, "ro"));
    let out = w.run(
        "skopeo",
        &[
            "copy",
            "--all",
            "--dest-tls-verify=false",
            &format!("oci:{}:v1", src.display()),
            &dest,
        ],
    );
    assert!(!out.status.success(), "a read-only credential pushed");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("denied"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[test]
fn podman_pushes_a_two_platform_manifest_list() -> TestResult {
    if !have("podman") || !have("skopeo") {
        return Ok(());
    }
    let w = World::start()?;
    let src = w.home.path().join("src");
    layout(&src, 2048)?;
    let token = {
        let creds = w.rt.block_on(
            w.emu
                .digitalocean()
                .registries_get_docker_credentials()
                .registry_name("reg")
                .read_write(true)
                .send(),
        )?;
        let auth = creds
            .into_inner()
            .auths
            .into_values()
            .next()
            .and_then(|a| a.auth)
            .expect("an auth");
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(auth.expose_secret())?)?
    };
    let image = w.image(Provider::DigitalOcean, "multi");
    for arch in ["amd64", "arm64"] {
        w.ok(
            "skopeo",
            &[
                "copy",
                "--dest-tls-verify=false",
                "--dest-creds",
                &token,
                &format!("oci:{}:{arch}", src.display()),
                &format!("docker://{image}:{arch}"),
            ],
        );
    }
    let store = w.home.path().join("containers");
    let root = format!("--root={}", store.join("root").display());
    let runroot = format!("--runroot={}", store.join("run").display());
    let podman = |args: &[&str]| {
        let all = [
            &[
                root.as_str(),
                runroot.as_str(),
                "--storage-driver=vfs",
                "--cgroup-manager=cgroupfs",
                "--events-backend=none",
            ][..],
            args,
        ]
        .concat();
        w.ok("podman", &all)
    };
    podman(&["manifest", "create", "localhost/multi:latest"]);
    for arch in ["amd64", "arm64"] {
        podman(&[
            "manifest",
            "add",
            "--tls-verify=false",
            "--creds",
            &token,
            "localhost/multi:latest",
            &format!("docker://{image}:{arch}"),
        ]);
    }
    podman(&[
        "manifest",
        "push",
        "--all",
        "--tls-verify=false",
        "--creds",
        &token,
        "localhost/multi:latest",
        &format!("docker://{image}:multi"),
    ]);
    let raw = w.ok(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--creds",
            &token,
            "--raw",
            &format!("docker://{image}:multi"),
        ],
    );
    let list: Value = serde_json::from_str(&raw)?;
    let archs: Vec<&str> = list["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(archs, ["amd64", "arm64"], "{raw}");
    assert_eq!(
        w.api_tags(Provider::DigitalOcean, "multi"),
        ["amd64", "arm64", "multi"]
    );
    Ok(())
}

/// A docker-registry (distribution) on a free loopback port, with deletes
/// enabled, stopped on drop.
struct Reference {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn reference() -> Result<Reference, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
        dir.path().join("data").display()
    );
    let file = dir.path().join("config.yml");
    std::fs::write(&file, config)?;
    let child = Command::new(docker_registry())
        .args(["serve", &file.display().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            return Ok(Reference {
                child,
                addr,
                _dir: dir,
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("docker-registry did not start".into())
}

fn docker_registry() -> PathBuf {
    PathBuf::from("docker-registry")
}

/// The skopeo scenario both registries go through, as outcomes to compare.
fn scenario(
    w: &World,
    image: &str,
    creds: Option<&str>,
    src: &Path,
) -> Vec<(String, bool, String)> {
    let mut outcomes = Vec::new();
    let with = |mut args: Vec<String>, flag: &str| {
        if let Some(c) = creds {
            args.insert(1, c.to_string());
            args.insert(1, flag.to_string());
        }
        args
    };
    let steps: Vec<(&str, Vec<String>)> = vec![
        (
            "copy --all",
            with(
                vec![
                    "copy".into(),
                    "--all".into(),
                    "--dest-tls-verify=false".into(),
                    "--preserve-digests".into(),
                    format!("oci:{}:v1", src.display()),
                    format!("docker://{image}:v1"),
                ],
                "--dest-creds",
            ),
        ),
        (
            "copy one platform",
            with(
                vec![
                    "copy".into(),
                    "--dest-tls-verify=false".into(),
                    format!("oci:{}:amd64", src.display()),
                    format!("docker://{image}:amd64"),
                ],
                "--dest-creds",
            ),
        ),
        (
            "inspect --raw",
            with(
                vec![
                    "inspect".into(),
                    "--tls-verify=false".into(),
                    "--raw".into(),
                    format!("docker://{image}:v1"),
                ],
                "--creds",
            ),
        ),
        (
            "list-tags",
            with(
                vec![
                    "list-tags".into(),
                    "--tls-verify=false".into(),
                    format!("docker://{image}"),
                ],
                "--creds",
            ),
        ),
        (
            "inspect a missing tag",
            with(
                vec![
                    "inspect".into(),
                    "--tls-verify=false".into(),
                    "--raw".into(),
                    format!("docker://{image}:nope"),
                ],
                "--creds",
            ),
        ),
        (
            "delete",
            with(
                vec![
                    "delete".into(),
                    "--tls-verify=false".into(),
                    format!("docker://{image}:amd64"),
                ],
                "--creds",
            ),
        ),
        (
            "inspect the deleted",
            with(
                vec![
                    "inspect".into(),
                    "--tls-verify=false".into(),
                    "--raw".into(),
                    format!("docker://{image}:amd64"),
                ],
                "--creds",
            ),
        ),
    ];
    for (name, args) in steps {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = w.run("skopeo", &args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        // What is compared: success, and for reads the answer (digests,
        // tags) with the host taken out.
        let shown = match name {
            "inspect --raw" => sha256(stdout.as_bytes()),
            // distribution lists tags in storage order; the spec asks for
            // lexical order (which the emulator keeps): compared as sets.
            "list-tags" => serde_json::from_str::<Value>(&stdout)
                .map(|v| {
                    let mut tags: Vec<String> = v["Tags"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect();
                    tags.sort();
                    tags.join(",")
                })
                .unwrap_or_default(),
            _ => String::new(),
        };
        outcomes.push((name.to_string(), out.status.success(), shown));
    }
    outcomes
}

#[test]
fn skopeo_sees_the_emulator_as_it_sees_docker_registry() -> TestResult {
    if !have("skopeo") || !have("docker-registry") {
        return Ok(());
    }
    let w = World::start()?;
    let src = w.home.path().join("src");
    layout(&src, 3000)?;
    let reference = reference()?;
    let expected = scenario(&w, &format!("{}/reg/app", reference.addr), None, &src);
    let creds = {
        let token = w
            .emu
            .token(Provider::DigitalOcean)
            .expose_secret()
            .to_string();
        format!("{token}:{token}")
    };
    let got = scenario(
        &w,
        &w.image(Provider::DigitalOcean, "app"),
        Some(&creds),
        &src,
    );
    assert_eq!(got, expected, "the emulator against docker-registry 2.8");
    assert!(
        expected[0].1 && !expected[6].1,
        "the reference itself behaved: {expected:?}"
    );
    Ok(())
}

/// `regkit digitalocean …` against the world's emulator.
fn digitalocean(w: &World, args: &[&str]) -> Output {
    let url = w.emu.url(Provider::DigitalOcean);
    let mut all = vec![
        "digitalocean",
        "--base-url",
        url.as_str(),
        "--registry",
        "reg",
    ];
    all.extend(args);
    w.run(env!("CARGO_BIN_EXE_regkit"), &all)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// skopeo pushes a two-platform index (`v1`) and one of its platforms
/// again under a tag of its own (`zz-old`); regkit-oci adds a signature
/// with `subject` and a cosign-style SBOM tag. A listing-only plan would
/// delete the platform with its last tag; the graph keeps it. Then the
/// plan goes through a file, kept tags pull completely with skopeo, the
/// tree shows the graph, and the GC preflight refuses until forced.
#[test]
fn retention_over_what_skopeo_pushed_keeps_every_platform_and_referrer() -> TestResult {
    if !have("skopeo") {
        return Ok(());
    }
    let w = World::start()?;
    let src = w.home.path().join("src");
    let index_digest = layout(&src, 4096)?;
    let image = w.image(Provider::DigitalOcean, "app");
    w.login_helper(Provider::DigitalOcean, true);
    for (from, to) in [("v1", "v1"), ("amd64", "zz-old")] {
        let mut args = vec!["copy", "--dest-tls-verify=false", "--preserve-digests"];
        if from == "v1" {
            args.push("--all");
        }
        let (s, d) = (
            format!("oci:{}:{from}", src.display()),
            format!("docker://{image}:{to}"),
        );
        args.extend([s.as_str(), d.as_str()]);
        w.ok("skopeo", &args);
    }
    let host = w.emu.registry_host(Provider::DigitalOcean).unwrap();
    let token = w
        .emu
        .token(Provider::DigitalOcean)
        .expose_secret()
        .to_string();
    let oci = regkit_oci::Client::builder(host)
        .login(Some(regkit_oci::Login::new(token.clone(), token.clone())))
        .build()?;
    let (signature, sbom) = w.rt.block_on(async {
        let index = oci.manifest("reg/app", &index_digest).await?;
        let referrer = |kind: &str, subject: Option<(&str, usize)>| {
            let payload = format!("{{\"kind\":\"{kind}\"}}").into_bytes();
            let empty = b"{}".to_vec();
            let mut m = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": format!("application/vnd.example.{kind}"),
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(&empty), "size": 2},
                "layers": [{"mediaType": "application/json", "digest": sha256(&payload), "size": payload.len()}],
            });
            if let Some((d, size)) = subject {
                m["subject"] = json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": size});
            }
            (empty, payload, m.to_string().into_bytes())
        };
        let mut pushed = Vec::new();
        for (kind, reference) in [
            ("signature", None),
            ("sbom", Some(format!("sha256-{}.sbom", index_digest.trim_start_matches("sha256:")))),
        ] {
            let subject = reference.is_none().then_some((index_digest.as_str(), index.bytes.len()));
            let (config, layer, manifest) = referrer(kind, subject);
            oci.push_blob("reg/app", bytes::Bytes::from(config)).await?;
            oci.push_blob("reg/app", bytes::Bytes::from(layer)).await?;
            let digest = sha256(&manifest);
            oci.put_manifest(
                "reg/app",
                reference.as_deref().unwrap_or(&digest),
                "application/vnd.oci.image.manifest.v1+json",
                bytes::Bytes::from(manifest),
            )
            .await?;
            pushed.push(digest);
        }
        Ok::<_, regkit_oci::Error>((pushed[0].clone(), pushed[1].clone()))
    })?;

    // The tree, as text and JSON.
    let tree = digitalocean(&w, &["tags", "app", "--tree"]);
    assert!(tree.status.success(), "{}", stderr(&tree));
    let text = stdout(&tree);
    println!("$ regkit digitalocean tags app --tree\n{text}");
    for needle in [
        "v1 index",
        "linux/amd64 image",
        "linux/arm64 image",
        "referrer application/vnd.example.signature",
        "zz-old image",
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
    let json_tree = digitalocean(&w, &["tags", "app", "--tree", "--output", "json"]);
    let lines: Vec<Value> = stdout(&json_tree)
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let v1 = lines.iter().find(|l| l["tag"] == "v1").expect("v1");
    assert_eq!(v1["digest"], index_digest.as_str());
    assert_eq!(v1["manifests"].as_array().map(Vec::len), Some(2));
    let referrers = v1["referrers"].as_array().expect("referrers");
    let sig = referrers
        .iter()
        .find(|r| r["digest"] == signature.as_str())
        .expect("the signature");
    assert_eq!(sig["artifact_type"], "application/vnd.example.signature");
    assert!(
        referrers.iter().any(|r| r["digest"] == sbom.as_str()),
        "the cosign-style SBOM belongs to its subject"
    );

    // The plan, through a file: only the tag goes; the platform it named
    // is v1's and stays, and so do the referrers.
    let plan_path = w.home.path().join("plan.json");
    let out = digitalocean(
        &w,
        &["prune", "--keep", "1", "--out", plan_path.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_path)?)?;
    let deletions: Vec<(String, String)> = plan["deletions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["tag"].as_str().unwrap_or("<manifest>").to_string(),
                d["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let amd64 = lines.iter().find(|l| l["tag"] == "zz-old").unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(deletions, [("zz-old".to_string(), amd64.clone())], "{plan}");
    assert_eq!(plan["graph_read"], true);
    let file_text = std::fs::read_to_string(&plan_path)?;
    assert!(!file_text.contains(&token), "no secret in the plan file");
    // A foreign or stale plan is refused.
    let ionos_url = w.emu.url(Provider::Ionos);
    let foreign = w.run(
        env!("CARGO_BIN_EXE_regkit"),
        &[
            "ionos",
            "--base-url",
            ionos_url.as_str(),
            "prune",
            "--apply-plan",
            plan_path.to_str().unwrap(),
            "--yes",
        ],
    );
    assert_eq!(foreign.status.code(), Some(1), "{}", stderr(&foreign));
    let mut stale = plan.clone();
    stale["now"] = json!("2020-01-01T00:00:00Z");
    let stale_path = w.home.path().join("stale.json");
    std::fs::write(&stale_path, stale.to_string())?;
    let refused = digitalocean(
        &w,
        &[
            "prune",
            "--apply-plan",
            stale_path.to_str().unwrap(),
            "--yes",
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("older than"),
        "{}",
        stderr(&refused)
    );
    let applied = digitalocean(
        &w,
        &[
            "prune",
            "--apply-plan",
            plan_path.to_str().unwrap(),
            "--yes",
            "--output",
            "json",
        ],
    );
    assert!(applied.status.success(), "{}", stderr(&applied));
    let report: Value = serde_json::from_str(&stdout(&applied))?;
    assert_eq!(report["complete"], true, "{report}");

    // Every kept tag pulls completely: every platform, every blob.
    for tag in [
        "v1".to_string(),
        format!("sha256-{}.sbom", index_digest.trim_start_matches("sha256:")),
    ] {
        let dir = w.home.path().join(format!("pulled-{}", tag.len()));
        w.ok(
            "skopeo",
            &[
                "copy",
                "--all",
                "--src-tls-verify=false",
                &format!("docker://{image}:{tag}"),
                &format!("dir:{}", dir.display()),
            ],
        );
    }
    let sig = w.ok(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--raw",
            &format!("docker://{image}@{signature}"),
        ],
    );
    assert_eq!(sha256(sig.as_bytes()), signature);

    // The GC preflight: v1's platforms and its signature are untagged.
    let refused = digitalocean(&w, &["gc"]);
    println!("$ regkit digitalocean gc\n{}", stderr(&refused));
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("2 untagged platforms"),
        "{}",
        stderr(&refused)
    );
    assert!(
        stderr(&refused).contains("1 untagged referrers"),
        "{}",
        stderr(&refused)
    );
    let forced = digitalocean(&w, &["gc", "--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(stderr(&forced).contains("--force"), "{}", stderr(&forced));
    Ok(())
}

/// `regkit copy` and `regkit mirror` between providers, with skopeo
/// pushing the source and pulling the copy: DigitalOcean → IONOS and
/// Buildkite → DigitalOcean, digests kept, every platform there, and a
/// second mirror copying nothing.
#[test]
fn regkit_copy_and_mirror_move_what_skopeo_pushed_between_providers() -> TestResult {
    if !have("skopeo") {
        return Ok(());
    }
    let w = World::start()?;
    let src = w.home.path().join("src");
    let index_digest = layout(&src, 4096)?;
    let src_ref = format!("oci:{}:v1", src.display());
    w.login_helper(Provider::DigitalOcean, true);
    w.login_helper(Provider::Ionos, false);
    let do_image = w.image(Provider::DigitalOcean, "app");
    w.ok(
        "skopeo",
        &[
            "copy",
            "--all",
            "--dest-tls-verify=false",
            "--preserve-digests",
            &src_ref,
            &format!("docker://{do_image}:v1"),
        ],
    );
    let bk_image = w.image(Provider::Buildkite, "web");
    let bk = buildkite_creds(&w);
    w.ok(
        "skopeo",
        &[
            "copy",
            "--all",
            "--dest-tls-verify=false",
            "--preserve-digests",
            "--dest-creds",
            &bk,
            &src_ref,
            &format!("docker://{bk_image}:v1"),
        ],
    );
    let regkit = env!("CARGO_BIN_EXE_regkit");
    let tokens: Vec<String> = Provider::ALL
        .iter()
        .map(|p| w.emu.token(*p).expose_secret().to_string())
        .collect();
    let no_secret = |o: &Output| {
        for t in &tokens {
            assert!(
                !stdout(o).contains(t) && !stderr(o).contains(t),
                "a token in the output"
            );
        }
    };

    let out = w.run(
        regkit,
        &[
            "copy",
            "digitalocean:reg/app:v1",
            "ionos:reg-id/prod/app",
            "--output",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    no_secret(&out);
    let report: Value = serde_json::from_str(&stdout(&out))?;
    assert_eq!(report["tags_written"], json!(["v1"]), "{report}");
    assert_eq!(
        report["manifests_copied"].as_array().map(Vec::len),
        Some(3),
        "{report}"
    );
    let ionos_image = w.image(Provider::Ionos, "prod/app");
    let raw = w.ok(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--raw",
            &format!("docker://{ionos_image}:v1"),
        ],
    );
    assert_eq!(
        sha256(raw.as_bytes()),
        index_digest,
        "the index, byte for byte"
    );
    let pulled = w.home.path().join("pulled");
    w.ok(
        "skopeo",
        &[
            "copy",
            "--all",
            "--src-tls-verify=false",
            &format!("docker://{ionos_image}:v1"),
            &format!("oci:{}:v1", pulled.display()),
        ],
    );

    let out = w.run(
        regkit,
        &[
            "copy",
            "buildkite:org/reg/web:v1",
            "digitalocean:reg/promoted:stable",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    no_secret(&out);
    let raw = w.ok(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--raw",
            &format!(
                "docker://{}:stable",
                w.image(Provider::DigitalOcean, "promoted")
            ),
        ],
    );
    assert_eq!(sha256(raw.as_bytes()), index_digest);

    for round in 0..2 {
        let out = w.run(
            regkit,
            &[
                "mirror",
                "digitalocean:reg/app",
                "ionos:reg-id/mirror/app",
                "--output",
                "json",
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let report: Value = serde_json::from_str(&stdout(&out))?;
        let copied = report["manifests_copied"].as_array().map_or(0, Vec::len);
        if round == 0 {
            assert_eq!(copied, 3, "{report}");
        } else {
            assert_eq!(copied, 0, "a second run copies nothing: {report}");
            assert_eq!(report["blobs_copied"], 0);
            assert_eq!(report["tags_skipped"], json!(["v1"]));
        }
    }
    let bad = w.run(regkit, &["copy", "digitalocean:reg/app", "ionos:reg-id/x"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("SRC"), "{}", stderr(&bad));
    Ok(())
}
