//! Docker's `config.json` and Kubernetes' `dockerconfigjson` Secret.
//!
//! [`merge_credential`] puts one registry's login into `config.json` and
//! keeps everything else as it was: other registries' entries, credential
//! helpers, and keys this crate does not know (`credsStore`,
//! `HttpHeaders`, `proxies`, …). Keys are written back in name order. The
//! file is replaced atomically: the new content goes to a temporary file in
//! the same directory, created with mode 0600, synced, then renamed over
//! the old one, so a crash leaves either the old file or the new one, never
//! half of either, and the result is 0600 even when the old file was more
//! open. A file that is not a JSON object is refused
//! ([`Error::InvalidFile`]) and left as it was.
//!
//! Several processes may change the file at once (parallel `docker login`s,
//! `regkit login --write` in CI jobs): every read, change and replace holds
//! an exclusive advisory lock on `config.json.lock` beside the file
//! ([`LockedFile`]), so each writer starts from the previous writer's
//! result and no entry is lost. A `config.json` that is a symbolic link is
//! written through the link, as Docker's CLI does; a dangling link gets its
//! target created.
//!
//! [`kubernetes_secret`] renders a `kubernetes.io/dockerconfigjson` Secret.
//! **The manifest holds the passwords** (base64 is not encryption), as any
//! such Secret does: write it where a secret may go (`kubectl apply -f -`,
//! a file only you can read), never to a log.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::lease::DockerCredential;
use crate::{Error, Result};

/// Where Docker's `config.json` is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerConfig {
    path: PathBuf,
}

impl DockerConfig {
    /// The configuration at `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Resolves the path as Docker does, from the values given (no process
    /// environment is read): `$DOCKER_CONFIG/config.json` when
    /// `docker_config` is set and not empty, else `<home>/.docker/config.json`.
    pub fn locate(docker_config: Option<&OsStr>, home: Option<&Path>) -> Result<Self> {
        if let Some(dir) = docker_config.filter(|d| !d.is_empty()) {
            return Ok(Self::at(Path::new(dir).join("config.json")));
        }
        match home.filter(|h| !h.as_os_str().is_empty()) {
            Some(home) => Ok(Self::at(home.join(".docker").join("config.json"))),
            None => Err(Error::InvalidInput(
                "cannot find Docker's config.json: neither DOCKER_CONFIG nor a home directory is set"
                    .into(),
            )),
        }
    }

    /// [`DockerConfig::locate`] with this process's `DOCKER_CONFIG` and
    /// home directory (`HOME`, or `USERPROFILE` on Windows).
    pub fn from_env() -> Result<Self> {
        let docker_config = std::env::var_os("DOCKER_CONFIG");
        let home = std::env::var_os(if cfg!(windows) { "USERPROFILE" } else { "HOME" });
        Self::locate(docker_config.as_deref(), home.as_deref().map(Path::new))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// [`merge_credential`] on this file.
    pub fn merge_credential(&self, credential: &DockerCredential) -> Result<Merged> {
        merge_credential(&self.path, credential)
    }

    /// [`set_cred_helper`] on this file.
    pub fn set_cred_helper(&self, host: &str, helper: &str) -> Result<()> {
        set_cred_helper(&self.path, host, helper)
    }

    /// [`remove_credential`] on this file.
    pub fn remove_credential(&self, host: &str) -> Result<bool> {
        remove_credential(&self.path, host)
    }
}

/// What [`merge_credential`] found besides writing the login.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// A credential helper Docker will ask for this host instead of reading
    /// `auths` (`credHelpers[host]`, else `credsStore`), when one is set.
    pub shadowed_by: Option<String>,
}

