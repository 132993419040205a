//! Docker's `config.json`: merging keeps foreign entries and unknown keys,
//! the result is 0600, a refused file is untouched, `DOCKER_CONFIG` wins
//! over the home directory; the Kubernetes Secret decodes back to the
//! credentials.

use std::ffi::OsStr;
use std::fs;
use std::path::Path;

use base64::Engine as _;
use serde_json::{Value, json};

use regkit_workflows::Error;
use regkit_workflows::docker_config::{
    DockerConfig, kubernetes_secret, merge_credential, remove_credential, set_cred_helper,
};
use regkit_workflows::lease::DockerCredential;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn unb64(s: &str) -> String {
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(s).unwrap()).unwrap()
}

fn cred(host: &str, user: &str, password: &str) -> DockerCredential {
    DockerCredential {
        host: host.into(),
        username: user.into(),
        password: password.into(),
        expires_at: None,
        id: None,
    }
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "config.json" && n != "config.json.lock")
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn merge_keeps_foreign_entries_and_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    let before = json!({
        "auths": {
            "ghcr.io": {"auth": b64("me:ghp_other")},
            "registry.digitalocean.com": {"auth": b64("old:old"), "identitytoken": "stale"}
        },
        "credHelpers": {"gcr.io": "gcloud"},
        "HttpHeaders": {"User-Agent": "custom"},
        "psFormat": "table {{.ID}}",
        "experimental": "enabled",
        "proxies": {"default": {"httpProxy": "http://proxy:3128"}}
    });
    fs::write(&path, serde_json::to_string_pretty(&before).unwrap()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    }

    let merged = merge_credential(
        &path,
        &cred("registry.digitalocean.com", "dop_v1_x", "s3cr3t-pass"),
    )
    .unwrap();
    assert_eq!(merged.shadowed_by, None);

    let after = read(&path);
    let mut expected = before.clone();
    expected["auths"]["registry.digitalocean.com"] = json!({"auth": b64("dop_v1_x:s3cr3t-pass")});
    assert_eq!(after, expected, "only that host's entry changed");
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600, "0600 although the old file was 0644");
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );

    // A second host is added beside it.
    merge_credential(&path, &cred("team.cr.de-fra.ionos.com", "regkit-1", "pw2")).unwrap();
    let after = read(&path);
    assert_eq!(after["auths"].as_object().unwrap().len(), 3);
    assert_eq!(after["auths"]["ghcr.io"], before["auths"]["ghcr.io"]);
    assert_eq!(after["HttpHeaders"], before["HttpHeaders"]);

    // Removing one host leaves the others.
    assert!(remove_credential(&path, "team.cr.de-fra.ionos.com").unwrap());
    assert!(!remove_credential(&path, "team.cr.de-fra.ionos.com").unwrap());
    let after = read(&path);
    assert_eq!(after["auths"].as_object().unwrap().len(), 2);
    assert_eq!(after["credHelpers"], before["credHelpers"]);
}

#[test]
fn a_missing_file_and_directory_are_created_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("nested")
        .join(".docker")
        .join("config.json");
    merge_credential(
        &path,
        &cred("packages.buildkite.com", "buildkite", "bkpt_x"),
    )
    .unwrap();
    assert_eq!(
        read(&path),
        json!({"auths": {"packages.buildkite.com": {"auth": b64("buildkite:bkpt_x")}}})
    );
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    // Removing from a file that is not there creates nothing.
    let absent = dir.path().join("absent").join("config.json");
    assert!(!remove_credential(&absent, "x").unwrap());
    assert!(!absent.exists());
}

#[test]
fn an_empty_file_is_an_empty_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    fs::write(&path, "  \n").unwrap();
    merge_credential(&path, &cred("h.example", "u", "p")).unwrap();
    assert_eq!(
        read(&path),
        json!({"auths": {"h.example": {"auth": b64("u:p")}}})
    );
}

#[test]
fn a_file_that_is_not_a_json_object_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    let cases = [
        "{\"auths\": {\"ghcr.io\": {\"auth\": \"c2VjcmV0LXRva2Vu\"}",
        "[1, 2, 3]",
        "\"a string\"",
        "{\"auths\": [\"not\", \"an\", \"object\"]}",
        "{\"credHelpers\": 7}",
        "not json, with secret-token inside",
    ];
    for (i, content) in cases.iter().enumerate() {
        fs::write(&path, content).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        }
        let result = if i == 4 {
            set_cred_helper(&path, "ghcr.io", "desktop")
        } else {
            merge_credential(&path, &cred("ghcr.io", "u", "p")).map(|_| ())
        };
        let err = result.unwrap_err();
        assert!(
            matches!(err, Error::InvalidFile { .. }),
            "{content}: {err:?}"
        );
        assert!(
            !format!("{err:?} {err}").contains("secret-token"),
            "the file's content stays out of the error: {err}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), *content, "untouched");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o644, "not even its mode changed");
        assert!(leftovers(dir.path()).is_empty());
    }
}

