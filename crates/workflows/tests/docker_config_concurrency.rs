//! Concurrent writers of one `config.json` lose nothing: 20 threads, and 20
//! processes (this test binary run again as a child that merges one
//! host), each merge a different host into the same file; every entry is
//! there afterwards, the file is 0600 and no temporary file is left. The
//! same holds through a symbolic link, whose target is shared by both
//! names.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use regkit_workflows::docker_config::{merge_credential, set_cred_helper};
use regkit_workflows::lease::DockerCredential;

const WRITERS: usize = 20;

/// Set in a child process: the config.json to merge into.
const CHILD_PATH: &str = "REGKIT_TEST_MERGE_PATH";
/// Set in a child process: the host to merge.
const CHILD_HOST: &str = "REGKIT_TEST_MERGE_HOST";

fn cred(host: &str) -> DockerCredential {
    DockerCredential {
        host: host.into(),
        username: "user".into(),
        password: format!("password-of-{host}").into(),
        expires_at: None,
        id: None,
    }
}

fn host(i: usize) -> String {
    format!("host-{i:02}.example")
}

fn hosts_in(path: &Path) -> Vec<String> {
    let doc: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let mut hosts: Vec<String> = doc["auths"]
        .as_object()
        .map(|a| a.keys().cloned().collect())
        .unwrap_or_default();
    hosts.sort();
    hosts
}

fn all_hosts() -> Vec<String> {
    (0..WRITERS).map(host).collect()
}

fn temporary_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Not a test of its own: the body of a child process. Run without the
/// child's variables (as every normal test run does), it does nothing.
#[test]
fn child_merges_one_host() {
    let (Some(path), Some(host)) = (std::env::var_os(CHILD_PATH), std::env::var(CHILD_HOST).ok())
    else {
        return;
    };
    merge_credential(Path::new(&path), &cred(&host)).unwrap();
}

/// The child's name as libtest knows it: its module path without the
/// binary's name (`docker_config_concurrency::child_merges_one_host`).
fn child_test_name() -> String {
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    format!("{module}::child_merges_one_host")
}

/// Starts one child per host at once, then waits for them all.
fn merge_in_processes(path: &Path) {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = all_hosts()
        .into_iter()
        .map(|h| {
            Command::new(&exe)
                .args(["--exact", &child_test_name(), "--test-threads", "1"])
                .env(CHILD_PATH, path)
                .env(CHILD_HOST, h)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a child failed to merge");
    }
}

#[test]
fn twenty_processes_merging_twenty_hosts_keep_all_twenty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker").join("config.json");
    merge_in_processes(&path);
    assert_eq!(hosts_in(&path), all_hosts());
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    assert!(temporary_files(path.parent().unwrap()).is_empty());
}

#[test]
fn twenty_threads_merging_and_setting_helpers_keep_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::thread::scope(|s| {
        for i in 0..WRITERS {
            let path = &path;
            s.spawn(move || {
                merge_credential(path, &cred(&host(i))).unwrap();
                set_cred_helper(path, &format!("helped-{i:02}.example"), "regkit").unwrap();
            });
        }
    });
    assert_eq!(hosts_in(&path), all_hosts());
    let doc: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["credHelpers"].as_object().unwrap().len(), WRITERS);
    assert!(temporary_files(dir.path()).is_empty());
}

#[cfg(unix)]
#[test]
fn processes_writing_through_a_dangling_link_create_its_target_and_keep_all() {
    let dir = tempfile::tempdir().unwrap();
    let docker = dir.path().join("docker");
    fs::create_dir(&docker).unwrap();
    let link = docker.join("config.json");
    std::os::unix::fs::symlink("../dotfiles/docker-config.json", &link).unwrap();
    merge_in_processes(&link);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let target = dir.path().join("dotfiles").join("docker-config.json");
    assert_eq!(hosts_in(&target), all_hosts());
    assert_eq!(mode(&target), 0o600);
}
