//! The `regkit-emulator` binary keeps its state however it is stopped:
//! started with `--state FILE`, changed through the API, stopped with
//! SIGTERM (systemd, `docker stop`, `kill`) or SIGINT (Ctrl-C), it exits 0
//! having written FILE, and a restart with the same file serves the change.
//! Also: its numeric flags name themselves when given a bad value.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use futures::TryStreamExt as _;
use regkit_core::ClientBuilder;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A running `regkit-emulator` and what its banner said.
struct Running {
    child: Child,
    /// Kept open until the process exits, so its prints never hit a closed
    /// pipe.
    _stdout: BufReader<ChildStdout>,
    /// DigitalOcean's base URL and token, from the banner.
    url: String,
    token: String,
}

/// Starts the binary on a free port with demo content and `--state state`,
/// and reads its banner up to the DigitalOcean line.
fn start(state: &Path) -> Result<Running, Box<dyn std::error::Error>> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_regkit-emulator"))
        .args(["--port", "0", "--demo", "--state"])
        .arg(state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = BufReader::new(child.stdout.take().ok_or("a piped stdout")?);
    let mut line = String::new();
    loop {
        line.clear();
        if stdout.read_line(&mut line)? == 0 {
            return Err("the emulator ended before printing its DigitalOcean token".into());
        }
        // `export DIGITALOCEAN_TOKEN=…  # base URL http://…/digitalocean`
        if let Some(rest) = line.trim().strip_prefix("export DIGITALOCEAN_TOKEN=") {
            let (token, url) = rest
                .split_once("  # base URL ")
                .ok_or_else(|| format!("unexpected banner line {line:?}"))?;
            return Ok(Running {
                child,
                _stdout: stdout,
                url: url.to_string(),
                token: token.to_string(),
            });
        }
    }
}

impl Running {
    fn client(&self) -> Result<regkit_digitalocean::Client, Box<dyn std::error::Error>> {
        Ok(ClientBuilder::<regkit_digitalocean::Client>::new()
            .base_url(self.url.clone())
            .bearer_token(self.token.clone())
            .build()?)
    }

    /// Sends `signal` (`TERM`, `INT`) with kill(1) and waits for the exit;
    /// what the process wrote on stderr.
    fn stop(mut self, signal: &str) -> Result<String, Box<dyn std::error::Error>> {
        let kill = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()?;
        assert!(kill.success(), "kill -s {signal} failed");
        let status = self.child.wait()?;
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            err.read_to_string(&mut stderr)?;
        }
        assert!(
            status.success(),
            "SIG{signal} should stop the emulator cleanly, got {status}: {stderr}"
        );
        Ok(stderr)
    }
}

/// The tags of the demo registry's `web` repository.
async fn web_tags(
    client: &regkit_digitalocean::Client,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let all: Vec<regkit_digitalocean::types::RepositoryTag> = client
        .registries_list_repository_tags()
        .registry_name("demo")
        .repository_name("web")
        .stream()
        .try_collect()
        .await?;
    let mut tags: Vec<String> = all.into_iter().filter_map(|t| t.tag).collect();
    tags.sort();
    Ok(tags)
}

/// Start, delete a tag, stop with `signal`, restart: the tag stays gone.
fn state_survives(signal: &str) -> TestResult {
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state.json");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let first = start(&state)?;
    let client = first.client()?;
    let before = rt.block_on(web_tags(&client))?;
    let gone = before
        .iter()
        .find(|t| t.as_str() != "latest")
        .ok_or("the demo's web repository has a tag besides latest")?
        .clone();
    rt.block_on(
        client
            .registries_delete_repository_tag()
            .registry_name("demo")
            .repository_name("web")
            .repository_tag(&gone)
            .send(),
    )?;
    let stderr = first.stop(signal)?;
    assert!(
        stderr.contains(&format!("SIG{signal}")) && stderr.contains("state written to"),
        "{stderr}"
    );
    assert!(state.exists(), "SIG{signal} left no state file");

    // `--demo` again: demo content only seeds an emulator with no state
    // file, so what answers now is the saved state.
    let second = start(&state)?;
    let after = rt.block_on(web_tags(&second.client()?))?;
    second.stop(signal)?;
    let expected: Vec<String> = before.into_iter().filter(|t| *t != gone).collect();
    assert_eq!(after, expected, "the deleted tag {gone} came back");
    Ok(())
}

#[test]
fn sigterm_writes_the_state_file_and_a_restart_serves_it() -> TestResult {
    state_survives("TERM")
}

#[test]
fn sigint_writes_the_state_file_and_a_restart_serves_it() -> TestResult {
    state_survives("INT")
}

#[test]
fn a_bad_numeric_flag_names_the_flag_and_exits_2() -> TestResult {
    for (flag, value) in [
        ("--port", "-1"),
        ("--port", "abc"),
        ("--port", "65536"),
        ("--seed", "-1"),
        ("--seed", "abc"),
        ("--seed", "99999999999999999999999"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_regkit-emulator"))
            .args([flag, value])
            .stdin(Stdio::null())
            .output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
        assert!(
            stderr.contains(&format!("'{flag} <")) && !stderr.contains("unexpected argument"),
            "{flag} {value}: {stderr}"
        );
    }
    Ok(())
}
