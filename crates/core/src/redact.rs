//! What error text must never show: the credentials a client was configured
//! with (even when a server echoes them back), and the bodies of responses
//! that carry secrets.
//!
//! The pipeline puts the client's [`Scrubber`] in the context it attaches
//! to every response (`crate::response::Context`); raw responses, decoded
//! responses and errors keep it, and their `Display` and `Debug` apply it.
//! The data itself is untouched: a caller who asks gets the body through
//! `raw_body()`.

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
