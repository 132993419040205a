//! The data-plane tests' fixtures: a small OCI Distribution client that
//! logs in the way container clients do (a 401's challenge decides: the
//! Docker token flow for `Bearer`, the credentials themselves for
//! `Basic`), test images made of random bytes, and per provider a
//! registry with credentials minted through the emulated API.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use regkit_emulator::{ClockMode, Emulator, Provider};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::emulator::{json_body, raw};

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A user name and password a client logs in with (its Debug shows the
/// user only).
#[derive(Clone)]
pub struct Login {
    /// User name.
    pub user: String,
    /// Password or token.
    pub password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Login {
    /// `user:password` (skopeo's `--creds`).
    pub fn creds(&self) -> String {
        format!("{}:{}", self.user, self.password)
    }
}

/// An answer: status, headers and body.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first error code of the spec's error body.
    pub fn code(&self) -> Option<String> {
        self.json()["errors"][0]["code"]
            .as_str()
            .map(str::to_string)
    }
}

/// A data-plane client of one registry host.
#[derive(Debug)]
pub struct Oci {
    http: reqwest::Client,
    /// `http://<host>`.
    pub base: String,
    login: Option<Login>,
    /// Bearer tokens by scope.
    tokens: Mutex<HashMap<String, String>>,
}

fn challenge_params(text: &str) -> HashMap<String, String> {
    let rest = text.split_once(' ').map_or("", |(_, r)| r);
    let mut params = HashMap::new();
    for part in rest.split("\",") {
        if let Some((k, v)) = part.split_once('=') {
            params.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
        }
    }
    params
}

impl Oci {
    /// A client of `host` (`127.0.0.1:<port>`) logging in with `login`.
    pub fn new(host: &str, login: Option<Login>) -> Oci {
        Oci {
            http: reqwest::Client::new(),
            base: format!("http://{host}"),
            login,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Sends a request, answering a 401's challenge once as a container
    /// client would.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let build = |auth: Option<String>| {
            let mut req = self.http.request(method.clone(), &url).body(body.clone());
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(auth) = auth {
                req = req.header("authorization", auth);
            }
            req
        };
        let cached = self.tokens.lock().unwrap().get(path).cloned();
        let first = answer(build(cached.map(|t| format!("Bearer {t}"))).send().await).await;
        if first.status != StatusCode::UNAUTHORIZED {
            return first;
        }
        let (Some(login), Some(challenge)) = (&self.login, first.header("www-authenticate")) else {
            return first;
        };
        let auth = if challenge.to_ascii_lowercase().starts_with("bearer") {
            let p = challenge_params(challenge);
            let mut token_url = format!(
                "{}?service={}",
                p["realm"],
                p.get("service").cloned().unwrap_or_default()
            );
            if let Some(scope) = p.get("scope") {
                token_url.push_str(&format!("&scope={scope}"));
            }
            let got = self
                .http
                .get(token_url)
                .basic_auth(&login.user, Some(&login.password))
                .send()
                .await
                .expect("the token endpoint answers");
            if !got.status().is_success() {
                return answer(Ok(got)).await;
            }
            let token = got.json::<Value>().await.expect("a token")["token"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            self.tokens
                .lock()
                .unwrap()
                .insert(path.to_string(), token.clone());
            format!("Bearer {token}")
        } else {
            let pair = base64::engine::general_purpose::STANDARD.encode(login.creds());
            format!("Basic {pair}")
        };
        answer(build(Some(auth)).send().await).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, &[], Vec::new()).await
    }

    /// Uploads a blob to `name` (a session, then one `PUT` with its
    /// bytes) and returns its digest, or the answer that refused it.
    pub async fn try_push_blob(&self, name: &str, bytes: &[u8]) -> Result<String, Answer> {
        let digest = sha256(bytes);
        let start = self
            .send(
                Method::POST,
                &format!("/v2/{name}/blobs/uploads/"),
                &[],
                Vec::new(),
            )
            .await;
        if start.status != StatusCode::ACCEPTED {
            return Err(start);
        }
        let location = start.header("location").expect("a Location").to_string();
        let sep = if location.contains('?') { '&' } else { '?' };
        let done = self
            .send(
                Method::PUT,
                &format!("{location}{sep}digest={digest}"),
                &[("content-type", "application/octet-stream")],
                bytes.to_vec(),
            )
            .await;
        if done.status != StatusCode::CREATED {
            return Err(done);
        }
        Ok(digest)
    }

    /// [`Oci::try_push_blob`], which must succeed.
    pub async fn push_blob(&self, name: &str, bytes: &[u8]) -> String {
        match self.try_push_blob(name, bytes).await {
            Ok(digest) => digest,
            Err(refused) => panic!("{}: {:?}", refused.status, refused.json()),
        }
    }

    /// Puts a manifest of `media_type` at `reference` of `name`.
    pub async fn put_manifest(
        &self,
        name: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Answer {
        self.send(
            Method::PUT,
            &format!("/v2/{name}/manifests/{reference}"),
            &[("content-type", media_type)],
            bytes.to_vec(),
        )
        .await
    }

    /// Pushes `image` to `name:tag`; panics unless every part was created.
    pub async fn push_image(&self, name: &str, tag: &str, image: &Image) {
        for blob in image.blobs() {
            self.push_blob(name, blob).await;
        }
        let put = self
            .put_manifest(name, tag, OCI_MANIFEST, &image.manifest)
            .await;
        assert_eq!(put.status, StatusCode::CREATED, "{:?}", put.json());
    }
}

/// The status an [`Answer`] has when no answer came (the connection
/// closed): 599, which no server sends.
pub const NO_ANSWER: u16 = 599;

async fn answer(r: reqwest::Result<reqwest::Response>) -> Answer {
    let Ok(r) = r else {
        return Answer {
            status: StatusCode::from_u16(NO_ANSWER).expect("a valid status"),
            headers: Default::default(),
            body: Vec::new(),
        };
    };
    let status = r.status();
    let headers = r.headers().clone();
    let body = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    Answer {
        status,
        headers,
        body,
    }
}

/// A test image: a config, layers of random bytes, and its manifest.
#[derive(Clone, Debug)]
pub struct Image {
    /// Config bytes.
    pub config: Vec<u8>,
    /// Layer bytes.
    pub layers: Vec<Vec<u8>>,
    /// Manifest bytes.
    pub manifest: Vec<u8>,
    /// `sha256:` of the manifest.
    pub digest: String,
}

impl Image {
    /// An image for `arch` with `layers` layers of `size` random bytes,
    /// optionally referring to `subject` (a signature, say).
    pub fn new(arch: &str, layers: usize, size: usize, subject: Option<(&str, usize)>) -> Image {
        let mut rng = fastrand::Rng::new();
        let layers: Vec<Vec<u8>> = (0..layers)
            .map(|_| (0..size).map(|_| rng.u8(..)).collect())
            .collect();
        let config = json!({"architecture": arch, "os": "linux", "nonce": rng.u64(..)})
            .to_string()
            .into_bytes();
        let descriptor = |media: &str, b: &[u8]| json!({"mediaType": media, "digest": sha256(b), "size": b.len()});
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
            "layers": layers.iter().map(|l| descriptor("application/vnd.oci.image.layer.v1.tar", l)).collect::<Vec<_>>(),
        });
        if let Some((digest, size)) = subject {
            manifest["subject"] =
                json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": size});
            manifest["artifactType"] = json!("application/vnd.example.signature");
            manifest["annotations"] = json!({"org.example.kind": "signature"});
        }
        let manifest = manifest.to_string().into_bytes();
        let digest = sha256(&manifest);
        Image {
            config,
            layers,
            manifest,
            digest,
        }
    }

    /// Its blobs: config, then layers.
    pub fn blobs(&self) -> impl Iterator<Item = &Vec<u8>> {
        std::iter::once(&self.config).chain(self.layers.iter())
    }

    /// Bytes of its blobs.
    pub fn blob_bytes(&self) -> u64 {
        self.blobs().map(|b| b.len() as u64).sum()
    }
}

