//! Path parameters: each one becomes exactly one percent-encoded segment,
//! or the request is refused before a URL is built.

/// A path parameter that would change which resource a URL names.
#[derive(Debug)]
pub struct InvalidPathParam {
    name: &'static str,
    value: String,
}

impl std::fmt::Display for InvalidPathParam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.value.is_empty() {
            write!(f, "path parameter `{}` must not be empty", self.name)
        } else {
            write!(
                f,
                "path parameter `{}` must not be `{}`: it would name a different resource",
                self.name, self.value
            )
        }
    }
}

impl std::error::Error for InvalidPathParam {}

/// Characters sent as they are in a path segment: RFC 3986's unreserved
/// characters and the sub-delimiters and `:`/`@` that a WHATWG URL parser
/// leaves alone. Everything else is percent-encoded: controls, space and
/// non-ASCII, `%` itself, `/` and `\\` (both separate segments for the
/// parser), `?` and `#` (they end the path), `;` (a path parameter to some
/// servers), and the characters the URL standard encodes or rewrites
/// (`"`, `<`, `>`, `` ` ``, `{`, `}`, `^`, `|`, `[`, `]`).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Percent-encodes one path segment (a `/` in a repository name becomes
/// `%2F`, a `\\` becomes `%5C`), refusing values that would name another
/// resource: empty, or a dot segment (`.`, `..`) once percent-decoding,
/// and splitting on `/` or `\\` as a server that decodes before routing
/// would. Every other value comes back as exactly one segment that decodes
/// to the value.
#[doc(hidden)]
pub fn encode_path(value: &str, name: &'static str) -> Result<String, InvalidPathParam> {
    if names_another_resource(value) {
        return Err(InvalidPathParam {
            name,
            value: value.to_owned(),
        });
    }
    Ok(encode_path_segment(value))
}

/// Whether a path parameter, as a server may read it after decoding, is
/// empty or walks the path (`.`, `..`, `a/../b`, `..\\x`, `%2e%2e`, …).
fn names_another_resource(value: &str) -> bool {
    if value.trim().is_empty() {
        return true;
    }
    let mut decoded = value.to_owned();
    // Look at the value and up to three layers of decoding: `%2e`, `%252e`, …
    for _ in 0..4 {
        let dot_piece = decoded
            .split(['/', '\\'])
            .any(|piece| matches!(piece.trim(), "." | ".."));
        if dot_piece {
            return true;
        }
        let next = percent_encoding::percent_decode_str(&decoded)
            .decode_utf8_lossy()
            .into_owned();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    decoded.trim().is_empty()
}

/// Percent-encodes one path segment exactly as requests do, without the
/// checks of [`encode_path`]: the generated mock helpers match on it.
#[doc(hidden)]
pub fn encode_path_segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::encode_path;

    #[test]
    fn encodes_slashes_and_rejects_dot_segments() {
        assert_eq!(encode_path("my/repo", "r").unwrap(), "my%2Frepo");
        assert_eq!(encode_path("a.b", "r").unwrap(), "a.b");
        assert_eq!(encode_path("...", "r").unwrap(), "...");
        assert_eq!(encode_path("a\\b", "r").unwrap(), "a%5Cb");
        assert_eq!(
            encode_path("v1.0+build:7@x", "r").unwrap(),
            "v1.0+build:7@x"
        );
        for bad in [
            "",
            " ",
            ".",
            "..",
            "%2e",
            "%2E%2e",
            ".%2e",
            "%252e%252e",
            "..\\..\\v2",
            "a/../b",
            "..%5Cx",
            "%2e%2e%2fx",
        ] {
            let err = encode_path(bad, "repository_name").unwrap_err();
            assert!(err.to_string().contains("repository_name"), "{bad}: {err}");
        }
    }
}
