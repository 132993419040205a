//! Building a provider client: settings, credentials, and the middleware
//! stack the pipeline runs.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, USER_AGENT};

use crate::auth::Auth;
use crate::call::CallLayer;
use crate::pipeline::{Inner, Transport};
use crate::redact::Scrubber;
use crate::{ConfigError, Credentials, ProviderInfo, RetryPolicy};

/// Default bound on a response body: 64 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default timeout of one attempt (connect, send, and read the whole body).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Implemented (by codegen) for each provider's `Client`: what the generic
/// [`ClientBuilder`] needs to build it. Codegen plumbing.
#[doc(hidden)]
pub trait GeneratedClient: Sized {
    /// The provider's facts.
    const PROVIDER: &'static ProviderInfo;
    /// Assembles a client from its parts.
    fn from_parts(baseurl: &str, http: reqwest::Client, inner: Inner) -> Self;
    /// The regkit state of a client.
    fn inner(&self) -> &Inner;
}

/// Builds a provider client. Every provider crate's `Client::builder()`
/// returns one of these.
///
/// Setters never fail; problems (a missing or malformed credential, a bad
/// URL) are reported by [`ClientBuilder::build`].
pub struct ClientBuilder<C> {
    base_url: Option<String>,
    credentials: Option<Result<Credentials, ConfigError>>,
    retry: RetryPolicy,
    connect_timeout: Duration,
    timeout: Duration,
    user_agent: Option<String>,
    allow_insecure_http: bool,
    max_response_bytes: usize,
    #[cfg(feature = "layers")]
    layers: Vec<Arc<dyn reqwest_middleware::Middleware>>,
    reqwest: Option<reqwest::Client>,
    _client: PhantomData<fn() -> C>,
}

impl<C> fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("ClientBuilder");
        f.field("base_url", &self.base_url.as_deref().map(without_user_info))
            .field(
                "credentials",
                &self.credentials.as_ref().map(|c| c.as_ref().ok()),
            )
            .field("retry", &self.retry)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("max_response_bytes", &self.max_response_bytes);
        #[cfg(feature = "layers")]
        f.field("layers", &self.layers.len());
        f.finish()
    }
}

impl<C: GeneratedClient> Default for ClientBuilder<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: GeneratedClient> ClientBuilder<C> {
    /// A builder with the defaults: the provider's base URL, no credentials,
    /// [`RetryPolicy::default`], 10 s connect and 30 s per-attempt timeouts.
    pub fn new() -> Self {
        Self {
            base_url: None,
            credentials: None,
            retry: RetryPolicy::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            user_agent: None,
            allow_insecure_http: false,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            #[cfg(feature = "layers")]
            layers: Vec::new(),
            reqwest: None,
            _client: PhantomData,
        }
    }

    /// Reads the base URL override (if the provider has one) and the
    /// credentials from the environment. A missing credential is reported
    /// by `build()`, naming the variables to set.
    pub fn from_env(mut self) -> Self {
        if let Some(var) = C::PROVIDER.base_url_env
            && let Ok(url) = std::env::var(var)
            && !url.trim().is_empty()
        {
            self.base_url = Some(url.trim().to_owned());
        }
        self.credentials = Some(Credentials::from_env(C::PROVIDER));
        self
    }

    /// Talks to `url` instead of the provider's default (a proxy, a mock
    /// server). It must be an absolute `http(s)` URL without user-info,
    /// query or fragment; `build()` says so otherwise.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Authenticates with `Authorization: Bearer <token>`.
    pub fn bearer_token(mut self, token: impl Into<crate::SecretString>) -> Self {
        self.credentials = Some(Credentials::bearer(token));
        self
    }

    /// Authenticates with HTTP Basic.
    pub fn basic_auth(
        mut self,
        username: impl Into<String>,
        password: impl Into<crate::SecretString>,
    ) -> Self {
        self.credentials = Some(Credentials::basic(username, password));
        self
    }

