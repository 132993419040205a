//! `cargo xtask bench-build`: clean-build times of provider crates, beside
//! an OpenAPI Generator client of the same spec built the same way, in one
//! run on one machine. Not run by CI: it takes minutes and wants a quiet
//! machine.
//!
//! Each configuration is built from an empty target directory of its own
//! (dependencies fetched first, so downloads are not timed), debug then
//! release, and timed as a whole `cargo build` process. The peer is built by
//! the recipe in `../shared/bench/openapi_generator_peer.sh` when that file
//! is there (pass `--peer-script PATH` to use another copy).
//!
//! A second table gives the marginal cost a user feels: an application that
//! already builds reqwest, tokio and serde (built first, not timed) adds the
//! client crate, and the build that follows is timed, debug and release,
//! for regkit's crate and for the peer's. Each application asks for the
//! reqwest its client is built on, with reqwest's default features.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One regkit configuration to time.
struct Config {
    label: &'static str,
    features: &'static [&'static str],
    default_features: bool,
}

const CONFIGS: [Config; 2] = [
    Config {
        label: "default (rustls + ring)",
        features: &[],
        default_features: true,
    },
    Config {
        label: "native-tls (the peer's TLS)",
        features: &["native-tls"],
        default_features: false,
    },
];

#[derive(Debug)]
pub struct Options {
    pub providers: Vec<String>,
    pub peer_script: Option<PathBuf>,
    pub scratch: PathBuf,
}

pub fn run(root: &Path, options: &Options) -> Result<(), String> {
    std::fs::create_dir_all(&options.scratch).map_err(|e| e.to_string())?;
    status(Command::new("cargo").arg("fetch").current_dir(root))?;
    println!("| crate | configuration | debug (s) | release (s) |");
    println!("|---|---|---|---|");
    for provider in &options.providers {
        let package = format!("regkit-{provider}");
        for config in &CONFIGS {
            let target = options
                .scratch
                .join(format!("target-{provider}-{}", config.features.join("-")));
            let _ = std::fs::remove_dir_all(&target);
            let debug = timed_build(root, &package, config, &target, false)?;
            let _ = std::fs::remove_dir_all(&target);
            let release = timed_build(root, &package, config, &target, true)?;
            let _ = std::fs::remove_dir_all(&target);
            println!(
                "| {package} | {} | {debug:.1} | {release:.1} |",
                config.label
            );
        }
        if let Some(script) = &options.peer_script {
            peer(root, script, provider, &options.scratch)?;
        }
    }
    println!();
    println!(
        "| added to an application that builds reqwest, tokio and serde | debug (s) | release (s) |"
    );
    println!("|---|---|---|");
    // Each client as `cargo add` gives it, then with the TLS the
    // application's reqwest already has (reqwest 0.13's default: rustls
    // with aws-lc-rs), so TLS is not built twice.
    const TLS_SETTINGS: [(&str, &str, &str); 2] = [
        ("default features", "", ""),
        (
            "the application's TLS",
            ", default-features = false, features = [\"rustls-aws-lc\"]",
            ", default-features = false, features = [\"rustls\"]",
        ),
    ];
    for provider in &options.providers {
        let package = format!("regkit-{provider}");
        let ours_dir = root.join("crates").join(provider);
        let peer_dir = options.scratch.join(format!("peer-{provider}"));
        let peer_name = format!(
            "peer_{}",
            provider.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        let has_peer = options.peer_script.is_some() && peer_dir.join("Cargo.toml").exists();
        for (label, ours_features, peer_features) in TLS_SETTINGS {
            let ours = Client {
                dependency: format!(
                    "{package} = {{ path = {:?}{ours_features} }}",
                    ours_dir.display().to_string()
                ),
                reqwest: reqwest_requirement(
                    &root.join("Cargo.toml"),
                    &["workspace", "dependencies"],
                )?,
            };
            let (debug, release) = marginal(&options.scratch, &package, &ours)?;
            println!("| {package} ({label}) | {debug:.1} | {release:.1} |");
            if has_peer {
                let theirs = Client {
                    dependency: format!(
                        "{peer_name} = {{ path = {:?}{peer_features} }}",
                        peer_dir.display().to_string()
                    ),
                    reqwest: reqwest_requirement(&peer_dir.join("Cargo.toml"), &["dependencies"])?,
                };
                let (debug, release) = marginal(&options.scratch, &peer_name, &theirs)?;
                println!(
                    "| OpenAPI Generator `rust` ({provider}, {label}) | {debug:.1} | {release:.1} |"
                );
            }
        }
    }
    Ok(())
}

/// A client crate as an application's dependency.
struct Client {
    /// The `[dependencies]` line that adds it.
    dependency: String,
    /// The reqwest version requirement the client is built on.
    reqwest: String,
}

/// The reqwest requirement under `table` of the manifest at `path`.
fn reqwest_requirement(path: &Path, table: &[&str]) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut item = toml::Value::Table(doc);
    for key in table.iter().chain(&["reqwest"]) {
        item = item
            .get(key)
            .cloned()
            .ok_or_else(|| format!("{}: no `{}`", path.display(), table.join(".")))?;
    }
    match item {
        toml::Value::String(v) => Ok(v),
        toml::Value::Table(t) => t
            .get("version")
            .and_then(toml::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("{}: reqwest has no version", path.display())),
        other => Err(format!("{}: reqwest is {other}", path.display())),
    }
}