/// Writes `credential` into the `config.json` at `path` as
/// `auths[host] = {"auth": base64(user:password)}`, replacing that host's
/// entry and keeping everything else. A missing file (and directory) is
/// created.
pub fn merge_credential(path: &Path, credential: &DockerCredential) -> Result<Merged> {
    if credential.host.is_empty() {
        return Err(Error::InvalidInput("a credential without a host".into()));
    }
    update_config(path, |config| {
        let shadowed_by = helper_for(config, &credential.host);
        let auths = object_entry(config, "auths", path)?;
        auths.insert(
            credential.host.clone(),
            json!({ "auth": credential.docker_auth().expose_secret() }),
        );
        Ok((Merged { shadowed_by }, true))
    })
}

/// Makes Docker ask the credential helper `docker-credential-<helper>` for
/// `host` (`credHelpers[host] = helper`), keeping everything else.
pub fn set_cred_helper(path: &Path, host: &str, helper: &str) -> Result<()> {
    if host.is_empty() || helper.is_empty() {
        return Err(Error::InvalidInput(
            "a credential helper needs a host and a helper name".into(),
        ));
    }
    update_config(path, |config| {
        let helpers = object_entry(config, "credHelpers", path)?;
        helpers.insert(host.to_string(), Value::String(helper.to_string()));
        Ok(((), true))
    })
}

/// Removes `host`'s entry from `auths`; whether there was one. The file is
/// rewritten only when something was removed (a missing file stays
/// missing).
pub fn remove_credential(path: &Path, host: &str) -> Result<bool> {
    update_config(path, |config| {
        let removed = match config.get_mut("auths") {
            None => false,
            Some(Value::Object(auths)) => auths.remove(host).is_some(),
            Some(_) => return Err(not_an_object(path, "auths")),
        };
        Ok((removed, removed))
    })
}

/// Reads the configuration at `path`, lets `change` edit it and say whether
/// it did, and writes it back when it did: all under the file's lock, so a
/// concurrent writer's entries are read, never overwritten.
fn update_config<T>(
    path: &Path,
    change: impl FnOnce(&mut Map<String, Value>) -> Result<(T, bool)>,
) -> Result<T> {
    let file = LockedFile::open(path)?;
    let mut config = parse_config(path, file.read()?)?;
    let (out, changed) = change(&mut config)?;
    if changed {
        let mut bytes = serde_json::to_vec_pretty(&config).map_err(|e| Error::InvalidFile {
            path: path.to_path_buf(),
            why: format!("cannot serialise the configuration: {e}"),
        })?;
        bytes.push(b'\n');
        file.replace(&bytes)?;
    }
    Ok(out)
}

/// A Kubernetes Secret of type `kubernetes.io/dockerconfigjson` named
/// `name` in `namespace`, as pretty JSON (which is also YAML). Its
/// `.dockerconfigjson` is base64 of
/// `{"auths":{host:{"username","password","auth"}}}` for every credential
/// (a later one for the same host wins).
///
/// **The result contains the passwords**: it is the one output of this
/// crate that does. Hand it to `kubectl` or a file only its owner reads.
pub fn kubernetes_secret(name: &str, namespace: &str, credentials: &[DockerCredential]) -> String {
    let mut auths = Map::new();
    for c in credentials {
        auths.insert(
            c.host.clone(),
            json!({
                "username": c.username,
                "password": c.password.expose_secret(),
                "auth": c.docker_auth().expose_secret(),
            }),
        );
    }
    let docker_config = json!({ "auths": auths }).to_string();
    let manifest = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": { "name": name, "namespace": namespace },
        "type": "kubernetes.io/dockerconfigjson",
        "data": {
            ".dockerconfigjson": base64::engine::general_purpose::STANDARD.encode(docker_config),
        },
    });
    // A `Value` with string keys always serialises.
    let mut out = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    out.push('\n');
    out
}

// ------------------------------------------------------------ reading

fn not_an_object(path: &Path, key: &str) -> Error {
    Error::InvalidFile {
        path: path.to_path_buf(),
        why: format!("`{key}` is not a JSON object; refusing to change the file"),
    }
}

