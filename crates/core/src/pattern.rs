//! The string `pattern`s request types check, without a regex engine.
//!
//! Every `pattern` in the specs is an anchored run of character classes
//! with bounded or unbounded repetition (`^[a-z][-a-z0-9]{1,61}[a-z0-9]$`).
//! [`Pattern`] parses exactly that subset and matches it by dynamic
//! programming over pieces and positions (no backtracking blow-up), with
//! the `new`/`find` shape of the `regress::Regex` typify's output calls,
//! so codegen only renames the type. A pattern outside the subset is an
//! error at parse time; regkit-core's tests parse every pattern the
//! generated crates hold, so none panics at run time.

use std::fmt;

/// A parsed pattern (codegen plumbing: typify's generated `FromStr`
/// implementations call it).
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pieces: Vec<Piece>,
}

/// One class (or literal) and how often it repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    /// Inclusive character ranges; a literal is a range of one.
    ranges: Vec<(char, char)>,
    min: usize,
    /// `None`: unbounded.
    max: Option<usize>,
}

/// A pattern outside the subset [`Pattern`] matches.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedPattern(String);

impl fmt::Display for UnsupportedPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unsupported pattern: {}", self.0)
    }
}

impl std::error::Error for UnsupportedPattern {}

impl Pattern {
    /// Parses `^` (class | literal) quantifier? … `$`.
    pub fn new(pattern: &str) -> Result<Pattern, UnsupportedPattern> {
        let bad = |why: &str| UnsupportedPattern(format!("{pattern:?}: {why}"));
        let inner = pattern
            .strip_prefix('^')
            .and_then(|p| p.strip_suffix('$'))
            .ok_or_else(|| bad("not anchored with ^ and $"))?;
        let chars: Vec<char> = inner.chars().collect();
        let mut pieces = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let ranges = match chars[i] {
                '[' => {
                    let close = chars[i + 1..]
                        .iter()
                        .position(|&c| c == ']')
                        .ok_or_else(|| bad("unclosed ["))?
                        + i
                        + 1;
                    let class = &chars[i + 1..close];
                    if class.is_empty()
                        || class[0] == '^'
                        || class.contains(&'\\')
                        || class.contains(&'[')
                    {
                        return Err(bad("only plain classes like [a-z0-9-]"));
                    }
                    let mut ranges = Vec::new();
                    let mut k = 0;
                    while k < class.len() {
                        if k + 2 < class.len() && class[k + 1] == '-' {
                            if class[k] > class[k + 2] {
                                return Err(bad("a backwards range"));
                            }
                            ranges.push((class[k], class[k + 2]));
                            k += 3;
                        } else {
                            ranges.push((class[k], class[k]));
                            k += 1;
                        }
                    }
                    i = close + 1;
                    ranges
                }
                c if c.is_alphanumeric() || "-_:/@ ".contains(c) => {
                    i += 1;
                    vec![(c, c)]
                }
                _ => return Err(bad("only classes and plain literals")),
            };
            let (min, max) = match chars.get(i) {
                Some('?') => {
                    i += 1;
                    (0, Some(1))
                }
                Some('*') => {
                    i += 1;
                    (0, None)
                }
                Some('+') => {
                    i += 1;
                    (1, None)
                }
                Some('{') => {
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == '}')
                        .ok_or_else(|| bad("unclosed {"))?
                        + i;
                    let body: String = chars[i + 1..close].iter().collect();
                    i = close + 1;
                    let number = |s: &str| s.parse::<usize>().map_err(|_| bad("a bad {m,n}"));
                    match body.split_once(',') {
                        None => {
                            let n = number(&body)?;
                            (n, Some(n))
                        }
                        Some((m, "")) => (number(m)?, None),
                        Some((m, n)) => {
                            let (m, n) = (number(m)?, number(n)?);
                            if m > n {
                                return Err(bad("{m,n} with m > n"));
                            }
                            (m, Some(n))
                        }
                    }
                }
                _ => (1, Some(1)),
            };
            pieces.push(Piece { ranges, min, max });
        }
        Ok(Pattern { pieces })
    }

    /// `Some(())` when the whole of `value` matches (the pattern is
    /// anchored), as `regress`'s `find` is asked.
    pub fn find(&self, value: &str) -> Option<()> {
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        // can[p][j]: pieces p.. match chars j..
        let mut can = vec![vec![false; n + 1]; self.pieces.len() + 1];
        can[self.pieces.len()][n] = true;
        for (p, piece) in self.pieces.iter().enumerate().rev() {
            for j in (0..=n).rev() {
                let mut ok = false;
                let mut taken = 0;
                loop {
                    if taken >= piece.min && can[p + 1][j + taken] {
                        ok = true;
                        break;
                    }
                    if piece.max.is_some_and(|max| taken >= max) || j + taken >= n {
                        break;
                    }
                    let c = chars[j + taken];
                    if !piece.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) {
                        break;
                    }
                    taken += 1;
                }
                can[p][j] = ok;
            }
        }
        can[0][0].then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every pattern the generated crates hold, and a few more shapes.
    const PATTERNS: &[&str] = &[
        "^[a-z0-9-]{1,63}$",
        "^[a-z][-a-z0-9]{1,61}[a-z0-9]$",
        "^[A-Za-z][-A-Za-z0-9]{0,61}[A-Za-z0-9]$",
        "^[a-z0-9][a-z0-9-]+[a-z0-9]$",
        "^a[b-c]?d*e{2}f{1,}$",
    ];

    #[test]
    fn every_pattern_in_the_generated_crates_parses() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut found = 0;
        for entry in std::fs::read_dir(&root).unwrap() {
            let generated = entry.unwrap().path().join("src/generated.rs");
            let Ok(text) = std::fs::read_to_string(&generated) else {
                continue;
            };
            for (at, _) in text.match_indices("Pattern::new(") {
                let rest = text[at + "Pattern::new(".len()..].trim_start();
                let rest = rest.strip_prefix('"').expect("a string literal");
                let pattern = &rest[..rest.find('"').unwrap()];
                Pattern::new(pattern).unwrap_or_else(|e| panic!("{}: {e}", generated.display()));
                found += 1;
            }
        }
        assert!(found >= 6, "found {found} patterns");
    }

    #[test]
    fn what_is_outside_the_subset_is_refused() {
        for bad in [
            "[a-z]+", "^[a-z]+", "^(a|b)$", "^[^a]$", "^\\d$", "^a{2,1}$", "^[a-z$", "^a.b$",
        ] {
            assert!(Pattern::new(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        /// The matcher agrees with regress, the engine it replaces, on
        /// strings drawn from the patterns' own alphabets and beyond.
        #[test]
        fn agrees_with_a_regex_engine(
            which in 0..PATTERNS.len(),
            value in "[a-fA-Z0-9_.-]{0,70}",
        ) {
            let pattern = PATTERNS[which];
            let ours = Pattern::new(pattern).unwrap().find(&value).is_some();
            let regress = regress::Regex::new(pattern).unwrap().find(&value).is_some();
            prop_assert_eq!(ours, regress, "{} on {:?}", pattern, value);
        }
    }

    #[test]
    fn edges_match_as_a_regex_engine_does() {
        let p = Pattern::new("^[a-z][-a-z0-9]{1,61}[a-z0-9]$").unwrap();
        for (value, want) in [
            ("ab", false),
            ("abc", true),
            ("a-c", true),
            ("a-", false),
            ("-ab", false),
        ] {
            assert_eq!(p.find(value).is_some(), want, "{value}");
        }
        let long = format!("a{}b", "x".repeat(61));
        assert!(p.find(&long).is_some());
        assert!(p.find(&format!("a{}b", "x".repeat(62))).is_none());
        assert!(
            Pattern::new("^[a-z0-9-]{1,63}$")
                .unwrap()
                .find("")
                .is_none()
        );
    }
}
