//! What error text must never show: the credentials a client was configured
//! with (even when a server echoes them back), and the bodies of responses
//! that carry secrets.
//!
//! The pipeline attaches a [`Redaction`] to every response it hands back;
//! raw responses, decoded responses and errors keep it, and their `Display`
//! and `Debug` apply it. The data itself is untouched: a caller who asks
//! gets the body through `raw_body()`.

use std::borrow::Cow;
use std::sync::Arc;

use crate::SecretString;

/// Replaces every configured secret found in a text.
#[derive(Clone, Default)]
pub(crate) struct Scrubber {
    /// Texts to hide, longest first, so a secret that contains another is
    /// replaced whole.
    needles: Arc<[SecretString]>,
}

pub(crate) const REDACTED: &str = "[REDACTED]";

impl Scrubber {
    /// Hides each secret as written, and as a JSON string or a URL would
    /// spell it (a server that echoes a token may escape it either way).
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut needles: Vec<String> = Vec::new();
        for secret in secrets {
            if secret.is_empty() {
                continue;
            }
            let json = serde_json::to_string(secret).unwrap_or_default();
            let json = json.trim_matches('"').to_owned();
            let url =
                percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
                    .to_string();
            for form in [secret.to_owned(), json, url] {
                if !form.is_empty() && !needles.contains(&form) {
                    needles.push(form);
                }
            }
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        Self {
            needles: needles.into_iter().map(SecretString::new).collect(),
        }
    }

    pub(crate) fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(text);
        for needle in self.needles.iter() {
            let needle = needle.expose_secret();
            if out.contains(needle) {
                out = Cow::Owned(out.replace(needle, REDACTED));
            }
        }
        out
    }
}

/// Attached to each response: the client's scrubber, and whether the
/// operation's success body carries secrets (so a body that fails to decode
/// or comes with an unexpected status is withheld from error text). One
/// pointer wide, so errors that carry it stay small.
#[derive(Clone, Default)]
pub(crate) struct Redaction(Option<Arc<Rules>>);

struct Rules {
    scrubber: Scrubber,
    withhold_body: bool,
}

impl Redaction {
    pub(crate) fn new(scrubber: Scrubber, withhold_body: bool) -> Self {
        Self(Some(Arc::new(Rules {
            scrubber,
            withhold_body,
        })))
    }

    /// The redaction the pipeline attached to `response` (none for a
    /// response that did not come through a regkit client).
    pub(crate) fn of(response: &reqwest::Response) -> Self {
        response
            .extensions()
            .get::<Redaction>()
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn withhold_body(&self) -> bool {
        self.0.as_ref().is_some_and(|r| r.withhold_body)
    }

    pub(crate) fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match &self.0 {
            Some(rules) => rules.scrubber.scrub(text),
            None => Cow::Borrowed(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_each_spelling_longest_first() {
        let s = Scrubber::new(["tok/en\"1", "tok"]);
        let text = r#"raw tok/en"1, json "tok/en\"1", url tok%2Fen%221, short tok"#;
        let out = s.scrub(text);
        assert!(!out.contains("tok"), "{out}");
        assert_eq!(out.matches(REDACTED).count(), 4, "{out}");
    }
}
