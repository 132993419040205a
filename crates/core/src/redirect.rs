//! Redirects, followed by regkit (reqwest's own following is switched off)
//! so that no credential leaves its origin: when a hop changes scheme, host
//! or port (https → http included), every header that carries a credential
//! the client was configured with is dropped, along with `Authorization`,
//! `Cookie` and `Proxy-Authorization`. reqwest's own policy drops only a
//! fixed list, so an API-key header would travel on.

use reqwest::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, HeaderName, LOCATION, PROXY_AUTHORIZATION,
};
use reqwest::{Method, Request, Response, StatusCode, Url};

/// Hops followed before the last redirect is handed back as it is.
pub const MAX_REDIRECTS: usize = 10;

/// Whether two URLs share scheme, host and port.
pub(crate) fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// The next hop of a redirect `response` to a request sent to `from`,
/// built from `template` (a copy of the original request, before
/// credentials were added): `None` when `response` is not a redirect to
/// follow. `as_get` says an earlier hop already turned the request into a
/// GET. Credentials are the caller's to add, for `origin` only; this drops
/// every header that may carry one when the hop leaves `origin`.
pub(crate) fn next_hop<'a>(
    from: &Url,
    origin: &Url,
    response: &Response,
    template: Request,
    as_get: bool,
    credential_headers: impl Iterator<Item = &'a HeaderName>,
) -> Option<Request> {
    let method = if as_get {
        &Method::GET
    } else {
        template.method()
    };
    let rewrites_to_get = as_get
        || match response.status() {
            StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => method == Method::POST,
            StatusCode::SEE_OTHER => method != Method::HEAD,
            StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => false,
            _ => return None,
        };
    if !response.status().is_redirection() {
        return None;
    }
    let target = response
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| from.join(l).ok())
        .filter(|t| matches!(t.scheme(), "http" | "https"))?;
    let mut hop = template;
    if rewrites_to_get {
        *hop.method_mut() = Method::GET;
        *hop.body_mut() = None;
        hop.headers_mut().remove(CONTENT_TYPE);
        hop.headers_mut().remove(CONTENT_LENGTH);
    }
    if !same_origin(origin, &target) {
        let headers = hop.headers_mut();
        for name in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION]
            .iter()
            .chain(credential_headers)
        {
            headers.remove(name);
        }
    }
    *hop.url_mut() = target;
    Some(hop)
}

#[cfg(test)]
mod tests {
    use super::same_origin;
    use reqwest::Url;

    #[test]
    fn an_origin_is_scheme_host_and_port() {
        let at = |s: &str| Url::parse(s).unwrap();
        let base = at("https://api.example.com/v2/x");
        assert!(same_origin(&base, &at("https://api.example.com/other")));
        assert!(same_origin(&base, &at("https://api.example.com:443/")));
        for other in [
            "http://api.example.com/v2/x",       // https → http
            "https://api.example.com:8443/v2/x", // port
            "https://evil.example.com/v2/x",     // host
            "https://api.example.com.evil.net/", // suffix
            "https://API.example.com.:443/",     // trailing dot is another name
        ] {
            assert!(!same_origin(&base, &at(other)), "{other}");
        }
    }
}