/// The configuration as a JSON object: a missing (`None`) or empty file is
/// an empty one, anything but an object is refused.
fn parse_config(path: &Path, text: Option<Vec<u8>>) -> Result<Map<String, Value>> {
    let Some(text) = text else {
        return Ok(Map::new());
    };
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        // Only the position: the content may hold secrets.
        Err(e) => Err(Error::InvalidFile {
            path: path.to_path_buf(),
            why: format!(
                "not valid JSON (line {}, column {}); refusing to change the file",
                e.line(),
                e.column()
            ),
        }),
        Ok(_) => Err(Error::InvalidFile {
            path: path.to_path_buf(),
            why: "not a JSON object; refusing to change the file".into(),
        }),
    }
}

/// `config[key]` as an object, created when absent.
fn object_entry<'a>(
    config: &'a mut Map<String, Value>,
    key: &str,
    path: &Path,
) -> Result<&'a mut Map<String, Value>> {
    match config
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()))
    {
        Value::Object(map) => Ok(map),
        _ => Err(not_an_object(path, key)),
    }
}

/// The helper Docker consults for `host` instead of `auths`.
fn helper_for(config: &Map<String, Value>, host: &str) -> Option<String> {
    let named = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    named(
        config
            .get("credHelpers")
            .and_then(Value::as_object)
            .and_then(|h| h.get(host)),
    )
    .or_else(|| named(config.get("credsStore")))
}

// ------------------------------------------------------------ locking

/// How many symbolic links [`resolve_links`] follows before giving up (as
/// the kernel's `ELOOP` limit).
const MAX_LINKS: usize = 40;

/// A file that is rewritten whole (Docker's `config.json`, regkit's own
/// caches), opened for one read-change-replace: while a `LockedFile` lives
/// it holds an exclusive advisory lock on `<file>.lock` beside the file,
/// so other processes (and threads) that use `LockedFile` on the same path
/// wait, then read what this one wrote. Dropping it releases the lock.
///
/// The lock is on a separate, empty file because [`LockedFile::replace`]
/// renames a new file over the old one: a lock on the old file would not
/// stop a writer that opened the new one. The lock file is created with
/// mode 0600 and left in place (removing it would let two writers lock
/// different files). A path that is a symbolic link is followed to its
/// target, even a target that does not exist yet, and the lock is taken
/// beside the target, so every name of the file shares one lock.
#[derive(Debug)]
pub struct LockedFile {
    target: PathBuf,
    _lock: fs::File,
}

impl LockedFile {
    /// Waits for the lock of the file at `path` (creating its directory,
    /// mode 0700, and the lock file when missing).
    pub fn open(path: &Path) -> Result<Self> {
        let target = resolve_links(path)?;
        let dir = parent_dir(&target);
        create_dir(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        let lock_path = dir.join(format!("{}.lock", file_name(&target)));
        let io_err = |source| Error::Io {
            path: lock_path.clone(),
            source,
        };
        let mut options = fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let lock = options.open(&lock_path).map_err(io_err)?;
        fs4::FileExt::lock(&lock).map_err(io_err)?;
        Ok(Self {
            target,
            _lock: lock,
        })
    }

    /// The file written: the path given, or the target of its links.
    pub fn path(&self) -> &Path {
        &self.target
    }

    /// The file's content, `None` when there is no file yet.
    pub fn read(&self) -> Result<Option<Vec<u8>>> {
        match fs::read(&self.target) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io {
                path: self.target.clone(),
                source,
            }),
        }
    }

    /// Replaces the file with `bytes`: a new 0600 file beside it, synced,
    /// then renamed over it, so a crash leaves the old content or the new,
    /// never part of either.
    pub fn replace(&self, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.target, &mut |f| f.write_all(bytes))
    }
}

