//! `regkit-emulator`: all five providers' registry APIs on one local port.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use regkit_emulator::{Emulator, Provider, Snapshot, UntaggedCollection};

/// A stateful local twin of the DigitalOcean, IONOS, Humanitec, Buildkite
/// and ABEJA registry APIs. Each provider is served under its own prefix
/// (http://HOST:PORT/digitalocean, …/ionos, …); point a client's base URL
/// there and use the token printed at start.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 4010, allow_negative_numbers = true)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// State file: loaded at start when it exists, written when the
    /// emulator is stopped (SIGTERM, SIGINT or Ctrl-C).
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Seed of tokens, ids, digests and fault chances.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    seed: u64,
    /// Seed demo content (registries, repositories, tags) when no state file
    /// was loaded.
    #[arg(long)]
    demo: bool,
    /// Directory for the state file (`state.json`, unless --state names
    /// another) and the blobs pushed through the registries, which are then
    /// streamed to disk rather than held in memory.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Port of DigitalOcean's registry host (Buildkite's is the next one);
    /// default: the API's port + 1, or ports the system picks with --port 0.
    #[arg(long, value_name = "PORT")]
    registry_port: Option<u16>,
    /// Serve no referrers API, so clients fall back to `sha256-<hex>` tags.
    #[arg(long)]
    no_referrers: bool,
    /// Make DigitalOcean's collection of untagged manifests delete an
    /// index's children and a tagged image's referrers too (by default it
    /// spares what a tag still needs).
    #[arg(long)]
    collect_referenced: bool,
    /// Enforce a provider's documented request quota on its API, per
    /// token (`digitalocean`: 250 requests a minute and 5 000 an hour).
    #[arg(long, value_name = "PROVIDER", value_parser = ["digitalocean"])]
    quota: Vec<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("regkit-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let mut builder = Emulator::builder()
        .host(args.host)
        .port(args.port)
        .seed(args.seed)
        .referrers(!args.no_referrers);
    let registry_port = args
        .registry_port
        .or_else(|| args.port.checked_add(1).filter(|_| args.port != 0));
    if let Some(port) = registry_port {
        builder = builder.registry_port(port);
    }
    if args.collect_referenced {
        builder = builder.untagged_collection(UntaggedCollection::DeleteAll);
    }
    let state = match (&args.state, &args.data_dir) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(dir)) => Some(dir.join("state.json")),
        (None, None) => None,
    };
    if let Some(dir) = &args.data_dir {
        builder = builder.data_dir(dir);
    }
    let mut loaded = false;
    if let Some(path) = &state {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let snapshot = Snapshot::from_json(&text)
                    .map_err(|e| format!("{} is not a state file: {e}", path.display()))?;
                builder = builder.snapshot(snapshot);
                loaded = true;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        }
    }
    let emu = builder
        .demo(args.demo && !loaded)
        .start()
        .await
        .map_err(|e| format!("cannot start on {}:{}: {e}", args.host, args.port))?;
    for q in &args.quota {
        if q == "digitalocean" {
            emu.quota(
                regkit_emulator::Provider::DigitalOcean,
                Some(regkit_emulator::Quota::digitalocean()),
            );
        }
    }
    // Listen for the stop signals before saying we are up: whoever waits
    // for the banner and then stops us must find the state written.
    let stop = Stop::listen().map_err(|e| format!("cannot wait for stop signals: {e}"))?;

    println!("regkit-emulator listening on http://{}", emu.addr());
    println!("# The emulator's own credentials (they open nothing but this emulator):");
    for p in Provider::ALL {
        println!(
            "export {}={}  # base URL {}",
            p.token_env(),
            emu.token(p).expose_secret(),
            emu.url(p)
        );
    }
    println!("# The registries (OCI Distribution API, plain HTTP; skopeo --tls-verify=false):");
    for p in Provider::ALL {
        if let Some(host) = emu.registry_host(p) {
            println!(
                "export REGKIT_{}_REGISTRY_HOST={host}  # {p}'s registry host",
                p.name().to_ascii_uppercase()
            );
        }
    }
    println!("# Each IONOS registry has a host of its own: the `hostname` its API reports.");
    let signal = stop
        .wait()
        .await
        .map_err(|e| format!("cannot wait for stop signals: {e}"))?;
    eprintln!("{signal}: stopping");
    if let Some(path) = &state {
        write_atomically(path, &emu.snapshot().to_json())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("state written to {}", path.display());
    }
    Ok(())
}

/// The signals that stop the emulator: SIGTERM (systemd, `docker stop`,
/// `kill`) and SIGINT (Ctrl-C) on Unix, Ctrl-C elsewhere. Either one ends
/// [`Stop::wait`], and the state file is written the same way for both.
struct Stop {
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Stop {
    /// Installs the handlers (from here on, the signals no longer kill the
    /// process outright).
    #[cfg(unix)]
    fn listen() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Stop {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    #[cfg(not(unix))]
    fn listen() -> std::io::Result<Self> {
        Ok(Stop {})
    }

    /// Waits for the first stop signal; its name.
    #[cfg(unix)]
    async fn wait(mut self) -> std::io::Result<&'static str> {
        Ok(tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        })
    }

    #[cfg(not(unix))]
    async fn wait(self) -> std::io::Result<&'static str> {
        tokio::signal::ctrl_c().await.map(|()| "Ctrl-C")
    }
}

/// Writes beside the file, then renames over it: a crash leaves the old file.
fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}