#[test]
fn cred_helpers_are_set_and_reported_as_shadowing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    fs::write(&path, r#"{"credsStore": "desktop", "auths": {}}"#).unwrap();
    let merged = merge_credential(&path, &cred("ghcr.io", "u", "p")).unwrap();
    assert_eq!(merged.shadowed_by.as_deref(), Some("desktop"));

    set_cred_helper(&path, "registry.digitalocean.com", "regkit").unwrap();
    let after = read(&path);
    assert_eq!(
        after["credHelpers"],
        json!({"registry.digitalocean.com": "regkit"})
    );
    assert_eq!(after["credsStore"], "desktop");
    let merged = merge_credential(&path, &cred("registry.digitalocean.com", "u", "p")).unwrap();
    assert_eq!(merged.shadowed_by.as_deref(), Some("regkit"));
}

#[cfg(unix)]
#[test]
fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
    // The directory cannot take a new file: the write fails before the
    // rename and the old file stays as it was. (Root ignores directory
    // permissions; then this checks only that nothing is left behind.)
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("docker");
    fs::create_dir(&sub).unwrap();
    let path = sub.join("config.json");
    let old = r#"{"auths": {"ghcr.io": {"auth": "dTpw"}}}"#;
    fs::write(&path, old).unwrap();
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o500)).unwrap();
    let probe = fs::File::create(sub.join("probe"));
    let enforced = probe.is_err();
    let _ = fs::remove_file(sub.join("probe"));
    let result = merge_credential(&path, &cred("h.example", "u", "p"));
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o700)).unwrap();
    if enforced {
        assert!(matches!(result, Err(Error::Io { .. })), "{result:?}");
        assert_eq!(fs::read_to_string(&path).unwrap(), old);
    }
    assert!(leftovers(&sub).is_empty(), "{:?}", leftovers(&sub));
}

#[test]
fn docker_config_env_wins_over_home() {
    let located = DockerConfig::locate(
        Some(OsStr::new("/etc/ci/docker")),
        Some(Path::new("/home/me")),
    )
    .unwrap();
    assert_eq!(located.path(), Path::new("/etc/ci/docker/config.json"));
    let located = DockerConfig::locate(None, Some(Path::new("/home/me"))).unwrap();
    assert_eq!(located.path(), Path::new("/home/me/.docker/config.json"));
    let located = DockerConfig::locate(Some(OsStr::new("")), Some(Path::new("/home/me"))).unwrap();
    assert_eq!(
        located.path(),
        Path::new("/home/me/.docker/config.json"),
        "an empty DOCKER_CONFIG is unset, as Docker treats it"
    );
    assert!(matches!(
        DockerConfig::locate(None, None),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn the_kubernetes_secret_decodes_back_to_the_credentials() {
    let creds = [
        cred("registry.digitalocean.com", "dop_v1_a", "pw-one"),
        cred("team.cr.de-fra.ionos.com", "regkit-1", "pw:two"),
    ];
    let manifest = kubernetes_secret("regcred", "apps", &creds);
    let doc: Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(doc["apiVersion"], "v1");
    assert_eq!(doc["kind"], "Secret");
    assert_eq!(doc["type"], "kubernetes.io/dockerconfigjson");
    assert_eq!(
        doc["metadata"],
        json!({"name": "regcred", "namespace": "apps"})
    );
    let inner: Value =
        serde_json::from_str(&unb64(doc["data"][".dockerconfigjson"].as_str().unwrap())).unwrap();
    let auths = inner["auths"].as_object().unwrap();
    assert_eq!(auths.len(), 2);
    for c in &creds {
        let entry = &auths[&c.host];
        assert_eq!(entry["username"], c.username.as_str());
        assert_eq!(entry["password"], c.password.expose_secret());
        let auth = unb64(entry["auth"].as_str().unwrap());
        assert_eq!(
            auth,
            format!("{}:{}", c.username, c.password.expose_secret())
        );
    }
}
