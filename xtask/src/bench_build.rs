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
    Ok(())
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
