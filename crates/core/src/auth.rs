//! Adds credentials to each request, and refuses to send them in clear text.

use std::net::IpAddr;

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::{Credentials, RequestError};

pub(crate) struct AuthMiddleware {
    pub(crate) credentials: Option<Credentials>,
    pub(crate) allow_insecure_http: bool,
}

/// `localhost`, 127.0.0.0/8 and ::1: traffic that never leaves the machine.
pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[async_trait::async_trait]
impl Middleware for AuthMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if let Some(credentials) = &self.credentials {
            let url = request.url();
            if url.scheme() != "https" && !is_loopback(url) && !self.allow_insecure_http {
                let host = url.host_str().unwrap_or_default().to_owned();
                return Err(reqwest_middleware::Error::middleware(
                    RequestError::InsecureTransport { host },
                ));
            }
            let (name, value) = credentials.header();
            request.headers_mut().insert(name.clone(), value.clone());
        }
        // reqwest drops Authorization when a redirect leaves the origin
        // (host, port or scheme change), so credentials are not forwarded.
        next.run(request, extensions).await
    }
}