/// An index of `images` (their manifests must be pushed first).
pub fn index(images: &[&Image]) -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": images.iter().enumerate().map(|(i, m)| {
            let arch = ["amd64", "arm64", "s390x"][i % 3];
            json!({
                "mediaType": OCI_MANIFEST, "digest": m.digest, "size": m.manifest.len(),
                "platform": {"architecture": arch, "os": "linux"},
            })
        }).collect::<Vec<_>>(),
    })
    .to_string()
    .into_bytes()
}

/// One provider's registry on an emulator, ready for pushes: where it is
/// served, how its names start, and credentials.
#[derive(Debug)]
pub struct Site {
    /// Whose.
    pub provider: Provider,
    /// `127.0.0.1:<port>`.
    pub host: String,
    /// What a repository name starts with (`reg/`, `org/reg/`, or nothing).
    pub prefix: String,
    /// Credentials that pull and push.
    pub write: Login,
    /// Credentials that only pull.
    pub read: Login,
    /// The IONOS registry id (IONOS only).
    pub registry_id: Option<String>,
}

impl Site {
    /// The data-plane name of repository `repo`.
    pub fn name(&self, repo: &str) -> String {
        format!("{}{repo}", self.prefix)
    }

    /// A client logged in for writing.
    pub fn writer(&self) -> Oci {
        Oci::new(&self.host, Some(self.write.clone()))
    }

