//! What a data-plane path names: the endpoint of the distribution spec
//! (end-1 … end-13) and the repository, and where each provider keeps the
//! repository's registry in the name (DigitalOcean `<registry>/<repo>`,
//! Buildkite `<org>/<registry>/<image>`, IONOS: the host is the registry).

use crate::provider::Provider;
use crate::registry::errors::{OciCode, OciError};

/// A data-plane endpoint, with the operation name fault rules use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `GET /v2/` (end-1).
    Base,
    /// `/v2/<name>/manifests/<reference>` (end-3, end-7, end-9).
    Manifest(String),
    /// `/v2/<name>/blobs/<digest>` (end-2, end-10).
    Blob(String),
    /// `POST /v2/<name>/blobs/uploads/` (end-4a, end-4b, end-11).
    UploadStart,
    /// `/v2/<name>/blobs/uploads/<id>` (end-5, end-6, end-13).
    Upload(String),
    /// `GET /v2/<name>/tags/list` (end-8a, end-8b).
    Tags,
    /// `GET /v2/<name>/referrers/<digest>` (end-12a, end-12b).
    Referrers(String),
}

/// A parsed data-plane request path: the repository name as the path
/// spells it (empty for the base) and the endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub name: String,
    pub endpoint: Endpoint,
}

/// Splits `/v2/<name>/<endpoint>`. Names may hold slashes, so the endpoint
/// is found from the right: the last `/manifests/<ref>` whose reference has
/// no slash, and so on.
pub(crate) fn parse(path: &str) -> Option<Parsed> {
    if path == "/v2/" || path == "/v2" {
        return Some(Parsed {
            name: String::new(),
            endpoint: Endpoint::Base,
        });
    }
    let rest = path.strip_prefix("/v2/")?;
    let tail = |marker: &str| -> Option<(String, String)> {
        let at = rest.rfind(marker)?;
        let value = &rest[at + marker.len()..];
        (!value.contains('/') && at > 0).then(|| (rest[..at].to_string(), value.to_string()))
    };
    let (name, endpoint) = if let Some(name) = rest.strip_suffix("/tags/list") {
        (name.to_string(), Endpoint::Tags)
    } else if let Some(name) = rest
        .strip_suffix("/blobs/uploads/")
        .or_else(|| rest.strip_suffix("/blobs/uploads"))
    {
        (name.to_string(), Endpoint::UploadStart)
    } else if let Some((name, id)) = tail("/blobs/uploads/") {
        (name, Endpoint::Upload(id))
    } else if let Some((name, digest)) = tail("/blobs/") {
        (name, Endpoint::Blob(digest))
    } else if let Some((name, reference)) = tail("/manifests/") {
        (name, Endpoint::Manifest(reference))
    } else if let Some((name, digest)) = tail("/referrers/") {
        (name, Endpoint::Referrers(digest))
    } else {
        return None;
    };
    (!name.is_empty() && !endpoint_value_empty(&endpoint)).then_some(Parsed { name, endpoint })
}

fn endpoint_value_empty(e: &Endpoint) -> bool {
    match e {
        Endpoint::Manifest(v)
        | Endpoint::Blob(v)
        | Endpoint::Upload(v)
        | Endpoint::Referrers(v) => v.is_empty(),
        _ => false,
    }
}

/// The operation name of a request, for fault rules and logs
/// (`oci_manifest_get`, `oci_blob_upload_chunk`, …).
pub(crate) fn operation(method: &axum::http::Method, endpoint: &Endpoint) -> &'static str {
    use axum::http::Method as M;
    match (endpoint, method) {
        (Endpoint::Base, _) => "oci_base",
        (Endpoint::Manifest(_), &M::HEAD) => "oci_manifest_head",
        (Endpoint::Manifest(_), &M::PUT) => "oci_manifest_put",
        (Endpoint::Manifest(_), &M::DELETE) => "oci_manifest_delete",
        (Endpoint::Manifest(_), _) => "oci_manifest_get",
        (Endpoint::Blob(_), &M::HEAD) => "oci_blob_head",
        (Endpoint::Blob(_), &M::DELETE) => "oci_blob_delete",
        (Endpoint::Blob(_), _) => "oci_blob_get",
        (Endpoint::UploadStart, _) => "oci_blob_upload_start",
        (Endpoint::Upload(_), &M::PATCH) => "oci_blob_upload_chunk",
        (Endpoint::Upload(_), &M::PUT) => "oci_blob_upload_finish",
        (Endpoint::Upload(_), &M::DELETE) => "oci_blob_upload_cancel",
        (Endpoint::Upload(_), _) => "oci_blob_upload_status",
        (Endpoint::Tags, _) => "oci_tags_list",
        (Endpoint::Referrers(_), _) => "oci_referrers_list",
    }
}

/// Every value of `name` in a query string, form-decoded as Go's and
/// Docker's clients encode it (`+` is a space; `scope` may repeat).
pub(crate) fn query_values(query: &str, name: &str) -> Vec<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// Every data-plane operation name, for documentation and tests.
pub const OPERATIONS: [&str; 16] = [
    "oci_base",
    "oci_manifest_get",
    "oci_manifest_head",
    "oci_manifest_put",
    "oci_manifest_delete",
    "oci_blob_get",
    "oci_blob_head",
    "oci_blob_delete",
    "oci_blob_upload_start",
    "oci_blob_upload_chunk",
    "oci_blob_upload_finish",
    "oci_blob_upload_status",
    "oci_blob_upload_cancel",
    "oci_tags_list",
    "oci_referrers_list",
    "oci_token",
];

