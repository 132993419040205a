//! Stoplight Prism for the conformance tests: installed from
//! `tests/conformance`'s lockfile on first use, started on a free loopback
//! port as a mock (answers from the spec's examples) or as a validating
//! proxy in front of another server (the emulator), and killed when dropped.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use regkit_core::{Error, ResponseValue};

/// The repository root (`tests/` is one level down).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the repository root")
        .to_path_buf()
}

/// `tests/conformance/node_modules/.bin`, installed with `npm ci` from the
/// lockfile when Prism or Redocly is missing. Once per test binary: the
/// first test to get here installs, the others wait for it.
pub fn tools() -> &'static Path {
    static TOOLS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match TOOLS.get_or_init(install_tools) {
        Ok(bin) => bin,
        Err(why) => panic!("{why}"),
    }
}

fn install_tools() -> Result<PathBuf, String> {
    let dir = repo_root().join("tests/conformance");
    let bin = dir.join("node_modules/.bin");
    let present = || ["prism", "redocly"].iter().all(|t| bin.join(t).exists());
    if present() {
        return Ok(bin);
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            format!(
                "cannot run `npm ci` in {}: {e}. The conformance tests need Node.js >= 20.19 \
                 and npm on PATH",
                dir.display()
            )
        })?;
    if !out.status.success() || !present() {
        return Err(format!(
            "`npm ci` in {} failed ({}):\n{}\n{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(bin)
}

/// A port nobody listens on right now (the OS picks it).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port on 127.0.0.1")
        .port()
}

/// Attempts to connect while Prism starts, 100 ms apart (60 s in all).
const READY_ATTEMPTS: u32 = 600;
/// Fresh ports to try when Prism loses the race for the one it was given.
const PORT_ATTEMPTS: u32 = 3;

/// A running `prism mock` or `prism proxy` for one spec. Dropping it kills Prism,
/// on success and on panic alike.
#[derive(Debug)]
pub struct Prism {
    /// The spec it serves (`specs/<provider>.yaml`).
    pub provider: &'static str,
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Prism {
    fn drop(&mut self) {
        // Prism's mock server is a single node process (no --multiprocess,
        // so no cluster workers): killing it leaves nothing behind. It stays
        // in the test's process group on purpose, so Ctrl-C on `cargo test`
        // stops it too.
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The log is kept only when the test failed (its path is in the
        // failure message).
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

enum Startup {
    Ready,
    Exited(ExitStatus),
    Silent,
}

impl Prism {
    /// `prism mock --errors` for `specs/<provider>.yaml`: answers from the
    /// spec's examples, rejecting requests that break the spec.
    pub fn mock(provider: &'static str) -> Prism {
        Self::start(provider, &["mock"], None)
    }

    /// `prism proxy --errors` for `specs/<provider>.yaml` in front of
    /// `upstream`: forwards every request there and validates the request
    /// and the answer against the spec, reporting violations in an
    /// `sl-violations` header (and rejecting invalid requests).
    pub fn proxy(provider: &'static str, upstream: &str) -> Prism {
        Self::start(provider, &["proxy"], Some(upstream))
    }

    fn start(provider: &'static str, mode: &[&str], upstream: Option<&str>) -> Prism {
        let prism = tools().join("prism");
        let spec = repo_root().join(format!("specs/{provider}.yaml"));
        let log = std::env::temp_dir().join(format!("prism-{provider}-{}.log", std::process::id()));
        for attempt in 1..=PORT_ATTEMPTS {
            let port = free_port();
            let out = File::create(&log).expect("create Prism's log file");
            let err = out.try_clone().expect("clone Prism's log file handle");
            let child = Command::new(&prism)
                .args(mode)
                .arg(&spec)
                .args(upstream)
                .args(["--errors", "-h", "127.0.0.1", "-p"])
                .arg(port.to_string())
                .current_dir(repo_root())
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", prism.display()));
            // From here on the guard owns the process.
            let mut running = Prism {
                provider,
                child,
                port,
                log: log.clone(),
            };
            match running.wait_until_ready() {
                Startup::Ready => return running,
                Startup::Exited(_)
                    if attempt < PORT_ATTEMPTS && running.log_text().contains("EADDRINUSE") =>
                {
                    continue;
                }
                Startup::Exited(status) => {
                    panic!(
                        "Prism for specs/{provider}.yaml exited ({status}) before answering{}",
                        running.log_tail()
                    )
                }
                Startup::Silent => panic!(
                    "Prism for specs/{provider}.yaml did not accept connections on port {port} \
                     after {READY_ATTEMPTS} attempts{}",
                    running.log_tail()
                ),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    fn wait_until_ready(&mut self) -> Startup {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        for _ in 0..READY_ATTEMPTS {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Startup::Exited(status);
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                return Startup::Ready;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Startup::Silent
    }

    /// Where Prism listens.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The end of Prism's log, for failure messages.
    pub fn log_tail(&self) -> String {
        const LINES: usize = 150;
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        let skipped = lines.len().saturating_sub(LINES);
        format!(
            "\n\n--- Prism's log ({}; last {} of {} lines) ---\n{}",
            self.log.display(),
            lines.len() - skipped,
            lines.len(),
            lines[skipped..].join("\n")
        )
    }
}

/// The operations a conformance test exercised against Prism (mock or
/// proxy) and what went wrong with them. Every
/// problem is collected, so one run names all of them.
#[derive(Debug)]
pub struct Run<'a> {
    prism: &'a Prism,
    called: BTreeSet<&'static str>,
    failures: Vec<String>,
}

impl<'a> Run<'a> {
    /// A run against `prism`, nothing called yet.
    pub fn new(prism: &'a Prism) -> Self {
        Run {
            prism,
            called: BTreeSet::new(),
            failures: Vec::new(),
        }
    }

    /// The call must have succeeded, decoded into its typed model, with no
    /// violation reported by Prism.
    pub fn check<T: Debug, E: Debug>(
        &mut self,
        operation: &'static str,
        result: Result<ResponseValue<T>, Error<E>>,
    ) -> Option<T> {
        self.called.insert(operation);
        match result {
            Ok(value) => {
                if let Some(v) = value.headers().get("sl-violations") {
                    self.failures.push(format!(
                        "{operation}: {} but Prism reports violations: {}",
                        value.status(),
                        String::from_utf8_lossy(v.as_bytes())
                    ));
                }
                Some(value.into_inner())
            }
            Err(e) => {
                let violations = e
                    .headers()
                    .and_then(|h| h.get("sl-violations"))
                    .map(|v| format!(" sl-violations: {}", String::from_utf8_lossy(v.as_bytes())))
                    .unwrap_or_default();
                self.failures
                    .push(format!("{operation}: {e:?}{violations}"));
                None
            }
        }
    }

    /// Records a problem found outside [`Run::check`].
    pub fn fail(&mut self, why: String) {
        self.failures.push(why);
    }

    /// Panics naming every failed call, every operation of the spec that
    /// was not called, and Prism's log.
    pub fn finish(self) {
        let Run {
            prism,
            called,
            mut failures,
        } = self;
        let declared = operation_ids(prism.provider);
        for missing in declared.iter().filter(|id| !called.contains(id.as_str())) {
            failures.push(format!("{missing}: declared in the spec but not exercised"));
        }
        for extra in called.iter().filter(|id| !declared.contains(**id)) {
            failures.push(format!(
                "{extra}: exercised but not an operationId of the spec"
            ));
        }
        if !failures.is_empty() {
            panic!(
                "{} against Prism (specs/{}.yaml): {} problems across its {} operations:\n  - {}{}",
                prism.provider,
                prism.provider,
                failures.len(),
                declared.len(),
                failures.join("\n  - "),
                prism.log_tail()
            );
        }
    }
}

/// Every `operationId` in `specs/<provider>.yaml`, read with codegen's own
/// spec loader (hand-written operations included).
pub fn operation_ids(provider: &str) -> BTreeSet<String> {
    let root = repo_root();
    let manifest = xtask::Manifest::load(&root).expect("specs/providers.toml loads");
    let entry = manifest
        .providers
        .iter()
        .find(|p| p.name == provider)
        .unwrap_or_else(|| panic!("no provider `{provider}` in specs/providers.toml"));
    xtask::operation_ids(&root, entry)
        .expect("the spec loads")
        .into_iter()
        .collect()
}