    /// A client logged in for reading.
    pub fn reader(&self) -> Oci {
        Oci::new(&self.host, Some(self.read.clone()))
    }
}

/// The providers with a data plane.
pub const HOSTING: [Provider; 3] = [Provider::DigitalOcean, Provider::Ionos, Provider::Buildkite];

/// An emulator with a frozen clock.
pub async fn emulator() -> Emulator {
    Emulator::builder()
        .clock(ClockMode::Frozen)
        .start()
        .await
        .expect("the emulator starts")
}

fn bearer(emu: &Emulator, p: Provider) -> Option<String> {
    Some(format!("Bearer {}", emu.token(p).expose_secret()))
}

fn docker_login(config: &Value) -> Login {
    let auth = config["auths"]
        .as_object()
        .and_then(|a| a.values().next())
        .expect("one host")["auth"]
        .as_str()
        .expect("an auth")
        .to_string();
    let text = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(auth)
            .unwrap(),
    )
    .unwrap();
    let (user, password) = text.split_once(':').unwrap();
    Login {
        user: user.into(),
        password: password.into(),
    }
}

/// Mints DigitalOcean Docker credentials through the API.
pub async fn digitalocean_credentials(
    emu: &Emulator,
    registry: &str,
    read_write: bool,
    expiry: Option<u64>,
) -> Login {
    let mut path = format!("/v2/registries/{registry}/docker-credentials?read_write={read_write}");
    if let Some(s) = expiry {
        path.push_str(&format!("&expiry_seconds={s}"));
    }
    let (status, body) = raw(
        emu,
        Provider::DigitalOcean,
        Method::GET,
        &path,
        bearer(emu, Provider::DigitalOcean),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    docker_login(&body)
}

/// Creates an IONOS token with these scopes through the API.
pub async fn ionos_token(
    emu: &Emulator,
    registry_id: &str,
    name: &str,
    scopes: Value,
    expiry: Option<&str>,
) -> Login {
    let mut properties = json!({"name": name, "scopes": scopes});
    if let Some(e) = expiry {
        properties["expiryDate"] = json!(e);
    }
    let (status, body) = raw(
        emu,
        Provider::Ionos,
        Method::POST,
        &format!("/registries/{registry_id}/tokens"),
        bearer(emu, Provider::Ionos),
        json_body(&json!({"properties": properties})),
    )
    .await;
    assert!(status == 200 || status == 201, "{status} {body}");
    let c = &body["properties"]["credentials"];
    Login {
        user: c["username"].as_str().unwrap().into(),
        password: c["password"].as_str().unwrap().into(),
    }
}

/// Creates a Buildkite registry token through the API.
pub async fn buildkite_token(emu: &Emulator, org: &str, registry: &str) -> Login {
    let (status, body) = raw(
        emu,
        Provider::Buildkite,
        Method::POST,
        &format!("/v2/packages/organizations/{org}/registries/{registry}/tokens"),
        bearer(emu, Provider::Buildkite),
        json_body(&json!({"description": "pull"})),
    )
    .await;
    assert!(status == 200 || status == 201, "{status} {body}");
    Login {
        user: "buildkite".into(),
        password: body["token"].as_str().unwrap().into(),
    }
}

/// A registry of `provider` on `emu` with read-write and read-only
/// credentials minted through its API.
pub async fn site(emu: &Emulator, provider: Provider) -> Site {
    match provider {
        Provider::DigitalOcean => {
            emu.seed(|w, _, now| {
                w.digitalocean
                    .create_registry(
                        "reg",
                        None,
                        Some(regkit_emulator::providers::digitalocean::Tier::Professional),
                        now,
                    )
                    .map(|_| ())
                    .expect("a registry");
            });
            Site {
                provider,
                host: emu.registry_host(provider).expect("a host"),
                prefix: "reg/".into(),
                write: digitalocean_credentials(emu, "reg", true, None).await,
                read: digitalocean_credentials(emu, "reg", false, None).await,
                registry_id: None,
            }
        }
        Provider::Ionos => {
            emu.seed(|w, _, now| {
                w.ionos.add_registry("reg-id", "reg", "de/fra", now);
            });
            let all =
                json!([{"name": "*", "type": "repository", "actions": ["pull", "push", "delete"]}]);
            let pull = json!([{"name": "*", "type": "repository", "actions": ["pull"]}]);
            Site {
                provider,
                host: emu.ionos_registry_host("reg-id").expect("a host"),
                prefix: String::new(),
                write: ionos_token(emu, "reg-id", "writer", all, None).await,
                read: ionos_token(emu, "reg-id", "reader", pull, None).await,
                registry_id: Some("reg-id".into()),
            }
        }
        Provider::Buildkite => {
            emu.seed(|w, ids, now| {
                w.buildkite
                    .add_registry("org", "reg", "container", ids, now);
            });
            Site {
                provider,
                host: emu.registry_host(provider).expect("a host"),
                prefix: "org/reg/".into(),
                write: Login {
                    user: "buildkite".into(),
                    password: emu.token(provider).expose_secret().to_string(),
                },
                read: buildkite_token(emu, "org", "reg").await,
                registry_id: None,
            }
        }
        other => panic!("{other} has no data plane"),
    }
}

/// Opens the emulator's accounts through the workflows' provider table,
/// with the registry hosts it serves.
#[derive(Debug)]
pub struct OnEmulator<'a>(pub &'a Emulator);

impl regkit_workflows::providers::Connect for OnEmulator<'_> {
    type Error = regkit_workflows::Error;

    fn client<C>(&self) -> Result<C, Self::Error>
    where
        C: regkit_core::GeneratedClient
            + regkit_core::runtime::ClientInfo<regkit_core::Inner>
            + Clone
            + Send
            + Sync
            + 'static,
    {
        let p: Provider = C::PROVIDER
            .name
            .parse()
            .map_err(|_| regkit_workflows::Error::InvalidInput(C::PROVIDER.name.into()))?;
        regkit_core::ClientBuilder::<C>::new()
            .base_url(self.0.url(p))
            .bearer_token(self.0.token(p))
            .build()
            .map_err(|e| regkit_workflows::Error::InvalidInput(e.to_string()))
    }

    fn registry_host(&self, provider: regkit_core::Provider) -> Option<String> {
        self.0.registry_host(provider.name().parse().ok()?)
    }
}
