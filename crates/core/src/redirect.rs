//! Follows redirects (reqwest's own following is switched off), so that no
//! credential leaves its origin: when a hop changes scheme, host or port
//! (https → http included), every header that carries a credential the
//! client was configured with is dropped, along with `Authorization`,
//! `Cookie` and `Proxy-Authorization`. reqwest's own policy drops only a
//! fixed list, so an API-key header would travel on.

use http::Extensions;
use reqwest::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, HeaderName, LOCATION, PROXY_AUTHORIZATION,
};
use reqwest::{Method, Request, Response, StatusCode, Url};
use reqwest_middleware::{Middleware, Next};

/// Hops followed before the last redirect is handed back as it is.
pub(crate) const MAX_REDIRECTS: usize = 10;

pub(crate) struct RedirectMiddleware {
    /// Headers that carry credentials, besides the standard ones.
    pub(crate) credential_headers: Vec<HeaderName>,
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[async_trait::async_trait]
impl Middleware for RedirectMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        for _ in 0..MAX_REDIRECTS {
            let from = request.url().clone();
            let copy = request.try_clone();
            let response = next.clone().run(request, extensions).await?;
            let status = response.status();
            let rewrites_to_get = match status {
                StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => {
                    copy.as_ref().is_some_and(|r| r.method() == Method::POST)
                }
                StatusCode::SEE_OTHER => copy.as_ref().is_some_and(|r| r.method() != Method::HEAD),
                StatusCode::TEMPORARY_REDIRECT | StatusCode::PERMANENT_REDIRECT => false,
                _ => return Ok(response),
            };
            let target = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| from.join(l).ok())
                .filter(|t| matches!(t.scheme(), "http" | "https"));
            // No usable target, or a body that cannot be sent twice: the
            // redirect itself is the answer.
            let (Some(target), Some(mut follow)) = (target, copy) else {
                return Ok(response);
            };
            if rewrites_to_get {
                *follow.method_mut() = Method::GET;
                *follow.body_mut() = None;
                follow.headers_mut().remove(CONTENT_TYPE);
                follow.headers_mut().remove(CONTENT_LENGTH);
            }
            if !same_origin(&from, &target) {
                let headers = follow.headers_mut();
                for name in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION]
                    .iter()
                    .chain(&self.credential_headers)
                {
                    headers.remove(name);
                }
            }
            *follow.url_mut() = target;
            tracing::debug!(status = status.as_u16(), "following a redirect");
            request = follow;
        }
        next.run(request, extensions).await
    }
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
