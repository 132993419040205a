//! `docker-credential-regkit` against the emulator: the protocol round
//! trip (`get` minting then reusing a cached credential, an expired one
//! minted again, `list`, `erase`, `store`), the cache file's mode, missing
//! credentials and unknown hosts.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use regkit_emulator::{Emulator, Provider};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Env {
    emu: Emulator,
    cache: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

fn start() -> Result<Env, Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    // The providers' own host names, which the helper routes by: the data
    // plane (whose listeners the API would report instead) is off.
    let emu = rt.block_on(Emulator::builder().demo(true).data_plane(false).start())?;
    Ok(Env {
        emu,
        cache: tempfile::tempdir()?,
        _rt: rt,
    })
}

impl Env {
    fn cache_file(&self) -> PathBuf {
        self.cache
            .path()
            .join("regkit")
            .join("docker-credentials.json")
    }

    fn helper(&self, action: &str, stdin: &str) -> Result<Output, Box<dyn std::error::Error>> {
        self.helper_with(action, stdin, &[])
    }

    fn helper_with(
        &self,
        action: &str,
        stdin: &str,
        env: &[(&str, Option<String>)],
    ) -> Result<Output, Box<dyn std::error::Error>> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_docker-credential-regkit"));
        cmd.env_clear()
            .env("XDG_CACHE_HOME", self.cache.path())
            .arg(action)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for p in [
            Provider::DigitalOcean,
            Provider::Ionos,
            Provider::Buildkite,
            Provider::Humanitec,
        ] {
            cmd.env(p.token_env(), self.emu.token(p).expose_secret())
                .env(
                    format!("REGKIT_{}_BASE_URL", p.name().to_ascii_uppercase()),
                    self.emu.url(p),
                );
        }
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let mut child = cmd.spawn()?;
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        for p in Provider::ALL {
            let token = self.emu.token(p).expose_secret().to_string();
            assert!(!String::from_utf8_lossy(&out.stdout).contains(&token));
            assert!(!String::from_utf8_lossy(&out.stderr).contains(&token));
        }
        Ok(out)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(unix)]
fn mode(path: &Path) -> std::io::Result<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

#[test]
fn get_mints_caches_reuses_and_mints_again_when_expired() -> TestResult {
    let env = start()?;
    let out = env.helper("get", "https://registry.digitalocean.com\n")?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let first: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(first["ServerURL"], "https://registry.digitalocean.com");
    let secret = first["Secret"].as_str().ok_or("no Secret")?.to_string();
    assert!(secret.starts_with("dop_v1_"), "{secret}");
    assert!(first["Username"].is_string());

    let file = env.cache_file();
    #[cfg(unix)]
    assert_eq!(mode(&file)?, 0o600);
    let cache: Value = serde_json::from_str(&std::fs::read_to_string(&file)?)?;
    let entry = &cache["entries"][0];
    assert_eq!(entry["host"], "registry.digitalocean.com");
    assert_eq!(entry["provider"], "digitalocean");
    assert!(entry["expires_at"].is_string());
    assert!(entry["fresh_until"].is_string());

    // Cached: the same credential again, even with the API failing.
    env.emu.inject(regkit_emulator::FaultRule::status(500));
    let out = env.helper("get", "registry.digitalocean.com")?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let again: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(again["Secret"], secret.as_str());
    env.emu.clear_faults();

    // Within the 5-minute margin of expiry: minted again.
    let mut cache = cache;
    cache["entries"][0]["fresh_until"] =
        Value::String((chrono::Utc::now() + chrono::Duration::minutes(4)).to_rfc3339());
    std::fs::write(&file, serde_json::to_vec(&cache)?)?;
    let out = env.helper("get", "registry.digitalocean.com")?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let fresh: Value = serde_json::from_slice(&out.stdout)?;
    let fresh_secret = fresh["Secret"].as_str().ok_or("no Secret")?;
    assert_ne!(fresh_secret, secret);
    #[cfg(unix)]
    assert_eq!(mode(&file)?, 0o600);

    // list: server → user name (DigitalOcean's is the secret: redacted).
    let out = env.helper("list", "")?;
    assert_eq!(out.status.code(), Some(0));
    let list: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(list["registry.digitalocean.com"], "[REDACTED]");
    assert!(!text(&out.stdout).contains(fresh_secret));

    // store: accepted and ignored.
    let out = env.helper(
        "store",
        r#"{"ServerURL":"registry.digitalocean.com","Username":"u","Secret":"s"}"#,
    )?;
    assert_eq!(out.status.code(), Some(0));

    // erase: the cache entry is gone.
    let out = env.helper("erase", "https://registry.digitalocean.com")?;
    assert_eq!(out.status.code(), Some(0));
    let out = env.helper("list", "")?;
    assert_eq!(text(&out.stdout).trim(), "{}");
    Ok(())
}