/// `path` with every symbolic link in its last component followed, as the
/// system would to open it, except that a link whose target does not exist
/// resolves to that target (so writing creates it, as Docker's CLI does).
/// A relative link is relative to the directory of the link.
fn resolve_links(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let next = fs::read_link(&current).map_err(|source| Error::Io {
                    path: current.clone(),
                    source,
                })?;
                current = if next.is_absolute() {
                    next
                } else {
                    parent_dir(&current).join(next)
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(source) => {
                return Err(Error::Io {
                    path: current,
                    source,
                });
            }
        }
    }
    Err(Error::InvalidFile {
        path: path.to_path_buf(),
        why: format!("more than {MAX_LINKS} symbolic links in a row (a loop?)"),
    })
}

/// The directory `path` is in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.json".into())
}

// ------------------------------------------------------------ writing

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` (through its symbolic links) with what `fill` writes: a
/// new 0600 file beside it, synced, then renamed over it. On any failure the temporary file is
/// removed and `path` is as it was.
pub(crate) fn write_atomic(
    path: &Path,
    fill: &mut dyn FnMut(&mut fs::File) -> io::Result<()>,
) -> Result<()> {
    let target = resolve_links(path)?;
    let io_err = |source| Error::Io {
        path: target.clone(),
        source,
    };
    let dir = parent_dir(&target);
    create_dir(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let file_name = file_name(&target);

    let (temp, mut file) = create_temp(&dir, &file_name).map_err(io_err)?;
    let written = (|| {
        restrict(&file)?;
        fill(&mut file)?;
        file.flush()?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, &target)
    })();
    if let Err(source) = written {
        let _ = fs::remove_file(&temp);
        return Err(io_err(source));
    }
    // Make the rename itself durable where the platform allows; the new
    // file is already in place, so a failure here changes nothing.
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// A new file (never an existing one) with mode 0600 in `dir`.
fn create_temp(dir: &Path, file_name: &str) -> io::Result<(PathBuf, fs::File)> {
    let mut last = None;
    for _ in 0..16 {
        let seq = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let temp = dir.join(format!(
            ".{file_name}.tmp-{}-{seq}-{nanos}",
            std::process::id()
        ));
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        match options.open(&temp) {
            Ok(f) => return Ok((temp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary file name")))
}

/// Exactly 0600, whatever the umask left.
fn restrict(file: &fs::File) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temps(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect()
    }

    #[test]
    fn a_crash_mid_write_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let old = "{\n  \"auths\": {\"a.example\": {\"auth\": \"eDp5\"}}\n}\n";
        fs::write(&path, old).unwrap();
        let err = write_atomic(&path, &mut |f| {
            f.write_all(b"{\"auths\": {\"half")?;
            Err(io::Error::other("disk on fire"))
        })
        .unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert_eq!(fs::read_to_string(&path).unwrap(), old);
        assert!(temps(dir.path()).is_empty(), "{:?}", temps(dir.path()));
    }

    #[test]
    fn a_symlinked_config_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, "{}").unwrap();
        let link = dir.path().join("config.json");
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&real, &link).unwrap();
            write_atomic(&link, &mut |f| f.write_all(b"{\"x\":1}")).unwrap();
            assert!(
                fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(fs::read_to_string(&real).unwrap(), "{\"x\":1}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_dangling_link_is_written_through_creating_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("config.json");
        // Relative to the link's directory, into a directory not there yet.
        std::os::unix::fs::symlink("dotfiles/docker.json", &link).unwrap();
        let file = LockedFile::open(&link).unwrap();
        assert_eq!(file.path(), dir.path().join("dotfiles/docker.json"));
        assert_eq!(file.read().unwrap(), None);
        file.replace(b"{}").unwrap();
        drop(file);
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&link).unwrap(), "{}");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_loop_is_an_invalid_file_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let err = LockedFile::open(&a).unwrap_err();
        assert!(matches!(err, Error::InvalidFile { .. }), "{err:?}");
    }
}