    /// Authenticates with prepared credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(Ok(credentials));
        self
    }

    /// Sends no credentials (public endpoints, or a layer of yours adds them).
    pub fn no_credentials(mut self) -> Self {
        self.credentials = None;
        self
    }

    /// Replaces the retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Connect timeout of each attempt.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Timeout of each attempt, from connecting to reading the last byte.
    /// The retry policy's budget bounds all attempts together.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Your application's product token, put before regkit's in `User-Agent`
    /// (`myapp/1.2 regkit-digitalocean/0.1.0`).
    pub fn user_agent(mut self, product: impl Into<String>) -> Self {
        self.user_agent = Some(product.into());
        self
    }

    /// Allows credentials over plain `http://` to hosts that are not
    /// loopback. Off by default; loopback is always allowed.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Largest response body accepted (default 64 MiB); larger is an error.
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Adds a middleware layer of yours (tracing, caching, metrics…). Layers
    /// run in the order added, outside the retry loop: each sees one call
    /// per operation, before credentials are added. Needs the `layers`
    /// feature.
    #[cfg(feature = "layers")]
    pub fn with<M: reqwest_middleware::Middleware>(mut self, layer: M) -> Self {
        self.layers.push(Arc::new(layer));
        self
    }

    /// Uses your own `reqwest::Client` (proxies, custom TLS roots). Its
    /// timeouts and user agent are then yours to set.
    pub fn reqwest_client(mut self, client: reqwest::Client) -> Self {
        self.reqwest = Some(client);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<C, ConfigError> {
        let provider = C::PROVIDER;
        let base_url = self
            .base_url
            .unwrap_or_else(|| provider.default_base_url.to_owned());
        check_base_url(&base_url)?;
        if self.max_response_bytes == 0 {
            return Err(ConfigError::InvalidSetting(
                "max_response_bytes must be greater than zero".into(),
            ));
        }
        let credentials = self.credentials.transpose()?;

        let own_client = self.reqwest.is_none();
        let http = match self.reqwest {
            Some(client) => client,
            None => {
                let regkit = format!("{}/{}", provider.crate_name, provider.crate_version);
                let agent = match &self.user_agent {
                    Some(app) => format!("{app} {regkit}"),
                    None => regkit,
                };
                let agent = HeaderValue::from_str(&agent).map_err(|_| {
                    ConfigError::InvalidSetting(format!("`{agent}` is not a valid User-Agent"))
                })?;
                let mut headers = reqwest::header::HeaderMap::new();
                headers.insert(USER_AGENT, agent);
                crate::tls::prepare();
                reqwest::Client::builder()
                    .default_headers(headers)
                    // Redirects are followed by regkit's own layer, which
                    // keeps credentials on their origin.
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(self.connect_timeout)
                    .timeout(self.timeout)
                    .build()
                    .map_err(ConfigError::Http)?
            }
        };

        let scrubber = Scrubber::new(credentials.iter().flat_map(Credentials::secrets));
        // Caller layers first, each seeing one call per operation; then
        // regkit's call layer: retries of whole attempts (body read
        // included), credentials per attempt, redirects that keep
        // credentials on their origin.
        let call = Arc::new(CallLayer {
            policy: self.retry,
            rate_limit_reset: provider.rate_limit_reset,
            attempt_timeout: own_client.then_some(self.timeout),
            auth: Auth {
                credentials,
                allow_insecure_http: self.allow_insecure_http,
            },
            body_limit: self.max_response_bytes,
            paused_until: std::sync::Mutex::new(None),
        });
        // Without caller layers, the call layer drives reqwest directly:
        // layers cost only when present.
        #[cfg(feature = "layers")]
        let transport = if self.layers.is_empty() {
            Transport::Direct(http.clone(), call)
        } else {
            let mut stack = reqwest_middleware::ClientBuilder::new(http.clone());
            for layer in self.layers {
                stack = stack.with_arc(layer);
            }
            Transport::Layered(stack.with_arc(call).build())
        };
        #[cfg(not(feature = "layers"))]
        let transport = Transport::Direct(http.clone(), call);

        let inner = Inner {
            transport,
            provider,
            max_response_bytes: self.max_response_bytes,
            scrubber,
        };
        Ok(C::from_parts(base_url.trim_end_matches('/'), http, inner))
    }
}

/// The base URL must be an absolute `http(s)` URL naming a host, with no
/// user-info (credentials belong in the builder, where they are redacted),
/// query or fragment (generated paths are appended to it). Error text never
/// repeats a password from the URL.
fn check_base_url(base_url: &str) -> Result<(), ConfigError> {
    let shown = without_user_info(base_url);
    let bad = |why: &str| Err(ConfigError::InvalidBaseUrl(format!("`{shown}` {why}")));
    let parsed = match reqwest::Url::parse(base_url) {
        Ok(url) => url,
        Err(e) => return bad(&format!("does not parse: {e}")),
    };
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return bad("is not an http(s) URL with a host");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return bad(
            "contains user-info; pass credentials with bearer_token(), basic_auth() \
             or credentials() instead",
        );
    }
    if parsed.query().is_some() {
        return bad("has a query; a base URL is a scheme, host, port and path");
    }
    if parsed.fragment().is_some() {
        return bad("has a fragment; a base URL is a scheme, host, port and path");
    }
    Ok(())
}

/// `url` with any user-info before the host replaced by `[REDACTED]`, for
/// messages and `Debug`. Works on text that does not parse as a URL too.
fn without_user_info(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => format!(
            "{}{}{}",
            &url[..start],
            crate::redact::REDACTED,
            &url[start + at..]
        ),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_never_shows() {
        for (url, shown) in [
            ("http://u:p4ss@h:1/x", "http://[REDACTED]@h:1/x"),
            ("https://p4ss@h", "https://[REDACTED]@h"),
            ("http://h/a@b", "http://h/a@b"),
            ("not a url u:p4ss@h", "[REDACTED]@h"),
        ] {
            assert_eq!(without_user_info(url), shown);
        }
    }
}