/// Whether `name` is a repository name the spec allows: path components of
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, joined by `/`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.split('/').all(valid_component)
}

fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: `.`, `_`, `__` or one or more `-`.
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-')) {
            return false;
        }
    }
    true
}

/// Where a repository lives: the provider, the registry (DigitalOcean: its
/// name; IONOS: its id; Buildkite: `<org>/<registry slug>`) and the
/// repository's name within it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub provider: Provider,
    pub registry: String,
    pub repository: String,
    /// The name as the path spells it (what token scopes name).
    pub name: String,
}

impl Target {
    /// Splits a path's name for `provider`; `ionos_registry` is the IONOS
    /// registry the host serves.
    pub(crate) fn of(
        provider: Provider,
        ionos_registry: Option<&str>,
        name: &str,
    ) -> Result<Target, OciError> {
        if !valid_name(name) {
            return Err(OciError::new(
                OciCode::NameInvalid,
                format!("invalid repository name {name:?}"),
            ));
        }
        let unknown = || {
            OciError::new(
                OciCode::NameUnknown,
                format!("{name:?} names no repository here: {}", layout(provider)),
            )
        };
        let (registry, repository) = match provider {
            Provider::DigitalOcean => {
                let (r, repo) = name.split_once('/').ok_or_else(unknown)?;
                (r.to_string(), repo.to_string())
            }
            Provider::Buildkite => {
                let mut parts = name.splitn(3, '/');
                let (Some(org), Some(r), Some(image)) = (parts.next(), parts.next(), parts.next())
                else {
                    return Err(unknown());
                };
                (format!("{org}/{r}"), image.to_string())
            }
            _ => (
                ionos_registry.ok_or_else(unknown)?.to_string(),
                name.to_string(),
            ),
        };
        Ok(Target {
            provider,
            registry,
            repository,
            name: name.to_string(),
        })
    }
}

/// How `provider`'s data-plane names are laid out, for error messages.
fn layout(provider: Provider) -> &'static str {
    match provider {
        Provider::DigitalOcean => "names are <registry>/<repository>",
        Provider::Buildkite => "names are <org>/<registry>/<image>",
        _ => "names are repositories of this host's registry",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &str) -> Option<(String, Endpoint)> {
        parse(path).map(|p| (p.name, p.endpoint))
    }

    #[test]
    fn endpoints_are_found_from_the_right() {
        assert_eq!(p("/v2/"), Some((String::new(), Endpoint::Base)));
        assert_eq!(
            p("/v2/r/a/b/manifests/v1"),
            Some(("r/a/b".into(), Endpoint::Manifest("v1".into())))
        );
        assert_eq!(
            p("/v2/r/manifests/x/manifests/latest"),
            Some(("r/manifests/x".into(), Endpoint::Manifest("latest".into())))
        );
        assert_eq!(
            p("/v2/r/a/blobs/uploads/"),
            Some(("r/a".into(), Endpoint::UploadStart))
        );
        assert_eq!(
            p("/v2/r/a/blobs/uploads/abc"),
            Some(("r/a".into(), Endpoint::Upload("abc".into())))
        );
        assert_eq!(
            p("/v2/r/a/blobs/sha256:00"),
            Some(("r/a".into(), Endpoint::Blob("sha256:00".into())))
        );
        assert_eq!(p("/v2/r/a/tags/list"), Some(("r/a".into(), Endpoint::Tags)));
        assert_eq!(
            p("/v2/r/a/referrers/sha256:00"),
            Some(("r/a".into(), Endpoint::Referrers("sha256:00".into())))
        );
        for bad in [
            "/v2/manifests/x",
            "/v2/r/manifests/",
            "/v3/r/manifests/x",
            "/v2/r/unknown",
            "/",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_follow_the_spec() {
        for good in ["a", "a/b", "team-1/app.web", "a__b", "a---b", "0/1"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in [
            "", "A", "a/", "/a", "a//b", "-a", "a-", "a..b", "a___b", "a_.b", "a b", "ä",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn each_provider_splits_its_names() {
        let t = Target::of(Provider::DigitalOcean, None, "reg/team/app").unwrap();
        assert_eq!(
            (t.registry.as_str(), t.repository.as_str()),
            ("reg", "team/app")
        );
        let t = Target::of(Provider::Buildkite, None, "org/reg/img").unwrap();
        assert_eq!(
            (t.registry.as_str(), t.repository.as_str()),
            ("org/reg", "img")
        );
        let t = Target::of(Provider::Ionos, Some("id-1"), "team/app").unwrap();
        assert_eq!(
            (t.registry.as_str(), t.repository.as_str()),
            ("id-1", "team/app")
        );
        assert_eq!(
            Target::of(Provider::DigitalOcean, None, "reg")
                .unwrap_err()
                .code,
            OciCode::NameUnknown
        );
        assert_eq!(
            Target::of(Provider::Buildkite, None, "org/reg")
                .unwrap_err()
                .code,
            OciCode::NameUnknown
        );
        assert_eq!(
            Target::of(Provider::Ionos, None, "Bad").unwrap_err().code,
            OciCode::NameInvalid
        );
    }
}