#[test]
fn ionos_buildkite_and_humanitec_hosts_mint_through_their_providers() -> TestResult {
    let env = start()?;
    let out = env.helper("get", "demo.cr.de-fra.ionos.com")?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let answer: Value = serde_json::from_slice(&out.stdout)?;
    assert!(answer["Username"].as_str().is_some_and(|u| !u.is_empty()));
    assert!(answer["Secret"].as_str().is_some_and(|s| !s.is_empty()));

    // Another IONOS host the account does not have: not found.
    let out = env.helper("get", "other.cr.de-fra.ionos.com")?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout).trim(),
        "credentials not found in native keychain"
    );

    let out = env.helper(
        "get",
        "https://packages.buildkite.com/demo/container-images",
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let answer: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(answer["Username"], "buildkite");

    // Humanitec: any host of the organization's registry records.
    let ecr = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";
    let out = env.helper_with(
        "get",
        ecr,
        &[("REGKIT_HUMANITEC_ORG", Some("demo-org".to_string()))],
    )?;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let answer: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(answer["Username"], "AWS");
    // Without the organization the host is unknown.
    let out = env.helper("get", "other.example.com")?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout).trim(),
        "credentials not found in native keychain"
    );
    Ok(())
}

/// A provider's refusal reaches Docker as `regkit` reports it: the class's
/// exit code and the hint naming what to set, on every host kind the
/// helper mints for; an outage says to try again only where the failed
/// call is safe to repeat; nothing is cached.
#[test]
fn refused_credentials_and_outages_exit_by_class_on_every_host_kind() -> TestResult {
    let env = start()?;
    let hosts = [
        (Provider::DigitalOcean, "registry.digitalocean.com", vec![]),
        (Provider::Ionos, "demo.cr.de-fra.ionos.com", vec![]),
        (
            Provider::Buildkite,
            "packages.buildkite.com/demo/container-images",
            vec![],
        ),
        (
            Provider::Humanitec,
            "123456789012.dkr.ecr.eu-central-1.amazonaws.com",
            vec![("REGKIT_HUMANITEC_ORG", Some("demo-org".to_string()))],
        ),
    ];
    for (p, host, extra) in hosts {
        let mut wrong = extra.clone();
        wrong.push((p.token_env(), Some("not-a-token".to_string())));
        let out = env.helper_with("get", host, &wrong)?;
        let message = text(&out.stdout);
        assert_eq!(out.status.code(), Some(4), "{p}: {message}");
        assert!(
            message.contains("refused the credentials"),
            "{p}: {message}"
        );
        assert!(message.contains(p.token_env()), "{p}: {message}");

        env.emu
            .inject(regkit_emulator::FaultRule::status(503).provider(p));
        let out = env.helper_with("get", host, &extra)?;
        env.emu.clear_faults();
        let message = text(&out.stdout);
        if p == Provider::Buildkite {
            // Buildkite mints with a POST first: a 503 may have minted,
            // so nothing invites a retry.
            assert_eq!(out.status.code(), Some(1), "{p}: {message}");
            assert!(!message.contains("try again"), "{p}: {message}");
        } else {
            assert_eq!(out.status.code(), Some(6), "{p}: {message}");
            assert!(message.contains("try again later"), "{p}: {message}");
        }
    }
    assert!(!env.cache_file().exists());
    Ok(())
}

#[test]
fn unknown_hosts_and_missing_credentials() -> TestResult {
    let env = start()?;
    let out = env.helper("get", "https://index.docker.io/v1/")?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout).trim(),
        "credentials not found in native keychain"
    );

    let out = env.helper_with(
        "get",
        "registry.digitalocean.com",
        &[("DIGITALOCEAN_TOKEN", None)],
    )?;
    assert_eq!(
        out.status.code(),
        Some(4),
        "no credentials: regkit's exit code"
    );
    let message = text(&out.stdout);
    assert!(
        message.contains("DIGITALOCEAN_TOKEN") && message.contains("DIGITALOCEAN_ACCESS_TOKEN"),
        "{message}"
    );
    assert!(!env.cache_file().exists());

    let out = env.helper("frobnicate", "")?;
    assert_eq!(out.status.code(), Some(2));
    Ok(())
}
