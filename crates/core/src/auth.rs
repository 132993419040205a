//! Credentials on a request, and the refusal to send them in clear text.

use std::net::IpAddr;

use reqwest::Request;

use crate::{Credentials, RequestError};

/// The client's credentials and whether plain HTTP may carry them.
pub(crate) struct Auth {
    pub(crate) credentials: Option<Credentials>,
    pub(crate) allow_insecure_http: bool,
}

impl Auth {
    /// Puts the credentials on `request`; refuses when they would travel
    /// over plain HTTP to a host that is not loopback (unless allowed).
    pub(crate) fn apply(&self, request: &mut Request) -> Result<(), RequestError> {
        let Some(credentials) = &self.credentials else {
            return Ok(());
        };
        let url = request.url();
        if url.scheme() != "https" && !is_loopback(url) && !self.allow_insecure_http {
            let host = url.host_str().unwrap_or_default().to_owned();
            return Err(RequestError::InsecureTransport { host, origin: None });
        }
        let (name, value) = credentials.header();
        request.headers_mut().insert(name.clone(), value.clone());
        Ok(())
    }

    /// Names of the headers that carry this client's credentials.
    pub(crate) fn header_names(&self) -> impl Iterator<Item = &reqwest::header::HeaderName> {
        self.credentials.iter().map(|c| c.header().0)
    }
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
