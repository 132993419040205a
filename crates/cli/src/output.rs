//! Output: plain tables for a terminal, JSON for scripts, and progress bars
//! that appear only on a terminal, only after a moment.

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::fail::{Fail, Result};

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// JSON: one document, or one object per line for listings.
    Json,
}

/// A table: a header row and rows, printed with aligned columns.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row, columns two spaces apart.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                let w = cell.chars().count();
                match widths.get_mut(i) {
                    Some(slot) => *slot = (*slot).max(w),
                    None => widths.push(w),
                }
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    out.push_str(cell);
                } else {
                    let pad = widths[i].saturating_sub(cell.chars().count());
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad + 2));
                }
            }
            out.trim_end().to_string()
        };
        let mut out = line(&self.header);
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }
}

/// Prints `text` to stdout. When the reader has closed it (`| head -1`),
/// the error is [`Fail::stdout_closed`]: the command stops and `regkit`
/// exits 0 without a word, as Unix tools do. Any other write error is one.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| write_failed(&e))
}

/// What a failed write to stdout means for the command.
fn write_failed(e: &std::io::Error) -> Fail {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Fail::stdout_closed()
    } else {
        Fail::error(format!("writing to stdout: {e}"))
    }
}

/// Prints a note for people on stderr; a closed stderr is ignored.
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// `1 tag`, `3 tags`: a count with its noun, singular or plural. `plural`
/// is the plural form (`repositories`), or `None` for the noun plus `s`.
pub fn count(n: usize, singular: &str, plural: Option<&str>) -> String {
    match (n, plural) {
        (1, _) => format!("1 {singular}"),
        (n, Some(plural)) => format!("{n} {plural}"),
        (n, None) => format!("{n} {singular}s"),
    }
}

/// Prints `value` as one JSON document (pretty, with a final newline).
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Fail::error(format!("encoding JSON: {e}")))?;
    print(&format!("{text}\n"))
}

/// Prints `value` as one line of JSON (for streamed listings).
pub fn print_json_line<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let text =
        serde_json::to_string(value).map_err(|e| Fail::error(format!("encoding JSON: {e}")))?;
    print(&format!("{text}\n"))
}

/// Whether stdout and stderr are both terminals: the condition for
/// progress bars and prompts about output.
pub fn interactive() -> bool {
    std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// How long work runs before its progress indicator appears.
const SHOW_AFTER: Duration = Duration::from_millis(300);

/// A spinner with a count on stderr, shown only when `enabled` (a terminal,
/// not JSON) and only once the work has taken longer than a moment. Must
/// be created inside the tokio runtime.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    reveal: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// A progress indicator counting items for `what` (`listing images of
    /// web`, …).
    pub fn new(enabled: bool, what: &str) -> Self {
        Self::with_template(enabled, what, "{spinner} {msg}: {pos} [{elapsed}]")
    }

    /// A spinner for work without items to count (`planning`, …).
    pub fn spinner(enabled: bool, what: &str) -> Self {
        Self::with_template(enabled, what, "{spinner} {msg} [{elapsed}]")
    }

    /// A count of bytes moved, with their rate, for `what` (`copying
    /// …`): feed it with [`add_bytes`](Self::add_bytes).
    pub fn bytes(enabled: bool, what: &str) -> Self {
        Self::with_template(
            enabled,
            what,
            "{spinner} {msg}: {binary_bytes} at {binary_bytes_per_sec} [{elapsed}]",
        )
    }

    /// A handle that adds bytes to a [`bytes`](Self::bytes) indicator
    /// from any thread (a no-op when it is off).
    pub fn byte_feed(&self) -> impl Fn(u64) + Send + Sync + 'static {
        let bar = self.bar.clone();
        move |n| {
            if let Some(bar) = &bar {
                bar.inc(n);
            }
        }
    }

    fn with_template(enabled: bool, what: &str, template: &str) -> Self {
        if !enabled {
            return Progress {
                bar: None,
                reveal: None,
            };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message(what.to_string());
        let shown = bar.clone();
        let reveal = tokio::spawn(async move {
            tokio::time::sleep(SHOW_AFTER).await;
            if !shown.is_finished() {
                shown.set_draw_target(ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(100));
            }
        });
        Progress {
            bar: Some(bar),
            reveal: Some(reveal),
        }
    }

    /// One more item done.
    pub fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Removes the indicator (if it was shown) before results are printed.
    pub fn finish(self) {
        if let Some(reveal) = self.reveal {
            reveal.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Bytes for people: `1.5 MiB`; `-` when unknown.
pub fn bytes(n: Option<u64>) -> String {
    let Some(n) = n else {
        return "-".into();
    };
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A time for people (`2026-01-01 12:00:00Z`); `-` when unknown.
pub fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into())
}

/// `1 tag`, `2 tags`: [`count`] for nouns whose plural ends in `s`.
pub fn plural(n: usize, noun: &str) -> String {
    count(n, noun, None)
}

/// A digest shortened for a table (`sha256:0123456789ab`).
pub fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((algo, hex)) if hex.chars().count() > 12 => {
            format!("{algo}:{}", hex.chars().take(12).collect::<String>())
        }
        _ => d.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(plural(0, "tag"), "0 tags");
        assert_eq!(plural(1, "tag"), "1 tag");
        assert_eq!(plural(2, "tag"), "2 tags");
        assert_eq!(count(1, "repository", Some("repositories")), "1 repository");
        assert_eq!(
            count(3, "repository", Some("repositories")),
            "3 repositories"
        );
    }

    #[test]
    fn a_closed_pipe_is_not_an_error_but_other_write_errors_are() {
        let closed = write_failed(&std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(closed.code, crate::fail::EXIT_OK);
        assert!(closed.message.is_empty());
        let full = write_failed(&std::io::Error::other("disk full"));
        assert_eq!(full.code, crate::fail::EXIT_ERROR);
        assert!(full.message.contains("disk full"));
    }
}