/// Seconds to build an application, debug then release, after `client` is
/// added to it (the application alone is built first in both profiles).
fn marginal(scratch: &Path, name: &str, client: &Client) -> Result<(f64, f64), String> {
    let app = scratch.join(format!("app-{name}"));
    let _ = std::fs::remove_dir_all(&app);
    std::fs::create_dir_all(app.join("src")).map_err(|e| e.to_string())?;
    std::fs::write(app.join("src/main.rs"), "fn main() {}\n").map_err(|e| e.to_string())?;
    let manifest = |extra: &str| {
        format!(
            "[package]\nname = \"app\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\nreqwest = {:?}\n\
             tokio = {{ version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }}\n\
             serde = {{ version = \"1\", features = [\"derive\"] }}\nserde_json = \"1\"\n{extra}\n\
             [workspace]\n",
            client.reqwest
        )
    };
    let write =
        |text: String| std::fs::write(app.join("Cargo.toml"), text).map_err(|e| e.to_string());
    let build = |release: bool| -> Result<f64, String> {
        let mut cmd = Command::new("cargo");
        cmd.args(["build", "--offline"])
            .env("CARGO_TARGET_DIR", app.join("target"))
            .current_dir(&app);
        if release {
            cmd.arg("--release");
        }
        let started = Instant::now();
        status(&mut cmd)?;
        Ok(started.elapsed().as_secs_f64())
    };
    // Resolve and fetch with the client in, then build the application alone.
    write(manifest(&client.dependency))?;
    status(Command::new("cargo").arg("fetch").current_dir(&app))?;
    write(manifest(""))?;
    build(false)?;
    build(true)?;
    write(manifest(&client.dependency))?;
    let debug = build(false)?;
    let release = build(true)?;
    let _ = std::fs::remove_dir_all(&app);
    Ok((debug, release))
}

fn timed_build(
    root: &Path,
    package: &str,
    config: &Config,
    target: &Path,
    release: bool,
) -> Result<f64, String> {
    let mut cmd = Command::new("cargo");
    cmd.args(["build", "--offline", "-p", package])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(root);
    if release {
        cmd.arg("--release");
    }
    if !config.default_features {
        cmd.arg("--no-default-features");
    }
    if !config.features.is_empty() {
        cmd.args(["--features", &config.features.join(",")]);
    }
    let started = Instant::now();
    status(&mut cmd)?;
    Ok(started.elapsed().as_secs_f64())
}

/// Builds the OpenAPI Generator client of the provider's spec with the
/// shared recipe and prints its figures as a table row.
fn peer(root: &Path, script: &Path, provider: &str, scratch: &Path) -> Result<(), String> {
    let spec = root.join(format!("specs/{provider}.yaml"));
    let out = scratch.join(format!("peer-{provider}"));
    let output = Command::new("bash")
        .arg(script)
        .arg(&spec)
        .arg(&out)
        .arg(provider)
        .env("PEER_TARGET_ROOT", scratch)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    let line = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = line.trim().split('\t').collect();
    match fields.as_slice() {
        [_, "0", _, _, debug, _, release, ..] => {
            println!(
                "| OpenAPI Generator `rust` ({provider}) | native-tls | {debug} | {release} |"
            );
            Ok(())
        }
        _ => Err(format!(
            "the peer recipe failed for {provider}: {}{}",
            line,
            String::from_utf8_lossy(&output.stderr)
        )),
    }
}

fn status(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
